//! Plain-language explanations of SMTP, one short sentence per transcript
//! line, for people learning the protocol: the tooltips of the GUI's
//! transcript panel and sequence diagram.
//!
//! [`reply_code`] and [`enhanced_code`] always answer, falling back to what
//! the code's class (and subject) mean; [`command`] answers for the commands
//! Postscope sends and the common ones people type; [`event`] picks the right
//! one for a [`TranscriptEvent`]. Every sentence names the RFC that defines
//! the thing it explains, so a curious reader knows where to look next.

use super::capability::Capability;
use super::reply::{EnhancedCode, ReplyClass, ReplyCode};
use super::sasl;
use super::transcript::{Direction, TranscriptEvent};

/// What a reply code means, e.g. 250 → "Requested action okay, completed
/// (RFC 5321 §4.2.2)". Always returns something: codes without an entry of
/// their own fall back to their class ("2yz: the command succeeded …"), and
/// numbers that cannot be reply codes say so.
pub fn reply_code(code: ReplyCode) -> String {
    if !(200..600).contains(&code.0) {
        return format!(
            "{code} is not an SMTP reply code: replies start with 2, 3, 4 or 5 (RFC 5321 §4.2.1)"
        );
    }
    let text = match code.0 {
        211 => "System status or help reply (RFC 5321 §4.2.2)",
        214 => "Help message, meant for a person reading the session (RFC 5321 §4.2.2)",
        220 => {
            "Service ready: the server's greeting, or after STARTTLS the go-ahead for the TLS handshake (RFC 5321 §4.2.2, RFC 3207)"
        }
        221 => "Service closing the connection, the normal answer to QUIT (RFC 5321 §4.2.2)",
        235 => "Authentication succeeded: you are logged in (RFC 4954 §6)",
        250 => "Requested action okay, completed (RFC 5321 §4.2.2)",
        251 => "User not local: the server will forward the message itself (RFC 5321 §4.2.2)",
        252 => {
            "Cannot verify the user, but the server will accept the message and try to deliver it (RFC 5321 §4.2.2)"
        }
        334 => {
            "Login challenge: the server waits for the next AUTH step as a base64 line, or * to cancel (RFC 4954 §4)"
        }
        354 => {
            "Start mail input: send the message, then a line with only a dot to end it (RFC 5321 §4.2.2)"
        }
        421 => {
            "Service not available, closing the connection: the server is busy, shutting down or limiting you; try again later (RFC 5321 §4.2.2)"
        }
        432 => {
            "A password transition is needed: log in once with PLAIN over TLS, then this mechanism should work (RFC 4954 §6)"
        }
        450 => {
            "Mailbox unavailable for now, e.g. busy or greylisted; sending again later usually works (RFC 5321 §4.2.2)"
        }
        451 => "Action aborted by a local error on the server; try again later (RFC 5321 §4.2.2)",
        452 => {
            "Insufficient storage on the server, or too many recipients; try later or send the rest separately (RFC 5321 §4.2.2, §4.5.3.1.10)"
        }
        454 => {
            "Temporary failure: TLS or authentication is not available right now; try again later (RFC 3207, RFC 4954 §6)"
        }
        455 => {
            "Server cannot accommodate the MAIL FROM or RCPT TO parameters right now (RFC 5321 §4.2.2)"
        }
        500 => {
            "Syntax error, command unrecognized: the server did not understand the line, or it was too long (RFC 5321 §4.2.2)"
        }
        501 => {
            "Syntax error in parameters or arguments, e.g. a malformed address (RFC 5321 §4.2.2)"
        }
        502 => "Command not implemented by this server (RFC 5321 §4.2.2)",
        503 => {
            "Bad sequence of commands: a step is missing or out of order, e.g. RCPT before MAIL or MAIL before login (RFC 5321 §4.2.2)"
        }
        504 => {
            "Command parameter not implemented, e.g. an AUTH mechanism the server does not offer (RFC 5321 §4.2.2)"
        }
        521 => "This host does not accept mail at all (RFC 7504)",
        530 => {
            "Authentication required: log in with AUTH, or issue STARTTLS first, before sending (RFC 4954 §6, RFC 3207)"
        }
        534 => {
            "Authentication mechanism is too weak; some providers use this to demand an app password or a browser login (RFC 4954 §6)"
        }
        535 => {
            "Authentication credentials invalid: wrong user name, password or token; some providers need an app password (RFC 4954 §6)"
        }
        538 => {
            "Encryption required for this authentication mechanism: use STARTTLS or implicit TLS first (RFC 4954 §6)"
        }
        550 => {
            "Mailbox unavailable: refused because the address does not exist, access is denied or policy forbids it; read the server's text (RFC 5321 §4.2.2)"
        }
        551 => "User not local: the server names another address to try (RFC 5321 §4.2.2)",
        552 => {
            "Exceeded storage allocation: the message is too big or the mailbox is full (RFC 5321 §4.2.2)"
        }
        553 => {
            "Mailbox name not allowed, e.g. a malformed address or a sender you may not use (RFC 5321 §4.2.2)"
        }
        554 => {
            "Transaction failed, or as a greeting no SMTP service here; often a policy or spam rejection (RFC 5321 §4.2.2)"
        }
        555 => {
            "MAIL FROM or RCPT TO parameters not recognized or not implemented; leave out the unsupported one (RFC 5321 §4.2.2)"
        }
        556 => {
            "The recipient's domain does not accept mail, e.g. it publishes a null MX (RFC 7504)"
        }
        _ => return class_fallback(code).into(),
    };
    text.into()
}

/// The meaning of a reply code's class, for codes without their own entry.
fn class_fallback(code: ReplyCode) -> &'static str {
    match code.class() {
        ReplyClass::PositiveCompletion => "2yz: the command succeeded (RFC 5321 §4.2.1)",
        ReplyClass::PositiveIntermediate => {
            "3yz: the command was accepted and the server waits for more (RFC 5321 §4.2.1)"
        }
        ReplyClass::TransientNegative => {
            "4yz: a temporary failure; the same command may work later (RFC 5321 §4.2.1)"
        }
        ReplyClass::PermanentNegative => {
            "5yz: a permanent failure; do not repeat the command unchanged (RFC 5321 §4.2.1)"
        }
    }
}

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

/// What a client command line means, as the transcript shows it (secrets
/// already redacted): EHLO, HELO, STARTTLS, AUTH (by mechanism), an AUTH
/// response (`<redacted>`) or cancellation (`*`), MAIL FROM (with its SIZE,
/// BODY, SMTPUTF8 and DSN parameters), RCPT TO, DATA, BDAT, the final `.`,
/// the message-data summary line, RSET, NOOP, VRFY, EXPN, HELP and QUIT.
/// `None` for anything else.
pub fn command(line: &str) -> Option<String> {
    let line = line.trim();
    if line == "<redacted>" {
        return Some(
            "Your answer to the server's 334 challenge during AUTH, such as the base64 user name or password; hidden in the transcript (RFC 4954)"
                .into(),
        );
    }
    if line == "*" {
        return Some("Cancels the login in progress (RFC 4954 §4)".into());
    }
    if line == "." {
        return Some(
            "A line with only a dot ends the message data; the server now says whether it accepted the message (RFC 5321 §4.1.1.4)"
                .into(),
        );
    }
    if line.contains("bytes of message data") {
        let digits: String = line.chars().filter(char::is_ascii_digit).collect();
        let size = digits
            .parse::<u64>()
            .map(|n| format!(" ({})", super::format_bytes(n)))
            .unwrap_or_default();
        return Some(format!(
            "The message itself, headers then body{size}, summarised here rather than shown line by line (RFC 5321 §4.1.1.4)"
        ));
    }
    let (verb, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    };
    let verb = verb.to_ascii_uppercase();
    let text = match verb.as_str() {
        "EHLO" => format!(
            "Extended hello: the client introduces itself{} and asks which ESMTP extensions the server supports (RFC 5321 §4.1.1.1)",
            named(rest)
        ),
        "HELO" => format!(
            "Hello: the client introduces itself{}, the old greeting without extensions (RFC 5321 §4.1.1.1)",
            named(rest)
        ),
        "STARTTLS" => "Asks to switch this connection to TLS; after a 220 reply the TLS handshake starts and the client says EHLO again (RFC 3207)".into(),
        "AUTH" => auth(rest),
        "MAIL" => mail(rest)?,
        "RCPT" => rcpt(rest)?,
        "DATA" => "Asks to send the message; after a 354 reply the client sends headers and body, ending with a line with only a dot (RFC 5321 §4.1.1.4)".into(),
        "BDAT" => bdat(rest),
        "RSET" => "Abandons the current message (sender and recipients) but keeps the connection open (RFC 5321 §4.1.1.5)".into(),
        "NOOP" => "Does nothing but ask for a 250 reply, to check the server still answers (RFC 5321 §4.1.1.9)".into(),
        "VRFY" => "Asks whether a mailbox exists; many servers answer 252 without checking, to keep their users private (RFC 5321 §4.1.1.6)".into(),
        "EXPN" => "Asks the server to list the members of a mailing list; usually disabled (RFC 5321 §4.1.1.7)".into(),
        "HELP" => "Asks for help text, answered with 214 (RFC 5321 §4.1.1.8)".into(),
        "QUIT" => "Asks the server to close the connection; it answers 221 (RFC 5321 §4.1.1.10)".into(),
        _ => return None,
    };
    Some(text)
}

/// ` (as example.org)` for EHLO/HELO's argument, or nothing.
fn named(arg: &str) -> String {
    if arg.is_empty() {
        String::new()
    } else {
        format!(" as {arg}")
    }
}

/// AUTH: what the mechanism does, and whether an initial response came along.
fn auth(rest: &str) -> String {
    let mut args = rest.split_whitespace();
    let Some(mechanism) = args.next() else {
        return "Starts a login, but names no mechanism (RFC 4954)".into();
    };
    let upper = mechanism.to_ascii_uppercase();
    let what = match upper.as_str() {
        "PLAIN" => {
            "Logs in with PLAIN: user name and password in one base64 message, readable without TLS (RFC 4616)"
                .to_owned()
        }
        "LOGIN" => {
            "Logs in with LOGIN: the server asks for the user name, then the password, each sent base64-encoded, not encrypted (RFC 4954)"
                .to_owned()
        }
        "XOAUTH2" => {
            "Logs in with XOAUTH2: an OAuth 2.0 access token instead of a password, as Google and Microsoft use (RFC 4954)"
                .to_owned()
        }
        "OAUTHBEARER" => "Logs in with an OAuth 2.0 bearer token (RFC 7628)".to_owned(),
        "CRAM-MD5" => {
            "Logs in with CRAM-MD5: the client answers the server's challenge with a keyed hash, so the password is not sent (RFC 2195)"
                .to_owned()
        }
        "DIGEST-MD5" => {
            "Logs in with DIGEST-MD5, an obsolete challenge-response mechanism (RFC 6331)".to_owned()
        }
        "GSSAPI" => "Logs in with Kerberos through GSSAPI (RFC 4752)".to_owned(),
        "NTLM" => "Logs in with NTLM, Microsoft's Windows challenge-response".to_owned(),
        "EXTERNAL" => {
            "Logs in with credentials from outside SMTP, usually the TLS client certificate (RFC 4422)"
                .to_owned()
        }
        "ANONYMOUS" => "Logs in anonymously (RFC 4505)".to_owned(),
        m if m.starts_with("SCRAM-") => format!(
            "Logs in with {m}: a salted challenge-response that proves the password without sending it (RFC 5802)"
        ),
        m => format!("Starts a login with the {m} mechanism (RFC 4954)"),
    };
    match args.next() {
        Some("<redacted>") => {
            format!("{what}; the first response is sent along and hidden in the transcript")
        }
        Some(_) => format!("{what}; the first response is sent along with the command"),
        None => what,
    }
}

/// Splits `FROM:<a@b> SIZE=1` (or `TO:…`) into the path and its parameters.
fn path_and_params<'a>(rest: &'a str, keyword: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let colon = rest.find(':')?;
    if !rest[..colon].trim().eq_ignore_ascii_case(keyword) {
        return None;
    }
    let after = rest[colon + 1..].trim_start();
    let (path, params) = match after.strip_prefix('<') {
        Some(inner) => {
            let end = inner.find('>')?;
            (&inner[..end], &inner[end + 1..])
        }
        None => match after.find(char::is_whitespace) {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        },
    };
    Some((path, params.split_whitespace().collect()))
}

/// MAIL FROM and what each of its parameters asks for.
fn mail(rest: &str) -> Option<String> {
    let (from, params) = path_and_params(rest, "FROM")?;
    let mut out = if from.is_empty() {
        "Starts a new message with the null sender <>, as bounces and automatic replies do so they cannot cause more bounces (RFC 5321 §4.5.5)".to_owned()
    } else {
        format!(
            "Starts a new message from {from}, the envelope sender that receives bounces, which may differ from the From: header (RFC 5321 §4.1.1.2)"
        )
    };
    for p in params {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        let part = match name.to_ascii_uppercase().as_str() {
            "SIZE" => match value.parse::<u64>() {
                Ok(n) => format!(
                    "SIZE={value} declares the message size ({}) so the server can refuse it early (RFC 1870)",
                    super::format_bytes(n)
                ),
                Err(_) => format!("{p} declares the message size (RFC 1870)"),
            },
            "BODY" => match value.to_ascii_uppercase().as_str() {
                "8BITMIME" => format!("{p} says the body may contain 8-bit data (RFC 6152)"),
                "7BIT" => format!("{p} says the body is plain 7-bit ASCII (RFC 6152)"),
                "BINARYMIME" => format!("{p} says the body is binary, sent with BDAT (RFC 3030)"),
                _ => format!("{p} declares the body type (RFC 6152)"),
            },
            "SMTPUTF8" => format!("{p} asks for UTF-8 addresses and headers (RFC 6531)"),
            "RET" => format!(
                "{p} chooses whether a failure notice returns the full message or only its headers (RFC 3461)"
            ),
            "ENVID" => format!("{p} sets an ID that delivery notices will quote (RFC 3461)"),
            "AUTH" => format!("{p} names who submitted the message (RFC 4954 §5)"),
            "REQUIRETLS" => format!("{p} requires TLS on every hop of delivery (RFC 8689)"),
            "MT-PRIORITY" => format!("{p} asks for a delivery priority (RFC 6710)"),
            _ => format!("{p} is an extension parameter"),
        };
        out.push_str("; ");
        out.push_str(&part);
    }
    Some(out)
}

/// RCPT TO and its DSN parameters.
fn rcpt(rest: &str) -> Option<String> {
    let (to, params) = path_and_params(rest, "TO")?;
    let mut out = format!(
        "Adds {to} as a recipient (envelope to); each recipient needs its own RCPT TO (RFC 5321 §4.1.1.3)"
    );
    for p in params {
        let (name, _) = p.split_once('=').unwrap_or((p, ""));
        let part = match name.to_ascii_uppercase().as_str() {
            "NOTIFY" => format!("{p} says when to send a delivery notice (RFC 3461)"),
            "ORCPT" => {
                format!("{p} records the original recipient for delivery notices (RFC 3461)")
            }
            _ => format!("{p} is an extension parameter"),
        };
        out.push_str("; ");
        out.push_str(&part);
    }
    Some(out)
}

/// BDAT <size> [LAST].
fn bdat(rest: &str) -> String {
    let mut args = rest.split_whitespace();
    let size = args
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .map(|n| format!(" of {}", super::format_bytes(n)))
        .unwrap_or_default();
    if args.next().is_some_and(|a| a.eq_ignore_ascii_case("LAST")) {
        format!(
            "Sends the last chunk{size} of the message; the server then says whether it accepted it (RFC 3030)"
        )
    } else {
        format!("Sends a chunk{size} of the message, with no dot at the end (RFC 3030)")
    }
}

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

/// The explanation for a transcript line. Server lines: the reply code, plus
/// its enhanced code, plus for 334 the decoded challenge when it is base64
/// text (LOGIN's `VXNlcm5hbWU6` is "Username:"). A 250 line that names an
/// ESMTP extension (`250-PIPELINING`, `250 SIZE 1000`) explains the
/// extension with [`Capability::describe`]; an EHLO reply's first line (the
/// server's name) says so. Client lines: [`command`]. Notes and errors: `None`.
pub fn event(e: &TranscriptEvent) -> Option<String> {
    match e.direction {
        Direction::Sent => command(&e.text),
        Direction::Note | Direction::Error => None,
        Direction::Received => received(e),
    }
}

/// A server line: its code, whether it continues, and its text.
fn received(e: &TranscriptEvent) -> Option<String> {
    let text = e.text.as_str();
    let head = text
        .get(..3)
        .filter(|h| h.bytes().all(|b| b.is_ascii_digit()));
    let code = e
        .code
        .or_else(|| head.and_then(|h| h.parse().ok()).map(ReplyCode))?;
    let (continues, rest) = match head.map(|_| text.as_bytes().get(3)) {
        Some(Some(b'-')) => (true, &text[4..]),
        Some(Some(b' ')) => (false, &text[4..]),
        Some(_) => (false, ""),
        None => (false, text),
    };
    if code.0 == 250
        && let Some(ext) = ehlo_line(rest, continues)
    {
        return Some(ext);
    }
    let mut out = reply_code(code);
    if let Some((enhanced, _)) = EnhancedCode::parse_prefix(rest) {
        out.push_str(&format!("; {enhanced}: {}", enhanced_code(enhanced)));
    } else if code.0 == 334
        && let Some(challenge) = sasl::decode_challenge(rest)
        && challenge.len() <= 200
        && !challenge.chars().any(char::is_control)
    {
        out.push_str(&format!("; the challenge decodes to \"{challenge}\""));
    }
    Some(out)
}

/// A line of a 250 reply to EHLO: the server's name on the first line, an
/// extension on the others. `None` when the line is not clearly either.
fn ehlo_line(rest: &str, continues: bool) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn code(class: u8, subject: u16, detail: u16) -> EnhancedCode {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    fn received(text: &str) -> TranscriptEvent {
        TranscriptEvent {
            at: Duration::ZERO,
            direction: Direction::Received,
            secure: false,
            text: text.into(),
            code: text.get(..3).and_then(|c| c.parse().ok()).map(ReplyCode),
        }
    }

    fn sent(text: &str) -> TranscriptEvent {
        TranscriptEvent {
            at: Duration::ZERO,
            direction: Direction::Sent,
            secure: true,
            text: text.into(),
            code: None,
        }
    }

    #[test]
    fn every_listed_reply_code_has_its_own_sentence() {
        let listed = [
            211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 432, 450, 451, 452, 454, 455,
            500, 501, 502, 503, 504, 521, 530, 534, 535, 538, 550, 551, 552, 553, 554, 555, 556,
        ];
        for c in listed {
            let text = reply_code(ReplyCode(c));
            assert!(!text.contains("yz:"), "{c} fell back: {text}");
            assert!(text.contains("RFC "), "{c} cites no RFC: {text}");
            assert!(!text.ends_with('.'), "{c}: {text}");
        }
        assert_eq!(
            reply_code(ReplyCode(250)),
            "Requested action okay, completed (RFC 5321 §4.2.2)"
        );
        assert!(reply_code(ReplyCode(235)).contains("RFC 4954"));
        assert!(reply_code(ReplyCode(535)).contains("app password"));
    }

    #[test]
    fn unknown_reply_codes_fall_back_to_their_class() {
        assert!(reply_code(ReplyCode(299)).starts_with("2yz: the command succeeded"));
        assert!(reply_code(ReplyCode(399)).starts_with("3yz:"));
        assert!(reply_code(ReplyCode(471)).starts_with("4yz: a temporary failure"));
        assert!(reply_code(ReplyCode(599)).starts_with("5yz: a permanent failure"));
        assert!(reply_code(ReplyCode(999)).contains("not an SMTP reply code"));
        assert!(reply_code(ReplyCode(100)).contains("not an SMTP reply code"));
    }

    #[test]
    fn enhanced_codes_and_their_fallbacks() {
        assert_eq!(
            enhanced_code(code(5, 1, 1)),
            "Bad destination mailbox address: no such user there, check the spelling (permanent failure, RFC 3463)"
        );
        assert!(enhanced_code(code(4, 2, 2)).contains("Mailbox full"));
        assert!(enhanced_code(code(4, 2, 2)).contains("temporary failure"));
        assert!(enhanced_code(code(2, 1, 5)).contains("recipient was accepted"));
        assert!(enhanced_code(code(2, 7, 0)).contains("authentication succeeded"));
        assert!(enhanced_code(code(5, 7, 8)).contains("RFC 4954"));
        assert!(enhanced_code(code(5, 7, 23)).contains("SPF"));
        assert!(enhanced_code(code(5, 7, 25)).contains("Reverse DNS"));
        assert!(enhanced_code(code(5, 7, 26)).contains("Multiple authentication checks"));
        assert!(enhanced_code(code(5, 7, 27)).contains("null MX"));
        let listed = [
            (2, 0, 0),
            (2, 1, 0),
            (2, 1, 5),
            (2, 6, 0),
            (2, 7, 0),
            (4, 2, 2),
            (4, 3, 0),
            (4, 3, 2),
            (4, 4, 1),
            (4, 4, 2),
            (4, 5, 3),
            (4, 7, 0),
            (4, 7, 1),
            (5, 1, 1),
            (5, 1, 2),
            (5, 1, 3),
            (5, 1, 7),
            (5, 1, 8),
            (5, 2, 1),
            (5, 2, 2),
            (5, 2, 3),
            (5, 3, 4),
            (5, 4, 1),
            (5, 5, 1),
            (5, 5, 2),
            (5, 5, 4),
            (5, 6, 0),
            (5, 7, 0),
            (5, 7, 1),
            (5, 7, 8),
            (5, 7, 9),
            (5, 7, 11),
            (5, 7, 23),
            (5, 7, 24),
            (5, 7, 25),
            (5, 7, 26),
            (5, 7, 27),
        ];
        for (c, s, d) in listed {
            let text = enhanced_code(code(c, s, d));
            assert!(!text.contains("unknown"), "{c}.{s}.{d}: {text}");
        }
        assert_eq!(
            enhanced_code(code(5, 7, 99)),
            "Permanent failure: security or policy status: detail 99 unknown (RFC 3463)"
        );
        assert_eq!(
            enhanced_code(code(4, 9, 1)),
            "Persistent transient failure: unknown subject 9: detail 1 unknown (RFC 3463)"
        );
        assert!(enhanced_code(code(3, 0, 0)).starts_with("Unknown class 3: "));
    }

    #[test]
    fn client_commands() {
        assert!(
            command("EHLO client.example.org")
                .unwrap()
                .contains("client.example.org")
        );
        assert!(command("helo [127.0.0.1]").unwrap().starts_with("Hello"));
        assert!(command("STARTTLS").unwrap().contains("RFC 3207"));
        for line in [
            "DATA",
            "RSET",
            "NOOP",
            "QUIT",
            "HELP",
            "VRFY bob",
            "EXPN list",
            ".",
        ] {
            assert!(command(line).is_some(), "{line}");
        }
        assert!(
            command("BDAT 1000 LAST")
                .unwrap()
                .contains("last chunk of 1.0 kB")
        );
        assert!(
            command("BDAT 512")
                .unwrap()
                .starts_with("Sends a chunk of 512 bytes")
        );
        assert!(
            command("RCPT TO:<b@example.org> NOTIFY=FAILURE")
                .unwrap()
                .contains("b@example.org as a recipient")
        );
        assert_eq!(command("XYZZY"), None);
        assert_eq!(command("MAIL"), None);
        assert_eq!(command(""), None);
    }

    #[test]
    fn mail_from_parameters_are_explained() {
        let text = command("MAIL FROM:<a@example.org> SIZE=1200 BODY=8BITMIME SMTPUTF8").unwrap();
        assert!(
            text.starts_with("Starts a new message from a@example.org"),
            "{text}"
        );
        assert!(
            text.contains("SIZE=1200 declares the message size (1.2 kB)"),
            "{text}"
        );
        assert!(
            text.contains("BODY=8BITMIME says the body may contain 8-bit data"),
            "{text}"
        );
        assert!(text.contains("SMTPUTF8 asks for UTF-8"), "{text}");
        let bounce = command("MAIL FROM:<>").unwrap();
        assert!(bounce.contains("null sender"), "{bounce}");
    }

    #[test]
    fn auth_lines() {
        let plain = command("AUTH PLAIN <redacted>").unwrap();
        assert!(plain.starts_with("Logs in with PLAIN"), "{plain}");
        assert!(plain.contains("hidden in the transcript"), "{plain}");
        assert!(
            command("AUTH LOGIN")
                .unwrap()
                .starts_with("Logs in with LOGIN")
        );
        assert!(
            command("AUTH XOAUTH2 <redacted>")
                .unwrap()
                .contains("OAuth 2.0")
        );
        assert!(command("AUTH CRAM-MD5").unwrap().contains("RFC 2195"));
        assert!(
            command("AUTH SCRAM-SHA-256")
                .unwrap()
                .contains("SCRAM-SHA-256")
        );
        let response = command("<redacted>").unwrap();
        assert!(response.contains("334 challenge"), "{response}");
        assert_eq!(event(&sent("<redacted>")), Some(response));
    }

    #[test]
    fn message_data_summary_line() {
        let text = command("… 1 234 567 bytes of message data …").unwrap();
        assert!(text.contains("(1.2 MB)"), "{text}");
    }

    #[test]
    fn replies_in_the_transcript() {
        let challenge = event(&received("334 VXNlcm5hbWU6")).unwrap();
        assert!(challenge.starts_with("Login challenge"), "{challenge}");
        assert!(
            challenge.ends_with("decodes to \"Username:\""),
            "{challenge}"
        );
        // An empty challenge (PLAIN without initial response) explains just the code.
        assert_eq!(
            event(&received("334 ")).unwrap(),
            reply_code(ReplyCode(334))
        );

        let refused = event(&received("550 5.1.1 <bob@example.org>: User unknown")).unwrap();
        assert!(refused.starts_with("Mailbox unavailable"), "{refused}");
        assert!(
            refused.contains("; 5.1.1: Bad destination mailbox address"),
            "{refused}"
        );

        assert_eq!(
            event(&received("250 2.0.0 Ok")).unwrap(),
            "Requested action okay, completed (RFC 5321 §4.2.2); 2.0.0: Success, nothing more specific to report (success, RFC 3463)"
        );
        assert!(
            event(&received("250 OK"))
                .unwrap()
                .starts_with("Requested action okay")
        );
    }

    #[test]
    fn ehlo_reply_lines() {
        assert_eq!(
            event(&received("250-PIPELINING")).unwrap(),
            "PIPELINING extension: commands can be sent in batches (RFC 2920)"
        );
        assert!(
            event(&received("250-SIZE 35882577"))
                .unwrap()
                .contains("35.9 MB")
        );
        assert!(event(&received("250 STARTTLS")).unwrap().contains("TLS"));
        assert!(
            event(&received("250-AUTH PLAIN LOGIN"))
                .unwrap()
                .contains("PLAIN, LOGIN")
        );
        assert!(event(&received("250-ETRN")).unwrap().contains("RFC 1985"));
        assert!(
            event(&received("250-X-EXPS GSSAPI NTLM"))
                .unwrap()
                .starts_with("X-EXPS extension")
        );
        assert!(
            event(&received("250-mx.example.org Hello client [192.0.2.1]"))
                .unwrap()
                .starts_with("The server's name")
        );
    }

    #[test]
    fn notes_and_errors_have_no_explanation() {
        for direction in [Direction::Note, Direction::Error] {
            let e = TranscriptEvent {
                direction,
                ..sent("QUIT")
            };
            assert_eq!(event(&e), None);
        }
        assert!(event(&sent("QUIT")).unwrap().contains("221"));
        assert_eq!(event(&sent("FOO")), None);
    }
}
