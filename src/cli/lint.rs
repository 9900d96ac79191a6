//! `postscope lint FILE.eml|-`: a message checked against RFC 5322 and
//! RFC 2045 ([`crate::message::lint`]). Exit 0 when there is no error
//! (warnings are printed), 1 when there are errors, 2 when the message
//! cannot be read or the command line is wrong. Also the check of a ready
//! message before `send --eml` sends it (`--strict`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::UsageError;
use crate::app::Outgoing;
use crate::message::lint::{Level, lint};
use crate::message::{DEFAULT_MAX_INPUT, EmlError, FileBody};
use crate::smtp::BodySource;

/// `postscope lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The message, or - for standard input.
    #[arg(value_name = "FILE.eml|-")]
    pub file: PathBuf,
    /// Print one JSON object with every finding on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `lint`.
pub fn run(args: LintArgs) -> ExitCode {
    let bytes = match read(&args) {
        Ok(bytes) => bytes,
        Err(e) => {
            let mut err = anstream::stderr();
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let findings = lint(&bytes);
    let name = if args.file.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        args.file.display().to_string()
    };
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.len() - errors;
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = json!({
            "file": name,
            "errors": errors,
            "warnings": warnings,
            "findings": findings,
        });
        let _ = writeln!(out, "{value}");
    } else {
        for f in &findings {
            let _ = writeln!(out, "{f}");
        }
        let _ = writeln!(out, "{name}: {errors} error(s), {warnings} warning(s)");
    }
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The message's bytes (an empty one is linted: it is a finding).
fn read(args: &LintArgs) -> Result<Vec<u8>, String> {
    let body = match FileBody::open(&args.file, DEFAULT_MAX_INPUT) {
        Ok(body) => body,
        Err(EmlError::Empty { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut bytes = Vec::new();
    body.open()
        .and_then(|mut r| r.read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    Ok(bytes)
}

/// The largest ready message linted before it is sent.
const LINTED_BEFORE_SENDING: usize = 64 << 20;

/// Lints a ready message (`send --eml`) as the server will read it and
/// prints its findings to standard error as warnings; with `strict`, an
/// error refuses it (nothing is sent).
pub fn check_ready(message: &Outgoing, strict: bool) -> Result<(), UsageError> {
    let Outgoing::Ready { body, .. } = message else {
        return Ok(());
    };
    let mut err = anstream::stderr();
    let bytes = match crate::smtp::dot_stuff::as_sent(body.as_ref(), LINTED_BEFORE_SENDING) {
        Ok(Some(bytes)) => bytes,
        Ok(None) if strict => {
            return Err(UsageError::Invalid(format!(
                "--strict: the message is over {} and was not linted; nothing was sent",
                crate::smtp::format_bytes(LINTED_BEFORE_SENDING as u64)
            )));
        }
        Ok(None) => {
            let _ = writeln!(
                err,
                "note: the message is over {} and was not linted",
                crate::smtp::format_bytes(LINTED_BEFORE_SENDING as u64)
            );
            return Ok(());
        }
        Err(e) => return Err(UsageError::Invalid(format!("cannot read the message: {e}"))),
    };
    let findings = lint(&bytes);
    if findings.is_empty() {
        return Ok(());
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    let verdict = if errors > 0 && strict {
        "refused by --strict"
    } else if errors > 0 {
        "sent anyway; --strict refuses it"
    } else {
        "sent anyway"
    };
    let _ = writeln!(
        err,
        "{style}warning:{style:#} postscope lint finds {} in the message ({verdict}):",
        crate::message::lint::tally(&findings)
    );
    for f in &findings {
        let _ = writeln!(err, "    {f}");
    }
    if errors > 0 && strict {
        return Err(UsageError::Invalid(format!(
            "--strict: the message has {errors} error{} (listed above); nothing was sent",
            if errors == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}
