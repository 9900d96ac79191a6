//! What a probe found, drawn: the outcome, the greeting, the capabilities
//! with a sentence each, TLS and the certificate chain, and the time each
//! step took.

use egui::RichText;

use super::style::{bad, good};

use crate::smtp::Report;
use crate::smtp::tls::Verification;

/// Draws a probe's report and outcome.
pub fn report_ui(ui: &mut egui::Ui, report: &Report, result: &Result<(), String>) {
    match result {
        Ok(()) => {
            let login = match &report.auth {
                Some(m) => format!("; logged in with {}", m.name()),
                None => String::new(),
            };
            ui.label(
                RichText::new(format!("✔ The connection works{login}. Nothing was sent."))
                    .color(good(ui)),
            );
        }
        Err(e) => {
            ui.add(egui::Label::new(RichText::new(format!("✖ {e}")).color(bad(ui))).wrap());
        }
    }
    if let Some(g) = &report.greeting {
        ui.label(format!("Greeting: {} {}", g.code, g.lines.join(" / ")));
    }
    if let Some(caps) = &report.capabilities {
        ui.add_space(4.0);
        ui.strong(if report.capabilities_before_tls.is_some() {
            format!("What {} offers (after STARTTLS)", caps.server_name)
        } else {
            format!("What {} offers", caps.server_name)
        });
        if caps.extensions.is_empty() {
            ui.label("No extensions: the server answered HELO, not EHLO.");
        }
        egui::Grid::new("probe_caps")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for c in &caps.extensions {
                    ui.monospace(c.to_string());
                    ui.label(c.describe());
                    ui.end_row();
                }
            });
    }
    if let Some(tls) = &report.tls {
        ui.add_space(4.0);
        ui.strong("TLS");
        tls_ui(ui, tls);
    }
    if !report.timings.is_empty() {
        ui.add_space(4.0);
        ui.strong("Timing");
        let mut last = std::time::Duration::ZERO;
        let steps: Vec<String> = report
            .timings
            .iter()
            .map(|t| {
                let step = t.at_ms.saturating_sub(last);
                last = t.at_ms;
                format!("{} {} ms", t.stage, step.as_millis())
            })
            .collect();
        ui.label(steps.join("  ·  "));
    }
}

/// TLS version and cipher, the verdict on the certificate, and the chain.
pub fn tls_ui(ui: &mut egui::Ui, tls: &crate::smtp::TlsInfo) {
    let kx = tls
        .key_exchange
        .as_ref()
        .map(|k| format!(", key exchange {k}"))
        .unwrap_or_default();
    ui.label(format!("{}, {}{kx}", tls.version, tls.cipher));
    match &tls.verification {
        Verification::Verified => {
            ui.label(
                RichText::new(format!("Certificate verified for {}", tls.server_name))
                    .color(good(ui)),
            );
        }
        Verification::NotVerified { reason } => {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("Certificate NOT verified: {reason}")).color(bad(ui)),
                )
                .wrap(),
            );
        }
    }
    for (i, c) in tls.chain.iter().enumerate() {
        egui::CollapsingHeader::new(format!("[{i}] {}", c.subject))
            .id_salt(("probe_cert", i))
            .default_open(i == 0)
            .show(ui, |ui| {
                egui::Grid::new(("probe_cert_grid", i))
                    .num_columns(2)
                    .show(ui, |ui| {
                        let left = if c.days_left < 0 {
                            format!("EXPIRED {} days ago", -c.days_left)
                        } else {
                            format!("{} days left", c.days_left)
                        };
                        for (k, v) in [
                            ("Issuer", c.issuer.clone()),
                            ("Names", c.subject_alt_names.join(", ")),
                            ("Valid from", c.not_before.clone()),
                            ("Valid until", format!("{} ({left})", c.not_after)),
                            ("Key", c.public_key.clone()),
                            ("Signed with", c.signature.clone()),
                            ("Serial", c.serial.clone()),
                            ("SHA-256", c.sha256.clone()),
                        ] {
                            if !v.is_empty() {
                                ui.label(RichText::new(k).weak());
                                ui.label(v);
                                ui.end_row();
                            }
                        }
                    });
            });
    }
}
