//! The mail transaction, server side: MAIL, RCPT, DATA and BDAT, with the
//! sandbox's limits, and handing the finished message over to be stored.

use std::borrow::Cow;

use smtp_proto::request::receiver::{BdatReceiver, DataReceiver, DummyDataReceiver};
use smtp_proto::{
    MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_RET_FULL, MAIL_RET_HDRS, MAIL_SMTPUTF8, MailFrom,
    RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS, RcptTo,
};

use super::{Deliver, Delivery, Mode, Session, Transaction};
use crate::sandbox::dsn::{DsnRequest, RecipientDsn};
use crate::smtp::reply::{EnhancedCode, Reply, ReplyCode};

impl Session {
    pub(super) fn mail(&mut self, from: MailFrom<Cow<'_, str>>) {
        if self.helo.is_none() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Send EHLO or HELO first",
            );
        }
        if self.tx.from.is_some() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Nested MAIL command",
            );
        }
        let supported =
            MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_SMTPUTF8 | MAIL_RET_FULL | MAIL_RET_HDRS;
        if from.flags & !supported != 0
            || from.trans_id.is_some()
            || from.solicit.is_some()
            || from.mtrk.is_some()
            || from.by != 0
            || from.hold_for != 0
            || from.hold_until != 0
            || from.mt_priority != 0
        {
            return self.reply(
                ReplyCode::UNKNOWN_PARAMETERS,
                EnhancedCode::INVALID_ARGUMENTS,
                "Unsupported MAIL parameter (supported: SIZE, BODY=7BIT/8BITMIME, SMTPUTF8, AUTH, RET, ENVID)",
            );
        }
        if from.size as u64 > self.limits.max_size {
            return self.reply(
                ReplyCode::TOO_BIG,
                EnhancedCode::TOO_BIG,
                &format!(
                    "Message size exceeds fixed limit of {} bytes",
                    self.limits.max_size
                ),
            );
        }
        let address = from.address.into_owned();
        self.reply(
            ReplyCode::OK,
            EnhancedCode::SENDER_OK,
            &format!("Sender <{address}> OK"),
        );
        self.tx = Transaction {
            from: Some(address),
            dsn: DsnRequest {
                ret: DsnRequest::ret_of_mail(from.flags),
                envid: from.env_id.map(Cow::into_owned),
                recipients: Vec::new(),
            },
            ..Transaction::default()
        };
    }

    pub(super) fn rcpt(&mut self, to: RcptTo<Cow<'_, str>>) {
        if self.tx.from.is_none() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Need MAIL command first",
            );
        }
        let notify =
            RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY | RCPT_NOTIFY_NEVER;
        if to.flags & !notify != 0 || to.rrvs != 0 {
            return self.reply(
                ReplyCode::UNKNOWN_PARAMETERS,
                EnhancedCode::INVALID_ARGUMENTS,
                "Unsupported RCPT parameter (supported: NOTIFY, ORCPT)",
            );
        }
        if to.flags & RCPT_NOTIFY_NEVER != 0 && to.flags != RCPT_NOTIFY_NEVER {
            return self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::INVALID_ARGUMENTS,
                "NOTIFY=NEVER cannot be combined with SUCCESS, FAILURE or DELAY (RFC 3461 §4.1)",
            );
        }
        if self.tx.rcpts.len() >= self.limits.max_recipients {
            return self.reply(
                ReplyCode::INSUFFICIENT_STORAGE,
                EnhancedCode::TOO_MANY_RECIPIENTS,
                &format!(
                    "Too many recipients (at most {} per message)",
                    self.limits.max_recipients
                ),
            );
        }
        // smtp-proto gives `<postmaster>` as an empty address.
        let address = match to.address.into_owned() {
            a if a.is_empty() => "postmaster".to_owned(),
            a => a,
        };
        self.reply(
            ReplyCode::OK,
            EnhancedCode::RECIPIENT_OK,
            &format!("Recipient <{address}> OK"),
        );
        self.tx.rcpts.push(address);
        let orcpt = to.orcpt.map(Cow::into_owned);
        self.tx
            .dsn
            .recipients
            .push(RecipientDsn::of_rcpt(to.flags, orcpt));
    }

    pub(super) fn data(&mut self) {
        if self.tx.from.is_none() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Need MAIL command first",
            );
        }
        if self.tx.rcpts.is_empty() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Need RCPT command first",
            );
        }
        if self.tx.chunking {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "DATA cannot follow BDAT",
            );
        }
        self.say(Reply::new(
            ReplyCode::START_DATA,
            None,
            "End data with <CR><LF>.<CR><LF>",
        ));
        let mut rx = DataReceiver::new();
        // The receiver only recognises "." after a CRLF it has seen: start
        // it as if one had just passed, so a first line "." or ".." counts.
        let mut primer = Vec::new();
        rx.ingest(&mut b"\r\n".iter(), &mut primer);
        self.tx.data.clear();
        self.mode = Mode::Data(rx);
    }

    pub(super) fn bdat(&mut self, size: usize, is_last: bool, deliver: &mut Deliver<'_>) {
        let refuse =
            |s: &mut Session, code: ReplyCode, esc: EnhancedCode, text: &str, reset: bool| {
                let mut reply = Vec::new();
                Reply::new(code, Some(esc), text).encode(&mut reply);
                s.mode = Mode::BdatDiscard {
                    rx: DummyDataReceiver::new_bdat(size),
                    reply,
                    reset,
                };
            };
        if self.tx.from.is_none() {
            refuse(
                self,
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Need MAIL command first",
                false,
            );
        } else if self.tx.rcpts.is_empty() {
            refuse(
                self,
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Need RCPT command first",
                false,
            );
        } else if (self.tx.data.len() as u64).saturating_add(size as u64) > self.limits.max_size {
            let text = format!(
                "Message size exceeds fixed limit of {} bytes; not stored",
                self.limits.max_size
            );
            refuse(self, ReplyCode::TOO_BIG, EnhancedCode::TOO_BIG, &text, true);
        } else {
            self.tx.chunking = true;
            self.mode = Mode::Bdat {
                rx: BdatReceiver::new(size, is_last),
                size,
            };
        }
        // A zero-length chunk is complete already.
        if size == 0 {
            match std::mem::replace(&mut self.mode, Mode::Command) {
                Mode::Bdat { rx, size } => self.bdat_chunk_done(rx.is_last, size, deliver),
                Mode::BdatDiscard { reply, reset, .. } => {
                    self.out.extend_from_slice(&reply);
                    if reset {
                        self.tx = Transaction::default();
                    }
                }
                other => self.mode = other,
            }
        }
    }

    pub(super) fn bdat_chunk_done(
        &mut self,
        is_last: bool,
        size: usize,
        deliver: &mut Deliver<'_>,
    ) {
        self.mode = Mode::Command;
        if is_last {
            self.finish_message(deliver);
        } else {
            self.completed += 1;
            self.reply(
                ReplyCode::OK,
                EnhancedCode::OK,
                &format!("{size} octets received"),
            );
        }
    }

    pub(super) fn finish_message(&mut self, deliver: &mut Deliver<'_>) {
        self.mode = Mode::Command;
        self.completed += 1;
        let tx = std::mem::take(&mut self.tx);
        if tx.too_big {
            return self.reply(
                ReplyCode::TOO_BIG,
                EnhancedCode::TOO_BIG,
                &format!(
                    "Message size exceeds fixed limit of {} bytes; not stored",
                    self.limits.max_size
                ),
            );
        }
        let delivery = Delivery {
            mail_from: tx.from.unwrap_or_default(),
            rcpt_to: tx.rcpts,
            dsn: tx.dsn,
            raw: tx.data,
            auth_user: self.auth_user.clone(),
            tls: self.tls,
        };
        match deliver(delivery) {
            Ok(id) => self.reply(
                ReplyCode::OK,
                EnhancedCode::OK,
                &format!("Ok: queued as {id}"),
            ),
            Err(why) => self.reply(
                ReplyCode::LOCAL_ERROR,
                EnhancedCode::SYSTEM_TEMPORARY,
                &format!("Message not stored: {why}"),
            ),
        }
    }
}
