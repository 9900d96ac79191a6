//! A transcript as one self-contained HTML page to share: a header (server,
//! date, program), the exchange drawn as a sequence diagram (inline SVG, no
//! scripts, no external files), and the text transcript below it. Hover an
//! arrow in a browser for what the command or reply means.
//!
//! The events are already redacted (see [`crate::smtp::transcript`]); this
//! only escapes them for HTML.

use std::fmt::Write as _;
use std::time::Duration;

use crate::smtp::transcript::{TranscriptHeader, format_delta, format_time, shorten};
use crate::smtp::{Direction, ReplyClass, TranscriptEvent, explain};

const ROW: u32 = 24;
const TOP: u32 = 56;
const CLIENT_X: u32 = 200;
const SERVER_X: u32 = 820;
const WIDTH: u32 = 1000;
/// Text longer than this is cut in the drawing (the full line is in the
/// tooltip and in the text transcript below).
const MAX_LABEL: usize = 84;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn color(event: &TranscriptEvent) -> &'static str {
    match event.direction {
        Direction::Sent => "#1f5fbf",
        Direction::Received => match event.class() {
            Some(ReplyClass::PositiveCompletion) => "#1b7f2a",
            Some(ReplyClass::PositiveIntermediate) => "#007b83",
            Some(ReplyClass::TransientNegative) => "#a86200",
            Some(ReplyClass::PermanentNegative) | None => "#c01c28",
        },
        Direction::Note => "#666666",
        Direction::Error => "#c01c28",
    }
}

/// The sequence diagram of `events` as an SVG element.
pub fn svg(events: &[TranscriptEvent]) -> String {
    let height = TOP + ROW * events.len() as u32 + 24;
    let mut s = String::with_capacity(events.len() * 300 + 2000);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12" role="img" aria-label="SMTP sequence diagram">"##
    );
    // The TLS band: every run of rows inside TLS.
    let mut i = 0;
    while i < events.len() {
        if events[i].secure {
            let start = i;
            while i < events.len() && events[i].secure {
                i += 1;
            }
            let y = TOP + ROW * start as u32 - 4;
            let h = ROW * (i - start) as u32;
            let _ = write!(
                s,
                r##"<rect x="{}" y="{y}" width="{}" height="{h}" fill="#e8f5e9"/><text x="{}" y="{}" fill="#2e7d32" font-size="11">TLS</text>"##,
                CLIENT_X - 40,
                SERVER_X - CLIENT_X + 80,
                SERVER_X + 48,
                y + 14
            );
        } else {
            i += 1;
        }
    }
    // Lifelines.
    for (x, name) in [(CLIENT_X, "Client"), (SERVER_X, "Server")] {
        let _ = write!(
            s,
            r##"<text x="{x}" y="24" text-anchor="middle" font-weight="bold" font-size="14" fill="#222">{name}</text><line x1="{x}" y1="34" x2="{x}" y2="{}" stroke="#999" stroke-dasharray="4 3"/>"##,
            height - 8
        );
    }
    let mut last = Duration::ZERO;
    for (n, e) in events.iter().enumerate() {
        let y = TOP + ROW * n as u32 + 8;
        let c = color(e);
        let label = escape(&shorten(&e.text, MAX_LABEL));
        let title = match explain::event(e) {
            Some(meaning) => format!("{}\n{}", escape(&e.text), escape(&meaning)),
            None => escape(&e.text),
        };
        let _ = write!(s, "<g><title>{title}</title>");
        let _ = write!(
            s,
            r##"<text x="8" y="{}" fill="#888" font-size="11">{}</text>"##,
            y + 4,
            escape(&format_delta(e.at.saturating_sub(last)))
        );
        last = e.at;
        match e.direction {
            Direction::Sent | Direction::Received => {
                let (x1, x2) = if e.direction == Direction::Sent {
                    (CLIENT_X, SERVER_X)
                } else {
                    (SERVER_X, CLIENT_X)
                };
                // The head drawn as a triangle (no SVG markers: older
                // viewers and converters draw those badly).
                let (tip, back) = if x2 > x1 { (x2, x2 - 8) } else { (x2, x2 + 8) };
                let ly = y + 6;
                let _ = write!(
                    s,
                    r##"<line x1="{x1}" y1="{ly}" x2="{back}" y2="{ly}" stroke="{c}" stroke-width="1.5"/><polygon points="{tip},{ly} {back},{} {back},{}" fill="{c}"/><text x="{}" y="{}" text-anchor="middle" fill="{c}">{label}</text>"##,
                    ly - 4,
                    ly + 4,
                    (CLIENT_X + SERVER_X) / 2,
                    y + 2,
                );
            }
            Direction::Note | Direction::Error => {
                let style = if e.direction == Direction::Error {
                    "font-weight=\"bold\""
                } else {
                    "font-style=\"italic\""
                };
                let _ = write!(
                    s,
                    r##"<text x="{}" y="{}" text-anchor="middle" fill="{c}" {style}>{label}</text>"##,
                    (CLIENT_X + SERVER_X) / 2,
                    y + 4
                );
            }
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

/// The whole page.
pub fn html(header: &TranscriptHeader, events: &[TranscriptEvent]) -> String {
    let when = crate::clock::format_utc(header.started_unix as i64);
    let title = format!("SMTP transcript: {}", escape(&header.server));
    let mut text = String::with_capacity(events.len() * 64);
    for e in events {
        text.push_str(&escape(&e.to_text()));
        text.push('\n');
    }
    let total = events.last().map(|e| format_time(e.at)).unwrap_or_default();
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{generator}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
.meta {{ color: #666; margin-bottom: 1.5em; }}
.diagram {{ overflow-x: auto; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }}
pre {{ background: #f6f6f6; padding: 1em; border-radius: 6px; overflow-x: auto; font-size: 12px; }}
.legend span {{ margin-right: 1.2em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="meta">Started {when} · {count} lines · {total} · written by {generator} · passwords are redacted</div>
<div class="legend"><span style="color:#1f5fbf">■ client</span><span style="color:#1b7f2a">■ 2xx</span><span style="color:#007b83">■ 3xx</span><span style="color:#a86200">■ 4xx</span><span style="color:#c01c28">■ 5xx / error</span><span style="color:#2e7d32">▭ inside TLS</span></div>
<div class="diagram">
{svg}
</div>
<h2>Transcript</h2>
<pre>{text}</pre>
</body>
</html>
"##,
        generator = escape(&header.generator),
        count = events.len(),
        total = total.trim(),
        svg = svg(events),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::ReplyCode;

    fn ev(
        direction: Direction,
        ms: u64,
        text: &str,
        code: Option<u16>,
        secure: bool,
    ) -> TranscriptEvent {
        TranscriptEvent {
            at: Duration::from_millis(ms),
            direction,
            secure,
            text: text.into(),
            code: code.map(ReplyCode),
        }
    }

    #[test]
    fn the_page_draws_every_line_escaped_with_the_tls_band() {
        let events = vec![
            ev(Direction::Note, 1, "connected", None, false),
            ev(
                Direction::Received,
                20,
                "220 <mx> ready & waiting",
                Some(220),
                false,
            ),
            ev(Direction::Sent, 21, "STARTTLS", None, false),
            ev(Direction::Sent, 30, "AUTH PLAIN <redacted>", None, true),
            ev(
                Direction::Received,
                31,
                "535 5.7.8 no\u{1b}[2J",
                Some(535),
                true,
            ),
        ];
        let header = TranscriptHeader::new("mx.example.org:587", std::time::UNIX_EPOCH);
        let page = html(&header, &events);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("SMTP transcript: mx.example.org:587"));
        assert!(page.contains("220 &lt;mx&gt; ready &amp; waiting"));
        assert!(page.contains("AUTH PLAIN &lt;redacted&gt;"));
        assert!(!page.contains('\u{1b}'), "control characters are escaped");
        assert!(page.contains(">TLS</text>"), "the TLS band is drawn");
        assert_eq!(
            page.matches("<line x1=").count(),
            4 + 2,
            "4 arrows, 2 lifelines"
        );
        assert!(page.contains("#c01c28"), "5xx in red");
        assert!(page.contains("+19.0 ms"), "time between lines");
        assert!(!page.contains("<script"), "no scripts");
        assert_eq!(
            page.matches("http").count(),
            1,
            "nothing external, only the SVG namespace"
        );
    }

    #[test]
    fn long_lines_are_cut_in_the_drawing_but_whole_in_the_text() {
        let long = "250-".to_string() + &"X".repeat(300);
        let events = vec![ev(Direction::Received, 1, &long, Some(250), false)];
        let svg = svg(&events);
        assert!(svg.contains('…'));
        let page = html(
            &TranscriptHeader::new("h:25", std::time::UNIX_EPOCH),
            &events,
        );
        assert!(page.contains(&long));
    }
}
