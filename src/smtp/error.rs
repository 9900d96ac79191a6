//! Stages of a session, how a session fails, and the exit status each
//! failure maps to (swaks's numbering, which scripts already know).

use std::fmt;
use std::time::Duration;

use super::reply::Reply;

/// The steps of a session, in order. Every failure happens in one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Resolving the host and opening TCP (and, for implicit TLS, the handshake).
    Connect,
    /// Waiting for the server's 220.
    Greeting,
    /// EHLO (or HELO).
    Ehlo,
    /// STARTTLS and the TLS handshake.
    Tls,
    /// EHLO again, inside TLS (RFC 3207 §4.2).
    TlsEhlo,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA, up to the 354.
    Data,
    /// The message data and the reply to its final dot.
    Message,
    /// QUIT.
    Quit,
}

impl Stage {
    /// Where a session may stop on purpose (swaks's `--quit-after`, the
    /// composer's "Stop after"), in session order. Once the point is passed
    /// Postscope says QUIT (after DATA's 354 it hangs up) and the session
    /// counts as a success; nothing after it is sent. `Tls` stops after
    /// STARTTLS, the handshake and EHLO again; `TlsEhlo` after the last
    /// EHLO, whether TLS came or not (swaks's `helo`).
    pub const STOP_POINTS: [Stage; 8] = [
        Stage::Connect,
        Stage::Greeting,
        Stage::Ehlo,
        Stage::Tls,
        Stage::Auth,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Data,
    ];

    /// Its name in JSON and on the command line (`rcpt`, `tls_ehlo`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "ehlo",
            Stage::Tls => "tls",
            Stage::TlsEhlo => "tls_ehlo",
            Stage::Auth => "auth",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
            Stage::Message => "message",
            Stage::Quit => "quit",
        }
    }

    /// A stage by its name or one of swaks's aliases, in any case:
    /// `banner` = greeting; `first-helo`, `first-ehlo`, `helo-first` =
    /// ehlo; `helo`, `last-ehlo` = the last EHLO; `starttls` = tls; `from`
    /// = mail; `to` = rcpt; `dot` = the message and the reply to its dot.
    pub fn from_name(name: &str) -> Option<Stage> {
        let name = name.trim().to_ascii_lowercase().replace('_', "-");
        Some(match name.as_str() {
            "connect" => Stage::Connect,
            "greeting" | "banner" => Stage::Greeting,
            "ehlo" | "first-helo" | "first-ehlo" | "helo-first" => Stage::Ehlo,
            "tls" | "starttls" => Stage::Tls,
            "tls-ehlo" | "helo" | "last-ehlo" => Stage::TlsEhlo,
            "auth" => Stage::Auth,
            "mail" | "from" => Stage::Mail,
            "rcpt" | "to" => Stage::Rcpt,
            "data" => Stage::Data,
            "message" | "dot" => Stage::Message,
            "quit" => Stage::Quit,
            _ => return None,
        })
    }

    /// What a person reads as a stop point, e.g. in "Stop after".
    pub fn stop_label(self) -> &'static str {
        match self {
            Stage::Connect => "connect (TCP only)",
            Stage::Greeting => "the greeting",
            Stage::Ehlo => "EHLO",
            Stage::Tls => "TLS",
            Stage::TlsEhlo => "the last EHLO",
            Stage::Auth => "login",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO (check recipients)",
            Stage::Data => "DATA (send no message)",
            Stage::Message => "the message",
            Stage::Quit => "QUIT",
        }
    }

    /// The exit status of a failure in this stage (see the README).
    pub fn exit_status(self) -> u8 {
        match self {
            Stage::Connect => 2,
            Stage::Greeting => 21,
            Stage::Ehlo => 22,
            Stage::Tls => 29,
            Stage::TlsEhlo => 32,
            Stage::Auth => 28,
            Stage::Mail => 23,
            Stage::Rcpt => 24,
            Stage::Data => 25,
            Stage::Message => 26,
            // A failure after the message was accepted is not a failure to deliver.
            Stage::Quit => 0,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Tls => "STARTTLS",
            Stage::TlsEhlo => "EHLO after STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "message data",
            Stage::Quit => "QUIT",
        })
    }
}

/// A recipient the server refused, with its reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The address.
    pub address: String,
    /// What the server said.
    pub reply: Reply,
}

/// Why a session ended without doing its job. Each variant knows its
/// [`Stage`], and so its exit status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The host could not be resolved or reached.
    #[error("could not connect to {target}: {detail}")]
    Connect {
        /// `host:port`.
        target: String,
        /// What the OS said.
        detail: String,
    },
    /// The server answered a command with a refusal.
    #[error("the server refused {stage}: {reply}")]
    Rejected {
        /// The stage of the refused command.
        stage: Stage,
        /// The server's reply.
        reply: Reply,
    },
    /// Recipients were refused (all of them, or some without `--allow-partial`).
    #[error("{}", describe_refusals(refused, *accepted, *delivered))]
    RecipientsRefused {
        /// Each refused address and its reply.
        refused: Vec<Refusal>,
        /// How many were accepted in the abandoned transaction (nothing was
        /// sent to them).
        accepted: usize,
        /// How many already got the message in an earlier transaction
        /// (after a `452 too many recipients`).
        delivered: usize,
    },
    /// The server (or the message) lacks something this session requires.
    #[error("{what}")]
    Missing {
        /// The stage that needed it.
        stage: Stage,
        /// What is missing.
        what: Missing,
    },
    /// The server broke the protocol (garbage, bare LF, an endless reply, data injected after STARTTLS…).
    #[error("protocol error during {stage}: {detail}")]
    Protocol {
        /// Where it happened.
        stage: Stage,
        /// What was wrong.
        detail: String,
    },
    /// TLS could not be established: handshake, certificate or configuration.
    #[error("TLS failed: {detail}")]
    Tls {
        /// The stage (connect for implicit TLS, STARTTLS otherwise).
        stage: Stage,
        /// What rustls or the certificate check said.
        detail: String,
        /// The certificate's issuer is not trusted here: trusting that CA
        /// (or, for testing, accepting invalid certificates) would get past it.
        unknown_issuer: bool,
    },
    /// AUTH could not start (wrong kind of secret, unsupported mechanism).
    #[error("cannot log in: {0}")]
    Auth(#[from] super::sasl::SaslError),
    /// No reply within the stage's time limit.
    #[error("timed out after {} s waiting for the server during {stage}{}", after.as_secs(), if *silent { " (it sent nothing at all after the connection opened)" } else { "" })]
    Timeout {
        /// The stage that waited.
        stage: Stage,
        /// How long it waited.
        after: Duration,
        /// Nothing at all came after connecting in clear text: the port
        /// may expect TLS from the first byte.
        silent: bool,
    },
    /// The connection closed or broke with no reply to blame.
    #[error("the connection closed unexpectedly during {stage}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ConnectionLost {
        /// Where it happened.
        stage: Stage,
        /// The OS error, if any.
        detail: Option<String>,
    },
    /// The connection broke after the whole message was sent and before the
    /// server confirmed it: it may or may not have been delivered.
    #[error(
        "delivery unknown: {reason} after the message was sent; the server may have accepted it, so check before sending again"
    )]
    DeliveryUnknown {
        /// What happened ("the connection closed", "no reply within 600 s").
        reason: String,
    },
    /// The message is larger than the server's SIZE limit; nothing was uploaded.
    #[error("the message is {} but the server accepts at most {} (SIZE); nothing was sent", super::format_bytes(*size), super::format_bytes(*limit))]
    TooLarge {
        /// The message size in bytes.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// Reading the message to send failed.
    #[error("could not read the message to send: {0}")]
    Body(String),
    /// The user cancelled.
    #[error("cancelled during {stage}")]
    Cancelled {
        /// Where it was cancelled.
        stage: Stage,
    },
}

/// What a session found missing. Its text says what, in the protocol's
/// words; what the person can do about it is [`SessionError::remedy`],
/// which each face words its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// TLS is required and the server does not offer STARTTLS.
    StartTls,
    /// A login was asked for and the server does not offer AUTH.
    Auth,
    /// The server's AUTH mechanisms and the credentials have none in common.
    CommonMechanism {
        /// The mechanisms the server offers.
        offered: Vec<String>,
    },
    /// A password would go over a connection that is not encrypted.
    EncryptionForLogin,
    /// An address is not ASCII and the server lacks SMTPUTF8.
    SmtpUtf8,
    /// Delivery notices were asked for and the server lacks DSN.
    Dsn,
    /// The message has no recipient.
    Recipients,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::StartTls => f.write_str(
                "the server does not offer STARTTLS, and TLS is required: \
                 nothing was sent in clear text",
            ),
            Missing::Auth => {
                f.write_str("the server does not offer AUTH, so Postscope cannot log in")
            }
            Missing::CommonMechanism { offered } => write!(
                f,
                "no AUTH mechanism in common: the server offers {} and Postscope \
                 can use PLAIN or LOGIN with a password, XOAUTH2 with a token",
                offered.join(", ")
            ),
            Missing::EncryptionForLogin => f.write_str(
                "refusing to send the password over an unencrypted connection \
                 (the server did not offer STARTTLS)",
            ),
            Missing::SmtpUtf8 => f.write_str(
                "an address has non-ASCII characters but the server does not offer \
                 SMTPUTF8; use an ASCII address",
            ),
            Missing::Dsn => f.write_str(
                "delivery status notifications (NOTIFY, RET or ENVID) were asked for but the \
                 server does not offer DSN (RFC 3461); nothing was sent",
            ),
            Missing::Recipients => {
                f.write_str("the message has no recipients; give at least one of To, Cc or Bcc")
            }
        }
    }
}

/// A setting the person can change to get past a failure. The engine only
/// names it; the command line says which flag, the window which control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// STARTTLS is missing: choose implicit TLS if the port expects TLS from
    /// the first byte, or no TLS to send unencrypted on purpose.
    ChooseTlsMode,
    /// AUTH is missing: send without logging in.
    SendWithoutLogin,
    /// Some recipients were refused: deliver to the accepted ones anyway.
    AllowPartial,
    /// The server lacks DSN: send without asking for delivery notices.
    SendWithoutDsn,
    /// The server said nothing after the connection opened: the port may
    /// expect TLS from the first byte (implicit TLS).
    TryImplicitTls,
    /// The server's certificate comes from a CA this machine does not
    /// trust: trust that CA's certificate, or (testing only) skip the check.
    TrustIssuer,
    /// A password login refused because the server wants OAuth2
    /// (Microsoft's `5.7.30 Basic authentication is not supported`,
    /// Google's `5.7.9 Application-specific password required`): sign in
    /// with OAuth2 instead.
    UseOAuth2,
}

/// Whether a refused login says the server takes OAuth2, not passwords.
fn wants_oauth2(reply: &Reply) -> bool {
    let code = reply.enhanced.map(|e| (e.class, e.subject, e.detail));
    let text = reply.lines.join(" ").to_ascii_lowercase();
    matches!(code, Some((5, 7, 30 | 9))) || text.contains("basic authentication is not supported")
}

fn describe_refusals(refused: &[Refusal], accepted: usize, delivered: usize) -> String {
    let list: Vec<String> = refused
        .iter()
        .map(|r| format!("<{}>: {}", r.address, r.reply))
        .collect();
    let total = refused.len() + accepted + delivered;
    let mut head = if accepted == 0 && delivered == 0 {
        "every recipient was refused".to_string()
    } else {
        format!("{} of {total} recipients refused", refused.len())
    };
    if delivered > 0 {
        head.push_str(&format!(
            "; {delivered} already got the message in an earlier transaction, the other {} did not",
            total - delivered
        ));
    } else if accepted > 0 {
        head.push_str(", so nothing was sent");
    }
    format!("{head}: {}", list.join("; "))
}

impl SessionError {
    /// The stage the failure belongs to.
    pub fn stage(&self) -> Stage {
        match self {
            SessionError::Connect { .. } => Stage::Connect,
            SessionError::Rejected { stage, .. }
            | SessionError::Missing { stage, .. }
            | SessionError::Protocol { stage, .. }
            | SessionError::Tls { stage, .. }
            | SessionError::Timeout { stage, .. }
            | SessionError::ConnectionLost { stage, .. }
            | SessionError::Cancelled { stage } => *stage,
            SessionError::RecipientsRefused { .. } => Stage::Rcpt,
            SessionError::Auth(_) => Stage::Auth,
            SessionError::DeliveryUnknown { .. } => Stage::Message,
            SessionError::TooLarge { .. } => Stage::Mail,
            SessionError::Body(_) => Stage::Message,
        }
    }

    /// The process exit status for this failure (see the README's table).
    pub fn exit_status(&self) -> u8 {
        match self {
            SessionError::Cancelled { .. } => 130,
            // A dropped connection with no reply to blame is its own status
            // (after the final dot it is DeliveryUnknown instead).
            SessionError::ConnectionLost { .. } => 6,
            SessionError::Tls { .. } => 29,
            SessionError::Body(_) => 1,
            other => other.stage().exit_status(),
        }
    }

    /// What the person could change to get past this failure, if anything.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            SessionError::Missing {
                what: Missing::StartTls,
                ..
            } => Some(Remedy::ChooseTlsMode),
            SessionError::Missing {
                what: Missing::Auth,
                ..
            } => Some(Remedy::SendWithoutLogin),
            SessionError::Missing {
                what: Missing::Dsn, ..
            } => Some(Remedy::SendWithoutDsn),
            SessionError::Timeout { silent: true, .. } => Some(Remedy::TryImplicitTls),
            SessionError::RecipientsRefused {
                accepted,
                delivered: 0,
                ..
            } if *accepted > 0 => Some(Remedy::AllowPartial),
            SessionError::Tls {
                unknown_issuer: true,
                ..
            } => Some(Remedy::TrustIssuer),
            SessionError::Rejected {
                stage: Stage::Auth,
                reply,
            } if wants_oauth2(reply) => Some(Remedy::UseOAuth2),
            _ => None,
        }
    }

    /// The server's reply that caused the failure, if one did.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            SessionError::Rejected { reply, .. } => Some(reply),
            SessionError::RecipientsRefused { refused, .. } => refused.first().map(|r| &r.reply),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::ReplyCode;

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code: ReplyCode(code),
            enhanced: None,
            lines: vec![text.into()],
        }
    }

    #[test]
    fn exit_statuses_follow_swaks() {
        let rejected = |stage| {
            SessionError::Rejected {
                stage,
                reply: reply(550, "no"),
            }
            .exit_status()
        };
        assert_eq!(rejected(Stage::Greeting), 21);
        assert_eq!(rejected(Stage::Ehlo), 22);
        assert_eq!(rejected(Stage::Mail), 23);
        assert_eq!(rejected(Stage::Data), 25);
        assert_eq!(rejected(Stage::Message), 26);
        assert_eq!(rejected(Stage::Auth), 28);
        assert_eq!(rejected(Stage::Tls), 29);
        assert_eq!(rejected(Stage::TlsEhlo), 32);
        assert_eq!(
            SessionError::Connect {
                target: "x:25".into(),
                detail: "refused".into()
            }
            .exit_status(),
            2
        );
        assert_eq!(
            SessionError::ConnectionLost {
                stage: Stage::Mail,
                detail: None
            }
            .exit_status(),
            6
        );
        assert_eq!(
            SessionError::Timeout {
                stage: Stage::Rcpt,
                after: Duration::from_secs(300),
                silent: false,
            }
            .exit_status(),
            24
        );
        assert_eq!(
            SessionError::DeliveryUnknown { reason: "x".into() }.exit_status(),
            26
        );
        assert_eq!(
            SessionError::Cancelled { stage: Stage::Data }.exit_status(),
            130
        );
    }

    #[test]
    fn a_password_refused_for_oauth2_says_so() {
        use crate::smtp::reply::EnhancedCode;
        let refused = |code: u16, (c, s, d): (u8, u16, u16), text: &str| SessionError::Rejected {
            stage: Stage::Auth,
            reply: Reply::new(ReplyCode(code), Some(EnhancedCode::new(c, s, d)), text),
        };
        let microsoft = refused(
            550,
            (5, 7, 30),
            "Basic authentication is not supported for Client Submission.",
        );
        assert_eq!(microsoft.remedy(), Some(Remedy::UseOAuth2));
        let google = refused(534, (5, 7, 9), "Application-specific password required.");
        assert_eq!(google.remedy(), Some(Remedy::UseOAuth2));
        let wrong = refused(535, (5, 7, 8), "Username and Password not accepted.");
        assert_eq!(wrong.remedy(), None, "a wrong password is only that");
    }

    #[test]
    fn refusal_messages_name_each_address() {
        let e = SessionError::RecipientsRefused {
            refused: vec![Refusal {
                address: "x@example.org".into(),
                reply: reply(550, "User unknown"),
            }],
            accepted: 1,
            delivered: 0,
        };
        let text = e.to_string();
        assert!(text.contains("<x@example.org>: 550 User unknown"), "{text}");
        assert!(text.contains("so nothing was sent"), "{text}");
        assert!(!text.contains("--"), "the engine names no flag: {text}");
        assert_eq!(e.remedy(), Some(Remedy::AllowPartial));
        assert_eq!(e.exit_status(), 24);
    }
}
