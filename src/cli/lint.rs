//! `postscope lint FILE.eml|-`: a message checked against RFC 5322 and
//! RFC 2045 ([`crate::message::lint`]). Exit 0 when there is no error
//! (warnings are printed), 1 when there are errors, 2 when the message
//! cannot be read or the command line is wrong.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

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
