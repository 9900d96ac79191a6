//! The Console tab: test a server by hand. **Probe** shows what a server
//! offers (capabilities with a sentence each, TLS, the certificate chain,
//! the time of each step). **Connect** opens a raw connection: type any
//! command (several lines at once to try pipelining; Up/Down for history;
//! Tab completes the verb), or use the buttons for the common steps. The
//! connection's state is always shown; every line is in the transcript
//! panel, AUTH redacted.

use egui::{Key, RichText};

use super::style::good;

use crate::smtp::console::{self, ConsoleState};
use crate::smtp::tls::TlsInfo;
use crate::smtp::{Mechanism, Report, TlsMode};

/// The console's two ways to connect: clear text (`TlsMode::None`, then
/// STARTTLS by hand) or TLS from the first byte (`TlsMode::Implicit`).
const CONNECT_MODES: [(TlsMode, &str); 2] = [
    (TlsMode::None, "plain (STARTTLS by hand)"),
    (TlsMode::Implicit, "implicit TLS"),
];

/// What the tab asks the App to do.
#[derive(Debug, Clone)]
pub enum ConsoleIntent {
    /// Run a probe of the server in the form.
    Probe,
    /// Open the raw connection.
    Connect,
    /// Send something on it.
    Command(console::ConsoleCommand),
    /// Fill the DATA box with the message in Compose.
    UseComposed,
    /// Choose a CA file in the native dialog.
    PickCaFile,
}

/// The tab's state.
pub struct ConsoleView {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: String,
    /// Plain or implicit TLS.
    pub mode: TlsMode,
    /// Accept invalid certificates (testing only).
    pub insecure: bool,
    /// A private CA to trust (PEM), as `openssl s_client -CAfile`.
    pub ca_file: String,
    /// What is being typed.
    pub input: String,
    history: Vec<String>,
    history_pos: Option<usize>,
    /// AUTH helper.
    pub user: String,
    /// AUTH helper; memory only.
    pub password: String,
    /// PLAIN or LOGIN.
    pub mechanism: Mechanism,
    /// MAIL FROM helper.
    pub mail_from: String,
    /// RCPT TO helper.
    pub rcpt_to: String,
    /// VRFY helper.
    pub vrfy: String,
    /// The message DATA sends.
    pub message: String,
    /// The connection's state, as last reported.
    pub state: ConsoleState,
    /// The certificate seen on this connection.
    pub tls: Option<TlsInfo>,
    /// The last probe.
    pub probe: Option<(Box<Report>, Result<(), String>)>,
    /// A probe is running.
    pub probing: bool,
}

impl Default for ConsoleView {
    fn default() -> Self {
        ConsoleView {
            host: String::new(),
            port: "25".into(),
            mode: TlsMode::None,
            insecure: false,
            ca_file: String::new(),
            input: String::new(),
            history: Vec::new(),
            history_pos: None,
            user: String::new(),
            password: String::new(),
            mechanism: Mechanism::Plain,
            mail_from: "you@example.org".into(),
            rcpt_to: "someone@example.org".into(),
            vrfy: String::new(),
            message: "From: you@example.org\nTo: someone@example.org\nSubject: Test from the Postscope console\n\nHello.\n".into(),
            state: ConsoleState::default(),
            tls: None,
            probe: None,
            probing: false,
        }
    }
}

impl ConsoleView {
    /// Certificate checking for the probe and the connection.
    pub fn tls_options(&self) -> crate::smtp::TlsOptions {
        let ca = self.ca_file.trim();
        crate::smtp::TlsOptions {
            ca_file: (!ca.is_empty()).then(|| std::path::PathBuf::from(ca)),
            extra_roots: Vec::new(),
            dangerous_accept_invalid_certs: self.insecure,
        }
    }

    /// The port as a number, if it is one.
    pub fn port_number(&self) -> Option<u16> {
        self.port.trim().parse().ok().filter(|p| *p > 0)
    }

    fn command(&mut self, text: String) -> Option<ConsoleIntent> {
        if self.history.last() != Some(&text) && !text.trim().is_empty() && !self.state.in_data {
            // AUTH arguments stay out of the history too.
            self.history.push(crate::smtp::command::redact_typed(&text));
        }
        self.history_pos = None;
        Some(ConsoleIntent::Command(console::ConsoleCommand::Text(text)))
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, busy: bool) -> Option<ConsoleIntent> {
        let mut intent = None;
        let connected = self.state.connected;
        ui.heading("Test a server");
        // Wrapped rows: at 1024 px with the transcript open nothing is cut.
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Server");
            ui.add_enabled(
                !connected,
                egui::TextEdit::singleline(&mut self.host)
                    .hint_text("smtp.example.org")
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
            let l = ui.label("Port");
            ui.add_enabled(
                !connected,
                egui::TextEdit::singleline(&mut self.port).desired_width(60.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            ui.add_enabled_ui(!connected, |ui| {
                let l = ui.label("Connection");
                egui::ComboBox::from_id_salt("console_connection")
                    .selected_text(
                        CONNECT_MODES
                            .iter()
                            .find(|(m, _)| *m == self.mode)
                            .map_or("plain (STARTTLS by hand)", |(_, text)| text),
                    )
                    .show_ui(ui, |ui| {
                        for (mode, text) in CONNECT_MODES {
                            ui.selectable_value(&mut self.mode, mode, text);
                        }
                    })
                    .response
                    .labelled_by(l.id);
            });
        });
        let ready = !self.host.trim().is_empty() && self.port_number().is_some();
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!connected, |ui| {
                let l = ui.label("CA file");
                ui.add(
                    egui::TextEdit::singleline(&mut self.ca_file)
                        .hint_text("optional: a private CA (PEM)")
                        .desired_width(180.0),
                )
                .labelled_by(l.id);
                if ui.button("Browse…").clicked() {
                    intent = Some(ConsoleIntent::PickCaFile);
                }
                ui.checkbox(&mut self.insecure, "Accept invalid certificates")
                    .on_hover_text(
                        "For test servers only: the certificate is shown but not trusted",
                    );
            });
        });
        ui.horizontal(|ui| {
            if ui
                .add_enabled(ready && !busy && !connected, egui::Button::new("Probe"))
                .on_hover_text(
                    "Connect, read the greeting and capabilities, do STARTTLS (or implicit TLS), \
                     show the certificate, and quit",
                )
                .clicked()
            {
                intent = Some(ConsoleIntent::Probe);
            }
            if connected {
                if ui.button("Disconnect").clicked() {
                    intent = Some(ConsoleIntent::Command(console::ConsoleCommand::Disconnect));
                }
            } else if ui
                .add_enabled(ready && !busy, egui::Button::new("Connect"))
                .on_hover_text("Open a connection and type commands yourself")
                .clicked()
            {
                intent = Some(ConsoleIntent::Connect);
            }
        });
        // On its own line, wrapped: never cut to "· logged in".
        self.state_line(ui);
        ui.separator();
        if connected {
            if let Some(i) = self.console_ui(ui) {
                intent = Some(i);
            }
        } else {
            ui.label(
                RichText::new(
                    "Probe shows what the server offers. Connect opens a raw session: every \
                     command and reply appears in the transcript panel as it happens.",
                )
                .weak(),
            );
        }
        if let Some(info) = &self.tls {
            ui.add_space(4.0);
            egui::CollapsingHeader::new("Certificate of this connection")
                .default_open(true)
                .show(ui, |ui| super::probe::tls_ui(ui, info));
        }
        if self.probing {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Probing…");
            });
        } else if let Some((report, result)) = &self.probe {
            ui.add_space(6.0);
            ui.strong("Probe");
            super::probe::report_ui(ui, report, result);
        }
        intent
    }

    fn state_line(&self, ui: &mut egui::Ui) {
        let s = &self.state;
        if !s.connected {
            ui.label(RichText::new("not connected").weak());
            return;
        }
        let mut parts = vec![format!(
            "Connected{}",
            s.server_name
                .as_ref()
                .map(|n| format!(" to {n}"))
                .unwrap_or_default()
        )];
        parts.push(match &s.tls {
            Some(t) => format!("TLS ({t})"),
            None => "no TLS".into(),
        });
        parts.push(
            if s.authenticated {
                "logged in"
            } else {
                "not logged in"
            }
            .into(),
        );
        if s.in_data {
            parts.push("sending message data".into());
        } else if s.in_transaction {
            parts.push("in a transaction".into());
        }
        if s.awaiting > 0 {
            parts.push(format!(
                "awaiting {} repl{}",
                s.awaiting,
                if s.awaiting == 1 { "y" } else { "ies" }
            ));
        }
        ui.add(egui::Label::new(RichText::new(parts.join(" · ")).color(good(ui))).wrap())
            .on_hover_text("The connection's state: TLS, login, transaction");
    }

    fn console_ui(&mut self, ui: &mut egui::Ui) -> Option<ConsoleIntent> {
        let mut intent = None;
        let send = |text: &str| {
            Some(ConsoleIntent::Command(console::ConsoleCommand::Text(
                text.into(),
            )))
        };
        ui.horizontal_wrapped(|ui| {
            if ui.button("EHLO").clicked() {
                intent = send(&format!("EHLO {}", crate::smtp::ClientId::local()));
            }
            if ui
                .add_enabled(self.state.tls.is_none(), egui::Button::new("STARTTLS"))
                .on_hover_text("Upgrade this connection to TLS and show the certificate")
                .clicked()
            {
                intent = send("STARTTLS");
            }
            for verb in ["RSET", "NOOP", "HELP", "QUIT"] {
                if ui.button(verb).clicked() {
                    intent = send(verb);
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("User");
            ui.add(egui::TextEdit::singleline(&mut self.user).desired_width(140.0))
                .labelled_by(l.id);
            let l = ui.label("Password");
            ui.add(
                egui::TextEdit::singleline(&mut self.password)
                    .password(true)
                    .desired_width(120.0),
            )
            .labelled_by(l.id);
            let l = ui.label("Mechanism");
            egui::ComboBox::from_id_salt("console_mechanism")
                .selected_text(self.mechanism.name())
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.mechanism, Mechanism::Plain, "PLAIN");
                    ui.selectable_value(&mut self.mechanism, Mechanism::Login, "LOGIN");
                })
                .response
                .labelled_by(l.id);
            if ui
                .add_enabled(
                    !self.user.is_empty() && !self.state.in_data,
                    egui::Button::new("AUTH"),
                )
                .on_hover_text("Log in: the base64 is made for you and redacted in the log")
                .clicked()
            {
                intent = Some(ConsoleIntent::Command(console::ConsoleCommand::Auth(
                    self.mechanism.clone(),
                    self.user.clone(),
                    console::Password(self.password.clone()),
                )));
            }
        });
        let field_width = (ui.available_width() - 190.0).clamp(120.0, 300.0);
        egui::Grid::new("console_helpers")
            .num_columns(3)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                for (label, field, verb) in [
                    ("Sender", 0, "MAIL FROM"),
                    ("Recipient", 1, "RCPT TO"),
                    ("Address", 2, "VRFY"),
                ] {
                    let l = ui.label(label);
                    let value = match field {
                        0 => &mut self.mail_from,
                        1 => &mut self.rcpt_to,
                        _ => &mut self.vrfy,
                    };
                    ui.add(egui::TextEdit::singleline(value).desired_width(field_width))
                        .labelled_by(l.id);
                    let value = value.trim().to_owned();
                    if ui.button(verb).clicked() {
                        let line = match field {
                            0 => format!("MAIL FROM:<{value}>"),
                            1 => format!("RCPT TO:<{value}>"),
                            _ => format!("VRFY {value}"),
                        };
                        intent = send(&line);
                    }
                    ui.end_row();
                }
            });
        let message_label = ui.horizontal(|ui| {
            let label = ui.label("Message for DATA");
            if ui
                .small_button("Use the Compose message")
                .on_hover_text(
                    "Build the message in Compose (attachments included) and put it here",
                )
                .clicked()
            {
                intent = Some(ConsoleIntent::UseComposed);
            }
            if ui
                .add_enabled(!self.state.in_data, egui::Button::new("DATA"))
                .on_hover_text(
                    "Send DATA, then this message with correct dot-stuffing and the final dot",
                )
                .clicked()
            {
                let text = self.message.replace("\r\n", "\n").replace('\n', "\r\n");
                intent = Some(ConsoleIntent::Command(console::ConsoleCommand::Data(
                    text.into_bytes(),
                )));
            }
            label.id
        });
        ui.add(
            egui::TextEdit::multiline(&mut self.message)
                .code_editor()
                .desired_rows(4)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(message_label.inner);
        ui.add_space(4.0);
        let hint = if self.state.in_data {
            "message data: end with a line holding only ."
        } else {
            "type a command; Enter sends, Shift+Enter adds a line (several lines: pipelining)"
        };
        let l = ui.label("Command");
        let suggestions = console::complete(&self.input);
        let edit = egui::TextEdit::multiline(&mut self.input)
            .code_editor()
            .desired_rows(1)
            .hint_text(hint)
            .desired_width(f32::INFINITY)
            .return_key(Some(egui::KeyboardShortcut::new(
                egui::Modifiers::SHIFT,
                Key::Enter,
            )));
        let response = ui.add(edit).labelled_by(l.id);
        if response.has_focus() {
            let (enter, up, down, tab) = ui.input_mut(|i| {
                // Enter alone sends; Shift+Enter only adds a line (the
                // text field has taken it already).
                let plain_enter = i.events.iter().any(|e| {
                    matches!(e, egui::Event::Key { key: Key::Enter, pressed: true, modifiers, .. }
                        if modifiers.is_none())
                });
                (
                    plain_enter && i.consume_key(egui::Modifiers::NONE, Key::Enter),
                    !self.input.contains('\n')
                        && i.consume_key(egui::Modifiers::NONE, Key::ArrowUp),
                    !self.input.contains('\n')
                        && i.consume_key(egui::Modifiers::NONE, Key::ArrowDown),
                    i.consume_key(egui::Modifiers::NONE, Key::Tab),
                )
            });
            if enter {
                let text = std::mem::take(&mut self.input);
                intent = self.command(text);
            } else if up && !self.history.is_empty() {
                let pos = self
                    .history_pos
                    .map_or(self.history.len() - 1, |p| p.saturating_sub(1));
                self.history_pos = Some(pos);
                self.input = self.history[pos].clone();
            } else if down && let Some(p) = self.history_pos {
                if p + 1 < self.history.len() {
                    self.history_pos = Some(p + 1);
                    self.input = self.history[p + 1].clone();
                } else {
                    self.history_pos = None;
                    self.input.clear();
                }
            } else if tab && let Some(first) = suggestions.first() {
                self.input = (*first).to_owned();
                if !first.ends_with('<') {
                    self.input.push(' ');
                }
            }
        }
        if !suggestions.is_empty() && !self.input.is_empty() {
            ui.label(
                RichText::new(format!("Tab: {}", suggestions.join("  ")))
                    .weak()
                    .small(),
            );
        }
        intent
    }

    /// Sends what is in the command box (what Enter does).
    pub fn submit(&mut self) -> Option<ConsoleIntent> {
        let text = std::mem::take(&mut self.input);
        self.command(text)
    }
}
