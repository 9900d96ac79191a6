//! The interactive console: a raw SMTP connection driven by hand, as with
//! telnet or `openssl s_client -starttls smtp`, but with the transcript,
//! redaction and state tracking of the rest of Postscope.
//!
//! [`Console`] does no I/O: typed lines and server bytes go in, bytes to
//! write and [`ConsoleEvent`]s come out. It matches replies to the commands
//! that asked for them (in order, so several lines sent at once test
//! pipelining), follows the connection's state (TLS, logged in, in a
//! transaction, in DATA), upgrades to TLS after a 220 to STARTTLS, answers
//! AUTH LOGIN's challenges for the helper, and sends a message with correct
//! dot-stuffing after a 354. Every AUTH argument and SASL response is
//! redacted in the transcript, typed by hand or not.
//!
//! [`spawn`] runs a console on a thread over TCP (plain or implicit TLS).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::dot_stuff::DotStuffer;
use super::net::Conn;
use super::reply::{Parsed, ReplyParser};
use super::sasl::{self, Credentials, Mechanism, Secret};
use super::tls::{self, ClientSetup, TlsInfo, TlsOptions};
use super::transcript::{Direction, TranscriptEvent, escape_controls};
use super::{ReplyCode, Target, TlsMode};

/// What the console knows about the connection, always shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleState {
    /// The connection is open.
    pub connected: bool,
    /// TLS is up (implicit, or after STARTTLS): version and cipher.
    pub tls: Option<String>,
    /// The server said 235 to an AUTH.
    pub authenticated: bool,
    /// MAIL FROM was accepted and the transaction has not ended.
    pub in_transaction: bool,
    /// After a 354: lines typed now are message data, until a lone ".".
    pub in_data: bool,
    /// Commands sent whose replies have not arrived yet.
    pub awaiting: usize,
    /// The server's name from its greeting.
    pub server_name: Option<String>,
}

/// What the console reports.
#[derive(Debug, Clone)]
pub enum ConsoleEvent {
    /// A transcript line.
    Transcript(TranscriptEvent),
    /// The state changed.
    State(ConsoleState),
    /// The server said 220 to STARTTLS: the driver must run the handshake
    /// and call [`Console::tls_established`] or [`Console::tls_failed`].
    StartTls,
    /// TLS came up; the details (certificate chain included).
    Tls(Box<TlsInfo>),
    /// The connection is over (with why, if it broke).
    Closed(Option<String>),
}

/// What a reply will answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Greeting,
    StartTls,
    Auth,
    /// AUTH LOGIN from the helper: the next 334 wants the user, then the password.
    LoginUser,
    LoginPassword,
    Mail,
    Rset,
    /// DATA; with the helper's message to send after the 354.
    Data(Option<Vec<u8>>),
    /// The final dot.
    DataEnd,
    Quit,
    Other,
}

/// The console's protocol side (no I/O).
pub struct Console {
    start: Instant,
    parser: ReplyParser,
    secure: bool,
    pending: VecDeque<Pending>,
    state: ConsoleState,
    transmit: Vec<u8>,
    events: VecDeque<ConsoleEvent>,
    /// The helper's LOGIN answers, base64, kept only until sent.
    login: Option<(String, String)>,
    /// An AUTH typed by hand is under way (until its final reply): every
    /// line typed meanwhile is a SASL response, so it is redacted.
    in_sasl: bool,
    /// Lines typed in the same batch after DATA: message data, sent once
    /// the 354 arrives (RFC 2920: DATA ends a group).
    after_354: Option<Vec<String>>,
    closed: bool,
}

/// The verbs the console completes as you type.
pub const VERBS: &[&str] = &[
    "EHLO",
    "HELO",
    "STARTTLS",
    "AUTH",
    "MAIL FROM:<",
    "RCPT TO:<",
    "DATA",
    "RSET",
    "NOOP",
    "VRFY",
    "EXPN",
    "HELP",
    "QUIT",
    "BDAT",
];

/// The verb completions for what has been typed so far (case-insensitive).
pub fn complete(typed: &str) -> Vec<&'static str> {
    let t = typed.trim_start().to_ascii_uppercase();
    if t.is_empty() || t.contains(' ') && !t.starts_with("MAIL") && !t.starts_with("RCPT") {
        return Vec::new();
    }
    VERBS
        .iter()
        .copied()
        .filter(|v| v.starts_with(&t) && v.len() > t.len())
        .collect()
}

/// How a line typed by hand appears in the transcript: AUTH arguments
/// hidden, as everywhere in Postscope.
pub fn redact_typed(line: &str) -> String {
    let upper = line.to_ascii_uppercase();
    if upper.starts_with("AUTH ") {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("AUTH");
        let mechanism = words.next().unwrap_or("");
        return if words.next().is_some() {
            format!("{verb} {mechanism} <redacted>")
        } else {
            format!("{verb} {mechanism}")
        };
    }
    line.to_owned()
}

impl Console {
    /// A console about to connect; transcript times count from `now`.
    pub fn new(now: Instant) -> Console {
        Console {
            start: now,
            parser: ReplyParser::default(),
            secure: false,
            pending: VecDeque::new(),
            state: ConsoleState::default(),
            transmit: Vec::new(),
            events: VecDeque::new(),
            login: None,
            in_sasl: false,
            after_354: None,
            closed: false,
        }
    }

    /// The state now (the driver reports it with [`ConsoleEvent::State`]).
    #[cfg(test)]
    pub fn state(&self) -> &ConsoleState {
        &self.state
    }

    fn record(
        &mut self,
        now: Instant,
        direction: Direction,
        text: String,
        code: Option<ReplyCode>,
    ) {
        let text = escape_controls(&text).into_owned();
        self.events
            .push_back(ConsoleEvent::Transcript(TranscriptEvent {
                at: now.saturating_duration_since(self.start),
                direction,
                secure: self.secure,
                text,
                code,
            }));
    }

    /// A local note in the transcript.
    pub fn note(&mut self, now: Instant, text: impl Into<String>) {
        self.record(now, Direction::Note, text.into(), None);
    }

    fn changed(&mut self) {
        self.state.awaiting = self.pending.len();
        self.events
            .push_back(ConsoleEvent::State(self.state.clone()));
    }

    /// The TCP connection (and implicit TLS) is up: the greeting is next.
    pub fn connected(&mut self, now: Instant, tls: Option<TlsInfo>) {
        self.state.connected = true;
        if let Some(info) = tls {
            self.tls_up(now, info);
        }
        self.pending.push_back(Pending::Greeting);
        self.changed();
    }

    fn tls_up(&mut self, now: Instant, info: TlsInfo) {
        self.secure = true;
        self.note(now, format!("TLS established: {}", info.summary()));
        for warning in info.warnings() {
            self.record(now, Direction::Error, warning, None);
        }
        self.state.tls = Some(format!("{}, {}", info.version, info.cipher));
        self.events.push_back(ConsoleEvent::Tls(Box::new(info)));
    }

    /// The handshake after STARTTLS worked. As RFC 3207 says, what the
    /// server said before is forgotten: EHLO again.
    pub fn tls_established(&mut self, now: Instant, info: TlsInfo) {
        self.tls_up(now, info);
        self.state.authenticated = false;
        self.state.in_transaction = false;
        self.state.server_name = None;
        self.note(
            now,
            "send EHLO again: the server forgets what was said before TLS",
        );
        self.changed();
    }

    /// The handshake failed; the connection is unusable.
    pub fn tls_failed(&mut self, now: Instant, detail: String) {
        self.record(now, Direction::Error, format!("TLS failed: {detail}"), None);
        self.close(now, Some(detail));
    }

    /// Sends what was typed: one or more lines (several at once test
    /// PIPELINING). During DATA the lines are message data, dot-stuffed,
    /// until a line holding only ".".
    pub fn send_text(&mut self, now: Instant, text: &str) {
        if self.closed {
            return;
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        while let Some(line) = lines.next() {
            if let Some(waiting) = &mut self.after_354 {
                waiting.push(line.to_owned());
                continue;
            }
            let was_data = self.state.in_data;
            self.send_line(now, line);
            if !was_data && !self.in_sasl && line.trim().eq_ignore_ascii_case("DATA") {
                // What follows in this batch is the message: it waits for the 354.
                let rest: Vec<String> = lines.by_ref().map(str::to_owned).collect();
                if !rest.is_empty() {
                    self.note(
                        now,
                        "the lines after DATA are held until the server says 354",
                    );
                    self.after_354 = Some(rest);
                }
            }
        }
        self.changed();
    }

    fn send_line(&mut self, now: Instant, line: &str) {
        if self.state.in_data {
            if line == "." {
                self.transmit.extend_from_slice(b".\r\n");
                self.record(now, Direction::Sent, ".".into(), None);
                self.state.in_data = false;
                self.pending.push_back(Pending::DataEnd);
            } else {
                // A line of data that starts with a dot gets another (RFC 5321 §4.5.2).
                if line.starts_with('.') {
                    self.transmit.push(b'.');
                }
                self.transmit.extend_from_slice(line.as_bytes());
                self.transmit.extend_from_slice(b"\r\n");
                self.record(now, Direction::Sent, line.to_owned(), None);
            }
            return;
        }
        self.transmit.extend_from_slice(line.as_bytes());
        self.transmit.extend_from_slice(b"\r\n");
        if self.in_sasl {
            // A SASL response typed by hand: base64 of a password, perhaps.
            self.record(now, Direction::Sent, "<redacted>".into(), None);
            self.pending.push_back(Pending::Auth);
            return;
        }
        self.record(now, Direction::Sent, redact_typed(line), None);
        let upper = line.trim().to_ascii_uppercase();
        let verb = upper.split([' ', ':']).next().unwrap_or("");
        if verb == "AUTH" {
            // Until its final reply, whatever is typed answers the server's
            // challenges, even when typed in the same batch.
            self.in_sasl = true;
        }
        self.pending.push_back(match verb {
            "STARTTLS" => Pending::StartTls,
            "AUTH" => Pending::Auth,
            "MAIL" => Pending::Mail,
            "RSET" => Pending::Rset,
            "DATA" => Pending::Data(None),
            "QUIT" => Pending::Quit,
            _ => Pending::Other,
        });
    }

    /// False (and says why in the transcript) when a helper's command cannot
    /// go out: the connection is closed, or message data is being typed, so
    /// the command would become part of the message.
    fn can_send_command(&mut self, now: Instant, busy: &str) -> bool {
        if self.closed {
            return false;
        }
        if self.state.in_data || self.after_354.is_some() {
            self.record(
                now,
                Direction::Error,
                format!("not sent: {busy}; end it with a line holding only \".\" first"),
                None,
            );
            self.changed();
            return false;
        }
        true
    }

    /// AUTH PLAIN or LOGIN from a user name and password: the base64 is
    /// made here and never shown.
    pub fn auth(&mut self, now: Instant, mechanism: Mechanism, user: &str, password: &str) {
        if !self.can_send_command(now, "the message data is being typed") {
            return;
        }
        let creds = Credentials {
            user: user.to_owned(),
            secret: Secret::Password(password.to_owned()),
        };
        match mechanism {
            Mechanism::Plain => match sasl::plain_response(&creds) {
                Ok(response) => {
                    self.transmit
                        .extend_from_slice(format!("AUTH PLAIN {response}\r\n").as_bytes());
                    self.record(now, Direction::Sent, "AUTH PLAIN <redacted>".into(), None);
                    self.pending.push_back(Pending::Auth);
                }
                Err(e) => self.record(now, Direction::Error, e.to_string(), None),
            },
            Mechanism::Login => match sasl::login_responses(&creds) {
                Ok(answers) => {
                    self.login = Some(answers);
                    self.transmit.extend_from_slice(b"AUTH LOGIN\r\n");
                    self.record(now, Direction::Sent, "AUTH LOGIN".into(), None);
                    self.pending.push_back(Pending::LoginUser);
                }
                Err(e) => self.record(now, Direction::Error, e.to_string(), None),
            },
            other => self.record(
                now,
                Direction::Error,
                format!("the AUTH helper does PLAIN and LOGIN, not {}", other.name()),
                None,
            ),
        }
        self.changed();
    }

    /// DATA, then (after the 354) this message, dot-stuffed, and the final dot.
    pub fn data(&mut self, now: Instant, message: &[u8]) {
        if !self.can_send_command(now, "a message is already being typed") {
            return;
        }
        self.transmit.extend_from_slice(b"DATA\r\n");
        self.record(now, Direction::Sent, "DATA".into(), None);
        self.pending
            .push_back(Pending::Data(Some(message.to_vec())));
        self.changed();
    }

    /// Bytes from the server.
    pub fn input(&mut self, now: Instant, bytes: &[u8]) {
        self.parser.push(bytes);
        loop {
            match self.parser.next_line() {
                Ok(None) => break,
                Ok(Some(Parsed::Line(line))) => {
                    self.record(now, Direction::Received, line.raw, Some(line.code));
                }
                Ok(Some(Parsed::Reply(line, reply))) => {
                    self.record(now, Direction::Received, line.raw, Some(line.code));
                    let code = reply.code.0;
                    if self.state.server_name.is_none()
                        && (code == 220 || code == 250)
                        && let Some(name) = reply.first_line().split_whitespace().next()
                    {
                        self.state.server_name = Some(name.to_owned());
                    }
                    self.on_reply(now, code, reply.first_line().to_owned());
                    if self.closed {
                        return;
                    }
                }
                Err(e) => {
                    self.record(
                        now,
                        Direction::Error,
                        format!("the server's reply is broken: {e}"),
                        None,
                    );
                    return self.close(now, Some(e.to_string()));
                }
            }
        }
        self.changed();
    }

    fn on_reply(&mut self, now: Instant, code: u16, first_line: String) {
        let Some(pending) = self.pending.pop_front() else {
            if code != 421 {
                self.note(now, "a reply nobody asked for (was something sent twice?)");
            }
            return;
        };
        if code == 421 {
            self.note(now, "421: the server is closing the connection");
        }
        match pending {
            Pending::StartTls if code == 220 => {
                // RFC 3207 §5: nothing may follow the 220 in clear text.
                if self.parser.buffered() > 0 {
                    self.record(
                        now,
                        Direction::Error,
                        "the server sent more data right after its 220 to STARTTLS; it could be \
                         injected, so the connection was dropped"
                            .into(),
                        None,
                    );
                    return self.close(now, Some("data injected after STARTTLS".into()));
                }
                self.note(now, "starting TLS handshake");
                self.events.push_back(ConsoleEvent::StartTls);
            }
            Pending::Auth | Pending::LoginPassword if code == 334 => {
                if let Some(text) = sasl::decode_challenge(&first_line) {
                    self.note(
                        now,
                        format!("challenge decoded: {}", text.trim_end_matches('\0')),
                    );
                }
                match (pending, self.login.take()) {
                    (Pending::LoginPassword, Some((_, password))) => {
                        self.transmit
                            .extend_from_slice(format!("{password}\r\n").as_bytes());
                        self.record(now, Direction::Sent, "<redacted>".into(), None);
                        self.pending.push_back(Pending::Auth);
                    }
                    _ => self.in_sasl = true,
                }
            }
            Pending::LoginUser if code == 334 => {
                if let Some(text) = sasl::decode_challenge(&first_line) {
                    self.note(now, format!("challenge decoded: {text}"));
                }
                if let Some((user, _)) = &self.login {
                    let line = format!("{user}\r\n");
                    self.transmit.extend_from_slice(line.as_bytes());
                    self.record(now, Direction::Sent, "<redacted>".into(), None);
                    self.pending.push_back(Pending::LoginPassword);
                }
            }
            Pending::Auth | Pending::LoginUser | Pending::LoginPassword => {
                self.login = None;
                // The exchange is over, unless typed responses are still due.
                self.in_sasl = self.pending.contains(&Pending::Auth);
                if code == 235 {
                    self.state.authenticated = true;
                }
            }
            Pending::Mail if (200..300).contains(&code) => self.state.in_transaction = true,
            Pending::Rset if (200..300).contains(&code) => self.state.in_transaction = false,
            Pending::Data(body) if code == 354 => match body {
                Some(message) => self.send_message(now, &message),
                None => {
                    self.state.in_data = true;
                    match self.after_354.take() {
                        Some(lines) => {
                            for line in lines {
                                self.send_line(now, &line);
                            }
                        }
                        None => self.note(
                            now,
                            "type the message; a line with only \".\" ends it (lines starting with a dot are doubled for you)",
                        ),
                    }
                }
            },
            Pending::Data(_) if self.after_354.take().is_some() => {
                self.note(
                    now,
                    "DATA was refused: the lines held for the message were not sent",
                );
            }
            Pending::DataEnd => self.state.in_transaction = false,
            Pending::Quit => {}
            _ => {}
        }
        if code == 421 {
            self.close(now, Some("the server closed the connection (421)".into()));
        }
    }

    fn send_message(&mut self, now: Instant, message: &[u8]) {
        let mut stuffer = DotStuffer::default();
        stuffer.encode(message, &mut self.transmit);
        stuffer.finish(&mut self.transmit);
        self.record(
            now,
            Direction::Sent,
            format!(
                "… {} bytes of message data …",
                super::session::group_digits(message.len() as u64)
            ),
            None,
        );
        self.record(now, Direction::Sent, ".".into(), None);
        self.pending.push_back(Pending::DataEnd);
    }

    /// The connection ended: by the server, by an error, or by Disconnect.
    pub fn close(&mut self, now: Instant, why: Option<String>) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.note(
            now,
            match &why {
                Some(why) => format!("connection closed: {why}"),
                None => "connection closed".into(),
            },
        );
        self.state = ConsoleState::default();
        self.pending.clear();
        self.login = None;
        self.changed();
        self.events.push_back(ConsoleEvent::Closed(why));
    }

    /// True once the connection is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Takes the bytes to write.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.transmit.is_empty() {
            return false;
        }
        out.append(&mut self.transmit);
        true
    }

    /// Takes the next event.
    pub fn poll_event(&mut self) -> Option<ConsoleEvent> {
        self.events.pop_front()
    }
}

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
    /// Commands to it.
    pub commands: Sender<ConsoleCommand>,
    /// Its events.
    pub events: Receiver<ConsoleEvent>,
}

/// How often the console thread looks for typed commands while it waits
/// for the server (only while a console connection is open).
const POLL: Duration = Duration::from_millis(50);

/// Connects on a thread and runs a console over it. `TlsMode::Implicit`
/// starts TLS at once (port 465); any other mode connects in clear text,
/// and STARTTLS upgrades later, when typed. `notify`
/// wakes the window when something arrives.
pub fn spawn(
    target: Target,
    mode: TlsMode,
    options: TlsOptions,
    timeout: Duration,
    notify: Arc<dyn Fn() + Send + Sync>,
) -> ConsoleHandle {
    let (cmd_tx, cmd_rx) = channel();
    let (ev_tx, ev_rx) = channel();
    let _ = std::thread::Builder::new()
        .name("postscope-console".into())
        .spawn(move || run(target, mode, options, timeout, cmd_rx, ev_tx, notify));
    ConsoleHandle {
        commands: cmd_tx,
        events: ev_rx,
    }
}

fn run(
    target: Target,
    mode: TlsMode,
    options: TlsOptions,
    timeout: Duration,
    commands: Receiver<ConsoleCommand>,
    events: Sender<ConsoleEvent>,
    notify: Arc<dyn Fn() + Send + Sync>,
) {
    let mut console = Console::new(Instant::now());
    let forward = |console: &mut Console| {
        let mut any = false;
        while let Some(e) = console.poll_event() {
            let _ = events.send(e);
            any = true;
        }
        if any {
            notify();
        }
    };
    let fail = |console: &mut Console, why: String| {
        let now = Instant::now();
        console.record(now, Direction::Error, why.clone(), None);
        console.close(now, Some(why));
    };
    let setup = match ClientSetup::new(&options) {
        Ok(s) => s,
        Err(e) => {
            fail(&mut console, e.to_string());
            return forward(&mut console);
        }
    };
    console.note(Instant::now(), format!("connecting to {target}"));
    forward(&mut console);
    let tcp = match connect(&target, timeout) {
        Ok(tcp) => tcp,
        Err(e) => {
            fail(&mut console, format!("could not connect to {target}: {e}"));
            return forward(&mut console);
        }
    };
    if let (Ok(local), Ok(peer)) = (tcp.local_addr(), tcp.peer_addr()) {
        console.note(Instant::now(), format!("connected to {peer} from {local}"));
    }
    let mut stream = Conn::Plain(tcp);
    if mode == TlsMode::Implicit {
        match handshake(stream, &target, &setup, timeout) {
            Ok((s, info)) => {
                stream = s;
                console.connected(Instant::now(), Some(info));
            }
            Err(e) => {
                fail(&mut console, format!("TLS failed: {e}"));
                return forward(&mut console);
            }
        }
    } else {
        console.connected(Instant::now(), None);
    }
    forward(&mut console);
    let _ = stream.tcp().set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; 16 * 1024];
    let mut out = Vec::new();
    loop {
        // Typed commands first, then whatever the server sent.
        loop {
            match commands.try_recv() {
                Ok(ConsoleCommand::Text(text)) => console.send_text(Instant::now(), &text),
                Ok(ConsoleCommand::Auth(m, user, password)) => {
                    console.auth(Instant::now(), m, &user, &password.0)
                }
                Ok(ConsoleCommand::Data(message)) => console.data(Instant::now(), &message),
                Ok(ConsoleCommand::Disconnect) | Err(TryRecvError::Disconnected) => {
                    let _ = stream.tcp().shutdown(Shutdown::Both);
                    console.close(Instant::now(), None);
                    return forward(&mut console);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        if console.poll_transmit(&mut out) {
            let _ = stream.tcp().set_write_timeout(Some(timeout));
            let written = stream.write_all(&out).and_then(|()| stream.flush());
            out.clear();
            if let Err(e) = written {
                fail(&mut console, format!("cannot write to the server: {e}"));
                return forward(&mut console);
            }
        }
        forward(&mut console);
        match stream.read(&mut buf) {
            Ok(0) => {
                console.close(Instant::now(), Some("the server hung up".into()));
                return forward(&mut console);
            }
            Ok(n) => console.input(Instant::now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                fail(&mut console, format!("the connection broke: {e}"));
                return forward(&mut console);
            }
        }
        let mut upgrade = false;
        while let Some(e) = console.poll_event() {
            if matches!(e, ConsoleEvent::StartTls) {
                upgrade = true;
            }
            let _ = events.send(e);
            notify();
        }
        if console.is_closed() {
            let _ = stream.tcp().shutdown(Shutdown::Both);
            return;
        }
        if upgrade {
            match handshake(stream, &target, &setup, timeout) {
                Ok((s, info)) => {
                    stream = s;
                    let _ = stream.tcp().set_read_timeout(Some(POLL));
                    console.tls_established(Instant::now(), info);
                }
                Err(e) => {
                    console.tls_failed(Instant::now(), e);
                    return forward(&mut console);
                }
            }
            forward(&mut console);
        }
    }
}

fn connect(target: &Target, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no addresses");
    for addr in (target.host.as_str(), target.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn handshake(
    stream: Conn,
    target: &Target,
    setup: &ClientSetup,
    timeout: Duration,
) -> Result<(Conn, TlsInfo), String> {
    let Conn::Plain(mut tcp) = stream else {
        return Err("TLS is already active".into());
    };
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| format!("{} cannot be used as a TLS server name: {e}", target.host))?;
    let mut client =
        ClientConnection::new(setup.config.clone(), name).map_err(|e| e.to_string())?;
    let _ = tcp.set_read_timeout(Some(timeout));
    let _ = tcp.set_write_timeout(Some(timeout));
    while client.is_handshaking() {
        if let Err(e) = client.complete_io(&mut tcp) {
            return Err(
                match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    Some(tls_error) => tls::explain(tls_error, &target.host),
                    None => e.to_string(),
                },
            );
        }
    }
    let info = setup.info(&client, &target.host);
    Ok((Conn::Tls(Box::new(StreamOwned::new(client, tcp))), info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(c: &mut Console) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(e) = c.poll_event() {
            if let ConsoleEvent::Transcript(t) = e {
                out.push(t.text);
            }
        }
        out
    }

    fn wire(c: &mut Console) -> String {
        let mut out = Vec::new();
        c.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn typed_lines_are_sent_and_replies_matched_in_order() {
        let now = Instant::now();
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 mx.example.org ESMTP\r\n");
        assert_eq!(c.state().server_name.as_deref(), Some("mx.example.org"));
        // Three at once: pipelining.
        c.send_text(
            now,
            "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\nRSET\n",
        );
        assert_eq!(
            wire(&mut c),
            "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRSET\r\n"
        );
        assert_eq!(c.state().awaiting, 3);
        c.input(now, b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n");
        assert!(c.state().in_transaction);
        c.input(now, b"250 2.0.0 reset\r\n");
        assert!(!c.state().in_transaction);
        assert_eq!(c.state().awaiting, 0);
    }

    #[test]
    fn auth_typed_or_helped_never_shows_the_secret() {
        let now = Instant::now();
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\r\n");
        c.send_text(now, "AUTH PLAIN AGFsaWNlAHNlY3JldA==");
        c.input(now, b"535 5.7.8 no\r\n");
        c.send_text(now, "AUTH LOGIN");
        c.input(now, b"334 VXNlcm5hbWU6\r\n");
        c.send_text(now, "YWxpY2U=");
        c.input(now, b"334 UGFzc3dvcmQ6\r\n");
        c.send_text(now, "c2VjcmV0");
        c.input(now, b"235 ok\r\n");
        assert!(c.state().authenticated);
        let wire_typed = wire(&mut c);
        assert!(wire_typed.contains("c2VjcmV0\r\n"), "sent as typed");
        let lines = transcript(&mut c);
        assert!(
            lines.contains(&"AUTH PLAIN <redacted>".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"challenge decoded: Username:".to_string()),
            "{lines:?}"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("c2VjcmV0") || l.contains("YWxpY2U")),
            "{lines:?}"
        );

        // The helper: LOGIN answered for you.
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\r\n");
        let _ = wire(&mut c);
        c.auth(now, Mechanism::Login, "alice", "s3cret pass");
        assert_eq!(wire(&mut c), "AUTH LOGIN\r\n");
        c.input(now, b"334 VXNlcm5hbWU6\r\n");
        assert_eq!(wire(&mut c), "YWxpY2U=\r\n");
        c.input(now, b"334 UGFzc3dvcmQ6\r\n");
        assert_eq!(wire(&mut c), "czNjcmV0IHBhc3M=\r\n");
        c.input(now, b"235 2.7.0 ok\r\n");
        assert!(c.state().authenticated);
        let lines = transcript(&mut c);
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("czNjcmV0") || l.contains("s3cret")),
            "{lines:?}"
        );
    }

    #[test]
    fn data_from_the_helper_and_by_hand_is_dot_stuffed() {
        let now = Instant::now();
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\r\n");
        c.data(now, b"Subject: x\r\n\r\n.dot\r\nend");
        assert_eq!(wire(&mut c), "DATA\r\n");
        c.input(now, b"354 go\r\n");
        assert_eq!(wire(&mut c), "Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n");
        c.input(now, b"250 queued\r\n");
        assert_eq!(c.state().awaiting, 0);

        c.send_text(now, "DATA");
        c.input(now, b"354 go\r\n");
        assert!(c.state().in_data);
        let _ = wire(&mut c);
        c.send_text(now, "Subject: typed\n\n.leading dot\n.");
        assert_eq!(wire(&mut c), "Subject: typed\r\n\r\n..leading dot\r\n.\r\n");
        assert!(!c.state().in_data);
        c.input(now, b"250 queued\r\n");
        assert!(!c.state().in_transaction);
    }

    #[test]
    fn starttls_waits_for_the_handshake_and_refuses_injection() {
        let now = Instant::now();
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\r\n");
        c.send_text(now, "STARTTLS");
        c.input(now, b"220 go ahead\r\n");
        let mut saw = false;
        while let Some(e) = c.poll_event() {
            saw |= matches!(e, ConsoleEvent::StartTls);
        }
        assert!(saw);

        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\r\n");
        c.send_text(now, "STARTTLS");
        c.input(now, b"220 go ahead\r\n250 injected\r\n");
        assert!(c.is_closed());
    }

    #[test]
    fn a_batch_is_safe_around_auth_and_data() {
        let now = Instant::now();
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\r\n");
        let _ = transcript(&mut c);
        // AUTH LOGIN and both answers typed at once: both answers hidden.
        c.send_text(now, "AUTH LOGIN\nYWxpY2U=\nc2VjcmV0");
        let lines = transcript(&mut c);
        assert_eq!(
            lines,
            ["AUTH LOGIN", "<redacted>", "<redacted>"],
            "{lines:?}"
        );
        c.input(now, b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n");
        assert!(c.state().authenticated);
        // The next command is shown again.
        c.send_text(now, "NOOP");
        assert!(transcript(&mut c).contains(&"NOOP".to_string()));
        c.input(now, b"250 ok\r\n");

        // DATA and the message at once: the message waits for the 354.
        let _ = wire(&mut c);
        c.send_text(now, "DATA\nSubject: held\n\n.dot\n.");
        assert_eq!(wire(&mut c), "DATA\r\n");
        c.input(now, b"354 go\r\n");
        assert_eq!(wire(&mut c), "Subject: held\r\n\r\n..dot\r\n.\r\n");
        c.input(now, b"250 queued\r\n");
        assert_eq!(c.state().awaiting, 0);
        assert!(!c.state().in_data);

        // The AUTH helper refuses during DATA: the password would be data.
        c.send_text(now, "DATA");
        c.input(now, b"354 go\r\n");
        let _ = wire(&mut c);
        c.auth(now, Mechanism::Plain, "alice", "secret");
        assert_eq!(wire(&mut c), "", "nothing sent");
        assert!(transcript(&mut c).iter().any(|l| l.starts_with("not sent")));
    }

    #[test]
    fn completion_and_a_broken_server() {
        assert_eq!(complete("st"), ["STARTTLS"]);
        assert_eq!(complete("r"), ["RCPT TO:<", "RSET"]);
        assert!(complete("").is_empty());
        assert!(complete("EHLO ").is_empty());
        let now = Instant::now();
        let mut c = Console::new(now);
        c.connected(now, None);
        c.input(now, b"220 hi\n");
        assert!(c.is_closed(), "bare LF is refused as everywhere else");
    }
}
