//! A message file opened to be looked at (`postscope FILE.eml`, the desktop
//! entry's "Open with"): its text, the envelope its headers imply, and what
//! the linter finds.

use std::io::Read;
use std::path::Path;

use mail_parser::{Address, MessageParser};

/// How much of a file the window shows (bigger files: `postscope lint`).
pub const SHOW_LIMIT: u64 = 4 << 20;

/// A message file as the Raw view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedMessage {
    /// The envelope the headers imply: `MAIL FROM:<…>`, then one
    /// `RCPT TO:<…>` per To, Cc and Bcc address.
    pub envelope: Vec<String>,
    /// The bytes as text (invalid UTF-8 shown as U+FFFD).
    pub text: String,
    /// What `postscope lint` finds.
    pub findings: Vec<super::lint::Finding>,
}

/// Reads `path` (at most [`SHOW_LIMIT`] bytes). The error says what was
/// wrong in a sentence.
pub fn open(path: &Path) -> Result<OpenedMessage, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(SHOW_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if bytes.is_empty() {
        return Err(format!("{name} is empty: it holds no message"));
    }
    if bytes.len() as u64 > SHOW_LIMIT {
        return Err(format!(
            "{name} is over {} MiB, too big to show here; `postscope lint {name}` checks it",
            SHOW_LIMIT >> 20
        ));
    }
    Ok(OpenedMessage {
        envelope: implied_envelope(&bytes),
        findings: super::lint::lint(&bytes),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The envelope a message's own headers imply (what `postscope send --eml`
/// uses when no `--from`/`--to` is given).
pub fn implied_envelope(bytes: &[u8]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse_headers(bytes) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = addrs(msg.from())
        .into_iter()
        .take(1)
        .map(|a| format!("MAIL FROM:<{a}>"))
        .collect();
    for list in [msg.to(), msg.cc(), msg.bcc()] {
        lines.extend(addrs(list).into_iter().map(|a| format!("RCPT TO:<{a}>")));
    }
    lines
}

fn addrs(list: Option<&Address<'_>>) -> Vec<String> {
    list.map(|l| {
        l.iter()
            .filter_map(|a| a.address())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_shows_its_text_envelope_and_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.eml");
        std::fs::write(
            &path,
            "From: Ann <ann@example.org>\r\nTo: bob@example.net, Cy <cy@example.com>\r\n\
             Bcc: dee@example.org\r\nSubject: hi\r\n\r\nHello\r\n",
        )
        .unwrap();
        let m = open(&path).unwrap();
        assert_eq!(
            m.envelope,
            [
                "MAIL FROM:<ann@example.org>",
                "RCPT TO:<bob@example.net>",
                "RCPT TO:<cy@example.com>",
                "RCPT TO:<dee@example.org>"
            ]
        );
        assert!(m.text.starts_with("From: Ann"));
        // No Date and no Message-ID: the linter says so.
        assert!(!m.findings.is_empty());
    }

    #[test]
    fn empty_missing_and_huge_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.eml");
        std::fs::write(&empty, "").unwrap();
        assert!(open(&empty).unwrap_err().contains("is empty"));
        let missing = dir.path().join("nope.eml");
        assert!(open(&missing).unwrap_err().starts_with("cannot open"));
        let big = dir.path().join("big.eml");
        std::fs::write(&big, vec![b'a'; (SHOW_LIMIT + 1) as usize]).unwrap();
        assert!(open(&big).unwrap_err().contains("postscope lint"));
    }
}
