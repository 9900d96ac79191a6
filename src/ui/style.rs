//! The few colours the window uses for outcomes, one shade for a light
//! background and a lighter one for a dark background.

use egui::Color32;

use crate::smtp::{Direction, ReplyClass, TranscriptEvent};

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

/// The colour of a line: client lines blue, replies by class, notes grey,
/// errors red; lighter shades on a dark background.
pub fn line_color(event: &TranscriptEvent, dark: bool) -> Color32 {
    let pick = |light: Color32, dark_c: Color32| if dark { dark_c } else { light };
    match event.direction {
        Direction::Sent => pick(
            Color32::from_rgb(0x1f, 0x5f, 0xbf),
            Color32::from_rgb(0x7c, 0xb7, 0xff),
        ),
        Direction::Received => match event.class() {
            Some(ReplyClass::PositiveCompletion) => pick(
                Color32::from_rgb(0x1b, 0x7f, 0x2a),
                Color32::from_rgb(0x7d, 0xd8, 0x8a),
            ),
            Some(ReplyClass::PositiveIntermediate) => pick(
                Color32::from_rgb(0x00, 0x7b, 0x83),
                Color32::from_rgb(0x6f, 0xd6, 0xdc),
            ),
            Some(ReplyClass::TransientNegative) => pick(
                Color32::from_rgb(0xa8, 0x62, 0x00),
                Color32::from_rgb(0xff, 0xc1, 0x5e),
            ),
            Some(ReplyClass::PermanentNegative) | None => pick(
                Color32::from_rgb(0xc0, 0x1c, 0x28),
                Color32::from_rgb(0xff, 0x7b, 0x7b),
            ),
        },
        Direction::Note => pick(Color32::from_gray(0x60), Color32::from_gray(0xa0)),
        Direction::Error => pick(
            Color32::from_rgb(0xc0, 0x1c, 0x28),
            Color32::from_rgb(0xff, 0x6b, 0x6b),
        ),
    }
}

/// The arrow that tells client and server apart at a glance.
pub fn arrow(event: &TranscriptEvent) -> &'static str {
    match (event.direction, event.secure) {
        (Direction::Sent, false) => "→",
        (Direction::Sent, true) => "⇒",
        (Direction::Received, false) => "←",
        (Direction::Received, true) => "⇐",
        (Direction::Note, _) => "•",
        (Direction::Error, _) => "✖",
    }
}
