//! Completing SMTP verbs as they are typed.

/// The verbs the console completes as you type.
pub const VERBS: &[&str] = &[
    "EHLO",
    "HELO",
    "STARTTLS",
    "AUTH",
    "MAIL FROM:<",
    "RCPT TO:<",
    "DATA",
    "RSET",
    "NOOP",
    "VRFY",
    "EXPN",
    "HELP",
    "QUIT",
    "BDAT",
];

/// The verb completions for what has been typed so far (case-insensitive).
pub fn complete(typed: &str) -> Vec<&'static str> {
    let t = typed.trim_start().to_ascii_uppercase();
    if t.is_empty() || t.contains(' ') && !t.starts_with("MAIL") && !t.starts_with("RCPT") {
        return Vec::new();
    }
    VERBS
        .iter()
        .copied()
        .filter(|v| v.starts_with(&t) && v.len() > t.len())
        .collect()
}
