//! Who signs an account in: the Google and Microsoft presets, or any
//! OpenID Connect issuer, and its endpoints (from discovery, or given).

use url::Url;

use super::OAuthError;
use super::http::{Http, endpoint_url};

/// The provider presets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Gmail and Google Workspace.
    Google,
    /// Microsoft 365 / Outlook.com (Entra ID).
    Microsoft,
    /// Any OpenID Connect issuer, or explicit endpoints.
    #[default]
    Custom,
}

/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Google's scope for SMTP (and IMAP, POP).
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";
/// The issuer every Microsoft tenant's documents follow.
pub const MICROSOFT_ISSUER_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
/// Microsoft's scope for SMTP submission.
pub const MICROSOFT_SCOPE: &str = "https://outlook.office.com/SMTP.Send";

/// How an account signs in: part of the account in the settings file.
/// Tokens are not here (the keychain has them), nor the client secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OAuthSettings {
    /// The preset.
    pub provider: ProviderKind,
    /// The issuer (Custom; the presets know theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Microsoft's tenant: `common` (any account), `organizations`,
    /// `consumers`, or a tenant id or domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The app's client id, registered with the provider.
    pub client_id: String,
    /// Scopes; empty means the preset's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Explicit endpoints, instead of discovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint, with `authorization_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The device endpoint, with the other two (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// Whether the client secret is in the keychain (Google's installed
    /// apps need one; it is not a password, but it stays out of files).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_client_secret: bool,
}

impl OAuthSettings {
    /// The issuer to discover: the preset's, or the one given.
    pub fn issuer(&self) -> Option<String> {
        match self.provider {
            ProviderKind::Google => Some(GOOGLE_ISSUER.into()),
            ProviderKind::Microsoft => Some(format!(
                "https://login.microsoftonline.com/{}/v2.0",
                self.tenant().unwrap_or("common")
            )),
            ProviderKind::Custom => self.issuer.clone(),
        }
    }

    fn tenant(&self) -> Option<&str> {
        self.tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The scopes to ask for: the preset's (with `openid email`, so the
    /// provider says who signed in) unless some were given.
    pub fn scopes(&self) -> Vec<String> {
        if !self.scopes.is_empty() {
            return self.scopes.clone();
        }
        let preset: &[&str] = match self.provider {
            ProviderKind::Google => &[GOOGLE_SCOPE, "openid", "email"],
            ProviderKind::Microsoft => &[MICROSOFT_SCOPE, "offline_access", "openid", "email"],
            ProviderKind::Custom => &["openid", "email", "offline_access"],
        };
        preset.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The loopback host of the redirect: Microsoft matches `localhost`
    /// with any port (what its portal registers), the others `127.0.0.1`
    /// (RFC 8252 §7.3 prefers the address).
    pub fn redirect_host(&self) -> &'static str {
        match self.provider {
            ProviderKind::Microsoft => "localhost",
            _ => "127.0.0.1",
        }
    }

    /// Why the device flow cannot be used, if it cannot.
    pub fn device_flow_refused(&self) -> Option<String> {
        (self.provider == ProviderKind::Google).then(|| {
            "Google does not allow the mail scope in the device flow; sign in with the \
             browser instead (without a browser here, open the printed address on another \
             machine and paste back the address it ends on)"
                .to_owned()
        })
    }

    /// Who a grant made with these settings comes from: the issuer (or
    /// the token endpoint) and the client id. A grant from anyone else is
    /// never refreshed with these settings.
    pub fn grantor(&self) -> String {
        let issuer = self
            .issuer()
            .or_else(|| self.token_endpoint.clone())
            .unwrap_or_default();
        format!("{} {}", issuer.trim_end_matches('/'), self.client_id.trim())
    }

    /// A one-line description: "Google", "Microsoft (tenant common)",
    /// "https://id.example.com".
    pub fn describe(&self) -> String {
        match self.provider {
            ProviderKind::Google => "Google".into(),
            ProviderKind::Microsoft => {
                format!("Microsoft (tenant {})", self.tenant().unwrap_or("common"))
            }
            ProviderKind::Custom => self
                .issuer
                .clone()
                .or_else(|| self.token_endpoint.clone())
                .unwrap_or_else(|| "no issuer".into()),
        }
    }
}

/// Where to send the person and where to get tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The issuer (a template for Microsoft's `common`: `{tenantid}`).
    pub issuer: Option<String>,
    /// The browser goes here.
    pub authorization: Url,
    /// Codes and refresh tokens are exchanged here.
    pub token: Url,
    /// The device flow starts here, if the provider has one.
    pub device: Option<Url>,
}

impl Endpoints {
    /// The endpoints for `settings`: the explicit ones, or the issuer's
    /// discovery document (OpenID Connect Discovery 1.0, RFC 8414).
    pub fn for_settings(http: &Http, settings: &OAuthSettings) -> Result<Endpoints, OAuthError> {
        if let (Some(auth), Some(token)) =
            (&settings.authorization_endpoint, &settings.token_endpoint)
        {
            return Ok(Endpoints {
                issuer: settings.issuer.clone(),
                authorization: endpoint_url("the authorization endpoint", auth)?,
                token: endpoint_url("the token endpoint", token)?,
                device: settings
                    .device_authorization_endpoint
                    .as_deref()
                    .map(|d| endpoint_url("the device endpoint", d))
                    .transpose()?,
            });
        }
        let Some(issuer) = settings.issuer() else {
            return Err(OAuthError::BadUrl {
                what: "the issuer",
                url: String::new(),
                why: "none was given (give the issuer, or the authorization and token \
                      endpoints)"
                    .into(),
            });
        };
        if settings.provider == ProviderKind::Microsoft {
            // A tenant given by domain, or `consumers`, answers with its
            // GUID as the issuer: any one tenant on Microsoft's host.
            return discover_checked(http, &issuer, &|found| {
                found == MICROSOFT_ISSUER_TEMPLATE
                    || issuer_matches(MICROSOFT_ISSUER_TEMPLATE, found)
            });
        }
        discover(http, &issuer)
    }
}

/// Reads `{issuer}/.well-known/openid-configuration` and checks that it
/// speaks for that issuer.
pub fn discover(http: &Http, issuer: &str) -> Result<Endpoints, OAuthError> {
    let asked = issuer.trim_end_matches('/').to_owned();
    discover_checked(http, issuer, &|found| issuer_matches(found, &asked))
}

/// [`discover`], with the document's issuer checked by `accept`.
fn discover_checked(
    http: &Http,
    issuer: &str,
    accept: &dyn Fn(&str) -> bool,
) -> Result<Endpoints, OAuthError> {
    let base = endpoint_url("the issuer", issuer)?;
    let trimmed = base.as_str().trim_end_matches('/').to_owned();
    let url = endpoint_url(
        "the discovery document",
        &format!("{trimmed}/.well-known/openid-configuration"),
    )?;
    let answer = http.get_json(&url)?;
    let bad = |detail: String| OAuthError::BadResponse {
        url: url.to_string(),
        status: answer.status,
        detail,
    };
    if answer.status != 200 {
        return Err(bad(
            "no discovery document: is this the issuer's address?".into()
        ));
    }
    let field = |name: &str| answer.json.get(name).and_then(|v| v.as_str());
    let found = field("issuer").ok_or_else(|| bad("a document without \"issuer\"".into()))?;
    if !accept(found) {
        return Err(OAuthError::IssuerMismatch {
            asked: issuer.to_owned(),
            found: found.to_owned(),
        });
    }
    let required = |name: &'static str| {
        field(name)
            .ok_or_else(|| bad(format!("a document without {name:?}")))
            .and_then(|u| endpoint_url(name_of(name), u))
    };
    Ok(Endpoints {
        issuer: Some(found.to_owned()),
        authorization: required("authorization_endpoint")?,
        token: required("token_endpoint")?,
        device: field("device_authorization_endpoint")
            .map(|u| endpoint_url("the device endpoint", u))
            .transpose()?,
    })
}

fn name_of(field: &'static str) -> &'static str {
    match field {
        "authorization_endpoint" => "the authorization endpoint",
        _ => "the token endpoint",
    }
}

/// Whether an issuer as found matches the one asked for. Microsoft's
/// multi-tenant document says `…/{tenantid}/v2.0`: the template matches
/// the `common` (or `organizations`, `consumers`) address it came from,
/// and a token's issuer matches it with any one path segment there.
pub fn issuer_matches(template: &str, actual: &str) -> bool {
    let (t, a) = (template.trim_end_matches('/'), actual.trim_end_matches('/'));
    if t == a {
        return true;
    }
    let Some((before, after)) = t.split_once("{tenantid}") else {
        return false;
    };
    a.strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
        .is_some_and(|tenant| !tenant.is_empty() && !tenant.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_know_their_issuer_scopes_and_redirect() {
        let google = OAuthSettings {
            provider: ProviderKind::Google,
            client_id: "x".into(),
            ..OAuthSettings::default()
        };
        assert_eq!(google.issuer().unwrap(), GOOGLE_ISSUER);
        assert_eq!(google.scopes()[0], GOOGLE_SCOPE);
        assert_eq!(google.redirect_host(), "127.0.0.1");
        assert!(google.device_flow_refused().is_some());
        let ms = OAuthSettings {
            provider: ProviderKind::Microsoft,
            ..OAuthSettings::default()
        };
        assert_eq!(
            ms.issuer().unwrap(),
            "https://login.microsoftonline.com/common/v2.0"
        );
        assert!(ms.scopes().contains(&"offline_access".to_string()));
        assert_eq!(ms.redirect_host(), "localhost");
        let tenant = OAuthSettings {
            tenant: Some("contoso.onmicrosoft.com".into()),
            ..ms
        };
        assert_eq!(
            tenant.issuer().unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        );
        assert_eq!(
            tenant.describe(),
            "Microsoft (tenant contoso.onmicrosoft.com)"
        );
        let custom = OAuthSettings {
            scopes: vec!["smtp".into()],
            ..OAuthSettings::default()
        };
        assert_eq!(custom.scopes(), ["smtp"]);
        assert_eq!(custom.issuer(), None);
    }

    #[test]
    fn microsofts_templated_issuer() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(issuer_matches(
            template,
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        ));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com//v2.0"
        ));
        assert!(!issuer_matches(template, "https://evil.example/x/v2.0"));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(issuer_matches(
            "https://accounts.google.com",
            "https://accounts.google.com/"
        ));
        assert!(!issuer_matches(
            "https://accounts.google.com",
            "https://accounts.google.co"
        ));
    }

    /// A provider that answers one request with `body`.
    fn answering(status: &str, body: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = status.to_owned();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        format!("http://127.0.0.1:{port}")
    }

    #[test]
    fn a_misbehaving_provider_gets_a_clear_error() {
        let http = Http::new(std::time::Duration::from_secs(5));
        let html = answering("200 OK", "<html><body>Welcome</body></html>");
        let e = discover(&http, &html).unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{e}");
        let missing = answering("404 Not Found", "");
        let e = discover(&http, &missing).unwrap_err();
        assert!(
            e.to_string().contains("is this the issuer's address"),
            "{e}"
        );
        let other = answering(
            "200 OK",
            r#"{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a","token_endpoint":"https://evil.example/t"}"#,
        );
        let e = discover(&http, &other).unwrap_err();
        assert!(matches!(e, OAuthError::IssuerMismatch { .. }), "{e:?}");
    }

    #[test]
    fn settings_round_trip_and_stay_small() {
        let s = OAuthSettings {
            provider: ProviderKind::Microsoft,
            client_id: "abc".into(),
            ..OAuthSettings::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"provider":"microsoft","client_id":"abc"}"#);
        assert_eq!(serde_json::from_str::<OAuthSettings>(&json).unwrap(), s);
    }
}
