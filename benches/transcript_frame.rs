//! Benchmark: how long one frame of the whole window takes with a transcript
//! of 100 000 lines (the panel lays out only the visible rows). Runs the real
//! App headless through egui_kittest, without a GPU, so the figure is the
//! UI's own CPU time per frame (layout and tessellation), not drawing.
//!
//!     cargo bench --bench transcript_frame

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use postscope::smtp::{Direction, ReplyCode, TranscriptEvent};
use postscope::ui::{App, AppOptions};

fn main() {
    for lines in [1_000usize, 100_000] {
        let mut h: Harness<'static, App> = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_eframe(|cc| {
                App::new(
                    cc.egui_ctx.clone(),
                    AppOptions {
                        start_sandbox: false,
                        dirs: None,
                    },
                )
            });
        h.run();
        for i in 0..lines {
            let (direction, code, text) = match i % 3 {
                0 => (
                    Direction::Sent,
                    None,
                    format!("RCPT TO:<user{i}@example.org>"),
                ),
                1 => (
                    Direction::Received,
                    Some(250),
                    "250 2.1.5 Recipient OK".to_string(),
                ),
                _ => (
                    Direction::Received,
                    Some(550),
                    format!("550 5.1.1 <user{i}@example.org>: unknown"),
                ),
            };
            h.state_mut().transcript_mut().push(TranscriptEvent {
                at: Duration::from_micros(i as u64 * 37),
                direction,
                secure: i % 2 == 0,
                text,
                code: code.map(ReplyCode),
            });
        }
        // Let the panel settle at the bottom, as it is while following a send.
        h.run();
        let frames = 200;
        let start = Instant::now();
        for _ in 0..frames {
            // A pointer move forces a full frame, as a user's mouse would.
            h.hover_at(egui::pos2(900.0, 400.0));
            h.step();
            h.hover_at(egui::pos2(910.0, 420.0));
            h.step();
        }
        let per_frame = start.elapsed() / (2 * frames);
        println!(
            "transcript of {lines:>7} lines: {:.2} ms per frame",
            per_frame.as_secs_f64() * 1000.0
        );
    }
}
