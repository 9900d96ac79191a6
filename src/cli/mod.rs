//! The headless command line: `postscope send` and `postscope probe`, the
//! same engine as the GUI, for scripts and CI.
//!
//! Arguments are parsed with clap, then turned into validated requests
//! before any connection is made ([`SendArgs::into_request`]): a bad address
//! or an unreadable file exits 1 with nothing sent. Exit statuses follow
//! swaks's (see [`EXIT_STATUS_HELP`]) and are chosen in one place,
//! [`crate::smtp::SessionError::exit_status`].

mod account;
mod output;
mod sandbox;
mod values;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::message::FileBody;
use crate::message::{self, Draft};
use crate::smtp::{
    self, AuthPlan, BodySource, CancelToken, ClientId, Connection, Credentials, Envelope, Job,
    Mechanism, QuitAfter, Secret, SessionConfig, Target, Timeouts, TlsMode, TlsOptions,
};
use crate::store::settings::{Account, AuthSetting};

/// The exit statuses, as `--help` prints them.
pub const EXIT_STATUS_HELP: &str = "\
Exit status (as swaks's, so existing scripts understand it):
   0  delivered to every recipient (or, with --allow-partial, to at least one);
      probe: every step worked
   1  bad arguments or input (bad address, unreadable file): nothing was sent
   2  could not connect (resolve, refused, connect timeout)
   6  the connection closed unexpectedly
  21  greeting refused, missing or malformed
  22  EHLO and HELO refused
  23  MAIL FROM refused (or the message is over the server's SIZE)
  24  recipients refused: none accepted, or some without --allow-partial
  25  DATA refused
  26  the message was refused after it was sent, or delivery is unknown
  28  authentication failed or no usable mechanism
  29  TLS failed: STARTTLS missing or refused, handshake or certificate error
  32  EHLO refused after STARTTLS
 130  cancelled (Ctrl-C)
A timeout exits with the status of the stage it happened in.";

/// Postscope: send mail and see every SMTP command and reply.
#[derive(Debug, Parser)]
#[command(name = "postscope", version, about, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a message through Postscope's SMTP client.
    #[command(after_help = EXIT_STATUS_HELP)]
    Send(Box<SendArgs>),
    /// Connect to a server and report its greeting, capabilities, TLS and certificate.
    #[command(after_help = EXIT_STATUS_HELP)]
    Probe(ProbeArgs),
    /// Run the local sandbox SMTP server: accepts every message, delivers none, prints each one.
    Sandbox(sandbox::SandboxArgs),
    /// Manage saved accounts (passwords go to the OS keychain).
    #[command(subcommand)]
    Account(account::AccountCommand),
}

/// Options shared by `send` and `probe`: where and how to connect.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// Use a saved account (`postscope account add`): its server, security,
    /// login and keychain password. Options given with it override it.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// The server, HOST or HOST:PORT (IPv6 as [ADDR]:PORT). The port defaults to 587.
    #[arg(long, value_name = "HOST[:PORT]", required_unless_present = "account")]
    pub server: Option<String>,
    #[command(flatten)]
    pub security: SecurityArgs,
    /// Print one JSON object with the result on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Write the transcript: `-` streams it to stderr as it happens; a FILE
    /// gets text, or JSON Lines when it ends in .jsonl.
    #[arg(long, value_name = "FILE|-")]
    pub transcript: Option<String>,
}

/// How to talk to a server: shared by `send`, `probe` and `account add`.
#[derive(Debug, Args)]
pub struct SecurityArgs {
    /// Transport security. Default: implicit on port 465, starttls elsewhere.
    #[arg(long, value_name = "MODE", value_parser = values::tls())]
    pub tls: Option<TlsMode>,
    /// The name to give in EHLO (default: this machine's name, or [127.0.0.1]).
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,
    /// Trust the CA certificates in this PEM file, besides the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Accept an invalid or untrusted certificate (testing only; the transcript warns).
    #[arg(long)]
    pub insecure: bool,
    /// Give up on any wait (connect included) after SECS seconds.
    /// Default: RFC 5321's limits (connect 30 s, commands 5 min, final dot 10 min).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: Option<u64>,
}

/// `postscope send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// How to log in. Default: auto when --auth-user is given, else none.
    #[arg(long, value_name = "MECH", help_heading = "Login", value_parser = values::auth())]
    pub auth: Option<AuthSetting>,
    /// The user name to log in with.
    #[arg(long, value_name = "USER", help_heading = "Login")]
    pub auth_user: Option<String>,
    /// Read the password from this environment variable (never give it as an argument).
    #[arg(long, value_name = "VAR", help_heading = "Login", group = "secret")]
    pub password_env: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, help_heading = "Login", group = "secret")]
    pub password_stdin: bool,
    /// Read an OAuth2 bearer token (for XOAUTH2) from this environment variable.
    #[arg(long, value_name = "VAR", help_heading = "Login", group = "secret")]
    pub token_env: Option<String>,

    /// The sender: ADDR or "Name <ADDR>". Also the envelope's MAIL FROM.
    #[arg(long, value_name = "ADDR", help_heading = "Message")]
    pub from: String,
    /// A recipient (repeat, or separate with commas).
    #[arg(long, value_name = "ADDR", help_heading = "Message")]
    pub to: Vec<String>,
    /// A copy recipient (repeat, or separate with commas).
    #[arg(long, value_name = "ADDR", help_heading = "Message")]
    pub cc: Vec<String>,
    /// A blind-copy recipient: in the envelope only, never in a header.
    #[arg(long, value_name = "ADDR", help_heading = "Message")]
    pub bcc: Vec<String>,
    /// Where replies should go.
    #[arg(
        long,
        value_name = "ADDR",
        help_heading = "Message",
        conflicts_with = "eml"
    )]
    pub reply_to: Vec<String>,
    /// The subject.
    #[arg(
        long,
        value_name = "TEXT",
        help_heading = "Message",
        conflicts_with = "eml"
    )]
    pub subject: Option<String>,
    /// An extra header, "Name: value" (repeatable).
    #[arg(
        long,
        value_name = "HEADER",
        help_heading = "Message",
        conflicts_with = "eml"
    )]
    pub header: Vec<String>,
    /// The body text.
    #[arg(
        long,
        value_name = "TEXT",
        help_heading = "Message",
        group = "body_source"
    )]
    pub body: Option<String>,
    /// Read the body text from FILE, or from standard input with `-`.
    #[arg(
        long,
        value_name = "FILE|-",
        help_heading = "Message",
        group = "body_source"
    )]
    pub body_file: Option<String>,
    /// Attach a file (repeatable). The content type is guessed from its name.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Message",
        conflicts_with = "eml"
    )]
    pub attach: Vec<PathBuf>,
    /// Send this ready RFC 5322 message as it is (the envelope still comes
    /// from --from and --to/--cc/--bcc).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Message",
        group = "body_source"
    )]
    pub eml: Option<PathBuf>,

    /// Deliver to the accepted recipients even if some are refused (they are
    /// still listed). Without it a message goes to all recipients or to none.
    #[arg(long, help_heading = "Delivery")]
    pub allow_partial: bool,
    /// Stop after this step, successfully, without going further: e.g.
    /// `rcpt` checks that the recipients are accepted and sends nothing;
    /// `data` hangs up after the 354 without sending the message.
    #[arg(long, value_name = "STEP", help_heading = "Delivery", value_parser = values::quit_after())]
    pub quit_after: Option<QuitAfter>,

    /// The account whose keychain entry holds the secret (from --account).
    #[arg(skip)]
    pub keychain_account: Option<String>,
}

/// `postscope probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Stop earlier than a probe does (after TLS and EHLO): connect,
    /// greeting, ehlo or tls.
    #[arg(long, value_name = "STEP", value_parser = values::quit_after())]
    pub quit_after: Option<QuitAfter>,
}

/// A usage problem found before connecting: exit status 1, nothing sent.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A message problem (address, attachment, header).
    #[error(transparent)]
    Message(#[from] message::BuildError),
    /// Anything else, with the sentence to show.
    #[error("{0}")]
    Invalid(String),
}

/// Everything `send` needs, validated.
pub struct SendRequest {
    target: Target,
    tls: TlsOptions,
    config: SessionConfig,
    message: Box<dyn BodySource>,
    sensitive: Vec<String>,
}

/// Everything `probe` needs, validated.
pub struct ProbeRequest {
    target: Target,
    tls: TlsOptions,
    config: SessionConfig,
}

/// Parses `--server`: see [`Target::parse`].
pub fn parse_server(s: &str) -> Result<Target, UsageError> {
    Target::parse(s).map_err(|why| {
        UsageError::Invalid(format!("--server {s:?}: {why}; write HOST or HOST:PORT"))
    })
}

impl ConnectArgs {
    fn target(&self) -> Result<Target, UsageError> {
        match &self.server {
            Some(server) => parse_server(server),
            None => Err(UsageError::Invalid(
                "give --server HOST[:PORT] or --account NAME".into(),
            )),
        }
    }

    /// Fills what was not given on the command line from the saved account.
    fn apply_account(&mut self) -> Result<Option<Account>, UsageError> {
        let Some(name) = &self.account else {
            return Ok(None);
        };
        let account = account::find(name)?;
        self.server = self.server.take().or_else(|| Some(account.server.clone()));
        let sec = &mut self.security;
        sec.tls = sec.tls.or(account.tls);
        sec.ehlo = sec.ehlo.take().or_else(|| account.ehlo.clone());
        sec.ca_file = sec.ca_file.take().or_else(|| account.ca_file.clone());
        sec.insecure |= account.insecure;
        sec.timeout = sec.timeout.or(account.timeout_secs);
        Ok(Some(account))
    }
}

impl SecurityArgs {
    fn tls_mode(&self, target: &Target) -> TlsMode {
        TlsMode::or_default_for(self.tls, target.port)
    }

    fn tls_options(&self) -> Result<TlsOptions, UsageError> {
        if let Some(path) = &self.ca_file {
            // Read now so a bad file is a usage error (exit 1), not a TLS failure.
            smtp::tls::read_ca_file(path).map_err(|e| UsageError::Invalid(e.to_string()))?;
        }
        Ok(TlsOptions {
            ca_file: self.ca_file.clone(),
            extra_roots: Vec::new(),
            dangerous_accept_invalid_certs: self.insecure,
        })
    }

    fn client_id(&self) -> Result<ClientId, UsageError> {
        match &self.ehlo {
            Some(name) => ClientId::parse(name).ok_or_else(|| {
                UsageError::Invalid(format!(
                    "--ehlo {name:?} is not a domain name or an IP address"
                ))
            }),
            None => Ok(ClientId::local()),
        }
    }

    fn timeouts(&self) -> Timeouts {
        self.timeout
            .map(|s| Timeouts::uniform(Duration::from_secs(s)))
            .unwrap_or_default()
    }
}

fn env_secret(var: &str, what: &str) -> Result<String, UsageError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(UsageError::Invalid(format!(
            "the environment variable {var} (the {what}) is empty"
        ))),
        Err(_) => Err(UsageError::Invalid(format!(
            "the environment variable {var} (the {what}) is not set"
        ))),
    }
}

fn read_text(source: &str) -> Result<String, UsageError> {
    if source == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            UsageError::Invalid(format!("cannot read the body from standard input: {e}"))
        })?;
        return Ok(s);
    }
    std::fs::read_to_string(source)
        .map_err(|e| UsageError::Invalid(format!("cannot read the body file {source}: {e}")))
}

impl SendArgs {
    fn credentials(&self) -> Result<Option<Credentials>, UsageError> {
        let secret = if let Some(var) = &self.password_env {
            Some(Secret::Password(env_secret(var, "password")?))
        } else if self.password_stdin {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| {
                UsageError::Invalid(format!("cannot read the password from standard input: {e}"))
            })?;
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            if line.is_empty() {
                return Err(UsageError::Invalid(
                    "--password-stdin: standard input gave an empty password".into(),
                ));
            }
            Some(Secret::Password(line))
        } else if let Some(var) = &self.token_env {
            Some(Secret::Token(env_secret(var, "token")?))
        } else if let (Some(account), Some(_)) = (&self.keychain_account, &self.auth_user) {
            let secret = account::secret(account)?;
            Some(if self.auth == Some(AuthSetting::Xoauth2) {
                Secret::Token(secret)
            } else {
                Secret::Password(secret)
            })
        } else {
            None
        };
        match (&self.auth_user, secret) {
            (Some(user), Some(secret)) => Ok(Some(Credentials { user: user.clone(), secret })),
            (Some(_), None) => Err(UsageError::Invalid(
                "--auth-user needs a secret: --password-env VAR, --password-stdin or --token-env VAR".into(),
            )),
            (None, Some(_)) => Err(UsageError::Invalid("a password or token was given without --auth-user".into())),
            (None, None) => Ok(None),
        }
    }

    fn auth_plan(&self, creds: Option<Credentials>) -> Result<AuthPlan, UsageError> {
        let forced = |m: Mechanism, c: Option<Credentials>| match c {
            Some(c) => Ok(AuthPlan::Forced(m.clone(), c)),
            None => Err(UsageError::Invalid(format!(
                "--auth {} needs --auth-user and a password or token",
                m.name().to_lowercase()
            ))),
        };
        match (self.auth.unwrap_or(AuthSetting::Auto), creds) {
            (AuthSetting::Auto, Some(c)) => Ok(AuthPlan::Auto(c)),
            (AuthSetting::Auto, None) => Ok(AuthPlan::None),
            (AuthSetting::None, None) => Ok(AuthPlan::None),
            (AuthSetting::None, Some(_)) => Err(UsageError::Invalid(
                "--auth none contradicts --auth-user: drop one of them".into(),
            )),
            (AuthSetting::Plain | AuthSetting::Login, Some(c))
                if matches!(c.secret, Secret::Token(_)) =>
            {
                Err(UsageError::Invalid(
                    "--auth plain and --auth login need a password (--password-env or \
                     --password-stdin), not a token; use --auth xoauth2 for a token"
                        .into(),
                ))
            }
            (AuthSetting::Xoauth2, Some(c)) if matches!(c.secret, Secret::Password(_)) => {
                Err(UsageError::Invalid(
                    "--auth xoauth2 needs an OAuth2 token (--token-env VAR), not a password".into(),
                ))
            }
            (AuthSetting::Plain, c) => forced(Mechanism::Plain, c),
            (AuthSetting::Login, c) => forced(Mechanism::Login, c),
            (AuthSetting::Xoauth2, c) => forced(Mechanism::XOAuth2, c),
        }
    }

    /// Validates everything and builds the message. Nothing touches the network.
    pub fn into_request(mut self) -> Result<SendRequest, UsageError> {
        if let Some(account) = self.connect.apply_account()? {
            self.auth = self.auth.or(account.auth);
            if self.auth_user.is_none() && self.auth != Some(AuthSetting::None) {
                self.auth_user = account.user.clone();
            }
            self.keychain_account = Some(account.name);
        }
        if self.password_stdin && self.body_file.as_deref() == Some("-") {
            return Err(UsageError::Invalid(
                "--password-stdin and --body-file - both read standard input; \
                 give the password with --password-env or the body as a file"
                    .into(),
            ));
        }
        let target = self.connect.target()?;
        let tls = self.connect.security.tls_options()?;
        let client_id = self.connect.security.client_id()?;
        let mut draft = Draft {
            from: self.from.clone(),
            to: self.to.clone(),
            cc: self.cc.clone(),
            bcc: self.bcc.clone(),
            reply_to: self.reply_to.clone(),
            subject: self.subject.clone().unwrap_or_default(),
            body: String::new(),
            headers: self.header.clone(),
            attachments: self.attach.clone(),
        };
        let (envelope, message): (_, Box<dyn BodySource>) = match &self.eml {
            Some(path) => {
                let envelope = message::envelope(&draft)?;
                // Streamed from the file: memory stays flat whatever its size.
                let file = FileBody::open(path).map_err(|e| {
                    UsageError::Invalid(format!(
                        "cannot read the message file {}: {e}",
                        path.display()
                    ))
                })?;
                (envelope, Box::new(file))
            }
            None => {
                draft.body = match (&self.body, &self.body_file) {
                    (Some(text), _) => text.clone(),
                    (None, Some(source)) => read_text(source)?,
                    (None, None) => String::new(),
                };
                // Attachments are read and encoded as the message is sent.
                let built = message::build_streaming(&draft)?;
                (built.envelope.clone(), Box::new(built))
            }
        };
        let creds = self.credentials()?;
        let sensitive = creds
            .as_ref()
            .map(Credentials::sensitive_strings)
            .unwrap_or_default();
        let auth = self.auth_plan(creds)?;
        let config = SessionConfig {
            client_id,
            tls: self.connect.security.tls_mode(&target),
            auth,
            job: Job::Send(Envelope {
                from: envelope.from,
                recipients: envelope.recipients,
                size: message.size(),
                eight_bit: message.eight_bit(),
            }),
            allow_partial: self.allow_partial,
            timeouts: self.connect.security.timeouts(),
            quit_after: self.quit_after,
        };
        Ok(SendRequest {
            target,
            tls,
            config,
            message,
            sensitive,
        })
    }
}

impl ProbeArgs {
    /// Validates the options. Nothing touches the network.
    pub fn into_request(mut self) -> Result<ProbeRequest, UsageError> {
        if let Some(q) = self.quit_after
            && q > QuitAfter::Tls
        {
            return Err(UsageError::Invalid(format!(
                "probe --quit-after {q}: a probe never logs in or starts a transaction; \
                 use connect, greeting, ehlo or tls (or `send --quit-after {q}`)"
            )));
        }
        self.connect.apply_account()?;
        let target = self.connect.target()?;
        Ok(ProbeRequest {
            tls: self.connect.security.tls_options()?,
            config: SessionConfig {
                client_id: self.connect.security.client_id()?,
                tls: self.connect.security.tls_mode(&target),
                auth: AuthPlan::None,
                job: Job::Probe,
                allow_partial: false,
                timeouts: self.connect.security.timeouts(),
                quit_after: self.quit_after,
            },
            target,
        })
    }
}

/// Parses the command line. Usage errors exit 1 (not clap's 2, which
/// means "could not connect" here); `--help` and `--version` exit 0.
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Runs a subcommand to its end and returns the exit status.
pub fn run(command: Command) -> ExitCode {
    let (sink, request) = match command {
        Command::Send(args) => (
            output::Sink::from(&args.connect),
            args.into_request().map(Request::Send),
        ),
        Command::Probe(args) => (
            output::Sink::from(&args.connect),
            args.into_request().map(Request::Probe),
        ),
        Command::Sandbox(args) => return sandbox::run(args),
        Command::Account(command) => return account::run(command),
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return usage_failure(&e),
    };
    let cancel = CancelToken::default();
    {
        let cancel = cancel.clone();
        // Ctrl-C cancels the session cleanly (exit 130): the socket is shut
        // down, so even a blocked read returns at once.
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    match request {
        Request::Send(req) => {
            let mut out = match output::Output::open(sink, &req.target, req.sensitive.clone()) {
                Ok(o) => o,
                Err(e) => return usage_failure(&e),
            };
            let (report, result) = smtp::run(
                Connection {
                    target: &req.target,
                    tls: &req.tls,
                    cancel: &cancel,
                },
                req.config,
                Some(req.message.as_ref()),
                &mut |event| out.event(event),
            );
            out.finish_send(&report, &result)
        }
        Request::Probe(req) => {
            let mut out = match output::Output::open(sink, &req.target, Vec::new()) {
                Ok(o) => o,
                Err(e) => return usage_failure(&e),
            };
            let (report, result) = smtp::run(
                Connection {
                    target: &req.target,
                    tls: &req.tls,
                    cancel: &cancel,
                },
                req.config,
                None,
                &mut |event| out.event(event),
            );
            out.finish_probe(&report, &result)
        }
    }
}

enum Request {
    Send(SendRequest),
    Probe(ProbeRequest),
}

fn usage_failure(e: &UsageError) -> ExitCode {
    let mut err = anstream::stderr();
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let _ = std::io::Write::write_fmt(
        &mut err,
        format_args!("{style}error:{style:#} {e}\nnothing was sent.\n"),
    );
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_sound() {
        Cli::command().debug_assert();
    }

    #[test]
    fn server_forms() {
        let t = |s: &str| {
            parse_server(s)
                .map(|t| (t.host, t.port))
                .map_err(|e| e.to_string())
        };
        assert_eq!(t("mail.example.org"), Ok(("mail.example.org".into(), 587)));
        assert_eq!(
            t("mail.example.org:465"),
            Ok(("mail.example.org".into(), 465))
        );
        assert_eq!(t("127.0.0.1:2525"), Ok(("127.0.0.1".into(), 2525)));
        assert_eq!(t("[::1]:2525"), Ok(("::1".into(), 2525)));
        assert_eq!(t("[::1]"), Ok(("::1".into(), 587)));
        assert_eq!(t("::1"), Ok(("::1".into(), 587)));
        assert!(t("host:0").is_err());
        assert!(t("host:99999").is_err());
        assert!(t(":25").is_err());
        assert!(t("[::1").is_err());
        assert!(t("").is_err());
    }

    #[test]
    fn tls_defaults_follow_the_port() {
        let args = |extra: &[&str]| {
            let mut v = vec!["postscope", "probe", "--server"];
            v.extend_from_slice(extra);
            match Cli::try_parse_from(v).unwrap().command {
                Some(Command::Probe(p)) => p,
                _ => unreachable!(),
            }
        };
        let p = args(&["smtp.example.org:465"]);
        assert_eq!(
            p.connect.security.tls_mode(&p.connect.target().unwrap()),
            TlsMode::Implicit
        );
        let p = args(&["smtp.example.org"]);
        assert_eq!(
            p.connect.security.tls_mode(&p.connect.target().unwrap()),
            TlsMode::StartTls
        );
        let p = args(&["smtp.example.org:465", "--tls", "none"]);
        assert_eq!(
            p.connect.security.tls_mode(&p.connect.target().unwrap()),
            TlsMode::None
        );
    }

    #[test]
    fn a_password_is_never_an_argument() {
        assert!(
            Cli::try_parse_from([
                "postscope",
                "send",
                "--server",
                "h",
                "--from",
                "a@b.c",
                "--password",
                "x"
            ])
            .is_err()
        );
    }
}
