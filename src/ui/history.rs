//! The lists of drafts, the outbox and sent history (the records are
//! [`crate::store::mail`]'s).
//!
//! A failed send is its draft's failed attempt, not a copy: the outbox is
//! the drafts that carry one. Sending it again, from the outbox or the
//! composer, sends that one message once and moves it to Sent.

use egui::RichText;

use crate::store::mail::{DraftRecord, SentSummary};

/// What the lists ask the App to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryIntent {
    /// Open a draft in the composer.
    Open(String),
    /// Open a failed draft and send it again.
    Retry(String),
    /// Delete a draft (after the user confirmed).
    Delete(String),
    /// Show a record's transcript in the side panel.
    ShowTranscript(String),
    /// Start a new draft from a sent message.
    SendAgain(String),
}

/// A Unix time as `YYYY-MM-DD HH:MM +01:00`, in the local zone.
pub fn when(secs: i64) -> String {
    crate::clock::local_date_time(secs)
}

fn or_none(s: &str, none: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        none.to_owned()
    } else {
        s.chars().take(80).collect()
    }
}

/// The Drafts list (`outbox == false`) or the Outbox (`outbox == true`).
/// `open` is the draft in the composer; `confirm` holds a delete waiting
/// for "yes".
pub fn drafts_ui(
    ui: &mut egui::Ui,
    drafts: &[(String, DraftRecord)],
    outbox: bool,
    open: &str,
    confirm: &mut Option<String>,
) -> Option<HistoryIntent> {
    let mut intent = None;
    let shown: Vec<_> = drafts
        .iter()
        .filter(|(_, d)| d.attempt.is_some() == outbox)
        .collect();
    if outbox {
        ui.heading("Outbox");
        ui.label(
            RichText::new(
                "Messages whose last send failed. Each is still its draft: Retry sends it once and \
                 moves it to Sent.",
            )
            .weak(),
        );
    } else {
        ui.heading("Drafts");
        ui.label(RichText::new("Saved a second after each change; they survive a crash.").weak());
    }
    ui.add_space(6.0);
    if shown.is_empty() {
        ui.label(if outbox {
            "Nothing is waiting: every message you sent went through."
        } else {
            "No drafts."
        });
        return None;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (id, draft) in shown {
                let m = &draft.message;
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        ui.strong(or_none(&m.subject, "(no subject)"));
                        if id == open {
                            ui.label(RichText::new("open in Compose").weak());
                        }
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if confirm.as_deref() == Some(id.as_str()) {
                                if ui.button("Keep").clicked() {
                                    *confirm = None;
                                }
                                if ui
                                    .button(
                                        RichText::new("Delete for good")
                                            .color(super::style::bad(ui)),
                                    )
                                    .clicked()
                                {
                                    intent = Some(HistoryIntent::Delete(id.clone()));
                                    *confirm = None;
                                }
                            } else {
                                if ui
                                    .button("Delete")
                                    .on_hover_text("Delete this message (asks first)")
                                    .clicked()
                                {
                                    *confirm = Some(id.clone());
                                }
                                if outbox
                                    && ui
                                        .button("Retry")
                                        .on_hover_text("Open it and send it again")
                                        .clicked()
                                {
                                    intent = Some(HistoryIntent::Retry(id.clone()));
                                }
                                if outbox
                                    && ui
                                        .button("Transcript")
                                        .on_hover_text("Show the failed exchange")
                                        .clicked()
                                {
                                    intent = Some(HistoryIntent::ShowTranscript(id.clone()));
                                }
                                if ui.button("Open").clicked() {
                                    intent = Some(HistoryIntent::Open(id.clone()));
                                }
                            }
                        });
                    });
                    ui.label(format!(
                        "To {}   ·   saved {}",
                        or_none(&m.to, "(nobody yet)"),
                        when(draft.saved_at)
                    ));
                    if let Some(a) = &draft.attempt {
                        let text = if a.delivery_unknown {
                            format!(
                                "⚠ {}: delivery unknown, the server may have it already. {}",
                                when(a.at),
                                a.error
                            )
                        } else {
                            format!("✖ {} via {}: {}", when(a.at), a.server, a.error)
                        };
                        ui.label(RichText::new(text).color(super::style::bad(ui)));
                    }
                });
            }
        });
    intent
}

/// The Sent list: newest first, each with its final reply; the selected
/// one shows its details.
pub fn sent_ui(
    ui: &mut egui::Ui,
    sent: &[(String, SentSummary)],
    selected: &mut Option<String>,
) -> Option<HistoryIntent> {
    let mut intent = None;
    ui.heading("Sent");
    ui.label(
        RichText::new(
            "Every delivered message with its recipients, the server's final reply and the whole \
             exchange (passwords redacted).",
        )
        .weak(),
    );
    ui.add_space(6.0);
    if sent.is_empty() {
        ui.label("Nothing sent yet.");
        return None;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for (id, record) in sent {
                let is_selected = selected.as_deref() == Some(id.as_str());
                let m = record;
                let clip = if m.attachments.is_empty() {
                    ""
                } else {
                    "   📎"
                };
                let title = format!(
                    "{}   {}   to {}{clip}",
                    when(record.sent_at),
                    or_none(&m.subject, "(no subject)"),
                    record.delivered.join(", ")
                );
                if ui.selectable_label(is_selected, title).clicked() {
                    *selected = (!is_selected).then(|| id.clone());
                }
                if is_selected {
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        egui::Grid::new(("sent_details", id))
                            .num_columns(2)
                            .show(ui, |ui| {
                                for (k, v) in [
                                    ("From", m.from.clone()),
                                    ("To", m.to.clone()),
                                    ("Cc", m.cc.clone()),
                                    ("Bcc", m.bcc.clone()),
                                    ("Account", record.account.clone()),
                                    ("Server", record.server.clone()),
                                    (
                                        "Final reply",
                                        record.final_reply.clone().unwrap_or_default(),
                                    ),
                                    ("Size", crate::smtp::format_bytes(record.message_bytes)),
                                    (
                                        "Attachments",
                                        m.attachments
                                            .iter()
                                            .map(|(name, content_type, size)| {
                                                format!(
                                                    "{name} ({content_type}, {})",
                                                    crate::smtp::format_bytes(*size)
                                                )
                                            })
                                            .collect::<Vec<_>>()
                                            .join(", "),
                                    ),
                                ] {
                                    if !v.is_empty() {
                                        ui.label(RichText::new(k).weak());
                                        ui.label(v);
                                        ui.end_row();
                                    }
                                }
                            });
                        ui.horizontal(|ui| {
                            if ui
                                .button("Show transcript")
                                .on_hover_text("Show the exchange in the transcript panel")
                                .clicked()
                            {
                                intent = Some(HistoryIntent::ShowTranscript(id.clone()));
                            }
                            if ui
                                .button("Send again…")
                                .on_hover_text("Open a copy as a new draft")
                                .clicked()
                            {
                                intent = Some(HistoryIntent::SendAgain(id.clone()));
                            }
                        });
                    });
                }
            }
        });
    intent
}
