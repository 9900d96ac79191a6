//! What client commands mean, as the transcript shows them.

use crate::smtp::format_bytes;

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
            .map(|n| format!(" ({})", format_bytes(n)))
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
                    format_bytes(n)
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
        .map(|n| format!(" of {}", format_bytes(n)))
        .unwrap_or_default();
    if args.next().is_some_and(|a| a.eq_ignore_ascii_case("LAST")) {
        format!(
            "Sends the last chunk{size} of the message; the server then says whether it accepted it (RFC 3030)"
        )
    } else {
        format!("Sends a chunk{size} of the message, with no dot at the end (RFC 3030)")
    }
}
