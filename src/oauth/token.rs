//! Tokens: the token endpoint's answer (RFC 6749 §5.1, §5.2), the code
//! exchange with its PKCE verifier, and refresh (§6).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use super::OAuthError;
use super::http::{Http, JsonAnswer};
use super::provider::{Endpoints, issuer_matches};

/// The app as the provider knows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// The client secret, for providers that give installed apps one
    /// (Google); sent in the form (`client_secret_post`).
    pub secret: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a sign-in or a refresh gives.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenSet {
    /// The bearer token SMTP AUTH sends.
    pub access_token: String,
    /// The long-lived token that gets new access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix seconds), if the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The scopes granted, if the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Who signed in (from the ID token: email, or the user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_as: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("signed_in_as", &self.signed_in_as)
            .finish()
    }
}

/// Refresh this long before the access token expires: a send that starts
/// with a token a minute from its end could be refused mid-session.
pub const REFRESH_MARGIN_SECS: i64 = 120;

impl TokenSet {
    /// True when the access token is expired at `now` (Unix seconds) or
    /// will be within [`REFRESH_MARGIN_SECS`]. A token with no expiry
    /// is taken as good.
    pub fn needs_refresh(&self, now: i64) -> bool {
        // No access token kept (a keychain too small for it): refresh.
        self.access_token.is_empty()
            || self
                .expires_at
                .is_some_and(|at| at <= now.saturating_add(REFRESH_MARGIN_SECS))
    }

    /// Every string that must never appear in a file or a transcript.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.access_token.clone()];
        out.extend(self.refresh_token.clone());
        out
    }
}

/// Reads a token endpoint's answer. `now` is Unix seconds; `issuer`, the
/// expected issuer (template) of the ID token, if known.
pub fn read_answer(
    url: &str,
    answer: JsonAnswer,
    now: i64,
    issuer: Option<&str>,
) -> Result<TokenSet, OAuthError> {
    let field = |name: &str| {
        answer
            .json
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if let Some(error) = field("error") {
        let description = field("error_description");
        return Err(match error.as_str() {
            "invalid_grant" => OAuthError::InvalidGrant(description),
            "access_denied" => OAuthError::AccessDenied(description),
            "expired_token" => OAuthError::Expired,
            _ => OAuthError::Refused { error, description },
        });
    }
    let bad = |detail: &str| OAuthError::BadResponse {
        url: url.to_owned(),
        status: answer.status,
        detail: detail.to_owned(),
    };
    if answer.status != 200 {
        return Err(bad("no OAuth answer (neither tokens nor an error)"));
    }
    let access_token = field("access_token").ok_or_else(|| bad("no access_token"))?;
    if let Some(kind) = field("token_type")
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(bad(&format!("a {kind:?} token, not a bearer token")));
    }
    let expires_in = answer.json.get("expires_in").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    let signed_in_as = match field("id_token") {
        Some(jwt) => Some(id_token_user(&jwt, issuer)?),
        None => None,
    }
    .flatten();
    Ok(TokenSet {
        access_token,
        refresh_token: field("refresh_token"),
        expires_at: expires_in.map(|s| now.saturating_add(s.max(0))),
        scope: field("scope"),
        signed_in_as,
    })
}

/// Who an ID token names (email, else preferred_username or upn). The
/// token came straight from the token endpoint over TLS (OpenID Connect
/// Core §3.1.3.7 lets a client skip the signature then); its issuer is
/// still checked against the one discovered.
fn id_token_user(jwt: &str, issuer: Option<&str>) -> Result<Option<String>, OAuthError> {
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(|p| B64URL.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let Some(claims) = claims else {
        return Ok(None); // not a JWT we can read: nothing to show
    };
    let claim = |name: &str| claims.get(name).and_then(|v| v.as_str());
    if let (Some(expected), Some(found)) = (issuer, claim("iss"))
        && !issuer_matches(expected, found)
    {
        return Err(OAuthError::IssuerMismatch {
            asked: expected.to_owned(),
            found: found.to_owned(),
        });
    }
    Ok(["email", "preferred_username", "upn"]
        .iter()
        .find_map(|n| claim(n))
        .map(str::to_owned))
}

/// Form fields that name the client: its id, and its secret if it has one.
fn client_fields<'a>(client: &'a Client, form: &mut Vec<(&'static str, &'a str)>) {
    form.push(("client_id", &client.id));
    if let Some(secret) = &client.secret {
        form.push(("client_secret", secret));
    }
}

/// POSTs a grant to the token endpoint and reads the tokens.
pub fn request<'a>(
    http: &Http,
    endpoints: &Endpoints,
    client: &'a Client,
    mut form: Vec<(&'static str, &'a str)>,
    now: i64,
) -> Result<TokenSet, OAuthError> {
    client_fields(client, &mut form);
    let answer = http.post_form(&endpoints.token, &form)?;
    read_answer(
        endpoints.token.as_str(),
        answer,
        now,
        endpoints.issuer.as_deref(),
    )
}

/// Exchanges an authorization code (RFC 6749 §4.1.3, with RFC 7636's
/// verifier).
pub fn exchange_code(
    http: &Http,
    endpoints: &Endpoints,
    client: &Client,
    (code, verifier, redirect_uri): (&str, &str, &str),
    now: i64,
) -> Result<TokenSet, OAuthError> {
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", redirect_uri),
    ];
    request(http, endpoints, client, form, now)
}

/// Gets a new access token (RFC 6749 §6). A provider that sends no new
/// refresh token keeps the old one valid; one that rotates sends its
/// successor, which must replace it.
pub fn refresh(
    http: &Http,
    endpoints: &Endpoints,
    client: &Client,
    refresh_token: &str,
    now: i64,
) -> Result<TokenSet, OAuthError> {
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let mut tokens = request(http, endpoints, client, form, now)?;
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = Some(refresh_token.to_owned());
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, json: serde_json::Value) -> JsonAnswer {
        JsonAnswer { status, json }
    }

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            B64URL.encode(claims.to_string())
        )
    }

    #[test]
    fn a_token_answer_is_read_with_its_expiry_and_user() {
        let id = jwt(json!({"iss": "https://id.example", "email": "ada@example.org"}));
        let t = read_answer(
            "u",
            answer(
                200,
                json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3599,
                       "refresh_token": "rt", "id_token": id}),
            ),
            1000,
            Some("https://id.example"),
        )
        .unwrap();
        assert_eq!(t.expires_at, Some(4599));
        assert_eq!(t.signed_in_as.as_deref(), Some("ada@example.org"));
        assert!(!t.needs_refresh(1000));
        assert!(t.needs_refresh(4599 - REFRESH_MARGIN_SECS));
        let shown = format!("{t:?}");
        assert!(!shown.contains("at\"") && !shown.contains("rt"), "{shown}");
    }

    #[test]
    fn errors_are_sorted_by_what_helps() {
        let err = |e: &str| {
            read_answer(
                "u",
                answer(400, json!({"error": e, "error_description": "why"})),
                0,
                None,
            )
            .unwrap_err()
        };
        assert!(err("invalid_grant").needs_sign_in());
        assert_eq!(
            err("access_denied"),
            OAuthError::AccessDenied(Some("why".into()))
        );
        assert_eq!(err("expired_token"), OAuthError::Expired);
        let other = err("invalid_client");
        assert_eq!(
            other.to_string(),
            "the provider refused: invalid_client: why"
        );
        let nothing = read_answer("u", answer(500, serde_json::Value::Null), 0, None);
        assert!(matches!(
            nothing,
            Err(OAuthError::BadResponse { status: 500, .. })
        ));
        let mac = read_answer(
            "u",
            answer(200, json!({"access_token": "a", "token_type": "mac"})),
            0,
            None,
        );
        assert!(mac.is_err());
    }

    #[test]
    fn an_id_token_from_another_issuer_is_refused() {
        let id = jwt(json!({"iss": "https://evil.example", "email": "x"}));
        let e = read_answer(
            "u",
            answer(200, json!({"access_token": "a", "id_token": id})),
            0,
            Some("https://login.microsoftonline.com/{tenantid}/v2.0"),
        )
        .unwrap_err();
        assert!(matches!(e, OAuthError::IssuerMismatch { .. }), "{e:?}");
        let ok = jwt(json!({"iss": "https://login.microsoftonline.com/t1/v2.0",
                             "preferred_username": "bob@contoso.com"}));
        let t = read_answer(
            "u",
            answer(200, json!({"access_token": "a", "id_token": ok})),
            0,
            Some("https://login.microsoftonline.com/{tenantid}/v2.0"),
        )
        .unwrap();
        assert_eq!(t.signed_in_as.as_deref(), Some("bob@contoso.com"));
        assert_eq!(t.expires_at, None);
        assert!(!t.needs_refresh(i64::MAX - 1));
    }
}
