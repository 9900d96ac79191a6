//! What a session is told before it starts: how to secure the connection,
//! whether to log in, what to send, how long to wait, where to stop.

use std::time::Duration;

use crate::smtp::command::{ClientId, Command, MailParam, RcptParam};
use crate::smtp::dsn::{self, Dsn};
use crate::smtp::error::Stage;
use crate::smtp::sasl::{Credentials, Mechanism};

/// How the connection is secured: the one type for it, used by the engine,
/// saved accounts (as `"starttls"`, `"implicit"`, `"opportunistic"`,
/// `"none"`), the console and the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// STARTTLS is required: without it nothing but EHLO and QUIT is sent.
    StartTls,
    /// TLS from the first byte (RFC 8314, usually port 465).
    Implicit,
    /// STARTTLS when offered, else clear text, but never AUTH in clear text.
    Opportunistic,
    /// Clear text throughout. Anyone on the path can read everything.
    None,
}

impl TlsMode {
    /// Every mode, strongest first (the order menus list them in).
    pub const ALL: [TlsMode; 4] = [
        TlsMode::StartTls,
        TlsMode::Implicit,
        TlsMode::Opportunistic,
        TlsMode::None,
    ];

    /// The mode a connection to `port` gets when none is chosen: implicit
    /// TLS on 465 (RFC 8314), STARTTLS, required, elsewhere.
    pub fn default_for_port(port: u16) -> TlsMode {
        if port == 465 {
            TlsMode::Implicit
        } else {
            TlsMode::StartTls
        }
    }

    /// Its short name, as saved in an account (`starttls`, `implicit`, …).
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::Opportunistic => "opportunistic",
            TlsMode::None => "none",
        }
    }

    /// The mode chosen, or the port's default.
    pub fn or_default_for(chosen: Option<TlsMode>, port: u16) -> TlsMode {
        chosen.unwrap_or_else(|| TlsMode::default_for_port(port))
    }
}

/// Which AUTH to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthPlan {
    /// Do not log in.
    None,
    /// Log in with the strongest mechanism both sides support.
    Auto(Credentials),
    /// Log in with this mechanism, whether or not the server lists it.
    Forced(Mechanism, Credentials),
}

/// What the session is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Greeting, EHLO and TLS only, then QUIT: what the server offers.
    Probe,
    /// Deliver one message.
    Send(Envelope),
}

/// The SMTP envelope of one message (RFC 5321 §2.3.1) and what MAIL FROM
/// needs to know about the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path (empty for a null sender).
    pub from: String,
    /// The forward-paths: every To, Cc and Bcc address.
    pub recipients: Vec<String>,
    /// The message size in bytes, if known, for SIZE (RFC 1870).
    pub size: Option<u64>,
    /// True when the message has bytes above 127 (for BODY=8BITMIME).
    pub eight_bit: bool,
    /// Delivery notices asked for (RFC 3461); empty: none.
    pub dsn: Dsn,
}

impl Envelope {
    /// MAIL FROM's DSN parameters: `RET` and `ENVID`, as asked.
    pub(crate) fn dsn_mail_params(&self) -> Vec<MailParam> {
        let mut params = Vec::new();
        if let Some(ret) = self.dsn.ret {
            params.push(MailParam::Ret(ret));
        }
        if let Some(id) = &self.dsn.envid {
            params.push(MailParam::EnvId(id.clone()));
        }
        params
    }

    /// RCPT TO's parameters for `to`: with any DSN request, `NOTIFY` as
    /// asked and `ORCPT` (for an ASCII address).
    pub(crate) fn rcpt_params(&self, to: &str) -> Vec<RcptParam> {
        let mut params = Vec::new();
        if self.dsn.is_empty() {
            return params;
        }
        if let Some(notify) = self.dsn.notify {
            params.push(RcptParam::Notify(notify));
        }
        if let Some(orcpt) = dsn::orcpt(to) {
            params.push(RcptParam::Orcpt(orcpt));
        }
        params
    }

    /// The envelope as its MAIL FROM and RCPT TO commands, one per line,
    /// without the parameters that depend on the server (SIZE, BODY,
    /// SMTPUTF8): what `--dump-mail` and the Raw view show.
    pub fn commands(&self) -> Vec<String> {
        let mail = Command::Mail {
            from: self.from.clone(),
            params: self.dsn_mail_params(),
        };
        let rcpts = self.recipients.iter().map(|to| Command::Rcpt {
            to: to.clone(),
            params: self.rcpt_params(to),
        });
        std::iter::once(mail)
            .chain(rcpts)
            .map(|c| c.redacted())
            .collect()
    }
}

/// The time limit of each wait. Defaults are RFC 5321 §4.5.3.2's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP connection (and an implicit TLS handshake).
    pub connect: Duration,
    /// The 220 greeting.
    pub greeting: Duration,
    /// EHLO, HELO, STARTTLS, AUTH, RSET, QUIT.
    pub command: Duration,
    /// MAIL FROM.
    pub mail: Duration,
    /// Each RCPT TO.
    pub rcpt: Duration,
    /// DATA, until 354.
    pub data_init: Duration,
    /// Each write of message data.
    pub data_block: Duration,
    /// The reply to the final dot.
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: min(5),
            command: min(5),
            mail: min(5),
            rcpt: min(5),
            data_init: min(2),
            data_block: min(3),
            data_end: min(10),
        }
    }
}

impl Timeouts {
    /// Every wait, connect included, set to `d` (the CLI's `--timeout`).
    pub fn uniform(d: Duration) -> Timeouts {
        Timeouts {
            connect: d,
            greeting: d,
            command: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_end: d,
        }
    }
}

/// Everything a session needs to know before it starts.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The name given in EHLO.
    pub client_id: ClientId,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// Whether and how to log in.
    pub auth: AuthPlan,
    /// Probe or send.
    pub job: Job,
    /// Deliver to the accepted recipients even when some are refused.
    pub allow_partial: bool,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Stop, successfully, once this point is passed (`--quit-after`).
    pub quit_after: Option<Stage>,
}
