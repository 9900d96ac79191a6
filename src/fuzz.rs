//! Entry points for the fuzz targets in `fuzz/` and for the property tests
//! below: each reads arbitrary bytes as a hostile peer or a corrupt file
//! would send them and checks what must hold, panicking if it does not.
//! Not part of the API (hidden from the docs); `scripts/fuzz.sh` runs them.

use crate::message::lint;
use crate::sandbox::session::{Limits, Session as SandboxSession};
use crate::smtp::capability::{Capabilities, Capability};
use crate::smtp::dot_stuff::DotStuffer;
use crate::smtp::reply::{EnhancedCode, MAX_LINE_LEN, Parsed, Reply, ReplyCode, ReplyParser};
use crate::smtp::sasl;
use crate::smtp::transcript;
use crate::store::mail::{DraftRecord, SentRecord};
use crate::store::settings::Settings;

/// A fuzz target: bytes in, a panic when something that must hold does not.
pub type Target = fn(&[u8]);

/// Every fuzz target, by name, as `scripts/fuzz.sh` and the seed test list
/// them.
pub const TARGETS: [(&str, Target); 9] = [
    ("reply_parser", reply_parser),
    ("capabilities", capabilities),
    ("sandbox_session", sandbox_session),
    ("transcript_jsonl", transcript_jsonl),
    ("settings", settings),
    ("records", records),
    ("lint", lint_message),
    ("sasl", sasl_decoding),
    ("dot_stuffing", dot_stuffing),
];

/// The reply parser on a server's bytes: no panic, bounded buffering, and
/// every reply it yields encodes and parses back to itself.
pub fn reply_parser(data: &[u8]) {
    let mut parser = ReplyParser::default();
    // Fed in two pieces, split where the first byte says.
    let cut = data
        .first()
        .map_or(0, |b| usize::from(*b) % (data.len() + 1));
    for piece in [&data[..cut], &data[cut..]] {
        parser.push(piece);
        loop {
            match parser.next_line() {
                Ok(None) | Err(_) => break,
                Ok(Some(Parsed::Line(_))) => {}
                Ok(Some(Parsed::Reply(_, reply))) => round_trip(&reply),
            }
        }
        // What a reply that never ends can make it hold.
        assert!(parser.buffered() <= MAX_LINE_LEN + piece.len(), "unbounded");
    }
}

/// Encoded and parsed again, a reply is itself, its control characters
/// (which encoding spaces out) aside.
fn round_trip(reply: &Reply) {
    let spaced = |t: &String| -> String {
        t.chars()
            .map(|c| {
                if c.is_ascii_control() && c != '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect()
    };
    let lines: Vec<String> = reply.lines.iter().map(spaced).collect();
    // Spaced out, `5.1.1\x01text` reads as an enhanced code: as the parser does.
    let enhanced = lines
        .first()
        .and_then(|l| EnhancedCode::parse_prefix(l))
        .map(|(e, _)| e);
    let reply = &Reply {
        lines,
        enhanced,
        code: reply.code,
    };
    let mut wire = Vec::new();
    reply.encode(&mut wire);
    let mut again = ReplyParser::default();
    again.push(&wire);
    let mut got = None;
    while let Ok(Some(parsed)) = again.next_line() {
        if let Parsed::Reply(_, r) = parsed {
            got = Some(r);
        }
    }
    assert_eq!(
        got.as_ref(),
        Some(reply),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
}

/// An EHLO reply's lines: no panic, and every extension understood reads
/// back the same from the way it is shown.
pub fn capabilities(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let caps = Capabilities::from_ehlo(&Reply::multiline(ReplyCode::OK, lines));
    for cap in &caps.extensions {
        let shown = cap.to_string();
        assert_eq!(Capability::parse(&shown).as_ref(), Some(cap), "{shown:?}");
        let _ = cap.describe();
    }
    let _ = (caps.size_limit(), caps.auth_mechanisms());
}

/// The sandbox's session on a client's bytes: no panic, every reply it
/// writes is well formed, and nothing over its limits is kept.
pub fn sandbox_session(data: &[u8]) {
    let limits = Limits {
        max_size: 4096,
        max_recipients: 3,
        max_line: 512,
    };
    let mut session = SandboxSession::new(limits);
    let mut out = session.take_output();
    let mut kept = Vec::new();
    for piece in data.chunks(usize::from(data.first().copied().unwrap_or(1)).max(1)) {
        session.input(piece);
        let action = session.process(&mut |d| {
            kept.push(d);
            Ok(kept.len() as u64)
        });
        out.extend(session.take_output());
        let _ = (session.waiting(), session.take_incidents());
        if action != crate::sandbox::session::Action::Continue {
            // STARTTLS would start a handshake here; QUIT ends it.
            break;
        }
    }
    let mut parser = ReplyParser::default();
    parser.push(&out);
    loop {
        match parser.next_line() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!("the sandbox wrote a bad reply: {e}: {out:?}"),
        }
    }
    assert_eq!(parser.buffered(), 0, "a reply without its CRLF");
    for d in &kept {
        assert!(d.raw.len() as u64 <= limits.max_size);
        assert!(!d.rcpt_to.is_empty() && d.rcpt_to.len() <= limits.max_recipients);
    }
}

/// A transcript file someone shared: no panic.
pub fn transcript_jsonl(data: &[u8]) {
    let _ = transcript::parse_jsonl(&String::from_utf8_lossy(data));
}

/// The settings file: no panic, and what loads saves and loads the same.
pub fn settings(data: &[u8]) {
    if let Ok(s) = serde_json::from_slice::<Settings>(data) {
        let saved = serde_json::to_vec(&s).expect("settings serialise");
        let again: Settings = serde_json::from_slice(&saved).expect("saved settings load");
        assert_eq!(again, s);
    }
}

/// Draft and sent records: no panic, and what loads saves and loads the same.
pub fn records(data: &[u8]) {
    if let Ok(r) = serde_json::from_slice::<DraftRecord>(data) {
        let again: DraftRecord = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }
    if let Ok(r) = serde_json::from_slice::<SentRecord>(data) {
        let again: SentRecord = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }
}

/// The linter on any message: no panic, and every finding on a real line.
pub fn lint_message(data: &[u8]) {
    let lines = data.split(|b| *b == b'\n').count();
    for f in lint::lint(data) {
        assert!(f.line <= lines, "line {} of {lines}: {f}", f.line);
    }
}

/// The SASL decoders on a client's or server's words: no panic, and PLAIN
/// reads back what it wrote.
pub fn sasl_decoding(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = (
        sasl::read_plain(&text),
        sasl::read_login(&text),
        sasl::decode_challenge(&text),
        sasl::is_cancel(&text),
    );
    let (user, password) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let creds = sasl::Credentials {
        user: user.to_owned(),
        secret: sasl::Secret::Password(password.to_owned()),
    };
    // (An empty user is not a PLAIN login the sandbox accepts.)
    if let Ok(response) = sasl::plain_response(&creds)
        .map_err(|_| ())
        .and_then(|r| if user.is_empty() { Err(()) } else { Ok(r) })
    {
        let read = sasl::read_plain(&response).expect("our own PLAIN reads back");
        assert_eq!(
            (read.user.as_str(), read.password.as_str()),
            (user, password)
        );
    }
}

/// Dot-stuffing, fed in pieces, undone by the sandbox's own DATA reader:
/// the message comes back with its line ends made CRLF, nothing else.
pub fn dot_stuffing(data: &[u8]) {
    let step = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let encode = |mut stuffer: DotStuffer| {
        let mut out = Vec::new();
        for piece in data.chunks(step) {
            stuffer.encode(piece, &mut out);
        }
        stuffer.finish(&mut out);
        out
    };
    let expected = encode(DotStuffer::lines_only());
    let stuffed = encode(DotStuffer::default());
    assert!(
        stuffed == b".\r\n" || stuffed.ends_with(b"\r\n.\r\n"),
        "{stuffed:?}"
    );
    let body = &stuffed[..stuffed.len() - 3];
    assert!(
        !body.windows(5).any(|w| w == b"\r\n.\r\n") && !body.starts_with(b".\r\n"),
        "an early end: {stuffed:?}"
    );
    let mut unstuffed = Vec::new();
    let mut rx = smtp_proto::request::receiver::DataReceiver::new();
    let mut primer = Vec::new();
    rx.ingest(&mut b"\r\n".iter(), &mut primer);
    assert!(
        rx.ingest(&mut stuffed.iter(), &mut unstuffed),
        "the end was found"
    );
    assert_eq!(unstuffed, expected);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The seed corpus (`fuzz/corpus/<target>/`) is checked in; each seed
    /// and every crash found and fixed stays a test here.
    #[test]
    fn every_seed_passes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut seen = 0;
        for (name, target) in TARGETS {
            let dir = root.join(name);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries {
                let path = entry.unwrap().path();
                target(&std::fs::read(&path).unwrap());
                seen += 1;
            }
        }
        assert!(seen >= TARGETS.len(), "{seen} seeds");
    }

    /// Bytes that look like SMTP: lines of protocol words, codes and noise.
    fn smtp_like() -> impl Strategy<Value = Vec<u8>> {
        let word = prop_oneof![
            Just(b"250".to_vec()),
            Just(b"250-".to_vec()),
            Just(b"354 ".to_vec()),
            Just(b"EHLO x\r\n".to_vec()),
            Just(b"MAIL FROM:<a@b.c> SIZE=10\r\n".to_vec()),
            Just(b"RCPT TO:<d@e.f> NOTIFY=NEVER\r\n".to_vec()),
            Just(b"DATA\r\n".to_vec()),
            Just(b"BDAT 3 LAST\r\n".to_vec()),
            Just(b"AUTH PLAIN\r\n".to_vec()),
            Just(b".\r\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..12),
        ];
        proptest::collection::vec(word, 0..24).prop_map(|w| w.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn dot_stuffing_round_trips(data in smtp_like()) {
            dot_stuffing(&data);
        }

        #[test]
        fn replies_round_trip(data in smtp_like()) {
            reply_parser(&data);
        }

        #[test]
        fn replies_made_by_the_sandbox_parse(class in 2u16..6, subject in 0u16..6,
            detail in 0u16..10, lines in proptest::collection::vec("[ -~]{0,40}", 1..6)) {
            let mut reply = Reply::multiline(ReplyCode(class * 100 + subject * 10 + detail), lines);
            // A first line that starts like `5.1.1 ` carries an enhanced code.
            reply.enhanced = EnhancedCode::parse_prefix(&reply.lines[0]).map(|(e, _)| e);
            round_trip(&reply);
        }

        #[test]
        fn capabilities_render_and_parse(data in smtp_like()) {
            capabilities(&data);
        }

        #[test]
        fn the_sandbox_answers_anything_well(data in smtp_like()) {
            sandbox_session(&data);
        }

        #[test]
        fn the_linter_takes_anything(data in smtp_like()) {
            lint_message(&data);
        }

        #[test]
        fn sasl_plain_reads_back(data in any::<Vec<u8>>()) {
            sasl_decoding(&data);
        }
    }
}
