//! Running a console: what the window can ask of it, the handle it keeps,
//! and the console on the one driver ([`crate::smtp::transport`]).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use super::{Console, ConsoleEvent};
use crate::smtp::error::SessionError;
use crate::smtp::net::CancelToken;
use crate::smtp::sasl::Mechanism;
use crate::smtp::tls::{TlsInfo, TlsOptions};
use crate::smtp::transport::{Driver, Input, Inputs, Protocol, Step};
use crate::smtp::{Target, TlsMode};

/// What the console window asks of its connection.
#[derive(Debug, Clone)]
pub enum ConsoleCommand {
    /// Send these typed lines.
    Text(String),
    /// AUTH PLAIN or LOGIN with these credentials. `Debug` shows only the
    /// mechanism and user.
    Auth(Mechanism, String, Password),
    /// DATA and then this message.
    Data(Vec<u8>),
    /// Close the connection.
    Disconnect,
}

/// A password that `Debug` does not print.
#[derive(Clone)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A running console connection.
pub struct ConsoleHandle {
    commands: Sender<Input<ConsoleCommand>>,
    /// Its events.
    pub events: Receiver<ConsoleEvent>,
}

impl ConsoleHandle {
    /// Asks something of the connection (it is gone if this fails).
    pub fn send(&self, command: ConsoleCommand) -> bool {
        self.commands.send(Input::Command(command)).is_ok()
    }
}

impl Drop for ConsoleHandle {
    /// Nobody will type any more: close the connection (the driver also
    /// holds a sender, for its watcher, so the channel alone would not say).
    fn drop(&mut self) {
        let _ = self
            .commands
            .send(Input::Command(ConsoleCommand::Disconnect));
    }
}

/// Connects on a thread and runs a console over it, on the one driver.
/// `TlsMode::Implicit` starts TLS at once (port 465); any other mode
/// connects in clear text, and STARTTLS upgrades later, when typed.
/// `notify` wakes the window when something arrives. Dropping the handle
/// closes the connection.
pub fn spawn(
    target: Target,
    mode: TlsMode,
    options: TlsOptions,
    timeout: Duration,
    notify: Arc<dyn Fn() + Send + Sync>,
) -> ConsoleHandle {
    let (commands, inputs) = Inputs::channel();
    let (events, rx) = channel();
    let _ = std::thread::Builder::new()
        .name("postscope-console".into())
        .spawn(move || {
            let console = Console::with(Instant::now(), mode == TlsMode::Implicit, timeout);
            let cancel = CancelToken::default();
            let mut forward = |e: &ConsoleEvent| {
                let _ = events.send(e.clone());
                notify();
            };
            Driver::new(console, &target, &cancel, &mut forward, Some(inputs))
                .drive(&options, None);
        });
    ConsoleHandle {
        commands,
        events: rx,
    }
}

impl Protocol for Console {
    type Event = ConsoleEvent;
    type Command = ConsoleCommand;

    fn step(event: &ConsoleEvent) -> Step {
        match event {
            ConsoleEvent::StartTls => Step::StartTls,
            ConsoleEvent::Closed(_) => Step::Finished,
            _ => Step::Pass,
        }
    }
    fn implicit_tls(&self) -> bool {
        self.implicit
    }
    fn may_use_tls(&self) -> bool {
        // STARTTLS may be typed at any time.
        true
    }
    fn connect_timeout(&self) -> Duration {
        self.timeout
    }
    fn handshake_timeout(&self) -> Duration {
        self.timeout
    }
    fn write_timeout(&self) -> Duration {
        self.timeout
    }
    fn note(&mut self, now: Instant, text: String) {
        Console::note(self, now, text);
    }
    fn handle_connected(&mut self, now: Instant, tls: Option<TlsInfo>) {
        Console::handle_connected(self, now, tls);
    }
    fn handle_connect_failed(&mut self, now: Instant, error: SessionError) {
        Console::handle_connect_failed(self, now, error);
    }
    fn handle_tls_attempt(&mut self, info: TlsInfo) {
        // The certificate of a failed handshake, for the panel to show.
        self.events.push_back(ConsoleEvent::Tls(Box::new(info)));
    }
    fn handle_tls_established(&mut self, now: Instant, info: TlsInfo) {
        Console::handle_tls_established(self, now, info);
    }
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        Console::handle_input(self, now, bytes);
    }
    fn handle_eof(&mut self, now: Instant) {
        Console::handle_eof(self, now);
    }
    fn handle_io_error(&mut self, now: Instant, detail: String) {
        Console::handle_io_error(self, now, detail);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Console::handle_timeout(self, now);
    }
    fn handle_command(&mut self, now: Instant, command: ConsoleCommand) {
        Console::handle_command(self, now, command);
    }
    fn cancel(&mut self, now: Instant) {
        self.close(now, None);
    }
    // The console sends a message itself, after its 354: the driver never
    // streams one.
    fn push_body(&mut self, _: Instant, _: &[u8]) {}
    fn end_body(&mut self, _: Instant) {}
    fn body_failed(&mut self, _: Instant, _: String) {}
    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        Console::poll_transmit(self, out)
    }
    fn poll_event(&mut self) -> Option<ConsoleEvent> {
        Console::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        if self.closed { None } else { self.deadline }
    }
}
