//! The application layer under both faces: it turns what a person asked
//! for (send this draft with that account, probe that server) into a
//! session, runs it, and reports its events. It knows no window and no
//! command line: `cli/` and `ui/` build a [`SendSpec`] or [`ProbeSpec`]
//! from their own input and word its errors their own way.

pub mod oauth;
mod run;
mod secrets;
mod spec;

pub use run::{JobMsg, Running, SendFailure, Work, probe, send, spawn};
pub use secrets::{SecretProblem, read_secret};
pub use spec::{Login, Outgoing, ProbeSpec, SecretSource, SendSpec, Server, ServerProblem};
