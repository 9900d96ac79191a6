//! The HTML part of a message: Markdown rendered (CommonMark, with
//! tables and strikethrough, by pulldown-cmark), and the text part of a
//! ready HTML body.
//!
//! Raw HTML written in Markdown is shown as text, not passed through: a
//! body typed in the composer cannot carry a script or a hidden tracking
//! image into the message by accident.

use pulldown_cmark::{Event, Options, Parser, html};

/// A whole HTML document for `markdown`.
pub fn from_markdown(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut body = String::new();
    html::push_html(&mut body, events);
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// Elements whose end starts a new paragraph in the text.
const BLOCKS: [&str; 14] = [
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "blockquote",
    "pre",
    "hr",
];

/// The readable text of an HTML body, for the text part sent beside it:
/// tags dropped (with `<script>`, `<style>` and `<head>` and what they
/// hold), paragraphs and line breaks kept, list items marked, links
/// followed by their address, entities decoded.
pub fn to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skip_until: Option<String> = None;
    let mut pre = 0usize;
    let mut link: Option<String> = None;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip_until.is_none() {
                push_text(&mut out, rest, pre > 0);
            }
            break;
        };
        if skip_until.is_none() {
            push_text(&mut out, &rest[..lt], pre > 0);
        }
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |i| &comment[i + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(until) = &skip_until {
            if closing && &name == until {
                skip_until = None;
            }
            continue;
        }
        match name.as_str() {
            "script" | "style" | "head" | "title" if !closing => skip_until = Some(name),
            "br" => out.push('\n'),
            "li" if !closing => {
                new_line(&mut out);
                out.push_str("- ");
            }
            "tr" if closing => new_line(&mut out),
            "td" | "th" if closing => out.push('\t'),
            "pre" if closing => {
                pre = pre.saturating_sub(1);
                paragraph(&mut out);
            }
            "pre" => {
                pre += 1;
                paragraph(&mut out);
            }
            "a" if !closing => link = attribute(tag, "href"),
            "a" => {
                if let Some(href) = link.take().filter(|h| !h.starts_with('#')) {
                    let href = decode_entities(&href);
                    if !out.trim_end().ends_with(href.as_str()) {
                        out.push_str(&format!(" <{href}>"));
                    }
                }
            }
            n if BLOCKS.contains(&n) => paragraph(&mut out),
            _ => {}
        }
    }
    let text: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut joined = String::new();
    let mut blank = 0;
    for line in text {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !joined.is_empty() {
            joined.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        joined.push_str(line);
    }
    joined.push('\n');
    joined
}

/// Text between tags: white space runs become one space outside `<pre>`.
fn push_text(out: &mut String, text: &str, pre: bool) {
    let text = decode_entities(text);
    if pre {
        out.push_str(&text);
        return;
    }
    for (i, word) in text.split_whitespace().enumerate() {
        let at_start = out.is_empty() || out.ends_with(['\n', ' ', '\t']);
        if i > 0 || (!at_start && text.starts_with(char::is_whitespace)) {
            out.push(' ');
        }
        out.push_str(word);
    }
    if text.ends_with(char::is_whitespace) && !text.trim().is_empty() {
        out.push(' ');
    }
}

fn new_line(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn paragraph(out: &mut String) {
    new_line(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// The value of `name="…"` (or `'…'`) in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        value[1..].split(quote).next().map(str::to_owned)
    } else {
        value.split_whitespace().next().map(str::to_owned)
    }
}

/// The named entities most often met in mail besides the five of XML.
const NAMED: [(&str, char); 22] = [
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("cent", '¢'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("deg", '°'),
    ("middot", '·'),
    ("bull", '•'),
    ("hellip", '…'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("eacute", 'é'),
    ("uuml", 'ü'),
    ("times", '×'),
];

/// `&amp;`, `&lt;`, `&#233;`, `&#xE9;`, `&euro;`… decoded; unknown ones kept.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|&i| i <= 10);
        let decoded = end.and_then(|i| {
            let name = &rest[1..i];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ if NAMED.iter().any(|(n, _)| *n == name) => {
                    NAMED.iter().find(|(n, _)| *n == name)?.1
                }
                _ => {
                    let n = name.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, i + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_a_document_and_raw_html_stays_text() {
        let html = from_markdown(
            "# Hi\n\n*Grüße* and `code`\n\n<script>x()</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(html.contains("<em>Grüße</em>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn html_reads_as_text() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\
                    <h1>Report</h1><p>Hello&nbsp;<b>Ada</b>,\n   caf&eacute; &amp; caf&#233;</p>\
                    <ul><li>one</li><li>two</li></ul><p>See <a href=\"https://example.org/x?a=1&amp;b=2\">the page</a>.\
                    <br>Bye</p><!-- hidden --><script>alert(1)</script><pre>  two  spaces\n kept</pre></body></html>";
        assert_eq!(
            to_text(html),
            "Report\n\nHello Ada, café & café\n\n- one\n- two\n\n\
             See the page <https://example.org/x?a=1&b=2>.\nBye\n\n  two  spaces\n kept\n"
        );
        assert_eq!(to_text("plain"), "plain\n");
    }
}
