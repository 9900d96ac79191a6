//! A sign-in from start to tokens: discovery, then the browser with a
//! loopback redirect (or a pasted one), or the device flow; and refresh.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime};

use super::OAuthError;
use super::device::{self, DeviceAuthorization};
use super::http::Http;
use super::loopback::{Callback, Loopback, read_pasted};
use super::pkce::{self, Pkce};
use super::provider::{Endpoints, OAuthSettings, ProviderKind, issuer_matches};
use super::token::{self, Client, TokenSet};

/// How long the browser may take.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What a sign-in is doing, for the window or the terminal to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The browser should show this address; `opened` says whether it
    /// could be opened (if not, the person opens it by hand).
    OpenBrowser {
        /// The authorization URL.
        url: String,
        /// `Err(why)` when no browser could be started.
        opened: Result<(), String>,
    },
    /// A pasted address was not the right one (why); still waiting.
    PasteRefused(String),
    /// A stale or foreign answer reached the listener and was refused.
    WrongState,
    /// The device flow's code, to show.
    DeviceCode {
        /// The code.
        user_code: String,
        /// Where to enter it.
        verification_uri: String,
        /// With the code filled in, if the provider has it.
        verification_uri_complete: Option<String>,
        /// How long the code lasts.
        expires_in: Duration,
    },
    /// The provider asked to poll less often.
    SlowedDown(Duration),
    /// The code is being exchanged for tokens.
    Exchanging,
}

/// Someone to talk to a provider for one account.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The HTTP client.
    pub http: Http,
    /// The account's OAuth settings.
    pub settings: OAuthSettings,
    /// Client id and secret.
    pub client: Client,
    /// Where to go.
    pub endpoints: Endpoints,
}

fn now() -> i64 {
    crate::clock::unix_secs(SystemTime::now())
}

impl SignIn {
    /// Finds the provider's endpoints (a network call, unless they are
    /// given).
    pub fn new(
        http: Http,
        settings: OAuthSettings,
        client_secret: Option<String>,
    ) -> Result<SignIn, OAuthError> {
        if settings.client_id.trim().is_empty() {
            return Err(OAuthError::Refused {
                error: "no client id".into(),
                description: Some(
                    "the account has no OAuth client id: register Postscope with the provider \
                     (the README says how) and give its client id"
                        .into(),
                ),
            });
        }
        let endpoints = Endpoints::for_settings(&http, &settings)?;
        Ok(SignIn {
            client: Client {
                id: settings.client_id.trim().to_owned(),
                secret: client_secret,
            },
            http,
            settings,
            endpoints,
        })
    }

    /// The authorization URL for a redirect, state and PKCE challenge.
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce: &Pkce,
        login_hint: Option<&str>,
    ) -> String {
        let mut url = self.endpoints.authorization.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client.id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &self.settings.scopes().join(" "))
                .append_pair("state", state)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
                q.append_pair("login_hint", hint);
            }
            if self.settings.provider == ProviderKind::Google {
                // Google gives a refresh token only for offline access,
                // and again only when consent is asked for.
                q.append_pair("access_type", "offline")
                    .append_pair("prompt", "consent");
            }
        }
        url.into()
    }

    /// Signs in with the browser: opens `opener(url)`, waits for the
    /// redirect on the loopback listener (or for `pasted()` to give the
    /// address the browser ended on, from another machine), checks state,
    /// exchanges the code. `cancel()` stops it.
    pub fn with_browser(
        &self,
        login_hint: Option<&str>,
        opener: &dyn Fn(&str) -> Result<(), String>,
        progress: &mut dyn FnMut(Progress),
        pasted: &dyn Fn() -> Option<String>,
        cancel: &dyn Fn() -> bool,
    ) -> Result<TokenSet, OAuthError> {
        let listener = Loopback::bind(self.settings.redirect_host())?;
        let state = pkce::random(16);
        let pkce = Pkce::new();
        let url = self.authorization_url(&listener.redirect_uri, &state, &pkce, login_hint);
        progress(Progress::OpenBrowser {
            opened: opener(&url),
            url,
        });
        let deadline = Instant::now() + BROWSER_TIMEOUT;
        let code = loop {
            let paste = RefCell::new(None);
            let got = listener.wait(&state, deadline, || {
                if cancel() {
                    return true;
                }
                *paste.borrow_mut() = pasted();
                paste.borrow().is_some()
            })?;
            let callback = match (got, paste.into_inner()) {
                (Some(c), _) => c,
                (None, Some(text)) => match read_pasted(&text, &state) {
                    Ok(c) => c,
                    Err(why) => {
                        progress(Progress::PasteRefused(why));
                        continue;
                    }
                },
                (None, None) => return Err(OAuthError::Cancelled),
            };
            match callback {
                Callback::Code { code, iss } => {
                    // RFC 9207: a provider that names itself must be the
                    // one this sign-in went to (a mix-up attack otherwise).
                    if let (Some(iss), Some(expected)) = (&iss, &self.endpoints.issuer)
                        && !issuer_matches(expected, iss)
                    {
                        return Err(OAuthError::IssuerMismatch {
                            asked: expected.clone(),
                            found: iss.clone(),
                        });
                    }
                    break code;
                }
                Callback::Error { error, description } => {
                    return Err(if error == "access_denied" {
                        OAuthError::AccessDenied(description)
                    } else {
                        OAuthError::Refused { error, description }
                    });
                }
                Callback::WrongState => progress(Progress::WrongState),
                Callback::Other => {}
            }
        };
        progress(Progress::Exchanging);
        token::exchange_code(
            &self.http,
            &self.endpoints,
            &self.client,
            (&code, &pkce.verifier, &listener.redirect_uri),
            now(),
        )
    }

    /// Signs in with a code entered on another device (RFC 8628).
    pub fn with_device(
        &self,
        progress: &mut dyn FnMut(Progress),
        cancel: &dyn Fn() -> bool,
    ) -> Result<TokenSet, OAuthError> {
        if let Some(why) = self.settings.device_flow_refused() {
            return Err(OAuthError::NoDeviceFlow(why));
        }
        let auth: DeviceAuthorization = device::start(
            &self.http,
            &self.endpoints,
            &self.client,
            &self.settings.scopes(),
        )?;
        progress(Progress::DeviceCode {
            user_code: auth.user_code.clone(),
            verification_uri: auth.verification_uri.clone(),
            verification_uri_complete: auth.verification_uri_complete.clone(),
            expires_in: auth.expires_in,
        });
        device::poll(
            &self.http,
            &self.endpoints,
            &self.client,
            &auth,
            cancel,
            |d| progress(Progress::SlowedDown(d)),
        )
    }

    /// A new access token from a refresh token.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OAuthError> {
        token::refresh(
            &self.http,
            &self.endpoints,
            &self.client,
            refresh_token,
            now(),
        )
    }
}
