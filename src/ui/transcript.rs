//! The live transcript panel: every line of the exchange as it happens,
//! coloured by direction and reply class, explained on hover, filterable,
//! copyable and savable. Only the visible rows are laid out, so 100 000
//! lines scroll as smoothly as ten.

use egui::text::LayoutJob;
use egui::{Color32, FontId, RichText, TextFormat};

use super::style::{arrow, line_color};
use crate::smtp::TranscriptEvent;
use crate::smtp::explain;
use crate::smtp::transcript::TranscriptHeader;

/// What the panel asks the App to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptIntent {
    /// Save as text, JSON Lines or HTML (chosen by the file name).
    Save,
    /// Load a saved `.jsonl` transcript into the panel.
    Open,
    /// Open the Learn tab.
    Learn,
}

/// How the panel shows the transcript.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// One line per row, like a terminal.
    #[default]
    List,
    /// Client and server lifelines with arrows.
    Diagram,
}

/// The transcript of the current (or last) session and how it is viewed.
#[derive(Default)]
pub struct TranscriptView {
    events: Vec<TranscriptEvent>,
    /// Counts changes to `events`: what is derived from them is redone
    /// only when it moves.
    revision: u64,
    server: String,
    filter: String,
    /// Put the cursor in the filter in the next frame (Ctrl+F).
    focus_filter: bool,
    /// Events the Learn walk points at (sorted indexes), drawn highlighted.
    highlight: Vec<usize>,
    /// An event to scroll to in the next frame (the first highlighted).
    scroll_to: Option<usize>,
    /// Indexes of the events that pass the filter.
    shown: Vec<usize>,
    /// The filter `shown` was computed for, and how many events it covers.
    shown_for: (String, usize),
    /// List or diagram.
    pub mode: Mode,
    /// The row whose details the diagram shows.
    pub selected: Option<usize>,
    /// When the session started (Unix seconds), for saved files.
    started_unix: u64,
    /// Where the transcript came from, when it was loaded from a file.
    pub loaded_from: Option<String>,
}

impl TranscriptView {
    /// Puts the cursor in the filter field in the next frame (Ctrl+F).
    pub fn focus_filter(&mut self) {
        self.focus_filter = true;
    }

    /// Marks events to draw highlighted (the Learn walk's step).
    pub fn set_highlight(&mut self, highlight: Vec<usize>) {
        if highlight != self.highlight {
            self.scroll_to = highlight.first().copied();
            self.highlight = highlight;
        }
    }

    /// The events drawn highlighted.
    pub fn highlighted(&self) -> &[usize] {
        &self.highlight
    }

    /// What the filter field holds.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Starts a new transcript for a session with `server`.
    pub fn clear(&mut self, server: String) {
        self.events.clear();
        self.revision += 1;
        self.shown.clear();
        self.shown_for = (self.filter.clone(), 0);
        self.server = server;
        self.selected = None;
        self.loaded_from = None;
        self.started_unix = crate::clock::unix_secs(std::time::SystemTime::now()).max(0) as u64;
    }

    /// Shows a transcript read from a file (or from history).
    pub fn load(&mut self, header: &TranscriptHeader, events: Vec<TranscriptEvent>, from: String) {
        self.clear(header.server.clone());
        self.events = events;
        self.revision += 1;
        self.started_unix = header.started_unix;
        self.loaded_from = Some(from);
    }

    fn header(&self) -> TranscriptHeader {
        let mut header = TranscriptHeader::new(&self.server, std::time::UNIX_EPOCH);
        header.started_unix = self.started_unix;
        header
    }

    /// The whole transcript as one HTML page with the sequence diagram.
    pub fn to_html(&self) -> String {
        crate::share::html(&self.header(), &self.events)
    }

    /// A copy to render on a worker thread when saving.
    pub fn snapshot(&self) -> TranscriptView {
        TranscriptView {
            events: self.events.clone(),
            server: self.server.clone(),
            started_unix: self.started_unix,
            ..TranscriptView::default()
        }
    }

    /// The file's bytes for `path`: JSON Lines for `.jsonl`, a web page for
    /// `.html`, text otherwise.
    pub fn render(&self, path: &std::path::Path) -> Vec<u8> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "jsonl" => self.to_jsonl(),
            "html" | "htm" => self.to_html(),
            _ => self.to_text(),
        }
        .into_bytes()
    }

    /// Appends a line.
    pub fn push(&mut self, event: TranscriptEvent) {
        self.events.push(event);
        self.revision += 1;
    }

    /// Changes with every change to the events.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every line so far.
    pub fn events(&self) -> &[TranscriptEvent] {
        &self.events
    }

    /// The whole transcript as text, swaks-style.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.events.len() * 48);
        for e in &self.events {
            out.push_str(&e.to_text());
            out.push('\n');
        }
        out
    }

    /// The whole transcript as JSON Lines, header first (the CLI's format).
    pub fn to_jsonl(&self) -> String {
        let mut out = serde_json::to_string(&self.header()).unwrap_or_default();
        out.push('\n');
        for e in &self.events {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    fn refresh_filter(&mut self) {
        let needle = self.filter.to_lowercase();
        if self.shown_for.0 != self.filter || self.shown_for.1 > self.events.len() {
            self.shown.clear();
            self.shown_for = (self.filter.clone(), 0);
        }
        for i in self.shown_for.1..self.events.len() {
            if needle.is_empty() || self.events[i].text.to_lowercase().contains(&needle) {
                self.shown.push(i);
            }
        }
        self.shown_for.1 = self.events.len();
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<TranscriptIntent> {
        let mut intent = None;
        ui.horizontal(|ui| {
            ui.heading("Transcript");
            ui.selectable_value(&mut self.mode, Mode::List, "List")
                .on_hover_text("One line per row");
            ui.selectable_value(&mut self.mode, Mode::Diagram, "Diagram")
                .on_hover_text("Client and server as two lifelines; click an arrow for details");
            if ui
                .button("Learn…")
                .on_hover_text("What these lines mean, step by step (the Learn tab)")
                .clicked()
            {
                intent = Some(TranscriptIntent::Learn);
            }
            // Left to right, so Tab goes the way one reads.
            ui.separator();
            let has_lines = !self.events.is_empty();
            if ui
                .add_enabled(has_lines, egui::Button::new("Copy all"))
                .on_hover_text("Copy the whole transcript as text")
                .on_disabled_hover_text("Nothing to copy yet")
                .clicked()
            {
                ui.ctx().copy_text(self.to_text());
            }
            if ui
                .button("Open…")
                .on_hover_text("Load a transcript saved as JSON Lines (.jsonl)")
                .clicked()
            {
                intent = Some(TranscriptIntent::Open);
            }
            if ui
                .add_enabled(has_lines, egui::Button::new("Save…"))
                .on_hover_text(
                    "Save as text (.txt), JSON Lines (.jsonl) or a web page with the diagram (.html)",
                )
                .on_disabled_hover_text("Nothing to save yet: send a message first")
                .clicked()
            {
                intent = Some(TranscriptIntent::Save);
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Filter");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.filter)
                        .hint_text("show only lines containing… (Ctrl+F)")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            if std::mem::take(&mut self.focus_filter) {
                field.request_focus();
            }
        });
        if let Some(from) = &self.loaded_from {
            ui.label(RichText::new(format!("{} · from {from}", self.server)).weak());
        }
        ui.separator();
        self.refresh_filter();
        if self.events.is_empty() {
            ui.label(
                RichText::new(
                    "Every command and reply of the next send appears here as it happens. \
                     Hover over a line to see what it means.",
                )
                .weak(),
            );
            return intent;
        }
        if self.mode == Mode::Diagram {
            super::diagram::diagram_ui(ui, &self.events, &self.shown, &mut self.selected);
            return intent;
        }
        let dark = ui.visuals().dark_mode;
        let font = FontId::monospace(12.0);
        let row_height = ui.fonts_mut(|f| f.row_height(&font));
        let mut area = egui::ScrollArea::both()
            .auto_shrink([false; 2])
            .stick_to_bottom(self.highlight.is_empty());
        if let Some(event) = self.scroll_to.take()
            && let Some(row) = self.shown.iter().position(|&i| i >= event)
        {
            let spacing = ui.spacing().item_spacing.y;
            area =
                area.vertical_scroll_offset((row as f32 * (row_height + spacing) - 40.0).max(0.0));
        }
        area.show_rows(ui, row_height, self.shown.len(), |ui, rows| {
            for &i in &self.shown[rows] {
                let event = &self.events[i];
                let mut job = row_job(event, &font, dark);
                if self.highlight.binary_search(&i).is_ok() {
                    let on = ui.visuals().selection.bg_fill.gamma_multiply(0.45);
                    for section in &mut job.sections {
                        section.format.background = on;
                    }
                }
                let label = egui::Label::new(job).extend();
                let response = ui.add(label);
                if response.hovered() {
                    // A long line is cut at the panel's edge: the whole of
                    // it on hover, above what it means.
                    let whole = (event.text.chars().count() > 60).then(|| event.text.clone());
                    let text = match (whole, explain::event(event)) {
                        (Some(w), Some(e)) => Some(format!("{w}\n\n{e}")),
                        (w, e) => w.or(e),
                    };
                    if let Some(text) = text {
                        response.on_hover_text(text);
                    }
                }
            }
        });
        intent
    }
}

/// One row: time, arrow, text, as one label (so a screen reader reads it whole).
fn row_job(event: &TranscriptEvent, font: &FontId, dark: bool) -> LayoutJob {
    let mut job = LayoutJob::default();
    let weak = if dark {
        Color32::from_gray(0x90)
    } else {
        Color32::from_gray(0x70)
    };
    let time = format!("{} ", crate::smtp::transcript::format_time(event.at));
    job.append(&time, 0.0, TextFormat::simple(font.clone(), weak));
    let color = line_color(event, dark);
    job.append(arrow(event), 0.0, TextFormat::simple(font.clone(), color));
    job.append(" ", 0.0, TextFormat::simple(font.clone(), color));
    job.append(&event.text, 0.0, TextFormat::simple(font.clone(), color));
    job.wrap.max_rows = 1;
    job
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{Direction, ReplyCode};
    use std::time::Duration;

    fn ev(direction: Direction, text: &str, code: Option<u16>) -> TranscriptEvent {
        TranscriptEvent {
            at: Duration::from_millis(3),
            direction,
            secure: false,
            text: text.into(),
            code: code.map(ReplyCode),
        }
    }

    #[test]
    fn filter_is_incremental_and_case_insensitive() {
        let mut view = TranscriptView::default();
        view.clear("127.0.0.1:25".into());
        view.push(ev(Direction::Sent, "EHLO x", None));
        view.push(ev(Direction::Received, "250 OK", Some(250)));
        view.filter = "ehlo".into();
        view.refresh_filter();
        assert_eq!(view.shown, vec![0]);
        view.push(ev(Direction::Sent, "ehlo again", None));
        view.refresh_filter();
        assert_eq!(view.shown, vec![0, 2]);
        view.filter.clear();
        view.refresh_filter();
        assert_eq!(view.shown, vec![0, 1, 2]);
    }

    #[test]
    fn classes_have_distinct_colours() {
        let colors: Vec<Color32> = [250, 354, 451, 550]
            .into_iter()
            .map(|c| line_color(&ev(Direction::Received, "x", Some(c)), false))
            .collect();
        for (i, a) in colors.iter().enumerate() {
            for b in &colors[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_ne!(
            line_color(&ev(Direction::Sent, "x", None), false),
            colors[0]
        );
    }

    #[test]
    fn save_picks_the_format_by_extension_and_loads_back() {
        let mut view = TranscriptView::default();
        view.clear("h:25".into());
        view.push(ev(Direction::Sent, "AUTH PLAIN <redacted>", None));
        let snapshot = view.snapshot();
        let html = String::from_utf8(snapshot.render(std::path::Path::new("a.HTML"))).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
        let text = String::from_utf8(snapshot.render(std::path::Path::new("a.txt"))).unwrap();
        assert!(text.contains(" -> AUTH PLAIN <redacted>"));
        let jsonl = String::from_utf8(snapshot.render(std::path::Path::new("a.jsonl"))).unwrap();
        let (header, events) = crate::smtp::transcript::parse_jsonl(&jsonl).unwrap();
        assert_eq!(header.server, "h:25");
        let mut other = TranscriptView::default();
        other.load(&header, events, "a.jsonl".into());
        assert_eq!(other.events(), view.events());
        assert_eq!(other.loaded_from.as_deref(), Some("a.jsonl"));
    }

    #[test]
    fn exports() {
        let mut view = TranscriptView::default();
        view.clear("h:25".into());
        view.push(ev(Direction::Received, "220 hi", Some(220)));
        assert_eq!(view.to_text(), "     3.0 ms <-  220 hi\n");
        let jsonl = view.to_jsonl();
        let mut lines = jsonl.lines();
        assert!(lines.next().unwrap().contains("\"version\":1"));
        assert!(lines.next().unwrap().contains("\"text\":\"220 hi\""));
    }
}
