//! Postscope's own SMTP client engine: no UI, no files, no keychain.
//!
//! The protocol logic is a state machine that does no I/O ([`session`]):
//! bytes and the clock go in; commands to send, transcript events and a
//! final [`Report`] come out. A thin blocking driver ([`transport`]) runs it
//! over TCP and rustls. The pieces it is built from are each a plain codec
//! with its own tests: [`reply`] (parsing what the server says),
//! [`command`] (what we say, and its redacted form), [`capability`] (EHLO),
//! [`sasl`] (AUTH), [`dot_stuff`] (DATA encoding) and [`transcript`].

pub(crate) mod capability;
pub(crate) mod command;
pub(crate) mod console;
pub(crate) mod dot_stuff;
pub(crate) mod dsn;
pub(crate) mod error;
pub(crate) mod explain;
pub(crate) mod net;
pub(crate) mod reply;
pub(crate) mod sasl;
pub(crate) mod session;
pub(crate) mod tls;
pub mod transcript;
pub(crate) mod transport;

pub use capability::{Capabilities, Capability};
pub use command::{ClientId, Command};
pub use dsn::{Dsn, Notify, Ret};
pub use error::{Missing, Refusal, Remedy, SessionError, Stage};
pub use net::{BodySource, CancelToken, Target};
pub use reply::{EnhancedCode, Reply, ReplyClass, ReplyCode};
pub use sasl::{Credentials, Mechanism, Secret};
pub use session::{
    AuthPlan, Envelope, Event, Job, Report, Session, SessionConfig, Timeouts, TlsMode,
};
pub use tls::{TlsInfo, TlsOptions};
pub use transcript::{Direction, TranscriptEvent};
pub use transport::{Connection, run};

/// A byte count for people: `10.5 MB`, `14 kB`, `512 bytes` (decimal units,
/// as mail servers and providers quote their limits).
pub fn format_bytes(n: u64) -> String {
    const UNITS: [(&str, f64); 3] = [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in UNITS {
        if n as f64 >= size {
            return format!("{:.1} {unit}", n as f64 / size);
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_formatting() {
        assert_eq!(super::format_bytes(512), "512 bytes");
        assert_eq!(super::format_bytes(14_000), "14.0 kB");
        assert_eq!(super::format_bytes(35_882_577), "35.9 MB");
    }
}
