//! Checking a message against the rules of RFC 5322 and RFC 2045 that
//! servers enforce, each finding with its line, the rule and a sentence
//! (`postscope lint`).
//!
//! Checked: NUL bytes; bare CR or LF; lines over 998 octets (and header
//! lines over 78); header lines that are not `Name: value`; From and Date
//! missing or given twice (and Message-ID missing); a Bcc header left in;
//! 8-bit header bytes (not UTF-8, or UTF-8 that needs SMTPUTF8); an 8-bit
//! body without a transfer encoding that allows it; base64 lines over 76
//! in a single-part message. Multipart structure is not yet checked.

use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Allowed, but servers or readers may mind.
    Warning,
    /// Breaks a MUST: strict servers refuse the message.
    Error,
}

/// One thing wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The line it is on, from 1 (0: the message as a whole).
    pub line: usize,
    /// How bad it is.
    pub level: Level,
    /// The rule, e.g. "RFC 5322 §2.1.1".
    pub rule: &'static str,
    /// What is wrong, in a sentence.
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Warning => "warning",
            Level::Error => "error",
        };
        if self.line == 0 {
            write!(f, "{level}: {} ({})", self.text, self.rule)
        } else {
            write!(
                f,
                "line {}: {level}: {} ({})",
                self.line, self.text, self.rule
            )
        }
    }
}

/// Every finding in `message`, in line order.
pub fn lint(message: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |line: usize, level: Level, rule: &'static str, text: String| {
        out.push(Finding {
            line,
            level,
            rule,
            text,
        })
    };
    if message.is_empty() {
        add(
            0,
            Level::Error,
            "RFC 5322 §3.6",
            "the message is empty".into(),
        );
        return out;
    }
    let lines = split_lines(message);
    let mut in_header = true;
    let mut header_end = lines.len();
    let mut fields: Vec<(usize, String, Vec<u8>)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let bytes = line.bytes;
        if bytes.contains(&0) {
            add(
                n,
                Level::Error,
                "RFC 5322 §2.1",
                "the line has a NUL byte".into(),
            );
        }
        if let Some(bad) = line.bad_ending {
            add(
                n,
                Level::Error,
                "RFC 5322 §2.3",
                format!("the line ends in a bare {bad}, not CRLF"),
            );
        }
        if bytes.contains(&b'\r') {
            add(
                n,
                Level::Error,
                "RFC 5322 §2.3",
                "a bare CR inside the line".into(),
            );
        }
        if bytes.len() > 998 {
            add(
                n,
                Level::Error,
                "RFC 5322 §2.1.1",
                format!(
                    "the line is {} octets long; 998 is the most allowed",
                    bytes.len()
                ),
            );
        }
        if !in_header {
            continue;
        }
        if bytes.is_empty() {
            in_header = false;
            header_end = i;
            continue;
        }
        if bytes.len() > 78 && bytes.len() <= 998 {
            add(
                n,
                Level::Warning,
                "RFC 5322 §2.1.1",
                format!(
                    "the header line is {} characters; fold it within 78",
                    bytes.len()
                ),
            );
        }
        if !bytes.is_ascii() {
            match std::str::from_utf8(bytes) {
                Ok(_) => add(
                    n,
                    Level::Warning,
                    "RFC 6532 §3",
                    "UTF-8 in a header: only servers offering SMTPUTF8 take it; encode it \
                     (RFC 2047) for the others"
                        .into(),
                ),
                Err(_) => add(
                    n,
                    Level::Error,
                    "RFC 5322 §2.2",
                    "8-bit bytes that are not UTF-8 in a header".into(),
                ),
            }
        }
        if matches!(bytes.first(), Some(b' ' | b'\t')) {
            match fields.last_mut() {
                Some((_, _, value)) => value.extend_from_slice(bytes),
                None => add(
                    n,
                    Level::Error,
                    "RFC 5322 §2.2.3",
                    "a folded line before any header".into(),
                ),
            }
            continue;
        }
        match bytes.iter().position(|&b| b == b':') {
            Some(colon) if colon > 0 && bytes[..colon].iter().all(|&b| (33..=126).contains(&b)) => {
                let name = String::from_utf8_lossy(&bytes[..colon]).into_owned();
                fields.push((n, name, bytes[colon + 1..].to_vec()));
            }
            _ => add(
                n,
                Level::Error,
                "RFC 5322 §2.2",
                "not a header (Name: value), and no empty line before the body".into(),
            ),
        }
    }
    let count = |name: &'static str| named(&fields, name);
    for (name, level, rule) in [
        ("From", Level::Error, "RFC 5322 §3.6"),
        ("Date", Level::Error, "RFC 5322 §3.6"),
        ("Message-ID", Level::Warning, "RFC 5322 §3.6.4"),
    ] {
        if count(name).next().is_none() {
            add(0, level, rule, format!("there is no {name} header"));
        }
    }
    for name in [
        "From",
        "Date",
        "Message-ID",
        "Subject",
        "To",
        "Cc",
        "Reply-To",
        "Sender",
    ] {
        if let Some((n, _, _)) = count(name).nth(1) {
            add(
                *n,
                Level::Error,
                "RFC 5322 §3.6",
                format!("a second {name} header"),
            );
        }
    }
    if let Some((n, _, _)) = count("Bcc").next() {
        add(
            *n,
            Level::Warning,
            "RFC 5322 §3.6.3",
            "a Bcc header is left in the message: every recipient can read it".into(),
        );
    }
    // The body: 8-bit bytes need a transfer encoding that allows them.
    let encoding = count("Content-Transfer-Encoding")
        .next()
        .map(|(_, _, v)| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
        .unwrap_or_else(|| "7bit".into());
    let multipart = count("Content-Type").next().is_some_and(|(_, _, v)| {
        String::from_utf8_lossy(v)
            .trim()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    let body = lines.get(header_end + 1..).unwrap_or(&[]);
    if !multipart
        && !matches!(encoding.as_str(), "8bit" | "binary")
        && let Some((i, _)) = body.iter().enumerate().find(|(_, l)| !l.bytes.is_ascii())
    {
        add(
            header_end + 2 + i,
            Level::Error,
            "RFC 2045 §6",
            format!(
                "8-bit bytes in a body whose transfer encoding is {encoding}: declare \
                 8bit, or encode it as quoted-printable or base64"
            ),
        );
    }
    if !multipart
        && encoding == "base64"
        && let Some((i, l)) = body.iter().enumerate().find(|(_, l)| l.bytes.len() > 76)
    {
        add(
            header_end + 2 + i,
            Level::Warning,
            "RFC 2045 §6.8",
            format!(
                "a base64 line of {} characters; 76 is the most",
                l.bytes.len()
            ),
        );
    }
    out.sort_by_key(|f| (f.line, std::cmp::Reverse(f.level)));
    out
}

/// The header fields of that name.
fn named<'a>(
    fields: &'a [(usize, String, Vec<u8>)],
    name: &'a str,
) -> impl Iterator<Item = &'a (usize, String, Vec<u8>)> + 'a {
    fields
        .iter()
        .filter(move |(_, f, _)| f.eq_ignore_ascii_case(name))
}

/// A line without its ending, and what was wrong with the ending.
struct Line<'a> {
    bytes: &'a [u8],
    bad_ending: Option<&'static str>,
}

/// Splits at LF; a line ends well in CRLF, badly in a bare LF. A bare CR
/// inside a line stays in it (and is reported).
fn split_lines(message: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let (line, next, bad_ending) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && rest[i - 1] == b'\r' => (&rest[..i - 1], &rest[i + 1..], None),
            Some(i) => (&rest[..i], &rest[i + 1..], Some("LF")),
            None => (rest, &rest[rest.len()..], None),
        };
        lines.push(Line {
            bytes: line,
            bad_ending,
        });
        rest = next;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(message: &[u8]) -> Vec<(usize, Level, &'static str)> {
        lint(message)
            .into_iter()
            .map(|f| (f.line, f.level, f.rule))
            .collect()
    }

    #[test]
    fn what_postscope_builds_is_clean() {
        let draft = crate::message::Draft {
            from: "Ådå <ada@example.org>".into(),
            to: vec![
                (0..120)
                    .map(|i| format!("r{i}@example.org"))
                    .collect::<Vec<_>>()
                    .join(","),
            ],
            subject: "x".repeat(300),
            body: format!("{}\nGrüße\n", "long line ".repeat(200)),
            ..Default::default()
        };
        let built = crate::message::build(&draft).unwrap();
        assert_eq!(
            lint(&built.bytes),
            [],
            "{}",
            String::from_utf8_lossy(&built.bytes)
        );
    }

    #[test]
    fn each_rule_is_found_on_its_line() {
        let mut broken = Vec::new();
        broken.extend_from_slice(b"From: a@example.org\r\n");
        broken.extend_from_slice(b"From: b@example.org\r\n"); // 2: a second From
        broken.extend_from_slice(b"Bcc: hidden@example.org\r\n"); // 3
        broken.extend_from_slice("Subject: Grüße\r\n".as_bytes()); // 4: UTF-8
        broken.extend_from_slice(b"X-Latin1: caf\xe9\r\n"); // 5: not UTF-8
        broken.extend_from_slice(b"this is not a header\r\n"); // 6
        broken.extend_from_slice(b"X-Bare: lf\n"); // 7: bare LF
        broken.extend_from_slice(format!("X-Long: {}\r\n", "y".repeat(1000)).as_bytes()); // 8
        broken.extend_from_slice(b"\r\n");
        broken.extend_from_slice("body with ü and \0 NUL\r\n".as_bytes()); // 10
        let found = rules(&broken);
        let has = |line, level, rule| found.contains(&(line, level, rule));
        assert!(has(0, Level::Error, "RFC 5322 §3.6"), "no Date: {found:?}");
        assert!(has(0, Level::Warning, "RFC 5322 §3.6.4"), "no Message-ID");
        assert!(has(2, Level::Error, "RFC 5322 §3.6"), "a second From");
        assert!(has(3, Level::Warning, "RFC 5322 §3.6.3"), "Bcc");
        assert!(has(4, Level::Warning, "RFC 6532 §3"), "UTF-8 header");
        assert!(has(5, Level::Error, "RFC 5322 §2.2"), "Latin-1 header");
        assert!(has(6, Level::Error, "RFC 5322 §2.2"), "not a header");
        assert!(has(7, Level::Error, "RFC 5322 §2.3"), "bare LF");
        assert!(has(8, Level::Error, "RFC 5322 §2.1.1"), "over 998");
        assert!(has(10, Level::Error, "RFC 5322 §2.1"), "NUL");
        assert!(
            has(10, Level::Error, "RFC 2045 §6"),
            "8-bit body, 7bit declared"
        );
        let text = lint(&broken)[0].to_string();
        assert!(text.ends_with("(RFC 5322 §3.6)"), "{text}");
        assert_eq!(rules(b""), [(0, Level::Error, "RFC 5322 §3.6")]);
    }
}
