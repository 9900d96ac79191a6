//! The one blocking driver: a thread, a TCP connection (plain or rustls),
//! and a no-I/O protocol — the sending [`Session`], or the hand-driven
//! [`super::console::Console`] — between them. It decides nothing about
//! SMTP; it resolves and connects (a cancel interrupts both), runs TLS
//! handshakes when asked, turns the protocol's deadlines into waits,
//! streams the message body, and passes every event on.
//!
//! A session only waits on the server, so the driver blocks in `read` until
//! the deadline. A console also waits on the person typing: then a small
//! watcher thread peeks at the socket and the driver blocks on one channel
//! that brings typed commands and "the server sent something" alike — no
//! polling loop, an idle console costs nothing ([`talk`]).

mod talk;

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::error::{SessionError, Stage};
use super::net::{BodySource, CancelToken, Conn, Target};
use super::session::{Event, Report, Session, SessionConfig, TlsMode};
use super::tls::{self, ClientSetup, TlsInfo, TlsOptions};
pub(crate) use talk::{Input, Inputs};

/// Everything `run` needs besides the session's own configuration.
pub struct Connection<'a> {
    /// Where to connect.
    pub target: &'a Target,
    /// Certificate checking.
    pub tls: &'a TlsOptions,
    /// Cancels the session from elsewhere.
    pub cancel: &'a CancelToken,
}

/// What an event of the protocol asks of the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing: pass it on.
    Pass,
    /// Run the TLS handshake now (the server said 220 to STARTTLS).
    StartTls,
    /// Stream the message body now.
    NeedBody,
    /// The protocol is over.
    Finished,
}

/// The no-I/O surface a protocol offers its driver: `handle_*` for what
/// happened, `poll_*` for what to do. [`Session`] and the console share it.
pub(crate) trait Protocol {
    /// What it reports.
    type Event;
    /// What a person can ask of it while it runs (nothing, for a session).
    type Command;

    /// What an event asks of the driver.
    fn step(event: &Self::Event) -> Step;
    /// TLS from the first byte.
    fn implicit_tls(&self) -> bool;
    /// TLS may be started on this connection (so certificates are set up).
    fn may_use_tls(&self) -> bool;
    /// Connecting, and an implicit TLS handshake, may take this long.
    fn connect_timeout(&self) -> Duration;
    /// A STARTTLS handshake may take this long.
    fn handshake_timeout(&self) -> Duration;
    /// A write may block this long.
    fn write_timeout(&self) -> Duration;

    /// A note for the transcript.
    fn note(&mut self, now: Instant, text: String);
    /// TCP (and implicit TLS) is up.
    fn handle_connected(&mut self, now: Instant, tls: Option<TlsInfo>);
    /// Connecting or a handshake failed; the connection is unusable.
    fn handle_connect_failed(&mut self, now: Instant, error: SessionError);
    /// What was seen of the certificate in a handshake that failed.
    fn handle_tls_attempt(&mut self, info: TlsInfo);
    /// The STARTTLS handshake worked.
    fn handle_tls_established(&mut self, now: Instant, info: TlsInfo);
    /// Bytes from the server.
    fn handle_input(&mut self, now: Instant, bytes: &[u8]);
    /// The server closed the connection.
    fn handle_eof(&mut self, now: Instant);
    /// Reading or writing failed.
    fn handle_io_error(&mut self, now: Instant, detail: String);
    /// The deadline from [`Protocol::poll_timeout`] may have passed.
    fn handle_timeout(&mut self, now: Instant);
    /// A person asked for something.
    fn handle_command(&mut self, now: Instant, command: Self::Command);
    /// Stop (a cancel from another thread, or nobody listens any more).
    fn cancel(&mut self, now: Instant);
    /// Message data, after [`Step::NeedBody`].
    fn push_body(&mut self, now: Instant, chunk: &[u8]);
    /// The end of the message data.
    fn end_body(&mut self, now: Instant);
    /// Reading the message failed.
    fn body_failed(&mut self, now: Instant, detail: String);

    /// Bytes to send.
    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool;
    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When the current wait on the server expires.
    fn poll_timeout(&self) -> Option<Instant>;
}

impl Protocol for Session {
    type Event = Event;
    type Command = std::convert::Infallible;

    fn step(event: &Event) -> Step {
        match event {
            Event::Finished(..) => Step::Finished,
            Event::StartTls => Step::StartTls,
            Event::NeedBody => Step::NeedBody,
            _ => Step::Pass,
        }
    }
    fn implicit_tls(&self) -> bool {
        self.config().tls == TlsMode::Implicit
    }
    fn may_use_tls(&self) -> bool {
        self.config().tls != TlsMode::None
    }
    fn connect_timeout(&self) -> Duration {
        self.config().timeouts.connect
    }
    fn handshake_timeout(&self) -> Duration {
        self.config().timeouts.command
    }
    fn write_timeout(&self) -> Duration {
        self.config().timeouts.data_block
    }
    fn note(&mut self, now: Instant, text: String) {
        Session::note(self, now, text);
    }
    fn handle_connected(&mut self, now: Instant, tls: Option<TlsInfo>) {
        Session::handle_connected(self, now, tls);
    }
    fn handle_connect_failed(&mut self, now: Instant, error: SessionError) {
        Session::handle_connect_failed(self, now, error);
    }
    fn handle_tls_attempt(&mut self, info: TlsInfo) {
        Session::handle_tls_attempt(self, info);
    }
    fn handle_tls_established(&mut self, now: Instant, info: TlsInfo) {
        Session::handle_tls_established(self, now, info);
    }
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        Session::handle_input(self, now, bytes);
    }
    fn handle_eof(&mut self, now: Instant) {
        Session::handle_eof(self, now);
    }
    fn handle_io_error(&mut self, now: Instant, detail: String) {
        Session::handle_io_error(self, now, detail);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Session::handle_timeout(self, now);
    }
    fn handle_command(&mut self, _: Instant, command: Self::Command) {
        match command {}
    }
    fn cancel(&mut self, now: Instant) {
        Session::cancel(self, now);
    }
    fn push_body(&mut self, now: Instant, chunk: &[u8]) {
        Session::push_body(self, now, chunk);
    }
    fn end_body(&mut self, now: Instant) {
        Session::end_body(self, now);
    }
    fn body_failed(&mut self, now: Instant, detail: String) {
        Session::body_failed(self, now, detail);
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        Session::poll_transmit(self, out)
    }
    fn poll_event(&mut self) -> Option<Event> {
        Session::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Session::poll_timeout(self)
    }
}

/// Runs one session to its end: connect, talk, stream the body, QUIT.
/// Every event is passed to `on_event` as it happens (the live transcript);
/// the report and result are returned at the end.
pub fn run(
    conn: Connection<'_>,
    config: SessionConfig,
    body: Option<&dyn BodySource>,
    on_event: &mut dyn FnMut(&Event),
) -> (Report, Result<(), SessionError>) {
    let session = Session::new(config, Instant::now());
    let mut driver = Driver::new(session, conn.target, conn.cancel, on_event, None);
    match driver.drive(conn.tls, body) {
        Some(Event::Finished(report, result)) => (*report, result),
        _ => unfinished(),
    }
}

/// Runs a protocol over one connection.
pub(crate) struct Driver<'a, 'f, P: Protocol> {
    proto: P,
    target: &'a Target,
    cancel: &'a CancelToken,
    setup: Option<ClientSetup>,
    on_event: &'f mut dyn FnMut(&P::Event),
    /// Typed commands and the watcher's wake-ups, for a protocol that
    /// waits on a person too.
    inputs: Option<talk::Inputs<P::Command>>,
    /// The event that ended the protocol.
    last: Option<P::Event>,
}

impl<'a, 'f, P: Protocol> Driver<'a, 'f, P>
where
    P::Command: Send + 'static,
{
    /// A driver for `proto`; with `inputs`, it also takes commands from
    /// the channel whose sender the caller kept.
    pub(crate) fn new(
        proto: P,
        target: &'a Target,
        cancel: &'a CancelToken,
        on_event: &'f mut dyn FnMut(&P::Event),
        inputs: Option<talk::Inputs<P::Command>>,
    ) -> Driver<'a, 'f, P> {
        Driver {
            proto,
            target,
            cancel,
            setup: None,
            on_event,
            inputs,
            last: None,
        }
    }

    /// Connects and runs the protocol to its end; returns the event that
    /// ended it (`None` if it never did).
    pub(crate) fn drive(
        &mut self,
        tls_options: &TlsOptions,
        body: Option<&dyn BodySource>,
    ) -> Option<P::Event> {
        if self.proto.may_use_tls() {
            match ClientSetup::new(tls_options) {
                Ok(setup) => self.setup = Some(setup),
                Err(e) => {
                    let stage = if self.proto.implicit_tls() {
                        Stage::Connect
                    } else {
                        Stage::Tls
                    };
                    let error = SessionError::Tls {
                        stage,
                        detail: e.to_string(),
                        unknown_issuer: false,
                    };
                    self.proto.handle_connect_failed(Instant::now(), error);
                    return self.drain_until_finished();
                }
            }
            if tls_options.dangerous_accept_invalid_certs {
                self.proto.note(
                    Instant::now(),
                    "WARNING: certificate checks are off: the server's certificate will be \
                     accepted even if it is invalid"
                        .into(),
                );
            }
        }
        let limit = self.proto.connect_timeout();
        let Some(mut conn) = self.connect(limit) else {
            return self.drain_until_finished();
        };
        if self.proto.implicit_tls() {
            conn = match self.handshake(conn, limit, Stage::Connect) {
                Ok((conn, info)) => {
                    self.proto.handle_connected(Instant::now(), Some(info));
                    conn
                }
                Err(e) => {
                    self.proto.handle_connect_failed(Instant::now(), e);
                    return self.drain_until_finished();
                }
            };
        } else {
            self.proto.handle_connected(Instant::now(), None);
        }
        let _ = conn
            .tcp()
            .set_write_timeout(Some(self.proto.write_timeout()));
        self.talk(conn, body)
    }

    fn connect(&mut self, limit: Duration) -> Option<Conn> {
        self.proto
            .note(Instant::now(), format!("resolving {}", self.target.host));
        let (host, port) = (self.target.host.clone(), self.target.port);
        let resolved = cancellable(self.cancel, move || {
            (host.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<SocketAddr>>())
        });
        let addrs = match resolved {
            None => {
                self.proto.cancel(Instant::now());
                return None;
            }
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                self.fail_connect(format!("cannot resolve {}: {e}", self.target.host));
                return None;
            }
        };
        let mut last = format!("{} has no addresses", self.target.host);
        for addr in addrs {
            if self.cancel.is_cancelled() {
                self.proto.cancel(Instant::now());
                return None;
            }
            self.proto
                .note(Instant::now(), format!("connecting to {addr}"));
            self.forward_events();
            let Some(connected) = cancellable(self.cancel, move || {
                TcpStream::connect_timeout(&addr, limit)
            }) else {
                self.proto.cancel(Instant::now());
                return None;
            };
            match connected {
                Ok(tcp) => {
                    let local = tcp.local_addr().map(|a| a.to_string()).unwrap_or_default();
                    self.proto
                        .note(Instant::now(), format!("connected to {addr} from {local}"));
                    let _ = tcp.set_nodelay(true);
                    self.cancel.attach(&tcp);
                    return Some(Conn::Plain(tcp));
                }
                Err(e) => {
                    // The address is worth naming only when the host was a name.
                    let which = if addr.to_string() == self.target.to_string() {
                        String::new()
                    } else {
                        format!("{addr}: ")
                    };
                    last = if e.kind() == io::ErrorKind::TimedOut {
                        format!("{which}no answer within {} s (timeout)", limit.as_secs())
                    } else {
                        format!("{which}{e}")
                    };
                }
            }
        }
        self.fail_connect(last);
        None
    }

    fn fail_connect(&mut self, detail: String) {
        let target = self.target.to_string();
        self.proto
            .handle_connect_failed(Instant::now(), SessionError::Connect { target, detail });
    }

    /// Runs a TLS handshake over the connection's TCP stream.
    fn handshake(
        &mut self,
        conn: Conn,
        limit: Duration,
        stage: Stage,
    ) -> Result<(Conn, TlsInfo), SessionError> {
        let tls_err = |detail: String| SessionError::Tls {
            stage,
            detail,
            unknown_issuer: false,
        };
        let mut tcp = match conn {
            Conn::Plain(tcp) => tcp,
            tls => {
                let _ = tls.tcp().shutdown(Shutdown::Both);
                return Err(tls_err("TLS is already active".into()));
            }
        };
        // A connection whose handshake failed is unusable: closed at once,
        // whoever else holds the socket (the cancel token, a watcher).
        let give_up = |tcp: &TcpStream, error: SessionError| {
            let _ = tcp.shutdown(Shutdown::Both);
            Err(error)
        };
        let config = match &self.setup {
            Some(setup) => setup.config.clone(),
            None => return give_up(&tcp, tls_err("TLS was not configured".into())),
        };
        let name = match ServerName::try_from(self.target.host.clone()) {
            Ok(name) => name,
            Err(e) => {
                let why = format!(
                    "{} cannot be used as a TLS server name: {e}",
                    self.target.host
                );
                return give_up(&tcp, tls_err(why));
            }
        };
        let mut client = match ClientConnection::new(config, name) {
            Ok(client) => client,
            Err(e) => return give_up(&tcp, tls_err(e.to_string())),
        };
        let _ = tcp.set_read_timeout(Some(limit));
        let _ = tcp.set_write_timeout(Some(limit));
        self.proto
            .note(Instant::now(), "starting TLS handshake".into());
        self.forward_events();
        while client.is_handshaking() {
            if let Err(e) = client.complete_io(&mut tcp) {
                if self.cancel.is_cancelled() {
                    return give_up(&tcp, SessionError::Cancelled { stage });
                }
                let error = self.handshake_failed(&e, limit, stage);
                return give_up(&tcp, error);
            }
        }
        let info = match &self.setup {
            Some(setup) => setup.info(&client, &self.target.host),
            None => return Err(tls_err("TLS was not configured".into())),
        };
        Ok((Conn::Tls(Box::new(StreamOwned::new(client, tcp))), info))
    }

    /// Why a handshake failed, in words, with what was seen of the
    /// certificate handed to the protocol first.
    fn handshake_failed(&mut self, e: &io::Error, limit: Duration, stage: Stage) -> SessionError {
        let rustls_error = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        let unknown_issuer = matches!(
            rustls_error,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        );
        let detail = match rustls_error {
            Some(tls_error) => tls::explain(tls_error, &self.target.host),
            None if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
            {
                format!(
                    "the handshake did not finish within {} s (timeout)",
                    limit.as_secs()
                )
            }
            None if e.kind() == io::ErrorKind::UnexpectedEof => {
                "the server closed the connection during the handshake".into()
            }
            None => e.to_string(),
        };
        if let Some((chain, verification)) = self
            .setup
            .as_ref()
            .and_then(ClientSetup::certificate_report)
        {
            if let Some(leaf) = chain.first() {
                self.proto.note(
                    Instant::now(),
                    format!(
                        "server certificate: {} issued by {}",
                        leaf.subject, leaf.issuer
                    ),
                );
            }
            self.proto.handle_tls_attempt(TlsInfo {
                version: "(handshake failed)".into(),
                cipher: String::new(),
                key_exchange: None,
                server_name: self.target.host.clone(),
                verification,
                chain,
            });
        }
        SessionError::Tls {
            stage,
            detail,
            unknown_issuer,
        }
    }

    /// Forwards queued events; returns what the first one that needs the
    /// driver asks for.
    fn forward_events(&mut self) -> Option<Step> {
        while let Some(event) = self.proto.poll_event() {
            (self.on_event)(&event);
            match P::step(&event) {
                Step::Pass => {}
                Step::Finished => {
                    self.last = Some(event);
                    return Some(Step::Finished);
                }
                step => return Some(step),
            }
        }
        None
    }

    fn drain_until_finished(&mut self) -> Option<P::Event> {
        loop {
            match self.forward_events()? {
                Step::Finished => return self.last.take(),
                _ => continue,
            }
        }
    }
}

/// Runs a blocking call (DNS, connect) on a helper thread and waits for it
/// in short steps, so a cancel is honoured at once; a call abandoned that
/// way finishes on its own within its time limit. `None` means cancelled.
fn cancellable<T: Send + 'static>(
    cancel: &CancelToken,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("postscope-connect".into())
        .spawn(move || {
            let _ = tx.send(call());
        });
    if spawned.is_err() {
        return None;
    }
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(value) => return Some(value),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !cancel.is_cancelled() => {}
            Err(_) => return None,
        }
    }
}

fn unfinished() -> (Report, Result<(), SessionError>) {
    (
        Report::default(),
        Err(SessionError::ConnectionLost {
            stage: Stage::Connect,
            detail: Some("the session ended without a result".into()),
        }),
    )
}
