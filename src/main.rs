//! The `postscope` binary: parse the command line and dispatch. Nothing else.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread exists: the zone's offset cannot be read later.
    postscope::clock::init_local_offset();
    let cli = match postscope::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Some(command) => postscope::cli::run(command),
        #[cfg(feature = "gui")]
        None => postscope::ui::run(cli.open),
        #[cfg(not(feature = "gui"))]
        None => {
            eprintln!(
                "this postscope was built without the window (no \"gui\" feature): \
                 give a subcommand, e.g. postscope send --help"
            );
            ExitCode::from(1)
        }
    }
}
