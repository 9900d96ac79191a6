use super::*;
use crate::smtp::capability::Capabilities;
use crate::smtp::command::ClientId;
use crate::smtp::dsn::Dsn;
use crate::smtp::reply::{MAX_LINE_LEN, ReplyCode};
use crate::smtp::sasl::{self, Credentials, Mechanism, Secret};
use crate::smtp::tls::Verification;
use crate::smtp::transcript::TranscriptEvent;

// ----- fixtures -----

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery staple";
const TOKEN: &str = "ya29.a0AfH6SMBx-secret-token";
const FROM: &str = "alice@example.org";
const BOB: &str = "bob@example.org";
const CAROL: &str = "carol@example.org";
const EHLO_LINE: &str = "EHLO client.example.org";
const GREETING: &str = "220 mx.example.org ESMTP ready\r\n";
const STARTTLS_GO: &str = "220 2.0.0 Ready to start TLS\r\n";
const OK: &str = "250 2.0.0 OK\r\n";
const GO_AHEAD: &str = "354 End data with <CR><LF>.<CR><LF>\r\n";
const QUEUED: &str = "250 2.0.0 Ok: queued as 4F2A1\r\n";
const BYE: &str = "221 2.0.0 Bye\r\n";

/// A message whose encoding needs dot-stuffing twice (a leading dot, and a
/// line that is a lone dot).
const BODY: &[u8] = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Hello\r\n\r\n.leading dot\r\nHi Bob.\r\n.\r\nbye\r\n";

fn password() -> Credentials {
    Credentials {
        user: USER.into(),
        secret: Secret::Password(PASSWORD.into()),
    }
}

fn token() -> Credentials {
    Credentials {
        user: USER.into(),
        secret: Secret::Token(TOKEN.into()),
    }
}

fn envelope(recipients: &[&str]) -> Envelope {
    Envelope {
        from: FROM.into(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        size: None,
        eight_bit: false,
        dsn: Dsn::default(),
    }
}

fn send_to(recipients: &[&str]) -> Job {
    Job::Send(envelope(recipients))
}

/// Clear text, no AUTH, one recipient, RFC timeouts: tests override fields
/// with `SessionConfig { tls: …, ..config() }`.
fn config() -> SessionConfig {
    SessionConfig {
        quit_after: None,
        client_id: ClientId::Domain("client.example.org".into()),
        tls: TlsMode::None,
        auth: AuthPlan::None,
        job: send_to(&[BOB]),
        allow_partial: false,
        timeouts: Timeouts::default(),
    }
}

fn tls_info() -> TlsInfo {
    TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        key_exchange: Some("X25519".into()),
        server_name: "mx.example.org".into(),
        verification: Verification::Verified,
        chain: Vec::new(),
    }
}

/// A 250 reply to EHLO announcing these extensions.
fn ehlo(extensions: &[&str]) -> String {
    let mut lines = vec!["mx.example.org Hello client.example.org"];
    lines.extend_from_slice(extensions);
    let last = lines.len() - 1;
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' }))
        .collect()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

// ----- the scripted server and fake clock -----

/// A session driven by hand: the test plays the server and the clock.
struct Script {
    session: Session,
    t0: Instant,
    now: Instant,
    /// Every byte the client wrote.
    wire: Vec<u8>,
    /// How much of `wire` `client_lines` has handed out.
    read: usize,
    /// Every event, in order.
    events: Vec<Event>,
    /// How many events `react` has looked at.
    reacted: usize,
}

impl Script {
    /// A session created at `t0`, not yet connected.
    fn new(config: SessionConfig) -> Script {
        let t0 = Instant::now();
        let mut s = Script {
            session: Session::new(config, t0),
            t0,
            now: t0,
            wire: Vec::new(),
            read: 0,
            events: Vec::new(),
            reacted: 0,
        };
        s.pump();
        s
    }

    /// A session whose TCP connection came up at `t0`.
    fn start(config: SessionConfig) -> Script {
        let mut s = Script::new(config);
        s.connected();
        s
    }

    fn connected(&mut self) {
        self.session.handle_connected(self.now, None);
        self.pump();
    }

    /// Collects what the session produced.
    fn pump(&mut self) {
        let _ = self.session.poll_transmit(&mut self.wire);
        while let Some(e) = self.session.poll_event() {
            self.events.push(e);
        }
    }

    /// The server sends `text` in one piece.
    fn server(&mut self, text: &str) {
        self.server_bytes(text.as_bytes());
    }

    fn server_bytes(&mut self, bytes: &[u8]) {
        self.session.handle_input(self.now, bytes);
        self.pump();
    }

    /// The server sends `text` one byte per read.
    fn server_bytewise(&mut self, text: &str) {
        for b in text.bytes() {
            self.session.handle_input(self.now, &[b]);
        }
        self.pump();
    }

    fn eof(&mut self) {
        self.session.handle_eof(self.now);
        self.pump();
    }

    fn tls_established(&mut self) {
        self.session.handle_tls_established(self.now, tls_info());
        self.pump();
    }

    /// The driver feeds the message in these chunks and ends it.
    fn body(&mut self, chunks: &[&[u8]]) {
        for c in chunks {
            self.session.push_body(self.now, c);
        }
        self.session.end_body(self.now);
        self.pump();
    }

    fn cancel(&mut self) {
        self.session.cancel(self.now);
        self.pump();
    }

    /// The clock moves on by `d`; the driver reports it.
    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.session.handle_timeout(self.now);
        self.pump();
    }

    /// The clock moves on by `d` without the session hearing about it.
    fn tick(&mut self, d: Duration) {
        self.now += d;
    }

    /// Complete lines the client wrote since the last call, without CRLF.
    fn client_lines(&mut self) -> Vec<String> {
        let fresh = &self.wire[self.read..];
        let Some(end) = fresh.windows(2).rposition(|w| w == b"\r\n") else {
            return Vec::new();
        };
        let text = String::from_utf8(fresh[..end].to_vec()).expect("the client writes UTF-8");
        self.read += end + 2;
        text.split("\r\n").map(str::to_owned).collect()
    }

    /// Every line the client wrote, from the start.
    fn all_client_lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.wire.clone()).expect("the client writes UTF-8");
        text.split_terminator("\r\n").map(str::to_owned).collect()
    }

    /// Handles what a driver must act on: the handshake after STARTTLS and
    /// the message after 354 (it sends `BODY`).
    fn react(&mut self) {
        while self.reacted < self.events.len() {
            let i = self.reacted;
            self.reacted += 1;
            match self.events[i] {
                Event::StartTls => self.tls_established(),
                Event::NeedBody => self.body(&[BODY]),
                _ => {}
            }
        }
    }

    fn transcript(&self) -> Vec<&TranscriptEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Transcript(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// The transcript texts in one direction.
    fn texts(&self, direction: Direction) -> Vec<String> {
        self.transcript()
            .into_iter()
            .filter(|t| t.direction == direction)
            .map(|t| t.text.clone())
            .collect()
    }

    fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }

    fn stages(&self) -> Vec<Stage> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Stage(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    /// The outcome, if the session has finished; panics if it finished twice.
    fn finished(&self) -> Option<(Report, Result<(), SessionError>)> {
        let mut done = self.events.iter().filter_map(|e| match e {
            Event::Finished(report, result) => Some(((**report).clone(), result.clone())),
            _ => None,
        });
        let first = done.next();
        assert!(done.next().is_none(), "more than one Finished event");
        if first.is_some() {
            assert!(
                matches!(self.events.last(), Some(Event::Finished(..))),
                "events after Finished: {:?}",
                self.events
            );
            assert!(self.session.is_finished());
            assert_eq!(self.session.poll_timeout(), None);
        }
        first
    }

    fn report(&self) -> Report {
        self.finished().expect("the session has not finished").0
    }

    fn assert_ok(&self) -> Report {
        let (report, result) = self.finished().expect("the session has not finished");
        if let Err(e) = result {
            panic!("expected success, got {e:?}\n{}", self.dump());
        }
        report
    }

    fn error(&self) -> SessionError {
        match self.finished() {
            Some((_, Err(e))) => e,
            Some((_, Ok(()))) => panic!("expected a failure, got success\n{}", self.dump()),
            None => panic!("the session has not finished\n{}", self.dump()),
        }
    }

    fn assert_running(&self) {
        assert!(
            self.finished().is_none(),
            "finished too early\n{}",
            self.dump()
        );
    }

    /// The capabilities learnt so far, from the session's own report.
    fn report_capabilities(&self) -> Capabilities {
        self.session.report.capabilities.clone().unwrap()
    }

    /// The transcript as text, for failure messages.
    fn dump(&self) -> String {
        self.transcript()
            .iter()
            .map(|t| t.to_text())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Greeting and EHLO (announcing `extensions`), in clear; returns what the
/// client sent next.
fn after_ehlo(s: &mut Script, extensions: &[&str]) -> Vec<String> {
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server(&ehlo(extensions));
    s.client_lines()
}

/// Greeting, EHLO offering STARTTLS, STARTTLS, the handshake and the EHLO
/// inside TLS (announcing `extensions`); returns what the client sent next.
fn after_starttls(s: &mut Script, extensions: &[&str]) -> Vec<String> {
    assert_eq!(after_ehlo(s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 1);
    s.tls_established();
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server(&ehlo(extensions));
    s.client_lines()
}

/// Up to MAIL FROM in clear text with no AUTH, announcing `extensions`.
fn at_mail(config: SessionConfig, extensions: &[&str]) -> Script {
    let mut s = Script::start(config);
    let lines = after_ehlo(&mut s, extensions);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("MAIL FROM:"), "{lines:?}");
    s
}

/// Up to the 354, in clear, for `recipients` (all accepted).
fn at_body(config: SessionConfig) -> Script {
    let recipients = match &config.job {
        Job::Send(e) => e.recipients.len(),
        Job::Probe => panic!("a probe has no body"),
    };
    let mut s = at_mail(config, &["SIZE 10000000", "8BITMIME"]);
    s.server(OK);
    for _ in 0..recipients {
        assert!(s.client_lines()[0].starts_with("RCPT TO:"));
        s.server(OK);
    }
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 1);
    s
}

/// A session that stops on purpose after `q`.
fn stopping(q: Stage) -> SessionConfig {
    SessionConfig {
        quit_after: Some(q),
        ..config()
    }
}

mod lifecycle;
mod opening;
mod transaction;
