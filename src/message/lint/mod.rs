//! Checking a message against the rules of RFC 5322 and RFC 2045 that
//! servers enforce, each finding with its line, the rule and a sentence
//! (`postscope lint`).
//!
//! Checked: NUL bytes; bare CR or LF; lines over 998 octets (and header
//! lines over 78); header lines that are not `Name: value`; From and Date
//! missing or given twice (and Message-ID missing); a Bcc header left in;
//! malformed addresses (RFC 5322 §3.4) and encoded words (RFC 2047); 8-bit
//! header bytes (not UTF-8, or UTF-8 that needs SMTPUTF8); and in every MIME
//! part, however deep: an unknown or misplaced transfer encoding, an 8-bit
//! body without one that allows it, base64 and quoted-printable that is
//! broken or has lines over 76, and multiparts without a boundary, whose
//! boundary never appears, or that are never closed.
//!
//! `lines` cuts the message; `entity` reads one header block (the message's
//! or a part's); `address` and `words` check header values; `mime` checks a
//! body and walks into the parts of a multipart.

use std::fmt;

mod address;
mod entity;
mod lines;
mod mime;
mod words;

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

/// "clean", or how many errors and warnings: "2 errors, 1 warning".
pub fn tally(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.len() - errors;
    let n = |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => "clean".into(),
        (e, 0) => n(e, "error"),
        (0, w) => n(w, "warning"),
        (e, w) => format!("{}, {}", n(e, "error"), n(w, "warning")),
    }
}

/// Every finding in `message`, in line order.
pub fn lint(message: &[u8]) -> Vec<Finding> {
    let mut out = Findings::default();
    if message.is_empty() {
        out.add(
            0,
            Level::Error,
            "RFC 5322 §3.6",
            "the message is empty".into(),
        );
        return out.0;
    }
    let lines = lines::split(message);
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let bytes = line.bytes;
        if bytes.contains(&0) {
            out.add(
                n,
                Level::Error,
                "RFC 5322 §2.1",
                "the line has a NUL byte".into(),
            );
        }
        if let Some(bad) = line.bad_ending {
            out.add(
                n,
                Level::Error,
                "RFC 5322 §2.3",
                format!("the line ends in a bare {bad}, not CRLF"),
            );
        }
        if bytes.contains(&b'\r') {
            out.add(
                n,
                Level::Error,
                "RFC 5322 §2.3",
                "a bare CR inside the line".into(),
            );
        }
        if bytes.len() > 998 {
            out.add(
                n,
                Level::Error,
                "RFC 5322 §2.1.1",
                format!(
                    "the line is {} octets long; 998 is the most allowed",
                    bytes.len()
                ),
            );
        }
    }
    entity::check(
        &lines,
        Part {
            start: 0,
            end: lines.len(),
            depth: 0,
            top: true,
        },
        &mut out,
    );
    let mut out = out.0;
    out.sort_by_key(|f| (f.line, std::cmp::Reverse(f.level)));
    out.dedup();
    out
}

/// Where an entity is in the message's lines, and what it is.
#[derive(Debug, Clone, Copy)]
struct Part {
    /// Its first line (index into the lines).
    pub start: usize,
    /// One past its last line.
    pub end: usize,
    /// 0 for the message, 1 for its parts, …
    pub depth: usize,
    /// The message itself (From, Date… are required only there).
    pub top: bool,
}

/// One header field, unfolded.
struct Field {
    /// Its first line, from 1.
    pub line: usize,
    pub name: String,
    pub value: Vec<u8>,
}

impl Field {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.value).trim().to_owned()
    }
}

/// The fields of that name.
fn named<'a>(fields: &'a [Field], name: &'a str) -> impl Iterator<Item = &'a Field> {
    fields
        .iter()
        .filter(move |f| f.name.eq_ignore_ascii_case(name))
}

/// The findings so far.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    pub(super) fn add(&mut self, line: usize, level: Level, rule: &'static str, text: String) {
        self.0.push(Finding {
            line,
            level,
            rule,
            text,
        });
    }
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

    /// A header for the broken-structure cases.
    fn with_header(rest: &str) -> Vec<u8> {
        format!(
            "From: a@example.org\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\
             Message-ID: <1@example.org>\r\n{rest}"
        )
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
    }

    #[test]
    fn multipart_structure_is_walked_part_by_part() {
        let good = with_header(
            "Content-Type: multipart/mixed; boundary=\"b1\"\n\npreamble\n--b1\n\
             Content-Type: multipart/alternative; boundary=b2\n\n--b2\n\
             Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
             Grüße\n--b2\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n\
             PGI+aGk8L2I+\n--b2--\n--b1\n\nno header, default text/plain\n--b1--\nepilogue\n",
        );
        assert_eq!(rules(&good), [], "{:?}", lint(&good));
        // 1–3 From/Date/Message-ID, 4 Content-Type, 5 empty, 6 delimiter…
        let broken = with_header(
            "Content-Type: multipart/mixed; boundary=b1\n\n--b1\n\
             Content-Transfer-Encoding: quoted-printable\n\nq=ZZ\n--b1\n\
             Content-Transfer-Encoding: base64\n\nnot*base64\n--b1\n\
             Content-Transfer-Encoding: 9bit\n\nx\n--b1\nno empty line\n\
             --b1\nContent-Type: multipart/related\n\nx\n--b1\n\
             Content-Type: multipart/related; boundary=zz\n\n--zz\n\nnever closed\n",
        );
        let found = rules(&broken);
        let has = |line, rule| found.iter().any(|&(l, _, r)| l == line && r == rule);
        assert!(has(9, "RFC 2045 §6.7"), "bad QP escape: {found:?}");
        assert!(has(13, "RFC 2045 §6.8"), "not base64");
        assert!(has(15, "RFC 2045 §6.1"), "no such encoding");
        assert!(has(19, "RFC 5322 §2.2"), "a part without an empty line");
        assert!(has(21, "RFC 2046 §5.1.1"), "multipart without boundary");
        assert!(has(29, "RFC 2046 §5.1.1"), "never closed, on the last line");
        let no_parts = with_header("Content-Type: multipart/mixed; boundary=b\n\nno parts\n");
        assert_eq!(rules(&no_parts), [(4, Level::Error, "RFC 2046 §5.1.1")]);
        let encoded_multipart = with_header(
            "Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n\
             --b\n\nx\n--b--\n",
        );
        assert_eq!(
            rules(&encoded_multipart),
            [(5, Level::Error, "RFC 2045 §6.4")]
        );
    }

    #[test]
    fn addresses_and_encoded_words_are_read() {
        let good = with_header(
            "To: \"Doe, Jane\" <jane@example.org>, bob@example.org (Bob),\n \
             friends: x@example.org, \"odd name\"@example.org;, undisclosed-recipients:;\n\
             Cc: =?utf-8?q?Gr=C3=BC=C3=9Fe?= <g@example.org>\n\
             Subject: =?UTF-8?B?8J+YgA==?= and =?iso-8859-1?q?caf=E9?=, what=?\n\n",
        );
        assert_eq!(rules(&good), [], "{:?}", lint(&good));
        let bad = with_header(
            "To: Jane Doe jane@example.org\nCc: a@b@example.org\nReply-To: <x@example.org\n\
             Sender: Jane @ Work <j@example.org>\nResent-To: a..b@example.org\n\
             Subject: =?utf-8?X?abc?= =?utf-8?B?***?= =?utf-8?q?a=Z?= =?utf-8?B?w6?=\n\
             Comments: =?utf-8?q?{}?=\n\n",
        );
        let bad = String::from_utf8(bad)
            .unwrap()
            .replace("{}", &"a".repeat(80))
            .into_bytes();
        let found = lint(&bad);
        let at = |line: usize| {
            found
                .iter()
                .filter(|f| f.line == line)
                .map(|f| f.text.as_str())
                .collect::<Vec<_>>()
        };
        assert!(at(4)[0].contains("in <…>"), "{found:?}");
        assert!(at(5)[0].contains("more than one @"));
        assert!(at(6)[0].contains("never closed"));
        assert!(at(7)[0].contains("quotes"));
        assert!(at(8)[0].contains("two in a row"));
        assert_eq!(at(9).len(), 4, "{:?}", at(9));
        assert!(at(10).iter().any(|t| t.contains("75 is the most")));
        let quoted = with_header("To: \"=?utf-8?q?x?=\" <x@example.org>\n\n");
        assert_eq!(rules(&quoted), [(4, Level::Warning, "RFC 2047 §5")]);
        let many_authors = with_header("From: b@example.org\n\n");
        let many_authors = String::from_utf8(many_authors)
            .unwrap()
            .replacen(
                "From: a@example.org",
                "From: a@example.org, c@example.org",
                1,
            )
            .replacen("From: b@example.org\r\n", "", 1)
            .into_bytes();
        assert_eq!(rules(&many_authors), [(1, Level::Error, "RFC 5322 §3.6.2")]);
    }
}
