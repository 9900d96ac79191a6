//! The compose form: addresses validated as you type, subject, body and
//! attachments. It only edits its state and returns intents; the App does
//! the work (dialogs and sending run on worker threads).

use egui::RichText;

use crate::message::Field;
use crate::smtp::dsn::ENVID_MAX;
use crate::smtp::{Dsn, Notify, Ret, format_bytes};
use crate::store::mail::Composed;

/// What the form asks the App to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeIntent {
    /// Open the native file dialog to attach files.
    PickFiles,
    /// Send the message.
    Send,
}

/// A first message for someone trying Postscope with the sandbox.
pub fn example() -> Composed {
    Composed {
        from: "You <you@postscope.sandbox>".into(),
        to: "Ada Lovelace <ada@example.org>".into(),
        subject: "Hello from Postscope".into(),
        body: "Hi Ada,\n\nthis message goes to the local sandbox server inside Postscope. \
               Watch the transcript on the right: every command and reply of the exchange.\n"
            .into(),
        ..Composed::default()
    }
}

/// The compose form over a message, with what the window remembers about
/// it (whether the Cc, Bcc and Reply-To rows are open).
pub struct Form<'a> {
    /// The message being written.
    pub message: &'a mut Composed,
    /// The Cc, Bcc and Reply-To rows were asked for.
    pub more: &'a mut bool,
    /// Put the cursor in From (the window's first frame: Tab then goes
    /// through the form in reading order).
    pub focus_from: bool,
}

impl Form<'_> {
    /// Draws the form. `busy` is why Send is unavailable besides the form's
    /// own problems (a send in progress, no account ready).
    pub fn ui(self, ui: &mut egui::Ui, busy: Option<&str>) -> Option<ComposeIntent> {
        let mut intent = None;
        let problems = self.message.problems();
        let show_more = *self.more || self.message.has_more_fields();
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
                    let shown = ui.vertical(|ui| {
                        let edit = egui::TextEdit::singleline(text)
                            .hint_text(hint)
                            .desired_width(f32::INFINITY);
                        let response = ui.add(edit).labelled_by(label.id);
                        let id = response.id;
                        if let Some(err) = field.and_then(error_for)
                            && !(field == Some(Field::To)
                                && text.trim().is_empty()
                                && err.starts_with("no recipients"))
                        {
                            response.on_hover_text(&err);
                            ui.label(RichText::new(format!("⚠ {err}")).color(error_color).small());
                        }
                        id
                    });
                    ui.end_row();
                    shown.inner
                };
                let from = row(
                    ui,
                    "From",
                    Some(Field::From),
                    &mut self.message.from,
                    "Your Name <you@example.org>",
                );
                if self.focus_from {
                    ui.memory_mut(|m| m.request_focus(from));
                }
                row(
                    ui,
                    "To",
                    Some(Field::To),
                    &mut self.message.to,
                    "name@example.org, Other <other@example.org>",
                );
                if show_more {
                    row(
                        ui,
                        "Cc",
                        Some(Field::Cc),
                        &mut self.message.cc,
                        "copies, comma-separated",
                    );
                    row(
                        ui,
                        "Bcc",
                        Some(Field::Bcc),
                        &mut self.message.bcc,
                        "hidden copies: envelope only, never in a header",
                    );
                    row(
                        ui,
                        "Reply-To",
                        Some(Field::ReplyTo),
                        &mut self.message.reply_to,
                        "where replies should go",
                    );
                    row(
                        ui,
                        "Envelope sender",
                        Some(Field::EnvelopeFrom),
                        &mut self.message.envelope_from,
                        "where bounces go (MAIL FROM): empty for From's address, <> for none",
                    );
                    let label = ui.label("Delivery notices");
                    ui.horizontal(|ui| dsn_choices(ui, &mut self.message.dsn))
                        .response
                        .labelled_by(label.id);
                    ui.end_row();
                    let label = ui.label("Envelope ID");
                    envid_box(ui, &mut self.message.dsn).labelled_by(label.id);
                    ui.end_row();
                }
                row(ui, "Subject", None, &mut self.message.subject, "");
            });
        if !show_more
            && ui
                .small_button("Cc, Bcc, Reply-To…")
                .on_hover_text(
                    "Show the Cc, Bcc, Reply-To and envelope sender fields, and delivery notices",
                )
                .clicked()
        {
            *self.more = true;
        }
        ui.add_space(6.0);

        // Leave room below the body for the attachments and the Send row.
        let reserved = 40.0 + 26.0 * (self.message.attachments.len().min(6) as f32 + 1.0);
        let body_height = (ui.available_height() - reserved).max(120.0);
        let body_label = ui
            .horizontal(|ui| {
                let label = ui.label("Message");
                ui.checkbox(&mut self.message.markdown, "Markdown")
                    .on_hover_text(
                        "Write the message in Markdown (CommonMark): it is sent as the text \
                         you wrote and its HTML rendering, and readers show the HTML",
                    );
                label
            })
            .inner;
        egui::ScrollArea::vertical()
            .id_salt("compose_body")
            .max_height(body_height)
            .show(ui, |ui| {
                let edit = egui::TextEdit::multiline(&mut self.message.body)
                    .desired_width(f32::INFINITY)
                    .desired_rows(((body_height / 18.0) as usize).max(6))
                    .hint_text("Write your message");
                ui.add(edit).labelled_by(body_label.id);
            });
        ui.add_space(6.0);

        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "📎 Attachments ({})",
                self.message.attachments.len()
            ));
            if ui
                .button("Attach files…")
                .on_hover_text("Choose files, or drop them anywhere on the window")
                .clicked()
            {
                intent = Some(ComposeIntent::PickFiles);
            }
        });
        let mut remove = None;
        for (i, a) in self.message.attachments.iter().enumerate() {
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
            self.message.attachments.remove(i);
        }
        ui.add_space(6.0);

        let why_not = busy.map(str::to_owned).or_else(|| {
            problems
                .first()
                .map(|(_, e)| format!("Cannot send yet: {e}"))
        });
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
            // Ctrl+Enter is the window's shortcut (ui/commands.rs).
            if response.clicked() {
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

/// The choices of NOTIFY the form offers, with their names.
const NOTIFY_CHOICES: [(Option<Notify>, &str); 6] = [
    (None, "Server default"),
    (
        Some(Notify {
            success: false,
            failure: true,
            delay: false,
        }),
        "On failure",
    ),
    (
        Some(Notify {
            success: false,
            failure: true,
            delay: true,
        }),
        "On failure or delay",
    ),
    (
        Some(Notify {
            success: true,
            failure: true,
            delay: false,
        }),
        "On success or failure",
    ),
    (
        Some(Notify {
            success: true,
            failure: true,
            delay: true,
        }),
        "Always",
    ),
    (Some(Notify::NEVER), "Never"),
];

/// Delivery status notifications (RFC 3461): when, and what comes back.
fn dsn_choices(ui: &mut egui::Ui, dsn: &mut Dsn) {
    let name = |n: Option<Notify>| match NOTIFY_CHOICES.iter().find(|c| c.0 == n) {
        Some(c) => c.1.to_owned(),
        None => n.map_or_else(String::new, |n| n.to_string()),
    };
    egui::ComboBox::from_id_salt("dsn_notify")
        .selected_text(name(dsn.notify))
        .show_ui(ui, |ui| {
            for (value, text) in NOTIFY_CHOICES {
                ui.selectable_value(&mut dsn.notify, value, text);
            }
        })
        .response
        .on_hover_text(
            "When the receiving servers should send you a delivery status notification \
             (RFC 3461); “Always” is on success, failure and delay. Any choice but \
             “Server default” needs a server that offers DSN",
        );
    let ret = |r: Option<Ret>| match r {
        None => "Return: server's choice",
        Some(Ret::Full) => "Return: whole message",
        Some(Ret::Hdrs) => "Return: headers only",
    };
    egui::ComboBox::from_id_salt("dsn_ret")
        .selected_text(ret(dsn.ret))
        .show_ui(ui, |ui| {
            for value in [None, Some(Ret::Full), Some(Ret::Hdrs)] {
                ui.selectable_value(&mut dsn.ret, value, ret(value));
            }
        })
        .response
        .on_hover_text("What a failure notice carries back (RET)");
}

/// The envelope ID every notice quotes (ENVID). The box keeps only what
/// RFC 3461 allows: printable ASCII without spaces, up to 100.
fn envid_box(ui: &mut egui::Ui, dsn: &mut Dsn) -> egui::Response {
    let mut id = dsn.envid.clone().unwrap_or_default();
    let edit = egui::TextEdit::singleline(&mut id)
        .hint_text("quoted in every delivery notice (ENVID); optional")
        .char_limit(ENVID_MAX)
        .desired_width(f32::INFINITY);
    let response = ui
        .add(edit)
        .on_hover_text("Printable ASCII without spaces, up to 100 characters");
    if response.changed() {
        id.retain(|c| c.is_ascii_graphic());
        dsn.envid = (!id.is_empty()).then_some(id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_sendable() {
        assert!(example().problems().is_empty());
    }
}
