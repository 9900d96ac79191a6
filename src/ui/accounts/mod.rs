//! The Accounts tab: saved SMTP accounts, added, edited and deleted here
//! (or with `postscope account`), with provider presets and "Test
//! connection". The settings file gets everything but the password, which
//! goes to the OS keychain; without a keychain it is kept for this session
//! only, and the form says so.

use egui::RichText;

mod form;
pub mod oauth;

pub use form::{AccountForm, PRESETS};
pub use oauth::SignInPanel;

use crate::smtp::{Report, TlsMode};
use crate::store::accounts::{Deleted, Saved, SecretPlace};
use crate::store::settings::{Account, AuthSetting};

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
    /// Sign the saved account in with OAuth2 (browser, or a device code).
    SignIn {
        /// With a code entered on another device.
        device: bool,
    },
    /// Stop the sign-in under way.
    CancelSignIn,
    /// The address the browser ended on, pasted (browser elsewhere).
    PasteRedirect(String),
    /// Forget the account's tokens.
    SignOut,
}

/// The Accounts tab's own state.
pub struct AccountsView {
    /// The form.
    pub form: AccountForm,
    /// The last test of this form.
    pub test: TestState,
    /// OAuth2 sign-in.
    pub signin: SignInPanel,
    confirm_delete: bool,
}

impl Default for AccountsView {
    fn default() -> Self {
        AccountsView {
            form: AccountForm::default(),
            test: TestState::None,
            signin: SignInPanel::default(),
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
        let saved = match &f.original {
            Some(name) => accounts
                .iter()
                .find(|a| &a.name == name)
                .map(AccountForm::edit),
            None => Some(AccountForm::default()),
        };
        let unsaved = saved.is_some_and(|s| s != *f);
        ui.horizontal(|ui| {
            ui.heading(match &f.original {
                Some(name) => format!("Edit “{name}”"),
                None => "New account".to_string(),
            });
            // Always laid out, so the row does not jump when it appears.
            ui.label(
                RichText::new(if unsaved { "unsaved changes" } else { "" })
                    .color(super::style::warn(ui)),
            );
            ui.add_space(16.0);
            let l = ui.label("Preset");
            egui::ComboBox::from_id_salt("account_preset")
                .selected_text("Fill in for a provider…")
                .show_ui(ui, |ui| {
                    for p in PRESETS {
                        if ui.selectable_label(false, p.name).clicked() {
                            f.apply(p);
                        }
                    }
                })
                .response
                .labelled_by(l.id);
        });
        if let Some(note) = f.note {
            ui.label(RichText::new(format!("ℹ {note}")).color(super::style::warn(ui)));
        }
        // Signing in is what an OAuth2 account is for: at the top.
        if f.auth == AuthSetting::Oauth2 {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(ui.available_width());
                if let Some(i) = oauth::panel_ui(ui, &mut self.signin, f, !unsaved, busy) {
                    intent = Some(i);
                }
            });
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
        // Two columns: a field's problem goes under it, so the form keeps
        // to its width at 1024 px with the transcript open.
        let row = |ui: &mut egui::Ui, label: &str, edit: egui::TextEdit<'_>, field: &str| {
            let l = ui.label(label);
            let response = ui
                .vertical(|ui| {
                    let response = ui.add(edit.desired_width(FIELD_WIDTH)).labelled_by(l.id);
                    problem_ui(ui, field_problem(field));
                    response
                })
                .inner;
            ui.end_row();
            response
        };
        egui::Grid::new("account_form")
            .num_columns(2)
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

                let l = ui.label("Security");
                egui::ComboBox::from_id_salt("account_security")
                    .selected_text(tls_text(f.tls))
                    .show_ui(ui, |ui| {
                        for t in TlsMode::ALL {
                            ui.selectable_value(&mut f.tls, t, tls_text(t));
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.end_row();

                let l = ui.label("Login");
                egui::ComboBox::from_id_salt("account_login")
                    .selected_text(auth_text(f.auth))
                    .show_ui(ui, |ui| {
                        for a in [
                            AuthSetting::Auto,
                            AuthSetting::Plain,
                            AuthSetting::Login,
                            AuthSetting::Oauth2,
                            AuthSetting::Xoauth2,
                            AuthSetting::Oauthbearer,
                            AuthSetting::None,
                        ] {
                            ui.selectable_value(&mut f.auth, a, auth_text(a));
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.end_row();

                if f.auth == AuthSetting::Oauth2 {
                    oauth::rows(ui, f, &field_problem);
                    row(
                        ui,
                        "User",
                        egui::TextEdit::singleline(&mut f.user)
                            .hint_text("filled in when you sign in"),
                        "User",
                    );
                } else if f.auth != AuthSetting::None {
                    row(ui, "User", egui::TextEdit::singleline(&mut f.user), "User");
                    let (label, hint) = match (f.auth, &f.original) {
                        (a, Some(_)) if a.takes_token() => ("Token", "unchanged (in the keychain)"),
                        (a, None) if a.takes_token() => ("Token", "OAuth2 access token"),
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
                ui.end_row();

                ui.label("");
                ui.checkbox(
                    &mut f.insecure,
                    "Accept invalid certificates (testing only)",
                );
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
            ui.add(
                egui::Label::new(
                    RichText::new(if f.auth == AuthSetting::Oauth2 {
                        format!(
                            "⚠ No keychain: a sign-in lasts only until Postscope closes, then \
                             you sign in again. ({problem})"
                        )
                    } else {
                        format!(
                            "⚠ No keychain: a password you type here is kept only until \
                             Postscope closes, then you type it again. ({problem})"
                        )
                    })
                    .color(super::style::warn(ui)),
                )
                .wrap(),
            );
        } else if f.auth == AuthSetting::Oauth2 {
            ui.label(RichText::new("The tokens go to the OS keychain, never to a file.").weak());
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

/// The width of the form's text fields.
pub const FIELD_WIDTH: f32 = 280.0;

/// A field's problem, under it, wrapped to the field's width.
pub fn problem_ui(ui: &mut egui::Ui, problem: Option<String>) {
    if let Some(p) = problem {
        ui.scope(|ui| {
            ui.set_max_width(FIELD_WIDTH);
            ui.add(
                egui::Label::new(RichText::new(format!("⚠ {p}")).color(super::style::warn(ui)))
                    .wrap(),
            );
        });
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
        AuthSetting::Xoauth2 => "XOAUTH2 (a token you paste)",
        AuthSetting::Oauthbearer => "OAUTHBEARER (a token you paste)",
        AuthSetting::Oauth2 => "OAuth2 (sign in with the browser)",
        AuthSetting::None => "None",
    }
}

/// What the status bar says after an account was saved.
pub fn saved_message(saved: &Saved) -> String {
    let mut message = format!("Saved the account {:?}", saved.name);
    let what = if saved
        .settings
        .account(&saved.name)
        .is_some_and(Account::signs_in)
    {
        "its client secret"
    } else {
        "its password"
    };
    match saved.secret {
        SecretPlace::ThisSession(_) => message.push_str(&format!(
            "; the OS keychain is not available, so {what} is kept for this session only"
        )),
        SecretPlace::Keychain => message.push_str(&format!("; {what} is in the OS keychain")),
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
