//! The device authorization grant (RFC 8628): a code to enter at an
//! address on any device, while this one polls the token endpoint at the
//! interval the provider gives, slowing down when told to, until the code
//! is approved, denied or expires.

use std::time::{Duration, Instant};

use super::OAuthError;
use super::http::Http;
use super::provider::Endpoints;
use super::token::{self, Client, TokenSet};

/// RFC 8628 §3.2's default interval, when the provider gives none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// §3.5: each `slow_down` adds this to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What the person must do, and what this side polls with.
#[derive(Clone)]
pub struct DeviceAuthorization {
    device_code: String,
    /// The code to type (`ABCD-EFGH`).
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// The same address with the code filled in, if the provider has one.
    pub verification_uri_complete: Option<String>,
    /// How long the code is good for.
    pub expires_in: Duration,
    /// How often to poll.
    pub interval: Duration,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Asks the provider for a device code (§3.1).
pub fn start(
    http: &Http,
    endpoints: &Endpoints,
    client: &Client,
    scopes: &[String],
) -> Result<DeviceAuthorization, OAuthError> {
    let Some(url) = &endpoints.device else {
        return Err(OAuthError::NoDeviceFlow(
            "this provider has no device flow (its discovery document names no \
             device_authorization_endpoint); sign in with the browser instead"
                .into(),
        ));
    };
    let scope = scopes.join(" ");
    let mut form = vec![("client_id", client.id.as_str()), ("scope", scope.as_str())];
    if let Some(secret) = &client.secret {
        form.push(("client_secret", secret));
    }
    let answer = http.post_form(url, &form)?;
    let field = |n: &str| {
        answer
            .json
            .get(n)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if let Some(error) = field("error") {
        return Err(OAuthError::Refused {
            error,
            description: field("error_description"),
        });
    }
    let bad = |what: &str| OAuthError::BadResponse {
        url: url.to_string(),
        status: answer.status,
        detail: format!("a device answer without {what}"),
    };
    let secs = |n: &str| answer.json.get(n).and_then(serde_json::Value::as_u64);
    Ok(DeviceAuthorization {
        device_code: field("device_code").ok_or_else(|| bad("device_code"))?,
        user_code: field("user_code").ok_or_else(|| bad("user_code"))?,
        // Google and older drafts say verification_url.
        verification_uri: field("verification_uri")
            .or_else(|| field("verification_url"))
            .ok_or_else(|| bad("verification_uri"))?,
        verification_uri_complete: field("verification_uri_complete"),
        expires_in: Duration::from_secs(secs("expires_in").ok_or_else(|| bad("expires_in"))?),
        interval: secs("interval")
            .map(|s| Duration::from_secs(s.max(1)))
            .unwrap_or(DEFAULT_INTERVAL),
    })
}

/// Polls until the code is approved (tokens), denied, expired, or `stop`
/// says to give up. `waited(interval)` is told each time the provider
/// asks to slow down.
pub fn poll(
    http: &Http,
    endpoints: &Endpoints,
    client: &Client,
    auth: &DeviceAuthorization,
    mut stop: impl FnMut() -> bool,
    mut slowed: impl FnMut(Duration),
) -> Result<TokenSet, OAuthError> {
    let expires = Instant::now() + auth.expires_in;
    let mut interval = auth.interval;
    loop {
        let next = Instant::now() + interval;
        while Instant::now() < next {
            if stop() {
                return Err(OAuthError::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
        if Instant::now() >= expires {
            return Err(OAuthError::Expired);
        }
        let form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", auth.device_code.as_str()),
        ];
        let now = crate::clock::unix_secs(std::time::SystemTime::now());
        match token::request(http, endpoints, client, form, now) {
            Ok(tokens) => return Ok(tokens),
            Err(OAuthError::Refused { error, .. }) if error == "authorization_pending" => {}
            Err(OAuthError::Refused { error, .. }) if error == "slow_down" => {
                interval += SLOW_DOWN_STEP;
                slowed(interval);
            }
            // A network hiccup: back off and keep polling until the code
            // expires (RFC 8628 §3.5).
            Err(OAuthError::Unreachable { .. } | OAuthError::Timeout { .. }) => {
                interval += SLOW_DOWN_STEP;
                slowed(interval);
            }
            Err(e) => return Err(e),
        }
    }
}
