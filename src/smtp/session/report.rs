//! What a session tells its driver as it runs, and the report it ends with.

use std::time::Duration;

use crate::smtp::capability::Capabilities;
use crate::smtp::error::{Refusal, SessionError, Stage};
use crate::smtp::reply::Reply;
use crate::smtp::sasl::Mechanism;
use crate::smtp::tls::TlsInfo;
use crate::smtp::transcript::TranscriptEvent;

/// What a session reports as it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A transcript line.
    Transcript(TranscriptEvent),
    /// The session entered a stage.
    Stage(Stage),
    /// The server said 220 to STARTTLS: the driver must now run the TLS
    /// handshake on the same connection and call
    /// [`super::Session::handle_tls_established`] (or [`super::Session::handle_tls_failed`]).
    StartTls,
    /// The server said 354 to DATA: the driver must now feed the message
    /// with [`super::Session::push_body`] and close it with [`super::Session::end_body`].
    NeedBody,
    /// Message data encoded so far, of the total if known.
    Progress {
        /// Bytes of the message taken so far.
        sent: u64,
        /// The message size, if known.
        total: Option<u64>,
    },
    /// The session is over; nothing follows.
    Finished(Box<Report>, Result<(), SessionError>),
}

/// What happened, for the CLI's `--json`, the status bar and history. Filled
/// in as the session goes, and handed over with [`Event::Finished`] whether
/// it succeeded or not.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// The furthest stage entered.
    pub stage: Option<Stage>,
    /// The greeting reply.
    pub greeting: Option<Reply>,
    /// The EHLO capabilities (the ones after STARTTLS, if TLS was started).
    pub capabilities: Option<Capabilities>,
    /// The capabilities announced before STARTTLS, if it was used.
    pub capabilities_before_tls: Option<Capabilities>,
    /// TLS details, if TLS was used.
    pub tls: Option<TlsInfo>,
    /// The AUTH mechanism that succeeded.
    pub auth: Option<Mechanism>,
    /// Recipients the server accepted and that got the message.
    pub delivered: Vec<String>,
    /// Where the session stopped on purpose (`--quit-after`), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<Stage>,
    /// With `--quit-after rcpt` or later: the recipients the server accepted
    /// in the transaction that was not completed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<String>,
    /// Recipients the server refused, with its reply.
    pub refused: Vec<Refusal>,
    /// The reply to the final dot (for several transactions, the last one).
    pub final_reply: Option<Reply>,
    /// Bytes of message data sent (before dot-stuffing).
    pub message_bytes: u64,
    /// When each stage was completed, in order.
    pub timings: Vec<StageTiming>,
}

/// When a stage was completed, measured from the start of the connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageTiming {
    /// The stage.
    pub stage: Stage,
    /// Time since the connection started.
    #[serde(serialize_with = "ser_ms")]
    pub at_ms: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}
