//! What the keychain keeps for an account that signs in with OAuth2: its
//! tokens (the refresh token above all) and, for providers that give
//! installed apps one, the client secret. One entry per account, under the
//! account's name as a password would be, holding JSON. Never a file.

use super::secrets::{SecretError, SecretStore};
use crate::oauth::TokenSet;

const VERSION: u32 = 1;

/// An OAuth2 account's keychain entry.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    /// The entry's format.
    #[serde(default)]
    pub postscope_grant: u32,
    /// The tokens, while signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenSet>,
    /// The app's client secret, if the provider needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Who issued the tokens: the issuer (or token endpoint) and the
    /// client id at sign-in. Tokens are only ever sent back there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("tokens", &self.tokens)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Grant {
    /// A grant with only a client secret (before the first sign-in).
    pub fn with_client_secret(secret: Option<String>) -> Grant {
        Grant {
            postscope_grant: VERSION,
            tokens: None,
            client_secret: secret,
            issued_by: None,
        }
    }

    /// As kept in the keychain.
    pub fn to_secret(&self) -> String {
        let mut g = self.clone();
        g.postscope_grant = VERSION;
        serde_json::to_string(&g).unwrap_or_default()
    }

    /// Reads a keychain entry; `None` when it is something else (the
    /// password an account had before it switched to OAuth2).
    pub fn from_secret(secret: &str) -> Option<Grant> {
        serde_json::from_str::<Grant>(secret)
            .ok()
            .filter(|g| g.postscope_grant >= 1)
    }

    /// Who is signed in, if anyone.
    pub fn signed_in_as(&self) -> Option<&str> {
        self.tokens.as_ref()?.signed_in_as.as_deref()
    }

    /// The tokens, if they were issued by `grantor` (see
    /// `OAuthSettings::grantor`; a grant from before that was recorded
    /// is taken as its own).
    pub fn tokens_from(&self, grantor: &str) -> Option<&crate::oauth::TokenSet> {
        let ours = self.issued_by.as_deref().is_none_or(|by| by == grantor);
        self.tokens.as_ref().filter(|_| ours)
    }
}

/// The account's grant (empty when there is none yet, or the entry holds
/// something older).
pub fn load(secrets: &dyn SecretStore, account: &str) -> Result<Grant, SecretError> {
    Ok(secrets
        .get(account)?
        .as_deref()
        .and_then(Grant::from_secret)
        .unwrap_or_default())
}

/// The most a keychain entry may hold: Windows' Credential Manager takes
/// 2,560 bytes; the others take far more.
const ENTRY_LIMIT: usize = if cfg!(windows) { 2_560 } else { 1 << 20 };

/// The entry's text, within `limit` bytes: when the whole grant is too big
/// (Microsoft's tokens together can pass Windows' limit), the access token
/// is left out and the next send gets a fresh one with the refresh token.
fn fitted(grant: &Grant, limit: usize) -> String {
    let whole = grant.to_secret();
    if whole.len() <= limit {
        return whole;
    }
    let mut lean = grant.clone();
    if let Some(t) = lean.tokens.as_mut() {
        t.access_token.clear();
        t.expires_at = None;
    }
    lean.to_secret()
}

/// Stores the account's grant; an empty one removes the entry.
pub fn save(secrets: &dyn SecretStore, account: &str, grant: &Grant) -> Result<(), SecretError> {
    if grant.tokens.is_none() && grant.client_secret.is_none() {
        secrets.delete(account)
    } else {
        secrets.set(account, &fitted(grant, ENTRY_LIMIT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::secrets::Memory;

    #[test]
    fn a_grant_round_trips_through_the_keychain_and_hides_its_secrets() {
        let keychain = Memory::default();
        assert_eq!(load(&keychain, "work").unwrap(), Grant::default());
        let grant = Grant {
            tokens: Some(TokenSet {
                access_token: "at-123".into(),
                refresh_token: Some("rt-456".into()),
                expires_at: Some(99),
                scope: None,
                signed_in_as: Some("ada@example.org".into()),
            }),
            ..Grant::with_client_secret(Some("cs-789".into()))
        };
        save(&keychain, "work", &grant).unwrap();
        let back = load(&keychain, "work").unwrap();
        assert_eq!(back.tokens, grant.tokens);
        assert_eq!(back.signed_in_as(), Some("ada@example.org"));
        let shown = format!("{back:?}");
        for secret in ["at-123", "rt-456", "cs-789"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        // A password from before the switch to OAuth2 is no grant.
        keychain.set("old", "hunter2").unwrap();
        assert_eq!(load(&keychain, "old").unwrap(), Grant::default());
        assert_eq!(Grant::from_secret("{\"tokens\":null}"), None);
        // Tokens are only for the provider and app that issued them.
        let issued = Grant {
            issued_by: Some("https://id.example app".into()),
            ..back.clone()
        };
        assert!(issued.tokens_from("https://id.example app").is_some());
        assert!(issued.tokens_from("https://evil.example app").is_none());
        assert!(issued.tokens_from("https://id.example other-app").is_none());
        assert!(
            back.tokens_from("anything").is_some(),
            "recorded before grantors"
        );
        // An entry too big for the keychain keeps the refresh token only.
        let lean = Grant::from_secret(&fitted(&grant, 50)).unwrap();
        let t = lean.tokens.unwrap();
        assert!(t.access_token.is_empty() && t.needs_refresh(0));
        assert_eq!(t.refresh_token.as_deref(), Some("rt-456"));
        assert_eq!(fitted(&grant, 1 << 20), grant.to_secret());
        // Signing out with no client secret removes the entry.
        save(&keychain, "work", &Grant::default()).unwrap();
        assert_eq!(keychain.get("work").unwrap(), None);
    }
}
