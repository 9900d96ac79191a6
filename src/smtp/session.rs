//! The SMTP client session as a state machine that does no I/O.
//!
//! ```text
//!   server bytes ──handle_input──▶ ┌─────────┐ ──poll_transmit──▶ client bytes
//!   end of stream ─handle_eof────▶ │ Session │ ──poll_event─────▶ transcript, stage,
//!   the clock ────handle_timeout─▶ │         │                    StartTls, NeedBody,
//!   TLS is up ──handle_tls_est…──▶ └─────────┘                    Progress, Finished
//!   message data ─push_body/end_body─▶   ▲   ◀──poll_timeout── next deadline
//! ```
//!
//! A driver ([`super::transport`]) moves bytes between the socket and the
//! session and turns [`Session::poll_timeout`] into read timeouts; it makes no
//! protocol decisions. Time is an input (`now` on every call), so every path,
//! timeouts included, is a fast unit test with a fake clock.
//!
//! Commands are queued and replies matched to them first-in first-out, so a
//! batch of pipelined commands (RFC 2920) needs no change here beyond sending
//! several before the first reply. Today one command is in flight at a time,
//! as RFC 5321 asks of a client without PIPELINING.
//!
//! Once the session has failed it stays failed: it emits one
//! [`Event::Finished`] and ignores further input.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::capability::{Capabilities, Capability};
use super::command::{ClientId, Command, MailParam};
use super::dot_stuff::DotStuffer;
use super::error::{Missing, Refusal, SessionError, Stage};
use super::reply::{Parsed, Reply, ReplyCode, ReplyParser};
use super::sasl::{self, Credentials, Mechanism};
use super::tls::TlsInfo;
use super::transcript::{Direction, TranscriptEvent};

/// How the connection is secured: the one type for it, used by the engine,
/// saved accounts (as `"starttls"`, `"implicit"`, `"opportunistic"`,
/// `"none"`), the console and the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// STARTTLS is required: without it nothing but EHLO and QUIT is sent.
    StartTls,
    /// TLS from the first byte (RFC 8314, usually port 465).
    Implicit,
    /// STARTTLS when offered, else clear text, but never AUTH in clear text.
    Opportunistic,
    /// Clear text throughout. Anyone on the path can read everything.
    None,
}

impl TlsMode {
    /// Every mode, strongest first (the order menus list them in).
    pub const ALL: [TlsMode; 4] = [
        TlsMode::StartTls,
        TlsMode::Implicit,
        TlsMode::Opportunistic,
        TlsMode::None,
    ];

    /// The mode a connection to `port` gets when none is chosen: implicit
    /// TLS on 465 (RFC 8314), STARTTLS, required, elsewhere.
    pub fn default_for_port(port: u16) -> TlsMode {
        if port == 465 {
            TlsMode::Implicit
        } else {
            TlsMode::StartTls
        }
    }

    /// Its short name, as saved in an account (`starttls`, `implicit`, …).
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::Opportunistic => "opportunistic",
            TlsMode::None => "none",
        }
    }

    /// The mode chosen, or the port's default.
    pub fn or_default_for(chosen: Option<TlsMode>, port: u16) -> TlsMode {
        chosen.unwrap_or_else(|| TlsMode::default_for_port(port))
    }
}

/// Which AUTH to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthPlan {
    /// Do not log in.
    None,
    /// Log in with the strongest mechanism both sides support.
    Auto(Credentials),
    /// Log in with this mechanism, whether or not the server lists it.
    Forced(Mechanism, Credentials),
}

/// What the session is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Greeting, EHLO and TLS only, then QUIT: what the server offers.
    Probe,
    /// Deliver one message.
    Send(Envelope),
}

/// The SMTP envelope of one message (RFC 5321 §2.3.1) and what MAIL FROM
/// needs to know about the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path (empty for a null sender).
    pub from: String,
    /// The forward-paths: every To, Cc and Bcc address.
    pub recipients: Vec<String>,
    /// The message size in bytes, if known, for SIZE (RFC 1870).
    pub size: Option<u64>,
    /// True when the message has bytes above 127 (for BODY=8BITMIME).
    pub eight_bit: bool,
}

/// The time limit of each wait. Defaults are RFC 5321 §4.5.3.2's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP connection (and an implicit TLS handshake).
    pub connect: Duration,
    /// The 220 greeting.
    pub greeting: Duration,
    /// EHLO, HELO, STARTTLS, AUTH, RSET, QUIT.
    pub command: Duration,
    /// MAIL FROM.
    pub mail: Duration,
    /// Each RCPT TO.
    pub rcpt: Duration,
    /// DATA, until 354.
    pub data_init: Duration,
    /// Each write of message data.
    pub data_block: Duration,
    /// The reply to the final dot.
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: min(5),
            command: min(5),
            mail: min(5),
            rcpt: min(5),
            data_init: min(2),
            data_block: min(3),
            data_end: min(10),
        }
    }
}

impl Timeouts {
    /// Every wait, connect included, set to `d` (the CLI's `--timeout`).
    pub fn uniform(d: Duration) -> Timeouts {
        Timeouts {
            connect: d,
            greeting: d,
            command: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_end: d,
        }
    }
}

/// Everything a session needs to know before it starts.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The name given in EHLO.
    pub client_id: ClientId,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// Whether and how to log in.
    pub auth: AuthPlan,
    /// Probe or send.
    pub job: Job,
    /// Deliver to the accepted recipients even when some are refused.
    pub allow_partial: bool,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Stop, successfully, once this point is passed (`--quit-after`).
    pub quit_after: Option<QuitAfter>,
}

/// Where a session may stop on purpose (swaks's `--quit-after`): once the
/// point is passed, Postscope says QUIT (or, after DATA, hangs up) and the
/// session counts as a success. Nothing after it is sent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum QuitAfter {
    /// The TCP connection (and implicit TLS) is up; hang up before the greeting.
    Connect,
    /// The 220 greeting.
    Greeting,
    /// The first EHLO (or HELO).
    Ehlo,
    /// STARTTLS, the handshake and EHLO again (implicit TLS: the first EHLO).
    Tls,
    /// The login (or the point where it would be, without one).
    Auth,
    /// MAIL FROM accepted.
    Mail,
    /// Every RCPT TO answered: which recipients the server would take.
    Rcpt,
    /// DATA answered 354; hang up without sending the message (the server
    /// discards the unfinished transaction, RFC 5321 §3.8).
    Data,
}

impl QuitAfter {
    /// Every point, in session order.
    pub const ALL: [QuitAfter; 8] = [
        QuitAfter::Connect,
        QuitAfter::Greeting,
        QuitAfter::Ehlo,
        QuitAfter::Tls,
        QuitAfter::Auth,
        QuitAfter::Mail,
        QuitAfter::Rcpt,
        QuitAfter::Data,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            QuitAfter::Connect => "connect",
            QuitAfter::Greeting => "greeting",
            QuitAfter::Ehlo => "ehlo",
            QuitAfter::Tls => "tls",
            QuitAfter::Auth => "auth",
            QuitAfter::Mail => "mail",
            QuitAfter::Rcpt => "rcpt",
            QuitAfter::Data => "data",
        }
    }

    /// What a person reads, e.g. in the composer's "Stop after" menu.
    pub fn describe(self) -> &'static str {
        match self {
            QuitAfter::Connect => "connect (TCP only)",
            QuitAfter::Greeting => "the greeting",
            QuitAfter::Ehlo => "EHLO",
            QuitAfter::Tls => "TLS",
            QuitAfter::Auth => "login",
            QuitAfter::Mail => "MAIL FROM",
            QuitAfter::Rcpt => "RCPT TO (check recipients)",
            QuitAfter::Data => "DATA (send no message)",
        }
    }
}

impl std::fmt::Display for QuitAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a session reports as it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A transcript line.
    Transcript(TranscriptEvent),
    /// The session entered a stage.
    Stage(Stage),
    /// The server said 220 to STARTTLS: the driver must now run the TLS
    /// handshake on the same connection and call
    /// [`Session::handle_tls_established`] (or [`Session::handle_tls_failed`]).
    StartTls,
    /// The server said 354 to DATA: the driver must now feed the message
    /// with [`Session::push_body`] and close it with [`Session::end_body`].
    NeedBody,
    /// Message data encoded so far, of the total if known.
    Progress {
        /// Bytes of the message taken so far.
        sent: u64,
        /// The message size, if known.
        total: Option<u64>,
    },
    /// The session is over; nothing follows.
    Finished(Box<Report>, Result<(), SessionError>),
}

/// What happened, for the CLI's `--json`, the status bar and history. Filled
/// in as the session goes, and handed over with [`Event::Finished`] whether
/// it succeeded or not.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// The furthest stage entered.
    pub stage: Option<Stage>,
    /// The greeting reply.
    pub greeting: Option<Reply>,
    /// The EHLO capabilities (the ones after STARTTLS, if TLS was started).
    pub capabilities: Option<Capabilities>,
    /// The capabilities announced before STARTTLS, if it was used.
    pub capabilities_before_tls: Option<Capabilities>,
    /// TLS details, if TLS was used.
    pub tls: Option<TlsInfo>,
    /// The AUTH mechanism that succeeded.
    pub auth: Option<Mechanism>,
    /// Recipients the server accepted and that got the message.
    pub delivered: Vec<String>,
    /// Where the session stopped on purpose (`--quit-after`), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<QuitAfter>,
    /// With `--quit-after rcpt` or later: the recipients the server accepted
    /// in the transaction that was not completed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<String>,
    /// Recipients the server refused, with its reply.
    pub refused: Vec<Refusal>,
    /// The reply to the final dot (for several transactions, the last one).
    pub final_reply: Option<Reply>,
    /// Bytes of message data sent (before dot-stuffing).
    pub message_bytes: u64,
    /// When each stage was completed, in order.
    pub timings: Vec<StageTiming>,
}

/// When a stage was completed, measured from the start of the connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageTiming {
    /// The stage.
    pub stage: Stage,
    /// Time since the connection started.
    #[serde(serialize_with = "ser_ms")]
    pub at_ms: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// A reply we are waiting for, in the order the commands were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth(AuthStep),
    Mail,
    Rcpt(usize),
    Data,
    DataEnd,
    /// A BDAT chunk; `true` for the LAST one (its reply is the message's).
    Bdat(bool),
    Rset,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStep {
    /// The reply that ends AUTH (235, or a refusal).
    Final,
    /// LOGIN's first 334: send the user name.
    LoginUser,
    /// LOGIN's second 334: send the password.
    LoginPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting on replies.
    Talking,
    /// Waiting for the driver's TLS handshake.
    AwaitingTls,
    /// Taking message data from the driver.
    Body,
    /// Finished: nothing more happens.
    Done,
}

/// One SMTP client session. See the module docs for how to drive it.
pub struct Session {
    config: SessionConfig,
    start: Instant,
    parser: ReplyParser,
    transmit: Vec<u8>,
    events: VecDeque<Event>,
    expect: VecDeque<Expect>,
    deadline: Option<(Instant, Duration)>,
    phase: Phase,
    stage: Stage,
    secure: bool,
    report: Report,
    /// The error to finish with once QUIT is answered.
    failure: Option<SessionError>,
    auth_mechanism: Option<Mechanism>,
    stuffer: DotStuffer,
    /// Recipients of the current transaction, and what became of them.
    batch: Vec<String>,
    accepted: Vec<String>,
    /// Recipients put off by `452 too many recipients`, for a later transaction.
    deferred: Vec<String>,
    body_taken: u64,
    /// Opportunistic TLS: the server offered STARTTLS but refused it.
    starttls_refused: bool,
    /// The transaction went out as one batch (MAIL, every RCPT, DATA:
    /// RFC 2920 PIPELINING); replies are matched in order as they come.
    pipelined: bool,
    /// A pipelined batch whose outcome is already decided (a failure is
    /// stored): the replies still due are read and passed over.
    abandon: bool,
    /// QUIT went out already, pipelined after the final dot.
    quit_sent: bool,
    /// The message goes in BDAT chunks (RFC 3030 CHUNKING), not after DATA.
    bdat: bool,
    /// Encoded message bytes not yet sent in a BDAT chunk.
    chunk: Vec<u8>,
}

/// The size of a BDAT chunk.
const BDAT_CHUNK: usize = 64 * 1024;

impl Session {
    /// Sends what is in `chunk` as one BDAT (the LAST one when `last`).
    fn send_chunk(&mut self, now: Instant, last: bool) {
        let size = self.chunk.len() as u64;
        Command::Bdat { size, last }.encode(&mut self.transmit);
        self.transmit.append(&mut self.chunk);
        let text = if last {
            format!("BDAT {size} LAST")
        } else {
            format!("BDAT {size}")
        };
        self.record(now, Direction::Sent, text, None);
        self.expect_reply(now, Expect::Bdat(last));
    }

    /// The whole message went out (the final dot, or BDAT LAST) and its
    /// reply has not come: the server may have delivered it.
    fn message_out(&self) -> bool {
        self.expect
            .iter()
            .any(|e| matches!(e, Expect::DataEnd | Expect::Bdat(true)))
    }

    /// The server waits for the message: after the 354, or at once with BDAT.
    fn begin_body(&mut self) {
        self.enter(Stage::Message);
        self.phase = Phase::Body;
        self.body_taken = 0;
        // Writes have their own limit in the driver; no reply is awaited now.
        if self.expect.is_empty() {
            self.deadline = None;
        }
        self.events.push_back(Event::NeedBody);
    }
}

impl Session {
    /// A session about to connect; `now` is when the connection attempt
    /// starts (transcript times count from it).
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let mut s = Session {
            config,
            start: now,
            parser: ReplyParser::default(),
            transmit: Vec::new(),
            events: VecDeque::new(),
            expect: VecDeque::new(),
            deadline: None,
            phase: Phase::Talking,
            stage: Stage::Connect,
            secure: false,
            report: Report::default(),
            failure: None,
            auth_mechanism: None,
            stuffer: DotStuffer::default(),
            batch: Vec::new(),
            accepted: Vec::new(),
            deferred: Vec::new(),
            body_taken: 0,
            starttls_refused: false,
            pipelined: false,
            abandon: false,
            quit_sent: false,
            bdat: false,
            chunk: Vec::new(),
        };
        s.enter(Stage::Connect);
        s
    }

    /// The configuration the session was made with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The stage the session is in.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// True once [`Event::Finished`] has been queued.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// A local note in the transcript (connecting, warnings), from the driver.
    pub fn note(&mut self, now: Instant, text: impl Into<String>) {
        self.record(now, Direction::Note, text.into(), None);
    }

    /// The TCP connection (and, for implicit TLS, the handshake) is up:
    /// start waiting for the greeting.
    pub fn handle_connected(&mut self, now: Instant, tls: Option<TlsInfo>) {
        if self.phase == Phase::Done {
            return;
        }
        self.complete(now, Stage::Connect);
        if let Some(info) = tls {
            self.tls_up(now, info);
        }
        if self.config.quit_after == Some(QuitAfter::Connect) {
            return self.hang_up(now, QuitAfter::Connect, "before the greeting");
        }
        self.enter(Stage::Greeting);
        self.expect_reply(now, Expect::Greeting);
    }

    /// The connection could not be made (or implicit TLS failed).
    pub fn handle_connect_failed(&mut self, now: Instant, error: SessionError) {
        self.fail(now, error);
    }

    /// Bytes arrived from the server.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.phase == Phase::Done {
            return;
        }
        if self.phase == Phase::AwaitingTls {
            // RFC 3207 §5: nothing may arrive in clear text between the 220
            // and the handshake; it would be parsed as if it came through TLS.
            return self.fail(
                now,
                SessionError::Protocol {
                    stage: Stage::Tls,
                    detail: "the server sent clear text after its 220 to STARTTLS; \
                             it could be injected, so the connection was dropped"
                        .into(),
                },
            );
        }
        self.parser.push(bytes);
        loop {
            if self.phase == Phase::Done {
                return;
            }
            match self.parser.next_line() {
                Ok(None) => return,
                Ok(Some(Parsed::Line(line))) => {
                    self.record(now, Direction::Received, line.raw, Some(line.code));
                }
                Ok(Some(Parsed::Reply(line, reply))) => {
                    self.record(now, Direction::Received, line.raw, Some(line.code));
                    self.on_reply(now, reply);
                }
                Err(e) => {
                    let stage = self.stage;
                    self.fail(
                        now,
                        SessionError::Protocol {
                            stage,
                            detail: e.to_string(),
                        },
                    );
                    return;
                }
            }
        }
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.handle_connection_lost(now, None);
    }

    /// Reading or writing failed (reset, broken pipe).
    pub fn handle_io_error(&mut self, now: Instant, detail: String) {
        self.handle_connection_lost(now, Some(detail));
    }

    fn handle_connection_lost(&mut self, now: Instant, detail: Option<String>) {
        if self.phase == Phase::Done {
            return;
        }
        match self.expect.front() {
            // QUIT answered by closing is an answer.
            Some(Expect::Quit) => self.finish(now),
            _ if self.message_out() => {
                let reason = detail.unwrap_or_else(|| "the connection closed".into());
                self.fail(now, SessionError::DeliveryUnknown { reason });
            }
            _ => {
                let stage = self.stage;
                self.fail(now, SessionError::ConnectionLost { stage, detail });
            }
        }
    }

    /// The clock moved: fails the session if the current wait has expired.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some((deadline, limit)) = self.deadline else {
            return;
        };
        if now < deadline || self.phase == Phase::Done {
            return;
        }
        match self.expect.front() {
            Some(Expect::Quit) => {
                self.note(now, "no reply to QUIT; closing");
                self.finish(now);
            }
            _ if self.message_out() => self.fail(
                now,
                SessionError::DeliveryUnknown {
                    reason: format!("no reply within {} s", limit.as_secs()),
                },
            ),
            _ => {
                let stage = self.stage;
                self.fail(
                    now,
                    SessionError::Timeout {
                        stage,
                        after: limit,
                    },
                );
            }
        }
    }

    /// The user cancelled. The driver closes the connection afterwards.
    pub fn cancel(&mut self, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        match self.expect.front() {
            // The message is out and the server has not answered: it may
            // have been delivered, so "cancelled" would be a lie.
            _ if self.message_out() => self.fail(
                now,
                SessionError::DeliveryUnknown {
                    reason: "cancelled while waiting for the reply".into(),
                },
            ),
            // The job is done; only the goodbye was cut short.
            Some(Expect::Quit) if self.failure.is_none() => {
                self.note(now, "cancelled while closing");
                self.finish(now);
            }
            _ => {
                let stage = self.stage;
                self.fail(now, SessionError::Cancelled { stage });
            }
        }
    }

    /// The TLS handshake after STARTTLS succeeded.
    pub fn handle_tls_established(&mut self, now: Instant, info: TlsInfo) {
        if self.phase != Phase::AwaitingTls {
            return;
        }
        if self.parser.buffered() > 0 || self.parser.in_reply() {
            return self.fail(
                now,
                SessionError::Protocol {
                    stage: Stage::Tls,
                    detail: "clear text from before STARTTLS was still pending when TLS began; \
                             it could be injected, so the connection was dropped"
                        .into(),
                },
            );
        }
        self.phase = Phase::Talking;
        self.tls_up(now, info);
        self.complete(now, Stage::Tls);
        // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
        self.report.capabilities_before_tls = self.report.capabilities.take();
        self.enter(Stage::TlsEhlo);
        self.send(
            now,
            Command::Ehlo(self.config.client_id.clone()),
            Expect::Ehlo,
        );
    }

    /// What was seen of the server's certificate in a handshake that failed,
    /// so the report can show why (the failure itself follows separately).
    pub fn handle_tls_attempt(&mut self, info: TlsInfo) {
        self.report.tls = Some(info);
    }

    /// The TLS handshake after STARTTLS failed.
    pub fn handle_tls_failed(&mut self, now: Instant, detail: String) {
        self.fail(
            now,
            SessionError::Tls {
                stage: Stage::Tls,
                detail,
                unknown_issuer: false,
            },
        );
    }

    /// Message data, in chunks of any size, after [`Event::NeedBody`].
    /// Line endings are normalised and dots stuffed here.
    pub fn push_body(&mut self, now: Instant, chunk: &[u8]) {
        if self.phase != Phase::Body {
            return;
        }
        if self.bdat {
            self.stuffer.encode(chunk, &mut self.chunk);
            while self.chunk.len() >= BDAT_CHUNK {
                let rest = self.chunk.split_off(BDAT_CHUNK);
                self.send_chunk(now, false);
                self.chunk = rest;
            }
        } else {
            self.stuffer.encode(chunk, &mut self.transmit);
        }
        self.body_taken += chunk.len() as u64;
        let total = self.envelope().and_then(|e| e.size);
        self.events.push_back(Event::Progress {
            sent: self.body_taken,
            total,
        });
    }

    /// The end of the message data: sends the final dot.
    pub fn end_body(&mut self, now: Instant) {
        if self.phase != Phase::Body {
            return;
        }
        self.phase = Phase::Talking;
        self.report.message_bytes = self.body_taken;
        if self.bdat {
            self.stuffer.finish(&mut self.chunk);
            self.stuffer = DotStuffer::default();
            self.send_chunk(now, true);
        } else {
            self.stuffer.finish(&mut self.transmit);
            self.record(
                now,
                Direction::Sent,
                format!(
                    "… {} bytes of message data …",
                    group_digits(self.body_taken)
                ),
                None,
            );
            self.record(now, Direction::Sent, ".".into(), None);
            self.expect_reply(now, Expect::DataEnd);
        }
        // RFC 2920 §3.1: QUIT may follow the message in the same group
        // when nothing else is to be sent (no deferred recipients).
        if self.pipelined && self.deferred.is_empty() && self.config.quit_after.is_none() {
            self.quit_sent = true;
            self.send(now, Command::Quit, Expect::Quit);
        }
    }

    /// Reading the message failed part-way: the transaction cannot finish.
    /// The connection is closed without the final dot, so nothing is delivered.
    pub fn body_failed(&mut self, now: Instant, detail: String) {
        self.fail(now, SessionError::Body(detail));
    }

    /// Appends the bytes to send to `out`; returns true if there were any.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.transmit.is_empty() {
            return false;
        }
        out.append(&mut self.transmit);
        true
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the current wait expires, if the session is waiting on the server.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Done {
            return None;
        }
        self.deadline.map(|(d, _)| d)
    }

    // ----- internals -----

    fn envelope(&self) -> Option<&Envelope> {
        match &self.config.job {
            Job::Send(e) => Some(e),
            Job::Probe => None,
        }
    }

    fn at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }

    fn record(
        &mut self,
        now: Instant,
        direction: Direction,
        text: String,
        code: Option<super::reply::ReplyCode>,
    ) {
        let secure = self.secure && matches!(direction, Direction::Sent | Direction::Received);
        self.events.push_back(Event::Transcript(TranscriptEvent {
            at: self.at(now),
            direction,
            secure,
            text: super::transcript::escape_controls(&text).into_owned(),
            code,
        }));
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        // The furthest stage of the job; a QUIT that only closes a failed
        // session does not count as getting further.
        let closing_after_failure = stage == Stage::Quit && self.failure.is_some();
        if !closing_after_failure && self.report.stage.is_none_or(|s| s < stage) {
            self.report.stage = Some(stage);
        }
        self.events.push_back(Event::Stage(stage));
    }

    fn complete(&mut self, now: Instant, stage: Stage) {
        let at_ms = self.at(now);
        self.report.timings.push(StageTiming { stage, at_ms });
    }

    fn tls_up(&mut self, now: Instant, info: TlsInfo) {
        self.secure = true;
        self.note(now, format!("TLS established: {}", info.summary()));
        for warning in info.warnings() {
            self.record(now, Direction::Error, warning, None);
        }
        self.report.tls = Some(info);
    }

    fn timeout_for(&self, expect: Expect) -> Duration {
        let t = &self.config.timeouts;
        match expect {
            Expect::Greeting => t.greeting,
            Expect::Mail => t.mail,
            Expect::Rcpt(_) => t.rcpt,
            Expect::Data => t.data_init,
            Expect::DataEnd | Expect::Bdat(true) => t.data_end,
            Expect::Bdat(false) => t.data_block,
            _ => t.command,
        }
    }

    fn expect_reply(&mut self, now: Instant, expect: Expect) {
        if self.expect.is_empty() {
            let limit = self.timeout_for(expect);
            self.deadline = Some((now + limit, limit));
        }
        self.expect.push_back(expect);
    }

    fn send(&mut self, now: Instant, command: Command, expect: Expect) {
        command.encode(&mut self.transmit);
        self.record(now, Direction::Sent, command.redacted(), None);
        self.expect_reply(now, expect);
    }

    /// Ends the session with an error. When the connection is still usable
    /// (the server refused something and is waiting for the next command),
    /// says QUIT first, as RFC 5321 §4.1.1.10 asks.
    fn fail_politely(&mut self, now: Instant, error: SessionError) {
        self.failure = Some(error);
        self.quit(now);
    }

    fn fail(&mut self, now: Instant, error: SessionError) {
        if self.phase == Phase::Done {
            return;
        }
        let error = match self.failure.take() {
            // Closing after a failure went wrong too: the first failure is
            // the one that matters; the second is only noted.
            Some(first) => {
                self.note(now, format!("while closing: {error}"));
                first
            }
            // The job was done and only QUIT failed: that is not a failure
            // to deliver (or to probe).
            None if self.stage == Stage::Quit
                && !matches!(error, SessionError::Cancelled { .. }) =>
            {
                self.note(now, format!("after QUIT: {error}"));
                return self.finish(now);
            }
            None => error,
        };
        self.end_with_error(now, error);
    }

    fn end_with_error(&mut self, now: Instant, error: SessionError) {
        self.record(now, Direction::Error, error.to_string(), None);
        self.phase = Phase::Done;
        self.expect.clear();
        self.deadline = None;
        let report = Box::new(std::mem::take(&mut self.report));
        self.events.push_back(Event::Finished(report, Err(error)));
    }

    fn finish(&mut self, now: Instant) {
        if let Some(error) = self.failure.take() {
            return self.end_with_error(now, error);
        }
        if self.phase == Phase::Done {
            return;
        }
        self.complete(now, Stage::Quit);
        self.phase = Phase::Done;
        self.expect.clear();
        self.deadline = None;
        let report = Box::new(std::mem::take(&mut self.report));
        self.events.push_back(Event::Finished(report, Ok(())));
    }

    /// With `--quit-after point`: notes the stop and says QUIT. True when
    /// the session stops here.
    fn reached(&mut self, now: Instant, point: QuitAfter, why: &str) -> bool {
        if self.config.quit_after != Some(point) || self.report.stopped_after.is_some() {
            return false;
        }
        self.report.stopped_after = Some(point);
        self.note(now, format!("stopping after {point} as asked{why}"));
        self.quit(now);
        true
    }

    /// Stops where QUIT cannot be said (before the greeting, inside DATA):
    /// the session ends successfully and the driver closes the connection.
    fn hang_up(&mut self, now: Instant, point: QuitAfter, why: &str) {
        self.report.stopped_after = Some(point);
        self.note(
            now,
            format!("stopping after {point} as asked: closing the connection {why}"),
        );
        self.finish(now);
    }

    fn quit(&mut self, now: Instant) {
        self.enter(Stage::Quit);
        if !self.quit_sent {
            self.quit_sent = true;
            self.send(now, Command::Quit, Expect::Quit);
        }
    }

    fn on_reply(&mut self, now: Instant, reply: Reply) {
        let Some(expect) = self.expect.pop_front() else {
            // Nothing was asked. A 421 may come at any time (RFC 5321 §3.8);
            // anything else is the server talking out of turn.
            let stage = self.stage;
            let error = if reply.code == ReplyCode::UNAVAILABLE {
                SessionError::Rejected { stage, reply }
            } else {
                SessionError::Protocol {
                    stage,
                    detail: format!("the server sent a reply nobody asked for: {reply}"),
                }
            };
            return self.fail(now, error);
        };
        self.deadline = self.expect.front().map(|&e| {
            let limit = self.timeout_for(e);
            (now + limit, limit)
        });
        if reply.code == ReplyCode::UNAVAILABLE && expect != Expect::Quit {
            // The server is shutting the connection; no QUIT will be heard.
            let stage = self.stage;
            return self.fail(now, SessionError::Rejected { stage, reply });
        }
        match expect {
            Expect::Greeting => self.on_greeting(now, reply),
            Expect::Ehlo => self.on_ehlo(now, reply),
            Expect::Helo => self.on_helo(now, reply),
            Expect::StartTls => self.on_starttls(now, reply),
            Expect::Auth(step) => self.on_auth(now, step, reply),
            Expect::Mail => self.on_mail(now, reply),
            Expect::Rcpt(i) => self.on_rcpt(now, i, reply),
            Expect::Data => self.on_data(now, reply),
            Expect::DataEnd => self.on_data_end(now, reply),
            Expect::Bdat(last) => self.on_bdat(now, last, reply),
            Expect::Rset => {
                // Whatever RSET got, the session is ending with the stored failure.
                self.quit(now);
            }
            Expect::Quit => self.finish(now),
        }
    }

    fn on_greeting(&mut self, now: Instant, reply: Reply) {
        self.report.greeting = Some(reply.clone());
        if reply.code != ReplyCode::READY {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Greeting,
                    reply,
                },
            );
        }
        self.complete(now, Stage::Greeting);
        if self.reached(now, QuitAfter::Greeting, "") {
            return;
        }
        self.enter(Stage::Ehlo);
        self.send(
            now,
            Command::Ehlo(self.config.client_id.clone()),
            Expect::Ehlo,
        );
    }

    fn on_ehlo(&mut self, now: Instant, reply: Reply) {
        let stage = self.stage;
        if reply.is_positive() {
            self.report.capabilities = Some(Capabilities::from_ehlo(&reply));
            self.complete(now, stage);
            return self.after_hello(now);
        }
        // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; fall
        // back to HELO (and so to no extensions). Not after STARTTLS, where
        // a refusal means something is wrong with the TLS session.
        if reply.code.class() == super::reply::ReplyClass::PermanentNegative && stage == Stage::Ehlo
        {
            self.note(now, "EHLO refused; trying HELO (no extensions)");
            return self.send(
                now,
                Command::Helo(self.config.client_id.clone()),
                Expect::Helo,
            );
        }
        self.fail_politely(now, SessionError::Rejected { stage, reply });
    }

    fn on_helo(&mut self, now: Instant, reply: Reply) {
        if !reply.is_positive() {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Ehlo,
                    reply,
                },
            );
        }
        self.report.capabilities = Some(Capabilities {
            server_name: reply
                .first_line()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned(),
            extensions: Vec::new(),
        });
        self.complete(now, Stage::Ehlo);
        self.after_hello(now);
    }

    fn caps(&self) -> Capabilities {
        self.report.capabilities.clone().unwrap_or_default()
    }

    /// After a successful EHLO/HELO: STARTTLS, AUTH, or the transaction.
    fn after_hello(&mut self, now: Instant) {
        if self.stage == Stage::Ehlo && self.reached(now, QuitAfter::Ehlo, "") {
            return;
        }
        if self.secure && self.reached(now, QuitAfter::Tls, "") {
            return;
        }
        let caps = self.caps();
        if !self.secure {
            match self.config.tls {
                TlsMode::StartTls | TlsMode::Opportunistic
                    if caps.offers(&Capability::StartTls) && !self.starttls_refused =>
                {
                    self.enter(Stage::Tls);
                    return self.send(now, Command::StartTls, Expect::StartTls);
                }
                TlsMode::StartTls => {
                    return self.fail_politely(
                        now,
                        SessionError::Missing {
                            stage: Stage::Tls,
                            what: Missing::StartTls,
                        },
                    );
                }
                TlsMode::Opportunistic if self.starttls_refused => {}
                TlsMode::Opportunistic => {
                    self.record(
                        now,
                        Direction::Error,
                        "the server does not offer STARTTLS: continuing WITHOUT encryption".into(),
                        None,
                    );
                }
                TlsMode::None => {
                    self.record(
                        now,
                        Direction::Error,
                        "TLS is off: everything, including any login, travels in clear text".into(),
                        None,
                    );
                }
                TlsMode::Implicit => {}
            }
        }
        // A probe with credentials logs in too (the account editor's "Test
        // connection"); without a transaction to start, it then quits.
        self.start_auth(now);
    }

    fn on_starttls(&mut self, now: Instant, reply: Reply) {
        if reply.code != ReplyCode::READY {
            if self.config.tls == TlsMode::Opportunistic
                && reply.code.class() != super::reply::ReplyClass::PositiveCompletion
            {
                self.record(
                    now,
                    Direction::Error,
                    format!("STARTTLS refused ({reply}): continuing WITHOUT encryption"),
                    None,
                );
                self.starttls_refused = true;
                return self.after_hello(now);
            }
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Tls,
                    reply,
                },
            );
        }
        // RFC 3207 §5 / CVE-2011-0411: bytes after the 220 arrived in clear
        // text and could have been injected by anyone on the path.
        if self.parser.buffered() > 0 {
            return self.fail(
                now,
                SessionError::Protocol {
                    stage: Stage::Tls,
                    detail: "the server sent more data right after its 220 to STARTTLS; \
                             it could be injected, so the connection was dropped"
                        .into(),
                },
            );
        }
        self.phase = Phase::AwaitingTls;
        self.deadline = None;
        self.events.push_back(Event::StartTls);
    }

    fn start_auth(&mut self, now: Instant) {
        if self.reached(now, QuitAfter::Tls, " (no TLS was negotiated)") {
            return;
        }
        let (mechanism, creds) = match &self.config.auth {
            AuthPlan::None => {
                if self.reached(now, QuitAfter::Auth, " (no login was asked for)") {
                    return;
                }
                return self.start_transaction(now);
            }
            AuthPlan::Auto(creds) => {
                let offered = self.caps().auth_mechanisms().to_vec();
                if offered.is_empty() {
                    return self.fail_politely(
                        now,
                        SessionError::Missing {
                            stage: Stage::Auth,
                            what: Missing::Auth,
                        },
                    );
                }
                match sasl::choose(&offered, creds) {
                    Some(m) => (m, creds.clone()),
                    None => {
                        let names: Vec<&str> = offered.iter().map(Mechanism::name).collect();
                        return self.fail_politely(
                            now,
                            SessionError::Missing {
                                stage: Stage::Auth,
                                what: Missing::CommonMechanism {
                                    offered: names.iter().map(|n| n.to_string()).collect(),
                                },
                            },
                        );
                    }
                }
            }
            AuthPlan::Forced(m, creds) => (m.clone(), creds.clone()),
        };
        if !self.secure && self.config.tls != TlsMode::None {
            return self.fail_politely(
                now,
                SessionError::Missing {
                    stage: Stage::Auth,
                    what: Missing::EncryptionForLogin,
                },
            );
        }
        self.enter(Stage::Auth);
        self.auth_mechanism = Some(mechanism.clone());
        let command = match &mechanism {
            Mechanism::Plain => sasl::plain_response(&creds).map(|r| (Some(r), AuthStep::Final)),
            Mechanism::Login => sasl::login_responses(&creds).map(|_| (None, AuthStep::LoginUser)),
            Mechanism::XOAuth2 => {
                sasl::xoauth2_response(&creds).map(|r| (Some(r), AuthStep::Final))
            }
            Mechanism::Other(_) => Err(sasl::SaslError::Unsupported(mechanism.clone())),
        };
        match command {
            Ok((initial, step)) => self.send(
                now,
                Command::Auth {
                    mechanism: mechanism.clone(),
                    initial,
                },
                Expect::Auth(step),
            ),
            Err(e) => self.fail_politely(now, e.into()),
        }
    }

    fn credentials(&self) -> Option<&Credentials> {
        match &self.config.auth {
            AuthPlan::None => None,
            AuthPlan::Auto(c) | AuthPlan::Forced(_, c) => Some(c),
        }
    }

    fn on_auth(&mut self, now: Instant, step: AuthStep, reply: Reply) {
        if reply.code == ReplyCode::AUTH_CHALLENGE {
            if let Some(text) = sasl::decode_challenge(reply.first_line()) {
                let text = text.trim_end_matches('\0').to_owned();
                self.note(now, format!("challenge decoded: {text}"));
            }
            let creds = self.credentials().cloned();
            let logins = creds.as_ref().map(sasl::login_responses);
            match (step, logins) {
                (AuthStep::LoginUser, Some(Ok((user, _)))) => {
                    return self.send(
                        now,
                        Command::AuthResponse(user),
                        Expect::Auth(AuthStep::LoginPassword),
                    );
                }
                (AuthStep::LoginPassword, Some(Ok((_, pass)))) => {
                    return self.send(
                        now,
                        Command::AuthResponse(pass),
                        Expect::Auth(AuthStep::Final),
                    );
                }
                _ => {
                    // A challenge where none was expected (XOAUTH2 sends its
                    // error this way): answer with an empty line, as the
                    // XOAUTH2 spec asks, and read the final refusal.
                    return self.send(
                        now,
                        Command::AuthResponse(String::new()),
                        Expect::Auth(AuthStep::Final),
                    );
                }
            }
        }
        if reply.is_positive() && step == AuthStep::Final {
            self.report.auth = self.auth_mechanism.clone();
            self.complete(now, Stage::Auth);
            if self.reached(now, QuitAfter::Auth, "") {
                return;
            }
            return self.start_transaction(now);
        }
        self.fail_politely(
            now,
            SessionError::Rejected {
                stage: Stage::Auth,
                reply,
            },
        );
    }

    fn start_transaction(&mut self, now: Instant) {
        let Some(envelope) = self.envelope().cloned() else {
            return self.quit(now);
        };
        let caps = self.caps();
        if let (Some(size), Some(limit)) = (envelope.size, caps.size_limit())
            && size > limit
        {
            return self.fail_politely(now, SessionError::TooLarge { size, limit });
        }
        let needs_utf8 =
            !envelope.from.is_ascii() || envelope.recipients.iter().any(|r| !r.is_ascii());
        if needs_utf8 && !caps.offers(&Capability::SmtpUtf8) {
            return self.fail_politely(
                now,
                SessionError::Missing {
                    stage: Stage::Mail,
                    what: Missing::SmtpUtf8,
                },
            );
        }
        // A first transaction takes every recipient; a further one, those
        // put off by `452 too many recipients`.
        self.batch = if self.deferred.is_empty() {
            envelope.recipients.clone()
        } else {
            std::mem::take(&mut self.deferred)
        };
        self.accepted.clear();
        if self.batch.is_empty() {
            return self.fail_politely(
                now,
                SessionError::Missing {
                    stage: Stage::Rcpt,
                    what: Missing::Recipients,
                },
            );
        }
        let mut params = Vec::new();
        if let Some(size) = envelope.size
            && caps.supports_size()
        {
            params.push(MailParam::Size(size));
        }
        if envelope.eight_bit && caps.offers(&Capability::EightBitMime) {
            params.push(MailParam::EightBitMime);
        }
        if needs_utf8 {
            params.push(MailParam::SmtpUtf8);
        }
        self.enter(Stage::Mail);
        self.send(
            now,
            Command::Mail {
                from: envelope.from.clone(),
                params,
            },
            Expect::Mail,
        );
        // RFC 2920: with PIPELINING the whole envelope and DATA go in one
        // turn. Stopping after MAIL or RCPT on purpose needs the steps apart.
        self.pipelined = caps.offers(&Capability::Pipelining)
            && !matches!(
                self.config.quit_after,
                Some(QuitAfter::Mail | QuitAfter::Rcpt)
            );
        self.abandon = false;
        // RFC 3030: with CHUNKING the message goes in BDAT chunks, no dots
        // and no DATA round trip. Only pipelined: chunks are sent without
        // waiting for each reply. Stopping at DATA's 354 needs DATA.
        self.bdat = self.pipelined
            && caps.offers(&Capability::Chunking)
            && self.config.quit_after != Some(QuitAfter::Data);
        self.stuffer = if self.bdat {
            DotStuffer::lines_only()
        } else {
            DotStuffer::default()
        };
        if self.pipelined {
            for index in 0..self.batch.len() {
                self.send_rcpt(now, index);
            }
            if !self.bdat {
                self.send(now, Command::Data, Expect::Data);
            }
        }
    }

    fn on_mail(&mut self, now: Instant, reply: Reply) {
        if !reply.is_positive() && self.pipelined {
            // The RCPTs and DATA sent with it will be refused too; read
            // their replies, then QUIT.
            self.failure = Some(SessionError::Rejected {
                stage: Stage::Mail,
                reply,
            });
            self.abandon = true;
            return;
        }
        if !reply.is_positive() {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Mail,
                    reply,
                },
            );
        }
        self.complete(now, Stage::Mail);
        if self.reached(now, QuitAfter::Mail, ": no recipient or message was sent") {
            return;
        }
        self.enter(Stage::Rcpt);
        if !self.pipelined {
            self.send_rcpt(now, 0);
        }
    }

    fn send_rcpt(&mut self, now: Instant, index: usize) {
        let to = self.batch[index].clone();
        self.send(now, Command::Rcpt { to }, Expect::Rcpt(index));
    }

    fn on_rcpt(&mut self, now: Instant, index: usize, reply: Reply) {
        if self.abandon {
            // MAIL was refused. With DATA pipelined its reply comes next;
            // with BDAT nothing else is due: QUIT after the last RCPT.
            if self.bdat && index + 1 == self.batch.len() {
                self.abandon = false;
                self.quit(now);
            }
            return;
        }
        let address = self.batch[index].clone();
        if reply.is_positive() {
            self.accepted.push(address);
        } else if reply.code == ReplyCode::INSUFFICIENT_STORAGE
            && !self.accepted.is_empty()
            && self.pipelined
        {
            // Sent already with the others: this one waits for a further
            // transaction (RFC 5321 §4.5.3.1.10).
            if self.deferred.is_empty() {
                self.note(
                    now,
                    format!(
                        "the server takes {} recipients per message; the rest follow in another transaction",
                        self.accepted.len()
                    ),
                );
            }
            self.deferred.push(address);
        } else if reply.code == ReplyCode::INSUFFICIENT_STORAGE && !self.accepted.is_empty() {
            // RFC 5321 §4.5.3.1.10: "too many recipients" is not a refusal;
            // the rest go in a further transaction.
            self.note(
                now,
                format!(
                    "the server takes {} recipients per message; the other {} follow in another transaction",
                    self.accepted.len(),
                    self.batch.len() - index
                ),
            );
            self.deferred = self.batch.split_off(index);
            return self.rcpts_done(now);
        } else {
            self.report.refused.push(Refusal { address, reply });
        }
        if index + 1 < self.batch.len() {
            if !self.pipelined {
                self.send_rcpt(now, index + 1);
            }
        } else {
            self.rcpts_done(now);
        }
    }

    fn rcpts_done(&mut self, now: Instant) {
        let refused = !self.report.refused.is_empty();
        if self.accepted.is_empty() || (refused && !self.config.allow_partial) {
            let error = SessionError::RecipientsRefused {
                refused: self.report.refused.clone(),
                accepted: self.accepted.len(),
                delivered: self.report.delivered.len(),
            };
            if self.pipelined && !self.bdat {
                // DATA is on its way already; its reply decides how to stop.
                self.failure = Some(error);
                self.abandon = true;
                return;
            }
            if self.bdat {
                // Nothing of the message went out: QUIT ends the transaction.
                return self.fail_politely(now, error);
            }
            // Abandon the transaction but leave the connection clean.
            self.failure = Some(error);
            self.enter(Stage::Quit);
            return self.send(now, Command::Rset, Expect::Rset);
        }
        if refused {
            self.note(
                now,
                format!(
                    "{} recipient(s) refused; delivering to the {} accepted (partial delivery allowed)",
                    self.report.refused.len(),
                    self.accepted.len()
                ),
            );
        }
        self.complete(now, Stage::Rcpt);
        self.report.accepted = self.accepted.clone();
        if self.reached(now, QuitAfter::Rcpt, ": no message was sent") {
            return;
        }
        if self.bdat {
            return self.begin_body();
        }
        self.enter(Stage::Data);
        if !self.pipelined {
            self.send(now, Command::Data, Expect::Data);
        }
    }

    fn on_data(&mut self, now: Instant, reply: Reply) {
        if self.abandon {
            self.abandon = false;
            if reply.code == ReplyCode::START_DATA {
                // The server now waits for the message and no command can
                // be said: hang up before any data. An unfinished message
                // is discarded (RFC 5321 §3.8), so nothing is delivered.
                self.note(
                    now,
                    "closing the connection instead of sending the message: the server \
                     discards an unfinished one",
                );
                let error = self.failure.take().unwrap_or(SessionError::Protocol {
                    stage: Stage::Data,
                    detail: "the pipelined transaction was abandoned".into(),
                });
                return self.end_with_error(now, error);
            }
            return self.quit(now);
        }
        if reply.code != ReplyCode::START_DATA {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Data,
                    reply,
                },
            );
        }
        self.complete(now, Stage::Data);
        if self.config.quit_after == Some(QuitAfter::Data) {
            return self.hang_up(
                now,
                QuitAfter::Data,
                "without sending the message: the server discards the unfinished transaction",
            );
        }
        self.begin_body();
    }

    fn on_bdat(&mut self, now: Instant, last: bool, reply: Reply) {
        if !reply.is_positive() && self.failure.is_none() {
            // The first refusal is the one that counts; the chunks already
            // sent are answered in turn.
            self.failure = Some(SessionError::Rejected {
                stage: Stage::Message,
                reply: reply.clone(),
            });
        }
        if !last {
            return;
        }
        match self.failure.take() {
            Some(error) => self.fail_politely(now, error),
            None => self.on_data_end(now, reply),
        }
    }

    fn on_data_end(&mut self, now: Instant, reply: Reply) {
        if !reply.is_positive() {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Message,
                    reply,
                },
            );
        }
        self.report.final_reply = Some(reply);
        self.report.delivered.append(&mut self.accepted);
        self.complete(now, Stage::Message);
        if !self.deferred.is_empty() {
            return self.start_transaction(now);
        }
        self.quit(now);
    }
}

/// `34512331` → `34 512 331`, as the transcript shows byte counts.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
