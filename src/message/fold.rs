//! Address headers written by Postscope itself, folded between addresses.
//!
//! lettre folds a header only inside display names: a list of bare
//! addresses became one line, 4,403 characters for 200 recipients, which
//! RFC 5322 §2.1.1 forbids (998 at most, 78 advised) and strict servers
//! refuse. Here every address is a fold point: display names are encoded
//! by email-encoding as lettre does (RFC 2047 where needed), and a new
//! line starts before an address that would pass 78 characters.
//!
//! The Subject is folded at its spaces as lettre does, and a word that no
//! fold could shorten enough (a subject of 3,000 characters without a
//! space) is written as RFC 2047 encoded words, which may be split: a
//! reader shows the same text, and no line passes 78.

use std::fmt::Write as _;

use base64::Engine as _;
use email_encoding::headers::rfc2047;
use email_encoding::headers::writer::EmailWriter;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes};

/// `Name: a@example.org, "B" <b@example.org>, …`, folded, ready for lettre.
pub(super) fn address_header(name: &'static str, list: &Mailboxes) -> HeaderValue {
    let mut encoded = String::new();
    {
        let mut w = EmailWriter::new(&mut encoded, name.len() + ": ".len(), 0, false);
        for (i, mailbox) in list.iter().enumerate() {
            if i > 0 {
                let _ = w.write_char(',');
                w.space();
            }
            write_mailbox(&mut w, mailbox);
        }
    }
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        list.to_string(),
        encoded,
    )
}

fn write_mailbox(w: &mut EmailWriter<'_>, mailbox: &Mailbox) {
    // The address is ASCII or UTF-8 (SMTPUTF8), never with spaces: folding
    // before it is always legal.
    match mailbox
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => {
            write_name(w, name);
            w.space();
            let _ = w.folding().write_str(&format!("<{}>", mailbox.email));
        }
        None => {
            let _ = w.folding().write_str(mailbox.email.as_ref());
        }
    }
}

/// How much of a name one encoded word carries: 45 bytes are 60 in base64,
/// 72 with `=?utf-8?b?` and `?=`, within RFC 2047's 75.
const NAME_PIECE: usize = 45;

/// A display name: quoted (`"O'Brien, Jr."`) when it is printable ASCII (and
/// has nothing a reader could take for an encoded word), else
/// RFC 2047 encoded words of whole characters, cut after a space where one
/// is near, each folded onto a new line when it would pass 78. (A long name
/// must be cut into several words; decoders following RFC 2047 §6.2 join
/// them, and a cut after a space keeps even lax decoders, which keep the
/// folding space, from splitting a word in two.)
fn write_name(w: &mut EmailWriter<'_>, name: &str) {
    let words_fold = name.split(' ').all(|word| word.len() <= LONGEST_PLAIN_WORD);
    let plain = name.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) && !name.contains("=?");
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if words_fold
        && plain
        && name
            .split(' ')
            .all(|w| !w.is_empty() && w.chars().all(atext))
    {
        // Words of atext need no quotes: `Ada Lovelace <ada@…>`.
        let _ = w.folding().write_str(name);
        return;
    }
    if words_fold && plain {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        // Through the folding writer, quotes and all: it may fold before the
        // name and at its spaces (folding white space is allowed in a
        // quoted string, and unfolding gives the same space back).
        let _ = w.folding().write_str(&format!("\"{quoted}\""));
        return;
    }
    let mut rest = name;
    let mut first = true;
    while !rest.is_empty() {
        let mut cut = rest.len().min(NAME_PIECE);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut < rest.len()
            && let Some(space) = rest[..cut].rfind(' ').filter(|&i| i >= NAME_PIECE / 3)
        {
            cut = space + 1;
        }
        let (piece, next) = rest.split_at(cut);
        if !first {
            w.space();
        }
        let word = format!(
            "=?utf-8?b?{}?=",
            base64::engine::general_purpose::STANDARD.encode(piece)
        );
        let _ = w.folding().write_str(&word);
        first = false;
        rest = next;
    }
}

/// The longest word written as it is in an unstructured header; longer
/// ones are encoded (and so split) to keep lines within 78 characters.
const LONGEST_PLAIN_WORD: usize = 60;

/// An unstructured header such as Subject: words folded at spaces, and
/// encoded (RFC 2047) when they are not printable ASCII, are too long to
/// fold, or look like an encoded word themselves.
pub(super) fn unstructured_header(name: &'static str, value: &str) -> HeaderValue {
    let mut encoded = String::new();
    {
        let mut w = EmailWriter::new(&mut encoded, name.len() + ": ".len(), 0, false);
        let mut pending = String::new();
        for word in value.split_inclusive(' ') {
            let bare = word.trim_end_matches(' ');
            let plain = bare.len() <= LONGEST_PLAIN_WORD
                && bare.bytes().all(|b| b.is_ascii_graphic())
                && !bare.starts_with("=?");
            if plain {
                flush(&mut w, &mut pending);
                let _ = w.folding().write_str(word);
            } else {
                pending.push_str(word);
            }
        }
        flush(&mut w, &mut pending);
    }
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        value.to_owned(),
        encoded,
    )
}

/// Writes the words waiting to be encoded, and the spaces after them.
fn flush(w: &mut EmailWriter<'_>, pending: &mut String) {
    if pending.is_empty() {
        return;
    }
    let text = pending.trim_end_matches(' ');
    if !text.is_empty() {
        let _ = rfc2047::encode(text, w);
    }
    for _ in text.len()..pending.len() {
        w.space();
    }
    pending.clear();
}

/// `Content-Disposition: attachment` with the file name in RFC 2231's
/// percent-encoded form, cut into numbered pieces. lettre quotes an ASCII
/// name as it is: a name that holds `=?` then reads as an encoded word
/// inside a quoted string (RFC 2047 §5 forbids them there), and one with
/// quotes or backslashes is folded past 78 (the escapes are not counted).
/// Such names are written this way instead.
#[derive(Debug, Clone)]
pub(super) struct EncodedDisposition(HeaderValue);

impl EncodedDisposition {
    /// For a file name lettre would write ambiguously; `None` for the others.
    pub(super) fn for_name(file_name: &str) -> Option<EncodedDisposition> {
        if !file_name.contains("=?") && !file_name.contains(['"', '\\']) {
            return None;
        }
        let attr_char = |b: u8| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        // A piece holds whole characters: readers decode each on its own.
        let mut pieces = vec![String::from("utf-8''")];
        for c in file_name.chars() {
            if pieces.last().is_some_and(|p| p.len() > 50) {
                pieces.push(String::new());
            }
            let last = pieces.last_mut().expect("never empty");
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                if attr_char(b) {
                    last.push(b as char);
                } else {
                    let _ = write!(last, "%{b:02X}");
                }
            }
        }
        let mut encoded = String::from("attachment;");
        for (i, piece) in pieces.iter().enumerate() {
            let end = if i + 1 < pieces.len() { ";" } else { "" };
            let _ = write!(encoded, "\r\n filename*{i}*={piece}{end}");
        }
        Some(EncodedDisposition(HeaderValue::dangerous_new_pre_encoded(
            <Self as lettre::message::header::Header>::name(),
            format!("attachment; filename=\"{file_name}\""),
            encoded,
        )))
    }
}

impl lettre::message::header::Header for EncodedDisposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("not read back: {s}").into())
    }

    fn display(&self) -> HeaderValue {
        self.0.clone()
    }
}
