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
//! The session's state is one [`State`] with the data of its phase, in the
//! manner of rustls's: opening (greeting, EHLO, STARTTLS, AUTH:
//! [`opening`]), waiting for the driver's TLS handshake, a mail transaction
//! ([`transaction`]), closing, done. What every phase shares — the reply
//! queue, the transcript, stages and the ways to end — is [`steps`].
//!
//! Commands are queued and replies matched to them first-in first-out, so a
//! batch of pipelined commands (RFC 2920) is several sends before the first
//! reply. Once the session has failed it stays failed: it emits one
//! [`Event::Finished`] and ignores further input.

mod config;
mod opening;
mod report;
mod steps;
mod transaction;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use config::{AuthPlan, Envelope, Job, SessionConfig, Timeouts, TlsMode};
pub use report::{Event, Report, StageTiming};

use super::command::Command;
use super::error::{SessionError, Stage};
use super::reply::{Parsed, Reply, ReplyCode, ReplyParser};
use super::sasl::Mechanism;
use super::tls::TlsInfo;
use super::transcript::Direction;
use transaction::Transaction;

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

/// Where the session is, with what that phase needs to remember.
enum State {
    /// Connecting, the greeting, EHLO, STARTTLS and AUTH.
    Opening(Opening),
    /// The server said 220 to STARTTLS: the driver runs the handshake.
    AwaitingTls,
    /// A mail transaction: MAIL, RCPT, DATA or BDAT, the message.
    Transaction(Box<Transaction>),
    /// QUIT has been said; its answer (or the end of the connection) ends
    /// the session.
    Closing,
    /// Finished: nothing more happens.
    Done,
}

/// What the opening phase remembers.
#[derive(Debug, Default)]
struct Opening {
    /// Opportunistic TLS: the server offered STARTTLS but refused it.
    starttls_refused: bool,
    /// The mechanism of the AUTH exchange under way.
    mechanism: Option<Mechanism>,
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
    state: State,
    stage: Stage,
    /// The connection is inside TLS.
    secure: bool,
    report: Report,
    /// The error to finish with once QUIT is answered.
    failure: Option<SessionError>,
    /// Some byte has come from the server.
    heard: bool,
}

impl Session {
    /// A session about to connect; `now` is when the connection attempt
    /// starts (transcript times count from it).
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let mut s = Session {
            config,
            start: now,
            parser: ReplyParser::default(),
            heard: false,
            transmit: Vec::new(),
            events: VecDeque::new(),
            expect: VecDeque::new(),
            deadline: None,
            state: State::Opening(Opening::default()),
            stage: Stage::Connect,
            secure: false,
            report: Report::default(),
            failure: None,
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
        matches!(self.state, State::Done)
    }

    /// A local note in the transcript (connecting, warnings), from the driver.
    pub fn note(&mut self, now: Instant, text: impl Into<String>) {
        self.record(now, Direction::Note, text.into(), None);
    }

    /// The TCP connection (and, for implicit TLS, the handshake) is up:
    /// start waiting for the greeting.
    pub fn handle_connected(&mut self, now: Instant, tls: Option<TlsInfo>) {
        if self.is_finished() {
            return;
        }
        self.complete(now, Stage::Connect);
        if let Some(info) = tls {
            self.tls_up(now, info);
        }
        if self.config.quit_after == Some(Stage::Connect) {
            return self.hang_up(now, Stage::Connect, "before the greeting");
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
        match self.state {
            State::Done => return,
            // RFC 3207 §5: nothing may arrive in clear text between the 220
            // and the handshake; it would be parsed as if it came through TLS.
            State::AwaitingTls => {
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
            _ => {}
        }
        self.heard |= !bytes.is_empty();
        self.parser.push(bytes);
        while !self.is_finished() {
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
                    let detail = e.to_string();
                    return self.fail(now, SessionError::Protocol { stage, detail });
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
        if self.is_finished() {
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
        if now < deadline || self.is_finished() {
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
                // Not a byte in clear text: the port may expect TLS first.
                let silent = stage == Stage::Greeting
                    && !self.heard
                    && self.config.tls != crate::smtp::TlsMode::Implicit;
                self.fail(
                    now,
                    SessionError::Timeout {
                        stage,
                        after: limit,
                        silent,
                    },
                );
            }
        }
    }

    /// The user cancelled. The driver closes the connection afterwards.
    pub fn cancel(&mut self, now: Instant) {
        if self.is_finished() {
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
        if !matches!(self.state, State::AwaitingTls) {
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
        self.state = State::Opening(Opening::default());
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
        self.take_body(now, chunk);
    }

    /// The end of the message data: sends the final dot (or the last chunk).
    pub fn end_body(&mut self, now: Instant) {
        self.finish_body(now);
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
        if self.is_finished() {
            return None;
        }
        self.deadline.map(|(d, _)| d)
    }

    /// A complete reply: matched to the oldest command awaiting one.
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
