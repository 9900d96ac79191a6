//! The client's session wired to the sandbox's session in memory, no
//! sockets (quinn's `Pair` is the model): bytes go from one `poll_transmit`
//! or `take_output` straight into the other side, and after STARTTLS
//! through a real rustls client and server connection pumped in memory. So
//! the two halves of Postscope keep each other honest: what the client
//! sends, the sandbox must understand, and the other way round.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};

use super::session::{Action, Delivery, Limits, Session as Server};
use super::tls::Certs;
use crate::smtp::dsn::Dsn;
use crate::smtp::error::{SessionError, Stage};
use crate::smtp::sasl::{Credentials, Mechanism, Secret};
use crate::smtp::tls::{ClientSetup, TlsOptions, Verification};
use crate::smtp::transcript::{Direction, TranscriptEvent};
use crate::smtp::{
    AuthPlan, ClientId, Envelope, Event, Job, Report, Session as Client, SessionConfig, Timeouts,
    TlsMode,
};

const LIMITS: Limits = Limits {
    max_size: 1 << 20,
    max_recipients: 2,
    max_line: 4096,
};

/// A message with a leading dot and a lone-dot line, 8-bit text, and no
/// final line break: every transformation on the way must be undone.
const MESSAGE: &[u8] =
    "From: ada@example.org\r\nSubject: pair\r\n\r\n.leading dot\r\n.\r\nGrüße\r\nno final newline"
        .as_bytes();

struct Tls {
    client: ClientConnection,
    server: ServerConnection,
}

impl Tls {
    /// Moves TLS records between the two ends until neither has more.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            let mut wire = Vec::new();
            while self.client.wants_write() {
                self.client.write_tls(&mut wire).unwrap();
            }
            if !wire.is_empty() {
                moved = true;
                self.server.read_tls(&mut &wire[..]).unwrap();
                self.server.process_new_packets().unwrap();
            }
            wire.clear();
            while self.server.wants_write() {
                self.server.write_tls(&mut wire).unwrap();
            }
            if !wire.is_empty() {
                moved = true;
                self.client.read_tls(&mut &wire[..]).unwrap();
                self.client.process_new_packets().unwrap();
            }
            if !moved {
                return;
            }
        }
    }
}

fn read_all(reader: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("reading plaintext: {e}"),
        }
    }
}

struct Pair {
    client: Client,
    server: Server,
    certs: Certs,
    setup: ClientSetup,
    tls: Option<Tls>,
    delivered: Vec<Delivery>,
    /// The client's transcript.
    transcript: Vec<TranscriptEvent>,
    now: Instant,
    /// The server said goodbye and closed the connection.
    closed: bool,
    /// The message the client sends.
    message: Vec<u8>,
}

impl Pair {
    fn new(config: SessionConfig, limits: Limits) -> Pair {
        let certs = Certs::generate().unwrap();
        let setup = ClientSetup::new(&TlsOptions {
            extra_roots: vec![certs.ca_der.clone()],
            ..TlsOptions::default()
        })
        .unwrap();
        let now = Instant::now();
        let mut client = Client::new(config, now);
        client.handle_connected(now, None);
        Pair {
            client,
            server: Server::new(limits),
            certs,
            setup,
            tls: None,
            delivered: Vec::new(),
            transcript: Vec::new(),
            now,
            closed: false,
            message: MESSAGE.to_vec(),
        }
    }

    /// Server bytes to the client, through TLS once it is up.
    fn server_speaks(&mut self) -> bool {
        let out = self.server.take_output();
        let bytes = match &mut self.tls {
            None => out,
            Some(tls) => {
                tls.server.writer().write_all(&out).unwrap();
                tls.pump();
                read_all(&mut tls.client.reader())
            }
        };
        if bytes.is_empty() {
            return false;
        }
        self.client.handle_input(self.now, &bytes);
        true
    }

    /// Client bytes to the server, through TLS once it is up.
    fn client_speaks(&mut self) -> bool {
        let mut out = Vec::new();
        if !self.client.poll_transmit(&mut out) {
            return false;
        }
        let bytes = match &mut self.tls {
            None => out,
            Some(tls) => {
                tls.client.writer().write_all(&out).unwrap();
                tls.pump();
                read_all(&mut tls.server.reader())
            }
        };
        if self.closed {
            return true;
        }
        self.server.input(&bytes);
        let delivered = &mut self.delivered;
        let mut deliver = |d: Delivery| {
            delivered.push(d);
            Ok(delivered.len() as u64)
        };
        match self.server.process(&mut deliver) {
            Action::Continue => {}
            Action::StartTls => {}
            Action::Close => self.closed = true,
        }
        true
    }

    /// The client asked for the STARTTLS handshake: run it in memory.
    fn start_tls(&mut self) {
        // The 220 went out in clear text; from here on, TLS.
        self.server_speaks();
        let name = ServerName::try_from("localhost").unwrap();
        let client = ClientConnection::new(Arc::clone(&self.setup.config), name).unwrap();
        let server = ServerConnection::new(Arc::clone(&self.certs.server)).unwrap();
        let mut tls = Tls { client, server };
        tls.pump();
        assert!(!tls.client.is_handshaking() && !tls.server.is_handshaking());
        let info = self.setup.info(&tls.client, "localhost");
        self.tls = Some(tls);
        self.server.tls_started();
        self.client.handle_tls_established(self.now, info);
    }

    /// Runs the conversation to the end and returns the client's outcome.
    fn run(&mut self) -> (Report, Result<(), SessionError>) {
        for _ in 0..10_000 {
            while let Some(event) = self.client.poll_event() {
                match event {
                    Event::StartTls => self.start_tls(),
                    Event::NeedBody => {
                        for piece in self.message.chunks(7) {
                            self.client.push_body(self.now, piece);
                        }
                        self.client.end_body(self.now);
                    }
                    Event::Transcript(line) => self.transcript.push(line),
                    Event::Finished(report, result) => return (*report, result),
                    _ => {}
                }
            }
            let sent = self.client_speaks();
            let answered = self.server_speaks();
            if !sent && !answered {
                if self.closed {
                    self.client.handle_eof(self.now);
                } else {
                    self.now += Duration::from_secs(600);
                    self.client.handle_timeout(self.now);
                }
            }
        }
        panic!("the pair never finished");
    }
}

fn config(tls: TlsMode, auth: AuthPlan, recipients: &[&str]) -> SessionConfig {
    SessionConfig {
        client_id: ClientId::Domain("client.example.org".into()),
        tls,
        auth,
        job: Job::Send(Envelope {
            from: "ada@example.org".into(),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            size: Some(MESSAGE.len() as u64),
            eight_bit: true,
            dsn: Dsn::default(),
        }),
        allow_partial: false,
        timeouts: Timeouts::default(),
        quit_after: None,
    }
}

fn login() -> Credentials {
    Credentials {
        user: "ada".into(),
        secret: Secret::Password("s3cret-pw".into()),
    }
}

impl Pair {
    /// The client's lines (commands), in order.
    fn sent(&self) -> Vec<&str> {
        self.transcript
            .iter()
            .filter(|e| e.direction == Direction::Sent)
            .map(|e| e.text.as_str())
            .collect()
    }

    /// What the sandbox received, with its final CRLF.
    fn expected_raw() -> Vec<u8> {
        let mut expected = MESSAGE.to_vec();
        expected.extend_from_slice(b"\r\n");
        expected
    }
}

#[test]
fn plain_pipelined_and_chunked_delivers_the_message_byte_for_byte() {
    let mut pair = Pair::new(
        config(TlsMode::None, AuthPlan::None, &["bob@example.org"]),
        LIMITS,
    );
    let (report, result) = pair.run();
    result.unwrap();
    assert_eq!(report.delivered, ["bob@example.org"]);
    let d = &pair.delivered[0];
    assert_eq!(d.mail_from, "ada@example.org");
    assert_eq!(d.rcpt_to, ["bob@example.org"]);
    assert_eq!(d.raw, Pair::expected_raw(), "dots and line ends restored");
    assert!(!d.tls);
    let caps = report.capabilities.unwrap();
    assert!(caps.has("PIPELINING") && caps.has("CHUNKING"));
    // PIPELINING: MAIL and RCPT went out together, before the reply to MAIL.
    let at = |f: &dyn Fn(&TranscriptEvent) -> bool| pair.transcript.iter().position(f).unwrap();
    let reply_to_mail = at(&|e| e.direction == Direction::Received && e.text.contains("Sender <"));
    let rcpt = at(&|e| e.text.starts_with("RCPT TO:"));
    assert!(rcpt < reply_to_mail, "{:#?}", pair.transcript);
    // CHUNKING: one last chunk, no DATA and no dot.
    let sent = pair.sent();
    assert!(
        sent.iter()
            .any(|l| l.starts_with("MAIL FROM:<ada@example.org> SIZE="))
    );
    assert!(sent.iter().any(|l| l.ends_with(" LAST")));
    assert!(!sent.contains(&"DATA") && !sent.contains(&"."));
    assert_eq!(sent.last(), Some(&"QUIT"));
}

#[test]
fn starttls_then_auth_plain_and_login() {
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let auth = AuthPlan::Forced(mechanism.clone(), login());
        let mut pair = Pair::new(
            config(TlsMode::StartTls, auth, &["bob@example.org"]),
            LIMITS,
        );
        let (report, result) = pair.run();
        result.unwrap();
        let tls = report.tls.as_ref().unwrap();
        assert_eq!(
            tls.verification,
            Verification::Verified,
            "the sandbox CA is trusted"
        );
        assert!(report.capabilities_before_tls.unwrap().has("STARTTLS"));
        assert!(!report.capabilities.unwrap().has("STARTTLS"));
        assert_eq!(report.auth, Some(mechanism.clone()));
        let d = &pair.delivered[0];
        assert!(d.tls);
        assert_eq!(d.auth_user.as_deref(), Some("ada"), "{mechanism}");
        assert_eq!(d.raw, Pair::expected_raw());
        // The secret never reached the transcript.
        assert!(
            pair.transcript
                .iter()
                .all(|e| !e.text.contains("s3cret-pw"))
        );
    }
}

#[test]
fn automatic_login_picks_plain() {
    let auth = AuthPlan::Auto(login());
    let mut pair = Pair::new(
        config(TlsMode::StartTls, auth, &["bob@example.org"]),
        LIMITS,
    );
    let (report, result) = pair.run();
    result.unwrap();
    assert_eq!(report.auth, Some(Mechanism::Plain));
}

#[test]
fn too_many_recipients_go_in_a_second_transaction() {
    let to = ["a@example.org", "b@example.org", "c@example.org"];
    let mut pair = Pair::new(config(TlsMode::None, AuthPlan::None, &to), LIMITS);
    let (report, result) = pair.run();
    result.unwrap();
    assert_eq!(report.delivered, to);
    assert_eq!(pair.delivered.len(), 2, "the sandbox takes two per message");
    assert_eq!(
        pair.delivered[0].rcpt_to,
        ["a@example.org", "b@example.org"]
    );
    assert_eq!(pair.delivered[1].rcpt_to, ["c@example.org"]);
    assert!(pair.delivered.iter().all(|d| d.raw == Pair::expected_raw()));
}

#[test]
fn a_refused_recipient_sends_nothing_unless_partial_delivery_is_allowed() {
    let to = ["bob@example.org", "not an address"];
    let mut pair = Pair::new(config(TlsMode::None, AuthPlan::None, &to), LIMITS);
    let (report, result) = pair.run();
    match result {
        Err(SessionError::RecipientsRefused {
            refused, accepted, ..
        }) => {
            assert_eq!(accepted, 1);
            assert_eq!(refused[0].address, "not an address");
            assert_eq!(refused[0].reply.code.0, 501);
        }
        other => panic!("{other:?}"),
    }
    assert!(pair.delivered.is_empty());
    assert!(report.delivered.is_empty());

    let partial = SessionConfig {
        allow_partial: true,
        ..config(TlsMode::None, AuthPlan::None, &to)
    };
    let mut pair = Pair::new(partial, LIMITS);
    let (report, result) = pair.run();
    result.unwrap();
    assert_eq!(report.delivered, ["bob@example.org"]);
    assert_eq!(pair.delivered[0].rcpt_to, ["bob@example.org"]);
}

#[test]
fn a_421_from_the_sandbox_ends_the_session() {
    let mut pair = Pair::new(
        config(TlsMode::None, AuthPlan::None, &["bob@example.org"]),
        LIMITS,
    );
    // The sandbox gives up on the client right after its greeting.
    pair.server.close_with(
        crate::smtp::EnhancedCode::TIMED_OUT,
        "Error: timeout exceeded",
    );
    let (_, result) = pair.run();
    match result {
        Err(SessionError::Rejected { stage, reply }) => {
            assert_eq!(stage, Stage::Ehlo);
            assert_eq!(reply.code.0, 421);
            assert!(reply.message().contains("timeout"), "{reply}");
        }
        other => panic!("{other:?}"),
    }
    assert!(pair.delivered.is_empty());
}

#[test]
fn stopping_after_data_sends_no_message() {
    let stop = SessionConfig {
        quit_after: Some(Stage::Data),
        ..config(TlsMode::None, AuthPlan::None, &["bob@example.org"])
    };
    let mut pair = Pair::new(stop, LIMITS);
    let (report, result) = pair.run();
    result.unwrap();
    assert_eq!(report.stopped_after, Some(Stage::Data));
    // DATA, not BDAT, so there is a 354 to stop at; the sandbox got nothing.
    assert!(pair.sent().contains(&"DATA"));
    assert!(pair.delivered.is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any message the client is given arrives at the sandbox byte for
    /// byte, line ends made CRLF (and a last one added), in clear text and
    /// through STARTTLS.
    #[test]
    fn any_message_arrives_byte_for_byte(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(".".to_owned()),
                proptest::strategy::Just("..".to_owned()),
                proptest::strategy::Just(String::new()),
                "[.]?[ -~]{0,30}",
                "\\PC{0,12}",
            ],
            0..12,
        ),
        ends in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("\r\n"),
                proptest::strategy::Just("\n"),
                proptest::strategy::Just("\r"),
            ],
            12,
        ),
        tls in proptest::bool::ANY,
    ) {
        let mut message = b"Subject: p\r\n\r\n".to_vec();
        for (line, end) in lines.iter().zip(&ends) {
            message.extend_from_slice(line.as_bytes());
            message.extend_from_slice(end.as_bytes());
        }
        let mode = if tls { TlsMode::StartTls } else { TlsMode::None };
        let mut config = config(mode, AuthPlan::None, &["bob@example.org"]);
        if let Job::Send(envelope) = &mut config.job {
            envelope.size = Some(message.len() as u64);
            envelope.eight_bit = !message.is_ascii();
        }
        let mut pair = Pair::new(config, LIMITS);
        pair.message = message.clone();
        let (_, result) = pair.run();
        proptest::prop_assert!(result.is_ok(), "{result:?}");
        // Worked out apart from the client's encoder: CRLF, lone CR and
        // lone LF are each one line end, written CRLF.
        let text = String::from_utf8(message).unwrap();
        let mut expected = text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n");
        if !expected.ends_with("\r\n") {
            expected.push_str("\r\n");
        }
        proptest::prop_assert_eq!(
            String::from_utf8_lossy(&pair.delivered[0].raw),
            expected
        );
    }
}
