use super::*;

const LIMITS: Limits = Limits {
    max_size: 1000,
    max_recipients: 3,
    max_line: 100,
};

struct Harness {
    session: Session,
    delivered: Vec<Delivery>,
    last_action: Action,
}

impl Harness {
    fn new() -> Harness {
        let mut session = Session::new(LIMITS);
        let greeting = String::from_utf8(session.take_output()).unwrap();
        assert_eq!(
            greeting,
            "220 postscope.sandbox Postscope sandbox ESMTP ready\r\n"
        );
        Harness {
            session,
            delivered: Vec::new(),
            last_action: Action::Continue,
        }
    }

    /// Feeds bytes and returns the reply lines they produced.
    fn send(&mut self, bytes: &[u8]) -> Vec<String> {
        self.session.input(bytes);
        let delivered = &mut self.delivered;
        let mut deliver = |d: Delivery| {
            delivered.push(d);
            Ok(delivered.len() as u64)
        };
        self.last_action = self.session.process(&mut deliver);
        let out = String::from_utf8(self.session.take_output()).unwrap();
        out.split_terminator("\r\n").map(str::to_owned).collect()
    }

    fn ehlo(&mut self) {
        let lines = self.send(b"EHLO client.example\r\n");
        assert_eq!(lines[0], "250-postscope.sandbox Hello client.example");
    }
}

fn codes(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| &l[..3]).collect()
}

#[test]
fn ehlo_lists_exactly_what_is_implemented() {
    let mut h = Harness::new();
    let lines = h.send(b"EHLO client.example\r\n");
    assert_eq!(
        lines,
        [
            "250-postscope.sandbox Hello client.example",
            "250-SIZE 1000",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250-PIPELINING",
            "250-ENHANCEDSTATUSCODES",
            "250-STARTTLS",
            "250-AUTH PLAIN LOGIN",
            "250-CHUNKING",
            "250 DSN",
        ]
    );
    h.session.tls_started();
    let lines = h.send(b"EHLO client.example\r\n");
    assert!(!lines.iter().any(|l| l.contains("STARTTLS")));
}

#[test]
fn pipelined_transaction_with_dot_unstuffing() {
    let mut h = Harness::new();
    h.ehlo();
    let lines = h.send(
        b"MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=40\r\nRCPT TO:<b@example.org>\r\n\
          RCPT TO:<c@example.org>\r\nDATA\r\n",
    );
    assert_eq!(codes(&lines), ["250", "250", "250", "354"]);
    assert_eq!(lines[0], "250 2.1.0 Sender <a@example.org> OK");
    // The data arrives in pieces, with a stuffed dot split across them.
    assert!(h.send(b"Subject: x\r\n\r\n.").is_empty());
    assert!(h.send(b".leading dot\r\nend\r").is_empty());
    let lines = h.send(b"\n.\r\nQUIT\r\n");
    assert_eq!(lines[0], "250 2.0.0 Ok: queued as 1");
    assert_eq!(lines[1], "221 2.0.0 postscope.sandbox closing connection");
    assert_eq!(h.last_action, Action::Close);
    let d = &h.delivered[0];
    assert_eq!(d.raw, b"Subject: x\r\n\r\n.leading dot\r\nend\r\n");
    assert_eq!(d.mail_from, "a@example.org");
    assert_eq!(d.rcpt_to, ["b@example.org", "c@example.org"]);
    assert!(!d.tls);
    assert_eq!(d.auth_user, None);
}

#[test]
fn first_data_line_may_be_a_dot() {
    let mut h = Harness::new();
    h.ehlo();
    let lines = h.send(b"MAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n.\r\n");
    assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
    assert_eq!(h.delivered[0].raw, b"");
    assert_eq!(h.delivered[0].mail_from, "");
    let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n..x\r\n.\r\n");
    assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
    assert_eq!(h.delivered[1].raw, b".x\r\n");
}

#[test]
fn commands_out_of_sequence() {
    let mut h = Harness::new();
    let lines = h.send(b"MAIL FROM:<a@example.org>\r\n");
    assert_eq!(lines, ["503 5.5.1 Send EHLO or HELO first"]);
    let lines = h.send(b"HELO client\r\n");
    assert_eq!(lines, ["250 postscope.sandbox Hello client"]);
    let lines = h.send(b"RCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(codes(&lines), ["503", "503"]);
    let lines = h.send(b"MAIL FROM:<a@example.org>\r\nDATA\r\nMAIL FROM:<a@example.org>\r\n");
    assert_eq!(codes(&lines), ["250", "503", "503"]);
    assert_eq!(lines[1], "503 5.5.1 Need RCPT command first");
    assert_eq!(lines[2], "503 5.5.1 Nested MAIL command");
    let lines = h.send(b"RSET\r\nNOOP\r\nVRFY bob\r\nHELP\r\nEXPN list\r\nFOO bar\r\n");
    assert_eq!(codes(&lines), ["250", "250", "252", "214", "502", "500"]);
    let lines =
        h.send(b"MAIL FROM:<a@example.org> MT-PRIORITY=3\r\nMAIL FROM:<a@example.org> XYZ=1\r\n");
    assert_eq!(codes(&lines), ["555", "555"]);
    let lines = h.send(b"MAIL FROM:<not an address>\r\n");
    assert_eq!(codes(&lines), ["501"]);
    assert!(h.delivered.is_empty());
}

#[test]
fn limits_lines_recipients_and_size() {
    let mut h = Harness::new();
    h.ehlo();
    // A line over the limit, in two pieces, then the session goes on.
    let long = vec![b'x'; 150];
    let lines = h.send(&long);
    assert_eq!(lines, ["500 5.5.2 Line too long"]);
    assert!(h.send(b"yyy\r\n").is_empty());
    assert_eq!(codes(&h.send(b"NOOP\r\n")), ["250"]);
    // A complete line over the limit.
    let mut line = b"NOOP ".to_vec();
    line.extend(vec![b'z'; 120]);
    line.extend(b"\r\nNOOP\r\n");
    assert_eq!(codes(&h.send(&line)), ["500", "250"]);

    // Recipients.
    let lines = h.send(
        b"MAIL FROM:<a@x.org>\r\nRCPT TO:<1@x.org>\r\nRCPT TO:<2@x.org>\r\n\
          RCPT TO:<3@x.org>\r\nRCPT TO:<4@x.org>\r\nRSET\r\n",
    );
    assert_eq!(codes(&lines), ["250", "250", "250", "250", "452", "250"]);
    assert!(lines[4].starts_with("452 4.5.3 Too many recipients"));

    // Declared size over the limit.
    let lines = h.send(b"MAIL FROM:<a@x.org> SIZE=1001\r\n");
    assert_eq!(
        lines[0],
        "552 5.3.4 Message size exceeds fixed limit of 1000 bytes"
    );

    // Actual size over the limit: read to the end, refused, not stored.
    let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n");
    assert_eq!(codes(&lines), ["250", "250", "354"]);
    for _ in 0..30 {
        assert!(h.send(&[b'a'; 99]).is_empty());
        assert!(h.send(b"\r\n").is_empty());
    }
    let lines = h.send(b".\r\nNOOP\r\n");
    assert_eq!(codes(&lines), ["552", "250"]);
    assert!(lines[0].starts_with("552 5.3.4"));
    assert!(h.delivered.is_empty());
}

#[test]
fn chunking() {
    let mut h = Harness::new();
    h.ehlo();
    let lines = h.send(
        b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 5\r\nhel\r\nBDAT 4 LAST\r\n\r\n.\n",
    );
    assert_eq!(codes(&lines), ["250", "250", "250", "250"]);
    assert_eq!(lines[2], "250 2.0.0 5 octets received");
    assert_eq!(h.delivered[0].raw, b"hel\r\n\r\n.\n");
    // BDAT 0 LAST ends a message; DATA after BDAT is refused.
    let lines =
        h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 2\r\nokDATA\r\nBDAT 0 LAST\r\n");
    assert_eq!(codes(&lines), ["250", "250", "250", "503", "250"]);
    assert_eq!(h.delivered[1].raw, b"ok");
    // BDAT out of sequence: its chunk is still skipped, not read as commands.
    let lines = h.send(b"BDAT 6\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(codes(&lines), ["503", "250"]);
    // Over the size limit: skipped, refused, transaction reset.
    let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 1001 LAST\r\n");
    assert_eq!(codes(&lines), ["250", "250"]);
    assert!(h.send(&[b'q'; 1000]).is_empty());
    let lines = h.send(b"qRCPT TO:<c@x.org>\r\n");
    assert_eq!(codes(&lines), ["552", "503"]);
    assert_eq!(h.delivered.len(), 2);
}

#[test]
fn auth_plain_and_login_accept_anyone() {
    let mut h = Harness::new();
    let lines = h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\n");
    assert_eq!(codes(&lines), ["503"]);
    h.ehlo();
    // PLAIN with an initial response: \0sandbox\0sandbox.
    let lines = h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\n");
    assert_eq!(codes(&lines), ["235"]);
    assert_eq!(
        codes(&h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\n")),
        ["503"]
    );
    let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nhi\r\n.\r\n");
    assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
    assert_eq!(h.delivered[0].auth_user.as_deref(), Some("sandbox"));

    // LOGIN, step by step, then PLAIN without an initial response.
    let mut h = Harness::new();
    h.ehlo();
    assert_eq!(h.send(b"AUTH LOGIN\r\n"), ["334 VXNlcm5hbWU6"]);
    assert_eq!(h.send(b"Ym9i\r\n"), ["334 UGFzc3dvcmQ6"]);
    assert_eq!(codes(&h.send(b"eHl6\r\n")), ["235"]);
    assert_eq!(h.session.auth_user.as_deref(), Some("bob"));

    let mut h = Harness::new();
    h.ehlo();
    assert_eq!(h.send(b"AUTH PLAIN\r\n"), ["334 "]);
    assert_eq!(codes(&h.send(b"*\r\n")), ["501"]);
    assert_eq!(codes(&h.send(b"AUTH PLAIN\r\n!!!\r\n")), ["334", "501"]);
    assert_eq!(codes(&h.send(b"AUTH CRAM-MD5\r\n")), ["504"]);
    assert_eq!(codes(&h.send(b"AUTH LOGIN Ym9i\r\n")), ["334"]);
    assert_eq!(codes(&h.send(b"pw\r\n")), ["235"]);
}

#[test]
fn starttls_drops_what_was_pipelined_after_it() {
    let mut h = Harness::new();
    h.ehlo();
    let lines =
        h.send(b"AUTH PLAIN AHNhbmRib3gAc2FuZGJveA==\r\nSTARTTLS\r\nMAIL FROM:<evil@x.org>\r\n");
    assert_eq!(codes(&lines), ["235", "220"]);
    assert_eq!(h.last_action, Action::StartTls);
    h.session.tls_started();
    assert!(h.session.tls);
    assert!(h.session.input.is_empty());
    // The session starts afresh: no EHLO, no login, no sender.
    assert_eq!(codes(&h.send(b"MAIL FROM:<a@x.org>\r\n")), ["503"]);
    h.ehlo();
    assert_eq!(h.session.auth_user, None);
    assert_eq!(codes(&h.send(b"STARTTLS\r\n")), ["503"]);
    let lines = h.send(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
    assert_eq!(codes(&lines), ["250", "250", "354", "250"]);
    assert!(h.delivered[0].tls);
}

#[test]
fn a_storage_failure_is_a_temporary_error() {
    let mut s = Session::new(LIMITS);
    s.input(b"EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
    let mut deliver = |_: Delivery| Err("disk full".to_owned());
    assert_eq!(s.process(&mut deliver), Action::Continue);
    let out = String::from_utf8(s.take_output()).unwrap();
    assert!(
        out.ends_with("451 4.3.0 Message not stored: disk full\r\n"),
        "{out}"
    );
}

#[test]
fn timeout_reply() {
    let mut s = Session::new(LIMITS);
    s.take_output();
    s.close_with(EnhancedCode::TIMED_OUT, "Error: timeout exceeded");
    assert_eq!(
        s.take_output(),
        b"421 4.4.2 postscope.sandbox Error: timeout exceeded\r\n"
    );
    assert_eq!(
        s.take_incidents(),
        ["closed: 421 4.4.2 postscope.sandbox Error: timeout exceeded"]
    );
}
