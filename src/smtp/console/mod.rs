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
//! It offers the sending session's `handle_*`/`poll_*` surface, so
//! [`spawn`] runs it on the one driver ([`super::transport`]): connecting,
//! TLS (implicit, or after a typed STARTTLS), deadlines and cancelling are
//! the same code as for sending; typed commands reach it over the driver's
//! input channel, and an idle console waits without polling.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::ReplyCode;
use super::command::{Command, redact_typed};
use super::dot_stuff::DotStuffer;
use super::error::SessionError;
use super::reply::{Parsed, ReplyParser};
use super::sasl::{self, Credentials, Mechanism, Secret};
use super::tls::TlsInfo;
use super::transcript::{Direction, TranscriptEvent, escape_controls};

mod complete;
mod driver;
mod state;

pub use complete::complete;
pub use driver::{ConsoleCommand, ConsoleHandle, Password, spawn};
use state::Pending;
pub use state::{ConsoleEvent, ConsoleState};

/// The console's protocol side (no I/O).
pub struct Console {
    start: Instant,
    /// TLS from the first byte (port 465).
    implicit: bool,
    /// How long connecting, a handshake, a write or a reply may take.
    timeout: Duration,
    /// When the oldest unanswered command stops being worth waiting for
    /// in silence (the transcript then says so).
    deadline: Option<Instant>,
    /// The server answered QUIT: its closing the connection is expected.
    said_goodbye: bool,
    /// Message data typed after a 354, dot-stuffed as it goes.
    stuffer: DotStuffer,
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
    /// The server said 220 to STARTTLS and the handshake has not run yet:
    /// anything the server sends now came in clear text and could have
    /// been injected (RFC 3207 §5).
    awaiting_tls: bool,
}

impl Console {
    /// A console about to connect in clear text (STARTTLS when typed);
    /// transcript times count from `now`.
    #[cfg(test)]
    pub fn new(now: Instant) -> Console {
        Console::with(now, false, Duration::from_secs(30))
    }

    /// A console about to connect, with TLS from the first byte when
    /// `implicit`, and `timeout` for every wait.
    pub fn with(now: Instant, implicit: bool, timeout: Duration) -> Console {
        Console {
            start: now,
            implicit,
            timeout,
            deadline: None,
            said_goodbye: false,
            stuffer: DotStuffer::default(),
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
            awaiting_tls: false,
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
        if self.pending.is_empty() {
            self.deadline = None;
        }
        self.events
            .push_back(ConsoleEvent::State(self.state.clone()));
    }

    /// Waiting on the server from now, if it owes replies.
    fn rearm(&mut self, now: Instant) {
        self.deadline = (!self.pending.is_empty()).then(|| now + self.timeout);
    }

    /// The TCP connection (and implicit TLS) is up: the greeting is next.
    pub fn handle_connected(&mut self, now: Instant, tls: Option<TlsInfo>) {
        self.state.connected = true;
        if let Some(info) = tls {
            self.tls_up(now, info);
        }
        self.pending.push_back(Pending::Greeting);
        self.rearm(now);
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
    pub fn handle_tls_established(&mut self, now: Instant, info: TlsInfo) {
        self.awaiting_tls = false;
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

    /// Connecting or a handshake failed; the connection is unusable.
    pub fn handle_connect_failed(&mut self, now: Instant, error: SessionError) {
        self.record(now, Direction::Error, error.to_string(), None);
        self.close(now, Some(error.to_string()));
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        let why = (!self.said_goodbye).then(|| "the server hung up".to_owned());
        self.close(now, why);
    }

    /// Reading or writing failed.
    pub fn handle_io_error(&mut self, now: Instant, detail: String) {
        if self.said_goodbye {
            // After QUIT's 221 the server may end the connection any way it
            // likes (over TLS often without close_notify): a normal end.
            return self.close(now, None);
        }
        let text = format!("the connection broke: {detail}");
        self.record(now, Direction::Error, text, None);
        self.close(now, Some(detail));
    }

    /// The clock moved: says so once when a reply is long overdue. The
    /// console keeps waiting; the person decides.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.deadline = None;
            let text = format!(
                "no reply within {} s: the server may be waiting for more, or stuck",
                self.timeout.as_secs()
            );
            self.record(now, Direction::Error, text, None);
            self.changed();
        }
    }

    /// What a person asked for.
    pub fn handle_command(&mut self, now: Instant, command: ConsoleCommand) {
        match command {
            ConsoleCommand::Text(text) => self.send_text(now, &text),
            ConsoleCommand::Auth(m, user, password) => self.auth(now, m, &user, &password.0),
            ConsoleCommand::Data(message) => self.data(now, &message),
            ConsoleCommand::Disconnect => self.close(now, None),
        }
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
        self.rearm(now);
        self.changed();
    }

    fn send_line(&mut self, now: Instant, line: &str) {
        if self.state.in_data {
            if line == "." {
                self.stuffer.finish(&mut self.transmit);
                self.stuffer = DotStuffer::default();
                self.record(now, Direction::Sent, ".".into(), None);
                self.state.in_data = false;
                self.pending.push_back(Pending::DataEnd);
            } else {
                // A line of data that starts with a dot gets another (RFC 5321 §4.5.2).
                self.stuffer.encode(line.as_bytes(), &mut self.transmit);
                self.stuffer.encode(b"\r\n", &mut self.transmit);
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
                    let command = Command::Auth {
                        mechanism: Mechanism::Plain,
                        initial: Some(response),
                    };
                    self.send_command(now, &command, Pending::Auth);
                }
                Err(e) => self.record(now, Direction::Error, e.to_string(), None),
            },
            Mechanism::Login => match sasl::login_responses(&creds) {
                Ok(answers) => {
                    self.login = Some(answers);
                    let command = Command::Auth {
                        mechanism: Mechanism::Login,
                        initial: None,
                    };
                    self.send_command(now, &command, Pending::LoginUser);
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
        self.rearm(now);
        self.changed();
    }

    /// A command made by the helpers: its wire form sent, its redacted
    /// form shown.
    fn send_command(&mut self, now: Instant, command: &Command, pending: Pending) {
        command.encode(&mut self.transmit);
        self.record(now, Direction::Sent, command.redacted(), None);
        self.pending.push_back(pending);
    }

    /// DATA, then (after the 354) this message, dot-stuffed, and the final dot.
    pub fn data(&mut self, now: Instant, message: &[u8]) {
        if !self.can_send_command(now, "a message is already being typed") {
            return;
        }
        self.send_command(now, &Command::Data, Pending::Data(Some(message.to_vec())));
        self.rearm(now);
        self.changed();
    }

    /// Bytes from the server.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.closed {
            return;
        }
        if self.awaiting_tls {
            self.record(
                now,
                Direction::Error,
                "the server sent clear text after its 220 to STARTTLS; it could be injected, \
                 so the connection was dropped"
                    .into(),
                None,
            );
            return self.close(now, Some("data injected after STARTTLS".into()));
        }
        self.parser.push(bytes);
        loop {
            match self.parser.next_line() {
                Ok(None) => break,
                Ok(Some(Parsed::Line(line))) => {
                    self.record(now, Direction::Received, line.raw, Some(line.code));
                }
                Ok(Some(Parsed::Reply(line, reply))) => {
                    self.record(now, Direction::Received, line.raw, Some(line.code));
                    let code = reply.code;
                    if self.state.server_name.is_none()
                        && (code == ReplyCode::READY || code == ReplyCode::OK)
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
        self.rearm(now);
        self.changed();
    }

    fn on_reply(&mut self, now: Instant, code: ReplyCode, first_line: String) {
        let Some(pending) = self.pending.pop_front() else {
            if code != ReplyCode::UNAVAILABLE {
                self.note(now, "a reply nobody asked for (was something sent twice?)");
            }
            return;
        };
        if code == ReplyCode::UNAVAILABLE {
            self.note(now, "421: the server is closing the connection");
        }
        match pending {
            Pending::StartTls if code == ReplyCode::READY => {
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
                self.awaiting_tls = true;
                self.events.push_back(ConsoleEvent::StartTls);
            }
            Pending::Auth | Pending::LoginPassword if code == ReplyCode::AUTH_CHALLENGE => {
                if let Some(text) = sasl::decode_challenge(&first_line) {
                    self.note(
                        now,
                        format!("challenge decoded: {}", text.trim_end_matches('\0')),
                    );
                }
                match (pending, self.login.take()) {
                    (Pending::LoginPassword, Some((_, password))) => {
                        let answer = Command::AuthResponse(password);
                        self.send_command(now, &answer, Pending::Auth);
                    }
                    _ => self.in_sasl = true,
                }
            }
            Pending::LoginUser if code == ReplyCode::AUTH_CHALLENGE => {
                if let Some(text) = sasl::decode_challenge(&first_line) {
                    self.note(now, format!("challenge decoded: {text}"));
                }
                if let Some((user, _)) = &self.login {
                    let answer = Command::AuthResponse(user.clone());
                    self.send_command(now, &answer, Pending::LoginPassword);
                }
            }
            Pending::Auth | Pending::LoginUser | Pending::LoginPassword => {
                self.login = None;
                // The exchange is over, unless typed responses are still due.
                self.in_sasl = self.pending.contains(&Pending::Auth);
                if code == ReplyCode::AUTH_OK {
                    self.state.authenticated = true;
                }
            }
            Pending::Mail if code.is_positive() => self.state.in_transaction = true,
            Pending::Rset if code.is_positive() => self.state.in_transaction = false,
            Pending::Data(body) if code == ReplyCode::START_DATA => match body {
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
            Pending::Quit => self.said_goodbye = true,
            _ => {}
        }
        if code == ReplyCode::UNAVAILABLE {
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
    #[cfg(test)]
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

#[cfg(test)]
mod tests;
