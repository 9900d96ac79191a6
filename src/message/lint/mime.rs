//! A body as its MIME header describes it (RFC 2045, 2046): the transfer
//! encoding is known and kept to, and a multipart's boundaries open and
//! close, part by part, however deep.

use super::lines::Line;
use super::{Field, Findings, Level, Part, named};

/// Parts nested deeper than this are not walked into.
const MAX_DEPTH: usize = 32;

/// Checks the body from `body_start` to `part.end` against `fields`;
/// returns the parts within it (of a multipart or an attached message).
pub(super) fn check(
    lines: &[Line<'_>],
    fields: &[Field],
    body_start: usize,
    part: Part,
    out: &mut Findings,
) -> Vec<Part> {
    let (media, params) = match named(fields, "Content-Type").next() {
        Some(f) => content_type(&f.text()),
        None => ("text/plain".to_owned(), Vec::new()),
    };
    let cte_field = named(fields, "Content-Transfer-Encoding").next();
    let encoding = cte_field.map_or_else(|| "7bit".to_owned(), |f| f.text().to_ascii_lowercase());
    let cte_line = cte_field.map_or(0, |f| f.line);
    let body = body_start..part.end.max(body_start);
    let known = ["7bit", "8bit", "binary", "quoted-printable", "base64"];
    if !known.contains(&encoding.as_str()) && !encoding.starts_with("x-") {
        out.add(
            cte_line,
            Level::Error,
            "RFC 2045 §6.1",
            format!(
                "the transfer encoding {encoding:?} does not exist; use 7bit, 8bit, \
                 quoted-printable or base64"
            ),
        );
        return Vec::new();
    }
    let composite = media.starts_with("multipart/") || media.starts_with("message/");
    if composite && !matches!(encoding.as_str(), "7bit" | "8bit" | "binary") {
        out.add(
            cte_line,
            Level::Error,
            "RFC 2045 §6.4",
            format!("a {media} part cannot be encoded as {encoding}; only 7bit, 8bit or binary"),
        );
        return Vec::new();
    }
    if media.starts_with("multipart/") {
        let line = named(fields, "Content-Type").next().map_or(0, |f| f.line);
        return multipart(lines, &params, line, body, part, out);
    }
    if matches!(media.as_str(), "message/rfc822" | "message/global") && part.depth < MAX_DEPTH {
        let inner = Part {
            start: body.start,
            end: body.end,
            depth: part.depth + 1,
            top: false,
        };
        return vec![inner];
    }
    leaf(&lines[body.clone()], body.start, &encoding, out);
    Vec::new()
}

/// A single part's body against its transfer encoding.
fn leaf(body: &[Line<'_>], first: usize, encoding: &str, out: &mut Findings) {
    let line_no = |i: usize| first + i + 1;
    if !matches!(encoding, "8bit" | "binary")
        && let Some(i) = body.iter().position(|l| !l.bytes.is_ascii())
    {
        out.add(
            line_no(i),
            Level::Error,
            "RFC 2045 §6",
            format!(
                "8-bit bytes in a body whose transfer encoding is {encoding}: declare \
                 8bit, or encode it as quoted-printable or base64"
            ),
        );
    }
    match encoding {
        "base64" => {
            if let Some(i) = body.iter().position(|l| l.bytes.len() > 76) {
                out.add(
                    line_no(i),
                    Level::Warning,
                    "RFC 2045 §6.8",
                    format!(
                        "a base64 line of {} characters; 76 is the most",
                        body[i].bytes.len()
                    ),
                );
            }
            let alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
            if let Some(i) = body.iter().position(|l| !l.bytes.iter().all(alphabet)) {
                out.add(
                    line_no(i),
                    Level::Error,
                    "RFC 2045 §6.8",
                    "a character that is not base64 in a base64 body".into(),
                );
            }
        }
        "quoted-printable" => {
            if let Some(i) = body.iter().position(|l| l.bytes.len() > 76) {
                out.add(
                    line_no(i),
                    Level::Error,
                    "RFC 2045 §6.7",
                    format!(
                        "a quoted-printable line of {} characters; 76 is the most (end it \
                         with = to break it)",
                        body[i].bytes.len()
                    ),
                );
            }
            if let Some(i) = body.iter().position(|l| !qp_escapes_ok(l.bytes)) {
                out.add(
                    line_no(i),
                    Level::Error,
                    "RFC 2045 §6.7",
                    "an = that is not followed by two hex digits or the end of the line".into(),
                );
            }
        }
        _ => {}
    }
}

/// Every `=` in a quoted-printable line starts `=XX` or ends the line.
fn qp_escapes_ok(line: &[u8]) -> bool {
    line.iter().enumerate().all(|(i, &b)| {
        b != b'='
            || i + 1 == line.len()
            || line
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

/// A multipart body: delimiters, a closing delimiter, and each part.
fn multipart(
    lines: &[Line<'_>],
    params: &[(String, String)],
    type_line: usize,
    body: std::ops::Range<usize>,
    part: Part,
    out: &mut Findings,
) -> Vec<Part> {
    let Some((_, boundary)) = params.iter().find(|(k, _)| k == "boundary") else {
        out.add(
            type_line,
            Level::Error,
            "RFC 2046 §5.1.1",
            "a multipart Content-Type without a boundary parameter: its parts cannot be found"
                .into(),
        );
        return Vec::new();
    };
    if boundary.is_empty() || boundary.len() > 70 {
        out.add(
            type_line,
            Level::Error,
            "RFC 2046 §5.1.1",
            format!(
                "the boundary is {} characters; it must be 1 to 70",
                boundary.len()
            ),
        );
        return Vec::new();
    }
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let is = |line: &[u8], delimiter: &str| {
        line.strip_prefix(delimiter.as_bytes())
            .is_some_and(|rest| rest.iter().all(|&b| b == b' ' || b == b'\t'))
    };
    let mut starts = Vec::new();
    let mut closed_at = None;
    for i in body.clone() {
        let bytes = lines[i].bytes;
        if is(bytes, &close) {
            closed_at = Some(i);
            break;
        }
        if is(bytes, &open) {
            starts.push(i);
        }
    }
    if starts.is_empty() {
        out.add(
            type_line,
            Level::Error,
            "RFC 2046 §5.1.1",
            format!(
                "the boundary {boundary:?} never appears in the body: the message has no parts"
            ),
        );
        return Vec::new();
    }
    if closed_at.is_none() {
        out.add(
            body.end,
            Level::Error,
            "RFC 2046 §5.1.1",
            format!("the multipart is never closed: no --{boundary}-- line"),
        );
    }
    if part.depth >= MAX_DEPTH {
        out.add(
            starts[0] + 1,
            Level::Warning,
            "RFC 2046 §5.1.1",
            format!("parts nested more than {MAX_DEPTH} deep are not checked"),
        );
        return Vec::new();
    }
    let end = closed_at.unwrap_or(body.end);
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| Part {
            start: start + 1,
            end: starts.get(k + 1).copied().unwrap_or(end),
            depth: part.depth + 1,
            top: false,
        })
        .collect()
}

/// `type/subtype` (lower case) and the parameters (names in lower case,
/// values unquoted).
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = split_outside_quotes(value, ';').into_iter();
    let media = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map_or_else(
                    || v.to_owned(),
                    |v| v.replace("\\\"", "\"").replace("\\\\", "\\"),
                );
            Some((k.trim().to_ascii_lowercase(), v))
        })
        .collect();
    (media, params)
}

fn split_outside_quotes(value: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(String::new());
            continue;
        }
        out.last_mut().expect("never empty").push(c);
    }
    out
}
