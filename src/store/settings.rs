//! Accounts and preferences: one JSON file in the config folder, written
//! atomically; fields it does not know (from a newer Postscope) are kept.
//! Secrets are not here: they are in the keychain ([`super::secrets`]).

use std::path::PathBuf;

use super::{DataDirs, ReadError, read_json, write_json};
use crate::smtp::TlsMode;

/// How an account logs in (the CLI's `--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthSetting {
    /// The strongest mechanism both sides have (when a user is given).
    Auto,
    /// SASL PLAIN.
    Plain,
    /// LOGIN.
    Login,
    /// XOAUTH2 with a bearer token.
    Xoauth2,
    /// OAUTHBEARER (RFC 7628) with a bearer token.
    Oauthbearer,
    /// Signed in with OAuth2 ([`Account::oauth`]): tokens in the keychain,
    /// refreshed as needed; XOAUTH2 or OAUTHBEARER, whichever is offered.
    Oauth2,
    /// Do not log in.
    None,
}

impl AuthSetting {
    /// True when the account's secret is an OAuth2 token, not a password.
    pub fn takes_token(self) -> bool {
        matches!(self, AuthSetting::Xoauth2 | AuthSetting::Oauthbearer)
    }
}

/// A saved SMTP account. Its password or token is in the keychain, filed
/// under the account's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Account {
    /// The name it is picked by (`--account NAME`).
    pub name: String,
    /// The name shown in From ("Ada Lovelace").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The address mail is sent from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `HOST` or `HOST:PORT`.
    pub server: String,
    /// Transport security; `None` means the port's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMode>,
    /// Login mechanism; `None` means automatic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSetting>,
    /// The user name to log in with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The name to give in EHLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ehlo: Option<String>,
    /// A private CA to trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Accept invalid certificates (testing only).
    pub insecure: bool,
    /// Every wait's time limit, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// How it signs in, for [`AuthSetting::Oauth2`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth: Option<crate::oauth::OAuthSettings>,
    /// Fields from a newer Postscope, kept as they were.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

impl Account {
    /// The From mailbox this account fills in: `Name <email>`, or the bare
    /// address.
    pub fn from_mailbox(&self) -> Option<String> {
        let email = self
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())?;
        match self.display_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => {
                let plain = name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '\'');
                if plain {
                    Some(format!("{name} <{email}>"))
                } else {
                    let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                    Some(format!("\"{quoted}\" <{email}>"))
                }
            }
            _ => Some(email.to_owned()),
        }
    }

    /// True when the account logs in: a user name and auth not "none",
    /// or OAuth2 sign-in (the user name comes with the sign-in).
    pub fn logs_in(&self) -> bool {
        self.signs_in()
            || self.user.as_deref().is_some_and(|u| !u.is_empty())
                && self.auth != Some(AuthSetting::None)
    }

    /// True when the account signs in with OAuth2 (its keychain entry is a
    /// [`super::grants::Grant`], not a password).
    pub fn signs_in(&self) -> bool {
        self.auth == Some(AuthSetting::Oauth2)
    }
}

/// The settings file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The file format's version.
    pub version: u32,
    /// Saved accounts.
    pub accounts: Vec<Account>,
    /// Fields from a newer Postscope, kept as they were.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: 1,
            accounts: Vec::new(),
            unknown: serde_json::Map::new(),
        }
    }
}

impl Settings {
    /// The file's path.
    pub fn path(dirs: &DataDirs) -> PathBuf {
        dirs.config.join("settings.json")
    }

    /// Reads the settings. A missing file gives the defaults; an unreadable
    /// one is kept aside and reported with the defaults, so the app starts.
    pub fn load(dirs: &DataDirs) -> (Settings, Option<ReadError>) {
        match read_json(&Self::path(dirs)) {
            Ok(Some(s)) => (s, None),
            Ok(None) => (Settings::default(), None),
            Err(e) => (Settings::default(), Some(e)),
        }
    }

    /// Writes the settings atomically.
    pub fn save(&self, dirs: &DataDirs) -> std::io::Result<()> {
        write_json(&Self::path(dirs), self)
    }

    /// The account with this name.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDirs::at(dir.path());
        std::fs::create_dir_all(&dirs.config).unwrap();
        std::fs::write(
            Settings::path(&dirs),
            r#"{"version":1,"theme":"dark","accounts":[{"name":"work","server":"smtp.example.org","tls":"implicit","signature":"--\nA"}]}"#,
        )
        .unwrap();
        let (settings, problem) = Settings::load(&dirs);
        assert!(problem.is_none());
        let work = settings.account("work").unwrap();
        assert_eq!(work.tls, Some(TlsMode::Implicit));
        settings.save(&dirs).unwrap();
        let text = std::fs::read_to_string(Settings::path(&dirs)).unwrap();
        assert!(text.contains("\"theme\": \"dark\""), "{text}");
        assert!(text.contains("\"signature\""), "{text}");
    }

    #[test]
    fn tls_modes_keep_their_names_on_disk() {
        for (mode, name) in [
            (TlsMode::StartTls, "\"starttls\""),
            (TlsMode::Implicit, "\"implicit\""),
            (TlsMode::Opportunistic, "\"opportunistic\""),
            (TlsMode::None, "\"none\""),
        ] {
            assert_eq!(serde_json::to_string(&mode).unwrap(), name);
            assert_eq!(serde_json::from_str::<TlsMode>(name).unwrap(), mode);
        }
    }

    #[test]
    fn from_mailbox_quotes_what_needs_it() {
        let mut a = Account {
            email: Some("ada@example.org".into()),
            ..Account::default()
        };
        assert_eq!(a.from_mailbox().as_deref(), Some("ada@example.org"));
        a.display_name = Some("Ada Lovelace".into());
        assert_eq!(
            a.from_mailbox().as_deref(),
            Some("Ada Lovelace <ada@example.org>")
        );
        a.display_name = Some("Lovelace, Ada \"A.\"".into());
        let from = a.from_mailbox().unwrap();
        assert_eq!(from, r#""Lovelace, Ada \"A.\"" <ada@example.org>"#);
        assert!(
            crate::message::parse_mailboxes(crate::message::Field::From, &from).is_ok(),
            "{from}"
        );
        a.email = None;
        assert_eq!(a.from_mailbox(), None);
    }

    #[test]
    fn a_corrupt_settings_file_is_kept_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDirs::at(dir.path());
        std::fs::create_dir_all(&dirs.config).unwrap();
        std::fs::write(Settings::path(&dirs), "{\"accounts\": [").unwrap();
        let (settings, problem) = Settings::load(&dirs);
        assert_eq!(settings, Settings::default());
        let problem = problem.expect("reported");
        assert!(problem.to_string().contains("was kept as"), "{problem}");
    }
}
