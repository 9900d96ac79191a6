//! OAuth 2.0 sign-in for SMTP (RFC 6749 with PKCE, RFC 7636): the
//! authorization code flow with a loopback redirect (RFC 8252 §7.3), the
//! device authorization grant (RFC 8628), refresh, and discovery of an
//! OpenID Connect issuer's endpoints. Presets for Google and Microsoft;
//! any other issuer by discovery or by explicit endpoints.
//!
//! Blocking, on the caller's thread (a worker's, never the UI's), over
//! [`http::Http`]. This module knows no keychain and no window: it turns
//! settings into tokens; the application layer keeps them.

pub mod device;
pub mod http;
pub mod loopback;
pub mod pkce;
pub mod provider;
pub mod signin;
pub mod token;

pub use device::DeviceAuthorization;
pub use http::Http;
pub use provider::{Endpoints, OAuthSettings, ProviderKind};
pub use signin::{Progress, SignIn};
pub use token::TokenSet;

/// Why a sign-in or a refresh failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// A URL in the settings or from the provider is not usable.
    #[error("{what} {url:?} is not usable: {why}")]
    BadUrl {
        /// Which URL ("the issuer", "the token endpoint"…).
        what: &'static str,
        /// As given.
        url: String,
        /// Why not.
        why: String,
    },
    /// The provider could not be reached (DNS, connection, TLS).
    #[error("cannot reach {url}: {detail}")]
    Unreachable {
        /// What was asked for.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The provider did not answer in time.
    #[error("{url} did not answer within {secs} s")]
    Timeout {
        /// What was asked for.
        url: String,
        /// The limit.
        secs: u64,
    },
    /// The provider answered with something that is not what OAuth says.
    #[error("{url} answered HTTP {status} with {detail}")]
    BadResponse {
        /// What was asked for.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// The provider refused (an RFC 6749 §5.2 error other than those
    /// below).
    #[error("the provider refused: {}", described(.error, .description))]
    Refused {
        /// The error code (`invalid_client`, `unauthorized_client`…).
        error: String,
        /// The provider's own words, if any.
        description: Option<String>,
    },
    /// The grant is gone: the refresh token expired or was revoked, or
    /// the password changed. Only signing in again helps.
    #[error(
        "the sign-in has expired or was revoked ({}); sign in to the account again",
        described("invalid_grant", .0)
    )]
    InvalidGrant(Option<String>),
    /// The person said no in the browser or on the device page.
    #[error("access was denied at the provider{}", .0.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    AccessDenied(Option<String>),
    /// The device code expired before anyone approved it.
    #[error("the code was not entered in time (it expired); start the sign-in again")]
    Expired,
    /// The sign-in was stopped.
    #[error("the sign-in was cancelled")]
    Cancelled,
    /// The browser never came back.
    #[error("the browser did not come back within 10 minutes; start the sign-in again")]
    TimedOut,
    /// The discovery document names another issuer than the one asked
    /// for (OpenID Connect Discovery §4.3).
    #[error("the provider at {asked} says its issuer is {found}: refusing a mismatched issuer")]
    IssuerMismatch {
        /// The issuer in the settings.
        asked: String,
        /// The one in its document.
        found: String,
    },
    /// The provider has no device flow (or not for this scope: Google's
    /// mail scope).
    #[error("{0}")]
    NoDeviceFlow(String),
    /// The loopback listener could not be opened.
    #[error("cannot listen on the loopback address for the browser's answer: {0}")]
    Listener(String),
}

fn described(error: &str, description: &Option<String>) -> String {
    match description {
        Some(d) if !d.trim().is_empty() => format!("{error}: {}", d.trim()),
        _ => error.to_owned(),
    }
}

impl OAuthError {
    /// True when only a new sign-in can help.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, OAuthError::InvalidGrant(_))
    }
}
