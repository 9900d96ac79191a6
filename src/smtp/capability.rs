//! ESMTP capabilities: what a server announces in its reply to EHLO
//! (RFC 5321 §4.1.1.1), parsed into [`Capabilities`].

use std::fmt;

use super::reply::Reply;
use super::sasl::Mechanism;

/// One extension keyword from the EHLO reply, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Capability {
    /// SIZE (RFC 1870): the largest message accepted, if the server says.
    Size {
        /// The limit in bytes; `None` or 0 means no fixed limit.
        limit: Option<u64>,
    },
    /// PIPELINING (RFC 2920): commands may be sent in batches.
    Pipelining,
    /// 8BITMIME (RFC 6152): 8-bit message bodies are accepted.
    EightBitMime,
    /// SMTPUTF8 (RFC 6531): UTF-8 addresses and headers.
    SmtpUtf8,
    /// STARTTLS (RFC 3207): the connection can be upgraded to TLS.
    StartTls,
    /// AUTH (RFC 4954) with the mechanisms offered.
    Auth {
        /// The mechanisms, as the server named them.
        mechanisms: Vec<Mechanism>,
    },
    /// CHUNKING (RFC 3030): BDAT may replace DATA.
    Chunking,
    /// BINARYMIME (RFC 3030).
    BinaryMime,
    /// DSN (RFC 3461): delivery status notifications can be requested.
    Dsn,
    /// ENHANCEDSTATUSCODES (RFC 2034): replies carry RFC 3463 codes.
    EnhancedStatusCodes,
    /// Any other keyword, kept as it was announced.
    Other {
        /// The keyword, upper-cased.
        name: String,
        /// The rest of the line.
        params: String,
    },
}

impl Capability {
    /// The keyword as the server would write it.
    pub fn keyword(&self) -> &str {
        match self {
            Capability::Size { .. } => "SIZE",
            Capability::Pipelining => "PIPELINING",
            Capability::EightBitMime => "8BITMIME",
            Capability::SmtpUtf8 => "SMTPUTF8",
            Capability::StartTls => "STARTTLS",
            Capability::Auth { .. } => "AUTH",
            Capability::Chunking => "CHUNKING",
            Capability::BinaryMime => "BINARYMIME",
            Capability::Dsn => "DSN",
            Capability::EnhancedStatusCodes => "ENHANCEDSTATUSCODES",
            Capability::Other { name, .. } => name,
        }
    }

    /// Parses one line of the EHLO reply (after the first, which is the
    /// server's greeting name).
    pub fn parse(line: &str) -> Option<Capability> {
        let line = line.trim();
        let (keyword, params) = match line.find([' ', '=']) {
            // `AUTH=LOGIN PLAIN` is an old, still common, spelling of AUTH.
            Some(i) => (&line[..i], line[i + 1..].trim()),
            None => (line, ""),
        };
        // RFC 5321 §4.1.1.1: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT
        // / "-"). Anything else (control characters, found by fuzzing) is
        // not an extension and is passed over.
        let keyword_ok = keyword
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !keyword_ok {
            return None;
        }
        let upper = keyword.to_ascii_uppercase();
        Some(match upper.as_str() {
            "SIZE" => Capability::Size {
                limit: params
                    .split_whitespace()
                    .next()
                    .and_then(|p| p.parse().ok()),
            },
            "PIPELINING" => Capability::Pipelining,
            "8BITMIME" => Capability::EightBitMime,
            "SMTPUTF8" => Capability::SmtpUtf8,
            "STARTTLS" => Capability::StartTls,
            "AUTH" => Capability::Auth {
                mechanisms: params
                    .split_whitespace()
                    .map(Mechanism::from_name)
                    .collect(),
            },
            "CHUNKING" => Capability::Chunking,
            "BINARYMIME" => Capability::BinaryMime,
            "DSN" => Capability::Dsn,
            "ENHANCEDSTATUSCODES" => Capability::EnhancedStatusCodes,
            _ => Capability::Other {
                name: upper,
                params: params.to_owned(),
            },
        })
    }

    /// One sentence saying what the extension means for a sender.
    pub fn describe(&self) -> String {
        match self {
            Capability::Size { limit: Some(n) } if *n > 0 => format!(
                "messages up to {} are accepted (RFC 1870)",
                super::format_bytes(*n)
            ),
            Capability::Size { .. } => "message size is declared; no fixed limit (RFC 1870)".into(),
            Capability::Pipelining => "commands can be sent in batches (RFC 2920)".into(),
            Capability::EightBitMime => "8-bit message bodies are accepted (RFC 6152)".into(),
            Capability::SmtpUtf8 => "UTF-8 addresses and headers are accepted (RFC 6531)".into(),
            Capability::StartTls => "the connection can be upgraded to TLS (RFC 3207)".into(),
            Capability::Auth { mechanisms } => {
                let names: Vec<&str> = mechanisms.iter().map(Mechanism::name).collect();
                format!("login with {} (RFC 4954)", names.join(", "))
            }
            Capability::Chunking => "messages can be sent in chunks with BDAT (RFC 3030)".into(),
            Capability::BinaryMime => "binary message bodies are accepted (RFC 3030)".into(),
            Capability::Dsn => "delivery status notifications can be requested (RFC 3461)".into(),
            Capability::EnhancedStatusCodes => {
                "replies carry detailed status codes such as 5.1.1 (RFC 2034)".into()
            }
            Capability::Other { .. } => "an extension Postscope does not use".into(),
        }
    }
}

/// JSON: `{"keyword": "SIZE", "params": "35882577", "description": "…"}`,
/// the same shape for every extension, known or not.
impl serde::Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let text = self.to_string();
        let params = text.strip_prefix(self.keyword()).unwrap_or("").trim();
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("keyword", self.keyword())?;
        map.serialize_entry("params", params)?;
        map.serialize_entry("description", &self.describe())?;
        map.end()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Size { limit: Some(n) } => write!(f, "SIZE {n}"),
            Capability::Auth { mechanisms } => {
                f.write_str("AUTH")?;
                for m in mechanisms {
                    write!(f, " {}", m.name())?;
                }
                Ok(())
            }
            Capability::Other { name, params } if !params.is_empty() => {
                write!(f, "{name} {params}")
            }
            other => f.write_str(other.keyword()),
        }
    }
}

/// Everything a server announced in one EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// The name the server gave for itself on the first line.
    pub server_name: String,
    /// The extensions, in the order announced.
    pub extensions: Vec<Capability>,
}

impl Capabilities {
    /// Reads a 250 reply to EHLO.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let server_name = reply
            .first_line()
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned();
        let mut extensions: Vec<Capability> = Vec::new();
        for line in reply.lines.iter().skip(1) {
            let Some(cap) = Capability::parse(line) else {
                continue;
            };
            // Servers that list AUTH twice (`AUTH PLAIN` and `AUTH=PLAIN`) mean one thing.
            if let Capability::Auth { mechanisms } = &cap
                && let Some(Capability::Auth { mechanisms: known }) = extensions
                    .iter_mut()
                    .find(|c| matches!(c, Capability::Auth { .. }))
            {
                for m in mechanisms {
                    if !known.contains(m) {
                        known.push(m.clone());
                    }
                }
                continue;
            }
            extensions.push(cap);
        }
        Capabilities {
            server_name,
            extensions,
        }
    }

    /// True when the server announced this keyword (case-insensitive).
    pub fn has(&self, keyword: &str) -> bool {
        self.extensions
            .iter()
            .any(|c| c.keyword().eq_ignore_ascii_case(keyword))
    }

    /// True when the server announced this extension (parameters aside):
    /// `caps.offers(&Capability::StartTls)`.
    pub fn offers(&self, extension: &Capability) -> bool {
        self.has(extension.keyword())
    }

    /// The SIZE limit, if one was announced and is not 0.
    pub fn size_limit(&self) -> Option<u64> {
        self.extensions.iter().find_map(|c| match c {
            Capability::Size { limit: Some(n) } if *n > 0 => Some(*n),
            _ => None,
        })
    }

    /// True when SIZE was announced at all (so MAIL FROM may declare it).
    pub fn supports_size(&self) -> bool {
        self.offers(&Capability::Size { limit: None })
    }

    /// The AUTH mechanisms offered, empty when AUTH was not announced.
    pub fn auth_mechanisms(&self) -> &[Mechanism] {
        self.extensions
            .iter()
            .find_map(|c| match c {
                Capability::Auth { mechanisms } => Some(mechanisms.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::ReplyCode;

    fn ehlo(lines: &[&str]) -> Reply {
        Reply {
            code: ReplyCode(250),
            enhanced: None,
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn parses_the_common_extensions() {
        let caps = Capabilities::from_ehlo(&ehlo(&[
            "mx.example.org Hello client [127.0.0.1]",
            "SIZE 35882577",
            "8BITMIME",
            "PIPELINING",
            "AUTH PLAIN LOGIN XOAUTH2",
            "AUTH=PLAIN LOGIN",
            "CHUNKING",
            "SMTPUTF8",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "STARTTLS",
            "X-EXPS GSSAPI NTLM",
            "etrn",
        ]));
        assert_eq!(caps.server_name, "mx.example.org");
        assert_eq!(caps.size_limit(), Some(35_882_577));
        for k in [
            "8BITMIME",
            "PIPELINING",
            "CHUNKING",
            "SMTPUTF8",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "STARTTLS",
            "X-EXPS",
            "ETRN",
        ] {
            assert!(caps.has(k), "missing {k}");
        }
        assert_eq!(
            caps.auth_mechanisms(),
            &[Mechanism::Plain, Mechanism::Login, Mechanism::XOAuth2]
        );
        assert!(caps.extensions.contains(&Capability::Other {
            name: "X-EXPS".into(),
            params: "GSSAPI NTLM".into()
        }));
        // One AUTH entry even though it was announced twice.
        assert_eq!(
            caps.extensions
                .iter()
                .filter(|c| c.keyword() == "AUTH")
                .count(),
            1
        );
    }

    #[test]
    fn size_without_limit_and_unknown_mechanisms() {
        let caps = Capabilities::from_ehlo(&ehlo(&["mx", "SIZE", "AUTH CRAM-MD5 SCRAM-SHA-256"]));
        assert!(caps.supports_size());
        assert_eq!(caps.size_limit(), None);
        assert_eq!(
            caps.auth_mechanisms(),
            &[
                Mechanism::Other("CRAM-MD5".into()),
                Mechanism::Other("SCRAM-SHA-256".into())
            ]
        );
    }

    #[test]
    fn display_and_descriptions() {
        assert_eq!(
            Capability::parse("size 1000").unwrap().to_string(),
            "SIZE 1000"
        );
        assert_eq!(
            Capability::parse("SIZE 10000000").unwrap().describe(),
            "messages up to 10.0 MB are accepted (RFC 1870)"
        );
        assert_eq!(Capability::parse(""), None);
    }
}
