//! Drawing a frame: the tab row, the status bar, the panels; what they ask
//! for is applied after they are drawn.

use super::accounts::SecretFacts;
use super::{App, Intent, Status, Tab, accounts, compose, findings, history, style};
use crate::smtp;
use crate::smtp::Stage;
use crate::smtp::TlsMode;
use crate::store::mail::AccountChoice;
use egui::Color32;
use egui::RichText;

impl App {
    fn top_bar(&mut self, ui: &mut egui::Ui) -> Option<Intent> {
        let mut intent = None;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, Tab::Compose, "Compose");
            let drafts = self
                .drafts
                .iter()
                .filter(|(_, d)| d.attempt.is_none())
                .count();
            let outbox = self.drafts.len() - drafts;
            ui.selectable_value(&mut self.tab, Tab::Drafts, format!("Drafts ({drafts})"));
            let outbox_text = if outbox > 0 {
                RichText::new(format!("Outbox ({outbox})")).strong()
            } else {
                RichText::new("Outbox (0)")
            };
            ui.selectable_value(&mut self.tab, Tab::Outbox, outbox_text);
            ui.selectable_value(
                &mut self.tab,
                Tab::Sent,
                format!("Sent ({})", self.sent.len()),
            );
            let count = self
                .sandbox()
                .map(|s| s.inbox().messages().len())
                .unwrap_or(0);
            ui.selectable_value(
                &mut self.tab,
                Tab::Inbox,
                format!("Sandbox inbox ({count})"),
            );
            ui.selectable_value(&mut self.tab, Tab::Console, "Console")
                .on_hover_text("Probe a server, or talk to it by hand");
            ui.selectable_value(&mut self.tab, Tab::Accounts, "Accounts");
            ui.selectable_value(&mut self.tab, Tab::Learn, "Learn")
                .on_hover_text("SMTP explained on a live exchange, step by step");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if let Some(i) = self.menu_ui(ui) {
                    intent = Some(i);
                }
                ui.toggle_value(&mut self.show_transcript, "Transcript")
                    .on_hover_text(format!(
                        "Show or hide the transcript panel ({})",
                        super::commands::shortcut_of(
                            ui.ctx(),
                            super::commands::Action::ToggleTranscript
                        )
                    ));
                let mut choice = self.account.clone();
                // Right to left here: the menu first, then its label, which
                // so sits before it.
                let combo = egui::ComboBox::from_id_salt("account_menu")
                    .selected_text(self.account_label())
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut choice, AccountChoice::Sandbox, "Local sandbox")
                            .on_hover_text(
                                "The SMTP server inside Postscope: nothing leaves this computer",
                            );
                        for a in &self.settings.accounts {
                            ui.selectable_value(
                                &mut choice,
                                AccountChoice::Saved(a.name.clone()),
                                &a.name,
                            )
                            .on_hover_text(format!(
                                "{}{}",
                                a.server,
                                a.from_mailbox()
                                    .map(|f| format!(", from {f}"))
                                    .unwrap_or_default()
                            ));
                        }
                        ui.selectable_value(&mut choice, AccountChoice::Custom, "Other server")
                            .on_hover_text(
                                "A server you enter; the password is kept for this session only",
                            );
                    })
                    .response;
                let l = ui.label("Account");
                combo.labelled_by(l.id);
                if choice != self.account {
                    intent = Some(Intent::ChooseAccount(choice));
                }
            });
        });
        intent
    }

    /// The Raw view: envelope, then the message as DATA would carry it.
    fn raw_window(&self, ctx: &egui::Context) -> Option<Intent> {
        let raw = self.raw_view.as_ref()?;
        let mut open = true;
        let title = match raw {
            Ok(m) if m.origin != "the Compose message" => format!("Raw message — {}", m.origin),
            _ => "Raw message".to_owned(),
        };
        egui::Window::new(title)
            .id(egui::Id::unique("raw_message"))
            .open(&mut open)
            .default_size([760.0, 520.0])
            .show(ctx, |ui| match raw {
                Ok(m) => {
                    let envelope = m.envelope.join("\n");
                    let heading = if m.origin == "the Compose message" {
                        "Envelope (not part of the message)"
                    } else {
                        "Envelope its headers imply (not part of the message)"
                    };
                    ui.label(RichText::new(heading).weak());
                    ui.label(RichText::new(envelope).monospace());
                    ui.separator();
                    findings::show(ui, "raw_findings", &m.findings, 100.0);
                    ui.separator();
                    ui.horizontal(|ui| {
                        ui.label(
                            RichText::new(format!(
                                "The message, {} bytes, as DATA carries it before dot-stuffing",
                                m.text.len()
                            ))
                            .weak(),
                        );
                        if ui.button("Copy").clicked() {
                            ui.ctx().copy_text(m.text.clone());
                        }
                    });
                    egui::ScrollArea::both()
                        .auto_shrink([false, false])
                        .show(ui, |ui| {
                            let text = m.text.replace("\r\n", "\n");
                            ui.add(
                                egui::Label::new(RichText::new(text).monospace()).selectable(true),
                            );
                        });
                }
                Err(e) => {
                    ui.label(RichText::new(e).color(style::bad(ui)));
                }
            });
        (!open).then_some(Intent::CloseRaw)
    }

    fn custom_server_ui(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Server")
            .default_open(true)
            .show(ui, |ui| {
                let c = &mut self.custom;
                egui::Grid::new("custom_server").num_columns(4).spacing([8.0, 4.0]).show(ui, |ui| {
                    let l = ui.label("Host");
                    ui.add(egui::TextEdit::singleline(&mut c.host).hint_text("smtp.example.org").desired_width(200.0))
                        .labelled_by(l.id);
                    let l = ui.label("Port");
                    ui.add(egui::TextEdit::singleline(&mut c.port).desired_width(60.0)).labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Security");
                    egui::ComboBox::from_id_salt("custom_security")
                        .selected_text(accounts::tls_text(c.security))
                        .show_ui(ui, |ui| {
                            for t in TlsMode::ALL {
                                ui.selectable_value(&mut c.security, t, accounts::tls_text(t));
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    ui.checkbox(&mut c.insecure, "Accept invalid certificates (testing only)");
                    ui.end_row();
                    let l = ui.label("User");
                    ui.add(egui::TextEdit::singleline(&mut c.user).hint_text("none: no login").desired_width(200.0))
                        .labelled_by(l.id);
                    let l = ui.label("Password");
                    ui.add(egui::TextEdit::singleline(&mut c.password).password(true).desired_width(160.0))
                        .labelled_by(l.id);
                    ui.end_row();
                });
                if c.security == TlsMode::None {
                    ui.label(
                        RichText::new("⚠ Without TLS everything, the password included, crosses the network in clear text.")
                            .color(Color32::from_rgb(0xc0, 0x70, 0x00)),
                    );
                }
            });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) -> Option<Intent> {
        let mut intent = None;
        ui.horizontal(|ui| match self.status.clone() {
            Status::Idle(text) => {
                ui.label(text);
            }
            Status::Sending { stage, progress } => {
                ui.spinner();
                let stage_text = stage
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "preparing".into());
                ui.label(format!("Sending: {stage_text}"));
                if let (Some(Stage::Message), Some((sent, total))) = (stage, progress) {
                    let total = total.unwrap_or(sent.max(1));
                    let fraction = sent as f32 / total.max(1) as f32;
                    ui.add(
                        egui::ProgressBar::new(fraction)
                            .desired_width(240.0)
                            .text(format!(
                                "{} / {}",
                                smtp::format_bytes(sent),
                                smtp::format_bytes(total)
                            )),
                    );
                }
                if ui
                    .button("Cancel")
                    .on_hover_text(
                        "Stop sending. Before the message is complete nothing is delivered",
                    )
                    .clicked()
                {
                    intent = Some(Intent::Cancel);
                }
            }
            Status::Sent(text) => {
                ui.label(RichText::new(format!("✔ {text}")).color(style::good(ui)));
            }
            Status::Warning(text) => {
                ui.label(RichText::new(format!("⚠ {text}")).color(style::warn(ui)));
            }
            Status::Failed(text) => {
                ui.label(RichText::new(format!("✖ {text}")).color(style::bad(ui)));
                if let Some(page) = learn_page_for(&text)
                    && ui
                        .link("What does this mean?")
                        .on_hover_text(page.title())
                        .clicked()
                {
                    intent = Some(Intent::OpenLearn(Some(page)));
                }
            }
        });
        intent
    }

    fn dropped_files(ui: &egui::Ui) -> Option<Intent> {
        let dropped: Vec<_> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        (!dropped.is_empty()).then_some(Intent::Attach(dropped))
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
        // Back in focus: accounts may have changed on disk meanwhile.
        let regained = ctx.input(|i| {
            i.raw
                .events
                .iter()
                .any(|e| matches!(e, egui::Event::WindowFocused(true)))
        });
        if regained
            && self.settings_loaded()
            && let Some(dirs) = &self.dirs
        {
            self.tasks.reload_settings(dirs.clone());
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut intents: Vec<Intent> = Vec::new();
        intents.extend(Self::dropped_files(ui));
        let ctx = ui.ctx().clone();
        intents.extend(self.commands_ui(&ctx));
        self.path_prompt_ui(&ctx);
        let hovering_files = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());

        egui::Panel::top("tabs").show(ui, |ui| {
            ui.add_space(4.0);
            intents.extend(self.top_bar(ui));
            ui.add_space(2.0);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.add_space(3.0);
            intents.extend(self.status_bar(ui));
            ui.add_space(3.0);
        });
        let highlight = if self.tab == Tab::Learn {
            self.learn
                .highlight(self.transcript.revision(), self.transcript.events())
        } else {
            Vec::new()
        };
        self.transcript.set_highlight(highlight);
        // Coming to Accounts: the sign-in shown is read again (a send may
        // have found it revoked, another window signed in or out).
        if self.tab == Tab::Accounts && self.signins.shown_tab != Some(Tab::Accounts) {
            self.refresh_grant_view();
        }
        self.signins.shown_tab = Some(self.tab);
        if self.show_transcript {
            egui::Panel::right("transcript")
                .resizable(true)
                .default_size(520.0)
                .size_range(280.0..=1200.0)
                .show(ui, |ui| {
                    intents.extend(self.transcript.ui(ui).map(Intent::from));
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Compose => {
                ui.horizontal(|ui| {
                    if ui
                        .button("New message")
                        .on_hover_text("Start an empty message; this one stays under Drafts")
                        .clicked()
                    {
                        intents.push(Intent::NewMessage);
                    }
                    if ui
                        .button("Raw…")
                        .on_hover_text(
                            "See the message exactly as it would be sent, and its envelope",
                        )
                        .clicked()
                    {
                        intents.push(Intent::ShowRaw);
                    }
                    let l = ui.label("Stop after");
                    egui::ComboBox::from_id_salt("stop_after")
                        .selected_text(match self.quit_after {
                            None => "the whole send",
                            Some(q) => q.stop_label(),
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.quit_after, None, "the whole send");
                            for q in smtp::Stage::STOP_POINTS {
                                ui.selectable_value(&mut self.quit_after, Some(q), q.stop_label());
                            }
                        })
                        .response
                        .labelled_by(l.id)
                        .on_hover_text(
                            "Stop the exchange after a step, without delivering: e.g. RCPT TO \
                             checks that the recipients are accepted and sends nothing",
                        );
                });
                // The account's line, in a space of its own whatever it says,
                // so the form below never moves when the account changes.
                let about = match &self.account {
                    AccountChoice::Sandbox => Some(format!(
                        "Local sandbox: the SMTP server inside Postscope, {}. Messages go \
                         nowhere else; read them under Sandbox inbox.",
                        self.sandbox_status()
                    )),
                    AccountChoice::Saved(name) => Some(match self.settings.account(name) {
                        Some(a) => format!(
                            "Sending with {name}: {}{}",
                            a.server,
                            a.user
                                .as_ref()
                                .map(|u| format!(", logging in as {u}"))
                                .unwrap_or_default()
                        ),
                        None => format!("The account {name:?} no longer exists"),
                    }),
                    AccountChoice::Custom => None,
                };
                let reserved = ui.text_style_height(&egui::TextStyle::Body) * 3.0 + 6.0;
                ui.allocate_ui_with_layout(
                    egui::vec2(ui.available_width(), reserved),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| {
                        ui.set_min_height(reserved);
                        if let Some(about) = about {
                            ui.add(egui::Label::new(RichText::new(about).weak()).wrap());
                        }
                    },
                );
                if let Some(a) = self.open_record().and_then(|r| r.attempt.clone()) {
                    ui.label(
                        RichText::new(format!(
                            "The last send of this message failed ({}): {}",
                            history::when(a.at),
                            a.error
                        ))
                        .color(Color32::from_rgb(0xc0, 0x70, 0x00)),
                    );
                }
                if self.account == AccountChoice::Custom {
                    self.custom_server_ui(ui);
                }
                ui.add_space(4.0);
                let blocker = self.send_blocker();
                let form = compose::Form {
                    message: &mut self.compose,
                    more: &mut self.compose_more,
                    focus_from: !std::mem::replace(&mut self.focused_once, true),
                };
                intents.extend(form.ui(ui, blocker.as_deref()).map(Intent::from));
            }
            Tab::Drafts | Tab::Outbox => {
                let intent = history::drafts_ui(
                    ui,
                    &self.drafts,
                    self.tab == Tab::Outbox,
                    &self.draft_id,
                    &mut self.confirm_delete_draft,
                );
                intents.extend(intent.map(Intent::History));
            }
            Tab::Sent => {
                let intent = history::sent_ui(ui, &self.sent, &mut self.sent_selected);
                intents.extend(intent.map(Intent::History));
            }
            Tab::Inbox => {
                let status = self.sandbox_status();
                let (messages, incidents, dropped) = match self.sandbox() {
                    Some(s) => (
                        s.inbox().messages(),
                        s.inbox().incidents(),
                        s.inbox().dropped(),
                    ),
                    None => (Vec::new(), Vec::new(), 0),
                };
                self.inbox.ui(ui, &messages, &incidents, dropped, &status);
            }
            Tab::Console => {
                let busy = self.job.is_some();
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        intents.extend(self.console.ui(ui, busy).map(Intent::Console));
                    });
            }
            Tab::Learn => {
                let busy = self.job.is_some();
                let events = (self.transcript.revision(), self.transcript.events());
                intents.extend(self.learn.ui(ui, events, busy).map(Intent::Learn));
            }
            Tab::Accounts => {
                let facts = SecretFacts {
                    keychain_problem: self.keychain_problem.clone(),
                    session_only: self
                        .accounts
                        .form
                        .original
                        .as_ref()
                        .is_some_and(|n| self.session_secrets.contains_key(n)),
                };
                if self.dirs.is_none() {
                    ui.label(
                        "Accounts cannot be saved: there is no folder for settings (is HOME set?).",
                    );
                }
                let intent =
                    self.accounts
                        .ui(ui, &self.settings.accounts, &facts, self.job.is_some());
                intents.extend(intent.map(Intent::Accounts));
            }
        });
        if self.confirm_resend {
            let modal = egui::Modal::new(egui::Id::unique("confirm_resend")).show(ui.ctx(), |ui| {
                ui.set_max_width(420.0);
                ui.heading("Send this message again?");
                let delivered = self
                    .open_record()
                    .and_then(|r| r.attempt.as_ref())
                    .map(|a| a.delivered.clone())
                    .unwrap_or_default();
                ui.add(
                    egui::Label::new(if delivered.is_empty() {
                        "The last attempt lost the connection after the whole message was sent, \
                         so the server may have delivered it already. Sending again may deliver \
                         it twice."
                            .to_string()
                    } else {
                        format!(
                            "The last attempt already delivered it to {}. Sending again delivers \
                             it to them twice; remove them from the recipients first if that is \
                             not what you want.",
                            delivered.join(", ")
                        )
                    })
                    .wrap(),
                );
                ui.add_space(8.0);
                let mut answer = None;
                ui.horizontal(|ui| {
                    if ui.button("Send again").clicked() {
                        answer = Some(true);
                    }
                    if ui.button("Don't send").clicked() {
                        answer = Some(false);
                    }
                });
                answer
            });
            match modal.inner {
                Some(yes) => intents.push(Intent::Resend(yes)),
                None if modal.should_close() => intents.push(Intent::Resend(false)),
                None => {}
            }
        }
        intents.extend(self.raw_window(ui.ctx()));
        if hovering_files {
            egui::Area::new(egui::Id::unique("drop_hint"))
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ui.ctx(), |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.heading("Drop files to attach them");
                    });
                });
        }
        for intent in intents {
            self.apply(intent);
        }
        // Laid out this frame and drawn as boxes: say which script, once.
        if let Some(news) = self.glyphs.news() {
            self.status = Status::Warning(news);
            ui.ctx().request_repaint();
        }
        self.autosave(&ui.ctx().clone());
    }
}

/// The Learn page that explains an error: reply codes for a refusal, ports
/// for a connection that never got a greeting.
fn learn_page_for(text: &str) -> Option<super::learn::Page> {
    use super::learn::Page;
    let has_code = text
        .split(|c: char| !c.is_ascii_digit())
        .any(|w| w.len() == 3 && matches!(w.as_bytes()[0], b'4' | b'5'));
    if has_code {
        Some(Page::Replies)
    } else if text.contains("greeting") || text.contains("implicit") || text.contains("port") {
        Some(Page::Ports)
    } else {
        None
    }
}
