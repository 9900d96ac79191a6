//! The sandbox inbox: what the local sandbox server received, newest first,
//! with the lint findings and the raw message of the selected one.

use std::sync::Arc;

use egui::RichText;

use super::findings;
use crate::sandbox::{Captured, Incident};
use crate::smtp::format_bytes;

/// How much of a raw message the view shows: laying out megabytes of text
/// every frame would stall the window.
const RAW_SHOWN: usize = 512 * 1024;

/// Which message is open.
#[derive(Default)]
pub struct InboxView {
    selected: Option<u64>,
    /// The selected message's raw text, decoded once (id, text).
    raw: Option<(u64, String)>,
    /// The selected message's HTML part read as text, once (id, text).
    html_text: Option<(u64, String)>,
}

impl InboxView {
    /// Draws the list and the selected message.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        messages: &[Arc<Captured>],
        incidents: &[Arc<Incident>],
        dropped: u64,
        status: &str,
    ) {
        // Wrapped: a long status in a narrow window must not widen the
        // view (everything below would then wrap past its right edge).
        ui.horizontal_wrapped(|ui| {
            ui.heading("Sandbox inbox");
            ui.label(RichText::new(status).weak());
        });
        if dropped > 0 {
            ui.label(
                RichText::new(format!(
                    "{dropped} older message(s) were dropped to keep the inbox under its limit."
                ))
                .weak(),
            );
        }
        incidents_ui(ui, incidents);
        ui.separator();
        if messages.is_empty() {
            ui.label("Nothing received yet. Send a message with the Local sandbox account and it appears here.");
            return;
        }
        let list_height = (ui.available_height() * 0.4).max(120.0);
        // Solid, visible bars: a floating one would lie over the last row
        // and take its clicks.
        let saved_scroll = ui.style().spacing.scroll;
        ui.style_mut().spacing.scroll = egui::style::ScrollStyle {
            dormant_handle_opacity: 0.5,
            dormant_background_opacity: 0.2,
            ..egui::style::ScrollStyle::solid()
        };
        // Both ways: a narrow window (the transcript open at 1024 px) scrolls
        // the columns instead of pushing Size and Lint out of sight.
        egui::ScrollArea::both()
            .id_salt("inbox_list")
            .max_height(list_height)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                egui::Grid::new("inbox_grid")
                    .num_columns(7)
                    .striped(true)
                    .spacing([12.0, 4.0])
                    .show(ui, |ui| {
                        for h in [
                            "Received",
                            "From",
                            "To",
                            "Subject",
                            "Size",
                            "Attachments",
                            "Lint",
                        ] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for m in messages.iter().rev() {
                            let selected = self.selected == Some(m.id);
                            let subject = if m.summary.subject.is_empty() {
                                "(no subject)"
                            } else {
                                &m.summary.subject
                            };
                            let from = match (m.summary.from.as_str(), m.mail_from.as_str()) {
                                ("", "") => "<>",
                                ("", envelope) => envelope,
                                (header, _) => header,
                            };
                            let received = crate::clock::local_time_of_day(m.received);
                            if cell(ui, selected, &received).clicked() {
                                self.selected = Some(m.id);
                            }
                            if cell(ui, selected, from).clicked() {
                                self.selected = Some(m.id);
                            }
                            let to = match m.rcpt_to.as_slice() {
                                [] => String::new(),
                                [one] => one.clone(),
                                [first, rest @ ..] => format!("{first} and {} more", rest.len()),
                            };
                            ui.label(to);
                            if cell(ui, selected, subject).clicked() {
                                self.selected = Some(m.id);
                            }
                            ui.label(format_bytes(m.raw.len() as u64));
                            let names: Vec<&str> = m
                                .summary
                                .attachments
                                .iter()
                                .map(|a| a.name.as_str())
                                .collect();
                            ui.label(if names.is_empty() {
                                "—".to_string()
                            } else {
                                names.join(", ")
                            });
                            findings::summary_label(ui, &m.findings);
                            ui.end_row();
                        }
                    });
            });
        ui.style_mut().spacing.scroll = saved_scroll;
        ui.separator();
        let Some(m) = self
            .selected
            .and_then(|id| messages.iter().find(|m| m.id == id))
        else {
            ui.label(RichText::new("Select a message to see it whole.").weak());
            return;
        };
        ui.label(format!(
            "Envelope: MAIL FROM <{}> RCPT TO {} · {} · login {}",
            m.mail_from,
            m.rcpt_to
                .iter()
                .map(|r| format!("<{r}>"))
                .collect::<Vec<_>>()
                .join(" "),
            if m.tls { "over TLS" } else { "in clear text" },
            m.auth_user.as_deref().unwrap_or("none"),
        ));
        if !m.dsn.is_empty() {
            ui.label(format!(
                "Delivery notices asked for (DSN): {}",
                m.dsn.describe(&m.rcpt_to)
            ))
            .on_hover_text("The sandbox records them; it sends no notice, as it delivers nothing");
        }
        for a in &m.summary.attachments {
            ui.label(format!(
                "📎 {} ({}, {})",
                a.name,
                a.content_type,
                format_bytes(a.size)
            ));
        }
        findings::show(ui, "inbox_findings", &m.findings, 120.0);
        if let Some(html) = &m.summary.html {
            self.both_parts(ui, m.id, &m.summary.text_preview, html);
        }
        if self.raw.as_ref().is_none_or(|(id, _)| *id != m.id) {
            let shown = &m.raw[..m.raw.len().min(RAW_SHOWN)];
            let mut text = String::from_utf8_lossy(shown).into_owned();
            if m.raw.len() > RAW_SHOWN {
                text.push_str(&format!(
                    "\n… {} more not shown",
                    format_bytes((m.raw.len() - RAW_SHOWN) as u64)
                ));
            }
            self.raw = Some((m.id, text));
        }
        let raw = self.raw.as_ref().map(|(_, t)| t.as_str()).unwrap_or("");
        let label = ui.label("Raw message");
        egui::ScrollArea::both()
            .id_salt("inbox_raw")
            .auto_shrink([false; 2])
            .show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut { raw })
                        .font(egui::TextStyle::Monospace)
                        .desired_width(f32::INFINITY)
                        .interactive(true),
                )
                .labelled_by(label.id);
            });
    }

    /// The text part and the HTML part (read as text) side by side.
    fn both_parts(&mut self, ui: &mut egui::Ui, id: u64, text: &str, html: &str) {
        if self
            .html_text
            .as_ref()
            .is_none_or(|(shown, _)| *shown != id)
        {
            self.html_text = Some((id, crate::message::html::to_text(html)));
        }
        let html_text = self.html_text.as_ref().map_or("", |(_, t)| t.as_str());
        ui.columns(2, |columns| {
            let parts = [
                ("Text part", text, "inbox_text_part"),
                (
                    "HTML part, read as text (its source is below)",
                    html_text,
                    "inbox_html_part",
                ),
            ];
            for (column, (title, body, salt)) in columns.iter_mut().zip(parts) {
                column.label(RichText::new(title).strong());
                egui::ScrollArea::vertical()
                    .id_salt(salt)
                    .max_height(140.0)
                    .auto_shrink([false, true])
                    .show(column, |ui| {
                        ui.add(egui::Label::new(body).wrap());
                    });
            }
        });
    }
}

/// How many refusals and errors the list shows, newest first.
const SHOWN_INCIDENTS: usize = 200;

/// What the sandbox refused or dropped, and why: folded away, newest first.
fn incidents_ui(ui: &mut egui::Ui, incidents: &[Arc<Incident>]) {
    if incidents.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("⚠ Refusals and errors ({})", incidents.len()))
        .id_salt("inbox_incidents")
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("inbox_incidents_list")
                .max_height(140.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for i in incidents.iter().rev().take(SHOWN_INCIDENTS) {
                        ui.label(
                            RichText::new(format!(
                                "{}  {}  {}",
                                crate::clock::local_time_of_day(i.at),
                                i.peer,
                                i.text
                            ))
                            .monospace()
                            .small(),
                        );
                    }
                });
        });
}

/// The longest From or Subject a list row shows; the whole is on hover.
const CELL_CHARS: usize = 48;

/// A selectable list cell, cut to [`CELL_CHARS`] with an ellipsis.
fn cell(ui: &mut egui::Ui, selected: bool, text: &str) -> egui::Response {
    match text.char_indices().nth(CELL_CHARS) {
        Some((cut, _)) => ui
            .selectable_label(selected, format!("{}…", &text[..cut]))
            .on_hover_text(text),
        None => ui.selectable_label(selected, text),
    }
}
