//! The little HTTP a sign-in needs: JSON from a GET, JSON from a form POST.
//! ureq on rustls, certificates checked by the platform's verifier (the
//! system's trust store, as a browser would), no redirects followed (a
//! token endpoint that redirects is misconfigured), a time limit on every
//! call and a cap on what is read. `http://` only for loopback addresses,
//! so a test provider on 127.0.0.1 works and nothing else goes in clear.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use super::OAuthError;

/// At most this much of a provider's answer is read.
const MAX_BODY: u64 = 1 << 20;

/// A blocking HTTPS client for the provider's endpoints.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Http {
    fn default() -> Self {
        Http::new(Duration::from_secs(30))
    }
}

/// An answer: its status and its JSON (`Null` when the body was empty).
/// `Debug` shows the status and the field names only (tokens are values).
#[derive(Clone)]
pub struct JsonAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub json: serde_json::Value,
}

impl std::fmt::Debug for JsonAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&String> = self
            .json
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        f.debug_struct("JsonAnswer")
            .field("status", &self.status)
            .field("fields", &fields)
            .finish()
    }
}

impl Http {
    /// A client whose every call gives up after `timeout`.
    pub fn new(timeout: Duration) -> Http {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("Postscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent, timeout }
    }

    /// GETs JSON (a discovery document).
    pub fn get_json(&self, url: &Url) -> Result<JsonAnswer, OAuthError> {
        let answer = self
            .agent
            .get(url.as_str())
            .header("Accept", "application/json")
            .call();
        self.read(url, answer)
    }

    /// POSTs a form and reads the JSON answer (token and device endpoints).
    pub fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<JsonAnswer, OAuthError> {
        let answer = self
            .agent
            .post(url.as_str())
            .header("Accept", "application/json")
            .send_form(form.iter().copied());
        self.read(url, answer)
    }

    fn read(
        &self,
        url: &Url,
        answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<JsonAnswer, OAuthError> {
        let shown = shown(url);
        let mut response = answer.map_err(|e| self.failed(&shown, e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| self.failed(&shown, e))?;
        if text.trim().is_empty() {
            return Ok(JsonAnswer {
                status,
                json: serde_json::Value::Null,
            });
        }
        // Never quoted: a token endpoint's body may hold tokens.
        let json = serde_json::from_str(&text).map_err(|_| OAuthError::BadResponse {
            url: shown.clone(),
            status,
            detail: format!(
                "something that is not JSON ({} bytes{})",
                text.len(),
                if text.trim_start().starts_with('<') {
                    ", a web page"
                } else {
                    ""
                }
            ),
        })?;
        Ok(JsonAnswer { status, json })
    }

    fn failed(&self, url: &str, e: ureq::Error) -> OAuthError {
        match e {
            ureq::Error::Timeout(_) => OAuthError::Timeout {
                url: url.to_owned(),
                secs: self.timeout.as_secs().max(1),
            },
            ureq::Error::BodyExceedsLimit(_) => OAuthError::BadResponse {
                url: url.to_owned(),
                status: 200,
                detail: format!("an answer over {} KiB", MAX_BODY / 1024),
            },
            other => OAuthError::Unreachable {
                url: url.to_owned(),
                detail: other.to_string(),
            },
        }
    }
}

/// A URL without its query (which may hold a code) for messages.
fn shown(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Parses a provider URL: `https://`, or `http://` on a loopback address
/// (a provider under test). `what` names it in the error.
pub fn endpoint_url(what: &'static str, text: &str) -> Result<Url, OAuthError> {
    let bad = |why: &str| OAuthError::BadUrl {
        what,
        url: text.to_owned(),
        why: why.to_owned(),
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "http:// is allowed only on a loopback address (127.0.0.1 or ::1); use https://",
            ));
        }
        other => return Err(bad(&format!("{other}: is not http(s)"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it carries a user name or password"));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        // Addresses only: a name, even "localhost", is what a resolver says.
        Some(url::Host::Domain(_)) | None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(endpoint_url("the issuer", "https://accounts.google.com").is_ok());
        assert!(endpoint_url("the issuer", "http://127.0.0.1:8080").is_ok());
        assert!(endpoint_url("the issuer", "http://[::1]:8080/x").is_ok());
        assert!(endpoint_url("the issuer", "http://localhost:9").is_err());
        let e = endpoint_url("the issuer", "http://login.example.com").unwrap_err();
        assert!(e.to_string().contains("only on a loopback"), "{e}");
        assert!(endpoint_url("the issuer", "ftp://x").is_err());
        assert!(endpoint_url("the issuer", "https://u:p@x.example").is_err());
        assert!(endpoint_url("the issuer", "not a url").is_err());
        // 127.0.0.1.example.com is not loopback.
        assert!(endpoint_url("the issuer", "http://127.0.0.1.example.com").is_err());
    }

    #[test]
    fn messages_never_show_a_query() {
        let url = Url::parse("https://x.example/token?code=secret").unwrap();
        assert_eq!(shown(&url), "https://x.example/token");
    }

    #[test]
    fn an_unreachable_provider_says_so() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = endpoint_url("the issuer", &format!("http://127.0.0.1:{port}/x")).unwrap();
        let e = Http::new(Duration::from_secs(5))
            .get_json(&url)
            .unwrap_err();
        assert!(matches!(e, OAuthError::Unreachable { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("cannot reach http://127.0.0.1:"),
            "{e}"
        );
    }
}
