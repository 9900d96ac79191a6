//! The local sandbox: a small SMTP server on this machine that accepts
//! every message and keeps it in memory, so that a newcomer can send mail
//! with no account and watch the whole exchange, and so that people can
//! point their own programs at it (`postscope sandbox`).
//!
//! Nothing is ever relayed or delivered anywhere: a message is only
//! captured in the [`Inbox`] (and, with [`SandboxConfig::save_dir`],
//! written to a `.eml` file).
//!
//! What it supports, exactly (and it advertises nothing else in EHLO):
//!
//! * EHLO and HELO; MAIL, RCPT, DATA, RSET, NOOP, QUIT; VRFY (always 252);
//!   HELP (214). LHLO, EXPN, ETRN, ATRN and BURL get 502; anything else 500.
//! * `SIZE` (RFC 1870): the per-message limit, [`SandboxConfig::max_message_size`]
//!   (50 MB by default). A larger `SIZE=` in MAIL FROM gets `552 5.3.4`; a
//!   message that turns out larger is read to its end, discarded and
//!   answered `552 5.3.4`.
//! * `8BITMIME`, `SMTPUTF8`: accepted as parameters; the bytes are kept as
//!   they come.
//! * `PIPELINING`: every complete command in what arrived is answered in
//!   order, the replies written in one go.
//! * `ENHANCEDSTATUSCODES`: every reply after the greeting carries one.
//! * `STARTTLS` (before TLS only), with a certificate for `localhost`,
//!   `127.0.0.1` and `::1` signed by a CA made in memory at start
//!   ([`Sandbox::ca_pem`]). The session starts afresh after the handshake
//!   (RFC 3207), and anything the client pipelined after `STARTTLS` in
//!   clear text is discarded.
//! * `AUTH PLAIN LOGIN`, with or without TLS: any user name and password
//!   is accepted; the user name is recorded with the message.
//! * `CHUNKING` (RFC 3030): BDAT, including `BDAT 0 LAST`.
//! * `DSN` (RFC 3461): `RET` and `ENVID` on MAIL, `NOTIFY` and `ORCPT`
//!   (type `rfc822`) on RCPT are accepted and recorded with the message
//!   ([`Captured::dsn`]); no notice is ever sent, as nothing is delivered.
//!
//! Not supported: BINARYMIME,
//! other AUTH mechanisms, implicit TLS, relaying.
//!
//! Limits, so that a hostile client cannot hurt the app or lock others
//! out: a command line of at most 4 KiB (`500 5.5.2` beyond); at most 100
//! recipients per message (`452 4.5.3` beyond); a `SIZE=` too big for any
//! number gets `552`; 5 minutes of silence between commands, 60 s for a
//! whole command line or AUTH exchange however slowly its bytes come,
//! 10 s for a TLS handshake, and message data at 60 KiB a minute at least
//! (then `421 4.4.2` and the connection is closed); at most 64 connections
//! at once (and as many from one address, unless told fewer), where a new
//! one pushes out the session that has gone longest (over 10 s) without
//! completing a command
//! (`421 4.7.0` to it, or to the newcomer if none has). Each is a
//! [`SandboxConfig`] field. Every refusal and error is recorded as an
//! [`Incident`] ([`Inbox::incidents`]). The inbox keeps at most
//! [`SandboxConfig::max_messages`] messages and [`SandboxConfig::max_bytes`]
//! bytes, dropping the oldest ([`Inbox::dropped`] counts them). A message
//! is held in memory while it arrives, so the worst case in flight is one
//! size limit per connection.
//!
//! One thread accepts connections (polling a non-blocking listener, so
//! [`Sandbox::stop`] takes effect within 50 ms) and each connection has a
//! thread of its own (`server.rs`). The SMTP logic itself does no I/O
//! (`session.rs`); commands are parsed by `smtp-proto`, messages summarised
//! by `mail-parser`.

mod dsn;
mod inbox;
#[cfg(test)]
mod pair;
mod saver;
mod server;
pub(crate) mod session;
mod timers;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::smtp::capability::Capability;
use crate::smtp::sasl::Mechanism;

pub use dsn::{DsnRequest, RecipientDsn};
pub use inbox::{AttachmentSummary, Captured, Inbox, Incident, PREVIEW_CHARS, Summary};
pub use server::Sandbox;

/// The name the sandbox gives itself in its greeting and EHLO reply.
pub const SERVER_NAME: &str = "postscope.sandbox";

/// The most recipients one message may have.
pub const MAX_RECIPIENTS: usize = 100;

/// The longest command line accepted, CRLF included.
pub const MAX_LINE: usize = 4096;

/// The most connections served at once, by default.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a client may stay silent between commands, by default.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// How long one command line or AUTH exchange may take from its first
/// byte, by default, however its bytes trickle in.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the TLS handshake after STARTTLS may take, by default.
pub const TLS_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a session must have gone without completing a command before
/// a new connection may push it out at a cap, by default.
pub const EVICT_AFTER: Duration = Duration::from_secs(10);

/// The least message data a client must send: `bytes` in every `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFloor {
    /// Bytes at least…
    pub bytes: u64,
    /// …in each period this long.
    pub per: Duration,
}

impl Default for DataFloor {
    /// 60 KiB a minute: 1 KiB/s, far below any real link.
    fn default() -> Self {
        DataFloor {
            bytes: 60 * 1024,
            per: Duration::from_secs(60),
        }
    }
}

/// The name of the CA certificate file written into the save directory.
pub const CA_FILE_NAME: &str = "sandbox-ca.pem";

/// How a [`Sandbox`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Where to listen. Port 0 picks a free port ([`Sandbox::local_addr`]
    /// tells which).
    pub listen: SocketAddr,
    /// The most messages kept in the inbox; older ones are dropped.
    /// At least one is always kept.
    pub max_messages: usize,
    /// The most bytes (raw message sizes added up) kept in the inbox;
    /// older messages are dropped. The newest message is always kept.
    pub max_bytes: u64,
    /// The largest message accepted, in bytes (advertised as `SIZE`).
    pub max_message_size: u64,
    /// If set, every accepted message is also written there as
    /// `<timestamp>-<id>.eml`, and the CA certificate as
    /// [`CA_FILE_NAME`] at start. The directory is created if missing.
    pub save_dir: Option<PathBuf>,
    /// The most connections at once. A new one past it pushes out the
    /// session that has gone longest without completing a command (if that
    /// is longer than `evict_after`), else gets `421 4.7.0`.
    pub max_connections: usize,
    /// The most connections from one address, with the same pushing out
    /// (by default the same as `max_connections`: on loopback every client
    /// is 127.0.0.1).
    pub max_per_client: usize,
    /// The most recipients one message may have (`452 4.5.3` past it).
    pub max_recipients: usize,
    /// See `max_connections`.
    pub evict_after: Duration,
    /// Silence allowed between commands (then `421 4.4.2`).
    pub idle_timeout: Duration,
    /// Time allowed for one command line or AUTH exchange from its first byte.
    pub command_timeout: Duration,
    /// Time allowed for the TLS handshake after STARTTLS.
    pub tls_timeout: Duration,
    /// The least message data a client must send while sending a message.
    pub data_floor: DataFloor,
}

impl Default for SandboxConfig {
    /// 127.0.0.1 on a free port, 500 messages, 200 MB in all, 50 MB per
    /// message, nothing saved to disk, and the bounds above.
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_messages: 500,
            max_bytes: 200_000_000,
            max_message_size: 50_000_000,
            save_dir: None,
            max_connections: MAX_CONNECTIONS,
            max_per_client: MAX_CONNECTIONS,
            max_recipients: MAX_RECIPIENTS,
            evict_after: EVICT_AFTER,
            idle_timeout: IDLE_TIMEOUT,
            command_timeout: COMMAND_TIMEOUT,
            tls_timeout: TLS_TIMEOUT,
            data_floor: DataFloor::default(),
        }
    }
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The address could not be listened on (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The in-memory CA or server certificate could not be made.
    #[error("cannot make the sandbox's TLS certificate: {0}")]
    Certificate(String),
    /// The save directory could not be created or written.
    #[error("cannot use the save directory {}: {source}", path.display())]
    SaveDir {
        /// The directory, or the file in it that failed.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The server thread could not be started.
    #[error("cannot start the sandbox's thread: {0}")]
    Thread(std::io::Error),
}

/// The extensions the EHLO reply lists, in order, for people (the
/// `postscope sandbox` banner, the GUI).
pub fn advertised_extensions(max_message_size: u64, tls_active: bool) -> Vec<Capability> {
    let mut list = vec![
        Capability::Size {
            limit: Some(max_message_size),
        },
        Capability::EightBitMime,
        Capability::SmtpUtf8,
        Capability::Pipelining,
        Capability::EnhancedStatusCodes,
    ];
    if !tls_active {
        list.push(Capability::StartTls);
    }
    list.push(Capability::Auth {
        mechanisms: vec![Mechanism::Plain, Mechanism::Login],
    });
    list.push(Capability::Chunking);
    list.push(Capability::Dsn);
    list
}

/// `YYYYMMDDTHHMMSSZ` for a time (UTC), for file names.
fn file_timestamp(t: std::time::SystemTime) -> String {
    crate::clock::compact_utc(crate::clock::unix_secs(t))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::smtp::capability::Capability;

    #[test]
    fn calendar_conversion() {
        assert_eq!(super::file_timestamp(UNIX_EPOCH), "19700101T000000Z");
        // 2024-02-29 13:45:07 UTC (a leap day).
        let t = UNIX_EPOCH + Duration::from_secs(1_709_214_307);
        assert_eq!(super::file_timestamp(t), "20240229T134507Z");
    }

    #[test]
    fn starttls_is_advertised_only_before_tls() {
        let before = super::advertised_extensions(10, false);
        let after = super::advertised_extensions(10, true);
        assert!(before.contains(&Capability::StartTls));
        assert!(!after.contains(&Capability::StartTls));
        assert_eq!(before[0].to_string(), "SIZE 10");
    }
}
