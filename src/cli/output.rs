//! What the command line prints: the live transcript (stderr, coloured by
//! reply class), transcript files (text or JSON Lines), the closing summary
//! and the `--json` result.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use anstyle::{AnsiColor, Style};
use serde_json::json;

use super::{ConnectArgs, UsageError};
use crate::smtp::session::Report;
use crate::smtp::tls::Verification;
use crate::smtp::transcript::TranscriptHeader;
use crate::smtp::{
    Direction, Event, Remedy, ReplyClass, SessionError, Target, TranscriptEvent, format_bytes,
};

/// Where output goes, from the command line, before anything is opened.
pub struct Sink {
    transcript: Option<String>,
    json: bool,
}

impl From<&ConnectArgs> for Sink {
    fn from(args: &ConnectArgs) -> Sink {
        Sink {
            transcript: args.transcript.clone(),
            json: args.json,
        }
    }
}

enum FileFormat {
    Text,
    JsonLines,
    /// Kept until the end, then written as one page with the diagram.
    Html(Box<TranscriptHeader>, Vec<TranscriptEvent>),
}

/// The open outputs of one run.
pub struct Output {
    live: bool,
    file: Option<(BufWriter<File>, FileFormat)>,
    json: bool,
    target: String,
    /// Belt and braces: the engine never puts these in an event, and this
    /// replaces them should that ever change.
    sensitive: Vec<String>,
}

impl Output {
    /// Opens the transcript file, if any, and writes its header.
    pub fn open(sink: Sink, target: &Target, sensitive: Vec<String>) -> Result<Output, UsageError> {
        let mut file = None;
        let mut live = false;
        match sink.transcript.as_deref() {
            Some("-") => live = true,
            Some(path) => {
                let f = File::create(path).map_err(|e| {
                    UsageError::Invalid(format!("cannot write the transcript to {path}: {e}"))
                })?;
                let lower = path.to_ascii_lowercase();
                let format = if lower.ends_with(".jsonl") {
                    FileFormat::JsonLines
                } else if lower.ends_with(".html") || lower.ends_with(".htm") {
                    FileFormat::Html(
                        Box::new(TranscriptHeader::new(
                            &target.to_string(),
                            SystemTime::now(),
                        )),
                        Vec::new(),
                    )
                } else {
                    FileFormat::Text
                };
                file = Some((BufWriter::new(f), format));
            }
            None => {}
        }
        let mut out = Output {
            live,
            file,
            json: sink.json,
            target: target.to_string(),
            sensitive,
        };
        if let Some((w, format)) = &mut out.file {
            let header = TranscriptHeader::new(&out.target, SystemTime::now());
            let line = match format {
                FileFormat::JsonLines => serde_json::to_string(&header).unwrap_or_default(),
                FileFormat::Text => format!(
                    "=== Postscope transcript of a session with {} ({})",
                    out.target, header.generator
                ),
                FileFormat::Html(..) => String::new(),
            };
            if !line.is_empty() {
                let _ = writeln!(w, "{line}");
            }
        }
        Ok(out)
    }

    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for s in &self.sensitive {
            if !s.is_empty() && text.contains(s.as_str()) {
                text = text.replace(s.as_str(), "<redacted>");
            }
        }
        text
    }

    /// Handles one event from the engine, as it happens.
    pub fn event(&mut self, event: &Event) {
        let Event::Transcript(e) = event else {
            return;
        };
        let mut e = e.clone();
        // Only our own lines: scrubbing what the server said would turn the
        // transcript into an oracle for a short password ("250" → <redacted>).
        if e.direction == Direction::Sent {
            e.text = self.scrub(&e.text);
        }
        if self.live {
            let style = style_for(&e);
            let mut err = anstream::stderr().lock();
            let _ = writeln!(err, "{style}{}{style:#}", e.to_text());
        }
        if let Some((w, format)) = &mut self.file {
            let line = match format {
                FileFormat::Text => e.to_text(),
                FileFormat::JsonLines => serde_json::to_string(&e).unwrap_or_default(),
                FileFormat::Html(_, events) => {
                    events.push(e);
                    return;
                }
            };
            // Flushed line by line: a crash keeps everything up to it.
            let _ = writeln!(w, "{line}").and_then(|()| w.flush());
        }
    }

    fn close_file(&mut self) {
        if let Some((mut w, format)) = self.file.take() {
            if let FileFormat::Html(header, events) = format {
                let _ = w.write_all(crate::share::html(&header, &events).as_bytes());
            }
            let _ = w.flush();
        }
    }

    /// Prints the outcome of `send` and returns the exit status.
    pub fn finish_send(&mut self, report: &Report, result: &Result<(), SessionError>) -> ExitCode {
        self.close_file();
        let status = exit_status(result);
        if self.json {
            let outcome = match result {
                Ok(()) if report.stopped_after.is_some() => "stopped",
                Ok(()) if report.refused.is_empty() => "delivered",
                Ok(()) => "partially_delivered",
                Err(SessionError::DeliveryUnknown { .. }) => "unknown",
                Err(SessionError::Cancelled { .. }) => "cancelled",
                Err(_) => "failed",
            };
            let mut value = common_json(&self.target, "send", outcome, status, report, result);
            value["accepted"] = if report.stopped_after.is_some() {
                json!(report.accepted)
            } else {
                json!(report.delivered)
            };
            value["stopped_after"] = json!(report.stopped_after);
            value["refused"] = json!(report.refused);
            value["message_bytes"] = json!(report.message_bytes);
            println!("{value}");
        }
        let mut err = anstream::stderr().lock();
        let ok = Style::new().bold().fg_color(Some(AnsiColor::Green.into()));
        let bad = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let warn = Style::new().bold().fg_color(Some(AnsiColor::Yellow.into()));
        match result {
            Ok(()) if report.stopped_after.is_some() => {
                let point = report.stopped_after.unwrap_or(crate::smtp::Stage::Data);
                let name = point.name();
                let _ = writeln!(
                    err,
                    "{ok}stopped after {name}{ok:#} as asked (--quit-after {name}) at {}: \
                     no message was delivered",
                    self.target,
                );
                if point >= crate::smtp::Stage::Rcpt {
                    let _ = writeln!(
                        err,
                        "  the server accepted {} recipient(s): {}",
                        report.accepted.len(),
                        report.accepted.join(", ")
                    );
                }
                for r in &report.refused {
                    let _ = writeln!(err, "{warn}refused{warn:#} <{}>: {}", r.address, r.reply);
                }
            }
            Ok(()) => {
                let _ = writeln!(
                    err,
                    "{ok}delivered{ok:#} to {} recipient(s) via {}",
                    report.delivered.len(),
                    self.target,
                );
                if let Some(reply) = &report.final_reply {
                    let _ = writeln!(
                        err,
                        "  server said: {} {}",
                        reply.code,
                        reply.lines.join(" ")
                    );
                }
                for r in &report.refused {
                    let _ = writeln!(
                        err,
                        "{warn}not delivered{warn:#} to <{}>: {}",
                        r.address, r.reply
                    );
                }
            }
            Err(e) => print_error(&mut err, bad, e, status),
        }
        ExitCode::from(status)
    }

    /// Prints the outcome of `probe` and returns the exit status.
    pub fn finish_probe(&mut self, report: &Report, result: &Result<(), SessionError>) -> ExitCode {
        self.close_file();
        let status = exit_status(result);
        if self.json {
            let outcome = if result.is_ok() { "ok" } else { "failed" };
            let value = common_json(&self.target, "probe", outcome, status, report, result);
            println!("{value}");
        } else {
            print!("{}", probe_text(&self.target, report));
        }
        if let Err(e) = result {
            let bad = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
            let mut err = anstream::stderr().lock();
            print_error(&mut err, bad, e, status);
        }
        ExitCode::from(status)
    }
}

/// The error, the stage and exit status, and what to change, in flags.
fn print_error(err: &mut impl Write, bad: Style, e: &SessionError, status: u8) {
    let _ = writeln!(err, "{bad}error:{bad:#} {e}");
    let _ = writeln!(err, "  stage: {} (exit status {status})", e.stage());
    if let Some(hint) = e.remedy().map(hint) {
        let _ = writeln!(err, "  hint: {hint}");
    }
}

/// A remedy in the command line's words.
fn hint(remedy: Remedy) -> &'static str {
    match remedy {
        Remedy::ChooseTlsMode => {
            "use --tls implicit if the port expects TLS from the start, \
             or --tls none to send unencrypted on purpose"
        }
        Remedy::SendWithoutLogin => "use --auth none to send without logging in",
        Remedy::AllowPartial => "use --allow-partial to deliver to the accepted recipients",
        Remedy::TryImplicitTls => {
            "a port that expects TLS from the first byte (implicit TLS, as on 465) says \
             nothing until the client starts it: try --tls implicit"
        }
        Remedy::SendWithoutDsn => {
            "leave out --dsn-notify, --dsn-ret and --dsn-envid to send without asking for \
             delivery notices"
        }
        Remedy::TrustIssuer => {
            "pass --ca-file with that CA's PEM to trust it, \
             or --insecure to skip the check (testing only)"
        }
        Remedy::UseOAuth2 => {
            "this server takes OAuth2 sign-in, not passwords: add the account with \
             `postscope account add NAME --auth oauth2 --oauth-provider google|microsoft \
             --oauth-client-id ID …`, run `postscope account login NAME`, then send with \
             --account NAME"
        }
    }
}

fn exit_status(result: &Result<(), SessionError>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => e.exit_status(),
    }
}

fn common_json(
    target: &str,
    command: &str,
    outcome: &str,
    status: u8,
    report: &Report,
    result: &Result<(), SessionError>,
) -> serde_json::Value {
    let error = result.as_ref().err().map(|e| {
        json!({
            "stage": e.stage(),
            "message": e.to_string(),
            "hint": e.remedy().map(hint),
            "reply": e.reply(),
            "timeout": matches!(e, SessionError::Timeout { .. }),
        })
    });
    json!({
        "version": 1,
        "command": command,
        "server": target,
        "outcome": outcome,
        "exit_status": status,
        "stage": report.stage,
        "error": error,
        "greeting": report.greeting,
        "capabilities": report.capabilities,
        "capabilities_before_tls": report.capabilities_before_tls,
        "tls": report.tls,
        "auth": report.auth,
        "final_reply": report.final_reply,
        "timings": report.timings,
    })
}

/// The human-readable probe report.
fn probe_text(target: &str, report: &Report) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<14}{v}\n"));
    line("Server", target.to_owned());
    if let Some(g) = &report.greeting {
        line("Greeting", format!("{} {}", g.code, g.lines.join(" / ")));
    }
    if let Some(caps) = &report.capabilities {
        line("Server name", caps.server_name.clone());
        let heading = if report.capabilities_before_tls.is_some() {
            "Capabilities (after STARTTLS)"
        } else {
            "Capabilities"
        };
        s.push_str(&format!("{heading}:\n"));
        if caps.extensions.is_empty() {
            s.push_str("  (none: the server answered HELO, not EHLO)\n");
        }
        for c in &caps.extensions {
            s.push_str(&format!("  {:<28} {}\n", c.to_string(), c.describe()));
        }
        if let Some(before) = &report.capabilities_before_tls {
            let names: Vec<String> = before.extensions.iter().map(|c| c.to_string()).collect();
            s.push_str(&format!("Before STARTTLS: {}\n", names.join(", ")));
        }
    }
    match &report.tls {
        Some(tls) => {
            let cipher = if tls.cipher.is_empty() {
                String::new()
            } else {
                format!(", {}", tls.cipher)
            };
            let kx = tls
                .key_exchange
                .as_ref()
                .map(|k| format!(", key exchange {k}"))
                .unwrap_or_default();
            s.push_str(&format!("{:<14}{}{cipher}{kx}\n", "TLS", tls.version));
            let verdict = match &tls.verification {
                Verification::Verified => format!("verified for {}", tls.server_name),
                Verification::NotVerified { reason } => format!("NOT verified: {reason}"),
            };
            s.push_str(&format!("{:<14}{verdict}\n", "Certificate"));
            for (i, c) in tls.chain.iter().enumerate() {
                s.push_str(&format!("  [{i}] subject  {}\n", c.subject));
                s.push_str(&format!("      issuer   {}\n", c.issuer));
                if !c.subject_alt_names.is_empty() {
                    s.push_str(&format!(
                        "      names    {}\n",
                        c.subject_alt_names.join(", ")
                    ));
                }
                let left = if c.days_left < 0 {
                    format!("EXPIRED {} days ago", -c.days_left)
                } else {
                    format!("{} days left", c.days_left)
                };
                s.push_str(&format!(
                    "      valid    {} to {} ({left})\n",
                    c.not_before, c.not_after
                ));
                if !c.public_key.is_empty() {
                    s.push_str(&format!(
                        "      key      {}, signed with {}\n",
                        c.public_key, c.signature
                    ));
                }
                s.push_str(&format!("      sha256   {}\n", c.sha256));
            }
        }
        None => s.push_str(&format!("{:<14}none (clear text)\n", "TLS")),
    }
    if !report.timings.is_empty() {
        let steps: Vec<String> = report
            .timings
            .iter()
            .map(|t| format!("{} {:.1} ms", t.stage, t.at_ms.as_secs_f64() * 1000.0))
            .collect();
        s.push_str(&format!("{:<14}{}\n", "Timings", steps.join(" · ")));
    }
    if let Some(limit) = report.capabilities.as_ref().and_then(|c| c.size_limit()) {
        s.push_str(&format!("{:<14}{}\n", "Size limit", format_bytes(limit)));
    }
    s
}

/// The colour of a transcript line: client lines cyan, replies by class,
/// notes dim, errors bold red.
fn style_for(e: &TranscriptEvent) -> Style {
    match e.direction {
        Direction::Sent => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        Direction::Received => match e.class() {
            Some(ReplyClass::PositiveCompletion) => {
                Style::new().fg_color(Some(AnsiColor::Green.into()))
            }
            Some(ReplyClass::PositiveIntermediate) => {
                Style::new().fg_color(Some(AnsiColor::Blue.into()))
            }
            Some(ReplyClass::TransientNegative) => {
                Style::new().fg_color(Some(AnsiColor::Yellow.into()))
            }
            Some(ReplyClass::PermanentNegative) => {
                Style::new().fg_color(Some(AnsiColor::Red.into()))
            }
            None => Style::new(),
        },
        Direction::Note => Style::new().dimmed(),
        Direction::Error => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
    }
}

/// `send --dump-mail`: the message on standard output, as DATA or BDAT
/// would carry it before dot-stuffing (line ends made CRLF, as the
/// session makes them), and the envelope on standard error.
pub fn dump_mail(message: crate::app::Outgoing) -> ExitCode {
    let crate::app::Outgoing::Ready { envelope, body } = message else {
        let e = UsageError::Invalid("there is no ready message to show".into());
        return super::usage_failure(&e);
    };
    let mut err = anstream::stderr();
    for command in envelope.commands() {
        let _ = writeln!(err, "{command}");
    }
    let written = (|| -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        crate::smtp::dot_stuff::copy_as_sent(body.as_ref(), &mut stdout)?;
        stdout.flush()
    })();
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let e = UsageError::Invalid(format!("cannot write the message: {e}"));
            super::usage_failure(&e)
        }
    }
}
