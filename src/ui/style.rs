//! The few colours the window uses for outcomes, one shade for a light
//! background and a lighter one for a dark background.

use egui::Color32;

fn pick(ui: &egui::Ui, light: Color32, dark: Color32) -> Color32 {
    if ui.visuals().dark_mode { dark } else { light }
}

/// Success: a delivery, a working connection, a verified certificate.
pub fn good(ui: &egui::Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0x1b, 0x7f, 0x2a),
        Color32::from_rgb(0x7d, 0xd8, 0x8a),
    )
}

/// Failure: an error, a refused address, an unverified certificate.
pub fn bad(ui: &egui::Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0xc0, 0x1c, 0x28),
        Color32::from_rgb(0xff, 0x7b, 0x7b),
    )
}

/// A warning: clear text, unchecked certificates, a form problem.
pub fn warn(ui: &egui::Ui) -> Color32 {
    pick(
        ui,
        Color32::from_rgb(0xa0, 0x5a, 0x00),
        Color32::from_rgb(0xff, 0xb8, 0x4d),
    )
}
