//! What the lines of an EHLO reply mean: the server's name, then one
//! ESMTP extension a line.

use crate::smtp::capability::Capability;
use crate::smtp::reply::EnhancedCode;

/// Extensions [`Capability::describe`] has no words for, but a learner meets.
fn other_capability(name: &str) -> Option<&'static str> {
    Some(match name {
        "ETRN" => "a backup server can be asked to send queued mail now (RFC 1985)",
        "VRFY" => "the VRFY command is available (RFC 5321)",
        "EXPN" => "the EXPN command is available (RFC 5321)",
        "HELP" => "the HELP command is available (RFC 5321)",
        "DELIVERBY" => "a delivery deadline can be set (RFC 2852)",
        "MT-PRIORITY" => "messages can carry a delivery priority (RFC 6710)",
        "REQUIRETLS" => "TLS can be required for every hop of delivery (RFC 8689)",
        "BURL" => "a message can be fetched from an IMAP server by URL (RFC 4468)",
        "LIMITS" => "the server announces its limits on recipients and commands (RFC 9422)",
        "FUTURERELEASE" => "delivery can be held until a later time (RFC 4865)",
        "RRVS" => "mail can require that the recipient's mailbox has not changed owner (RFC 7293)",
        "XCLIENT" | "XFORWARD" => "a Postfix extension for proxies to pass on client details",
        _ => return None,
    })
}

/// A line of a 250 reply to EHLO: the server's name on the first line, an
/// extension on the others. `None` when the line is not clearly either.
pub(super) fn ehlo_line(rest: &str, continues: bool) -> Option<String> {
    if EnhancedCode::parse_prefix(rest).is_some() {
        return None;
    }
    let first = rest.split_whitespace().next()?;
    // The first line of a multi-line 250 starts with the server's domain name
    // or address literal; extension keywords have no dots or brackets.
    if continues && (first.contains('.') || first.starts_with('[')) {
        return Some(
            "The server's name and greeting; the lines after it list the ESMTP extensions it supports (RFC 5321 §4.1.1.1)"
                .to_owned(),
        );
    }
    let capability = Capability::parse(rest)?;
    let keyword = capability.keyword().to_owned();
    let meaning = match &capability {
        Capability::Other { name, .. } => {
            // Only continuation lines of upper-case keywords: a final
            // `250 OK` or `250 localhost` is an ordinary reply.
            let keyword_like = continues
                && first.bytes().all(|b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'='
                })
                && first
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric());
            if !keyword_like {
                return None;
            }
            match other_capability(name) {
                Some(m) => m.to_owned(),
                None => capability.describe(),
            }
        }
        known => known.describe(),
    };
    Some(format!("{keyword} extension: {meaning}"))
}
