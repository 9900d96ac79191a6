//! One header block, the message's or a MIME part's, and the checks on its
//! fields; then its body (see `mime`).

use super::lines::Line;
use super::{Field, Findings, Level, Part, address, mime, named, words};

/// The headers an address list goes in.
const ADDRESS_FIELDS: [&str; 10] = [
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
];

/// Checks the entity's header and then its body, and so on for each part
/// within it.
pub(super) fn check(lines: &[Line<'_>], part: Part, out: &mut Findings) {
    let mut parts = vec![part];
    while let Some(part) = parts.pop() {
        let inner = one(lines, part, out);
        parts.extend(inner.into_iter().rev());
    }
}

/// Checks one entity; the parts within it are returned, to be checked next.
fn one(lines: &[Line<'_>], part: Part, out: &mut Findings) -> Vec<Part> {
    let (fields, body_start) = header(lines, part, out);
    if part.top {
        message_fields(&fields, out);
    }
    for field in &fields {
        if ADDRESS_FIELDS
            .iter()
            .any(|n| field.name.eq_ignore_ascii_case(n))
        {
            address::check(field, out);
        }
        words::check(field, out);
    }
    mime::check(lines, &fields, body_start, part, out)
}

/// Reads the header block: the fields, and the index of the body's first
/// line (after the empty line; `part.end` when there is none).
fn header(lines: &[Line<'_>], part: Part, out: &mut Findings) -> (Vec<Field>, usize) {
    let mut fields: Vec<Field> = Vec::new();
    for (i, line) in lines.iter().enumerate().take(part.end).skip(part.start) {
        let n = i + 1;
        let bytes = line.bytes;
        if bytes.is_empty() {
            return (fields, i + 1);
        }
        if bytes.len() > 78 && bytes.len() <= 998 {
            out.add(
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
                Ok(_) => out.add(
                    n,
                    Level::Warning,
                    "RFC 6532 §3",
                    "UTF-8 in a header: only servers offering SMTPUTF8 take it; encode it \
                     (RFC 2047) for the others"
                        .into(),
                ),
                Err(_) => out.add(
                    n,
                    Level::Error,
                    "RFC 5322 §2.2",
                    "8-bit bytes that are not UTF-8 in a header".into(),
                ),
            }
        }
        if matches!(bytes.first(), Some(b' ' | b'\t')) {
            match fields.last_mut() {
                Some(field) => field.value.extend_from_slice(bytes),
                None => out.add(
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
                fields.push(Field {
                    line: n,
                    name: String::from_utf8_lossy(&bytes[..colon]).into_owned(),
                    value: bytes[colon + 1..].to_vec(),
                });
            }
            _ => out.add(
                n,
                Level::Error,
                "RFC 5322 §2.2",
                if part.top {
                    "not a header (Name: value), and no empty line before the body".into()
                } else {
                    "not a header (Name: value): a MIME part needs an empty line before \
                     its body, even when it has no header"
                        .into()
                },
            ),
        }
    }
    (fields, part.end)
}

/// The rules for the message's own header (RFC 5322 §3.6).
fn message_fields(fields: &[Field], out: &mut Findings) {
    for (name, level, rule) in [
        ("From", Level::Error, "RFC 5322 §3.6"),
        ("Date", Level::Error, "RFC 5322 §3.6"),
        ("Message-ID", Level::Warning, "RFC 5322 §3.6.4"),
    ] {
        if named(fields, name).next().is_none() {
            out.add(0, level, rule, format!("there is no {name} header"));
        }
    }
    for name in [
        "From",
        "Date",
        "Message-ID",
        "Subject",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Sender",
        "In-Reply-To",
        "References",
    ] {
        if let Some(second) = named(fields, name).nth(1) {
            out.add(
                second.line,
                Level::Error,
                "RFC 5322 §3.6",
                format!("a second {name} header"),
            );
        }
    }
    if let Some(bcc) = named(fields, "Bcc").next() {
        out.add(
            bcc.line,
            Level::Warning,
            "RFC 5322 §3.6.3",
            "a Bcc header is left in the message: every recipient can read it".into(),
        );
    }
    if let Some(from) = named(fields, "From").next()
        && address::count(&from.text()) > 1
        && named(fields, "Sender").next().is_none()
    {
        out.add(
            from.line,
            Level::Error,
            "RFC 5322 §3.6.2",
            "From has more than one author, so a Sender header must say which one sent it".into(),
        );
    }
    if let Some(id) = named(fields, "Message-ID").next() {
        let text = id.text();
        let ok = text.starts_with('<')
            && text.ends_with('>')
            && text.matches('@').count() == 1
            && !text.contains(char::is_whitespace)
            && text.len() > 4;
        if !ok {
            out.add(
                id.line,
                Level::Warning,
                "RFC 5322 §3.6.4",
                format!("the Message-ID {text:?} is not of the form <left@right>"),
            );
        }
    }
}
