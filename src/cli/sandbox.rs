//! `postscope sandbox`: the local sandbox SMTP server, headless, for
//! pointing other programs at. Prints a banner, then one line per message
//! received, until Ctrl-C.

use std::collections::HashSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser as _;

use crate::sandbox::{
    self, CA_FILE_NAME, Captured, DataFloor, Incident, Sandbox, SandboxConfig, SandboxError,
    advertised_extensions,
};
use crate::smtp::format_bytes;

/// `postscope sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Where to listen: IP:PORT (IPv6 as [ADDR]:PORT). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,
    /// Also write every message to DIR as <time>-<id>.eml, and the sandbox's
    /// CA certificate to DIR/sandbox-ca.pem (for --ca-file). DIR is created if missing.
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,
    /// The most sessions at once; past it a newcomer pushes out the
    /// session longest without a complete command (if over --evict-after).
    #[arg(long, value_name = "N", default_value_t = sandbox::MAX_CONNECTIONS, value_parser = clap::value_parser!(u16).range(1..).map(usize::from), help_heading = "Bounds")]
    pub max_sessions: usize,
    /// The most sessions from one client address, pushed out the same way
    /// (default: --max-sessions).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..).map(usize::from), help_heading = "Bounds")]
    pub max_sessions_per_client: Option<usize>,
    /// The most recipients one message may have (452 4.5.3 past it).
    #[arg(long, value_name = "N", default_value_t = sandbox::MAX_RECIPIENTS, value_parser = clap::value_parser!(u16).range(1..).map(usize::from), help_heading = "Bounds")]
    pub max_recipients: usize,
    /// How long a session must have gone without completing a command to
    /// be pushed out for a newcomer at a cap.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = secs, help_heading = "Bounds")]
    pub evict_after: Duration,
    /// Silence allowed between commands.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = secs, help_heading = "Bounds")]
    pub idle_timeout: Duration,
    /// Time allowed for one command line or AUTH exchange, from its first
    /// byte, however slowly the bytes come.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = secs, help_heading = "Bounds")]
    pub command_timeout: Duration,
    /// Time allowed for the TLS handshake after STARTTLS.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = secs, help_heading = "Bounds")]
    pub tls_timeout: Duration,
    /// The least message data a client must send per minute, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DataFloor::default().bytes, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Bounds")]
    pub data_floor: u64,
}

/// Seconds, fractions allowed (`0.2`, so a test need not wait on a
/// default), more than 0 and at most a day.
fn secs(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.001 to 86400"
        )),
    }
}

enum Event {
    Changed,
    Stop,
}

/// Runs the sandbox until Ctrl-C. Exit 0 after a clean stop, 1 if it
/// cannot start (address in use, unusable directory).
pub fn run(args: SandboxArgs) -> ExitCode {
    let config = SandboxConfig {
        listen: args.listen,
        save_dir: args.save_dir.clone(),
        max_connections: args.max_sessions,
        max_per_client: args.max_sessions_per_client.unwrap_or(args.max_sessions),
        max_recipients: args.max_recipients,
        evict_after: args.evict_after,
        idle_timeout: args.idle_timeout,
        command_timeout: args.command_timeout,
        tls_timeout: args.tls_timeout,
        data_floor: DataFloor {
            bytes: args.data_floor,
            per: Duration::from_secs(60),
        },
        ..SandboxConfig::default()
    };
    let sandbox = match Sandbox::start(config) {
        Ok(s) => s,
        Err(e) => return start_failure(&e),
    };
    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        if let Err(e) = ctrlc::set_handler(move || {
            let _ = tx.send(Event::Stop);
        }) {
            eprintln!("warning: Ctrl-C cannot be caught ({e}); stop the sandbox with a signal");
        }
    }
    let inbox = sandbox.inbox();
    inbox.set_notify(Box::new(move || {
        let _ = tx.send(Event::Changed);
    }));

    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner(&sandbox).as_bytes());
    let _ = out.flush();

    let mut seen: HashSet<u64> = HashSet::new();
    let mut total = 0u64;
    let mut next_incident = 0u64;
    while let Ok(event) = rx.recv() {
        match event {
            Event::Stop => break,
            Event::Changed => {
                for i in inbox.incidents() {
                    if i.seq >= next_incident {
                        next_incident = i.seq + 1;
                        let _ =
                            writeln!(out, "{}", incident_line(&i, crate::clock::local_offset()));
                    }
                }
                let messages = inbox.messages();
                for m in &messages {
                    if seen.insert(m.id) {
                        total += 1;
                        let _ = writeln!(out, "{}", message_line(m, crate::clock::local_offset()));
                    }
                }
                let _ = out.flush();
                seen.retain(|id| messages.iter().any(|m| m.id == *id));
            }
        }
    }
    sandbox.stop();
    let _ = writeln!(out, "sandbox stopped; {total} message(s) received.");
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// The address to give clients: a wildcard address means "this machine".
fn client_addr(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, listen.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, listen.port()))
        }
        _ => listen,
    }
}

fn banner(sandbox: &Sandbox) -> String {
    let config = sandbox.config();
    let addr = sandbox.local_addr();
    let server = client_addr(addr);
    let mut b = String::new();
    let mut line = |s: String| {
        b.push_str(&s);
        b.push('\n');
    };
    line(format!("Postscope sandbox: listening on {addr}"));
    line(
        "  A local SMTP server for trying things out: it accepts every message and delivers none."
            .into(),
    );
    if !addr.ip().is_loopback() {
        line(format!(
            "  WARNING: {} is not a loopback address: anyone who can reach it can send to it.",
            addr.ip()
        ));
    }
    let mut extensions: Vec<String> = advertised_extensions(config.max_message_size, false)
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(size) = extensions.first_mut() {
        size.push_str(&format!(
            " ({} per message)",
            format_bytes(config.max_message_size)
        ));
    }
    line(format!(
        "  Supports: {}; not implicit TLS. DSN requests are recorded; no notice is sent.",
        extensions.join(", ")
    ));
    line("  Any user name and password is accepted.".into());
    line(format!(
        "  Bounds: {} sessions ({} per address), {} recipients a message, {} s per command, \
         {} s idle; refusals and errors are printed with !.",
        config.max_connections,
        config.max_per_client,
        config.max_recipients,
        config.command_timeout.as_secs_f32(),
        config.idle_timeout.as_secs_f32()
    ));
    line(format!(
        "  Keeps the newest {} messages (at most {}) in memory.",
        config.max_messages,
        format_bytes(config.max_bytes)
    ));
    let ca_file = config.save_dir.as_ref().map(|d| d.join(CA_FILE_NAME));
    if let (Some(dir), Some(ca)) = (&config.save_dir, &ca_file) {
        line(format!(
            "  Messages are also saved to {} as <time>-<id>.eml.",
            dir.display()
        ));
        line(format!(
            "  CA certificate (a new one at every start): {}",
            ca.display()
        ));
    }
    line("Send a test message:".into());
    let common = "--from me@example.org --to you@example.org --subject Hello --body 'Hi there'";
    line(format!(
        "  postscope send --server {server} --tls none {common}"
    ));
    match &ca_file {
        Some(ca) => line(format!(
            "  PW=anything postscope send --server {server} --tls starttls --ca-file {} --auth-user me --password-env PW {common}",
            ca.display()
        )),
        None => line(format!(
            "  postscope send --server {server} --tls starttls --insecure {common}\n  \
             (the CA exists only in memory: start with --save-dir DIR to get it as DIR/{CA_FILE_NAME} for --ca-file)"
        )),
    }
    line("Press Ctrl-C to stop. Messages received:".into());
    b
}

/// One line per message: time, sender, recipients, subject, size, how it
/// came, attachments.
fn message_line(m: &Captured, offset: time::UtcOffset) -> String {
    let from = if m.mail_from.is_empty() {
        "<>"
    } else {
        &m.mail_from
    };
    let subject = if m.summary.subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        format!("{:?}", m.summary.subject)
    };
    let mut how = vec![if m.tls { "TLS" } else { "clear text" }.to_owned()];
    if let Some(user) = &m.auth_user {
        how.push(format!("user {user}"));
    }
    let mut line = format!(
        "{}  #{}  {from} -> {}  {subject}  {}  ({})",
        crate::clock::time_of_day(m.received, offset),
        m.id,
        m.rcpt_to.join(", "),
        format_bytes(m.raw.len() as u64),
        how.join(", ")
    );
    if !m.summary.attachments.is_empty() {
        let names: Vec<&str> = m
            .summary
            .attachments
            .iter()
            .map(|a| {
                if a.name.is_empty() {
                    "(unnamed)"
                } else {
                    a.name.as_str()
                }
            })
            .collect();
        line.push_str(&format!("  attachments: {}", names.join(", ")));
    }
    if !m.dsn.is_empty() {
        line.push_str(&format!("  DSN: {}", m.dsn.describe(&m.rcpt_to)));
    }
    line.push_str("  lint: ");
    line.push_str(&crate::message::lint::tally(&m.findings));
    for f in m.findings.iter().take(SHOWN_FINDINGS) {
        line.push_str(&format!("\n    {f}"));
    }
    if m.findings.len() > SHOWN_FINDINGS {
        line.push_str(&format!(
            "\n    … and {} more (postscope lint on the saved message shows all)",
            m.findings.len() - SHOWN_FINDINGS
        ));
    }
    // Everything above came from the client: no terminal escapes get through.
    line.split('\n')
        .map(|l| crate::smtp::transcript::escape_controls(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per refusal or error: time, `!`, the client, what and why.
fn incident_line(i: &Incident, offset: time::UtcOffset) -> String {
    let line = format!(
        "{}  !  {}  {}",
        crate::clock::time_of_day(i.at, offset),
        i.peer,
        i.text
    );
    crate::smtp::transcript::escape_controls(&line).into_owned()
}

/// How many lint findings are printed under a message's line.
const SHOWN_FINDINGS: usize = 10;

fn start_failure(e: &SandboxError) -> ExitCode {
    let hint = match e {
        SandboxError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            "\nanother program is using that port: use --listen 127.0.0.1:0 (any free port) or another port."
        }
        SandboxError::Bind { .. } => {
            "\nlisten on an address of this machine, such as --listen 127.0.0.1:2525 (or port 0 for any free port)."
        }
        _ => "",
    };
    let mut err = anstream::stderr();
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let _ = writeln!(err, "{style}error:{style:#} {e}{hint}");
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{AttachmentSummary, DsnRequest, Summary};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn one_line_per_message() {
        let m = Captured {
            id: 7,
            received: UNIX_EPOCH + Duration::from_secs(3661),
            peer: SocketAddr::from(([127, 0, 0, 1], 5000)),
            tls: true,
            auth_user: Some("sandbox".into()),
            mail_from: "a@example.org".into(),
            rcpt_to: vec!["b@example.org".into(), "c@example.org".into()],
            dsn: DsnRequest::default(),
            raw: vec![b'x'; 1500],
            summary: Summary {
                subject: "héllo".into(),
                attachments: vec![AttachmentSummary {
                    name: "x.pdf".into(),
                    content_type: "application/pdf".into(),
                    size: 4,
                }],
                ..Summary::default()
            },
            findings: Vec::new(),
        };
        assert_eq!(
            message_line(&m, time::UtcOffset::UTC),
            "01:01:01 UTC  #7  a@example.org -> b@example.org, c@example.org  \"héllo\"  \
             1.5 kB  (TLS, user sandbox)  attachments: x.pdf  lint: clean"
        );
        // Local time with its offset: a person's terminal, east of Greenwich.
        let east = time::UtcOffset::from_hms(2, 0, 0).unwrap();
        assert!(message_line(&m, east).starts_with("03:01:01 +02:00  #7  "));
        let broken = Captured {
            raw: b"Subject: x\r\n\r\nbody\x1b[31m\n".to_vec(),
            findings: crate::message::lint::lint(b"X-Evil: \x1b[31m\r\n\r\nbody\n"),
            ..m
        };
        let text = message_line(&broken, time::UtcOffset::UTC);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("lint: 3 errors, 1 warning"), "{text}");
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[4].contains("line 3: error: the line ends in a bare LF"));
        assert!(lines[1].starts_with("    "), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let asked = Captured {
            dsn: DsnRequest {
                envid: Some("run-7".into()),
                ..DsnRequest::default()
            },
            ..broken
        };
        assert!(
            message_line(&asked, time::UtcOffset::UTC).contains("  DSN: ENVID=run-7  lint: "),
            "{}",
            message_line(&asked, time::UtcOffset::UTC)
        );
    }

    #[test]
    fn wildcard_addresses_become_loopback_for_clients() {
        let a: SocketAddr = "0.0.0.0:25".parse().unwrap();
        assert_eq!(client_addr(a).to_string(), "127.0.0.1:25");
        let a: SocketAddr = "[::]:25".parse().unwrap();
        assert_eq!(client_addr(a).to_string(), "[::1]:25");
    }
}
