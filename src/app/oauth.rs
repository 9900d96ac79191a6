//! OAuth2 for saved accounts: sign in (browser or device), keep the grant
//! in the keychain (or, with no keychain, in memory for the session),
//! hand a fresh access token to a send, sign out. The flows themselves
//! are [`crate::oauth`]'s; this layer knows where the grant lives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::secrets::SecretProblem;
use crate::oauth::{Http, OAuthError, OAuthSettings, Progress, SignIn, TokenSet};
use crate::store::grants::{self, Grant};
use crate::store::secrets::{SecretError, SecretStore};

/// Where an OAuth2 account's grant is kept.
#[derive(Clone)]
pub enum GrantPlace {
    /// The OS keychain.
    Keychain(Arc<dyn SecretStore>),
    /// This session's memory (the keychain could not take it).
    Session(Arc<Mutex<Grant>>),
}

/// How the person signs in.
pub enum How<'a> {
    /// The system browser and a loopback redirect; `pasted` gives the
    /// address the browser ended on when it ran on another machine.
    Browser {
        /// Opens the URL (injectable: tests never run `xdg-open`).
        opener: &'a dyn Fn(&str) -> Result<(), String>,
        /// A pasted redirect address, when one was pasted.
        pasted: &'a dyn Fn() -> Option<String>,
    },
    /// A code entered on another device (RFC 8628).
    Device,
}

/// One account's OAuth2 login.
#[derive(Clone)]
pub struct OAuthLogin {
    /// The account's name (its keychain entry's).
    pub account: String,
    /// Its OAuth settings.
    pub settings: OAuthSettings,
    /// Where its grant is.
    pub place: GrantPlace,
    /// Every HTTP call's time limit.
    pub timeout: Duration,
}

/// What a sign-in gave.
#[derive(Debug)]
pub struct SignedIn {
    /// The new tokens.
    pub tokens: TokenSet,
    /// Whether they could be kept where the login keeps its grant (`Err`:
    /// the keychain refused; only the caller has them now).
    pub kept: Result<(), SecretError>,
}

fn now() -> i64 {
    crate::clock::unix_secs(SystemTime::now())
}

impl OAuthLogin {
    /// The grant as kept now.
    pub fn grant(&self) -> Result<Grant, SecretProblem> {
        match &self.place {
            GrantPlace::Keychain(store) => Ok(grants::load(&**store, &self.account)?),
            GrantPlace::Session(g) => Ok(g.lock().map(|g| g.clone()).unwrap_or_default()),
        }
    }

    fn keep(&self, grant: &Grant) -> Result<(), SecretError> {
        match &self.place {
            GrantPlace::Keychain(store) => grants::save(&**store, &self.account, grant),
            GrantPlace::Session(g) => {
                if let Ok(mut g) = g.lock() {
                    *g = grant.clone();
                }
                Ok(())
            }
        }
    }

    fn client(&self, grant: &Grant) -> Result<SignIn, SecretProblem> {
        let http = Http::new(self.timeout);
        SignIn::new(http, self.settings.clone(), grant.client_secret.clone())
            .map_err(SecretProblem::OAuth)
    }

    /// Signs in, and keeps the tokens with the client secret.
    pub fn sign_in(
        &self,
        how: How<'_>,
        login_hint: Option<&str>,
        progress: &mut dyn FnMut(Progress),
        cancel: &dyn Fn() -> bool,
    ) -> Result<SignedIn, SecretProblem> {
        // A keychain that cannot be read still lets the person sign in
        // (the result is then kept for the session).
        let mut grant = self.grant().unwrap_or_default();
        let flow = self.client(&grant)?;
        let tokens = match how {
            How::Browser { opener, pasted } => {
                flow.with_browser(login_hint, opener, progress, pasted, cancel)
            }
            How::Device => flow.with_device(progress, cancel),
        }
        .map_err(SecretProblem::OAuth)?;
        // The entry as it is now (a client secret may have been saved
        // while the browser was open): only the tokens change.
        if let Ok(now) = self.grant() {
            grant = now;
        }
        grant.tokens = Some(tokens.clone());
        grant.issued_by = Some(self.settings.grantor());
        let kept = self.keep(&grant);
        Ok(SignedIn { tokens, kept })
    }

    /// Forgets the tokens (the client secret stays).
    pub fn sign_out(&self) -> Result<(), SecretProblem> {
        let mut grant = self.grant()?;
        grant.tokens = None;
        Ok(self.keep(&grant)?)
    }

    /// A fresh access token: the one kept, or a new one from the refresh
    /// token when it is expired or about to be (the rotated refresh token
    /// is kept at once). A grant the provider no longer honours is
    /// forgotten, so the account shows as signed out.
    pub fn access_token(&self) -> Result<TokenSet, SecretProblem> {
        let mut grant = self.grant()?;
        // Tokens from another provider or app (the settings changed since
        // the sign-in) are never sent to this one.
        let Some(tokens) = grant.tokens_from(&self.settings.grantor()).cloned() else {
            return Err(SecretProblem::NotSignedIn(self.account.clone()));
        };
        if !tokens.needs_refresh(now()) {
            return Ok(tokens);
        }
        let Some(refresh) = tokens.refresh_token.clone() else {
            return Err(SecretProblem::OAuth(OAuthError::InvalidGrant(Some(
                "the access token expired and the provider gave no refresh token".into(),
            ))));
        };
        match self.client(&grant)?.refresh(&refresh) {
            Ok(mut fresh) => {
                if fresh.signed_in_as.is_none() {
                    fresh.signed_in_as = tokens.signed_in_as.clone();
                }
                grant.tokens = Some(fresh.clone());
                // A rotating provider has already retired the old refresh
                // token: a keychain that fails now cannot stop this send,
                // though the next one will ask for a new sign-in.
                let _ = self.keep(&grant);
                Ok(fresh)
            }
            Err(e) if e.needs_sign_in() => {
                // Another send (another process) may have refreshed first
                // and rotated the token this one used: its result stands.
                let now = self.grant()?;
                match now.tokens {
                    Some(t) if t.refresh_token.as_deref() != Some(refresh.as_str()) => Ok(t),
                    _ => {
                        grant.tokens = None;
                        let _ = self.keep(&grant);
                        Err(SecretProblem::OAuth(e))
                    }
                }
            }
            Err(e) => Err(SecretProblem::OAuth(e)),
        }
    }
}

/// Opens a URL in the system browser.
pub fn system_browser(url: &str) -> Result<(), String> {
    webbrowser::open(url).map_err(|e| e.to_string())
}
