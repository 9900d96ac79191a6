//! Lint findings as the window shows them: one line each, errors in the
//! "bad" colour and warnings in the "warn" one, under a one-line summary.

use egui::RichText;

use super::style;
use crate::message::lint::{self, Finding, Level};

/// "✔ lints clean" or "✖ 2 errors, 1 warning", for a list or a heading.
pub fn summary(findings: &[Finding]) -> String {
    match findings.iter().map(|f| f.level).max() {
        None => "✔ lints clean".into(),
        Some(Level::Warning) => format!("⚠ {}", lint::tally(findings)),
        Some(Level::Error) => format!("✖ {}", lint::tally(findings)),
    }
}

/// The summary, coloured by the worst finding.
pub fn summary_label(ui: &mut egui::Ui, findings: &[Finding]) -> egui::Response {
    let color = match findings.iter().map(|f| f.level).max() {
        None => style::good(ui),
        Some(Level::Warning) => style::warn(ui),
        Some(Level::Error) => style::bad(ui),
    };
    ui.label(RichText::new(summary(findings)).color(color))
}

/// The summary and each finding, in a scroll area at most `max_height` tall.
pub fn show(ui: &mut egui::Ui, id: &str, findings: &[Finding], max_height: f32) {
    summary_label(ui, findings);
    if findings.is_empty() {
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(max_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for f in findings {
                let color = match f.level {
                    Level::Error => style::bad(ui),
                    Level::Warning => style::warn(ui),
                };
                ui.label(RichText::new(f.to_string()).color(color));
            }
        });
}
