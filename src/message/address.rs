//! Parsing address fields into mailboxes, with errors that say what is wrong.

use std::fmt;

use lettre::Address;
use lettre::address::AddressError;
use lettre::message::Mailbox;

use super::BuildError;

/// Which header field an address came from (for error messages and the GUI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The `From` field (exactly one mailbox).
    From,
    /// The `To` field.
    To,
    /// The `Cc` field.
    Cc,
    /// The `Bcc` field (envelope only, never written as a header).
    Bcc,
    /// The `Reply-To` field.
    ReplyTo,
    /// The envelope sender (MAIL FROM), when it differs from From.
    EnvelopeFrom,
}

impl fmt::Display for Field {
    /// Writes the header name: `From`, `To`, `Cc`, `Bcc` or `Reply-To`
    /// (and "Envelope sender" for MAIL FROM).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::From => "From",
            Field::To => "To",
            Field::Cc => "Cc",
            Field::Bcc => "Bcc",
            Field::ReplyTo => "Reply-To",
            Field::EnvelopeFrom => "Envelope sender",
        })
    }
}

/// Parses one address field: a comma-separated list of mailboxes, each
/// `name@example.org`, `Name <name@example.org>` or `"Doe, John" <j@example.org>`.
///
/// Commas inside double quotes, `<...>` and `(comments)` do not split entries,
/// and empty entries (a trailing comma, say) are skipped, so empty or
/// whitespace-only input gives `Ok(vec![])`. Cheap enough for as-you-type
/// validation. The first bad entry is reported as
/// [`BuildError::InvalidAddress`] naming `field`, the entry and the reason.
pub fn parse_mailboxes(field: Field, input: &str) -> Result<Vec<Mailbox>, BuildError> {
    let entries: Vec<&str> = split_list(input)
        .into_iter()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut mailboxes = Vec::with_capacity(entries.len());
    for entry in &entries {
        match entry.parse::<Mailbox>() {
            Ok(mut mailbox) => {
                // `"" <a@b.org>`: lettre keeps an empty name and writes `  <a@b.org>`.
                if mailbox.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
                    mailbox.name = None;
                }
                mailboxes.push(mailbox);
            }
            Err(err) => {
                let mut reason = diagnose(entry, &err);
                if entries.len() > 1 && !entry.contains('@') {
                    reason.push_str(
                        " (if a name contains a comma, put it in double quotes: \
                         \"Doe, John\" <john@example.org>)",
                    );
                }
                return Err(BuildError::InvalidAddress {
                    field,
                    input: (*entry).to_owned(),
                    reason,
                });
            }
        }
    }
    Ok(mailboxes)
}

/// Splits on commas that are outside quoted strings, angle brackets and comments.
fn split_list(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_quotes, mut escaped) = (false, false);
    let (mut angle, mut comment) = (0usize, 0usize);
    let mut start = 0;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes || comment > 0 => escaped = true,
            '"' if comment == 0 => in_quotes = !in_quotes,
            _ if in_quotes => {}
            '(' => comment += 1,
            ')' => comment = comment.saturating_sub(1),
            _ if comment > 0 => {}
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            ',' if angle == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

/// Explains, in plain words, why lettre rejected `entry`.
fn diagnose(entry: &str, err: &AddressError) -> String {
    if entry.chars().any(char::is_control) {
        return "it has a line break or another control character in it: an address is \
                one line (a CR or LF in one could inject SMTP commands or headers)"
            .into();
    }
    // Blank out quoted strings so that their contents do not confuse the checks.
    let mut outside = String::with_capacity(entry.len());
    let (mut in_quotes, mut escaped) = (false, false);
    for c in entry.chars() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
                outside.push('"');
            }
            continue;
        }
        if c == '"' {
            in_quotes = true;
        }
        outside.push(c);
    }
    if in_quotes {
        return "a double quote (\") is not closed".to_owned();
    }

    let open = outside.find('<');
    let close = outside.rfind('>');
    let angled = match (open, close) {
        (Some(_), None) => return "the < is not closed with >".to_owned(),
        (None, Some(_)) => return "there is a > without a matching <".to_owned(),
        (Some(o), Some(c)) if c < o => return "the < and > are the wrong way round".to_owned(),
        (Some(o), Some(c)) => {
            if outside.matches('<').count() > 1 || outside.matches('>').count() > 1 {
                return "it has more than one <...>; give one address per entry".to_owned();
            }
            if !outside[c + 1..].trim().is_empty() {
                return "there is text after the >".to_owned();
            }
            Some(&outside[o + 1..c])
        }
        (None, None) => None,
    };
    let addr = angled.unwrap_or(&outside).trim();

    if addr.is_empty() {
        return "the address between < and > is empty".to_owned();
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return "there is no @ in it".to_owned();
    };
    if local.contains('@') {
        return "it has more than one @".to_owned();
    }
    if local.trim().is_empty() {
        return "there is nothing before the @".to_owned();
    }
    if domain.trim().is_empty() {
        return "the domain after the @ is missing".to_owned();
    }
    if angled.is_none() && addr.contains(char::is_whitespace) {
        return "it contains spaces; to add a name write Name <name@example.org>".to_owned();
    }
    if addr.contains(char::is_whitespace) {
        return "the address between < and > contains spaces".to_owned();
    }
    if domain.starts_with('[') {
        return "address literals such as [192.0.2.1] are not supported; use a domain name"
            .to_owned();
    }
    // Quoted local parts were blanked out above, and lettre rejects them anyway.
    if local.contains('"') {
        if let Err(AddressError::InvalidDomain) = Address::new("x", domain) {
            return format!("\"{domain}\" is not a valid domain");
        }
        return "quoted text before the @ is not supported".to_owned();
    }
    match Address::new(local, domain) {
        Err(AddressError::InvalidUser) => format!("\"{local}\" is not valid before the @"),
        Err(AddressError::InvalidDomain) => format!("\"{domain}\" is not a valid domain"),
        Err(other) => other.to_string().to_lowercase(),
        Ok(_) if angled.is_some() => {
            "the name before the < is not valid; put it in double quotes".to_owned()
        }
        Ok(_) => match err {
            AddressError::InvalidUser => "the part before the @ is not valid".to_owned(),
            AddressError::InvalidDomain => "the domain is not valid".to_owned(),
            _ => "it could not be parsed".to_owned(),
        },
    }
}
