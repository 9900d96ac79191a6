//! The headless command line: `postscope send` and `postscope probe`, the
//! same engine as the GUI, for scripts and CI.
//!
//! Arguments are parsed with clap, then turned into validated requests
//! before any connection is made ([`SendArgs::into_request`]): a bad address
//! or an unreadable file exits 1 with nothing sent. Exit statuses follow
//! swaks's (see [`EXIT_STATUS_HELP`]) and are chosen in one place,
//! [`crate::smtp::SessionError::exit_status`].

mod account;
mod lint;
mod output;
mod pages;
mod request;
mod sandbox;
mod signin;
mod values;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{self, ProbeSpec, Server, ServerProblem};
use crate::message;
use crate::smtp::{self, CancelToken, Stage, Target, TlsMode};
use crate::store::settings::Account;
use crate::store::settings::AuthSetting;
use request::SendRequest;

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
#[command(name = "postscope", version, about, after_help = EXIT_STATUS_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A message file (.eml) to open in the window's Raw view: its text,
    /// the envelope its headers imply and what `postscope lint` finds.
    #[arg(value_name = "FILE.eml")]
    pub open: Option<std::path::PathBuf>,
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
    /// Check a message against RFC 5322 and RFC 2045: each finding with its
    /// line and rule. Exit 0 without errors, 1 with errors, 2 if unreadable.
    Lint(lint::LintArgs),
    /// Write the manual pages (postscope.1 and one per subcommand).
    Man(pages::ManArgs),
    /// Write a shell's completion script to standard output.
    Completions(pages::CompletionsArgs),
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
    /// Required unless --account gives one (send --dump-mail needs none).
    // Checked when the request is made, not by clap: `send --dump-mail`
    // needs none, and `probe` has no such flag for clap to name.
    #[arg(long, value_name = "HOST[:PORT]")]
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

    /// The sender: ADDR or "Name <ADDR>". Also the envelope's MAIL FROM,
    /// unless --envelope-from is given.
    #[arg(long, value_name = "ADDR", help_heading = "Message")]
    pub from: String,
    /// The envelope sender only (MAIL FROM, where bounces go), apart from
    /// the From header: ADDR, or '<>' for the null sender.
    #[arg(long, value_name = "ADDR|<>", help_heading = "Message")]
    pub envelope_from: Option<String>,
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
    /// The body is Markdown (CommonMark): send it as the text as written
    /// plus its HTML rendering (multipart/alternative).
    #[arg(
        long,
        help_heading = "Message",
        conflicts_with_all = ["eml", "body_html"]
    )]
    pub markdown: bool,
    /// Send this ready HTML as the body, with a text part beside it: the
    /// --body or --body-file text if given, else the HTML's own text.
    #[arg(
        long,
        value_name = "FILE|-",
        help_heading = "Message",
        conflicts_with = "eml"
    )]
    pub body_html: Option<String>,
    /// Attach a file (repeatable). The content type is guessed from its name.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Message",
        conflicts_with = "eml"
    )]
    pub attach: Vec<PathBuf>,
    /// Send this ready RFC 5322 message as it is (the envelope still comes
    /// from --from and --to/--cc/--bcc); `-` reads standard input. Pipes
    /// and FIFOs work: they are read once, before connecting.
    #[arg(
        long,
        value_name = "FILE|-",
        help_heading = "Message",
        group = "body_source"
    )]
    pub eml: Option<PathBuf>,
    /// Refuse a ready message (--eml) in which `postscope lint` finds an
    /// error. Without it such a message is still sent (testing broken mail
    /// is a use), after its findings are printed as warnings.
    #[arg(long, help_heading = "Message")]
    pub strict: bool,
    /// Refuse a message (--eml, or read from a pipe) or a --body-file bigger
    /// than this, in bytes.
    #[arg(
        long,
        value_name = "BYTES",
        help_heading = "Message",
        default_value_t = message::DEFAULT_MAX_INPUT,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_input: u64,

    /// Deliver to the accepted recipients even if some are refused (they are
    /// still listed). Without it a message goes to all recipients or to none.
    #[arg(long, help_heading = "Delivery")]
    pub allow_partial: bool,
    /// Ask for delivery status notifications (RFC 3461) for every
    /// recipient: `never`, or any of `success`, `failure`, `delay` joined by
    /// commas. Any --dsn-* option needs a server that offers DSN (exit 23).
    #[arg(long, value_name = "LIST", help_heading = "Delivery", value_parser = smtp::Notify::parse)]
    pub dsn_notify: Option<smtp::Notify>,
    /// What a failure notice returns: the `full` message or its `hdrs`.
    #[arg(long, value_name = "full|hdrs", help_heading = "Delivery", value_parser = smtp::Ret::parse)]
    pub dsn_ret: Option<smtp::Ret>,
    /// An ID (printable ASCII, up to 100 characters) that every notice quotes.
    #[arg(long, value_name = "ID", help_heading = "Delivery", value_parser = values::envid)]
    pub dsn_envid: Option<String>,
    /// Connect to nothing: write the message exactly as it would be sent
    /// (line ends made CRLF, before dot-stuffing) to standard output, and
    /// its envelope to standard error. No server is needed.
    #[arg(long, help_heading = "Delivery")]
    pub dump_mail: bool,
    /// Stop after this step, successfully, without going further: e.g.
    /// `rcpt` checks that the recipients are accepted and sends nothing;
    /// `data` hangs up after the 354 without sending the message.
    #[arg(long, value_name = "STEP", help_heading = "Delivery", value_parser = values::quit_after(), ignore_case = true)]
    pub quit_after: Option<Stage>,
}

/// `postscope probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Stop earlier than a probe does (after TLS and EHLO): connect,
    /// greeting, ehlo or tls.
    #[arg(long, value_name = "STEP", value_parser = values::quit_after(), ignore_case = true)]
    pub quit_after: Option<Stage>,
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

/// Parses `--server`: see [`Target::parse`].
pub fn parse_server(s: &str) -> Result<Target, UsageError> {
    Target::parse(s).map_err(|why| {
        UsageError::Invalid(format!("--server {s:?}: {why}; write HOST or HOST:PORT"))
    })
}

/// The server of an account, in the command line's words when it is wrong.
/// A CA file is read now, so a bad one is a usage error, not a TLS failure.
pub(super) fn server(account: &Account) -> Result<Server, UsageError> {
    let server = Server::of_account(account).map_err(|p| {
        UsageError::Invalid(match p {
            ServerProblem::NoServer => "give --server HOST[:PORT] or --account NAME".into(),
            ServerProblem::BadServer { value, why } => {
                format!("--server {value:?}: {why}; write HOST or HOST:PORT")
            }
            ServerProblem::BadEhlo(name) => {
                format!("--ehlo {name:?} is not a domain name or an IP address")
            }
        })
    })?;
    if let Some(path) = &server.tls_options.ca_file {
        smtp::tls::read_ca_file(path).map_err(|e| UsageError::Invalid(e.to_string()))?;
    }
    Ok(server)
}

/// Parses the command line. Usage errors exit 1 (not clap's 2, which
/// means "could not connect" here); `--help` and `--version` exit 0.
pub fn parse() -> Result<Cli, ExitCode> {
    let cli = Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if !e.use_stderr() {
            ExitCode::SUCCESS
        } else if std::env::args().nth(1).as_deref() == Some("lint") {
            // lint's own contract: 2 for a wrong command line.
            ExitCode::from(2)
        } else {
            ExitCode::from(1)
        }
    })?;
    // A mistyped subcommand ("postscope sned") must not open the window on
    // a file that is not there.
    if let Some(path) = &cli.open
        && !path.exists()
        && path
            .extension()
            .is_none_or(|e| !e.eq_ignore_ascii_case("eml"))
    {
        eprintln!(
            "error: {:?} is neither a subcommand nor a message file\n\n\
             Subcommands: send, probe, sandbox, account, lint, man, completions \
             (postscope --help lists them); a message file to open must exist.",
            path.display().to_string()
        );
        return Err(ExitCode::from(1));
    }
    Ok(cli)
}

/// Runs a subcommand to its end and returns the exit status.
pub fn run(command: Command) -> ExitCode {
    let (sink, request) = match command {
        Command::Send(args) if args.dump_mail => {
            return match args.into_dump() {
                Ok(message) => output::dump_mail(message),
                Err(e) => usage_failure(&e),
            };
        }
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
        Command::Lint(args) => return lint::run(args),
        Command::Man(args) => return pages::man(args),
        Command::Completions(args) => return pages::completions(args),
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
            let target = req.spec.server.target.clone();
            let mut out = match output::Output::open(sink, &target, req.sensitive) {
                Ok(o) => o,
                Err(e) => return usage_failure(&e),
            };
            let (report, result) = app::send(req.spec, &cancel, &mut |event| out.event(event));
            match session_result(result) {
                Ok(result) => out.finish_send(&report, &result),
                Err(e) => usage_failure(&e),
            }
        }
        Request::Probe(spec) => {
            let target = spec.server.target.clone();
            let mut out = match output::Output::open(sink, &target, Vec::new()) {
                Ok(o) => o,
                Err(e) => return usage_failure(&e),
            };
            let (report, result) = app::probe(spec, &cancel, &mut |event| out.event(event));
            match session_result(result) {
                Ok(result) => out.finish_probe(&report, &result),
                Err(e) => usage_failure(&e),
            }
        }
    }
}

/// The session's own result. The command line builds the message and
/// reads the secret before connecting, so any other failure is a usage
/// problem found late (exit 1).
fn session_result(
    result: Result<(), app::SendFailure>,
) -> Result<Result<(), crate::smtp::SessionError>, UsageError> {
    match result {
        Ok(()) => Ok(Ok(())),
        Err(app::SendFailure::Session(e)) => Ok(Err(e)),
        Err(other) => Err(UsageError::Invalid(other.to_string())),
    }
}

enum Request {
    Send(SendRequest),
    Probe(ProbeSpec),
}

fn usage_failure(e: &UsageError) -> ExitCode {
    failure(e, "\nnothing was sent.")
}

/// `error: …` and exit 1, with `tail` after the error's own words.
fn failure(e: &UsageError, tail: &str) -> ExitCode {
    let mut err = anstream::stderr();
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let _ = std::io::Write::write_fmt(&mut err, format_args!("{style}error:{style:#} {e}{tail}\n"));
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
        let tls = |p: ProbeArgs| server(&p.connect.account().unwrap()).unwrap().tls;
        assert_eq!(tls(args(&["smtp.example.org:465"])), TlsMode::Implicit);
        assert_eq!(tls(args(&["smtp.example.org"])), TlsMode::StartTls);
        assert_eq!(
            tls(args(&["smtp.example.org:465", "--tls", "none"])),
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
