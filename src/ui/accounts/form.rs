//! The account form: provider presets, the fields as typed, and the
//! problems that keep it from being saved.

use crate::oauth::OAuthSettings;
use crate::smtp::{Target, TlsMode};
use crate::store::settings::{Account, AuthSetting};

/// A provider's settings, and what a person must know to log in there.
pub struct Preset {
    /// The provider.
    pub name: &'static str,
    /// Host name.
    pub host: &'static str,
    /// Port.
    pub port: u16,
    /// Security.
    pub tls: TlsMode,
    /// Login mechanism.
    pub auth: AuthSetting,
    /// The OAuth2 provider, for a preset that signs in.
    pub oauth: Option<crate::oauth::ProviderKind>,
    /// What to know, honestly.
    pub note: &'static str,
}

/// Common providers, with what each needs said honestly.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "Gmail / Google Workspace",
        host: "smtp.gmail.com",
        port: 587,
        tls: TlsMode::StartTls,
        auth: AuthSetting::Oauth2,
        oauth: Some(crate::oauth::ProviderKind::Google),
        note: "Google refuses your normal password here. Sign in with the browser (OAuth2): give \
               the client id and secret of a Desktop app you registered in Google Cloud (the \
               README says how), save, then Sign in…. Or choose PLAIN with an app password.",
    },
    Preset {
        name: "Microsoft 365 / Outlook.com",
        host: "smtp.office365.com",
        port: 587,
        tls: TlsMode::StartTls,
        auth: AuthSetting::Oauth2,
        oauth: Some(crate::oauth::ProviderKind::Microsoft),
        note: "Microsoft is turning off password (basic) login for SMTP by the end of 2026 and it is \
               off by default for most tenants. Sign in with OAuth2: give the client id of an app \
               you registered in Microsoft Entra (the README says how), save, then Sign in….",
    },
    Preset {
        name: "Fastmail",
        host: "smtp.fastmail.com",
        port: 465,
        tls: TlsMode::Implicit,
        auth: AuthSetting::Auto,
        oauth: None,
        note: "Use an app password (Settings → Privacy & Security → App passwords).",
    },
    Preset {
        name: "iCloud Mail",
        host: "smtp.mail.me.com",
        port: 587,
        tls: TlsMode::StartTls,
        auth: AuthSetting::Auto,
        oauth: None,
        note: "Use an app-specific password (account.apple.com → Sign-In and Security); the user \
               name is your full iCloud address.",
    },
    Preset {
        name: "Yahoo Mail",
        host: "smtp.mail.yahoo.com",
        port: 465,
        tls: TlsMode::Implicit,
        auth: AuthSetting::Auto,
        oauth: None,
        note: "Use an app password (Account security → Generate app password).",
    },
    Preset {
        name: "Mailpit / MailHog on this computer",
        host: "localhost",
        port: 1025,
        tls: TlsMode::None,
        auth: AuthSetting::None,
        oauth: None,
        note: "A local test server: clear text, no login.",
    },
];

/// The account form, as typed. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountForm {
    /// The saved account being edited (`None`: a new one).
    pub original: Option<String>,
    /// Name to pick it by.
    pub name: String,
    /// Name shown in From.
    pub display_name: String,
    /// Address to send from.
    pub email: String,
    /// Host name or address.
    pub host: String,
    /// Port, as typed.
    pub port: String,
    /// Security.
    pub tls: TlsMode,
    /// Login mechanism.
    pub auth: AuthSetting,
    /// User name.
    pub user: String,
    /// A new password or token; empty keeps the one in the keychain.
    pub secret: String,
    /// Private CA file (PEM), optional.
    pub ca_file: String,
    /// Accept invalid certificates (testing only).
    pub insecure: bool,
    /// Time limit for each wait, in seconds; empty for the RFC 5321 ones.
    pub timeout: String,
    /// The chosen preset's note.
    pub note: Option<&'static str>,
    /// OAuth2 sign-in: provider, client id, issuer…
    pub oauth: OAuthSettings,
    unknown: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for AccountForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountForm")
            .field("original", &self.original)
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Default for AccountForm {
    fn default() -> Self {
        AccountForm {
            original: None,
            name: String::new(),
            display_name: String::new(),
            email: String::new(),
            host: String::new(),
            port: "587".into(),
            tls: TlsMode::StartTls,
            auth: AuthSetting::Auto,
            user: String::new(),
            secret: String::new(),
            ca_file: String::new(),
            insecure: false,
            timeout: String::new(),
            note: None,
            oauth: OAuthSettings::default(),
            unknown: serde_json::Map::new(),
        }
    }
}

impl AccountForm {
    /// The form for a saved account (the secret stays in the keychain).
    pub fn edit(account: &Account) -> AccountForm {
        let target = Target::parse(&account.server).ok();
        let port = target.as_ref().map_or(587, |t| t.port);
        AccountForm {
            original: Some(account.name.clone()),
            name: account.name.clone(),
            display_name: account.display_name.clone().unwrap_or_default(),
            email: account.email.clone().unwrap_or_default(),
            host: target.map_or_else(|| account.server.clone(), |t| t.host),
            port: port.to_string(),
            tls: account.tls.unwrap_or(if port == 465 {
                TlsMode::Implicit
            } else {
                TlsMode::StartTls
            }),
            auth: account.auth.unwrap_or(if account.user.is_some() {
                AuthSetting::Auto
            } else {
                AuthSetting::None
            }),
            user: account.user.clone().unwrap_or_default(),
            secret: String::new(),
            ca_file: account
                .ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            insecure: account.insecure,
            timeout: account
                .timeout_secs
                .map(|s| s.to_string())
                .unwrap_or_default(),
            note: None,
            oauth: account.oauth.clone().unwrap_or_default(),
            unknown: account.unknown.clone(),
        }
    }

    /// Fills host, port, security and login from a preset.
    pub fn apply(&mut self, preset: &Preset) {
        self.host = preset.host.into();
        self.port = preset.port.to_string();
        self.tls = preset.tls;
        self.auth = preset.auth;
        if let Some(provider) = preset.oauth {
            self.oauth.provider = provider;
        }
        self.note = Some(preset.note);
        if self.name.trim().is_empty() {
            self.name = preset.name.split(' ').next().unwrap_or(preset.name).into();
        }
    }

    /// True when the account will log in.
    pub fn logs_in(&self) -> bool {
        self.auth != AuthSetting::None && !self.user.trim().is_empty()
    }

    /// What is wrong with the form, field by field, in the order shown.
    pub fn problems(&self, others: &[Account]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            out.push(("Name", "Give the account a name".to_string()));
        } else if others
            .iter()
            .any(|a| a.name == name && self.original.as_deref() != Some(name))
        {
            out.push((
                "Name",
                format!("There is already an account named {name:?}"),
            ));
        }
        if !self.email.trim().is_empty()
            && let Err(e) =
                crate::message::parse_mailboxes(crate::message::Field::From, self.email.trim())
        {
            out.push(("Email", e.to_string()));
        }
        if self.host.trim().is_empty() {
            out.push(("Host", "Enter the server's host name".to_string()));
        } else if let Err(why) = Target::parse(&self.server()) {
            out.push(("Host", format!("The server {:?}: {why}", self.server())));
        }
        if self.port.trim().parse::<u16>().map_or(true, |p| p == 0) {
            out.push((
                "Port",
                "The port must be a number from 1 to 65535".to_string(),
            ));
        }
        if matches!(
            self.auth,
            AuthSetting::Plain
                | AuthSetting::Login
                | AuthSetting::Xoauth2
                | AuthSetting::Oauthbearer
        ) && self.user.trim().is_empty()
        {
            out.push(("User", "This login mechanism needs a user name".to_string()));
        }
        if self.auth == AuthSetting::Oauth2 {
            out.extend(super::oauth::problems(&self.oauth));
        }
        if !self.timeout.trim().is_empty()
            && self
                .timeout
                .trim()
                .parse::<u64>()
                .map_or(true, |t| !(1..=3600).contains(&t))
        {
            out.push((
                "Timeout",
                "The timeout is a number of seconds from 1 to 3600, or empty".to_string(),
            ));
        }
        out
    }

    fn server(&self) -> String {
        let host = self
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.contains(':') {
            format!("[{host}]:{}", self.port.trim())
        } else {
            format!("{host}:{}", self.port.trim())
        }
    }

    /// The account to save (call after [`AccountForm::problems`] is empty).
    pub fn account(&self) -> Account {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Account {
            name: self.name.trim().to_owned(),
            display_name: opt(&self.display_name),
            email: opt(&self.email),
            server: self.server(),
            tls: Some(self.tls),
            auth: Some(self.auth),
            user: opt(&self.user).filter(|_| self.auth != AuthSetting::None),
            ehlo: None,
            ca_file: opt(&self.ca_file).map(std::path::PathBuf::from),
            insecure: self.insecure,
            timeout_secs: self.timeout.trim().parse().ok(),
            oauth: (self.auth == AuthSetting::Oauth2).then(|| self.oauth.clone()),
            unknown: self.unknown.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_round_trips_through_an_account() {
        let mut f = AccountForm::default();
        f.apply(&PRESETS[2]);
        f.name = "personal".into();
        f.email = "ada@example.org".into();
        f.user = "ada".into();
        f.secret = "hunter2".into();
        f.timeout = "20".into();
        assert!(f.problems(&[]).is_empty(), "{:?}", f.problems(&[]));
        let account = f.account();
        assert_eq!(account.server, "smtp.fastmail.com:465");
        assert_eq!(account.tls, Some(TlsMode::Implicit));
        assert_eq!(account.timeout_secs, Some(20));
        let json = serde_json::to_string(&account).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        let back = AccountForm::edit(&account);
        assert_eq!(back.host, "smtp.fastmail.com");
        assert_eq!(back.port, "465");
        assert_eq!(back.original.as_deref(), Some("personal"));
        assert!(back.secret.is_empty());
        assert!(!format!("{f:?}").contains("hunter2"));
    }

    #[test]
    fn problems_name_the_field() {
        let existing = Account {
            name: "work".into(),
            ..Account::default()
        };
        let f = AccountForm {
            name: "work".into(),
            email: "not an address".into(),
            port: "70000".into(),
            auth: AuthSetting::Plain,
            timeout: "0".into(),
            ..AccountForm::default()
        };
        let fields: Vec<_> = f
            .problems(std::slice::from_ref(&existing))
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        assert_eq!(fields, ["Name", "Email", "Host", "Port", "User", "Timeout"]);
        // Editing "work" itself is not a clash.
        let edit = AccountForm {
            host: "::1".into(),
            ..AccountForm::edit(&existing)
        };
        assert!(edit.problems(&[existing]).is_empty());
        assert_eq!(edit.account().server, "[::1]:587");
    }
}
