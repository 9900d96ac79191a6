//! What the Learn view says: one explanation per step of the walk, and short
//! pages on the ideas around a send.

use super::steps::Step;

/// What a step's lines show, in a few sentences.
pub fn explain(step: Step) -> &'static str {
    match step {
        Step::Connect => {
            "Postscope looks the server's name up, opens a TCP connection to its \
             port, and waits. An SMTP server speaks first: its greeting starts with \
             220 (\"service ready\") and usually names the host. A server that is busy \
             or refuses you says 421 or 554 here and closes. Nothing has been said \
             about mail yet."
        }
        Step::Ehlo => {
            "The client introduces itself with EHLO and its own name (here an \
             address literal in brackets). The server answers with a multi-line 250: \
             every line but the last has a dash after the code (250-), the last a \
             space. Each line after the first names an extension the server \
             supports: SIZE (the largest message it takes), 8BITMIME and SMTPUTF8 \
             (8-bit and UTF-8 mail), PIPELINING (commands may be sent without \
             waiting), STARTTLS, AUTH with its mechanisms, CHUNKING (BDAT), DSN \
             (delivery notices). Postscope uses only what is offered. The old HELO \
             gets no list: that is plain SMTP rather than ESMTP."
        }
        Step::StartTls => {
            "STARTTLS asks to upgrade this same connection to TLS; 220 means \"go \
             ahead\". Then comes the TLS handshake: the server proves its name with \
             a certificate, which Postscope checks against the system's trusted CAs \
             (the sandbox has its own CA, so its certificate is reported as not \
             verified by the system). From here on every line is encrypted: the \
             arrows in the transcript turn double. The client must say EHLO again, because the \
             server forgets everything said before TLS, and the list it gets back \
             may differ: AUTH is often offered only now."
        }
        Step::Auth => {
            "AUTH logs in. With PLAIN the user name and password travel in one \
             base64 line, which Postscope shows as <redacted>: base64 is an \
             encoding, not encryption, which is why this should only ever happen \
             inside TLS. With LOGIN the server asks with 334 challenges (base64 of \
             \"Username:\" and \"Password:\"). 235 means logged in; 535 means the \
             credentials were refused. The sandbox accepts any password."
        }
        Step::Envelope => {
            "MAIL FROM and RCPT TO are the envelope: where the message comes from \
             (and where bounces go) and who it is delivered to, one RCPT per \
             recipient. They are not the From: and To: you see in a mail program — \
             those are headers inside the message, and servers deliver by the \
             envelope alone. That is how Bcc works: a Bcc recipient gets an RCPT \
             but appears in no header. Each gets its own reply: 250 2.1.0 for the \
             sender, 250 2.1.5 per accepted recipient, 550 5.1.1 for an unknown \
             one. With PIPELINING the commands go out together and the replies come \
             back in order."
        }
        Step::Message => {
            "Now the message itself: headers, a blank line, the body, attachments \
             in MIME parts. With DATA the server answers 354, the client sends the \
             lines, and a line holding a single dot ends them (a line of the \
             message that starts with a dot gets a second one, so it cannot end the \
             data early). With CHUNKING the client says BDAT and the exact number \
             of bytes, and sends them as they are: no dot, no escaping; LAST marks \
             the final chunk. Postscope prefers BDAT when the server offers it."
        }
        Step::Accepted => {
            "The 250 after the message is the one that counts: the server has \
             taken responsibility for it. Most servers add a queue id (\"queued \
             as 1\") — the name of this message in the server's logs, the thing to \
             quote when you ask a mail administrator what became of it. A 4xx \
             here means try later; a 5xx, it will never be taken. Delivery to the \
             recipient's mailbox happens afterwards, server to server."
        }
        Step::Quit => {
            "QUIT says goodbye; 221 is the server's. Either side then closes the \
             connection. Several messages can be sent in one session before QUIT \
             (RSET in between starts a fresh envelope). A connection that ends \
             without QUIT is not an error for the message once its 250 came."
        }
    }
}

/// The short pages below the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Ports 25, 465, 587, 2525.
    Ports,
    /// MSA, MTA, MDA and MX records.
    Chain,
    /// Reply codes: 2xx to 5xx, enhanced codes.
    Replies,
    /// ESMTP vs SMTP.
    Esmtp,
    /// SMTP vs IMAP and POP.
    ImapPop,
    /// Testing servers like the sandbox.
    Testing,
}

impl Page {
    /// Every page, in order.
    pub const ALL: [Page; 6] = [
        Page::Ports,
        Page::Chain,
        Page::Replies,
        Page::Esmtp,
        Page::ImapPop,
        Page::Testing,
    ];

    /// Its heading.
    pub fn title(self) -> &'static str {
        match self {
            Page::Ports => "Ports 25, 465, 587 and 2525",
            Page::Chain => "From your app to a mailbox: MSA, MTA, MDA and MX",
            Page::Replies => "Reply codes: 2xx, 3xx, 4xx, 5xx and enhanced codes",
            Page::Esmtp => "SMTP and ESMTP",
            Page::ImapPop => "SMTP, IMAP and POP",
            Page::Testing => "What a testing server is",
        }
    }

    /// Its text.
    pub fn text(self) -> &'static str {
        match self {
            Page::Ports => {
                "25 is for servers handing mail to servers (relay, MX delivery); home \
                 and cloud networks often block it outbound. 587 is submission: where \
                 you, a person or an app, hand mail to your provider, with a login, \
                 after STARTTLS (RFC 6409). 465 is submission with TLS from the first \
                 byte (\"implicit TLS\", RFC 8314) — the recommended one today; a \
                 plain client connecting there sees nothing at all, which is why \
                 Postscope suggests --tls implicit when a server stays silent. 2525 is \
                 no standard: providers offer it where 587 is blocked. The sandbox \
                 listens on a free port on 127.0.0.1."
            }
            Page::Chain => {
                "Your mail program or app submits to a Mail Submission Agent (MSA, \
                 port 587/465, with a login). It hands the message to a Mail Transfer \
                 Agent (MTA) that relays it to the recipient's domain: it looks up the \
                 domain's MX records in DNS (the hosts that take its mail, by \
                 preference; the domain's own address if there are none) and speaks \
                 SMTP to one of them on port 25. There a Mail Delivery Agent (MDA, e.g. \
                 Dovecot over LMTP) puts it in the mailbox. Each hop adds a Received: \
                 header. Postscope is the first link: it talks to the server you give."
            }
            Page::Replies => {
                "Every reply starts with three digits. The first says how it went: 2 \
                 done, 3 go on (354 send the data, 334 an AUTH challenge), 4 not now — \
                 a temporary failure worth retrying later (421 closing, 450 mailbox \
                 busy, 451 local error, 452 out of storage), 5 never — a permanent \
                 failure, do not retry unchanged (550 no such user or policy, 552 too \
                 big, 554 refused, 535 bad credentials). The second digit is the \
                 subject (0 syntax, 1 information, 2 connection, 5 mail system). \
                 Enhanced status codes (RFC 3463), like 5.1.1, add a class.subject.detail \
                 after the code: 5.1.1 bad destination mailbox, 5.7.1 not allowed, \
                 4.7.0 try later for security reasons, 5.7.30 basic authentication \
                 not supported. Hover a reply in the transcript for its meaning."
            }
            Page::Esmtp => {
                "SMTP (RFC 5321, first RFC 821 in 1982) has a handful of commands: \
                 HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY. Extended SMTP adds a \
                 way to learn what else a server can do: the client says EHLO instead \
                 of HELO and the server lists its extensions, each in its own RFC — \
                 SIZE, 8BITMIME, PIPELINING, STARTTLS, AUTH, CHUNKING, DSN, SMTPUTF8. \
                 Every server today speaks ESMTP; HELO remains for very old clients."
            }
            Page::ImapPop => {
                "SMTP only sends: it moves a message towards a mailbox and never reads \
                 one. Reading is IMAP (the mailbox stays on the server, folders and \
                 flags synchronised across devices, port 993 with TLS) or the older POP3 \
                 (download and usually delete, port 995). A mail program speaks both: \
                 SMTP to send, IMAP to read. Postscope is about the sending half."
            }
            Page::Testing => {
                "A testing server (a \"mail catcher\" or sandbox: Postscope's own, \
                 Mailpit, MailHog, smtp4dev) speaks SMTP like a real one but delivers \
                 nothing: it keeps each message to be looked at. Point an app's SMTP \
                 settings at it during development and no real person gets a test \
                 mail. Postscope's sandbox runs inside the app on 127.0.0.1, offers \
                 STARTTLS with its own CA and accepts any login; the Sandbox inbox and \
                 `postscope sandbox` show what arrived, with the lint findings."
            }
        }
    }
}
