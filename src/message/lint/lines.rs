//! A message cut into lines, each with what was wrong with its ending.

/// A line without its ending, and what was wrong with the ending.
pub(super) struct Line<'a> {
    pub bytes: &'a [u8],
    pub bad_ending: Option<&'static str>,
}

/// Splits at LF; a line ends well in CRLF, badly in a bare LF. A bare CR
/// inside a line stays in it (and is reported).
pub(super) fn split(message: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let (line, next, bad_ending) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && rest[i - 1] == b'\r' => (&rest[..i - 1], &rest[i + 1..], None),
            Some(i) => (&rest[..i], &rest[i + 1..], Some("LF")),
            None => (rest, &rest[rest.len()..], None),
        };
        lines.push(Line {
            bytes: line,
            bad_ending,
        });
        rest = next;
    }
    lines
}
