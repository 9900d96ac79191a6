//! One SMTP conversation, server side, without I/O: bytes from the client
//! go in ([`Session::input`]), replies come out ([`Session::take_output`]),
//! and [`Session::process`] says what the connection must do next (go on,
//! start TLS, close). Accepted messages are handed to a callback that
//! stores them and returns their id.
//!
//! Commands are parsed with smtp-proto's `Request::parse`, one complete
//! line at a time; DATA is dot-unstuffed by its `DataReceiver` and BDAT
//! chunks are cut by its `BdatReceiver`.

use smtp_proto::request::receiver::{BdatReceiver, DataReceiver, DummyDataReceiver};
use smtp_proto::{Error as ParseError, Request};

mod auth;
mod transaction;

use super::{SERVER_NAME, advertised_extensions};
use crate::sandbox::dsn::DsnRequest;
use crate::smtp::reply::{EnhancedCode, Reply, ReplyCode};
use crate::smtp::sasl;

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
    pub dsn: DsnRequest,
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

/// What the session waits for from the client, for the connection's
/// timers: none between commands, a whole command (or AUTH exchange)
/// within its deadline, or message data at a minimum rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Between commands: nothing of the next one has come.
    Idle,
    /// Part of a command line has come, or an AUTH exchange is under way.
    Command,
    /// Message data (DATA or a BDAT chunk).
    Data,
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
    /// The DSN parameters of MAIL and of each accepted RCPT.
    dsn: DsnRequest,
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
    /// The command being answered (its verb), for the incidents.
    verb: &'static str,
    /// Every refusal or error sent since the last
    /// [`Session::take_incidents`], as `VERB: reply`.
    incidents: Vec<String>,
    /// Command lines (AUTH responses too) and messages completed so far.
    completed: u64,
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
            verb: "connect",
            incidents: Vec::new(),
            completed: 0,
        };
        s.say(Reply::new(
            ReplyCode::READY,
            None,
            &format!("{SERVER_NAME} Postscope sandbox ESMTP ready"),
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

    /// Ends the session with a `421` saying why (the connection then closes).
    pub fn close_with(&mut self, code: EnhancedCode, why: &str) {
        self.verb = "closed";
        self.reply(
            ReplyCode::UNAVAILABLE,
            code,
            &format!("{SERVER_NAME} {why}"),
        );
    }

    /// How many command lines (AUTH responses too) and messages have been
    /// completed: a change means the client made progress.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// What the session waits for now.
    pub fn waiting(&self) -> Waiting {
        match &self.mode {
            Mode::Data(_) | Mode::DataDiscard(_) | Mode::Bdat { .. } | Mode::BdatDiscard { .. } => {
                Waiting::Data
            }
            Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPassword(_) | Mode::SkipLine => {
                Waiting::Command
            }
            Mode::Command if self.input.is_empty() => Waiting::Idle,
            Mode::Command => Waiting::Command,
        }
    }

    /// The refusals and errors sent since the last call, each as
    /// `VERB: reply` (`MAIL: 552 5.3.4 Message size exceeds…`). Client
    /// words are never in them but the verb; AUTH's never at all.
    pub fn take_incidents(&mut self) -> Vec<String> {
        std::mem::take(&mut self.incidents)
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
        self.verb = "over-long line";
        self.reply(
            ReplyCode::UNRECOGNIZED,
            EnhancedCode::SYNTAX_ERROR,
            "Line too long",
        );
    }

    fn line(&mut self, line: &[u8], deliver: &mut Deliver<'_>) -> Action {
        self.completed += 1;
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
                if sasl::is_cancel(&String::from_utf8_lossy(line)) {
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
        self.verb = verb(line);
        if self.verb == "MAIL" && absurd_size(line) {
            // smtp-proto wraps a SIZE past usize::MAX round to a small number.
            let text = format!(
                "Message size exceeds fixed limit of {} bytes",
                self.limits.max_size
            );
            self.reply(ReplyCode::TOO_BIG, EnhancedCode::TOO_BIG, &text);
            return Action::Continue;
        }
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
                let extensions = advertised_extensions(self.limits.max_size, self.tls);
                lines.extend(extensions.iter().map(ToString::to_string));
                self.say(Reply::multiline(ReplyCode::OK, lines));
            }
            Request::Helo { host } => {
                let text = format!("{SERVER_NAME} Hello {host}");
                self.say(Reply::new(ReplyCode::OK, None, &text));
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
            Request::Noop { .. } => self.reply(ReplyCode::OK, EnhancedCode::OK, "OK"),
            Request::Vrfy { .. } => self.reply(
                ReplyCode::CANNOT_VERIFY, EnhancedCode::PROTOCOL_OK,
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Request::Help { .. } => self.reply(
                ReplyCode::HELP, EnhancedCode::OK,
                "Postscope sandbox: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            ),
            Request::StartTls => {
                if self.tls {
                    self.reply(ReplyCode::BAD_SEQUENCE, EnhancedCode::INVALID_COMMAND, "TLS is already active");
                } else {
                    self.reply(ReplyCode::READY, EnhancedCode::OK, "Ready to start TLS");
                    return Action::StartTls;
                }
            }
            Request::Rset => {
                self.tx = Transaction::default();
                self.reply(ReplyCode::OK, EnhancedCode::OK, "OK");
            }
            Request::Quit => {
                self.reply(ReplyCode::CLOSING, EnhancedCode::OK, &format!("{SERVER_NAME} closing connection"));
                return Action::Close;
            }
            Request::Lhlo { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.reply(ReplyCode::NOT_IMPLEMENTED, EnhancedCode::INVALID_COMMAND, "Command not implemented"),
        }
        Action::Continue
    }

    fn parse_error(&mut self, e: ParseError) {
        match e {
            ParseError::UnknownCommand => self.reply(
                ReplyCode::UNRECOGNIZED,
                EnhancedCode::SYNTAX_ERROR,
                "Command unrecognized",
            ),
            ParseError::SyntaxError { syntax } => self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::SYNTAX_ERROR,
                &format!("Syntax: {syntax}"),
            ),
            ParseError::InvalidSenderAddress => self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::BAD_SENDER_SYNTAX,
                "Bad sender address syntax",
            ),
            ParseError::InvalidRecipientAddress => self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::BAD_RECIPIENT_SYNTAX,
                "Bad recipient address syntax",
            ),
            ParseError::InvalidParameter { param } => self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::INVALID_ARGUMENTS,
                &format!("Invalid value for {param}"),
            ),
            ParseError::UnsupportedParameter { param } => {
                let param: String = param.chars().take(64).collect();
                self.reply(
                    ReplyCode::UNKNOWN_PARAMETERS,
                    EnhancedCode::INVALID_ARGUMENTS,
                    &format!("Unsupported parameter {param}"),
                )
            }
            _ => self.reply(
                ReplyCode::UNRECOGNIZED,
                EnhancedCode::SYNTAX_ERROR,
                "Syntax error",
            ),
        }
    }

    fn reply(&mut self, code: ReplyCode, esc: EnhancedCode, text: &str) {
        self.say(Reply::new(code, Some(esc), text));
    }

    fn say(&mut self, reply: Reply) {
        if reply.code.0 >= 400 {
            let text = reply.lines.first().map_or("", String::as_str);
            self.incidents
                .push(format!("{}: {} {text}", self.verb, reply.code));
        }
        reply.encode(&mut self.out);
    }
}

/// The command's verb, from a fixed list (the client's own words are not
/// kept): what an incident names.
fn verb(line: &[u8]) -> &'static str {
    const VERBS: [&str; 16] = [
        "EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "HELP",
        "STARTTLS", "AUTH", "EXPN", "LHLO", "ETRN",
    ];
    let word = line
        .split(|b| b.is_ascii_whitespace() || *b == b':')
        .next()
        .unwrap_or_default();
    VERBS
        .iter()
        .find(|v| v.as_bytes().eq_ignore_ascii_case(word))
        .copied()
        .unwrap_or("unknown command")
}

/// True when MAIL FROM's `SIZE=` is all digits but past what a u64 holds.
fn absurd_size(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    text.split_ascii_whitespace().skip(1).any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        name.eq_ignore_ascii_case("SIZE")
            && !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && value.parse::<u64>().is_err()
    })
}

#[cfg(test)]
mod tests;
