//! One SMTP conversation, server side, without I/O: bytes from the client
//! go in ([`Session::input`]), replies come out ([`Session::take_output`]),
//! and [`Session::process`] says what the connection must do next (go on,
//! start TLS, close). Accepted messages are handed to a callback that
//! stores them and returns their id.
//!
//! Commands are parsed with smtp-proto's `Request::parse`, one complete
//! line at a time; DATA is dot-unstuffed by its `DataReceiver` and BDAT
//! chunks are cut by its `BdatReceiver`.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use smtp_proto::request::receiver::{BdatReceiver, DataReceiver, DummyDataReceiver};
use smtp_proto::{
    AUTH_LOGIN, AUTH_PLAIN, Error as ParseError, MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_SMTPUTF8,
    MailFrom, RcptTo, Request, Response,
};

use super::{SERVER_NAME, advertised_extensions};

/// The limits one session enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest message, in bytes.
    pub max_size: u64,
    /// The most recipients per message.
    pub max_recipients: usize,
    /// The longest command line, CRLF included.
    pub max_line: usize,
}

/// A message the client finished sending, to be captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub raw: Vec<u8>,
    pub auth_user: Option<String>,
    pub tls: bool,
}

/// Stores a delivered message and returns its id, or says why it could not.
pub(crate) type Deliver<'a> = dyn FnMut(Delivery) -> Result<u64, String> + 'a;

/// What the connection must do after [`Session::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write the output, then read more.
    Continue,
    /// Write the output (the 220), then run the TLS handshake and call
    /// [`Session::tls_started`].
    StartTls,
    /// Write the output, then close the connection.
    Close,
}

/// What the session is reading.
enum Mode {
    /// Command lines.
    Command,
    /// The rest of a command line that was too long, to be thrown away.
    SkipLine,
    /// A DATA message.
    Data(DataReceiver),
    /// The rest of a DATA message that is over the size limit.
    DataDiscard(DummyDataReceiver),
    /// A BDAT chunk of `size` bytes, kept.
    Bdat { rx: BdatReceiver, size: usize },
    /// A BDAT chunk thrown away; `reply` is sent once it has been read, and
    /// the transaction is then reset if `reset`.
    BdatDiscard {
        rx: DummyDataReceiver,
        reply: Vec<u8>,
        reset: bool,
    },
    /// The PLAIN response after an empty `334`.
    AuthPlain,
    /// The LOGIN user name.
    AuthLoginUser,
    /// The LOGIN password for this user.
    AuthLoginPassword(String),
}

impl Mode {
    fn reads_lines(&self) -> bool {
        matches!(
            self,
            Mode::Command | Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPassword(_)
        )
    }
}

/// The mail transaction under way.
#[derive(Default)]
struct Transaction {
    /// The reverse-path; `None` until MAIL.
    from: Option<String>,
    rcpts: Vec<String>,
    data: Vec<u8>,
    /// The message went over the size limit: it is being thrown away.
    too_big: bool,
    /// BDAT was used (DATA is then out of sequence).
    chunking: bool,
}

/// One SMTP conversation, server side.
pub(crate) struct Session {
    limits: Limits,
    mode: Mode,
    tls: bool,
    /// The EHLO/HELO name, once given.
    helo: Option<String>,
    auth_user: Option<String>,
    tx: Transaction,
    input: Vec<u8>,
    out: Vec<u8>,
}

impl Session {
    /// A new session; the greeting is already in the output.
    pub fn new(limits: Limits) -> Session {
        let mut s = Session {
            limits,
            mode: Mode::Command,
            tls: false,
            helo: None,
            auth_user: None,
            tx: Transaction::default(),
            input: Vec::new(),
            out: Vec::new(),
        };
        s.raw_reply(&format!(
            "220 {SERVER_NAME} Postscope sandbox ESMTP ready\r\n"
        ));
        s
    }

    /// Bytes from the client (kept until [`Session::process`]).
    pub fn input(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// The replies produced so far, to be written to the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The client waited on too long: say so (the connection then closes).
    pub fn timed_out(&mut self) {
        self.reply(
            421,
            [4, 4, 2],
            &format!("{SERVER_NAME} Error: timeout exceeded"),
        );
    }

    /// The TLS handshake after STARTTLS succeeded: everything known from
    /// the clear-text part is forgotten (RFC 3207 §4.2).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.auth_user = None;
        self.tx = Transaction::default();
        self.mode = Mode::Command;
        self.input.clear();
    }

    /// Handles every complete command (and message data) received so far,
    /// in order. Stops early at STARTTLS (whatever follows it in the buffer
    /// was sent in clear text and is thrown away) and at QUIT.
    pub fn process(&mut self, deliver: &mut Deliver<'_>) -> Action {
        let buf = std::mem::take(&mut self.input);
        let mut pos = 0;
        let action = loop {
            let rest = &buf[pos..];
            if self.mode.reads_lines() || matches!(self.mode, Mode::SkipLine) {
                if rest.is_empty() {
                    break Action::Continue;
                }
                let newline = rest.iter().position(|&b| b == b'\n');
                if matches!(self.mode, Mode::SkipLine) {
                    match newline {
                        Some(i) => {
                            pos += i + 1;
                            self.mode = Mode::Command;
                        }
                        None => pos = buf.len(),
                    }
                    continue;
                }
                let Some(i) = newline else {
                    if rest.len() >= self.limits.max_line {
                        self.line_too_long();
                        self.mode = Mode::SkipLine;
                        pos = buf.len();
                    }
                    break Action::Continue;
                };
                let line = &rest[..=i];
                pos += i + 1;
                if line.len() > self.limits.max_line {
                    self.line_too_long();
                    continue;
                }
                let action = self.line(line, deliver);
                if action != Action::Continue {
                    break action;
                }
                continue;
            }
            // Message data: DATA, BDAT, or either being thrown away.
            let mut iter = rest.iter();
            match std::mem::replace(&mut self.mode, Mode::Command) {
                Mode::Data(mut rx) => {
                    let done = rx.ingest(&mut iter, &mut self.tx.data);
                    if !self.tx.too_big && self.tx.data.len() as u64 > self.limits.max_size {
                        self.tx.too_big = true;
                        self.tx.data = Vec::new();
                    }
                    if done {
                        self.finish_message(deliver);
                    } else if self.tx.too_big {
                        self.mode = Mode::DataDiscard(DummyDataReceiver::new_data(&rx));
                    } else {
                        self.mode = Mode::Data(rx);
                    }
                }
                Mode::DataDiscard(mut rx) => {
                    if rx.ingest(&mut iter) {
                        self.finish_message(deliver);
                    } else {
                        self.mode = Mode::DataDiscard(rx);
                    }
                }
                Mode::Bdat { mut rx, size } => {
                    if rx.ingest(&mut iter, &mut self.tx.data) {
                        self.bdat_chunk_done(rx.is_last, size, deliver);
                    } else {
                        self.mode = Mode::Bdat { rx, size };
                    }
                }
                Mode::BdatDiscard {
                    mut rx,
                    reply,
                    reset,
                } => {
                    if rx.ingest(&mut iter) {
                        self.out.extend_from_slice(&reply);
                        if reset {
                            self.tx = Transaction::default();
                        }
                    } else {
                        self.mode = Mode::BdatDiscard { rx, reply, reset };
                    }
                }
                other => self.mode = other,
            }
            pos += rest.len() - iter.as_slice().len();
            if pos == buf.len() {
                break Action::Continue;
            }
        };
        if action == Action::Continue {
            self.input = buf[pos..].to_vec();
        }
        // After STARTTLS or QUIT the rest is dropped: never fed to TLS.
        action
    }

    fn line_too_long(&mut self) {
        self.reply(500, [5, 5, 2], "Line too long");
    }

    fn line(&mut self, line: &[u8], deliver: &mut Deliver<'_>) -> Action {
        match std::mem::replace(&mut self.mode, Mode::Command) {
            Mode::AuthPlain => {
                self.auth_plain(line);
                Action::Continue
            }
            Mode::AuthLoginUser => {
                self.auth_login_user(line);
                Action::Continue
            }
            Mode::AuthLoginPassword(user) => {
                if is_cancel(line) {
                    self.auth_cancelled();
                } else {
                    self.auth_ok(user);
                }
                Action::Continue
            }
            _ => self.command(line, deliver),
        }
    }

    fn command(&mut self, line: &[u8], deliver: &mut Deliver<'_>) -> Action {
        let request = match Request::parse(&mut line.iter()) {
            Ok(r) => r,
            Err(e) => {
                self.parse_error(e);
                return Action::Continue;
            }
        };
        match request {
            Request::Ehlo { host } => {
                self.helo = Some(host.into_owned());
                self.tx = Transaction::default();
                let mut lines = vec![format!(
                    "{SERVER_NAME} Hello {}",
                    self.helo.as_deref().unwrap_or_default()
                )];
                lines.extend(advertised_extensions(self.limits.max_size, self.tls));
                let last = lines.len() - 1;
                for (i, text) in lines.iter().enumerate() {
                    let sep = if i == last { ' ' } else { '-' };
                    self.raw_reply(&format!("250{sep}{text}\r\n"));
                }
            }
            Request::Helo { host } => {
                self.raw_reply(&format!("250 {SERVER_NAME} Hello {host}\r\n"));
                self.helo = Some(host.into_owned());
                self.tx = Transaction::default();
            }
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(to),
            Request::Data => self.data(),
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(chunk_size, is_last, deliver),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, &initial_response),
            Request::Noop { .. } => self.reply(250, [2, 0, 0], "OK"),
            Request::Vrfy { .. } => self.reply(
                252,
                [2, 5, 0],
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Request::Help { .. } => self.reply(
                214,
                [2, 0, 0],
                "Postscope sandbox: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            ),
            Request::StartTls => {
                if self.tls {
                    self.reply(503, [5, 5, 1], "TLS is already active");
                } else {
                    self.reply(220, [2, 0, 0], "Ready to start TLS");
                    return Action::StartTls;
                }
            }
            Request::Rset => {
                self.tx = Transaction::default();
                self.reply(250, [2, 0, 0], "OK");
            }
            Request::Quit => {
                self.reply(221, [2, 0, 0], &format!("{SERVER_NAME} closing connection"));
                return Action::Close;
            }
            Request::Lhlo { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.reply(502, [5, 5, 1], "Command not implemented"),
        }
        Action::Continue
    }

    fn parse_error(&mut self, e: ParseError) {
        match e {
            ParseError::UnknownCommand => self.reply(500, [5, 5, 2], "Command unrecognized"),
            ParseError::SyntaxError { syntax } => {
                self.reply(501, [5, 5, 2], &format!("Syntax: {syntax}"))
            }
            ParseError::InvalidSenderAddress => {
                self.reply(501, [5, 1, 7], "Bad sender address syntax")
            }
            ParseError::InvalidRecipientAddress => {
                self.reply(501, [5, 1, 3], "Bad recipient address syntax")
            }
            ParseError::InvalidParameter { param } => {
                self.reply(501, [5, 5, 4], &format!("Invalid value for {param}"))
            }
            ParseError::UnsupportedParameter { param } => {
                let param: String = param.chars().take(64).collect();
                self.reply(555, [5, 5, 4], &format!("Unsupported parameter {param}"))
            }
            _ => self.reply(500, [5, 5, 2], "Syntax error"),
        }
    }

    fn mail(&mut self, from: MailFrom<Cow<'_, str>>) {
        if self.helo.is_none() {
            return self.reply(503, [5, 5, 1], "Send EHLO or HELO first");
        }
        if self.tx.from.is_some() {
            return self.reply(503, [5, 5, 1], "Nested MAIL command");
        }
        let supported = MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_SMTPUTF8;
        if from.flags & !supported != 0
            || from.trans_id.is_some()
            || from.env_id.is_some()
            || from.solicit.is_some()
            || from.mtrk.is_some()
            || from.by != 0
            || from.hold_for != 0
            || from.hold_until != 0
            || from.mt_priority != 0
        {
            return self.reply(
                555,
                [5, 5, 4],
                "Unsupported MAIL parameter (supported: SIZE, BODY=7BIT/8BITMIME, SMTPUTF8, AUTH)",
            );
        }
        if from.size as u64 > self.limits.max_size {
            return self.reply(
                552,
                [5, 3, 4],
                &format!(
                    "Message size exceeds fixed limit of {} bytes",
                    self.limits.max_size
                ),
            );
        }
        let address = from.address.into_owned();
        self.reply(250, [2, 1, 0], &format!("Sender <{address}> OK"));
        self.tx = Transaction {
            from: Some(address),
            ..Transaction::default()
        };
    }

    fn rcpt(&mut self, to: RcptTo<Cow<'_, str>>) {
        if self.tx.from.is_none() {
            return self.reply(503, [5, 5, 1], "Need MAIL command first");
        }
        if to.flags != 0 || to.orcpt.is_some() || to.rrvs != 0 {
            return self.reply(
                555,
                [5, 5, 4],
                "Unsupported RCPT parameter (DSN is not supported)",
            );
        }
        if self.tx.rcpts.len() >= self.limits.max_recipients {
            return self.reply(
                452,
                [4, 5, 3],
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
        self.reply(250, [2, 1, 5], &format!("Recipient <{address}> OK"));
        self.tx.rcpts.push(address);
    }

    fn data(&mut self) {
        if self.tx.from.is_none() {
            return self.reply(503, [5, 5, 1], "Need MAIL command first");
        }
        if self.tx.rcpts.is_empty() {
            return self.reply(503, [5, 5, 1], "Need RCPT command first");
        }
        if self.tx.chunking {
            return self.reply(503, [5, 5, 1], "DATA cannot follow BDAT");
        }
        self.raw_reply("354 End data with <CR><LF>.<CR><LF>\r\n");
        let mut rx = DataReceiver::new();
        // The receiver only recognises "." after a CRLF it has seen: start
        // it as if one had just passed, so a first line "." or ".." counts.
        let mut primer = Vec::new();
        rx.ingest(&mut b"\r\n".iter(), &mut primer);
        self.tx.data.clear();
        self.mode = Mode::Data(rx);
    }

    fn bdat(&mut self, size: usize, is_last: bool, deliver: &mut Deliver<'_>) {
        let refuse = |s: &mut Session, code: u16, esc: [u8; 3], text: &str, reset: bool| {
            let mut reply = Vec::new();
            let _ = Response::new(code, esc[0], esc[1], esc[2], text).write(&mut reply);
            s.mode = Mode::BdatDiscard {
                rx: DummyDataReceiver::new_bdat(size),
                reply,
                reset,
            };
        };
        if self.tx.from.is_none() {
            refuse(self, 503, [5, 5, 1], "Need MAIL command first", false);
        } else if self.tx.rcpts.is_empty() {
            refuse(self, 503, [5, 5, 1], "Need RCPT command first", false);
        } else if (self.tx.data.len() as u64).saturating_add(size as u64) > self.limits.max_size {
            let text = format!(
                "Message size exceeds fixed limit of {} bytes; not stored",
                self.limits.max_size
            );
            refuse(self, 552, [5, 3, 4], &text, true);
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

    fn bdat_chunk_done(&mut self, is_last: bool, size: usize, deliver: &mut Deliver<'_>) {
        self.mode = Mode::Command;
        if is_last {
            self.finish_message(deliver);
        } else {
            self.reply(250, [2, 0, 0], &format!("{size} octets received"));
        }
    }

    fn finish_message(&mut self, deliver: &mut Deliver<'_>) {
        self.mode = Mode::Command;
        let tx = std::mem::take(&mut self.tx);
        if tx.too_big {
            return self.reply(
                552,
                [5, 3, 4],
                &format!(
                    "Message size exceeds fixed limit of {} bytes; not stored",
                    self.limits.max_size
                ),
            );
        }
        let delivery = Delivery {
            mail_from: tx.from.unwrap_or_default(),
            rcpt_to: tx.rcpts,
            raw: tx.data,
            auth_user: self.auth_user.clone(),
            tls: self.tls,
        };
        match deliver(delivery) {
            Ok(id) => self.reply(250, [2, 0, 0], &format!("Ok: queued as {id}")),
            Err(why) => self.reply(451, [4, 3, 0], &format!("Message not stored: {why}")),
        }
    }

    fn auth(&mut self, mechanism: u64, initial: &str) {
        if self.helo.is_none() {
            return self.reply(503, [5, 5, 1], "Send EHLO first");
        }
        if self.auth_user.is_some() {
            return self.reply(503, [5, 5, 1], "Already authenticated");
        }
        if self.tx.from.is_some() {
            return self.reply(
                503,
                [5, 5, 1],
                "AUTH is not allowed during a mail transaction",
            );
        }
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.raw_reply("334 \r\n");
                self.mode = Mode::AuthPlain;
            }
            AUTH_PLAIN => self.auth_plain(initial.as_bytes()),
            AUTH_LOGIN if initial.is_empty() => {
                self.raw_reply("334 VXNlcm5hbWU6\r\n");
                self.mode = Mode::AuthLoginUser;
            }
            AUTH_LOGIN => self.auth_login_user(initial.as_bytes()),
            _ => self.reply(
                504,
                [5, 5, 4],
                "Unrecognized authentication type (supported: PLAIN LOGIN)",
            ),
        }
    }

    fn auth_plain(&mut self, response: &[u8]) {
        if is_cancel(response) {
            return self.auth_cancelled();
        }
        let parts = decode_b64(response).map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        });
        match parts.as_deref() {
            Some([_authzid, user, _password]) if !user.is_empty() => {
                self.auth_ok(String::from_utf8_lossy(user).into_owned())
            }
            _ => self.reply(
                501,
                [5, 5, 2],
                "Malformed PLAIN response (base64 of authzid NUL user NUL password)",
            ),
        }
    }

    fn auth_login_user(&mut self, response: &[u8]) {
        if is_cancel(response) {
            return self.auth_cancelled();
        }
        match decode_b64(response) {
            Some(user) if !user.is_empty() => {
                self.raw_reply("334 UGFzc3dvcmQ6\r\n");
                self.mode = Mode::AuthLoginPassword(String::from_utf8_lossy(&user).into_owned());
            }
            _ => self.reply(
                501,
                [5, 5, 2],
                "Malformed LOGIN user name (base64 expected)",
            ),
        }
    }

    fn auth_ok(&mut self, user: String) {
        self.auth_user = Some(user);
        self.reply(
            235,
            [2, 7, 0],
            "Authentication successful (the sandbox accepts any password)",
        );
    }

    fn auth_cancelled(&mut self) {
        self.reply(501, [5, 0, 0], "Authentication cancelled");
    }

    fn reply(&mut self, code: u16, esc: [u8; 3], text: &str) {
        let _ = Response::new(code, esc[0], esc[1], esc[2], text).write(&mut self.out);
    }

    fn raw_reply(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
    }
}

fn is_cancel(line: &[u8]) -> bool {
    line.trim_ascii() == b"*"
}

fn decode_b64(line: &[u8]) -> Option<Vec<u8>> {
    B64.decode(line.trim_ascii()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_size: 1000,
        max_recipients: 3,
        max_line: 100,
    };

    struct Harness {
        session: Session,
        delivered: Vec<Delivery>,
        last_action: Action,
    }

    impl Harness {
        fn new() -> Harness {
            let mut session = Session::new(LIMITS);
            let greeting = String::from_utf8(session.take_output()).unwrap();
            assert_eq!(
                greeting,
                "220 postscope.sandbox Postscope sandbox ESMTP ready\r\n"
            );
            Harness {
                session,
                delivered: Vec::new(),
                last_action: Action::Continue,
            }
        }

        /// Feeds bytes and returns the reply lines they produced.
        fn send(&mut self, bytes: &[u8]) -> Vec<String> {
            self.session.input(bytes);
            let delivered = &mut self.delivered;
            let mut deliver = |d: Delivery| {
                delivered.push(d);
                Ok(delivered.len() as u64)
            };
            self.last_action = self.session.process(&mut deliver);
            let out = String::from_utf8(self.session.take_output()).unwrap();
            out.split_terminator("\r\n").map(str::to_owned).collect()
        }

        fn ehlo(&mut self) {
            let lines = self.send(b"EHLO client.example\r\n");
            assert_eq!(lines[0], "250-postscope.sandbox Hello client.example");
        }
    }

    fn codes(lines: &[String]) -> Vec<&str> {
        lines.iter().map(|l| &l[..3]).collect()
    }

    #[test]
    fn ehlo_lists_exactly_what_is_implemented() {
        let mut h = Harness::new();
        let lines = h.send(b"EHLO client.example\r\n");
        assert_eq!(
            lines,
            [
                "250-postscope.sandbox Hello client.example",
                "250-SIZE 1000",
                "250-8BITMIME",
                "250-SMTPUTF8",
                "250-PIPELINING",
                "250-ENHANCEDSTATUSCODES",
                "250-STARTTLS",
                "250-AUTH PLAIN LOGIN",
                "250 CHUNKING",
            ]
        );
        h.session.tls_started();
        let lines = h.send(b"EHLO client.example\r\n");
        assert!(!lines.iter().any(|l| l.contains("STARTTLS")));
    }

    #[test]
    fn pipelined_transaction_with_dot_unstuffing() {
        let mut h = Harness::new();
        h.ehlo();
        let lines = h.send(
            b"MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=40\r\nRCPT TO:<b@example.org>\r\n\
              RCPT TO:<c@example.org>\r\nDATA\r\n",
        );
        assert_eq!(codes(&lines), ["250", "250", "250", "354"]);
        assert_eq!(lines[0], "250 2.1.0 Sender <a@example.org> OK");
        // The data arrives in pieces, with a stuffed dot split across them.
        assert!(h.send(b"Subject: x\r\n\r\n.").is_empty());
        assert!(h.send(b".leading dot\r\nend\r").is_empty());
        let lines = h.send(b"\n.\r\nQUIT\r\n");
        assert_eq!(lines[0], "250 2.0.0 Ok: queued as 1");
        assert_eq!(lines[1], "221 2.0.0 postscope.sandbox closing connection");
        assert_eq!(h.last_action, Action::Close);
        let d = &h.delivered[0];
        assert_eq!(d.raw, b"Subject: x\r\n\r\n.leading dot\r\nend\r\n");
        assert_eq!(d.mail_from, "a@example.org");
        assert_eq!(d.rcpt_to, ["b@example.org", "c@example.org"]);
        assert!(!d.tls);
        assert_eq!(d.auth_user, None);
    }

    #[test]
    fn first_data_line_may_be_a_dot() {
        let mut h = Harness::new();
        h.ehlo();
        let lines = h.send(b"MAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n.\r\n");
        assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
        assert_eq!(h.delivered[0].raw, b"");
        assert_eq!(h.delivered[0].mail_from, "");
        let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n..x\r\n.\r\n");
        assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
        assert_eq!(h.delivered[1].raw, b".x\r\n");
    }

    #[test]
    fn commands_out_of_sequence() {
        let mut h = Harness::new();
        let lines = h.send(b"MAIL FROM:<a@example.org>\r\n");
        assert_eq!(lines, ["503 5.5.1 Send EHLO or HELO first"]);
        let lines = h.send(b"HELO client\r\n");
        assert_eq!(lines, ["250 postscope.sandbox Hello client"]);
        let lines = h.send(b"RCPT TO:<b@example.org>\r\nDATA\r\n");
        assert_eq!(codes(&lines), ["503", "503"]);
        let lines = h.send(b"MAIL FROM:<a@example.org>\r\nDATA\r\nMAIL FROM:<a@example.org>\r\n");
        assert_eq!(codes(&lines), ["250", "503", "503"]);
        assert_eq!(lines[1], "503 5.5.1 Need RCPT command first");
        assert_eq!(lines[2], "503 5.5.1 Nested MAIL command");
        let lines = h.send(b"RSET\r\nNOOP\r\nVRFY bob\r\nHELP\r\nEXPN list\r\nFOO bar\r\n");
        assert_eq!(codes(&lines), ["250", "250", "252", "214", "502", "500"]);
        let lines =
            h.send(b"MAIL FROM:<a@example.org> RET=FULL\r\nMAIL FROM:<a@example.org> XYZ=1\r\n");
        assert_eq!(codes(&lines), ["555", "555"]);
        let lines = h.send(b"MAIL FROM:<not an address>\r\n");
        assert_eq!(codes(&lines), ["501"]);
        assert!(h.delivered.is_empty());
    }

    #[test]
    fn limits_lines_recipients_and_size() {
        let mut h = Harness::new();
        h.ehlo();
        // A line over the limit, in two pieces, then the session goes on.
        let long = vec![b'x'; 150];
        let lines = h.send(&long);
        assert_eq!(lines, ["500 5.5.2 Line too long"]);
        assert!(h.send(b"yyy\r\n").is_empty());
        assert_eq!(codes(&h.send(b"NOOP\r\n")), ["250"]);
        // A complete line over the limit.
        let mut line = b"NOOP ".to_vec();
        line.extend(vec![b'z'; 120]);
        line.extend(b"\r\nNOOP\r\n");
        assert_eq!(codes(&h.send(&line)), ["500", "250"]);

        // Recipients.
        let lines = h.send(
            b"MAIL FROM:<a@x.org>\r\nRCPT TO:<1@x.org>\r\nRCPT TO:<2@x.org>\r\n\
              RCPT TO:<3@x.org>\r\nRCPT TO:<4@x.org>\r\nRSET\r\n",
        );
        assert_eq!(codes(&lines), ["250", "250", "250", "250", "452", "250"]);
        assert!(lines[4].starts_with("452 4.5.3 Too many recipients"));

        // Declared size over the limit.
        let lines = h.send(b"MAIL FROM:<a@x.org> SIZE=1001\r\n");
        assert_eq!(
            lines[0],
            "552 5.3.4 Message size exceeds fixed limit of 1000 bytes"
        );

        // Actual size over the limit: read to the end, refused, not stored.
        let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n");
        assert_eq!(codes(&lines), ["250", "250", "354"]);
        for _ in 0..30 {
            assert!(h.send(&[b'a'; 99]).is_empty());
            assert!(h.send(b"\r\n").is_empty());
        }
        let lines = h.send(b".\r\nNOOP\r\n");
        assert_eq!(codes(&lines), ["552", "250"]);
        assert!(lines[0].starts_with("552 5.3.4"));
        assert!(h.delivered.is_empty());
    }

    #[test]
    fn chunking() {
        let mut h = Harness::new();
        h.ehlo();
        let lines = h.send(
            b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 5\r\nhel\r\nBDAT 4 LAST\r\n\r\n.\n",
        );
        assert_eq!(codes(&lines), ["250", "250", "250", "250"]);
        assert_eq!(lines[2], "250 2.0.0 5 octets received");
        assert_eq!(h.delivered[0].raw, b"hel\r\n\r\n.\n");
        // BDAT 0 LAST ends a message; DATA after BDAT is refused.
        let lines = h.send(
            b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 2\r\nokDATA\r\nBDAT 0 LAST\r\n",
        );
        assert_eq!(codes(&lines), ["250", "250", "250", "503", "250"]);
        assert_eq!(h.delivered[1].raw, b"ok");
        // BDAT out of sequence: its chunk is still skipped, not read as commands.
        let lines = h.send(b"BDAT 6\r\nQUIT\r\nNOOP\r\n");
        assert_eq!(codes(&lines), ["503", "250"]);
        // Over the size limit: skipped, refused, transaction reset.
        let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 1001 LAST\r\n");
        assert_eq!(codes(&lines), ["250", "250"]);
        assert!(h.send(&[b'q'; 1000]).is_empty());
        let lines = h.send(b"qRCPT TO:<c@x.org>\r\n");
        assert_eq!(codes(&lines), ["552", "503"]);
        assert_eq!(h.delivered.len(), 2);
    }

    #[test]
    fn auth_plain_and_login_accept_anyone() {
        let mut h = Harness::new();
        let lines = h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\n");
        assert_eq!(codes(&lines), ["503"]);
        h.ehlo();
        // PLAIN with an initial response: \0sandbox\0sandbox.
        let lines = h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\n");
        assert_eq!(codes(&lines), ["235"]);
        assert_eq!(
            codes(&h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\n")),
            ["503"]
        );
        let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nhi\r\n.\r\n");
        assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
        assert_eq!(h.delivered[0].auth_user.as_deref(), Some("sandbox"));

        // LOGIN, step by step, then PLAIN without an initial response.
        let mut h = Harness::new();
        h.ehlo();
        assert_eq!(h.send(b"AUTH LOGIN\r\n"), ["334 VXNlcm5hbWU6"]);
        assert_eq!(h.send(b"Ym9i\r\n"), ["334 UGFzc3dvcmQ6"]);
        assert_eq!(codes(&h.send(b"eHl6\r\n")), ["235"]);
        assert_eq!(h.session.auth_user.as_deref(), Some("bob"));

        let mut h = Harness::new();
        h.ehlo();
        assert_eq!(h.send(b"AUTH PLAIN\r\n"), ["334 "]);
        assert_eq!(codes(&h.send(b"*\r\n")), ["501"]);
        assert_eq!(codes(&h.send(b"AUTH PLAIN\r\n!!!\r\n")), ["334", "501"]);
        assert_eq!(codes(&h.send(b"AUTH CRAM-MD5\r\n")), ["504"]);
        assert_eq!(codes(&h.send(b"AUTH LOGIN Ym9i\r\n")), ["334"]);
        assert_eq!(codes(&h.send(b"pw\r\n")), ["235"]);
    }

    #[test]
    fn starttls_drops_what_was_pipelined_after_it() {
        let mut h = Harness::new();
        h.ehlo();
        let lines = h
            .send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\nSTARTTLS\r\nMAIL FROM:<evil@x.org>\r\n");
        assert_eq!(codes(&lines), ["235", "220"]);
        assert_eq!(h.last_action, Action::StartTls);
        h.session.tls_started();
        assert!(h.session.tls);
        assert!(h.session.input.is_empty());
        // The session starts afresh: no EHLO, no login, no sender.
        assert_eq!(codes(&h.send(b"MAIL FROM:<a@x.org>\r\n")), ["503"]);
        h.ehlo();
        assert_eq!(h.session.auth_user, None);
        assert_eq!(codes(&h.send(b"STARTTLS\r\n")), ["503"]);
        let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
        assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
        assert!(h.delivered[0].tls);
    }

    #[test]
    fn a_storage_failure_is_a_temporary_error() {
        let mut s = Session::new(LIMITS);
        s.input(b"EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
        let mut deliver = |_: Delivery| Err("disk full".to_owned());
        assert_eq!(s.process(&mut deliver), Action::Continue);
        let out = String::from_utf8(s.take_output()).unwrap();
        assert!(
            out.ends_with("451 4.3.0 Message not stored: disk full\r\n"),
            "{out}"
        );
    }

    #[test]
    fn timeout_reply() {
        let mut s = Session::new(LIMITS);
        s.take_output();
        s.timed_out();
        assert_eq!(
            s.take_output(),
            b"421 4.4.2 postscope.sandbox Error: timeout exceeded\r\n"
        );
    }
}
