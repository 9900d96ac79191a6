//! SMTP commands: one variant per command, with two renderings kept apart —
//! [`Command::encode`] for the wire and [`Command::redacted`] for the
//! transcript, so a secret can only reach the socket, never a log.

use std::fmt;
use std::net::IpAddr;

use super::dsn::{Notify, Ret, xtext};
use super::sasl::Mechanism;

/// How the client names itself in EHLO/HELO (RFC 5321 §4.1.4): a domain
/// name, or an address literal when it has no usable name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientId {
    /// A fully qualified domain name.
    Domain(String),
    /// An address literal, written `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
    Address(IpAddr),
}

impl ClientId {
    /// The local host name if it looks like a domain, else `[127.0.0.1]`.
    /// RFC 5321 §4.1.4 asks for the FQDN, or an address literal when there is none.
    pub fn local() -> ClientId {
        hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            // A bare host name (no dot) is not the FQDN RFC 5321 asks for.
            .filter(|h| is_valid_domain(h) && h.contains('.'))
            .map(ClientId::Domain)
            .unwrap_or(ClientId::Address(IpAddr::from([127, 0, 0, 1])))
    }

    /// Parses what a user typed for `--ehlo`: a domain or an IP address
    /// (with or without brackets).
    pub fn parse(s: &str) -> Option<ClientId> {
        let inner = s
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .map(|s| s.strip_prefix("IPv6:").unwrap_or(s))
            .unwrap_or(s);
        if let Ok(ip) = inner.parse::<IpAddr>() {
            return Some(ClientId::Address(ip));
        }
        is_valid_domain(s).then(|| ClientId::Domain(s.to_owned()))
    }
}

fn is_valid_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Domain(d) => f.write_str(d),
            ClientId::Address(IpAddr::V4(ip)) => write!(f, "[{ip}]"),
            ClientId::Address(IpAddr::V6(ip)) => write!(f, "[IPv6:{ip}]"),
        }
    }
}

/// How a command line appears in the transcript, whoever made it: AUTH's
/// argument (an initial response: base64 of a password, perhaps) hidden.
/// [`Command::redacted`] and the console's typed lines both come here.
pub fn redact_typed(line: &str) -> String {
    let upper = line.to_ascii_uppercase();
    if upper.starts_with("AUTH ") {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("AUTH");
        let mechanism = words.next().unwrap_or("");
        return if words.next().is_some() {
            format!("{verb} {mechanism} <redacted>")
        } else {
            format!("{verb} {mechanism}")
        };
    }
    line.to_owned()
}

/// An ESMTP parameter of MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailParam {
    /// `SIZE=n`: the message's size in bytes (RFC 1870).
    Size(u64),
    /// `BODY=8BITMIME`: the message has 8-bit bytes (RFC 6152).
    EightBitMime,
    /// `SMTPUTF8`: addresses or headers are UTF-8 (RFC 6531).
    SmtpUtf8,
    /// `RET=FULL|HDRS`: what a failure notice returns (RFC 3461 §4.3).
    Ret(Ret),
    /// `ENVID=`: an ID notices quote, in xtext (RFC 3461 §4.4).
    EnvId(String),
}

impl fmt::Display for MailParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailParam::Size(n) => write!(f, "SIZE={n}"),
            MailParam::EightBitMime => f.write_str("BODY=8BITMIME"),
            MailParam::SmtpUtf8 => f.write_str("SMTPUTF8"),
            MailParam::Ret(ret) => write!(f, "RET={ret}"),
            MailParam::EnvId(id) => write!(f, "ENVID={}", xtext(id)),
        }
    }
}

/// An ESMTP parameter of RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptParam {
    /// `NOTIFY=`: when to send a notice (RFC 3461 §4.1).
    Notify(Notify),
    /// `ORCPT=`: the original recipient, `type;xtext` (RFC 3461 §4.2).
    Orcpt(String),
}

impl fmt::Display for RcptParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RcptParam::Notify(n) => write!(f, "NOTIFY={n}"),
            RcptParam::Orcpt(o) => write!(f, "ORCPT={o}"),
        }
    }
}

/// One command the client sends.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO <id>` (RFC 5321 §4.1.1.1).
    Ehlo(ClientId),
    /// `HELO <id>`, the fallback when EHLO is refused.
    Helo(ClientId),
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH <mechanism> [initial-response]` (RFC 4954). The response is a secret.
    Auth {
        /// The mechanism.
        mechanism: Mechanism,
        /// The base64 initial response, if sent with the command.
        initial: Option<String>,
    },
    /// A line answering a 334 challenge during AUTH. Always a secret.
    AuthResponse(String),
    /// `MAIL FROM:<path> [params]`.
    Mail {
        /// The reverse-path (empty for a bounce).
        from: String,
        /// ESMTP parameters such as `SIZE=1234`.
        params: Vec<MailParam>,
    },
    /// `RCPT TO:<path> [params]`.
    Rcpt {
        /// The forward-path.
        to: String,
        /// ESMTP parameters such as `NOTIFY=NEVER`.
        params: Vec<RcptParam>,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030); `size` bytes of message follow as is.
    Bdat {
        /// Bytes in this chunk.
        size: u64,
        /// The last chunk.
        last: bool,
    },
    /// `RSET`: abandon the transaction, keep the connection.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
}

impl Command {
    /// Appends the command as it goes on the wire, CRLF included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.line().as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// The command as the transcript shows it: secrets replaced by
    /// `<redacted>` (no length, which would hint at the password).
    pub fn redacted(&self) -> String {
        match self {
            // A SASL response is a secret whatever it looks like.
            Command::AuthResponse(_) => "<redacted>".into(),
            other => redact_typed(&other.line()),
        }
    }

    /// The command's verb, as a stable name for the transcript and errors.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } | Command::AuthResponse(_) => "AUTH",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
        }
    }

    /// The wire form, without the CRLF.
    fn line(&self) -> String {
        fn params<P: fmt::Display>(p: &[P]) -> String {
            p.iter().map(|p| format!(" {p}")).collect()
        }
        match self {
            Command::Ehlo(id) => format!("EHLO {id}"),
            Command::Helo(id) => format!("HELO {id}"),
            Command::StartTls => "STARTTLS".into(),
            Command::Auth { mechanism, initial } => match initial {
                Some(i) => format!("AUTH {mechanism} {i}"),
                None => format!("AUTH {mechanism}"),
            },
            Command::AuthResponse(r) => r.clone(),
            Command::Mail { from, params: p } => format!("MAIL FROM:<{from}>{}", params(p)),
            Command::Rcpt { to, params: p } => format!("RCPT TO:<{to}>{}", params(p)),
            Command::Data => "DATA".into(),
            Command::Bdat { size, last: false } => format!("BDAT {size}"),
            Command::Bdat { size, last: true } => format!("BDAT {size} LAST"),
            Command::Rset => "RSET".into(),
            Command::Noop => "NOOP".into(),
            Command::Quit => "QUIT".into(),
        }
    }
}

impl fmt::Debug for Command {
    /// Debug is the redacted form too: a `{:?}` in a log must not leak.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({:?})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(c: &Command) -> String {
        let mut out = Vec::new();
        c.encode(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn wire_forms() {
        let id = ClientId::Domain("client.example.org".into());
        assert_eq!(
            wire(&Command::Ehlo(id.clone())),
            "EHLO client.example.org\r\n"
        );
        assert_eq!(wire(&Command::Helo(id)), "HELO client.example.org\r\n");
        assert_eq!(
            wire(&Command::Mail {
                from: "a@example.org".into(),
                params: vec![MailParam::Size(1200), MailParam::EightBitMime]
            }),
            "MAIL FROM:<a@example.org> SIZE=1200 BODY=8BITMIME\r\n"
        );
        assert_eq!(
            wire(&Command::Mail {
                from: String::new(),
                params: vec![]
            }),
            "MAIL FROM:<>\r\n"
        );
        assert_eq!(
            wire(&Command::Rcpt {
                to: "b@example.org".into(),
                params: vec![],
            }),
            "RCPT TO:<b@example.org>\r\n"
        );
        assert_eq!(
            wire(&Command::Mail {
                from: String::new(),
                params: vec![MailParam::Ret(Ret::Hdrs), MailParam::EnvId("id 1+".into())]
            }),
            "MAIL FROM:<> RET=HDRS ENVID=id+201+2B\r\n"
        );
        assert_eq!(
            wire(&Command::Rcpt {
                to: "b@example.org".into(),
                params: vec![
                    RcptParam::Notify(Notify::NEVER),
                    RcptParam::Orcpt("rfc822;b@example.org".into())
                ],
            }),
            "RCPT TO:<b@example.org> NOTIFY=NEVER ORCPT=rfc822;b@example.org\r\n"
        );
        for (c, s) in [
            (Command::Data, "DATA"),
            (Command::Rset, "RSET"),
            (Command::Noop, "NOOP"),
            (Command::Quit, "QUIT"),
            (Command::StartTls, "STARTTLS"),
        ] {
            assert_eq!(wire(&c), format!("{s}\r\n"));
        }
    }

    #[test]
    fn secrets_only_on_the_wire() {
        let auth = Command::Auth {
            mechanism: Mechanism::Plain,
            initial: Some("AGFsaWNlAHNlY3JldA==".into()),
        };
        assert_eq!(wire(&auth), "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
        assert_eq!(auth.redacted(), "AUTH PLAIN <redacted>");
        assert!(!format!("{auth:?}").contains("AGFs"));
        let resp = Command::AuthResponse("c2VjcmV0".into());
        assert_eq!(wire(&resp), "c2VjcmV0\r\n");
        assert_eq!(resp.redacted(), "<redacted>");
        let bare = Command::Auth {
            mechanism: Mechanism::Login,
            initial: None,
        };
        assert_eq!(bare.redacted(), "AUTH LOGIN");
    }

    #[test]
    fn client_ids() {
        assert_eq!(
            ClientId::Address("127.0.0.1".parse().unwrap()).to_string(),
            "[127.0.0.1]"
        );
        assert_eq!(
            ClientId::Address("::1".parse().unwrap()).to_string(),
            "[IPv6:::1]"
        );
        assert_eq!(
            ClientId::parse("[IPv6:::1]"),
            Some(ClientId::Address("::1".parse().unwrap()))
        );
        assert_eq!(
            ClientId::parse("mail.example.org"),
            Some(ClientId::Domain("mail.example.org".into()))
        );
        assert_eq!(ClientId::parse("bad host"), None);
        assert_eq!(ClientId::parse("-bad.example"), None);
        // Whatever the machine's name, the default is something a server accepts.
        let local = ClientId::local().to_string();
        assert!(!local.is_empty() && !local.contains(' '));
    }
}
