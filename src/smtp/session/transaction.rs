//! A mail transaction: MAIL FROM, each RCPT TO, then DATA and the message
//! with its final dot, or BDAT chunks (RFC 3030); one command at a time,
//! or all in one batch with PIPELINING (RFC 2920). Recipients put off by
//! `452 too many recipients` go in a further transaction.

use std::time::Instant;

use super::{Event, Expect, Session, State, group_digits};
use crate::smtp::capability::Capability;
use crate::smtp::command::{Command, MailParam};
use crate::smtp::dot_stuff::DotStuffer;
use crate::smtp::error::{Missing, Refusal, SessionError, Stage};
use crate::smtp::reply::{Reply, ReplyCode};
use crate::smtp::transcript::Direction;

/// The size of a BDAT chunk.
const BDAT_CHUNK: usize = 64 * 1024;

/// How the commands of a transaction go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One command, then its reply, then the next.
    Lockstep,
    /// MAIL, every RCPT and DATA in one batch (RFC 2920); replies are
    /// matched in order as they come.
    Pipelined,
    /// Pipelined, and the message in BDAT chunks with no dots and no DATA
    /// round trip (RFC 3030).
    Chunked,
}

/// The message data being taken from the driver.
struct Body {
    stuffer: DotStuffer,
    /// Encoded bytes not yet sent in a BDAT chunk.
    chunk: Vec<u8>,
    /// Bytes taken so far (before stuffing).
    taken: u64,
}

/// One transaction under way.
pub(super) struct Transaction {
    mode: Mode,
    /// This transaction's recipients, and those the server accepted.
    batch: Vec<String>,
    accepted: Vec<String>,
    /// Recipients put off by `452 too many recipients`, for the next one.
    deferred: Vec<String>,
    /// A pipelined batch whose outcome is already decided (a failure is
    /// stored): the replies still due are read and passed over.
    abandoned: bool,
    /// QUIT went out already, pipelined after the message.
    pub(super) quit_sent: bool,
    /// Taking message data: after the 354, or at once with BDAT.
    body: Option<Body>,
}

impl Transaction {
    fn pipelined(&self) -> bool {
        self.mode != Mode::Lockstep
    }
}

impl Session {
    /// The transaction under way. Only replies to its own commands and the
    /// message data reach the functions below, so there is one.
    fn tx(&mut self) -> &mut Transaction {
        match &mut self.state {
            State::Transaction(tx) => tx,
            _ => unreachable!("a transaction step outside a transaction"),
        }
    }

    /// The whole message went out (the final dot, or BDAT LAST) and its
    /// reply has not come: the server may have delivered it.
    pub(super) fn message_out(&self) -> bool {
        self.expect
            .iter()
            .any(|e| matches!(e, Expect::DataEnd | Expect::Bdat(true)))
    }

    /// Starts a transaction: the first, with every recipient, or a further
    /// one with those a `452` put off. A probe has none and says QUIT.
    pub(super) fn start_transaction(&mut self, now: Instant) {
        let Some(envelope) = self.envelope().cloned() else {
            return self.quit(now);
        };
        let caps = self.report.capabilities.clone().unwrap_or_default();
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
        if !envelope.dsn.is_empty() && !caps.offers(&Capability::Dsn) {
            return self.fail_politely(
                now,
                SessionError::Missing {
                    stage: Stage::Mail,
                    what: Missing::Dsn,
                },
            );
        }
        // A first transaction takes every recipient; a further one, those
        // put off by `452 too many recipients`.
        let batch = match &mut self.state {
            State::Transaction(tx) if !tx.deferred.is_empty() => std::mem::take(&mut tx.deferred),
            _ => envelope.recipients.clone(),
        };
        if batch.is_empty() {
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
        params.extend(envelope.dsn_mail_params());
        // RFC 2920: with PIPELINING the whole envelope and DATA go in one
        // turn. Stopping after MAIL or RCPT on purpose needs the steps apart.
        // RFC 3030: with CHUNKING too the message goes in BDAT chunks; only
        // pipelined, as chunks are sent without waiting for each reply.
        // Stopping at DATA's 354 needs DATA.
        let quit_after = self.config.quit_after;
        let pipelined = caps.offers(&Capability::Pipelining)
            && !matches!(quit_after, Some(Stage::Mail | Stage::Rcpt));
        let mode = match pipelined {
            false => Mode::Lockstep,
            true if caps.offers(&Capability::Chunking) && quit_after != Some(Stage::Data) => {
                Mode::Chunked
            }
            true => Mode::Pipelined,
        };
        let count = batch.len();
        self.state = State::Transaction(Box::new(Transaction {
            mode,
            batch,
            accepted: Vec::new(),
            deferred: Vec::new(),
            abandoned: false,
            quit_sent: false,
            body: None,
        }));
        self.enter(Stage::Mail);
        let from = envelope.from.clone();
        self.send(now, Command::Mail { from, params }, Expect::Mail);
        if mode != Mode::Lockstep {
            for index in 0..count {
                self.send_rcpt(now, index);
            }
            if mode == Mode::Pipelined {
                self.send(now, Command::Data, Expect::Data);
            }
        }
    }

    pub(super) fn on_mail(&mut self, now: Instant, reply: Reply) {
        let pipelined = self.tx().pipelined();
        if !reply.is_positive() {
            let error = SessionError::Rejected {
                stage: Stage::Mail,
                reply,
            };
            if pipelined {
                // The RCPTs and DATA sent with it will be refused too; read
                // their replies, then QUIT.
                self.failure = Some(error);
                self.tx().abandoned = true;
                return;
            }
            return self.fail_politely(now, error);
        }
        self.complete(now, Stage::Mail);
        if self.reached(now, Stage::Mail, ": no recipient or message was sent") {
            return;
        }
        self.enter(Stage::Rcpt);
        if !pipelined {
            self.send_rcpt(now, 0);
        }
    }

    fn send_rcpt(&mut self, now: Instant, index: usize) {
        let to = self.tx().batch[index].clone();
        let params = self
            .envelope()
            .map(|e| e.rcpt_params(&to))
            .unwrap_or_default();
        self.send(now, Command::Rcpt { to, params }, Expect::Rcpt(index));
    }

    pub(super) fn on_rcpt(&mut self, now: Instant, index: usize, reply: Reply) {
        let tx = self.tx();
        let (pipelined, count) = (tx.pipelined(), tx.batch.len());
        if tx.abandoned {
            // MAIL was refused. With DATA pipelined its reply comes next;
            // with BDAT nothing else is due: QUIT after the last RCPT.
            if tx.mode == Mode::Chunked && index + 1 == count {
                tx.abandoned = false;
                self.quit(now);
            }
            return;
        }
        let address = tx.batch[index].clone();
        let too_many = reply.code == ReplyCode::INSUFFICIENT_STORAGE && !tx.accepted.is_empty();
        if reply.is_positive() {
            tx.accepted.push(address);
        } else if too_many && pipelined {
            // Sent already with the others: this one waits for a further
            // transaction (RFC 5321 §4.5.3.1.10).
            let first = tx.deferred.is_empty();
            tx.deferred.push(address);
            let accepted = tx.accepted.len();
            if first {
                self.note(
                    now,
                    format!(
                        "the server takes {accepted} recipients per message; the rest follow in another transaction"
                    ),
                );
            }
        } else if too_many {
            // RFC 5321 §4.5.3.1.10: "too many recipients" is not a refusal;
            // the rest go in a further transaction.
            tx.deferred = tx.batch.split_off(index);
            let accepted = tx.accepted.len();
            self.note(
                now,
                format!(
                    "the server takes {accepted} recipients per message; the other {} follow in another transaction",
                    count - index
                ),
            );
            return self.rcpts_done(now);
        } else {
            self.report.refused.push(Refusal { address, reply });
        }
        if index + 1 < count {
            if !pipelined {
                self.send_rcpt(now, index + 1);
            }
        } else {
            self.rcpts_done(now);
        }
    }

    /// Every RCPT is answered: go on with the accepted, or stop.
    fn rcpts_done(&mut self, now: Instant) {
        let refused = !self.report.refused.is_empty();
        let allow_partial = self.config.allow_partial;
        let delivered = self.report.delivered.len();
        let tx = self.tx();
        let mode = tx.mode;
        if tx.accepted.is_empty() || (refused && !allow_partial) {
            let accepted = tx.accepted.len();
            let error = SessionError::RecipientsRefused {
                refused: self.report.refused.clone(),
                accepted,
                delivered,
            };
            return match mode {
                Mode::Pipelined => {
                    // DATA is on its way already; its reply decides how to stop.
                    self.failure = Some(error);
                    self.tx().abandoned = true;
                }
                // Nothing of the message went out: QUIT ends the transaction.
                Mode::Chunked => self.fail_politely(now, error),
                // Abandon the transaction but leave the connection clean.
                Mode::Lockstep => {
                    self.failure = Some(error);
                    self.enter(Stage::Quit);
                    self.send(now, Command::Rset, Expect::Rset);
                }
            };
        }
        let accepted = tx.accepted.clone();
        if refused {
            self.note(
                now,
                format!(
                    "{} recipient(s) refused; delivering to the {} accepted (partial delivery allowed)",
                    self.report.refused.len(),
                    accepted.len()
                ),
            );
        }
        self.complete(now, Stage::Rcpt);
        self.report.accepted = accepted;
        if self.reached(now, Stage::Rcpt, ": no message was sent") {
            return;
        }
        if mode == Mode::Chunked {
            return self.begin_body();
        }
        self.enter(Stage::Data);
        if mode == Mode::Lockstep {
            self.send(now, Command::Data, Expect::Data);
        }
    }

    pub(super) fn on_data(&mut self, now: Instant, reply: Reply) {
        let tx = self.tx();
        if tx.abandoned {
            tx.abandoned = false;
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
        if self.config.quit_after == Some(Stage::Data) {
            return self.hang_up(
                now,
                Stage::Data,
                "without sending the message: the server discards the unfinished transaction",
            );
        }
        self.begin_body();
    }

    /// The server waits for the message: after the 354, or at once with BDAT.
    fn begin_body(&mut self) {
        self.enter(Stage::Message);
        let tx = self.tx();
        let stuffer = match tx.mode {
            Mode::Chunked => DotStuffer::lines_only(),
            _ => DotStuffer::default(),
        };
        tx.body = Some(Body {
            stuffer,
            chunk: Vec::new(),
            taken: 0,
        });
        // Writes have their own limit in the driver; no reply is awaited now.
        if self.expect.is_empty() {
            self.deadline = None;
        }
        self.events.push_back(Event::NeedBody);
    }

    /// Message data from the driver (ignored unless the server waits for it).
    pub(super) fn take_body(&mut self, now: Instant, data: &[u8]) {
        let total = self.envelope().and_then(|e| e.size);
        let State::Transaction(tx) = &mut self.state else {
            return;
        };
        let chunked = tx.mode == Mode::Chunked;
        let Some(body) = tx.body.as_mut() else {
            return;
        };
        body.taken += data.len() as u64;
        let sent = body.taken;
        if chunked {
            body.stuffer.encode(data, &mut body.chunk);
            while let Some(full) = self.full_chunk() {
                self.send_bdat(now, full, false);
            }
        } else {
            body.stuffer.encode(data, &mut self.transmit);
        }
        self.events.push_back(Event::Progress { sent, total });
    }

    /// The next whole chunk of encoded message, if one is ready.
    fn full_chunk(&mut self) -> Option<Vec<u8>> {
        let State::Transaction(tx) = &mut self.state else {
            return None;
        };
        let body = tx.body.as_mut()?;
        if body.chunk.len() < BDAT_CHUNK {
            return None;
        }
        let rest = body.chunk.split_off(BDAT_CHUNK);
        Some(std::mem::replace(&mut body.chunk, rest))
    }

    /// The end of the message data: the final dot, or the last chunk.
    pub(super) fn finish_body(&mut self, now: Instant) {
        let quit_after = self.config.quit_after;
        let State::Transaction(tx) = &mut self.state else {
            return;
        };
        let Some(mut body) = tx.body.take() else {
            return;
        };
        let chunked = tx.mode == Mode::Chunked;
        self.report.message_bytes = body.taken;
        if chunked {
            let mut rest = std::mem::take(&mut body.chunk);
            body.stuffer.finish(&mut rest);
            self.send_bdat(now, rest, true);
        } else {
            body.stuffer.finish(&mut self.transmit);
            self.record(
                now,
                Direction::Sent,
                format!("… {} bytes of message data …", group_digits(body.taken)),
                None,
            );
            self.record(now, Direction::Sent, ".".into(), None);
            self.expect_reply(now, Expect::DataEnd);
        }
        // RFC 2920 §3.1: QUIT may follow the message in the same group
        // when nothing else is to be sent (no deferred recipients).
        let tx = self.tx();
        if tx.pipelined() && tx.deferred.is_empty() && quit_after.is_none() {
            tx.quit_sent = true;
            self.send(now, Command::Quit, Expect::Quit);
        }
    }

    /// Sends a chunk of the encoded message as one BDAT (RFC 3030).
    fn send_bdat(&mut self, now: Instant, mut chunk: Vec<u8>, last: bool) {
        let size = chunk.len() as u64;
        Command::Bdat { size, last }.encode(&mut self.transmit);
        self.transmit.append(&mut chunk);
        let text = if last {
            format!("BDAT {size} LAST")
        } else {
            format!("BDAT {size}")
        };
        self.record(now, Direction::Sent, text, None);
        self.expect_reply(now, Expect::Bdat(last));
    }

    pub(super) fn on_bdat(&mut self, now: Instant, last: bool, reply: Reply) {
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

    pub(super) fn on_data_end(&mut self, now: Instant, reply: Reply) {
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
        let tx = self.tx();
        let mut accepted = std::mem::take(&mut tx.accepted);
        let more = !tx.deferred.is_empty();
        self.report.delivered.append(&mut accepted);
        self.complete(now, Stage::Message);
        if more {
            return self.start_transaction(now);
        }
        self.quit(now);
    }
}
