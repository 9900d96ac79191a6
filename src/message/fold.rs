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

use email_encoding::headers::writer::EmailWriter;
use email_encoding::headers::{quoted_string, rfc2047};
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
            let _ = quoted_string::encode(name, w);
            w.space();
            let _ = w.folding().write_str(&format!("<{}>", mailbox.email));
        }
        None => {
            let _ = w.folding().write_str(mailbox.email.as_ref());
        }
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
