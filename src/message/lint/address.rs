//! Address headers (RFC 5322 §3.4): every mailbox a real address, names
//! before `<…>` quoted where they need it, groups and comments allowed.

use super::{Field, Findings, Level};

/// One element of an address list, with comments taken out.
#[derive(Default)]
struct Item {
    /// What was outside `<…>`.
    outside: String,
    /// What was inside `<…>`, if there was one.
    angle: Option<String>,
    /// Text after the `>`.
    after: String,
}

/// How many mailboxes the value names (0 when it cannot be read).
pub(super) fn count(value: &str) -> usize {
    items(value).map_or(0, |items| {
        items
            .iter()
            .filter(|i| i.angle.is_some() || !i.outside.trim().is_empty())
            .count()
    })
}

/// Reports what is wrong with the address list in `field`.
pub(super) fn check(field: &Field, out: &mut Findings) {
    let value = field.text();
    let name = &field.name;
    if quoted_encoded_word(&value) {
        out.add(
            field.line,
            Level::Warning,
            "RFC 2047 §5",
            format!(
                "{name}: an encoded word (=?…?=) inside a quoted name: some readers decode \
                 it and some show it as it is; write the name as encoded words, unquoted"
            ),
        );
    }
    let mut bad = |why: String| {
        out.add(
            field.line,
            Level::Error,
            "RFC 5322 §3.4",
            format!("{name}: {why}"),
        )
    };
    let items = match items(&value) {
        Ok(items) => items,
        Err(why) => return bad(why),
    };
    let empty = items
        .iter()
        .all(|i| i.angle.is_none() && i.outside.trim().is_empty());
    if empty && !value.contains(':') && !name.eq_ignore_ascii_case("Bcc") {
        return bad("the header names no address".into());
    }
    for item in &items {
        if let Err(why) = mailbox(item) {
            let shown = match &item.angle {
                Some(a) => format!("{}<{a}>{}", item.outside, item.after),
                None => item.outside.clone(),
            };
            let shown: String = shown.trim().chars().take(60).collect();
            bad(format!("{shown:?} is not an address: {why}"));
        }
    }
}

/// Whether a quoted string in `value` holds `=?`.
fn quoted_encoded_word(value: &str) -> bool {
    let (mut quoted, mut escaped, mut last) = (false, false, ' ');
    for c in value.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if quoted && last == '=' && c == '?' {
            return true;
        }
        last = c;
    }
    false
}

/// Cuts an address list at its top-level commas, dropping comments and
/// group names (`name: a, b;`).
fn items(value: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut item = Item::default();
    let mut chars = value.chars();
    let (mut quoted, mut comment, mut in_angle, mut closed) = (false, 0usize, false, false);
    while let Some(c) = chars.next() {
        let had_angle = item.angle.is_some();
        let buf = if in_angle {
            item.angle.get_or_insert_default()
        } else if closed {
            &mut item.after
        } else {
            &mut item.outside
        };
        if quoted {
            buf.push(c);
            match c {
                '\\' => buf.extend(chars.next()),
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        if comment > 0 {
            match c {
                '\\' => {
                    chars.next();
                }
                '(' => comment += 1,
                ')' => comment -= 1,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                buf.push(c);
            }
            '(' => comment = 1,
            '<' if in_angle => return Err("a < inside <…>".into()),
            '<' if closed || had_angle => {
                return Err("two <…> in one address (is a comma missing?)".into());
            }
            '<' => in_angle = true,
            '>' if in_angle => {
                in_angle = false;
                closed = true;
            }
            '>' => return Err("a > without its <".into()),
            ',' | ';' if !in_angle => {
                items.push(std::mem::take(&mut item));
                closed = false;
            }
            ':' if !in_angle && !closed => {
                // A group's name ends here; its members follow.
                item.outside.clear();
            }
            _ => buf.push(c),
        }
    }
    if quoted {
        return Err("a quote (\") is never closed".into());
    }
    if comment > 0 {
        return Err("a comment's ( is never closed".into());
    }
    if in_angle {
        return Err("a < is never closed by >".into());
    }
    items.push(item);
    Ok(items)
}

/// Checks one mailbox: `addr-spec` or `name <addr-spec>`.
fn mailbox(item: &Item) -> Result<(), String> {
    let outside = item.outside.trim();
    let Some(angle) = &item.angle else {
        if outside.is_empty() {
            return Ok(());
        }
        if outside.contains(char::is_whitespace) && !outside.starts_with('"') {
            return Err("a name needs the address after it in <…>".into());
        }
        return addr_spec(outside);
    };
    if !item.after.trim().is_empty() {
        return Err("text after the >".into());
    }
    if unquoted(outside).any(|c| matches!(c, '@' | ',' | ';' | '<' | '>' | '[' | ']' | '\\')) {
        return Err("the name has a special character (such as @); put it in quotes".into());
    }
    // An obsolete source route (`<@relay:addr>`) is allowed before the address.
    let addr = match angle.trim().strip_prefix('@') {
        Some(route) => route.split_once(':').map_or("", |(_, a)| a),
        None => angle.trim(),
    };
    addr_spec(addr)
}

/// The characters of `s` outside quoted strings.
fn unquoted(s: &str) -> impl Iterator<Item = char> + '_ {
    let mut quoted = false;
    let mut escaped = false;
    s.chars().filter(move |&c| {
        if escaped {
            escaped = false;
            return false;
        }
        match c {
            '\\' if quoted => {
                escaped = true;
                false
            }
            '"' => {
                quoted = !quoted;
                false
            }
            _ => !quoted,
        }
    })
}

/// `local@domain` (RFC 5322 §3.4.1).
fn addr_spec(addr: &str) -> Result<(), String> {
    if addr.is_empty() {
        return Err("the <…> is empty".into());
    }
    let ats = unquoted(addr).filter(|&c| c == '@').count();
    if ats == 0 {
        return Err("it has no @".into());
    }
    if ats > 1 {
        return Err("it has more than one @ (is a comma missing between two addresses?)".into());
    }
    if addr.contains(char::is_whitespace) && !addr.starts_with('"') {
        return Err("it has a space in it".into());
    }
    let (local, domain) = addr.rsplit_once('@').unwrap_or(("", addr));
    if local.is_empty() {
        return Err("nothing before the @".into());
    }
    if domain.is_empty() {
        return Err("no domain after the @".into());
    }
    if !(local.starts_with('"') && local.ends_with('"') && local.len() >= 2) {
        dot_atom(local, "the part before the @")?;
    }
    if !(domain.starts_with('[') && domain.ends_with(']')) {
        dot_atom(domain, "the domain")?;
    }
    Ok(())
}

/// Words of `atext` joined by single dots.
fn dot_atom(s: &str, what: &str) -> Result<(), String> {
    if s.split('.').any(str::is_empty) {
        return Err(format!(
            "{what} starts or ends with a dot, or has two in a row"
        ));
    }
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    match s.chars().find(|&c| !atext(c)) {
        Some(c) => Err(format!("{what} has a {c:?}, which must be quoted")),
        None => Ok(()),
    }
}
