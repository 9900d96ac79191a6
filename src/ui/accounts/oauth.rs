//! The Accounts tab's OAuth2 parts: the provider's fields in the form, and
//! the sign-in panel (Sign in…, the code or the address while it runs, a
//! pasted answer, who is signed in and until when, Sign out).

use std::collections::HashMap;

use egui::RichText;

use super::{AccountForm, AccountsIntent};
use crate::oauth::{OAuthSettings, Progress, ProviderKind, TokenSet};

/// What the sign-in thread reports.
pub enum SignInMsg {
    /// A step of sign-in number `run`, of an account.
    Progress(u64, String, Progress),
    /// It ended: the tokens and whether the keychain took them, or why
    /// not (`None`: the person cancelled it).
    Done(
        u64,
        String,
        Result<(TokenSet, Result<(), String>), Option<String>>,
    ),
    /// An account's grant as read from the keychain (`None`: signed out).
    Loaded(String, Result<Option<TokenSet>, String>),
    /// An account was signed out (or could not be).
    SignedOut(String, Result<(), String>),
}

/// What the window knows of an account's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantView {
    /// Being read from the keychain.
    Loading,
    /// Nobody is signed in.
    SignedOut,
    /// Signed in.
    SignedIn {
        /// Who, if the provider said.
        who: Option<String>,
        /// When the access token expires (Unix seconds; renewed by itself).
        until: Option<i64>,
        /// Kept in memory only (no keychain).
        session_only: bool,
    },
    /// The keychain could not be read (why).
    Unknown(String),
}

/// A sign-in under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Running {
    /// For which account.
    pub account: String,
    /// The address the browser should show.
    pub url: Option<String>,
    /// Whether the browser could be started (`Err(why)` if not).
    pub opened: Option<Result<(), String>>,
    /// The device flow's code and address.
    pub device: Option<(String, String)>,
    /// The latest thing to say (a refused paste, a slow-down).
    pub note: Option<String>,
}

/// The sign-in panel's state.
#[derive(Debug, Default)]
pub struct SignInPanel {
    /// The sign-in running, if one is.
    pub running: Option<Running>,
    /// Each OAuth2 account's state, as last read.
    pub grants: HashMap<String, GrantView>,
    /// The pasted redirect address, as typed.
    pub paste: String,
    /// The last sign-in's failure, for the account it was for.
    pub failed: Option<(String, String)>,
}

/// The form's OAuth2 problems, by field.
pub fn problems(o: &OAuthSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if o.client_id.trim().is_empty() {
        out.push((
            "Client ID",
            "Give the client id of the app you registered with the provider (the README says \
             how)"
                .to_string(),
        ));
    }
    // A custom provider needs an issuer, unless its endpoints are given
    // (`postscope account add … --oauth-token-endpoint`).
    if o.provider == ProviderKind::Custom && o.token_endpoint.is_none() {
        match o.issuer.as_deref().map(str::trim) {
            None | Some("") => out.push((
                "Issuer",
                "Give the OpenID Connect issuer (https://…)".to_string(),
            )),
            Some(url) => {
                if let Err(e) = crate::oauth::http::endpoint_url("the issuer", url) {
                    out.push(("Issuer", e.to_string()));
                }
            }
        }
    }
    out
}

fn provider_text(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::Google => "Google",
        ProviderKind::Microsoft => "Microsoft",
        ProviderKind::Custom => "Another OpenID Connect provider",
    }
}

/// A text field for an optional setting.
fn optional(ui: &mut egui::Ui, value: &mut Option<String>, hint: &str) -> egui::Response {
    let mut text = value.clone().unwrap_or_default();
    let response = ui.add(
        egui::TextEdit::singleline(&mut text)
            .hint_text(hint)
            .desired_width(super::FIELD_WIDTH),
    );
    if response.changed() {
        *value = Some(text).filter(|t| !t.trim().is_empty());
    }
    response
}

/// The provider's rows in the account grid (two columns: the label, the
/// field with its problem under it).
pub fn rows(ui: &mut egui::Ui, f: &mut AccountForm, problem: &dyn Fn(&str) -> Option<String>) {
    let cell =
        |ui: &mut egui::Ui, field: &str, add: &mut dyn FnMut(&mut egui::Ui) -> egui::Response| {
            let l = ui.label(field);
            ui.vertical(|ui| {
                add(ui).labelled_by(l.id);
                super::problem_ui(ui, problem(field));
            });
            ui.end_row();
        };
    cell(ui, "Provider", &mut |ui| {
        egui::ComboBox::from_id_salt("account_oauth_provider")
            .selected_text(provider_text(f.oauth.provider))
            .show_ui(ui, |ui| {
                for p in [
                    ProviderKind::Google,
                    ProviderKind::Microsoft,
                    ProviderKind::Custom,
                ] {
                    ui.selectable_value(&mut f.oauth.provider, p, provider_text(p));
                }
            })
            .response
    });
    cell(ui, "Client ID", &mut |ui| {
        ui.add(
            egui::TextEdit::singleline(&mut f.oauth.client_id)
                .hint_text("from your app's registration")
                .desired_width(super::FIELD_WIDTH),
        )
    });
    let hint = if f.oauth.has_client_secret && f.original.is_some() {
        "unchanged (in the keychain)"
    } else if f.oauth.provider == ProviderKind::Google {
        "Google gives desktop apps one"
    } else {
        "only if the provider gave one"
    };
    cell(ui, "Client secret", &mut |ui| {
        ui.add(
            egui::TextEdit::singleline(&mut f.secret)
                .password(true)
                .hint_text(hint)
                .desired_width(super::FIELD_WIDTH),
        )
    });
    match f.oauth.provider {
        ProviderKind::Microsoft => cell(ui, "Tenant", &mut |ui| {
            optional(
                ui,
                &mut f.oauth.tenant,
                "common, or your tenant id or domain",
            )
        }),
        ProviderKind::Custom => cell(ui, "Issuer", &mut |ui| {
            optional(ui, &mut f.oauth.issuer, "https://id.example.com")
        }),
        ProviderKind::Google => {}
    }
    let preset = f.oauth.scopes().join(" ");
    cell(ui, "Scopes", &mut |ui| {
        let mut scopes = f.oauth.scopes.join(" ");
        let hint = if f.oauth.scopes.is_empty() {
            preset.as_str()
        } else {
            ""
        };
        let response = ui.add(
            egui::TextEdit::singleline(&mut scopes)
                .hint_text(hint)
                .desired_width(super::FIELD_WIDTH),
        );
        if response.changed() {
            f.oauth.scopes = scopes.split_whitespace().map(str::to_owned).collect();
        }
        response
    });
}

/// The sign-in panel under the form. `saved` says the form is an account
/// saved as shown (sign-in uses the saved settings).
pub fn panel_ui(
    ui: &mut egui::Ui,
    panel: &mut SignInPanel,
    f: &AccountForm,
    saved: bool,
    busy: bool,
) -> Option<AccountsIntent> {
    let mut intent = None;
    let Some(name) = f.original.clone() else {
        ui.label(RichText::new("Save the account, then sign in.").weak());
        return None;
    };
    ui.add_space(4.0);
    if let Some(run) = panel.running.clone().filter(|r| r.account == name) {
        return running_ui(ui, panel, &run);
    }
    let state = panel
        .grants
        .get(&name)
        .cloned()
        .unwrap_or(GrantView::Loading);
    ui.horizontal_wrapped(|ui| match &state {
        GrantView::Loading => {
            ui.spinner();
            ui.label("Reading the sign-in from the keychain…");
        }
        GrantView::SignedOut => {
            ui.label("Not signed in.");
        }
        GrantView::SignedIn {
            who,
            until,
            session_only,
        } => {
            let who = who
                .as_deref()
                .map(|w| format!(" as {w}"))
                .unwrap_or_default();
            let until = until
                .map(|t| {
                    format!(
                        " · access token until {} (renewed by itself)",
                        crate::clock::local_date_time(t)
                    )
                })
                .unwrap_or_default();
            ui.label(RichText::new(format!("✔ Signed in{who}{until}")).strong());
            if *session_only {
                ui.label(
                    RichText::new("kept for this session only (no keychain)")
                        .color(super::super::style::warn(ui)),
                );
            }
        }
        GrantView::Unknown(_) => {
            // Why is said above (the keychain warning).
            ui.label("Not signed in this session.");
        }
    });
    if let Some((account, why)) = &panel.failed
        && *account == name
    {
        ui.add(
            egui::Label::new(
                RichText::new(format!("⚠ Not signed in: {why}"))
                    .color(super::super::style::warn(ui)),
            )
            .wrap(),
        );
    }
    ui.horizontal(|ui| {
        let can = saved && !busy;
        let why = if saved {
            "Wait for the running job to finish"
        } else {
            "Save the changes first: sign-in uses the saved account"
        };
        let signed_in = matches!(state, GrantView::SignedIn { .. });
        if ui
            .add_enabled(
                can,
                egui::Button::new(if signed_in {
                    "Sign in again…"
                } else {
                    "Sign in…"
                }),
            )
            .on_hover_text("Opens your browser at the provider's sign-in page")
            .on_disabled_hover_text(why)
            .clicked()
        {
            intent = Some(AccountsIntent::SignIn { device: false });
        }
        if f.oauth.device_flow_refused().is_none()
            && ui
                .add_enabled(can, egui::Button::new("Sign in with a code…"))
                .on_hover_text(
                    "Shows a code to enter at the provider on any device (no browser here)",
                )
                .on_disabled_hover_text(why)
                .clicked()
        {
            intent = Some(AccountsIntent::SignIn { device: true });
        }
        if matches!(state, GrantView::SignedIn { .. }) && ui.button("Sign out").clicked() {
            intent = Some(AccountsIntent::SignOut);
        }
    });
    intent
}

fn running_ui(ui: &mut egui::Ui, panel: &mut SignInPanel, run: &Running) -> Option<AccountsIntent> {
    let mut intent = None;
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(if run.device.is_some() {
            "Waiting for the code to be entered…"
        } else {
            "Waiting for the browser…"
        });
        if ui.button("Cancel").clicked() {
            intent = Some(AccountsIntent::CancelSignIn);
        }
    });
    if let Some((code, uri)) = &run.device {
        ui.label("Open this address on any device and enter the code:");
        ui.hyperlink(uri);
        ui.horizontal(|ui| {
            ui.label(RichText::new(code).monospace().size(22.0).strong());
            if ui.small_button("Copy the code").clicked() {
                ui.ctx().copy_text(code.clone());
            }
        });
    }
    if let Some(url) = &run.url {
        match &run.opened {
            Some(Err(why)) => {
                ui.label(format!(
                    "No browser could be started ({why}). Open this address:"
                ));
            }
            _ => {
                ui.label("A browser window should show the provider's page. If not, open:");
            }
        }
        ui.add(egui::Hyperlink::from_label_and_url(
            RichText::new(shorten(url)).small(),
            url,
        ))
        .on_hover_text(url);
        if ui.small_button("Copy the address").clicked() {
            ui.ctx().copy_text(url.clone());
        }
        let l = ui.label("Browser on another machine? Paste the address it ended on:");
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut panel.paste)
                    .hint_text("http://127.0.0.1:… or http://localhost:…")
                    .desired_width(super::FIELD_WIDTH),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(!panel.paste.trim().is_empty(), egui::Button::new("Use it"))
                .clicked()
            {
                intent = Some(AccountsIntent::PasteRedirect(std::mem::take(
                    &mut panel.paste,
                )));
            }
        });
    }
    if let Some(note) = &run.note {
        ui.label(RichText::new(note).color(super::super::style::warn(ui)));
    }
    intent
}

/// A long address shortened for display (the link keeps it whole).
fn shorten(url: &str) -> String {
    let cut: String = url.chars().take(90).collect();
    if cut.len() < url.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
