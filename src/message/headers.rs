//! Validating the extra raw headers given as `Name: value`.

use lettre::message::header::{HeaderName, HeaderValue};

use super::BuildError;

/// Headers an extra header may not be, with the reason given: Bcc (never
/// written into a message) and the MIME structure's own. Any other header
/// Postscope writes (From, To, Cc, Reply-To, Subject, Date, Message-ID,
/// User-Agent) may be given: the extra one replaces it, for tests of what
/// servers do with such messages (swaks's `--h-From`).
const RESERVED: &[(&str, &str)] = &[
    (
        "Bcc",
        "Bcc recipients go only into the envelope, never into a header; use the Bcc field",
    ),
    ("MIME-Version", "Postscope writes the MIME structure itself"),
    ("Content-Type", "Postscope writes the MIME structure itself"),
    (
        "Content-Transfer-Encoding",
        "Postscope writes the MIME structure itself",
    ),
];

/// The longest line RFC 5322 allows, CRLF aside.
const MAX_LINE: usize = 998;

/// lettre's limit on the length of a header name.
const MAX_NAME_LEN: usize = 76;

/// Checks every extra header and turns it into a lettre header value.
///
/// Rejects: no colon, an empty or malformed name (RFC 5322 `ftext`: printable
/// ASCII except `:`, no spaces), CR, LF or other control characters in the
/// value, the headers in [`RESERVED`], and a name given twice (lettre keeps
/// only one header of each name, so the first would silently vanish). A
/// header Postscope would write itself is replaced by the one given.
pub(super) fn parse_extra_headers(raw: &[String]) -> Result<Vec<HeaderValue>, BuildError> {
    let mut seen: Vec<String> = Vec::with_capacity(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    for line in raw {
        let err = |reason: &str| BuildError::InvalidHeader {
            header: line.clone(),
            reason: reason.to_owned(),
        };
        let Some((name, value)) = line.split_once(':') else {
            return Err(err("write it as Name: value"));
        };
        if name.is_empty() {
            return Err(err("the header name is empty"));
        }
        if name.ends_with([' ', '\t']) {
            return Err(err("no space is allowed before the colon"));
        }
        if let Some(c) = name.chars().find(|c| !matches!(c, '!'..='9' | ';'..='~')) {
            return Err(err(&format!(
                "the header name contains {c:?}; use only printable ASCII letters, digits and \
                 punctuation, without spaces"
            )));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(err(&format!(
                "the header name is longer than {MAX_NAME_LEN} characters"
            )));
        }
        if let Some((_, why)) = RESERVED.iter().find(|(r, _)| r.eq_ignore_ascii_case(name)) {
            return Err(err(&format!(
                "{name} cannot be given as an extra header: {why}"
            )));
        }
        if value.contains(['\r', '\n']) {
            return Err(err("the value contains a line break (CR or LF)"));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(err("the value contains a control character"));
        }
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(err(
                "this header is given more than once; give each extra header once",
            ));
        }
        seen.push(lower);

        // lettre folds at spaces and encodes non-ASCII words (splitting
        // them), but an ASCII word no fold can shorten would make a line
        // over RFC 5322's 998.
        let value_text = value.trim_matches([' ', '\t']);
        if let Some(word) = value_text
            .split([' ', '\t'])
            .filter(|w| w.is_ascii())
            .find(|w| name.len() + ": ".len() + w.len() > MAX_LINE)
        {
            return Err(err(&format!(
                "it has a word of {} characters: a line of it would pass {MAX_LINE} characters \
                 (RFC 5322 §2.1.1), and no fold can shorten it; break it up with spaces",
                word.len()
            )));
        }
        let name = HeaderName::new_from_ascii(name.to_owned())
            .map_err(|e| err(&format!("lettre rejects the name: {e}")))?;
        // lettre RFC 2047-encodes non-ASCII values and folds long ones.
        out.push(HeaderValue::new(
            name,
            value.trim_matches([' ', '\t']).to_owned(),
        ));
    }
    Ok(out)
}

/// The value of an extra header of that name, as given (trimmed).
pub(super) fn given(raw: &[String], name: &str) -> Option<String> {
    raw.iter().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name)
            .then(|| v.trim_matches([' ', '\t']).to_owned())
    })
}

/// Replaces a header, folded lines and all, in a rendered message's header
/// section (the value was checked: no CR or LF).
pub(super) fn replace_rendered(rendered: Vec<u8>, name: &str, value: &str) -> Vec<u8> {
    let end = rendered
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(rendered.len(), |i| i + 2);
    let (head, body) = rendered.split_at(end);
    let head = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(head.len() + value.len());
    let mut skipping = false;
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let mut done = false;
    for line in head.split_inclusive("\r\n") {
        let continuation = line.starts_with([' ', '\t']);
        if skipping && continuation {
            continue;
        }
        skipping = false;
        if !done && line.to_ascii_lowercase().starts_with(&prefix) {
            out.push_str(&format!("{name}: {value}\r\n"));
            skipping = true;
            done = true;
            continue;
        }
        out.push_str(line);
    }
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
