//! Server replies: reply codes, classes, enhanced status codes (RFC 3463) and
//! a bounded, incremental parser that turns bytes from the server into
//! [`Reply`] values.
//!
//! The parser is strict where leniency would hide a broken or hostile server:
//! lines must end in CRLF, may not contain NUL, may not exceed
//! [`MAX_LINE_LEN`], and every line of a multi-line reply must carry the same
//! code (RFC 5321 §4.2.1). Reply text that is not UTF-8 is kept lossily rather
//! than rejected, since servers do send Latin-1 greetings.

use std::fmt;

/// The longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 sets
/// 512 octets; real servers exceed it, so we allow far more but still bound it.
pub const MAX_LINE_LEN: usize = 100 * 1024;

/// The most lines one multi-line reply may have before we call it endless.
pub const MAX_REPLY_LINES: usize = 1000;

/// A three-digit reply code such as 250 or 550.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ReplyCode(pub u16);

impl ReplyCode {
    /// 220: the service is ready (the greeting; STARTTLS may begin).
    pub const READY: ReplyCode = ReplyCode(220);
    /// 221: closing the connection (QUIT's answer).
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235: authentication succeeded (RFC 4954).
    pub const AUTH_OK: ReplyCode = ReplyCode(235);
    /// 250: the requested action was completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 334: a SASL challenge; send the next response (RFC 4954).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354: start the message; end it with a line holding one dot.
    pub const START_DATA: ReplyCode = ReplyCode(354);
    /// 421: the service is closing the connection (may come at any time).
    pub const UNAVAILABLE: ReplyCode = ReplyCode(421);
    /// 452: insufficient storage; after RCPT, too many recipients
    /// (RFC 5321 §4.5.3.1.10).
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 214: a help message.
    pub const HELP: ReplyCode = ReplyCode(214);
    /// 252: cannot verify the user, but the message will be tried.
    pub const CANNOT_VERIFY: ReplyCode = ReplyCode(252);
    /// 451: aborted, a local error in processing.
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 500: syntax error, command unrecognized (or a line too long).
    pub const UNRECOGNIZED: ReplyCode = ReplyCode(500);
    /// 501: syntax error in parameters or arguments.
    pub const BAD_ARGUMENTS: ReplyCode = ReplyCode(501);
    /// 502: command not implemented.
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503: bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504: command parameter (such as an AUTH mechanism) not implemented.
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 552: exceeded storage allocation (the message is too big).
    pub const TOO_BIG: ReplyCode = ReplyCode(552);
    /// 555: MAIL or RCPT parameters not recognized (RFC 5321 §4.2.2).
    pub const UNKNOWN_PARAMETERS: ReplyCode = ReplyCode(555);

    /// The reply's class, from its first digit (RFC 5321 §4.2.1).
    pub fn class(self) -> ReplyClass {
        match self.0 / 100 {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// True for 2xx replies.
    pub fn is_positive(self) -> bool {
        self.class() == ReplyClass::PositiveCompletion
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The four reply classes of RFC 5321 §4.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyClass {
    /// 2yz: the requested action was completed.
    PositiveCompletion,
    /// 3yz: go on (354 to DATA, 334 during AUTH).
    PositiveIntermediate,
    /// 4yz: a temporary failure; the same command may succeed later.
    TransientNegative,
    /// 5yz: a permanent failure; do not repeat the same command as is.
    PermanentNegative,
}

/// An enhanced mail system status code (RFC 3463), such as `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject: 0 other, 1 addressing, 2 mailbox, 3 mail system,
    /// 4 network and routing, 5 mail delivery protocol, 6 message content,
    /// 7 security or policy.
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl EnhancedCode {
    /// `class.subject.detail`.
    pub const fn new(class: u8, subject: u16, detail: u16) -> EnhancedCode {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// 2.0.0: success.
    pub const OK: EnhancedCode = EnhancedCode::new(2, 0, 0);
    /// 2.1.0: the sender is fine.
    pub const SENDER_OK: EnhancedCode = EnhancedCode::new(2, 1, 0);
    /// 2.1.5: the recipient is fine.
    pub const RECIPIENT_OK: EnhancedCode = EnhancedCode::new(2, 1, 5);
    /// 2.5.0: the mail system did what was asked (VRFY).
    pub const PROTOCOL_OK: EnhancedCode = EnhancedCode::new(2, 5, 0);
    /// 2.7.0: authentication succeeded.
    pub const AUTH_OK: EnhancedCode = EnhancedCode::new(2, 7, 0);
    /// 4.3.0: a temporary mail system problem.
    pub const SYSTEM_TEMPORARY: EnhancedCode = EnhancedCode::new(4, 3, 0);
    /// 4.7.0: a temporary refusal for security or policy reasons.
    pub const SECURITY_TEMPORARY: EnhancedCode = EnhancedCode::new(4, 7, 0);
    /// 4.4.2: the connection went idle too long.
    pub const TIMED_OUT: EnhancedCode = EnhancedCode::new(4, 4, 2);
    /// 4.5.3: too many recipients.
    pub const TOO_MANY_RECIPIENTS: EnhancedCode = EnhancedCode::new(4, 5, 3);
    /// 5.0.0: a permanent failure with nothing more to say (AUTH cancelled).
    pub const FAILED: EnhancedCode = EnhancedCode::new(5, 0, 0);
    /// 5.1.3: the recipient address is malformed.
    pub const BAD_RECIPIENT_SYNTAX: EnhancedCode = EnhancedCode::new(5, 1, 3);
    /// 5.1.7: the sender address is malformed.
    pub const BAD_SENDER_SYNTAX: EnhancedCode = EnhancedCode::new(5, 1, 7);
    /// 5.3.4: the message is too big for the system.
    pub const TOO_BIG: EnhancedCode = EnhancedCode::new(5, 3, 4);
    /// 5.5.1: invalid command (out of sequence).
    pub const INVALID_COMMAND: EnhancedCode = EnhancedCode::new(5, 5, 1);
    /// 5.5.2: syntax error.
    pub const SYNTAX_ERROR: EnhancedCode = EnhancedCode::new(5, 5, 2);
    /// 5.5.4: invalid command arguments.
    pub const INVALID_ARGUMENTS: EnhancedCode = EnhancedCode::new(5, 5, 4);

    /// Parses a code at the start of `text`, returning it and the rest of the
    /// text after the separating space.
    pub fn parse_prefix(text: &str) -> Option<(EnhancedCode, &str)> {
        let (token, rest) = match text.find(' ') {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text, ""),
        };
        let mut parts = token.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(class, 1) && digits(subject, 3) && digits(detail, 3)) {
            return None;
        }
        let class: u8 = class.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some((
            EnhancedCode {
                class,
                subject: subject.parse().ok()?,
                detail: detail.parse().ok()?,
            },
            rest,
        ))
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl serde::Serialize for EnhancedCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One complete reply: its code and the text of every line (without the
/// code and separator).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    /// The three-digit code shared by every line.
    pub code: ReplyCode,
    /// The enhanced status code of the first line, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line, in order, without the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply as a server sends it, with its enhanced status
    /// code in front of the text when it has one (RFC 2034).
    pub fn new(code: ReplyCode, enhanced: Option<EnhancedCode>, text: &str) -> Reply {
        let line = match enhanced {
            Some(e) => format!("{e} {text}"),
            None => text.to_owned(),
        };
        Reply {
            code,
            enhanced,
            lines: vec![line],
        }
    }

    /// A reply of several lines (an EHLO reply), without enhanced codes.
    pub fn multiline(code: ReplyCode, lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    /// Appends the reply as it goes on the wire: `250-text` for every line
    /// but the last, `250 text` for it, each ended by CRLF. Control
    /// characters in the text (a line break, a NUL) become spaces, so no
    /// line ends early and no client sees them.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        let empty = [String::new()];
        let lines = if self.lines.is_empty() {
            &empty[..]
        } else {
            &self.lines[..]
        };
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{sep}", self.code).as_bytes());
            // No control character reaches the wire: a client's words
            // echoed back (an EHLO name with NULs, found by fuzzing) are
            // spaced out, never a line break or a NUL.
            out.extend(line.bytes().map(|b| {
                if b.is_ascii_control() && b != b'\t' {
                    b' '
                } else {
                    b
                }
            }));
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The first line's text (for a one-line reply, the whole text).
    pub fn first_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// The text of every line joined with spaces, without an enhanced code
    /// at the start: what a person wants quoted in an error message.
    pub fn message(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let text = EnhancedCode::parse_prefix(line).map_or(line.as_str(), |(_, rest)| rest);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(text.trim());
        }
        out
    }

    /// True for 2xx replies.
    pub fn is_positive(&self) -> bool {
        self.code.is_positive()
    }
}

impl fmt::Display for Reply {
    /// `550 5.1.1 no such user` — the code and the first line, as people quote it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message())
    }
}

/// Why the server's bytes could not be parsed as a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A line longer than [`MAX_LINE_LEN`] without CRLF.
    #[error("the server sent a reply line longer than {MAX_LINE_LEN} bytes")]
    LineTooLong,
    /// More than [`MAX_REPLY_LINES`] continuation lines.
    #[error("the server sent a reply of more than {MAX_REPLY_LINES} lines")]
    TooManyLines,
    /// A line ending in LF without CR.
    #[error("the server ended a reply line with a bare LF instead of CRLF: {0:?}")]
    BareLf(String),
    /// A NUL byte in a reply line.
    #[error("the server sent a NUL byte in a reply line")]
    Nul,
    /// A CR inside a reply line, not before its LF (found by fuzzing: it
    /// was kept in the text, where a terminal would act on it).
    #[error("the server sent a bare CR inside a reply line: {0:?}")]
    BareCr(String),
    /// A line that does not start with a three-digit code and a separator.
    #[error("the server sent something that is not an SMTP reply: {0:?}")]
    Malformed(String),
    /// A multi-line reply whose lines carry different codes.
    #[error("the server sent a multi-line reply with mixed codes ({first} then {then})")]
    MixedCodes {
        /// The code of the first line.
        first: u16,
        /// The different code that followed.
        then: u16,
    },
}

/// One line of a reply, as it arrives (for the live transcript).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    /// The line's code.
    pub code: ReplyCode,
    /// True when this is the last line of its reply (`250 ` rather than `250-`).
    pub last: bool,
    /// The whole line as received, without CRLF (lossy UTF-8).
    pub raw: String,
}

/// Incremental reply parser: feed bytes with [`ReplyParser::push`], take
/// lines and replies out with [`ReplyParser::next_line`]. Holds at most one
/// partial line plus the lines of the reply in progress.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buf: Vec<u8>,
    pending: Option<Reply>,
}

/// What [`ReplyParser::next_line`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A line that continues a reply (`250-…`).
    Line(ReplyLine),
    /// The last line of a reply, and the whole reply.
    Reply(ReplyLine, Reply),
}

impl ReplyParser {
    /// Appends bytes received from the server.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet parsed into complete lines.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True while a multi-line reply has started but not ended.
    pub fn in_reply(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes the next complete line, if one has arrived. Returns `Ok(None)`
    /// when more bytes are needed; an error is final for this connection.
    pub fn next_line(&mut self) -> Result<Option<Parsed>, ParseError> {
        let Some(lf) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() > MAX_LINE_LEN {
                return Err(ParseError::LineTooLong);
            }
            return Ok(None);
        };
        if lf + 1 > MAX_LINE_LEN {
            return Err(ParseError::LineTooLong);
        }
        let line: Vec<u8> = self.buf.drain(..=lf).collect();
        let body = &line[..line.len() - 1];
        let Some(body) = body.strip_suffix(b"\r") else {
            return Err(ParseError::BareLf(
                String::from_utf8_lossy(body).into_owned(),
            ));
        };
        if body.contains(&0) {
            return Err(ParseError::Nul);
        }
        if body.contains(&b'\r') {
            return Err(ParseError::BareCr(
                String::from_utf8_lossy(body).into_owned(),
            ));
        }
        let raw = String::from_utf8_lossy(body).into_owned();
        let (code, last, text) = split_line(&raw)?;
        let text = text.to_owned();
        let reply = match self.pending.take() {
            Some(mut reply) => {
                if reply.code != code {
                    return Err(ParseError::MixedCodes {
                        first: reply.code.0,
                        then: code.0,
                    });
                }
                if reply.lines.len() >= MAX_REPLY_LINES {
                    return Err(ParseError::TooManyLines);
                }
                reply.lines.push(text);
                reply
            }
            None => Reply {
                code,
                enhanced: EnhancedCode::parse_prefix(&text).map(|(e, _)| e),
                lines: vec![text],
            },
        };
        let line = ReplyLine { code, last, raw };
        if last {
            Ok(Some(Parsed::Reply(line, reply)))
        } else {
            self.pending = Some(reply);
            Ok(Some(Parsed::Line(line)))
        }
    }
}

/// Splits `250-text` / `250 text` / `250` into code, last-line flag and text.
fn split_line(raw: &str) -> Result<(ReplyCode, bool, &str), ParseError> {
    let bytes = raw.as_bytes();
    let malformed = || ParseError::Malformed(truncate(raw, 80));
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    let code: u16 = raw[..3].parse().map_err(|_| malformed())?;
    if !(200..600).contains(&code) || bytes[1] > b'5' {
        return Err(malformed());
    }
    match bytes.get(3) {
        None => Ok((ReplyCode(code), true, "")),
        Some(b' ') => Ok((ReplyCode(code), true, &raw[4..])),
        Some(b'-') => Ok((ReplyCode(code), false, &raw[4..])),
        Some(_) => Err(malformed()),
    }
}

/// Shortens text for an error message, on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Reply>, ParseError> {
        let mut p = ReplyParser::default();
        p.push(input);
        let mut out = Vec::new();
        while let Some(parsed) = p.next_line()? {
            if let Parsed::Reply(_, r) = parsed {
                out.push(r);
            }
        }
        Ok(out)
    }

    #[test]
    fn a_server_reply_encodes_as_the_parser_reads_it() {
        let replies = [
            Reply::new(
                ReplyCode::OK,
                Some(EnhancedCode::SENDER_OK),
                "Sender <a@x.org> OK",
            ),
            Reply::new(ReplyCode::AUTH_CHALLENGE, None, ""),
            Reply::new(ReplyCode::UNAVAILABLE, Some(EnhancedCode::TIMED_OUT), "bye"),
            Reply::multiline(
                ReplyCode::OK,
                vec!["mx Hello".into(), "PIPELINING".into(), "SIZE 10".into()],
            ),
        ];
        for reply in replies {
            let mut wire = Vec::new();
            reply.encode(&mut wire);
            assert_eq!(
                parse_all(&wire).unwrap(),
                std::slice::from_ref(&reply),
                "{wire:?}"
            );
        }
        let mut wire = Vec::new();
        Reply::new(ReplyCode::OK, Some(EnhancedCode::OK), "OK").encode(&mut wire);
        assert_eq!(wire, b"250 2.0.0 OK\r\n");
        let mut wire = Vec::new();
        Reply::new(ReplyCode::OK, None, "two\r\n250 lines").encode(&mut wire);
        assert_eq!(
            wire, b"250 two  250 lines\r\n",
            "a line break cannot end the reply"
        );
    }

    #[test]
    fn single_line() {
        let r = parse_all(b"220 mx.example.org ESMTP ready\r\n").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, ReplyCode(220));
        assert_eq!(r[0].lines, vec!["mx.example.org ESMTP ready"]);
        assert_eq!(r[0].code.class(), ReplyClass::PositiveCompletion);
    }

    #[test]
    fn multi_line_and_bare_code() {
        let r = parse_all(b"250-mx hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354\r\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].lines, vec!["mx hello", "PIPELINING", "SIZE 1000"]);
        assert_eq!(r[1].code, ReplyCode(354));
        assert_eq!(r[1].lines, vec![""]);
        assert_eq!(r[1].code.class(), ReplyClass::PositiveIntermediate);
    }

    #[test]
    fn enhanced_codes() {
        let r = parse_all(b"550 5.1.1 <bob@example.org>: User unknown\r\n").unwrap();
        assert_eq!(
            r[0].enhanced,
            Some(EnhancedCode {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(r[0].message(), "<bob@example.org>: User unknown");
        assert_eq!(r[0].to_string(), "550 <bob@example.org>: User unknown");
        assert_eq!(
            EnhancedCode::parse_prefix("2.0.0"),
            Some((
                EnhancedCode {
                    class: 2,
                    subject: 0,
                    detail: 0
                },
                ""
            ))
        );
        assert_eq!(EnhancedCode::parse_prefix("3.0.0 x"), None);
        assert_eq!(EnhancedCode::parse_prefix("5.1 x"), None);
        assert_eq!(EnhancedCode::parse_prefix("5.1.1.1 x"), None);
        assert_eq!(EnhancedCode::parse_prefix("mx.example.org"), None);
    }

    #[test]
    fn split_across_pushes() {
        let mut p = ReplyParser::default();
        p.push(b"250-fir");
        assert_eq!(p.next_line().unwrap(), None);
        p.push(b"st\r\n250 la");
        assert!(matches!(p.next_line().unwrap(), Some(Parsed::Line(_))));
        assert!(p.in_reply());
        assert_eq!(p.next_line().unwrap(), None);
        p.push(b"st\r");
        assert_eq!(p.next_line().unwrap(), None);
        p.push(b"\n");
        match p.next_line().unwrap() {
            Some(Parsed::Reply(line, reply)) => {
                assert_eq!(line.raw, "250 last");
                assert_eq!(reply.lines, vec!["first", "last"]);
            }
            other => panic!("expected a reply, got {other:?}"),
        }
        assert!(!p.in_reply());
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(matches!(
            parse_all(b"hello\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_all(b"25\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_all(b"250x\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_all(b"650 no\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_all(b"190 no\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_all(b"270 no\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(parse_all(b"220 ok\n"), Err(ParseError::BareLf(_))));
        assert_eq!(parse_all(b"220 o\0k\r\n"), Err(ParseError::Nul));
        assert!(matches!(
            parse_all(b"354 \rBDAT 3 LAST\r\n"),
            Err(ParseError::BareCr(_))
        ));
        assert_eq!(
            parse_all(b"250-a\r\n550 b\r\n"),
            Err(ParseError::MixedCodes {
                first: 250,
                then: 550
            })
        );
    }

    #[test]
    fn lines_and_replies_are_bounded() {
        let mut p = ReplyParser::default();
        p.push(&vec![b'2'; MAX_LINE_LEN + 1]);
        assert_eq!(p.next_line(), Err(ParseError::LineTooLong));

        let mut endless = Vec::new();
        for _ in 0..=MAX_REPLY_LINES {
            endless.extend_from_slice(b"250-more\r\n");
        }
        assert_eq!(parse_all(&endless), Err(ParseError::TooManyLines));
    }

    #[test]
    fn non_utf8_text_is_kept_lossily() {
        let r = parse_all(b"220 caf\xe9 ready\r\n").unwrap();
        assert_eq!(r[0].lines[0], "caf\u{fffd} ready");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
