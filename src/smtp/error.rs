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
    /// The server lacks something this session requires.
    #[error("{what}")]
    Missing {
        /// The stage that needed it.
        stage: Stage,
        /// What is missing and what to do about it.
        what: String,
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
    },
    /// AUTH could not start (wrong kind of secret, unsupported mechanism).
    #[error("cannot log in: {0}")]
    Auth(#[from] super::sasl::SaslError),
    /// No reply within the stage's time limit.
    #[error("timed out after {} s waiting for the server during {stage}", after.as_secs())]
    Timeout {
        /// The stage that waited.
        stage: Stage,
        /// How long it waited.
        after: Duration,
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
        head.push_str(", so nothing was sent (use --allow-partial to deliver to the rest)");
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
                after: Duration::from_secs(300)
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
        assert!(text.contains("--allow-partial"), "{text}");
        assert_eq!(e.exit_status(), 24);
    }
}
