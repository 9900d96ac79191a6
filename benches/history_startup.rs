//! Benchmark: start-up with a big history. Makes N sent messages (each with
//! a 1 KB body and a 40-line transcript, as a real send leaves) and N/10
//! drafts in a temporary data folder, then opens the real App headless
//! (egui_kittest) on it and measures the first frame, the time until the
//! Sent list is loaded (on the worker thread), and the resident memory
//! once it is. Each size runs in its own process, so memory is its own.
//!
//!     cargo bench --bench history_startup            # 100, 1,000 and 10,000
//!     cargo bench --bench history_startup -- 10000   # one size

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use postscope::smtp::{Direction, TranscriptEvent};
use postscope::store::DataDirs;
use postscope::store::mail::{Composed, DraftRecord, SentRecord};
use postscope::ui::{App, AppOptions};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn make_history(dirs: &DataDirs, sent: usize) {
    let sent_dir = dirs.data.join("sent");
    let drafts_dir = dirs.data.join("drafts");
    std::fs::create_dir_all(&sent_dir).unwrap();
    std::fs::create_dir_all(&drafts_dir).unwrap();
    let body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(18);
    let transcript: Vec<TranscriptEvent> = (0..40)
        .map(|i| TranscriptEvent {
            at: Duration::from_micros(i * 250),
            direction: if i % 2 == 0 {
                Direction::Sent
            } else {
                Direction::Received
            },
            secure: i > 10,
            text: format!("250-LINE {i} OF A TYPICAL ESMTP EXCHANGE WITH SOME TEXT"),
            code: None,
        })
        .collect();
    for n in 0..sent {
        let message = Composed {
            from: "You <you@example.org>".into(),
            to: format!("user{n}@example.net"),
            subject: format!("Report number {n}"),
            body: body.clone(),
            ..Composed::default()
        };
        let record = SentRecord {
            sent_at: 1_790_000_000 + n as i64,
            account: "Work".into(),
            server: "smtp.example.org:587".into(),
            delivered: vec![format!("user{n}@example.net")],
            final_reply: Some("250 2.0.0 Ok: queued as ABC".into()),
            message_bytes: 1500,
            message: message.clone(),
            transcript: transcript.clone(),
            ..SentRecord::default()
        };
        let id = format!("20260101T000000Z-{n:x}-0");
        std::fs::write(
            sent_dir.join(format!("{id}.json")),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
        if n % 10 == 0 {
            let draft = DraftRecord {
                saved_at: 1_790_000_000 + n as i64,
                message,
                ..DraftRecord::default()
            };
            let id = format!("20260101T000001Z-{n:x}-0");
            std::fs::write(
                drafts_dir.join(format!("{id}.json")),
                serde_json::to_vec(&draft).unwrap(),
            )
            .unwrap();
        }
    }
}

/// Opens the window on the folder; returns (first frame, Sent listed).
fn open(dirs: &DataDirs, sent: usize) -> (Duration, Duration) {
    let start = Instant::now();
    let dirs = dirs.clone();
    let mut h: Harness<'static, App> = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            App::new(
                cc.egui_ctx.clone(),
                AppOptions {
                    start_sandbox: false,
                    dirs: Some(dirs.clone()),
                },
            )
        });
    h.step();
    let first_frame = start.elapsed();
    while h.state().sent().len() < sent {
        std::thread::sleep(Duration::from_millis(1));
        h.step();
    }
    (first_frame, start.elapsed())
}

/// One start in this process: `cold` on records without an index (what an
/// upgrade meets, and what every start cost before the index), else with it.
fn start(dir: &std::path::Path, sent: usize, cold: bool) {
    let dirs = DataDirs::at(dir);
    if cold {
        let _ = std::fs::remove_file(dirs.data.join("sent-index.json"));
    }
    let before = rss_kib();
    let (frame, listed) = open(&dirs, sent);
    let after = rss_kib();
    println!(
        "{sent:>6} sent, {:>5} drafts, {}: first frame {:>5.1} ms, Sent listed {:>6.1} ms, \
         resident {:>5.1} MiB ({:+.1} MiB for the window and its history)",
        sent.div_ceil(10),
        if cold {
            "no index (first start)"
        } else {
            "with the index       "
        },
        frame.as_secs_f64() * 1e3,
        listed.as_secs_f64() * 1e3,
        after as f64 / 1024.0,
        (after as f64 - before as f64) / 1024.0,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A child: `SENT DIR cold|warm`.
    if let [sent, dir, how, ..] = &args[..]
        && let Ok(sent) = sent.parse()
    {
        return start(std::path::Path::new(dir), sent, how == "cold");
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1_000, 10_000]
    } else {
        sizes
    };
    let me = std::env::current_exe().unwrap();
    for sent in sizes {
        let root = tempfile::tempdir().unwrap();
        make_history(&DataDirs::at(root.path()), sent);
        // Each start in a fresh process: its memory is its own.
        for how in ["cold", "warm"] {
            let status = std::process::Command::new(&me)
                .arg(sent.to_string())
                .arg(root.path())
                .arg(how)
                .status()
                .unwrap();
            assert!(status.success());
        }
    }
}
