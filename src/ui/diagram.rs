//! The transcript as a sequence diagram: a lifeline for the client and one
//! for the server, an arrow for each command and reply (coloured by reply
//! class), notes between them, the time since the line before, and the
//! stretch inside TLS shaded. Click an arrow for its raw line and meaning.
//! Like the list, only the rows on screen are drawn.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

use super::style::{arrow, line_color};
use crate::smtp::transcript::{format_delta, shorten};
use crate::smtp::{Direction, TranscriptEvent, explain};

const ROW: f32 = 24.0;
const TIME_W: f32 = 76.0;

/// Draws the diagram of the events at `shown` (indexes into `events`).
pub fn diagram_ui(
    ui: &mut egui::Ui,
    events: &[TranscriptEvent],
    shown: &[usize],
    selected: &mut Option<usize>,
) {
    let dark = ui.visuals().dark_mode;
    let weak = if dark {
        Color32::from_gray(0x90)
    } else {
        Color32::from_gray(0x70)
    };
    let lifeline = Stroke::new(1.0, weak.gamma_multiply(0.6));
    let tls_fill = if dark {
        Color32::from_rgba_unmultiplied(0x4c, 0xaf, 0x50, 0x22)
    } else {
        Color32::from_rgba_unmultiplied(0x4c, 0xaf, 0x50, 0x2a)
    };
    let font = FontId::monospace(11.0);

    if let Some(i) = *selected
        && let Some(e) = events.get(i)
    {
        egui::Panel::bottom("diagram_details")
            .resizable(false)
            .show(ui, |ui| {
                ui.add_space(4.0);
                ui.horizontal(|ui| {
                    ui.strong(match (e.direction, e.secure) {
                        (Direction::Sent, false) => "Client to server",
                        (Direction::Sent, true) => "Client to server, inside TLS",
                        (Direction::Received, false) => "Server to client",
                        (Direction::Received, true) => "Server to client, inside TLS",
                        (Direction::Note, _) => "Note",
                        (Direction::Error, _) => "Error",
                    });
                    ui.label(format!(
                        "at {}",
                        crate::smtp::transcript::format_time(e.at).trim()
                    ));
                    if ui.small_button("Close").clicked() {
                        *selected = None;
                    }
                });
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(&e.text)
                            .monospace()
                            .color(line_color(e, dark)),
                    )
                    .wrap(),
                );
                if let Some(meaning) = explain::event(e) {
                    ui.add(egui::Label::new(format!("Meaning: {meaning}")).wrap());
                }
                ui.add_space(4.0);
            });
    }

    let width = ui.available_width().max(320.0);
    let client_x = TIME_W + 36.0;
    let server_x = width - 36.0;
    let (head, _) = ui.allocate_exact_size(Vec2::new(width, 20.0), Sense::hover());
    let painter = ui.painter();
    for (x, name) in [(client_x, "Client"), (server_x, "Server")] {
        painter.text(
            Pos2::new(head.left() + x, head.center().y),
            Align2::CENTER_CENTER,
            name,
            FontId::proportional(13.0),
            ui.visuals().strong_text_color(),
        );
    }
    let max_chars = (((server_x - client_x) / 6.8) as usize)
        .saturating_sub(2)
        .max(8);

    egui::ScrollArea::vertical()
        .auto_shrink([false; 2])
        .stick_to_bottom(true)
        .show_rows(ui, ROW, shown.len(), |ui, rows| {
            for &i in &shown[rows] {
                let e = &events[i];
                let (rect, response) =
                    ui.allocate_exact_size(Vec2::new(width, ROW), Sense::click());
                let label = format!("{} {}", arrow(e), e.text);
                let is_selected = *selected == Some(i);
                response.widget_info(|| {
                    egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, &label)
                });
                if response.clicked() {
                    *selected = if is_selected { None } else { Some(i) };
                }
                let response = if let Some(meaning) = explain::event(e) {
                    response.on_hover_text(meaning)
                } else {
                    response
                };
                draw_row(
                    ui,
                    rect,
                    e,
                    i.checked_sub(1).and_then(|p| events.get(p)),
                    RowStyle {
                        client_x,
                        server_x,
                        max_chars,
                        font: &font,
                        weak,
                        lifeline,
                        tls_fill,
                        dark,
                        highlighted: is_selected || response.hovered(),
                    },
                );
            }
        });
}

struct RowStyle<'a> {
    client_x: f32,
    server_x: f32,
    max_chars: usize,
    font: &'a FontId,
    weak: Color32,
    lifeline: Stroke,
    tls_fill: Color32,
    dark: bool,
    highlighted: bool,
}

fn draw_row(
    ui: &egui::Ui,
    rect: Rect,
    e: &TranscriptEvent,
    before: Option<&TranscriptEvent>,
    s: RowStyle<'_>,
) {
    let painter = ui.painter_at(rect);
    let cx = rect.left() + s.client_x;
    let sx = rect.left() + s.server_x;
    if s.highlighted {
        painter.rect_filled(rect, 2.0, ui.visuals().widgets.hovered.weak_bg_fill);
    }
    if e.secure {
        let band = Rect::from_min_max(
            Pos2::new(cx - 28.0, rect.top()),
            Pos2::new(sx + 28.0, rect.bottom()),
        );
        painter.rect_filled(band, 0.0, s.tls_fill);
        if before.is_none_or(|b| !b.secure) {
            painter.text(
                Pos2::new(sx + 4.0, rect.top() + 2.0),
                Align2::LEFT_TOP,
                "TLS",
                FontId::proportional(10.0),
                Color32::from_rgb(0x4c, 0xaf, 0x50),
            );
        }
    }
    for x in [cx, sx] {
        painter.line_segment(
            [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
            s.lifeline,
        );
    }
    let gap =
        e.at.saturating_sub(before.map_or(std::time::Duration::ZERO, |b| b.at));
    painter.text(
        Pos2::new(rect.left() + 4.0, rect.center().y),
        Align2::LEFT_CENTER,
        format_delta(gap),
        s.font.clone(),
        s.weak,
    );
    let color = line_color(e, s.dark);
    let text = shorten(&e.text, s.max_chars).into_owned();
    let mid = (cx + sx) / 2.0;
    match e.direction {
        Direction::Sent | Direction::Received => {
            let y = rect.bottom() - 6.0;
            let (from, to) = if e.direction == Direction::Sent {
                (cx, sx)
            } else {
                (sx, cx)
            };
            let stroke = Stroke::new(if e.secure { 2.0 } else { 1.4 }, color);
            painter.line_segment([Pos2::new(from, y), Pos2::new(to, y)], stroke);
            let dir = if to > from { 1.0 } else { -1.0 };
            let tip = Pos2::new(to, y);
            painter.line_segment([tip, Pos2::new(to - dir * 7.0, y - 4.0)], stroke);
            painter.line_segment([tip, Pos2::new(to - dir * 7.0, y + 4.0)], stroke);
            painter.text(
                Pos2::new(mid, y - 3.0),
                Align2::CENTER_BOTTOM,
                text,
                s.font.clone(),
                color,
            );
        }
        Direction::Note | Direction::Error => {
            painter.text(
                Pos2::new(mid, rect.center().y),
                Align2::CENTER_CENTER,
                text,
                s.font.clone(),
                color,
            );
        }
    }
}
