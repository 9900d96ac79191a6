//! The Learn tab: SMTP taught on a live exchange. The guided walk takes the
//! last send in the transcript panel (or sends the example to the Local
//! sandbox first) and goes through it one step at a time, highlighting the
//! step's lines in the panel and explaining them; short pages cover the
//! ideas around a send.

pub mod pages;
pub mod steps;

use egui::RichText;

pub use pages::Page;
pub use steps::Step;

use crate::smtp::TranscriptEvent;

/// What the Learn tab asks of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearnIntent {
    /// Send the example message to the Local sandbox, to walk through it.
    SendExample,
}

/// The Learn tab's state.
#[derive(Debug, Default)]
pub struct LearnView {
    /// The step shown, as an index into [`Step::ALL`].
    step: usize,
    /// A page to open (and scroll to) in the next frame.
    open_page: Option<Page>,
    /// Each event's step, and the transcript revision it was worked out
    /// for: classified once per change, not twice a frame.
    classified: (Option<u64>, Vec<Option<Step>>),
}

impl LearnView {
    /// The step the walk is on.
    pub fn step(&self) -> Step {
        Step::ALL[self.step.min(Step::ALL.len() - 1)]
    }

    /// Opens a page (from a link elsewhere in the window).
    pub fn open(&mut self, page: Page) {
        self.open_page = Some(page);
    }

    /// Each event's step, worked out again only when `revision` moved.
    fn classify(&mut self, revision: u64, events: &[TranscriptEvent]) {
        if self.classified.0 != Some(revision) {
            self.classified = (Some(revision), steps::classify(events));
        }
    }

    /// The transcript lines of the current step, to highlight in the panel.
    pub fn highlight(&mut self, revision: u64, events: &[TranscriptEvent]) -> Vec<usize> {
        self.classify(revision, events);
        steps::lines_of(&self.classified.1, self.step())
    }

    /// Draws the tab.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        (revision, events): (u64, &[TranscriptEvent]),
        busy: bool,
    ) -> Option<LearnIntent> {
        let mut intent = None;
        self.classify(revision, events);
        let classified = std::mem::take(&mut self.classified.1);
        let has_send = classified.contains(&Some(Step::Envelope));
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.heading("Learn SMTP on a live exchange");
                ui.add(
                    egui::Label::new(
                        "A guided walk through a real send, one step at a time: each step \
                         lights up its lines in the transcript panel on the right and says \
                         what they mean.",
                    )
                    .wrap(),
                );
                ui.add_space(4.0);
                ui.horizontal_wrapped(|ui| {
                    let label = if has_send {
                        "Send the example again"
                    } else {
                        "Send the example to the Local sandbox"
                    };
                    if ui
                        .add_enabled(!busy, egui::Button::new(label))
                        .on_hover_text(
                            "Sends Postscope's example message to the sandbox inside the app \
                             (your message stays in Drafts); nothing leaves this computer",
                        )
                        .on_disabled_hover_text("A session is running: wait for it to end")
                        .clicked()
                    {
                        intent = Some(LearnIntent::SendExample);
                    }
                    // Always a line here, so nothing below moves when a send arrives.
                    ui.label(
                        RichText::new(if has_send {
                            "Walking through the last send in the transcript panel."
                        } else {
                            "The walk uses the last send in the transcript panel."
                        })
                        .weak(),
                    );
                });
                ui.separator();
                self.walk_ui(ui, events, &classified, has_send);
                ui.add_space(8.0);
                ui.separator();
                ui.heading("Around a send");
                let open = self.open_page.take();
                for page in Page::ALL {
                    let header = egui::CollapsingHeader::new(page.title())
                        .id_salt(("learn_page", page.title()))
                        .open((open == Some(page)).then_some(true))
                        .show(ui, |ui| {
                            ui.add(egui::Label::new(page.text()).wrap());
                        });
                    if open == Some(page) {
                        header.header_response.scroll_to_me(Some(egui::Align::TOP));
                    }
                }
            });
        self.classified.1 = classified;
        intent
    }

    fn walk_ui(
        &mut self,
        ui: &mut egui::Ui,
        events: &[TranscriptEvent],
        classified: &[Option<Step>],
        has_send: bool,
    ) {
        ui.horizontal_wrapped(|ui| {
            for (n, step) in Step::ALL.iter().enumerate() {
                let present = classified.contains(&Some(*step));
                let mut text = RichText::new(step.title());
                if has_send && !present {
                    text = text.weak();
                }
                if ui.selectable_label(self.step == n, text).clicked() {
                    self.step = n;
                }
            }
        });
        ui.add_space(4.0);
        let step = self.step();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(self.step > 0, egui::Button::new("◀ Back"))
                .clicked()
            {
                self.step -= 1;
            }
            if ui
                .add_enabled(self.step + 1 < Step::ALL.len(), egui::Button::new("Next ▶"))
                .clicked()
            {
                self.step += 1;
            }
            ui.strong(step.title());
        });
        ui.add(egui::Label::new(pages::explain(step)).wrap());
        let lines = steps::lines_of(classified, step);
        ui.add_space(4.0);
        if !has_send {
            ui.label(
                RichText::new("Send the example to see this step's lines from a real exchange.")
                    .weak(),
            );
        } else if lines.is_empty() {
            ui.label(
                RichText::new(match step {
                    Step::StartTls => {
                        "This exchange had no STARTTLS (a clear-text or implicit-TLS connection)."
                    }
                    Step::Auth => "This exchange had no login.",
                    _ => "This exchange has no lines for this step (it stopped earlier?).",
                })
                .weak(),
            );
        } else {
            ui.label(
                RichText::new(format!(
                    "In this exchange ({} line{}, highlighted in the transcript):",
                    lines.len(),
                    if lines.len() == 1 { "" } else { "s" }
                ))
                .weak(),
            );
            egui::Frame::group(ui.style()).show(ui, |ui| {
                for &i in lines.iter().take(40) {
                    let e = &events[i];
                    let arrow = match e.direction {
                        crate::smtp::Direction::Sent => "C:",
                        crate::smtp::Direction::Received => "S:",
                        _ => "  ",
                    };
                    ui.label(RichText::new(format!("{arrow} {}", e.text)).monospace());
                }
                if lines.len() > 40 {
                    ui.label(RichText::new(format!("… and {} more", lines.len() - 40)).weak());
                }
            });
        }
    }
}
