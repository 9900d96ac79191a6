//! What enhanced status codes mean (RFC 3463 and the IANA registry).

use crate::smtp::reply::EnhancedCode;

/// What an enhanced status code means (RFC 3463 and the IANA registry),
/// with its class and the RFC that defines it, e.g. 5.1.1 → "Bad destination
/// mailbox address: no such user there, check the spelling (permanent
/// failure, RFC 3463)". Codes without an entry fall back to "class: subject:
/// detail N unknown", composed from RFC 3463's class and subject names.
pub fn enhanced_code(code: EnhancedCode) -> String {
    let class = match code.class {
        2 => "success",
        4 => "temporary failure",
        5 => "permanent failure",
        _ => "",
    };
    if let Some((meaning, rfc)) = known_enhanced(code)
        && !class.is_empty()
    {
        return format!("{meaning} ({class}, {rfc})");
    }
    let class = match code.class {
        2 => "Success".to_owned(),
        4 => "Persistent transient failure".to_owned(),
        5 => "Permanent failure".to_owned(),
        other => format!("Unknown class {other}"),
    };
    let subject = match subject_name(code.subject) {
        Some(name) => name.to_owned(),
        None => format!("unknown subject {}", code.subject),
    };
    format!(
        "{class}: {subject}: detail {} unknown (RFC 3463)",
        code.detail
    )
}

/// RFC 3463's name for a subject sub-code.
fn subject_name(subject: u16) -> Option<&'static str> {
    Some(match subject {
        0 => "other or undefined status",
        1 => "addressing status",
        2 => "mailbox status",
        3 => "mail system status",
        4 => "network and routing status",
        5 => "mail delivery protocol status",
        6 => "message content or media status",
        7 => "security or policy status",
        _ => return None,
    })
}

/// The meaning of a known enhanced code and the document defining it.
fn known_enhanced(code: EnhancedCode) -> Option<(&'static str, &'static str)> {
    const RFC3463: &str = "RFC 3463";
    // Success codes servers commonly send, where the generic name would mislead.
    if code.class == 2 {
        let success = match (code.subject, code.detail) {
            (0, 0) => Some(("Success, nothing more specific to report", RFC3463)),
            (1, 0) => Some((
                "Address accepted, usually the sender after MAIL FROM",
                RFC3463,
            )),
            (1, 5) => Some((
                "Destination address valid: the recipient was accepted",
                RFC3463,
            )),
            (6, 0) => Some((
                "Message accepted; Microsoft servers use it to say the message was queued",
                RFC3463,
            )),
            (7, 0) => Some((
                "Security status fine, usually authentication succeeded",
                "RFC 4954",
            )),
            _ => None,
        };
        if success.is_some() {
            return success;
        }
    }
    let entry = match (code.subject, code.detail) {
        (0, 0) => (
            "Other or undefined status: no specific reason given, read the server's text",
            RFC3463,
        ),
        (1, 0) => ("Other address status: a problem with an address", RFC3463),
        (1, 1) => (
            "Bad destination mailbox address: no such user there, check the spelling",
            RFC3463,
        ),
        (1, 2) => (
            "Bad destination system address: the recipient's domain does not exist or takes no mail",
            RFC3463,
        ),
        (1, 3) => (
            "Bad destination mailbox address syntax: the recipient address is malformed",
            RFC3463,
        ),
        (1, 4) => ("Destination mailbox address ambiguous", RFC3463),
        (1, 5) => ("Destination address valid", RFC3463),
        (1, 6) => (
            "Destination mailbox has moved, with no forwarding address",
            RFC3463,
        ),
        (1, 7) => (
            "Bad sender's mailbox address syntax: the MAIL FROM address is malformed",
            RFC3463,
        ),
        (1, 8) => (
            "Bad sender's system address: the sender's domain does not exist or cannot receive replies",
            RFC3463,
        ),
        (1, 9) => ("Message relayed to a non-compliant mailer", "RFC 3886"),
        (1, 10) => (
            "Recipient address has a null MX: its domain accepts no mail",
            "RFC 7505",
        ),
        (2, 0) => ("Other or undefined mailbox status", RFC3463),
        (2, 1) => ("Mailbox disabled, not accepting messages", RFC3463),
        (2, 2) => ("Mailbox full: the recipient has to make room", RFC3463),
        (2, 3) => (
            "Message length exceeds an administrative limit for this recipient",
            RFC3463,
        ),
        (2, 4) => ("Mailing list expansion problem", RFC3463),
        (3, 0) => ("Other or undefined mail system status", RFC3463),
        (3, 1) => ("Mail system full: the server is out of storage", RFC3463),
        (3, 2) => (
            "System not accepting network messages, e.g. shutting down or in maintenance",
            RFC3463,
        ),
        (3, 3) => ("System not capable of the selected features", RFC3463),
        (3, 4) => (
            "Message too big for the system: make it smaller, e.g. shrink attachments",
            RFC3463,
        ),
        (3, 5) => ("System incorrectly configured", RFC3463),
        (3, 6) => ("Requested priority was changed", "RFC 6710"),
        (4, 0) => ("Other or undefined network or routing status", RFC3463),
        (4, 1) => (
            "No answer from host; Microsoft 365 also uses 5.4.1 for recipients it does not know",
            RFC3463,
        ),
        (4, 2) => (
            "Bad connection: the connection dropped or timed out",
            RFC3463,
        ),
        (4, 3) => (
            "Directory server failure, e.g. a DNS lookup failed",
            RFC3463,
        ),
        (4, 4) => (
            "Unable to route: no usable mail server found for the domain",
            RFC3463,
        ),
        (4, 5) => ("Mail system congestion: the server is overloaded", RFC3463),
        (4, 6) => ("Routing loop detected", RFC3463),
        (4, 7) => (
            "Delivery time expired: the message waited in a queue too long",
            RFC3463,
        ),
        (5, 0) => ("Other or undefined protocol status", RFC3463),
        (5, 1) => ("Invalid command", RFC3463),
        (5, 2) => ("Syntax error in a command", RFC3463),
        (5, 3) => (
            "Too many recipients: send the rest in another message",
            RFC3463,
        ),
        (5, 4) => ("Invalid command arguments", RFC3463),
        (5, 5) => ("Wrong protocol version", RFC3463),
        (5, 6) => ("Authentication exchange line is too long", "RFC 4954"),
        (6, 0) => (
            "Other or undefined media error: the content was refused, often by a filter",
            RFC3463,
        ),
        (6, 1) => ("Media not supported", RFC3463),
        (6, 2) => ("Conversion required and prohibited", RFC3463),
        (6, 3) => ("Conversion required but not supported", RFC3463),
        (6, 4) => ("Conversion with loss performed", RFC3463),
        (6, 5) => ("Conversion failed", RFC3463),
        (6, 6) => ("Message content not available", "RFC 4468"),
        (6, 7) => (
            "Non-ASCII addresses not permitted for that sender or recipient",
            "RFC 6531",
        ),
        (6, 8) => (
            "A UTF-8 reply is required, but the client does not allow it",
            "RFC 6531",
        ),
        (6, 9) => (
            "A UTF-8 header message cannot be passed on to one or more recipients",
            "RFC 6531",
        ),
        (7, 0) => (
            "Other or undefined security or policy status: refused for a policy reason, read the server's text",
            RFC3463,
        ),
        (7, 1) => (
            "Delivery not authorized, message refused: e.g. relaying denied or a blocklist; log in first if you meant to relay",
            RFC3463,
        ),
        (7, 2) => ("Mailing list expansion prohibited", RFC3463),
        (7, 3) => ("Security conversion required but not possible", RFC3463),
        (7, 4) => ("Security features not supported", RFC3463),
        (7, 5) => ("Cryptographic failure", RFC3463),
        (7, 6) => ("Cryptographic algorithm not supported", RFC3463),
        (7, 7) => ("Message integrity failure", RFC3463),
        (7, 8) => (
            "Authentication credentials invalid: wrong user name or password",
            "RFC 4954",
        ),
        (7, 9) => (
            "Authentication mechanism is too weak; some providers require an app password",
            "RFC 4954",
        ),
        (7, 10) => ("Encryption needed: use TLS", "RFC 5248"),
        (7, 11) => (
            "Encryption required for the requested authentication mechanism: use TLS first",
            "RFC 4954",
        ),
        (7, 12) => ("A password transition is needed", "RFC 4954"),
        (7, 13) => ("User account disabled", "RFC 5248"),
        (7, 14) => ("Trust relationship required", "RFC 5248"),
        (7, 15) => ("Priority level is too low", "RFC 6710"),
        (7, 16) => ("Message is too big for the specified priority", "RFC 6710"),
        (7, 17) => ("Mailbox owner has changed", "RFC 7293"),
        (7, 18) => ("Domain owner has changed", "RFC 7293"),
        (7, 19) => ("RRVS test cannot be completed", "RFC 7293"),
        (7, 20) => ("No passing DKIM signature found", "RFC 7372"),
        (7, 21) => ("No acceptable DKIM signature found", "RFC 7372"),
        (7, 22) => ("No valid author-matched DKIM signature found", "RFC 7372"),
        (7, 23) => (
            "SPF validation failed: the sender's domain does not list this sending server in its SPF record",
            "RFC 7372",
        ),
        (7, 24) => (
            "SPF validation error: the sender's SPF record could not be evaluated, e.g. a DNS error",
            "RFC 7372",
        ),
        (7, 25) => (
            "Reverse DNS validation failed: the sending IP address has no matching host name",
            "RFC 7372",
        ),
        (7, 26) => (
            "Multiple authentication checks failed, e.g. SPF and DKIM so DMARC failed; set up SPF, DKIM and DMARC for the sender's domain",
            "RFC 7372",
        ),
        (7, 27) => (
            "Sender address has a null MX: its domain accepts no mail, so bounces could not be returned",
            "RFC 7505",
        ),
        (7, 28) => ("Mail flood detected", "IANA registry"),
        (7, 29) => ("ARC validation failure", "RFC 8617"),
        (7, 30) => ("REQUIRETLS support required", "RFC 8689"),
        _ => return None,
    };
    Some(entry)
}
