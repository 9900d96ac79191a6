//! The compose form: addresses validated as you type, subject, body and
//! attachments. It only edits its state and returns intents; the App does
//! the work (dialogs and sending run on worker threads).

use egui::RichText;

use super::worker::AttachmentEntry;
use crate::message::{self, Draft, Field};
use crate::smtp::format_bytes;

/// What the form asks the App to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeIntent {
    /// Open the native file dialog to attach files.
    PickFiles,
    /// Send the message.
    Send,
}

/// The message being written (saved as the draft; unknown fields from a
/// newer version are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ComposeState {
    /// From (one mailbox).
    pub from: String,
    /// To (a comma-separated list).
    pub to: String,
    /// Cc.
    pub cc: String,
    /// Bcc.
    pub bcc: String,
    /// Reply-To.
    pub reply_to: String,
    /// Subject.
    pub subject: String,
    /// The body text.
    pub body: String,
    /// Attached files.
    pub attachments: Vec<AttachmentEntry>,
    /// Show the Cc, Bcc and Reply-To rows.
    pub show_more: bool,
    /// Fields written by a newer Postscope, kept as they were.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

impl ComposeState {
    /// A first message for someone trying Postscope with the sandbox.
    pub fn example() -> ComposeState {
        ComposeState {
            from: "You <you@postscope.sandbox>".into(),
            to: "Ada Lovelace <ada@example.org>".into(),
            subject: "Hello from Postscope".into(),
            body: "Hi Ada,\n\nthis message goes to the local sandbox server inside Postscope. \
                   Watch the transcript on the right: every command and reply of the exchange.\n"
                .into(),
            ..ComposeState::default()
        }
    }

    /// True when nothing but From is filled in: not worth keeping as a draft.
    pub fn is_blank(&self) -> bool {
        [
            &self.to,
            &self.cc,
            &self.bcc,
            &self.reply_to,
            &self.subject,
            &self.body,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
            && self.attachments.is_empty()
    }

    /// The draft the message is built from.
    pub fn draft(&self) -> Draft {
        Draft {
            from: self.from.clone(),
            to: vec![self.to.clone()],
            cc: vec![self.cc.clone()],
            bcc: vec![self.bcc.clone()],
            reply_to: vec![self.reply_to.clone()],
            subject: self.subject.clone(),
            body: self.body.clone(),
            headers: Vec::new(),
            attachments: self.attachments.iter().map(|a| a.path.clone()).collect(),
        }
    }

    /// Adds attachments, skipping files already attached.
    pub fn attach(&mut self, entries: impl IntoIterator<Item = AttachmentEntry>) {
        for entry in entries {
            if !self.attachments.iter().any(|a| a.path == entry.path) {
                self.attachments.push(entry);
            }
        }
    }

    /// The problems that stop the message from being sent, in form order.
    pub fn problems(&self) -> Vec<(Field, String)> {
        let mut out = Vec::new();
        match message::parse_mailboxes(Field::From, &self.from) {
            Ok(v) if v.len() == 1 => {}
            Ok(v) if v.is_empty() => {
                out.push((Field::From, "From is empty: give your address".into()))
            }
            Ok(_) => out.push((Field::From, "From must be one address".into())),
            Err(e) => out.push((Field::From, e.to_string())),
        }
        let mut recipients = 0;
        for (field, text) in self.address_fields() {
            match message::parse_mailboxes(field, text) {
                Ok(v) if field != Field::ReplyTo => recipients += v.len(),
                Ok(_) => {}
                Err(e) => out.push((field, e.to_string())),
            }
        }
        if recipients == 0 && !out.iter().any(|(f, _)| *f != Field::From) {
            out.push((
                Field::To,
                "no recipients: give at least one of To, Cc or Bcc".into(),
            ));
        }
        out
    }

    fn address_fields(&self) -> [(Field, &str); 4] {
        [
            (Field::To, &self.to),
            (Field::Cc, &self.cc),
            (Field::Bcc, &self.bcc),
            (Field::ReplyTo, &self.reply_to),
        ]
    }

    /// Draws the form. `busy` is why Send is unavailable besides the form's
    /// own problems (a send in progress, no account ready).
    pub fn ui(&mut self, ui: &mut egui::Ui, busy: Option<&str>) -> Option<ComposeIntent> {
        let mut intent = None;
        let problems = self.problems();
        let error_for = |field: Field| {
            problems
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, e)| e.clone())
        };
        let error_color = super::style::bad(ui);

        egui::Grid::new("compose_headers")
            .num_columns(2)
            .spacing([8.0, 6.0])
            .min_col_width(64.0)
            .show(ui, |ui| {
                let row = |ui: &mut egui::Ui,
                           name: &str,
                           field: Option<Field>,
                           text: &mut String,
                           hint: &str| {
                    let label = ui.label(name);
                    ui.vertical(|ui| {
                        let edit = egui::TextEdit::singleline(text)
                            .hint_text(hint)
                            .desired_width(f32::INFINITY);
                        let response = ui.add(edit).labelled_by(label.id);
                        if let Some(err) = field.and_then(error_for)
                            && !(field == Some(Field::To)
                                && text.trim().is_empty()
                                && err.starts_with("no recipients"))
                        {
                            response.on_hover_text(&err);
                            ui.label(RichText::new(format!("⚠ {err}")).color(error_color).small());
                        }
                    });
                    ui.end_row();
                };
                row(
                    ui,
                    "From",
                    Some(Field::From),
                    &mut self.from,
                    "Your Name <you@example.org>",
                );
                row(
                    ui,
                    "To",
                    Some(Field::To),
                    &mut self.to,
                    "name@example.org, Other <other@example.org>",
                );
                if self.show_more {
                    row(
                        ui,
                        "Cc",
                        Some(Field::Cc),
                        &mut self.cc,
                        "copies, comma-separated",
                    );
                    row(
                        ui,
                        "Bcc",
                        Some(Field::Bcc),
                        &mut self.bcc,
                        "hidden copies: envelope only, never in a header",
                    );
                    row(
                        ui,
                        "Reply-To",
                        Some(Field::ReplyTo),
                        &mut self.reply_to,
                        "where replies should go",
                    );
                }
                row(ui, "Subject", None, &mut self.subject, "");
            });
        if !self.show_more
            && ui
                .small_button("Cc, Bcc, Reply-To…")
                .on_hover_text("Show the Cc, Bcc and Reply-To fields")
                .clicked()
        {
            self.show_more = true;
        }
        ui.add_space(6.0);

        // Leave room below the body for the attachments and the Send row.
        let reserved = 40.0 + 26.0 * (self.attachments.len().min(6) as f32 + 1.0);
        let body_height = (ui.available_height() - reserved).max(120.0);
        let body_label = ui.label("Message");
        egui::ScrollArea::vertical()
            .id_salt("compose_body")
            .max_height(body_height)
            .show(ui, |ui| {
                let edit = egui::TextEdit::multiline(&mut self.body)
                    .desired_width(f32::INFINITY)
                    .desired_rows(((body_height / 18.0) as usize).max(6))
                    .hint_text("Write your message");
                ui.add(edit).labelled_by(body_label.id);
            });
        ui.add_space(6.0);

        ui.horizontal_wrapped(|ui| {
            ui.label(format!("📎 Attachments ({})", self.attachments.len()));
            if ui
                .button("Attach files…")
                .on_hover_text("Choose files, or drop them anywhere on the window")
                .clicked()
            {
                intent = Some(ComposeIntent::PickFiles);
            }
        });
        let mut remove = None;
        for (i, a) in self.attachments.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(&a.name)
                    .on_hover_text(a.path.display().to_string());
                ui.label(
                    RichText::new(format!("{} · {}", format_bytes(a.size), a.content_type)).weak(),
                );
                let name = format!("Remove {}", a.name);
                let button = ui.small_button("✖");
                button.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                if button.on_hover_text(&name).clicked() {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            self.attachments.remove(i);
        }
        ui.add_space(6.0);

        let why_not = busy.map(str::to_owned).or_else(|| {
            problems
                .first()
                .map(|(_, e)| format!("Cannot send yet: {e}"))
        });
        let send_key = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
        ui.horizontal(|ui| {
            let button =
                egui::Button::new(RichText::new("Send").strong()).min_size(egui::vec2(88.0, 28.0));
            let response = ui
                .add_enabled(why_not.is_none(), button)
                .on_hover_text("Send the message (Ctrl+Enter)");
            let response = match &why_not {
                Some(reason) => response.on_disabled_hover_text(reason),
                None => response,
            };
            if response.clicked() || (send_key && why_not.is_none()) {
                intent = Some(ComposeIntent::Send);
            }
            if let Some(reason) = &why_not {
                ui.label(RichText::new(reason).weak());
            } else {
                ui.label(RichText::new("Ctrl+Enter").weak());
            }
        });
        intent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_sendable() {
        assert!(ComposeState::example().problems().is_empty());
    }

    #[test]
    fn problems_name_the_field() {
        let mut s = ComposeState::example();
        s.to = "bob@".into();
        let p = s.problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, Field::To);
        assert!(p[0].1.contains("bob@"), "{}", p[0].1);

        let mut s = ComposeState::example();
        s.to.clear();
        assert_eq!(s.problems()[0].0, Field::To);
        s.bcc = "hidden@example.org".into();
        assert!(s.problems().is_empty());

        let mut s = ComposeState::example();
        s.from = "a@example.org, b@example.org".into();
        assert_eq!(s.problems()[0].0, Field::From);
    }

    #[test]
    fn a_draft_keeps_fields_from_a_newer_version() {
        let json = r#"{"subject": "hi", "to": "a@example.org", "priority": "high"}"#;
        let draft: ComposeState = serde_json::from_str(json).unwrap();
        assert_eq!(draft.subject, "hi");
        let back = serde_json::to_value(&draft).unwrap();
        assert_eq!(back["priority"], "high");
        assert_eq!(back["to"], "a@example.org");
    }

    #[test]
    fn attaching_twice_keeps_one() {
        let mut s = ComposeState::default();
        let e = AttachmentEntry {
            path: "/tmp/a.txt".into(),
            name: "a.txt".into(),
            size: 1,
            content_type: "text/plain".into(),
        };
        s.attach([e.clone(), e]);
        assert_eq!(s.attachments.len(), 1);
    }
}
