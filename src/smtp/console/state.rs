//! What the window sees of a console connection (its state and events),
//! and what the console expects each reply to answer.

use crate::smtp::tls::TlsInfo;
use crate::smtp::transcript::TranscriptEvent;

/// What the console knows about the connection, always shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleState {
    /// The connection is open.
    pub connected: bool,
    /// TLS is up (implicit, or after STARTTLS): version and cipher.
    pub tls: Option<String>,
    /// The server said 235 to an AUTH.
    pub authenticated: bool,
    /// MAIL FROM was accepted and the transaction has not ended.
    pub in_transaction: bool,
    /// After a 354: lines typed now are message data, until a lone ".".
    pub in_data: bool,
    /// Commands sent whose replies have not arrived yet.
    pub awaiting: usize,
    /// The server's name from its greeting.
    pub server_name: Option<String>,
}

/// What the console reports.
#[derive(Debug, Clone)]
pub enum ConsoleEvent {
    /// A transcript line.
    Transcript(TranscriptEvent),
    /// The state changed.
    State(ConsoleState),
    /// The server said 220 to STARTTLS: the driver must run the handshake
    /// and call [`super::Console::handle_tls_established`] or
    /// [`super::Console::handle_connect_failed`].
    StartTls,
    /// TLS came up; the details (certificate chain included).
    Tls(Box<TlsInfo>),
    /// The connection is over (with why, if it broke).
    Closed(Option<String>),
}

/// What a reply will answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pending {
    Greeting,
    StartTls,
    Auth,
    /// AUTH LOGIN from the helper: the next 334 wants the user, then the password.
    LoginUser,
    LoginPassword,
    Mail,
    Rset,
    /// DATA; with the helper's message to send after the 354.
    Data(Option<Vec<u8>>),
    /// The final dot.
    DataEnd,
    Quit,
    Other,
}
