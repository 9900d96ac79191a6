//! Encoded words (RFC 2047): `=?charset?B|Q?text?=`, each at most 75
//! characters, decodable, and whole characters.

use base64::Engine as _;

use super::{Field, Findings, Level};

/// Reports the malformed or overlong encoded words in `field`.
pub(super) fn check(field: &Field, out: &mut Findings) {
    if field.value.is_empty() || !field.value.windows(2).any(|w| w == b"=?") {
        return;
    }
    let value = String::from_utf8_lossy(&field.value);
    let name = &field.name;
    // Encoded words are whitespace-separated tokens (§5), possibly inside
    // a quoted name or a comment, or a parameter's quoted value.
    for token in value.split(|c: char| c.is_whitespace()) {
        let token = token.trim_matches(|c| matches!(c, '"' | '(' | ')' | ',' | ';' | '<' | '>'));
        if !(token.starts_with("=?") && token.ends_with("?=") && token.len() >= 4) {
            continue;
        }
        let shown: String = token.chars().take(40).collect();
        let mut bad = |level, rule, why: String| {
            out.add(
                field.line,
                level,
                rule,
                format!("{name}: the encoded word {shown:?}… {why}"),
            )
        };
        let inner = &token[2..token.len() - 2];
        let mut parts = inner.splitn(3, '?');
        let (Some(charset), Some(encoding), Some(text)) =
            (parts.next(), parts.next(), parts.next())
        else {
            bad(
                Level::Error,
                "RFC 2047 §2",
                "is not =?charset?B|Q?text?=".into(),
            );
            continue;
        };
        if charset.is_empty() || text.contains('?') {
            bad(
                Level::Error,
                "RFC 2047 §2",
                "is not =?charset?B|Q?text?=".into(),
            );
            continue;
        }
        if token.len() > 75 {
            bad(
                Level::Warning,
                "RFC 2047 §2",
                format!("is {} characters; 75 is the most", token.len()),
            );
        }
        let decoded = match encoding {
            "B" | "b" => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| "is not valid base64".to_owned()),
            "Q" | "q" => q_decode(text),
            other => Err(format!("has the encoding {other:?}; only B and Q exist")),
        };
        match decoded {
            Err(why) => bad(Level::Error, "RFC 2047 §4", why),
            Ok(bytes)
                if charset
                    .split('*')
                    .next()
                    .is_some_and(|c| c.eq_ignore_ascii_case("utf-8"))
                    && std::str::from_utf8(&bytes).is_err() =>
            {
                bad(
                    Level::Warning,
                    "RFC 2047 §5",
                    "is not whole UTF-8: a character is split between two encoded words, \
                     or the bytes are not UTF-8"
                        .into(),
                )
            }
            Ok(_) => {}
        }
    }
}

/// The bytes of a Q-encoded text (§4.2).
fn q_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => out.push(b),
                    None => return Err("has an = not followed by two hex digits".into()),
                }
                i += 3;
            }
            b'_' => {
                out.push(b' ');
                i += 1;
            }
            b if b.is_ascii_graphic() => {
                out.push(b);
                i += 1;
            }
            _ => return Err("has a character Q encoding does not allow".into()),
        }
    }
    Ok(out)
}
