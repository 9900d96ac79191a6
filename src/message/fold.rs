//! Address headers written by Postscope itself, folded between addresses.
//!
//! lettre folds a header only inside display names: a list of bare
//! addresses became one line, 4,403 characters for 200 recipients, which
//! RFC 5322 §2.1.1 forbids (998 at most, 78 advised) and strict servers
//! refuse. Here every address is a fold point: display names are encoded
//! by email-encoding as lettre does (RFC 2047 where needed), and a new
//! line starts before an address that would pass 78 characters.

use std::fmt::Write as _;

use email_encoding::headers::quoted_string;
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
            let _ = quoted_string::encode(name, w);
            w.space();
            let _ = w.folding().write_str(&format!("<{}>", mailbox.email));
        }
        None => {
            let _ = w.folding().write_str(mailbox.email.as_ref());
        }
    }
}
