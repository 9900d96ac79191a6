//! The transcript: every line that crosses the wire, and every local note,
//! as an event with its time since connect. The same events drive the CLI's
//! live output, the saved files (text and JSON Lines) and, later, the GUI.
//!
//! Secrets never get here: commands are rendered with
//! [`Command::redacted`](super::command::Command::redacted) before they
//! become events, and message data is summarised by size.

use std::time::Duration;

use super::reply::{ReplyClass, ReplyCode};

/// Where a transcript line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server.
    Sent,
    /// Server to client.
    Received,
    /// A local note: connecting, TLS established, a warning.
    Note,
    /// A local error: why the session stopped.
    Error,
}

/// One transcript line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TranscriptEvent {
    /// Time since the connection attempt started.
    #[serde(rename = "t_us", with = "micros")]
    pub at: Duration,
    /// Who said it.
    #[serde(rename = "dir")]
    pub direction: Direction,
    /// True when the line travelled inside TLS.
    pub secure: bool,
    /// The line, without CRLF, secrets redacted.
    pub text: String,
    /// For server lines, the reply code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ReplyCode>,
}

impl TranscriptEvent {
    /// The reply class of a server line.
    pub fn class(&self) -> Option<ReplyClass> {
        self.code.map(ReplyCode::class)
    }

    /// The line in swaks's notation: ` -> ` client, `<-  ` server,
    /// ` ~> ` / `<~  ` the same inside TLS, `=== ` a note, `*** ` an error.
    pub fn prefix(&self) -> &'static str {
        match (self.direction, self.secure) {
            (Direction::Sent, false) => " -> ",
            (Direction::Sent, true) => " ~> ",
            (Direction::Received, false) => "<-  ",
            (Direction::Received, true) => "<~  ",
            (Direction::Note, _) => "=== ",
            (Direction::Error, _) => "*** ",
        }
    }

    /// One line of the text transcript, with the time since connect:
    /// `    12.3 ms <-  220 mx.example.org ESMTP`.
    pub fn to_text(&self) -> String {
        format!("{} {}{}", format_time(self.at), self.prefix(), self.text)
    }
}

/// Shows control characters (other than tab) as `\x1b`-style escapes, so a
/// hostile server cannot move the cursor, recolour a terminal or forge a
/// line of the transcript with an embedded CR or LF.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The time column of the text transcript, fixed width.
pub fn format_time(at: Duration) -> String {
    let ms = at.as_secs_f64() * 1000.0;
    if ms < 10_000.0 {
        format!("{ms:>8.1} ms")
    } else {
        format!("{:>9.2} s", at.as_secs_f64())
    }
}

/// The time since the line before, as a diagram labels its arrows:
/// `+120 µs`, `+3.4 ms`, `+12.0 s`.
pub fn format_delta(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("+{:.0} µs", ms * 1000.0)
    } else if ms < 10_000.0 {
        format!("+{ms:.1} ms")
    } else {
        format!("+{:.1} s", ms / 1000.0)
    }
}

/// `text` cut to `max` characters, with an ellipsis when it was longer.
pub fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    std::borrow::Cow::Owned(s)
}

/// The most events [`parse_jsonl`] takes from one file.
pub const MAX_LOADED_EVENTS: usize = 1_000_000;

/// Reads a `.jsonl` transcript saved by Postscope (the CLI's
/// `--transcript FILE.jsonl` or the window's Save). The text of each line is
/// escaped as it would have been live, so a doctored file cannot put
/// control characters on screen. Errors name the line.
pub fn parse_jsonl(text: &str) -> Result<(TranscriptHeader, Vec<TranscriptEvent>), String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines
        .next()
        .ok_or("the file is empty: a transcript starts with a header line")?;
    let header: TranscriptHeader = serde_json::from_str(first).map_err(|e| {
        format!("line 1 is not a Postscope transcript header ({e}); save transcripts as .jsonl")
    })?;
    if header.kind != "postscope-transcript" {
        return Err(format!(
            "line 1 says this is a {:?}, not a postscope-transcript",
            header.kind
        ));
    }
    if header.version != 1 {
        return Err(format!(
            "this transcript is format version {}, written by a newer Postscope ({}); \
             this one reads version 1",
            header.version, header.generator
        ));
    }
    let mut events = Vec::new();
    for (i, line) in lines {
        if events.len() == MAX_LOADED_EVENTS {
            return Err(format!(
                "the transcript has more than {MAX_LOADED_EVENTS} lines; Postscope stops there"
            ));
        }
        let mut event: TranscriptEvent = serde_json::from_str(line)
            .map_err(|e| format!("line {} is not a transcript event: {e}", i + 1))?;
        if let std::borrow::Cow::Owned(clean) = escape_controls(&event.text) {
            event.text = clean;
        }
        events.push(event);
    }
    Ok((header, events))
}

/// The first line of a `.jsonl` transcript.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TranscriptHeader {
    /// The format version; this is version 1.
    pub version: u32,
    /// Always "postscope-transcript".
    pub kind: String,
    /// The program that wrote it.
    pub generator: String,
    /// The server connected to, `host:port`.
    pub server: String,
    /// When the connection started, seconds since the Unix epoch.
    pub started_unix: u64,
}

impl TranscriptHeader {
    /// A header for a transcript of a session with `server`.
    pub fn new(server: &str, started: std::time::SystemTime) -> TranscriptHeader {
        TranscriptHeader {
            version: 1,
            kind: "postscope-transcript".into(),
            generator: format!("postscope {}", env!("CARGO_PKG_VERSION")),
            server: server.into(),
            started_unix: started
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

mod micros {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let us: u64 = serde::Deserialize::deserialize(d)?;
        Ok(Duration::from_micros(us))
    }
}

#[cfg(test)]
mod jsonl_tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written_and_names_bad_lines() {
        let header = TranscriptHeader::new("mx.example.org:25", std::time::UNIX_EPOCH);
        let event = TranscriptEvent {
            at: Duration::from_micros(1500),
            direction: Direction::Received,
            secure: true,
            text: "250 2.0.0 OK\u{1b}[31m".into(),
            code: Some(ReplyCode(250)),
        };
        let text = format!(
            "{}\n{}\n\n",
            serde_json::to_string(&header).unwrap(),
            serde_json::to_string(&event).unwrap()
        );
        let (h, events) = parse_jsonl(&text).unwrap();
        assert_eq!(h.server, "mx.example.org:25");
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].text, "250 2.0.0 OK\\x1b[31m",
            "escaped on the way in"
        );
        assert_eq!(events[0].at, Duration::from_micros(1500));

        assert!(parse_jsonl("").unwrap_err().contains("empty"));
        assert!(parse_jsonl("hello").unwrap_err().contains("line 1"));
        let broken = format!(
            "{}\n{{\"t_us\": 1}}\n",
            serde_json::to_string(&header).unwrap()
        );
        assert!(parse_jsonl(&broken).unwrap_err().contains("line 2"));
        let newer = serde_json::to_string(&TranscriptHeader {
            version: 2,
            ..header
        })
        .unwrap();
        assert!(parse_jsonl(&newer).unwrap_err().contains("newer Postscope"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("250 ok\tfine"), "250 ok\tfine");
        assert_eq!(
            escape_controls("a\x1b[31mred\rb\n"),
            "a\\x1b[31mred\\x0db\\x0a"
        );
        assert_eq!(escape_controls("caf\u{e9} \u{9b}"), "caf\u{e9} \\x9b");
    }

    #[test]
    fn text_and_json_forms() {
        let e = TranscriptEvent {
            at: Duration::from_micros(12_345),
            direction: Direction::Received,
            secure: false,
            text: "250 2.0.0 Ok".into(),
            code: Some(ReplyCode(250)),
        };
        assert_eq!(e.to_text(), "    12.3 ms <-  250 2.0.0 Ok");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"t_us":12345,"dir":"received","secure":false,"text":"250 2.0.0 Ok","code":250}"#
        );
        let back: TranscriptEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let sent = TranscriptEvent {
            direction: Direction::Sent,
            secure: true,
            code: None,
            text: "QUIT".into(),
            at: Duration::from_secs(12),
        };
        assert_eq!(sent.to_text(), "    12.00 s  ~> QUIT");
        assert_eq!(
            serde_json::to_string(&sent).unwrap(),
            r#"{"t_us":12000000,"dir":"sent","secure":true,"text":"QUIT"}"#
        );
    }
}
