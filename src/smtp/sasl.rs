//! SASL for SMTP AUTH (RFC 4954): the PLAIN (RFC 4616), LOGIN, XOAUTH2 and
//! OAUTHBEARER (RFC 7628) mechanisms, credentials that never print
//! themselves, the choice of mechanism from what the server offers, and
//! the OAuth error a server sends in a 334 read back as a sentence.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// A SASL mechanism name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// PLAIN (RFC 4616): user and password in one base64 message.
    Plain,
    /// LOGIN: user and password in two base64 messages (a de-facto standard).
    Login,
    /// XOAUTH2: an OAuth 2.0 bearer token (Google, Microsoft).
    XOAuth2,
    /// OAUTHBEARER (RFC 7628): the standard form of the same (Google,
    /// Dovecot, Stalwart).
    OAuthBearer,
    /// A mechanism Postscope does not implement, kept by name.
    Other(String),
}

impl Mechanism {
    /// The mechanisms Postscope can use, strongest first for `auto`. PLAIN
    /// and LOGIN carry the same secret; PLAIN is one round trip and
    /// standardised, so it comes first. The OAuth mechanisms need a token,
    /// not a password, so they are only picked when a token was given;
    /// OAUTHBEARER, the standard one, before XOAUTH2 when both are offered.
    pub const SUPPORTED: [Mechanism; 4] = [
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// True for the mechanisms that carry an OAuth bearer token.
    pub fn takes_token(&self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }

    /// Parses a name as servers announce it (case-insensitive).
    pub fn from_name(name: &str) -> Mechanism {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Mechanism::Plain,
            "LOGIN" => Mechanism::Login,
            "XOAUTH2" => Mechanism::XOAuth2,
            "OAUTHBEARER" => Mechanism::OAuthBearer,
            other => Mechanism::Other(other.to_owned()),
        }
    }

    /// The name as written in `AUTH <name>`.
    pub fn name(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Other(name) => name,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Mechanism {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What proves who we are: a password or an OAuth bearer token.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A password, for PLAIN and LOGIN.
    Password(String),
    /// An OAuth 2.0 access token, for XOAUTH2 and OAUTHBEARER.
    Token(String),
}

/// A user name and a secret. `Debug` never prints the secret, and this type
/// has no `Serialize`, so it cannot end up in a settings file by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (often the address).
    pub user: String,
    /// The password or token.
    pub secret: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.secret {
            Secret::Password(_) => "password",
            Secret::Token(_) => "token",
        };
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("secret", &format_args!("<{kind} redacted>"))
            .finish()
    }
}

impl Credentials {
    /// Every string that must never appear in a transcript or log: the
    /// secret itself and each encoding of it we put on the wire.
    pub fn sensitive_strings(&self) -> Vec<String> {
        let raw = match &self.secret {
            Secret::Password(p) | Secret::Token(p) => p.clone(),
        };
        let mut out = vec![raw.clone(), B64.encode(&raw)];
        if let Ok(plain) = plain_response(self) {
            out.push(plain);
        }
        out.extend(xoauth2_response(self));
        out.extend(oauthbearer_response(self));
        out.retain(|s| !s.is_empty());
        out
    }
}

/// Why AUTH cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The mechanism needs a password but a token was given, or the reverse.
    #[error("{mechanism} needs {needs}, but {given} was given")]
    WrongSecret {
        /// The mechanism chosen.
        mechanism: Mechanism,
        /// "a password" or "a token".
        needs: &'static str,
        /// What was given instead.
        given: &'static str,
    },
    /// Postscope does not implement this mechanism.
    #[error(
        "Postscope does not support the {0} mechanism; use PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER"
    )]
    Unsupported(Mechanism),
    /// A NUL byte in the user name or password (PLAIN separates with NUL).
    #[error("the user name or password contains a NUL character, which SASL PLAIN cannot carry")]
    Nul,
}

fn password(creds: &Credentials, mechanism: Mechanism) -> Result<&str, SaslError> {
    match &creds.secret {
        Secret::Password(p) => Ok(p),
        Secret::Token(_) => Err(SaslError::WrongSecret {
            mechanism,
            needs: "a password",
            given: "a token",
        }),
    }
}

/// The base64 initial response for PLAIN: `\0user\0password` (RFC 4616 §2;
/// the empty authorization identity means "act as the user").
pub fn plain_response(creds: &Credentials) -> Result<String, SaslError> {
    let pass = password(creds, Mechanism::Plain)?;
    if creds.user.contains('\0') || pass.contains('\0') {
        return Err(SaslError::Nul);
    }
    Ok(B64.encode(format!("\0{}\0{}", creds.user, pass)))
}

/// The two base64 responses for LOGIN: the user name, then the password.
pub fn login_responses(creds: &Credentials) -> Result<(String, String), SaslError> {
    let pass = password(creds, Mechanism::Login)?;
    Ok((B64.encode(&creds.user), B64.encode(pass)))
}

/// The base64 initial response for XOAUTH2:
/// `user=<user>^Aauth=Bearer <token>^A^A` (Google's and Microsoft's spec).
pub fn xoauth2_response(creds: &Credentials) -> Result<String, SaslError> {
    let Secret::Token(token) = &creds.secret else {
        return Err(SaslError::WrongSecret {
            mechanism: Mechanism::XOAuth2,
            needs: "a token",
            given: "a password",
        });
    };
    Ok(B64.encode(format!(
        "user={}\x01auth=Bearer {}\x01\x01",
        creds.user, token
    )))
}

/// The base64 initial response for OAUTHBEARER (RFC 7628 §3.1):
/// `n,a=<user>,^Aauth=Bearer <token>^A^A`, with `,` and `=` in the user
/// name escaped as RFC 5801 asks. Host and port are optional and left out.
pub fn oauthbearer_response(creds: &Credentials) -> Result<String, SaslError> {
    let Secret::Token(token) = &creds.secret else {
        return Err(SaslError::WrongSecret {
            mechanism: Mechanism::OAuthBearer,
            needs: "a token",
            given: "a password",
        });
    };
    let user = creds.user.replace('=', "=3D").replace(',', "=2C");
    Ok(B64.encode(format!("n,a={user},\x01auth=Bearer {token}\x01\x01")))
}

/// What the client answers to a 334 that is not a step of its mechanism
/// (the server's error, for the OAuth ones): OAUTHBEARER wants a single
/// `^A` (RFC 7628 §3.2.3), XOAUTH2 an empty line.
pub fn error_acknowledgement(mechanism: &Mechanism) -> String {
    match mechanism {
        Mechanism::OAuthBearer => B64.encode("\x01"),
        _ => String::new(),
    }
}

/// The OAuth error a server sends in a 334 (Google's `{"status":"401",…}`,
/// RFC 7628 §3.2.2's `{"status":"invalid_token",…}`), as a sentence on
/// what it means and what to do. `None` when the text is not such JSON.
pub fn explain_token_error(decoded: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct TokenError {
        status: String,
        #[serde(default)]
        scope: Option<String>,
    }
    let e: TokenError = serde_json::from_str(decoded.trim()).ok()?;
    let scope = e
        .scope
        .map(|s| format!(" (the server asks for the scope {s})"))
        .unwrap_or_default();
    let what = match e.status.as_str() {
        "invalid_token" | "401" => {
            "the server refused the OAuth2 token: it has expired or been revoked, \
             or it was issued to another user or app"
        }
        "insufficient_scope" | "403" => "the OAuth2 token lacks the scope this server needs",
        "invalid_request" | "400" => "the server could not read the OAuth2 login",
        _ => "the server refused the OAuth2 token",
    };
    Some(format!(
        "{what}{scope}; sign in to the account again (Accounts → Sign in…, or \
         `postscope account login NAME`)"
    ))
}

/// Picks the mechanism for `auto`: the first of [`Mechanism::SUPPORTED`]
/// that the server offers and that fits the kind of secret we have.
pub fn choose(offered: &[Mechanism], creds: &Credentials) -> Option<Mechanism> {
    Mechanism::SUPPORTED.into_iter().find(|m| {
        offered.contains(m)
            && matches!(
                (&creds.secret, m),
                (
                    Secret::Token(_),
                    Mechanism::XOAuth2 | Mechanism::OAuthBearer
                ) | (Secret::Password(_), Mechanism::Plain | Mechanism::Login)
            )
    })
}

/// LOGIN's first challenge, base64 of "Username:".
pub const LOGIN_USER_CHALLENGE: &str = "VXNlcm5hbWU6";
/// LOGIN's second challenge, base64 of "Password:".
pub const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

/// What one PLAIN response says, as a server reads it (RFC 4616 §2).
#[derive(Clone, PartialEq, Eq)]
pub struct PlainLogin {
    /// The authorization identity (empty: act as the user).
    pub authzid: String,
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for PlainLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainLogin")
            .field("authzid", &self.authzid)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Reads a PLAIN response: base64 of `authzid NUL user NUL password`, with
/// a user. `None` when it is anything else.
pub fn read_plain(response: &str) -> Option<PlainLogin> {
    let bytes = B64.decode(response.trim()).ok()?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match bytes.split(|&b| b == 0).collect::<Vec<_>>()[..] {
        [authzid, user, password] if !user.is_empty() => Some(PlainLogin {
            authzid: text(authzid),
            user: text(user),
            password: text(password),
        }),
        _ => None,
    }
}

/// Reads one LOGIN response (the user name or the password): base64 of a
/// non-empty text. `None` when it is anything else.
pub fn read_login(response: &str) -> Option<String> {
    let bytes = B64.decode(response.trim()).ok()?;
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// True for `*`, the client's way to cancel an AUTH exchange (RFC 4954 §4).
pub fn is_cancel(response: &str) -> bool {
    response.trim() == "*"
}

/// Decodes a 334 challenge for display (LOGIN's `VXNlcm5hbWU6` is
/// "Username:"; XOAUTH2 errors are JSON). `None` if it is not base64 text.
pub fn decode_challenge(text: &str) -> Option<String> {
    let bytes = B64.decode(text.trim()).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(user: &str, pass: &str) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::Password(pass.into()),
        }
    }

    #[test]
    fn plain_matches_rfc_4616() {
        // RFC 4616 §4 example: "\0tim\0tanstaaftanstaaf".
        assert_eq!(
            plain_response(&pw("tim", "tanstaaftanstaaf")).unwrap(),
            "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
        );
        assert_eq!(plain_response(&pw("a\0b", "x")), Err(SaslError::Nul));
    }

    #[test]
    fn what_the_client_encodes_the_server_reads() {
        let creds = pw("ada@example.org", "pässwörd with spaces");
        let plain = read_plain(&plain_response(&creds).unwrap()).unwrap();
        assert_eq!(plain.authzid, "");
        assert_eq!(plain.user, "ada@example.org");
        assert_eq!(plain.password, "pässwörd with spaces");
        assert!(!format!("{plain:?}").contains("pässwörd"));
        let (user, pass) = login_responses(&creds).unwrap();
        assert_eq!(read_login(&user).as_deref(), Some("ada@example.org"));
        assert_eq!(read_login(&pass).as_deref(), Some("pässwörd with spaces"));
        assert_eq!(
            decode_challenge(LOGIN_USER_CHALLENGE).as_deref(),
            Some("Username:")
        );
        assert_eq!(
            decode_challenge(LOGIN_PASSWORD_CHALLENGE).as_deref(),
            Some("Password:")
        );
        // Not PLAIN: no user, too few parts, not base64.
        assert_eq!(read_plain(&B64.encode("\0\0pw")), None);
        assert_eq!(read_plain(&B64.encode("user\0pw")), None);
        assert_eq!(read_plain("!!!"), None);
        assert_eq!(read_login(""), None);
        assert!(is_cancel("*\r\n") && !is_cancel("Kg=="));
    }

    #[test]
    fn login_encodes_each_part() {
        let (u, p) = login_responses(&pw("alice", "s3cret")).unwrap();
        assert_eq!(u, "YWxpY2U=");
        assert_eq!(p, "czNjcmV0");
        assert_eq!(
            decode_challenge("VXNlcm5hbWU6").as_deref(),
            Some("Username:")
        );
        assert_eq!(decode_challenge("not base64!"), None);
    }

    #[test]
    fn xoauth2_format() {
        let creds = Credentials {
            user: "someuser@example.com".into(),
            secret: Secret::Token("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg".into()),
        };
        // The example from Google's XOAUTH2 protocol page.
        assert_eq!(
            xoauth2_response(&creds).unwrap(),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        assert!(matches!(
            xoauth2_response(&pw("a", "b")),
            Err(SaslError::WrongSecret { .. })
        ));
    }

    #[test]
    fn oauthbearer_matches_rfc_7628() {
        let creds = Credentials {
            user: "user@example.com".into(),
            secret: Secret::Token("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".into()),
        };
        let decoded = B64.decode(oauthbearer_response(&creds).unwrap()).unwrap();
        assert_eq!(
            decoded,
            b"n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        // RFC 5801 saslname: "," and "=" escaped.
        let odd = Credentials {
            user: "a,b=c".into(),
            ..creds.clone()
        };
        let decoded = B64.decode(oauthbearer_response(&odd).unwrap()).unwrap();
        assert!(decoded.starts_with(b"n,a=a=2Cb=3Dc,\x01"));
        assert_eq!(error_acknowledgement(&Mechanism::OAuthBearer), "AQ==");
        assert_eq!(error_acknowledgement(&Mechanism::XOAuth2), "");
        assert!(
            creds
                .sensitive_strings()
                .contains(&oauthbearer_response(&creds).unwrap())
        );
        assert!(oauthbearer_response(&pw("a", "b")).is_err());
        assert_eq!(Mechanism::from_name("oauthbearer"), Mechanism::OAuthBearer);
    }

    #[test]
    fn token_errors_are_explained() {
        let google = r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        let said = explain_token_error(google).unwrap();
        assert!(said.contains("expired or been revoked"), "{said}");
        assert!(said.contains("https://mail.google.com/"), "{said}");
        assert!(said.contains("sign in to the account again"), "{said}");
        let rfc = r#"{"status":"insufficient_scope","scope":"smtp"}"#;
        assert!(
            explain_token_error(rfc)
                .unwrap()
                .contains("lacks the scope")
        );
        assert_eq!(explain_token_error("Username:"), None);
        assert_eq!(explain_token_error(r#"{"other":1}"#), None);
    }

    #[test]
    fn choice_follows_offer_and_secret() {
        let all = [Mechanism::Login, Mechanism::Plain, Mechanism::XOAuth2];
        assert_eq!(choose(&all, &pw("a", "b")), Some(Mechanism::Plain));
        assert_eq!(
            choose(&[Mechanism::Login], &pw("a", "b")),
            Some(Mechanism::Login)
        );
        let token = Credentials {
            user: "a".into(),
            secret: Secret::Token("t".into()),
        };
        assert_eq!(choose(&all, &token), Some(Mechanism::XOAuth2));
        assert_eq!(choose(&[Mechanism::Plain], &token), None);
        let both = [Mechanism::XOAuth2, Mechanism::OAuthBearer, Mechanism::Plain];
        assert_eq!(choose(&both, &token), Some(Mechanism::OAuthBearer));
        assert_eq!(choose(&both, &pw("a", "b")), Some(Mechanism::Plain));
        assert_eq!(
            choose(&[Mechanism::Other("CRAM-MD5".into())], &pw("a", "b")),
            None
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = format!("{:?}", pw("alice", "hunter2"));
        assert!(s.contains("alice"));
        assert!(!s.contains("hunter2"));
        let sens = pw("alice", "hunter2").sensitive_strings();
        assert!(sens.contains(&"hunter2".to_string()));
        assert!(sens.contains(&B64.encode("hunter2")));
    }
}
