//! The Accounts tab: saved SMTP accounts, added, edited and deleted here
//! (or with `postscope account`), with provider presets and "Test
//! connection". The settings file gets everything but the password, which
//! goes to the OS keychain; without a keychain it is kept for this session
//! only, and the form says so.

use egui::RichText;

use crate::smtp::{Report, Target, TlsMode};
use crate::store::accounts::{Deleted, Saved, SecretPlace};
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
    /// What to know, honestly.
    pub note: &'static str,
}

/// Common providers. Postscope cannot do an OAuth2 sign-in yet; the notes
/// say so where a provider needs one.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "Gmail / Google Workspace",
        host: "smtp.gmail.com",
        port: 587,
        tls: TlsMode::StartTls,
        auth: AuthSetting::Auto,
        note: "Google refuses your normal password here. Turn on 2-Step Verification and create an \
               app password (Google Account → Security → App passwords), or choose XOAUTH2 and paste \
               an OAuth2 access token: Postscope cannot do Google's sign-in itself yet.",
    },
    Preset {
        name: "Microsoft 365 / Outlook.com",
        host: "smtp.office365.com",
        port: 587,
        tls: TlsMode::StartTls,
        auth: AuthSetting::Xoauth2,
        note: "Microsoft is turning off password (basic) login for SMTP by the end of 2026 and it is \
               off by default for most tenants. You need an OAuth2 access token (XOAUTH2), which \
               Postscope cannot obtain by itself yet: paste one you got elsewhere as the token.",
    },
    Preset {
        name: "Fastmail",
        host: "smtp.fastmail.com",
        port: 465,
        tls: TlsMode::Implicit,
        auth: AuthSetting::Auto,
        note: "Use an app password (Settings → Privacy & Security → App passwords).",
    },
    Preset {
        name: "iCloud Mail",
        host: "smtp.mail.me.com",
        port: 587,
        tls: TlsMode::StartTls,
        auth: AuthSetting::Auto,
        note: "Use an app-specific password (account.apple.com → Sign-In and Security); the user \
               name is your full iCloud address.",
    },
    Preset {
        name: "Yahoo Mail",
        host: "smtp.mail.yahoo.com",
        port: 465,
        tls: TlsMode::Implicit,
        auth: AuthSetting::Auto,
        note: "Use an app password (Account security → Generate app password).",
    },
    Preset {
        name: "Mailpit / MailHog on this computer",
        host: "localhost",
        port: 1025,
        tls: TlsMode::None,
        auth: AuthSetting::None,
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
            unknown: account.unknown.clone(),
        }
    }

    /// Fills host, port, security and login from a preset.
    pub fn apply(&mut self, preset: &Preset) {
        self.host = preset.host.into();
        self.port = preset.port.to_string();
        self.tls = preset.tls;
        self.auth = preset.auth;
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
            AuthSetting::Plain | AuthSetting::Login | AuthSetting::Xoauth2
        ) && self.user.trim().is_empty()
        {
            out.push(("User", "This login mechanism needs a user name".to_string()));
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
            unknown: self.unknown.clone(),
        }
    }
}

/// The outcome of "Test connection".
pub enum TestState {
    /// Not run for this form.
    None,
    /// Running.
    Running,
    /// Finished.
    Done(Box<Report>, Result<(), String>),
}

/// What the tab asks the App to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsIntent {
    /// Edit another account (`None`: a new one).
    Select(Option<String>),
    /// Save the form.
    Save,
    /// Delete the saved account (confirmed).
    Delete(String),
    /// Run a probe with the form's settings.
    Test,
    /// Choose a CA file in the native dialog.
    PickCaFile,
}

/// The Accounts tab's own state.
pub struct AccountsView {
    /// The form.
    pub form: AccountForm,
    /// The last test of this form.
    pub test: TestState,
    confirm_delete: bool,
}

impl Default for AccountsView {
    fn default() -> Self {
        AccountsView {
            form: AccountForm::default(),
            test: TestState::None,
            confirm_delete: false,
        }
    }
}

/// Facts about an account's secret that only the App knows.
pub struct SecretFacts {
    /// The keychain could not be used the last time it was tried (why).
    pub keychain_problem: Option<String>,
    /// The secret of the account being edited is held for this session only.
    pub session_only: bool,
}

impl AccountsView {
    /// Opens an account (or a blank form) for editing.
    pub fn select(&mut self, account: Option<&Account>) {
        self.form = account.map(AccountForm::edit).unwrap_or_default();
        self.test = TestState::None;
        self.confirm_delete = false;
    }

    /// Draws the tab.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        accounts: &[Account],
        facts: &SecretFacts,
        busy: bool,
    ) -> Option<AccountsIntent> {
        let mut intent = None;
        egui::Panel::left("account_list")
            .resizable(true)
            .default_size(200.0)
            .show(ui, |ui| {
                ui.heading("Accounts");
                ui.add_space(4.0);
                for a in accounts {
                    let selected = self.form.original.as_deref() == Some(a.name.as_str());
                    if ui
                        .selectable_label(selected, &a.name)
                        .on_hover_text(&a.server)
                        .clicked()
                        && !selected
                    {
                        intent = Some(AccountsIntent::Select(Some(a.name.clone())));
                    }
                }
                if accounts.is_empty() {
                    ui.label(RichText::new("None saved yet.").weak());
                }
                ui.add_space(6.0);
                if ui.button("New account").clicked() {
                    intent = Some(AccountsIntent::Select(None));
                }
            });
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if let Some(i) = self.form_ui(ui, accounts, facts, busy) {
                    intent = Some(i);
                }
                ui.add_space(8.0);
                match &self.test {
                    TestState::None => {}
                    TestState::Running => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label(
                                "Testing the connection… (the exchange is in the transcript panel)",
                            );
                        });
                    }
                    TestState::Done(report, result) => {
                        ui.separator();
                        super::probe::report_ui(ui, report, result);
                    }
                }
            });
        intent
    }

    fn form_ui(
        &mut self,
        ui: &mut egui::Ui,
        accounts: &[Account],
        facts: &SecretFacts,
        busy: bool,
    ) -> Option<AccountsIntent> {
        let mut intent = None;
        let f = &mut self.form;
        ui.horizontal(|ui| {
            ui.heading(match &f.original {
                Some(name) => format!("Edit “{name}”"),
                None => "New account".to_string(),
            });
            ui.add_space(16.0);
            egui::ComboBox::from_label("Preset")
                .selected_text("Fill in for a provider…")
                .show_ui(ui, |ui| {
                    for p in PRESETS {
                        if ui.selectable_label(false, p.name).clicked() {
                            f.apply(p);
                        }
                    }
                });
        });
        if let Some(note) = f.note {
            ui.label(RichText::new(format!("ℹ {note}")).color(super::style::warn(ui)));
        }
        ui.add_space(4.0);
        let problems = f.problems(accounts);
        // A blank form is not scolded before anything was typed.
        let pristine = *f == AccountForm::default();
        let field_problem = |name: &str| {
            problems
                .iter()
                .filter(|_| !pristine)
                .find(|(field, _)| *field == name)
                .map(|(_, p)| p.clone())
        };
        let row = |ui: &mut egui::Ui, label: &str, edit: egui::TextEdit<'_>, field: &str| {
            let l = ui.label(label);
            let response = ui.add(edit.desired_width(280.0)).labelled_by(l.id);
            if let Some(p) = field_problem(field) {
                ui.label(RichText::new(format!("⚠ {p}")).color(super::style::warn(ui)));
            } else {
                ui.label("");
            }
            ui.end_row();
            response
        };
        egui::Grid::new("account_form")
            .num_columns(3)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                row(
                    ui,
                    "Name",
                    egui::TextEdit::singleline(&mut f.name).hint_text("work"),
                    "Name",
                );
                row(
                    ui,
                    "Display name",
                    egui::TextEdit::singleline(&mut f.display_name).hint_text("Ada Lovelace"),
                    "Display name",
                );
                row(
                    ui,
                    "Email",
                    egui::TextEdit::singleline(&mut f.email).hint_text("ada@example.org"),
                    "Email",
                );
                row(
                    ui,
                    "Host",
                    egui::TextEdit::singleline(&mut f.host).hint_text("smtp.example.org"),
                    "Host",
                );
                row(ui, "Port", egui::TextEdit::singleline(&mut f.port), "Port");

                ui.label("");
                egui::ComboBox::from_label("Security")
                    .selected_text(tls_text(f.tls))
                    .show_ui(ui, |ui| {
                        for t in TlsMode::ALL {
                            ui.selectable_value(&mut f.tls, t, tls_text(t));
                        }
                    });
                ui.label("");
                ui.end_row();

                ui.label("");
                egui::ComboBox::from_label("Login")
                    .selected_text(auth_text(f.auth))
                    .show_ui(ui, |ui| {
                        for a in [
                            AuthSetting::Auto,
                            AuthSetting::Plain,
                            AuthSetting::Login,
                            AuthSetting::Xoauth2,
                            AuthSetting::None,
                        ] {
                            ui.selectable_value(&mut f.auth, a, auth_text(a));
                        }
                    });
                ui.label("");
                ui.end_row();

                if f.auth != AuthSetting::None {
                    row(ui, "User", egui::TextEdit::singleline(&mut f.user), "User");
                    let (label, hint) = match (f.auth, &f.original) {
                        (AuthSetting::Xoauth2, Some(_)) => ("Token", "unchanged (in the keychain)"),
                        (AuthSetting::Xoauth2, None) => ("Token", "OAuth2 access token"),
                        (_, Some(_)) => ("Password", "unchanged (in the keychain)"),
                        (_, None) => ("Password", ""),
                    };
                    let hint = if facts.session_only && f.original.is_some() {
                        "kept for this session only"
                    } else {
                        hint
                    };
                    row(
                        ui,
                        label,
                        egui::TextEdit::singleline(&mut f.secret)
                            .password(true)
                            .hint_text(hint),
                        label,
                    );
                }

                let l = ui.label("CA file");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut f.ca_file)
                            .hint_text("optional: a private CA (PEM)")
                            .desired_width(200.0),
                    )
                    .labelled_by(l.id);
                    if ui.button("Browse…").clicked() {
                        intent = Some(AccountsIntent::PickCaFile);
                    }
                });
                ui.label("");
                ui.end_row();

                ui.label("");
                ui.checkbox(
                    &mut f.insecure,
                    "Accept invalid certificates (testing only)",
                );
                ui.label("");
                ui.end_row();

                row(
                    ui,
                    "Timeout",
                    egui::TextEdit::singleline(&mut f.timeout)
                        .hint_text("seconds; empty: RFC 5321 limits"),
                    "Timeout",
                );
            });
        if f.tls == TlsMode::None {
            ui.label(
                RichText::new(
                    "⚠ Without TLS everything, the password included, crosses the network in clear text.",
                )
                .color(super::style::warn(ui)),
            );
        }
        if f.insecure {
            ui.label(
                RichText::new(
                    "⚠ Certificates are not checked: anyone on the path could read this connection. \
                     For test servers only.",
                )
                .color(super::style::warn(ui)),
            );
        }
        if let Some(problem) = &facts.keychain_problem {
            ui.label(
                RichText::new(format!(
                    "⚠ {problem}. Passwords you type are kept for this session only."
                ))
                .color(super::style::warn(ui)),
            );
        } else if f.logs_in() {
            ui.label(
                RichText::new("The password goes to the OS keychain, never to a file.").weak(),
            );
        }
        ui.add_space(6.0);
        let ok = problems.is_empty();
        let why = problems.first().map(|(_, p)| p.clone());
        ui.horizontal(|ui| {
            let save = ui.add_enabled(ok && !busy, egui::Button::new("Save"));
            let save = match &why {
                Some(why) => save.on_disabled_hover_text(why),
                None => save.on_disabled_hover_text("Wait for the running job to finish"),
            };
            if save.clicked() {
                intent = Some(AccountsIntent::Save);
            }
            let test = ui
                .add_enabled(ok && !busy, egui::Button::new("Test connection"))
                .on_hover_text(
                    "Connect, show what the server offers and its certificate, log in, and quit \
                     without sending anything",
                );
            if test.clicked() {
                intent = Some(AccountsIntent::Test);
            }
            if let Some(name) = f.original.clone() {
                if self.confirm_delete {
                    ui.label(format!("Delete “{name}” and its keychain entry?"));
                    if ui.button("Delete for good").clicked() {
                        intent = Some(AccountsIntent::Delete(name));
                        self.confirm_delete = false;
                    }
                    if ui.button("Keep").clicked() {
                        self.confirm_delete = false;
                    }
                } else if ui.button("Delete…").clicked() {
                    self.confirm_delete = true;
                }
            }
        });
        intent
    }
}

/// The Security choices, as the form says them.
pub fn tls_text(t: TlsMode) -> &'static str {
    match t {
        TlsMode::StartTls => "STARTTLS (required)",
        TlsMode::Implicit => "TLS (implicit, port 465)",
        TlsMode::Opportunistic => "STARTTLS if offered",
        TlsMode::None => "None (clear text)",
    }
}

fn auth_text(a: AuthSetting) -> &'static str {
    match a {
        AuthSetting::Auto => "Automatic",
        AuthSetting::Plain => "PLAIN",
        AuthSetting::Login => "LOGIN",
        AuthSetting::Xoauth2 => "XOAUTH2 (OAuth2 token)",
        AuthSetting::None => "None",
    }
}

/// What the status bar says after an account was saved.
pub fn saved_message(saved: &Saved) -> String {
    let mut message = format!("Saved the account {:?}", saved.name);
    match saved.secret {
        SecretPlace::ThisSession(_) => message.push_str(
            "; the OS keychain is not available, so its password is kept for this session only",
        ),
        SecretPlace::Keychain => message.push_str("; its password is in the OS keychain"),
        SecretPlace::Unchanged => {}
    }
    if let Some(problem) = &saved.settings_problem {
        message.push_str(&format!(" ({problem})"));
    }
    message
}

/// What the status bar says after an account was deleted.
pub fn deleted_message(name: &str, deleted: &Deleted) -> String {
    match &deleted.keychain_problem {
        None => format!("Deleted the account {name:?} and its keychain entry"),
        Some(e) => format!(
            "Deleted the account {name:?}, but its keychain entry could not be removed: {e}"
        ),
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
