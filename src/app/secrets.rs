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
    /// The keychain holds the account's OAuth2 sign-in, and a password
    /// was asked for: it is never sent as one.
    #[error(
        "the OS keychain holds an OAuth2 sign-in for the account {0:?}, not a password; \
         give the password, or set its login back to OAuth2"
    )]
    NotAPassword(String),
    /// A signed-in account whose provider did not say who signed in, and
    /// no user name is set.
    #[error("the provider did not say who signed in to {0:?}: set the account's user name")]
    NoUser(String),
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

/// Reads an account's password (or pasted token) from the keychain. An
/// OAuth2 sign-in kept there is refused: its tokens and client secret
/// must never reach a server as a password.
pub fn read_secret(store: &dyn SecretStore, account: &str) -> Result<String, SecretProblem> {
    let secret = store
        .get(account)?
        .ok_or_else(|| SecretProblem::NotInKeychain(account.to_owned()))?;
    if crate::store::grants::Grant::from_secret(&secret).is_some() {
        return Err(SecretProblem::NotAPassword(account.to_owned()));
    }
    Ok(secret)
}
