use super::*;
use crate::smtp::reply::{MAX_LINE_LEN, ReplyCode};
use crate::smtp::sasl::Secret;
use crate::smtp::tls::Verification;

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

// ----- the happy path: STARTTLS, AUTH PLAIN, one message -----

fn happy_config() -> SessionConfig {
    SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        job: Job::Send(Envelope {
            size: Some(BODY.len() as u64),
            ..envelope(&[BOB, CAROL])
        }),
        ..config()
    }
}

const EHLO_BEFORE_TLS: &str = "250-mx.example.org Hello client.example.org\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n";
const EHLO_AFTER_TLS: &str = "250-mx.example.org Hello client.example.org\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250-AUTH LOGIN PLAIN\r\n250 ENHANCEDSTATUSCODES\r\n";

/// Everything the server says in the happy path, in order.
const HAPPY_SERVER: [&str; 11] = [
    GREETING,
    EHLO_BEFORE_TLS,
    STARTTLS_GO,
    EHLO_AFTER_TLS,
    "235 2.7.0 Authentication successful\r\n",
    "250 2.1.0 Sender OK\r\n",
    "250 2.1.5 Recipient OK\r\n",
    "250 2.1.5 Recipient OK\r\n",
    GO_AHEAD,
    QUEUED,
    BYE,
];

/// Plays `replies` with `feed`, 10 ms apart, handling STARTTLS and the body
/// as a driver would.
fn play(s: &mut Script, replies: &[&str], feed: fn(&mut Script, &str)) {
    for reply in replies {
        s.tick(ms(10));
        feed(s, reply);
        s.react();
    }
}

fn happy_path_with(feed: fn(&mut Script, &str)) -> Script {
    let mut s = Script::start(happy_config());
    play(&mut s, &HAPPY_SERVER, feed);
    s
}

#[test]
fn happy_path_sends_the_exact_commands_in_order() {
    let plain = sasl::plain_response(&password()).unwrap();
    let mut s = Script::start(happy_config());
    assert!(s.client_lines().is_empty(), "nothing before the greeting");
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server(EHLO_BEFORE_TLS);
    assert_eq!(s.client_lines(), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    assert!(
        s.client_lines().is_empty(),
        "nothing while the handshake runs"
    );
    assert!(matches!(s.events.last(), Some(Event::StartTls)));
    s.tls_established();
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server(EHLO_AFTER_TLS);
    assert_eq!(s.client_lines(), [format!("AUTH PLAIN {plain}")]);
    s.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(
        s.client_lines(),
        [format!("MAIL FROM:<{FROM}> SIZE={}", BODY.len())]
    );
    s.server("250 2.1.0 Sender OK\r\n");
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{BOB}>")]);
    s.server("250 2.1.5 Recipient OK\r\n");
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{CAROL}>")]);
    s.server("250 2.1.5 Recipient OK\r\n");
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    assert!(matches!(s.events.last(), Some(Event::NeedBody)));
    s.body(&[BODY]);
    assert_eq!(
        s.client_lines(),
        [
            "From: alice@example.org",
            "To: bob@example.org",
            "Subject: Hello",
            "",
            "..leading dot",
            "Hi Bob.",
            "..",
            "bye",
            ".",
        ]
    );
    s.assert_running();
    s.server(QUEUED);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert!(s.client_lines().is_empty());
    s.assert_ok();
}

#[test]
fn happy_path_report() {
    let s = happy_path_with(Script::server);
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL]);
    assert!(report.refused.is_empty());
    assert_eq!(report.stage, Some(Stage::Quit));
    assert_eq!(report.greeting.as_ref().unwrap().code, ReplyCode(220));
    let final_reply = report.final_reply.as_ref().unwrap();
    assert_eq!(final_reply.code, ReplyCode(250));
    assert_eq!(final_reply.first_line(), "2.0.0 Ok: queued as 4F2A1");
    assert_eq!(report.auth, Some(Mechanism::Plain));
    assert_eq!(report.message_bytes, BODY.len() as u64);
    assert_eq!(report.tls, Some(tls_info()));

    let before = report.capabilities_before_tls.as_ref().unwrap();
    assert!(before.has("STARTTLS"));
    assert!(before.auth_mechanisms().is_empty());
    let after = report.capabilities.as_ref().unwrap();
    assert!(!after.has("STARTTLS"));
    assert_eq!(
        after.auth_mechanisms(),
        [Mechanism::Login, Mechanism::Plain]
    );
    assert_eq!(after.server_name, "mx.example.org");
    assert_eq!(after.size_limit(), Some(10_000_000));
}

#[test]
fn happy_path_timings_follow_the_stages() {
    let s = happy_path_with(Script::server);
    let report = s.assert_ok();
    let stages: Vec<Stage> = report.timings.iter().map(|t| t.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Connect,
            Stage::Greeting,
            Stage::Ehlo,
            Stage::Tls,
            Stage::TlsEhlo,
            Stage::Auth,
            Stage::Mail,
            Stage::Rcpt,
            Stage::Data,
            Stage::Message,
            Stage::Quit,
        ]
    );
    // `play` waits 10 ms before each reply; the clock starts at the connect.
    let at: Vec<u64> = report
        .timings
        .iter()
        .map(|t| t.at_ms.as_millis() as u64)
        .collect();
    assert_eq!(at, [0, 10, 20, 30, 40, 50, 60, 80, 90, 100, 110]);
    assert!(at.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn happy_path_stage_events_in_order() {
    let s = happy_path_with(Script::server);
    assert_eq!(
        s.stages(),
        [
            Stage::Connect,
            Stage::Greeting,
            Stage::Ehlo,
            Stage::Tls,
            Stage::TlsEhlo,
            Stage::Auth,
            Stage::Mail,
            Stage::Rcpt,
            Stage::Data,
            Stage::Message,
            Stage::Quit,
        ]
    );
}

#[test]
fn happy_path_transcript_never_holds_the_secret() {
    let s = happy_path_with(Script::server);
    let secrets = password().sensitive_strings();
    assert!(secrets.contains(&PASSWORD.to_string()));
    assert!(secrets.contains(&sasl::plain_response(&password()).unwrap()));
    for event in s.transcript() {
        for secret in &secrets {
            assert!(
                !event.text.contains(secret.as_str()),
                "secret in the transcript: {event:?}"
            );
        }
    }
    let finished = format!("{:?}", s.finished());
    for secret in &secrets {
        assert!(!finished.contains(secret.as_str()));
    }
    // The wire has it, of course; the transcript shows the redacted form.
    assert!(s.all_client_lines().iter().any(|l| l.contains(&secrets[2])));
    assert!(
        s.texts(Direction::Sent)
            .contains(&"AUTH PLAIN <redacted>".to_string())
    );
}

#[test]
fn happy_path_transcript_is_secure_after_starttls() {
    let s = happy_path_with(Script::server);
    let mut tls_started = false;
    let mut secure_lines = 0;
    for event in &s.events {
        match event {
            Event::StartTls => tls_started = true,
            Event::Transcript(t)
                if matches!(t.direction, Direction::Sent | Direction::Received) =>
            {
                assert_eq!(t.secure, tls_started, "{t:?}");
                secure_lines += usize::from(t.secure);
            }
            _ => {}
        }
    }
    assert!(tls_started);
    assert!(secure_lines > 10);
    // The reply that allowed STARTTLS was itself in clear text.
    let go = s
        .transcript()
        .into_iter()
        .find(|t| t.text == "220 2.0.0 Ready to start TLS")
        .unwrap();
    assert!(!go.secure);
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.starts_with("TLS established: TLSv1.3"))
    );
}

#[test]
fn happy_path_transcript_summarises_the_message() {
    let s = happy_path_with(Script::server);
    let sent = s.texts(Direction::Sent);
    let summary = format!("… {} bytes of message data …", BODY.len());
    let i = sent.iter().position(|t| *t == summary).unwrap();
    assert_eq!(sent[i - 1], "DATA");
    assert_eq!(sent[i + 1], ".");
    assert_eq!(sent[i + 2], "QUIT");
    assert!(!sent.iter().any(|t| t.contains("Hi Bob")));
}

#[test]
fn transcript_times_count_from_the_session_start() {
    let mut s = Script::new(config());
    s.tick(ms(40));
    s.connected();
    s.tick(ms(25));
    s.server(GREETING);
    let greeting = s.transcript()[0].clone();
    assert_eq!(greeting.direction, Direction::Received);
    assert_eq!(greeting.at, ms(65));
    let sent = s.transcript()[1].clone();
    assert_eq!(sent.direction, Direction::Sent);
    assert_eq!(sent.at, ms(65));
    s.server(&ehlo(&[]));
    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.timings[0].stage, Stage::Connect);
    assert_eq!(report.timings[0].at_ms, ms(40));
    assert_eq!(report.timings[1].at_ms, ms(65));
}

#[test]
fn multi_line_replies_are_one_transcript_event_per_line() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server(EHLO_BEFORE_TLS);
    let received: Vec<(String, Option<ReplyCode>)> = s
        .transcript()
        .into_iter()
        .filter(|t| t.direction == Direction::Received)
        .map(|t| (t.text.clone(), t.code))
        .collect();
    let code = Some(ReplyCode(250));
    assert_eq!(
        received,
        [
            (
                "220 mx.example.org ESMTP ready".to_string(),
                Some(ReplyCode(220))
            ),
            (
                "250-mx.example.org Hello client.example.org".to_string(),
                code
            ),
            ("250-SIZE 10000000".to_string(), code),
            ("250-8BITMIME".to_string(), code),
            ("250-STARTTLS".to_string(), code),
            ("250 ENHANCEDSTATUSCODES".to_string(), code),
        ]
    );
}

#[test]
fn a_reply_line_is_recorded_as_soon_as_it_is_complete() {
    let mut s = Script::start(config());
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    let before = s.transcript().len();
    s.server("250-mx.example.org Hello\r\n250-SIZE 1000");
    let after: Vec<String> = s.transcript()[before..]
        .iter()
        .map(|t| t.text.clone())
        .collect();
    assert_eq!(after, ["250-mx.example.org Hello"]);
    assert!(s.client_lines().is_empty(), "the reply is not over yet");
    s.server("0\r\n250 8BITMIME\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);
    assert_eq!(
        s.report_capabilities().size_limit(),
        Some(10_000),
        "a line split across reads is joined"
    );
}

#[test]
fn replies_split_byte_by_byte_give_the_same_session() {
    let whole = happy_path_with(Script::server);
    let bytewise = happy_path_with(Script::server_bytewise);
    bytewise.assert_ok();
    assert_eq!(bytewise.wire, whole.wire);
    assert_eq!(bytewise.transcript(), whole.transcript());
    assert_eq!(
        format!("{:?}", bytewise.events),
        format!("{:?}", whole.events)
    );
}

#[test]
fn replies_split_at_uneven_boundaries_give_the_same_session() {
    fn uneven(s: &mut Script, text: &str) {
        let bytes = text.as_bytes();
        let mut at = 0;
        for size in [3, 1, 7, 2, 5, 11].into_iter().cycle() {
            if at >= bytes.len() {
                break;
            }
            let end = (at + size).min(bytes.len());
            s.server_bytes(&bytes[at..end]);
            at = end;
        }
    }
    let whole = happy_path_with(Script::server);
    let split = happy_path_with(uneven);
    split.assert_ok();
    assert_eq!(split.wire, whole.wire);
    assert_eq!(format!("{:?}", split.events), format!("{:?}", whole.events));
}

// ----- AUTH -----

#[test]
fn auth_login_answers_both_challenges_and_redacts_them() {
    let (user64, pass64) = sasl::login_responses(&password()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH LOGIN"]), ["AUTH LOGIN"]);
    s.server("334 VXNlcm5hbWU6\r\n");
    assert_eq!(s.client_lines(), [user64]);
    s.server("334 UGFzc3dvcmQ6\r\n");
    assert_eq!(s.client_lines(), std::slice::from_ref(&pass64));
    s.server("235 2.7.0 Accepted\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);

    let sent = s.texts(Direction::Sent);
    let auth = sent.iter().position(|t| t == "AUTH LOGIN").unwrap();
    assert_eq!(sent[auth + 1], "<redacted>");
    assert_eq!(sent[auth + 2], "<redacted>");
    let notes = s.texts(Direction::Note);
    assert!(notes.contains(&"challenge decoded: Username:".to_string()));
    assert!(notes.contains(&"challenge decoded: Password:".to_string()));
    for event in s.transcript() {
        for secret in password().sensitive_strings() {
            assert!(!event.text.contains(&secret), "{event:?}");
        }
        assert!(!event.text.contains(&pass64));
    }

    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().auth, Some(Mechanism::Login));
}

#[test]
fn xoauth2_failure_sends_an_empty_line_then_fails_at_auth() {
    let xoauth = sasl::xoauth2_response(&token()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(token()),
        ..config()
    });
    assert_eq!(
        after_starttls(&mut s, &["AUTH PLAIN LOGIN XOAUTH2"]),
        [format!("AUTH XOAUTH2 {xoauth}")]
    );
    // {"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}
    s.server("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n");
    assert_eq!(s.client_lines(), [""]);
    s.server("535 5.7.8 Username and Password not accepted\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);

    let error = s.error();
    assert!(
        matches!(&error, SessionError::Rejected { stage: Stage::Auth, reply } if reply.code == ReplyCode(535)),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 28);
    assert_eq!(s.report().auth, None);
    let sent = s.texts(Direction::Sent);
    assert!(sent.contains(&"AUTH XOAUTH2 <redacted>".to_string()));
    assert!(sent.contains(&"<redacted>".to_string()));
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains(r#""status":"401""#))
    );
    for event in s.transcript() {
        for secret in token().sensitive_strings() {
            assert!(!event.text.contains(&secret), "{event:?}");
        }
    }
}

#[test]
fn auth_refused_fails_at_auth_after_quit() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]).len(), 1);
    s.server("535 5.7.8 Authentication credentials invalid\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.assert_running();
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Auth,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 28);
}

#[test]
fn auto_prefers_plain_over_login() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH LOGIN CRAM-MD5 PLAIN"]);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("AUTH PLAIN "), "{lines:?}");
}

#[test]
fn auto_with_a_token_picks_xoauth2() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(token()),
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN LOGIN XOAUTH2"]);
    assert!(lines[0].starts_with("AUTH XOAUTH2 "), "{lines:?}");
    s.server("235 2.7.0 Accepted\r\n");
    assert_eq!(s.session.report.auth, Some(Mechanism::XOAuth2));
}

#[test]
fn no_common_mechanism_is_missing_at_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH CRAM-MD5 GSSAPI"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Auth,
            what,
        } => assert!(what.to_string().contains("CRAM-MD5, GSSAPI"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 28);
    assert!(!s.all_client_lines().iter().any(|l| l.starts_with("AUTH")));
}

#[test]
fn credentials_without_auth_offered_is_missing_at_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["SIZE 1000", "8BITMIME"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Auth,
            what,
        } => assert!(what.to_string().contains("does not offer AUTH"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 28);
}

#[test]
fn forced_mechanism_is_used_even_when_not_listed() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Login, password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["AUTH LOGIN"]);
}

#[test]
fn forced_plain_with_a_token_fails_before_sending_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Plain, token()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Auth(sasl::SaslError::WrongSecret { .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 28);
}

#[test]
fn forced_unsupported_mechanism_fails_before_sending_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Other("CRAM-MD5".into()), password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH CRAM-MD5"]), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Auth(sasl::SaslError::Unsupported(_))
    ));
}

#[test]

fn forced_login_with_a_token_fails_before_sending_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Login, token()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH LOGIN"]), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Auth(sasl::SaslError::WrongSecret { .. })
    ));
}

// ----- TLS policy -----

#[test]
fn starttls_required_but_not_offered_sends_only_ehlo_and_quit() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["AUTH PLAIN LOGIN", "SIZE 1000"]),
        ["QUIT"]
    );
    s.server(BYE);
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Missing {
                stage: Stage::Tls,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 29);
    assert_eq!(s.all_client_lines(), [EHLO_LINE, "QUIT"]);
}

#[test]
fn starttls_refused_when_required_fails_at_tls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("454 4.7.0 TLS not available due to temporary reason\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Tls,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 29);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
}

#[test]
fn tls_handshake_failure_fails_at_tls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    s.session
        .handle_tls_failed(s.now, "invalid peer certificate: UnknownIssuer".into());
    s.pump();
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Tls { stage: Stage::Tls, detail, .. } if detail.contains("UnknownIssuer")
    ));
    assert_eq!(error.exit_status(), 29);
    assert!(
        s.client_lines().is_empty(),
        "no QUIT on a broken connection"
    );
}

#[test]
fn opportunistic_uses_starttls_when_offered() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN"]);
    assert!(lines[0].starts_with("AUTH PLAIN "), "{lines:?}");
}

#[test]
fn opportunistic_without_starttls_refuses_auth_in_clear() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["AUTH PLAIN LOGIN"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Auth,
            what,
        } => assert!(what.to_string().contains("unencrypted"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 28);
    assert_eq!(s.all_client_lines(), [EHLO_LINE, "QUIT"]);
    for event in s.transcript() {
        for secret in password().sensitive_strings() {
            assert!(!event.text.contains(&secret));
        }
    }
}

#[test]
fn opportunistic_without_starttls_or_credentials_sends_in_clear_with_a_warning() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 1000"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
    let warnings = s.texts(Direction::Error);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("WITHOUT encryption"), "{warnings:?}");
    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.tls, None);
    assert_eq!(report.capabilities_before_tls, None);
    assert!(s.transcript().iter().all(|t| !t.secure));
}

#[test]
fn opportunistic_starttls_refused_goes_on_in_clear() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("454 4.7.0 TLS not available\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);
    assert!(
        s.texts(Direction::Error)
            .iter()
            .any(|w| w.contains("STARTTLS refused") && w.contains("WITHOUT encryption"))
    );
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
}

#[test]
fn opportunistic_starttls_refused_still_refuses_auth_in_clear() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]),
        ["STARTTLS"]
    );
    s.server("454 4.7.0 TLS not available\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Missing {
            stage: Stage::Auth,
            ..
        }
    ));
    assert!(!s.all_client_lines().iter().any(|l| l.starts_with("AUTH")));
}

#[test]
fn tls_none_with_credentials_sends_auth_with_a_loud_warning() {
    let plain = sasl::plain_response(&password()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::None,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]),
        [format!("AUTH PLAIN {plain}")],
        "STARTTLS is not used with --tls none, even when offered"
    );
    let transcript = s.transcript();
    let warning = transcript
        .iter()
        .position(|t| t.direction == Direction::Error)
        .expect("a warning");
    assert!(transcript[warning].text.contains("clear text"));
    assert!(transcript[warning].text.contains("login"));
    let auth = transcript
        .iter()
        .position(|t| t.text == "AUTH PLAIN <redacted>")
        .unwrap();
    assert!(warning < auth, "the warning comes before the AUTH");
    assert!(!transcript[auth].secure);
}

#[test]
fn implicit_tls_is_secure_from_the_first_byte() {
    let mut s = Script::new(SessionConfig {
        tls: TlsMode::Implicit,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    s.session.handle_connected(s.now, Some(tls_info()));
    s.pump();
    let lines = after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]);
    assert!(
        lines[0].starts_with("AUTH PLAIN "),
        "no STARTTLS inside TLS"
    );
    assert!(
        s.transcript()
            .iter()
            .filter(|t| matches!(t.direction, Direction::Sent | Direction::Received))
            .all(|t| t.secure)
    );
    assert_eq!(s.session.report.tls, Some(tls_info()));
}

#[test]
fn data_injected_after_the_starttls_220_is_a_protocol_error() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("220 go ahead\r\n250 injected\r\n");
    let error = s.error();
    match &error {
        SessionError::Protocol {
            stage: Stage::Tls,
            detail,
        } => assert!(detail.contains("injected"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 29);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
    assert!(
        s.client_lines().is_empty(),
        "the connection is just dropped"
    );
    // A handshake result arriving anyway changes nothing.
    s.tls_established();
    assert!(s.client_lines().is_empty());
    assert!(s.finished().is_some());
}

#[test]
fn even_a_partial_line_after_the_starttls_220_is_rejected() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("220 go ahead\r\n250-AUTH PL");
    assert!(matches!(
        s.error(),
        SessionError::Protocol {
            stage: Stage::Tls,
            ..
        }
    ));
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
}

#[test]

fn clear_text_received_while_awaiting_the_handshake_is_rejected() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 1);
    // Injected in clear text, in a separate read, before the handshake.
    s.server("250-mx.evil.example\r\n250-AUTH PLAIN\r\n");
    s.tls_established();
    let _ = s.client_lines();
    s.server(&ehlo(&["AUTH LOGIN"]));
    // The AUTH PLAIN the attacker announced must not reach the capabilities.
    assert!(
        matches!(
            s.finished(),
            Some((
                _,
                Err(SessionError::Protocol {
                    stage: Stage::Tls,
                    ..
                })
            ))
        ),
        "capabilities after TLS: {:?}",
        s.session.report.capabilities
    );
}

#[test]
fn nothing_is_awaited_during_the_handshake() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        timeouts: Timeouts::uniform(secs(5)),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
    s.server(STARTTLS_GO);
    assert_eq!(s.session.poll_timeout(), None);
    s.advance(secs(60));
    s.assert_running();
    s.tls_established();
    assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
}

// ----- EHLO and HELO -----

#[test]
fn ehlo_refused_falls_back_to_helo() {
    let mut s = Script::start(config());
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server("502 5.5.2 Command not recognized\r\n");
    assert_eq!(s.client_lines(), ["HELO client.example.org"]);
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains("trying HELO"))
    );
    s.server("250 mx.example.org\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);
    let caps = s.report_capabilities();
    assert_eq!(caps.server_name, "mx.example.org");
    assert!(caps.extensions.is_empty());
}

#[test]
fn helo_refused_fails_at_ehlo() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server("500 5.5.1 Unrecognized command\r\n");
    assert_eq!(
        s.client_lines(),
        [EHLO_LINE.to_string(), "HELO client.example.org".into()]
    );
    s.server("550 5.7.1 Go away\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Ehlo, reply } if reply.code == ReplyCode(550)
    ));
    assert_eq!(error.exit_status(), 22);
}

#[test]
fn ehlo_temporary_failure_does_not_fall_back() {
    let mut s = Script::start(config());
    s.server(GREETING);
    let _ = s.client_lines();
    s.server("451 4.3.0 Try again later\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.error().exit_status(), 22);
}

#[test]
fn helo_without_starttls_fails_when_tls_is_required() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    s.server(GREETING);
    s.server("502 5.5.2 EHLO not supported\r\n");
    s.server("250 mx.example.org\r\n");
    assert_eq!(
        s.all_client_lines(),
        [EHLO_LINE, "HELO client.example.org", "QUIT"]
    );
}

#[test]
fn ehlo_refused_after_starttls_fails_at_tls_ehlo() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    s.tls_established();
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server("554 5.7.0 Too many errors\r\n");
    assert_eq!(s.client_lines(), ["QUIT"], "no HELO fallback inside TLS");
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::TlsEhlo,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 32);
}

// ----- the greeting -----

#[test]
fn greeting_554_is_rejected_at_greeting() {
    let mut s = Script::start(config());
    s.server("554 5.7.1 No SMTP service here\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Greeting, reply } if reply.code == ReplyCode(554)
    ));
    assert_eq!(error.exit_status(), 21);
    assert_eq!(
        s.report().greeting.unwrap().first_line(),
        "5.7.1 No SMTP service here"
    );
}

#[test]
fn multi_line_greeting_is_accepted() {
    let mut s = Script::start(config());
    s.server("220-mx.example.org ESMTP\r\n220-No UCE\r\n220 Ready\r\n");
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    assert_eq!(
        s.session.report.greeting.as_ref().unwrap().lines,
        ["mx.example.org ESMTP", "No UCE", "Ready"]
    );
}

/// Feeds `input` as the greeting and returns the protocol error's detail.
fn greeting_protocol_error(input: &[u8]) -> String {
    let mut s = Script::start(config());
    s.server_bytes(input);
    let error = s.error();
    assert_eq!(error.exit_status(), 21, "{error:?}");
    assert!(
        s.client_lines().is_empty(),
        "no QUIT to a server that broke the protocol"
    );
    assert!(error.to_string().contains("during greeting"), "{error}");
    match error {
        SessionError::Protocol {
            stage: Stage::Greeting,
            detail,
        } => detail,
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"SSH-2.0-OpenSSH_9.6\r\n");
    assert!(detail.contains("not an SMTP reply"), "{detail}");
    assert!(detail.contains("SSH-2.0"), "{detail}");
}

#[test]
fn bare_lf_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"220 mx.example.org ready\n");
    assert!(detail.contains("bare LF"), "{detail}");
}

#[test]
fn nul_in_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"220 mx.example\0org\r\n");
    assert!(detail.contains("NUL"), "{detail}");
}

#[test]
fn mixed_code_multi_line_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"220-mx.example.org\r\n250 ready\r\n");
    assert!(detail.contains("mixed codes (220 then 250)"), "{detail}");
}

#[test]
fn endless_greeting_line_is_a_protocol_error() {
    let mut line = b"220 ".to_vec();
    line.resize(MAX_LINE_LEN + 1, b'x');
    let detail = greeting_protocol_error(&line);
    assert!(detail.contains("longer than"), "{detail}");
}

#[test]
fn endless_greeting_line_fed_in_pieces_is_a_protocol_error() {
    let mut s = Script::start(config());
    s.server("220 ");
    let chunk = "x".repeat(16 * 1024);
    for _ in 0..7 {
        s.server(&chunk);
    }
    assert!(matches!(
        s.error(),
        SessionError::Protocol {
            stage: Stage::Greeting,
            ..
        }
    ));
}

#[test]
fn garbage_in_the_ehlo_reply_names_the_ehlo_stage() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server("250-mx.example.org\r\nhello?\r\n");
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Protocol {
                stage: Stage::Ehlo,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 22);
}

#[test]
fn a_reply_nobody_asked_for_is_a_protocol_error() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server(&ehlo(&[]));
    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    // While the client streams the message the server should be silent.
    s.server("250 what?\r\n");
    let error = s.error();
    match &error {
        SessionError::Protocol {
            stage: Stage::Message,
            detail,
        } => assert!(detail.contains("nobody asked for"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

// ----- 421 -----

#[test]
fn reply_421_to_rcpt_fails_at_once_without_quit() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{BOB}>")]);
    s.server("421 4.7.0 mx.example.org closing connection\r\n");
    assert!(s.client_lines().is_empty(), "no QUIT after 421");
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Rcpt, reply } if reply.code == ReplyCode(421)
    ));
    assert_eq!(error.exit_status(), 24);
}

#[test]
fn greeting_421_fails_without_quit() {
    let mut s = Script::start(config());
    s.server("421 4.3.2 Service not available\r\n");
    assert!(s.client_lines().is_empty());
    assert_eq!(s.error().exit_status(), 21);
}

#[test]
fn unsolicited_421_during_the_body_fails_at_once() {
    let mut s = at_body(config());
    s.session
        .push_body(s.now, b"Subject: x\r\n\r\nhalf a message");
    s.pump();
    s.server("421 4.4.2 Timeout, closing connection\r\n");
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Message, reply } if reply.code == ReplyCode(421)
    ));
    assert_eq!(error.exit_status(), 26);
    // The data already pushed went out; nothing after it, no final dot, no QUIT.
    s.session.push_body(s.now, b"more\r\n");
    s.session.end_body(s.now);
    s.pump();
    let wire = String::from_utf8(s.wire.clone()).unwrap();
    assert!(wire.ends_with("half a message"), "{wire:?}");
}

#[test]
fn unsolicited_421_while_awaiting_the_handshake_fails() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    // Anything in clear text between the 220 and the handshake is refused,
    // even a 421: it could have been injected.
    s.server("421 4.7.0 Bye\r\n");
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Protocol {
            stage: Stage::Tls,
            ..
        }
    ));
    s.tls_established();
    assert!(s.client_lines().is_empty());
}

#[test]
fn reply_421_to_quit_is_still_success() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.server(QUEUED);
    assert_eq!(s.client_lines().last().unwrap(), "QUIT");
    s.server("421 4.4.2 closing\r\n");
    s.assert_ok();
}

// ----- MAIL, RCPT, DATA -----

#[test]
fn mail_refused_fails_at_mail() {
    let mut s = at_mail(config(), &[]);
    s.server("550 5.7.1 Sender rejected\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Mail,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 23);
    assert!(!s.all_client_lines().iter().any(|l| l.starts_with("RCPT")));
}

#[test]
fn all_recipients_refused_resets_then_quits() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            ..config()
        },
        &[],
    );
    s.server(OK);
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{BOB}>")]);
    s.server("550 5.1.1 <bob@example.org>: User unknown\r\n");
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{CAROL}>")]);
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    assert_eq!(s.client_lines(), ["RSET"]);
    s.assert_running();
    s.server(OK);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::RecipientsRefused {
            refused, accepted, ..
        } => {
            assert_eq!(*accepted, 0);
            let addresses: Vec<&str> = refused.iter().map(|r| r.address.as_str()).collect();
            assert_eq!(addresses, [BOB, CAROL]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 24);
    assert!(error.to_string().starts_with("every recipient was refused"));
    let report = s.report();
    assert_eq!(report.refused.len(), 2);
    assert!(report.delivered.is_empty());
    assert!(!s.all_client_lines().contains(&"DATA".to_string()));
}

#[test]
fn one_refused_recipient_without_allow_partial_sends_nothing() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server(OK);
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    assert_eq!(
        s.client_lines(),
        [
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "RSET".into()
        ]
    );
    s.server(OK);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::RecipientsRefused {
            refused, accepted, ..
        } => {
            assert_eq!(*accepted, 1);
            assert_eq!(refused.len(), 1);
            assert_eq!(refused[0].address, CAROL);
            assert_eq!(refused[0].reply.code, ReplyCode(550));
            assert_eq!(
                refused[0].reply.message(),
                "<carol@example.org>: User unknown"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 24);
    let text = error.to_string();
    assert!(
        text.contains("<carol@example.org>: 550 <carol@example.org>: User unknown"),
        "{text}"
    );
    assert_eq!(error.remedy(), Some(crate::smtp::Remedy::AllowPartial));
    assert!(!s.all_client_lines().contains(&"DATA".to_string()));
    assert!(s.report().delivered.is_empty());
}

#[test]
fn one_refused_recipient_with_allow_partial_delivers_to_the_rest() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            allow_partial: true,
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server(OK);
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    assert_eq!(
        s.client_lines(),
        [
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "DATA".into()
        ]
    );
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains("partial delivery allowed"))
    );
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB]);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].address, CAROL);
}

#[test]
fn too_many_recipients_splits_into_two_transactions() {
    let mut s = at_mail(
        SessionConfig {
            job: Job::Send(Envelope {
                size: Some(BODY.len() as u64),
                ..envelope(&[BOB, CAROL, "dave@example.org"])
            }),
            ..config()
        },
        &["SIZE 10000000"],
    );
    s.server(OK);
    s.server(OK); // bob
    s.server("452 4.5.3 Too many recipients\r\n"); // carol
    assert_eq!(
        s.client_lines(),
        [
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "DATA".into()
        ]
    );
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains("the other 2 follow in another transaction"))
    );
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    let _ = s.client_lines();
    s.server(QUEUED);
    assert_eq!(
        s.client_lines(),
        [format!("MAIL FROM:<{FROM}> SIZE={}", BODY.len())]
    );
    s.server(OK);
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{CAROL}>")]);
    s.server(OK);
    assert_eq!(s.client_lines(), ["RCPT TO:<dave@example.org>"]);
    s.server(OK);
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 2);
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().unwrap(), ".");
    s.server("250 2.0.0 Ok: queued as 4F2A2\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL, "dave@example.org"]);
    assert!(report.refused.is_empty());
    assert_eq!(
        report.final_reply.unwrap().first_line(),
        "2.0.0 Ok: queued as 4F2A2"
    );
    assert_eq!(report.message_bytes, BODY.len() as u64);
}

#[test]
fn refusal_after_a_delivered_first_transaction_does_not_claim_nothing_was_sent() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL, "dave@example.org"]),
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server(OK); // bob
    s.server("452 4.5.3 Too many recipients\r\n"); // carol, deferred
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED); // delivered to bob
    s.server(OK); // MAIL again
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    s.server(OK); // dave
    assert_eq!(s.all_client_lines().last().unwrap(), "RSET");
    s.server(OK);
    s.server(BYE);
    let (report, result) = s.finished().unwrap();
    assert_eq!(report.delivered, [BOB]);
    let text = result.unwrap_err().to_string();
    assert!(!text.contains("nothing was sent"), "{text}");
}

#[test]
fn too_many_recipients_for_the_first_one_is_a_refusal() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    s.server("452 4.5.3 Too many recipients\r\n");
    assert_eq!(
        s.client_lines(),
        [format!("RCPT TO:<{BOB}>"), "RSET".into()]
    );
    s.server(OK);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::RecipientsRefused { accepted: 0, .. }
    ));
}

#[test]
fn data_refused_fails_at_data() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    s.server(OK);
    assert_eq!(s.client_lines().last().unwrap(), "DATA");
    s.server("554 5.5.1 No valid recipients\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Data,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 25);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);
}

#[test]
fn final_dot_refused_fails_at_message() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().unwrap(), ".");
    s.server("554 5.7.1 Message rejected as spam\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Message, reply } if reply.code == ReplyCode(554)
    ));
    assert_eq!(error.exit_status(), 26);
    let report = s.report();
    assert!(report.delivered.is_empty());
    assert_eq!(report.final_reply, None);
}

#[test]
fn eof_after_the_dot_is_delivery_unknown() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    let _ = s.client_lines();
    s.eof();
    let error = s.error();
    match &error {
        SessionError::DeliveryUnknown { reason } => {
            assert_eq!(reason, "the connection closed")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 26);
    assert!(
        s.client_lines().is_empty(),
        "no QUIT on a closed connection"
    );
}

#[test]
fn io_error_after_the_dot_is_delivery_unknown_with_its_detail() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.session
        .handle_io_error(s.now, "connection reset by peer".into());
    s.pump();
    assert_eq!(
        s.error(),
        SessionError::DeliveryUnknown {
            reason: "connection reset by peer".into()
        }
    );
}

#[test]
fn timeout_after_the_dot_is_delivery_unknown() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.advance(secs(601));
    let error = s.error();
    match &error {
        SessionError::DeliveryUnknown { reason } => {
            assert_eq!(reason, "no reply within 600 s")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 26);
}

// ----- timeouts -----

#[test]
fn greeting_waits_300_seconds_by_default() {
    let mut s = Script::start(config());
    assert_eq!(s.session.poll_timeout(), Some(s.t0 + secs(300)));
    s.advance(secs(300) - ms(1));
    s.assert_running();
    s.advance(ms(2));
    let error = s.error();
    assert_eq!(
        error,
        SessionError::Timeout {
            stage: Stage::Greeting,
            after: secs(300)
        }
    );
    assert_eq!(error.exit_status(), 21);
    assert!(s.client_lines().is_empty());
}

#[test]
fn the_greeting_wait_starts_at_the_connect() {
    let mut s = Script::new(config());
    assert_eq!(
        s.session.poll_timeout(),
        None,
        "nothing awaited before connect"
    );
    s.tick(secs(20));
    s.connected();
    assert_eq!(s.session.poll_timeout(), Some(s.t0 + secs(320)));
}

#[test]
fn the_deadline_is_inclusive() {
    let mut s = Script::start(config());
    s.advance(secs(300));
    assert!(matches!(s.error(), SessionError::Timeout { .. }));
}

#[test]
fn the_reply_to_the_dot_waits_600_seconds_by_default() {
    let mut s = at_body(config());
    s.tick(secs(7));
    s.body(&[BODY]);
    let sent_at = s.now;
    assert_eq!(s.session.poll_timeout(), Some(sent_at + secs(600)));
    s.advance(secs(599));
    s.assert_running();
    s.advance(secs(2));
    assert!(matches!(s.error(), SessionError::DeliveryUnknown { .. }));
}

#[test]
fn each_wait_uses_its_own_limit() {
    let timeouts = Timeouts {
        connect: secs(1),
        greeting: secs(11),
        command: secs(12),
        mail: secs(13),
        rcpt: secs(14),
        data_init: secs(15),
        data_block: secs(16),
        data_end: secs(17),
    };
    let mut s = Script::start(SessionConfig {
        timeouts,
        ..config()
    });
    let deadline = |s: &Script| s.session.poll_timeout().map(|d| d - s.now);
    assert_eq!(deadline(&s), Some(secs(11)), "greeting");
    s.tick(secs(1));
    s.server(GREETING);
    assert_eq!(deadline(&s), Some(secs(12)), "EHLO");
    s.tick(secs(1));
    s.server(&ehlo(&[]));
    assert_eq!(deadline(&s), Some(secs(13)), "MAIL");
    s.tick(secs(1));
    s.server(OK);
    assert_eq!(deadline(&s), Some(secs(14)), "RCPT");
    s.tick(secs(1));
    s.server(OK);
    assert_eq!(deadline(&s), Some(secs(15)), "DATA");
    s.tick(secs(1));
    s.server(GO_AHEAD);
    assert_eq!(deadline(&s), None, "the body is written, not awaited");
    s.tick(secs(1));
    s.body(&[BODY]);
    assert_eq!(deadline(&s), Some(secs(17)), "the final dot");
    s.tick(secs(1));
    s.server(QUEUED);
    assert_eq!(deadline(&s), Some(secs(12)), "QUIT");
    s.server(BYE);
    assert_eq!(deadline(&s), None);
    s.assert_ok();
}

#[test]
fn every_wait_times_out_in_its_own_stage() {
    let expected = [
        Stage::Greeting,
        Stage::Ehlo,
        Stage::Tls,
        Stage::TlsEhlo,
        Stage::Auth,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Rcpt,
        Stage::Data,
    ];
    for (replies, stage) in expected.iter().enumerate() {
        let mut s = Script::start(SessionConfig {
            timeouts: Timeouts::uniform(secs(5)),
            ..happy_config()
        });
        play(&mut s, &HAPPY_SERVER[..replies], Script::server);
        assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
        s.advance(ms(4_999));
        s.assert_running();
        s.advance(ms(2));
        assert_eq!(
            s.error(),
            SessionError::Timeout {
                stage: *stage,
                after: secs(5)
            },
            "after {replies} replies"
        );
        assert_eq!(s.error().exit_status(), stage.exit_status());
    }
}

#[test]
fn a_timeout_after_the_dot_with_uniform_limits_is_delivery_unknown() {
    let mut s = Script::start(SessionConfig {
        timeouts: Timeouts::uniform(secs(5)),
        ..happy_config()
    });
    play(&mut s, &HAPPY_SERVER[..9], Script::server);
    assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
    s.advance(secs(6));
    assert_eq!(
        s.error(),
        SessionError::DeliveryUnknown {
            reason: "no reply within 5 s".into()
        }
    );
}

#[test]
fn no_reply_to_quit_is_still_success() {
    let mut s = Script::start(SessionConfig {
        timeouts: Timeouts::uniform(secs(5)),
        ..happy_config()
    });
    play(&mut s, &HAPPY_SERVER[..10], Script::server);
    assert_eq!(s.all_client_lines().last().unwrap(), "QUIT");
    s.advance(secs(6));
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL]);
    assert!(
        s.texts(Direction::Note)
            .contains(&"no reply to QUIT; closing".to_string())
    );
}

#[test]
fn no_reply_to_quit_after_a_refusal_keeps_the_refusal() {
    let mut s = at_mail(
        SessionConfig {
            timeouts: Timeouts::uniform(secs(5)),
            ..config()
        },
        &[],
    );
    s.server("550 5.7.1 Sender rejected\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.advance(secs(6));
    assert_eq!(s.error().exit_status(), 23);
}

#[test]
fn timeouts_before_the_deadline_do_nothing() {
    let mut s = Script::start(config());
    for _ in 0..299 {
        s.advance(secs(1));
    }
    s.assert_running();
    assert!(s.texts(Direction::Error).is_empty());
}

// ----- MAIL FROM parameters -----

fn sized(size: u64) -> SessionConfig {
    SessionConfig {
        job: Job::Send(Envelope {
            size: Some(size),
            ..envelope(&[BOB])
        }),
        ..config()
    }
}

#[test]
fn message_larger_than_size_fails_before_mail() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(after_ehlo(&mut s, &["SIZE 1000"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert_eq!(
        error,
        SessionError::TooLarge {
            size: 5_000,
            limit: 1_000
        }
    );
    assert_eq!(error.exit_status(), 23);
    assert_eq!(s.all_client_lines(), [EHLO_LINE, "QUIT"]);
}

#[test]
fn size_is_declared_when_announced() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 10000"]),
        [format!("MAIL FROM:<{FROM}> SIZE=5000")]
    );
}

#[test]
fn size_is_declared_when_announced_without_a_limit() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(
        after_ehlo(&mut s, &["SIZE"]),
        [format!("MAIL FROM:<{FROM}> SIZE=5000")]
    );
}

#[test]
fn size_is_not_declared_when_not_announced() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(
        after_ehlo(&mut s, &["8BITMIME"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

#[test]
fn unknown_size_is_not_declared() {
    let mut s = Script::start(config());
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 1000"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

fn eight_bit(eight_bit: bool) -> SessionConfig {
    SessionConfig {
        job: Job::Send(Envelope {
            eight_bit,
            ..envelope(&[BOB])
        }),
        ..config()
    }
}

#[test]
fn body_8bitmime_when_eight_bit_and_announced() {
    let mut s = Script::start(eight_bit(true));
    assert_eq!(
        after_ehlo(&mut s, &["8BITMIME"]),
        [format!("MAIL FROM:<{FROM}> BODY=8BITMIME")]
    );
}

#[test]
fn no_body_param_when_not_announced() {
    let mut s = Script::start(eight_bit(true));
    assert_eq!(
        after_ehlo(&mut s, &["SIZE"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

#[test]
fn no_body_param_for_seven_bit_messages() {
    let mut s = Script::start(eight_bit(false));
    assert_eq!(
        after_ehlo(&mut s, &["8BITMIME"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

#[test]
fn all_parameters_together_in_order() {
    let mut s = Script::start(SessionConfig {
        job: Job::Send(Envelope {
            size: Some(1234),
            eight_bit: true,
            ..envelope(&["josé@example.org"])
        }),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 10000", "8BITMIME", "SMTPUTF8"]),
        [format!(
            "MAIL FROM:<{FROM}> SIZE=1234 BODY=8BITMIME SMTPUTF8"
        )]
    );
}

#[test]
fn smtputf8_declared_for_a_non_ascii_recipient() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&["josé@example.org"]),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SMTPUTF8"]),
        [format!("MAIL FROM:<{FROM}> SMTPUTF8")]
    );
    s.server(OK);
    assert_eq!(s.client_lines(), ["RCPT TO:<josé@example.org>"]);
}

#[test]
fn smtputf8_declared_for_a_non_ascii_sender() {
    let mut s = Script::start(SessionConfig {
        job: Job::Send(Envelope {
            from: "zoë@example.org".into(),
            ..envelope(&[BOB])
        }),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SMTPUTF8"]),
        ["MAIL FROM:<zoë@example.org> SMTPUTF8"]
    );
}

#[test]
fn non_ascii_address_without_smtputf8_is_missing_at_mail() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, "josé@example.org"]),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["8BITMIME"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Mail,
            what,
        } => assert!(what.to_string().contains("SMTPUTF8"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 23);
}

#[test]
fn null_sender_is_sent_as_empty_path() {
    let mut s = Script::start(SessionConfig {
        job: Job::Send(Envelope {
            from: String::new(),
            ..envelope(&[BOB])
        }),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &[]), ["MAIL FROM:<>"]);
}

// ----- cancel, EOF, and the session staying finished -----

#[test]
fn cancel_during_rcpt_stops_everything() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    let _ = s.client_lines();
    s.cancel();
    let error = s.error();
    assert_eq!(error, SessionError::Cancelled { stage: Stage::Rcpt });
    assert_eq!(error.exit_status(), 130);
    assert!(s.client_lines().is_empty());
    let events = s.events.len();
    s.server(OK);
    s.advance(secs(3600));
    s.eof();
    s.cancel();
    assert_eq!(s.events.len(), events, "no events after Finished");
    assert!(s.client_lines().is_empty());
}

#[test]
fn cancel_before_the_greeting() {
    let mut s = Script::start(config());
    s.cancel();
    assert_eq!(
        s.error(),
        SessionError::Cancelled {
            stage: Stage::Greeting
        }
    );
}

#[test]
fn cancel_during_the_body() {
    let mut s = at_body(config());
    s.session.push_body(s.now, b"partial");
    s.cancel();
    assert_eq!(
        s.error(),
        SessionError::Cancelled {
            stage: Stage::Message
        }
    );
    s.session.push_body(s.now, b"more");
    s.session.end_body(s.now);
    s.pump();
    assert!(!s.wire.ends_with(b".\r\n"), "no final dot after cancel");
}

#[test]
fn cancel_after_the_final_dot_means_delivery_unknown() {
    let mut s = at_body(config());
    s.body(&[b"Subject: x\r\n\r\nhello\r\n"]);
    s.cancel();
    let error = s.error();
    assert!(
        matches!(error, SessionError::DeliveryUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 26);
}

#[test]
fn cancel_while_closing_after_delivery_is_still_a_delivery() {
    let mut s = at_body(config());
    s.body(&[b"Subject: x\r\n\r\nhello\r\n"]);
    s.server("250 2.0.0 Ok: queued as 7\r\n");
    assert!(s.client_lines().contains(&"QUIT".to_string()));
    s.cancel();
    let report = s.assert_ok();
    assert_eq!(report.delivered.len(), 1);
}

#[test]
fn terminal_escapes_from_the_server_are_shown_not_obeyed() {
    let mut s = Script::start(config());
    s.server("220 mx \x1b[2J\x1b[31mready\r\n");
    let received = s.texts(Direction::Received);
    assert_eq!(received, ["220 mx \\x1b[2J\\x1b[31mready"]);
}

#[test]
fn the_session_stays_finished() {
    let mut s = Script::start(config());
    s.server("554 5.7.1 Go away\r\n");
    s.server(BYE);
    let error = s.error();
    let events = s.events.len();
    let wire = s.wire.len();
    s.server(GREETING);
    s.server("garbage\r\n");
    s.eof();
    s.session.handle_io_error(s.now, "reset".into());
    s.advance(secs(10_000));
    s.cancel();
    s.tls_established();
    s.session.handle_tls_failed(s.now, "late".into());
    s.session.push_body(s.now, BODY);
    s.session.end_body(s.now);
    s.session.handle_connected(s.now, None);
    s.pump();
    assert_eq!(s.events.len(), events);
    assert_eq!(s.wire.len(), wire);
    assert_eq!(s.error(), error, "exactly one Finished, unchanged");
}

#[test]
fn eof_in_the_middle_is_connection_lost() {
    let mut s = at_mail(config(), &[]);
    s.eof();
    let error = s.error();
    assert_eq!(
        error,
        SessionError::ConnectionLost {
            stage: Stage::Mail,
            detail: None
        }
    );
    assert_eq!(error.exit_status(), 6);
    assert!(s.client_lines().is_empty());
}

#[test]
fn io_error_in_the_middle_is_connection_lost_with_detail() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.session.handle_io_error(s.now, "broken pipe".into());
    s.pump();
    let error = s.error();
    assert_eq!(
        error,
        SessionError::ConnectionLost {
            stage: Stage::Ehlo,
            detail: Some("broken pipe".into())
        }
    );
    assert_eq!(error.exit_status(), 6);
}

#[test]
fn eof_as_the_answer_to_quit_is_success() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.server(QUEUED);
    assert_eq!(s.client_lines().last().unwrap(), "QUIT");
    s.eof();
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB]);
    assert_eq!(report.timings.last().unwrap().stage, Stage::Quit);
}

#[test]
fn eof_as_the_answer_to_quit_after_a_refusal_keeps_the_refusal() {
    let mut s = at_mail(config(), &[]);
    s.server("550 5.7.1 Sender rejected\r\n");
    s.eof();
    assert!(matches!(
        s.error(),
        SessionError::Rejected {
            stage: Stage::Mail,
            ..
        }
    ));
}

#[test]
fn connect_failure_finishes_at_connect() {
    let mut s = Script::new(config());
    let error = SessionError::Connect {
        target: "mx.example.org:25".into(),
        detail: "connection refused".into(),
    };
    s.session.handle_connect_failed(s.now, error.clone());
    s.pump();
    assert_eq!(s.error(), error);
    assert_eq!(s.error().exit_status(), 2);
    assert_eq!(s.report().stage, Some(Stage::Connect));
    assert!(s.report().timings.is_empty());
}

#[test]
fn failure_is_recorded_in_the_transcript() {
    let mut s = at_mail(config(), &[]);
    s.eof();
    let errors = s.texts(Direction::Error);
    assert_eq!(
        errors.last().unwrap(),
        &s.error().to_string(),
        "the last error line says why the session stopped"
    );
}

#[test]
fn report_stage_is_the_furthest_entered() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    s.eof();
    assert_eq!(s.report().stage, Some(Stage::Rcpt));
}

// ----- a failure stored while the connection is closed politely -----

/// All recipients refused: the client has sent RSET and waits for its reply.
fn refused_then_rset(timeouts: Timeouts) -> Script {
    let mut s = at_mail(
        SessionConfig {
            timeouts,
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server("550 5.1.1 User unknown\r\n");
    assert_eq!(
        s.client_lines(),
        [format!("RCPT TO:<{BOB}>"), "RSET".into()]
    );
    s
}

#[test]
fn a_refused_rset_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::default());
    s.server("500 5.5.1 What?\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.error().exit_status(), 24);
}

#[test]

fn reply_421_to_rset_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::default());
    s.server("421 4.7.0 closing\r\n");
    let error = s.error();
    assert!(
        matches!(error, SessionError::RecipientsRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 24);
}

#[test]

fn eof_during_rset_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::default());
    s.eof();
    let error = s.error();
    assert!(
        matches!(error, SessionError::RecipientsRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 24);
}

#[test]

fn rset_timeout_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::uniform(secs(5)));
    s.advance(secs(6));
    let error = s.error();
    assert!(
        matches!(error, SessionError::RecipientsRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 24);
}

#[test]

fn garbage_reply_to_quit_keeps_the_stored_error() {
    let mut s = at_mail(config(), &[]);
    s.server("550 5.7.1 Sender rejected\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server("bye bye\r\n");
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Rejected {
                stage: Stage::Mail,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 23);
}

// ----- probe -----

#[test]
fn probe_without_credentials_never_logs_in() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        job: Job::Probe,
        ..config()
    });
    assert_eq!(
        after_starttls(&mut s, &["AUTH PLAIN LOGIN", "SIZE 35882577"]),
        ["QUIT"]
    );
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(
        s.all_client_lines(),
        [EHLO_LINE, "STARTTLS", EHLO_LINE, "QUIT"]
    );
    let caps = report.capabilities.unwrap();
    assert_eq!(caps.auth_mechanisms(), [Mechanism::Plain, Mechanism::Login]);
    assert_eq!(caps.size_limit(), Some(35_882_577));
    assert!(report.capabilities_before_tls.unwrap().has("STARTTLS"));
    assert_eq!(report.tls, Some(tls_info()));
    assert_eq!(report.auth, None);
    assert_eq!(report.final_reply, None);
    assert_eq!(
        report.timings.iter().map(|t| t.stage).collect::<Vec<_>>(),
        [
            Stage::Connect,
            Stage::Greeting,
            Stage::Ehlo,
            Stage::Tls,
            Stage::TlsEhlo,
            Stage::Quit
        ]
    );
}

#[test]
fn probe_with_credentials_logs_in_then_quits_without_mail() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        job: Job::Probe,
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN LOGIN"]);
    assert!(lines[0].starts_with("AUTH PLAIN "), "{lines:?}");
    s.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(s.client_lines(), ["QUIT"], "no MAIL FROM in a probe");
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.auth.is_some(), "the login is reported");
    assert_eq!(report.final_reply, None);

    // A refused login fails the probe at the AUTH stage.
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        job: Job::Probe,
        ..config()
    });
    let _ = after_starttls(&mut s, &["AUTH PLAIN"]);
    s.server("535 5.7.8 Authentication credentials invalid\r\n");
    let _ = s.client_lines();
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().stage(), Stage::Auth);
}

#[test]
fn probe_in_clear_text() {
    let mut s = Script::start(SessionConfig {
        job: Job::Probe,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING", "STARTTLS"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.tls, None);
    assert!(report.capabilities.unwrap().has("PIPELINING"));
}

#[test]
fn probe_requiring_tls_fails_without_starttls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        job: Job::Probe,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), ["QUIT"]);
    s.server(BYE);
    let (report, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 29);
    assert!(
        report.capabilities.unwrap().has("PIPELINING"),
        "what the server offers is reported even on failure"
    );
}

// ----- the message data -----

#[test]
fn body_chunks_are_dot_stuffed_across_boundaries() {
    let mut s = at_body(config());
    let _ = s.client_lines();
    s.body(&[
        b"Subject: dots\r\n\r\nfirst line\r",
        b"\n",
        b".starts with a dot\r\n",
        b".",
        b"\r\nbare\nfeed\n..two\r\nlast",
    ]);
    let wire = String::from_utf8(s.wire.clone()).unwrap();
    assert!(
        wire.ends_with(
            "Subject: dots\r\n\r\nfirst line\r\n..starts with a dot\r\n..\r\nbare\r\nfeed\r\n...two\r\nlast\r\n.\r\n"
        ),
        "{wire:?}"
    );
}

#[test]
fn body_progress_counts_the_bytes_taken() {
    let total = 10 + 1 + 20;
    let mut s = at_body(SessionConfig {
        job: Job::Send(Envelope {
            size: Some(total),
            ..envelope(&[BOB])
        }),
        ..config()
    });
    s.body(&[b"0123456789", b".", b"abcdefghij\r\n.klmnopq"]);
    let progress: Vec<(u64, Option<u64>)> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { sent, total } => Some((*sent, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        [(10, Some(total)), (11, Some(total)), (total, Some(total))]
    );
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().message_bytes, total);
}

#[test]
fn body_progress_without_a_known_size() {
    let mut s = at_body(config());
    s.body(&[b"abc"]);
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::Progress {
            sent: 3,
            total: None
        }
    )));
}

#[test]
fn body_summary_groups_digits() {
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    body.resize(1_234_567, b'x');
    let mut s = at_body(config());
    s.body(&[&body[..1000], &body[1000..]]);
    let sent = s.texts(Direction::Sent);
    assert!(
        sent.contains(&"… 1 234 567 bytes of message data …".to_string()),
        "{sent:?}"
    );
    assert_eq!(sent.last().unwrap(), ".");
    assert_eq!(
        format!("… {} bytes of message data …", group_digits(1_234_567)),
        "… 1 234 567 bytes of message data …"
    );
    assert!(
        sent.iter().all(|t| !t.contains("xxxx")),
        "the data itself stays out of the transcript"
    );
}

#[test]
fn empty_body_is_just_the_dot() {
    let mut s = at_body(config());
    let _ = s.client_lines();
    s.body(&[]);
    assert_eq!(s.client_lines(), ["."]);
    assert!(
        s.texts(Direction::Sent)
            .contains(&"… 0 bytes of message data …".to_string())
    );
}

#[test]
fn body_before_354_is_ignored() {
    let mut s = at_mail(config(), &[]);
    let wire = s.wire.len();
    s.session.push_body(s.now, b"too early");
    s.session.end_body(s.now);
    s.pump();
    assert_eq!(s.wire.len(), wire);
    assert_eq!(s.count(|e| matches!(e, Event::Progress { .. })), 0);
    s.assert_running();
}

#[test]
fn group_digits_inserts_a_space_every_three_digits() {
    assert_eq!(group_digits(0), "0");
    assert_eq!(group_digits(7), "7");
    assert_eq!(group_digits(999), "999");
    assert_eq!(group_digits(1_000), "1 000");
    assert_eq!(group_digits(12_345), "12 345");
    assert_eq!(group_digits(123_456), "123 456");
    assert_eq!(group_digits(34_512_331), "34 512 331");
    assert_eq!(group_digits(u64::MAX), "18 446 744 073 709 551 615");
}

// ----- small things -----

#[test]
fn driver_notes_go_into_the_transcript() {
    let mut s = Script::new(config());
    s.session.note(s.now, "connecting to mx.example.org:25");
    s.pump();
    let t = s.transcript();
    let note = t.last().unwrap();
    assert_eq!(note.direction, Direction::Note);
    assert_eq!(note.text, "connecting to mx.example.org:25");
    assert!(!note.secure);
}

#[test]
fn stage_accessor_follows_the_session() {
    let mut s = Script::new(config());
    assert_eq!(s.session.stage(), Stage::Connect);
    s.connected();
    assert_eq!(s.session.stage(), Stage::Greeting);
    s.server(GREETING);
    assert_eq!(s.session.stage(), Stage::Ehlo);
    s.server(&ehlo(&[]));
    assert_eq!(s.session.stage(), Stage::Mail);
    assert_eq!(
        s.session.config().client_id.to_string(),
        "client.example.org"
    );
}

#[test]
fn nothing_is_sent_before_the_greeting() {
    let mut s = Script::start(config());
    s.advance(secs(10));
    assert!(s.client_lines().is_empty());
    assert!(s.wire.is_empty());
}

// ----- --quit-after -----

fn stopping(q: QuitAfter) -> SessionConfig {
    SessionConfig {
        quit_after: Some(q),
        ..config()
    }
}

#[test]
fn quit_after_connect_hangs_up_before_the_greeting() {
    let s = Script::start(stopping(QuitAfter::Connect));
    let report = s.assert_ok();
    assert!(s.all_client_lines().is_empty(), "not even QUIT");
    assert_eq!(report.stopped_after, Some(QuitAfter::Connect));
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|t| t.contains("stopping after connect as asked"))
    );
}

#[test]
fn quit_after_greeting_and_ehlo_say_quit() {
    let mut s = Script::start(stopping(QuitAfter::Greeting));
    s.server(GREETING);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.assert_ok().stopped_after, Some(QuitAfter::Greeting));

    let mut s = Script::start(stopping(QuitAfter::Ehlo));
    assert_eq!(after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.capabilities.unwrap().has("STARTTLS"));
}

#[test]
fn quit_after_tls_waits_for_the_ehlo_inside_tls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..stopping(QuitAfter::Tls)
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.tls.is_some());
    assert_eq!(report.auth, None, "no login after the stop");

    // Without TLS there is nothing to wait for: it stops where TLS would be.
    let mut s = Script::start(stopping(QuitAfter::Tls));
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), ["QUIT"]);
    s.server(BYE);
    s.assert_ok();
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|t| t.contains("no TLS was negotiated"))
    );
}

#[test]
fn quit_after_auth_logs_in_then_quits() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..stopping(QuitAfter::Auth)
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN"]);
    assert!(lines[0].starts_with("AUTH PLAIN "));
    s.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.assert_ok().auth, Some(Mechanism::Plain));
}

#[test]
fn quit_after_mail_and_rcpt_send_no_message() {
    let mut s = at_mail(stopping(QuitAfter::Mail), &[]);
    s.server(OK);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.assert_ok().stopped_after, Some(QuitAfter::Mail));

    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            ..stopping(QuitAfter::Rcpt)
        },
        &[],
    );
    s.server(OK);
    assert!(s.client_lines()[0].starts_with("RCPT TO:<bob@"));
    s.server(OK);
    assert!(s.client_lines()[0].starts_with("RCPT TO:<carol@"));
    s.server("250 2.1.5 OK\r\n");
    assert_eq!(s.client_lines(), ["QUIT"], "no DATA");
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.accepted, [BOB, CAROL]);
    assert!(report.delivered.is_empty());

    // A refused recipient is still a failure (exit 24): that is the answer
    // the check was for.
    let mut s = at_mail(stopping(QuitAfter::Rcpt), &[]);
    s.server(OK);
    let _ = s.client_lines();
    s.server("550 5.1.1 no such user\r\n");
    assert_eq!(s.client_lines(), ["RSET"]);
    s.server(OK);
    let _ = s.client_lines();
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 24);
}

#[test]
fn quit_after_data_hangs_up_without_the_message() {
    let mut s = at_mail(stopping(QuitAfter::Data), &[]);
    s.server(OK);
    let _ = s.client_lines();
    s.server(OK);
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    let report = s.assert_ok();
    assert!(s.client_lines().is_empty(), "no data, no dot, no QUIT");
    assert_eq!(report.stopped_after, Some(QuitAfter::Data));
    assert_eq!(report.message_bytes, 0);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);
}

// ----- PIPELINING (RFC 2920) -----

fn mail_line() -> String {
    format!("MAIL FROM:<{FROM}>")
}

#[test]
fn pipelining_sends_the_envelope_and_data_in_one_turn() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    // Turn 1: EHLO. Turn 2: MAIL, both RCPTs and DATA together.
    assert_eq!(
        after_ehlo(&mut s, &["PIPELINING"]),
        [
            mail_line(),
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "DATA".into()
        ]
    );
    // The replies may come in one packet.
    s.server(&format!("{OK}{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    // Turn 3: the message, the dot and QUIT together (RFC 2920 §3.1).
    let lines = s.client_lines();
    assert_eq!(lines[lines.len() - 2..], [".", "QUIT"]);
    s.server(&format!("{QUEUED}{BYE}"));
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL]);
}

#[test]
fn pipelined_refusal_hangs_up_at_the_354_and_sends_nothing() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]).len(), 4);
    s.server(OK);
    s.server(OK);
    s.server("550 5.1.1 <carol@example.org>: no such user\r\n");
    assert!(
        s.client_lines().is_empty(),
        "DATA is already out; wait for it"
    );
    s.server(GO_AHEAD);
    assert!(
        s.client_lines().is_empty(),
        "no data, no dot: the connection closes"
    );
    let (report, result) = s.finished().expect("finished at once");
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 24);
    assert!(report.delivered.is_empty());
    assert_eq!(report.refused.len(), 1);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);

    // With --allow-partial the accepted one gets it.
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        allow_partial: true,
        ..config()
    });
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!("{OK}{OK}550 5.1.1 no such user\r\n{GO_AHEAD}"));
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().map(String::as_str), Some("QUIT"));
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().delivered, [BOB]);
}

#[test]
fn pipelined_mail_refusal_reads_every_reply_then_quits() {
    let mut s = Script::start(config());
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]).len(), 3);
    s.server("550 5.7.1 sender refused\r\n");
    assert!(s.client_lines().is_empty());
    s.server("503 5.5.1 need MAIL first\r\n");
    assert!(s.client_lines().is_empty());
    s.server("503 5.5.1 need RCPT first\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 23, "{error}");
    assert!(error.to_string().contains("sender refused"), "{error}");

    // Every recipient refused: DATA is refused too, and QUIT follows.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!(
        "{OK}550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n"
    ));
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 24);
}

#[test]
fn pipelined_452_defers_the_rest_to_a_second_transaction() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!(
        "{OK}{OK}452 4.5.3 too many recipients\r\n{GO_AHEAD}"
    ));
    s.body(&[BODY]);
    assert_eq!(
        s.client_lines().last().map(String::as_str),
        Some("."),
        "no QUIT yet: Carol is still to come"
    );
    s.server(QUEUED);
    // The second transaction, pipelined again, for Carol alone.
    assert_eq!(
        s.client_lines(),
        [mail_line(), format!("RCPT TO:<{CAROL}>"), "DATA".into()]
    );
    s.server(&format!("{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().map(String::as_str), Some("QUIT"));
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().delivered, [BOB, CAROL]);
}

#[test]
fn stopping_after_rcpt_does_not_pipeline() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB]),
        ..stopping(QuitAfter::Rcpt)
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), [mail_line()]);
}

#[test]
fn a_refusal_of_the_pipelined_message_is_reported_once_quit_answers() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!("{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().map(String::as_str), Some("QUIT"));
    s.server("554 5.7.1 message refused as spam\r\n");
    assert!(s.client_lines().is_empty(), "QUIT is not said twice");
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 26);
    assert!(error.to_string().contains("spam"), "{error}");

    // The connection lost after the dot: delivery unknown, as without pipelining.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!("{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    s.eof();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );
}

// ----- CHUNKING (RFC 3030) -----

#[test]
fn chunking_sends_the_message_in_bdat_chunks_without_dots() {
    let mut s = Script::start(config());
    assert_eq!(
        after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]),
        [mail_line(), format!("RCPT TO:<{BOB}>")],
        "no DATA"
    );
    s.server(&format!("{OK}{OK}"));
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 1);
    // 150 KiB with a leading dot and bare LFs: three chunks, LAST the third.
    let mut body = b".dot stays\nline\n".to_vec();
    body.extend(std::iter::repeat_n(b'x', 150 * 1024));
    s.body(&[&body]);
    let wire = s.wire[s.read..].to_vec();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.starts_with("BDAT 65536\r\n.dot stays\r\nline\r\n"),
        "{}",
        &text[..40]
    );
    assert!(!text.contains("\r\n.\r\n"), "no final dot");
    let sent = s.texts(Direction::Sent);
    let bdats: Vec<&String> = sent.iter().filter(|t| t.starts_with("BDAT")).collect();
    assert_eq!(bdats.len(), 3, "{bdats:?}");
    assert!(bdats[2].ends_with(" LAST"), "{bdats:?}");
    let total: usize = bdats
        .iter()
        .map(|b| b.split(' ').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(
        total,
        body.len() + 2 + 2,
        "a CR for each bare LF, and a final CRLF"
    );
    assert_eq!(
        sent.last().map(String::as_str),
        Some("QUIT"),
        "pipelined after LAST"
    );
    s.read = s.wire.len();
    s.server(&format!("{OK}{OK}{QUEUED}{BYE}"));
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB]);
    assert_eq!(report.final_reply.unwrap().code.0, 250);
}

#[test]
fn a_refused_chunk_fails_the_message_and_a_refused_rcpt_sends_none() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[&vec![b'y'; 100 * 1024]]);
    s.server("552 5.3.4 message too big\r\n");
    s.server("503 5.5.1 no transaction\r\n");
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 26);
    assert!(error.to_string().contains("too big"), "{error}");

    // A refused recipient: no BDAT at all, QUIT.
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}550 5.1.1 no such user\r\n"));
    assert_eq!(s.client_lines(), ["QUIT"]);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 24);

    // A refused MAIL: QUIT after the RCPT replies.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server("550 5.7.1 sender refused\r\n");
    assert!(s.client_lines().is_empty());
    s.server("503 5.5.1 need MAIL\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 23);
}

#[test]
fn losing_the_connection_after_bdat_last_is_delivery_unknown() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[BODY]);
    s.eof();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );

    // Before LAST went out, nothing can have been delivered.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.session.push_body(s.now, &vec![b'z'; 70 * 1024]);
    s.pump();
    s.eof();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::ConnectionLost { .. })),
        "{result:?}"
    );
}

#[test]
fn chunking_without_pipelining_uses_data() {
    let mut s = Script::start(config());
    assert_eq!(after_ehlo(&mut s, &["CHUNKING"]), [mail_line()]);
}

#[test]
fn a_timeout_or_cancel_after_bdat_last_is_delivery_unknown() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[&vec![b'q'; 70 * 1024]]);
    s.server(OK); // the first chunk; LAST is still unanswered
    s.advance(secs(601));
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );

    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[BODY]);
    s.cancel();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );
}
