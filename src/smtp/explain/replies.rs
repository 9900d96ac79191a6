//! What reply codes mean (RFC 5321 §4.2).

use crate::smtp::reply::{ReplyClass, ReplyCode};

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
