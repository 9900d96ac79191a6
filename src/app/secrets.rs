//! Why a login's secret could not be had, and reading a password from the
//! keychain.

use crate::store::secrets::{SecretError, SecretStore};

/// Why an account's secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    /// The keychain has no entry for the account.
    #[error("the OS keychain has no password for the account {0:?}")]
    NotInKeychain(String),
    /// The keychain could not be used.
    #[error(transparent)]
    Keychain(#[from] SecretError),
    /// An OAuth2 account nobody signed in to (or whose sign-in was
    /// dropped after the provider revoked it).
    #[error("the account {0:?} is not signed in")]
    NotSignedIn(String),
    /// The provider would not give a fresh token.
    #[error("cannot get an OAuth2 token: {0}")]
    OAuth(crate::oauth::OAuthError),
}

impl SecretProblem {
    /// True when signing in again is what helps.
    pub fn needs_sign_in(&self) -> bool {
        match self {
            SecretProblem::NotSignedIn(_) => true,
            SecretProblem::OAuth(e) => e.needs_sign_in(),
            _ => false,
        }
    }
}

/// Reads an account's secret from the keychain.
pub fn read_secret(store: &dyn SecretStore, account: &str) -> Result<String, SecretProblem> {
    store
        .get(account)?
        .ok_or_else(|| SecretProblem::NotInKeychain(account.to_owned()))
}
