//! The `postscope` binary: parse the command line and dispatch. Nothing else.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match postscope::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Some(command) => postscope::cli::run(command),
        None => postscope::ui::run(),
    }
}
