//! `postscope man` and `postscope completions`: the manual pages and the
//! shell completions, made from the same clap definitions the command line
//! parses with, so they can never disagree with it. The package installs
//! them; people who install with cargo run these.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, ValueEnum};

use super::Cli;

/// `postscope man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `postscope.1` and one `postscope-SUBCOMMAND.1` per subcommand
    /// into DIR (created if missing). Without it, `postscope.1` goes to
    /// standard output (`postscope man | man -l -`).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// The shells completions are made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash (put the output in /usr/share/bash-completion/completions/postscope).
    Bash,
    /// zsh (as `_postscope` in a folder of $fpath).
    Zsh,
    /// fish (in ~/.config/fish/completions/postscope.fish).
    Fish,
}

/// `postscope completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the manual pages.
pub fn man(args: ManArgs) -> ExitCode {
    let command = Cli::command();
    let result = match &args.out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .and_then(|()| out.flush())
        }
        Some(dir) => write_pages(command, dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let e = super::UsageError::Invalid(format!("cannot write the manual pages: {e}"));
            super::failure(&e, "")
        }
    }
}

/// `postscope.1`, then `postscope-send.1` and the rest, each naming the
/// whole command (`postscope-send`) as man's convention has it.
fn write_pages(command: clap::Command, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let page = |cmd: clap::Command, file: String| -> std::io::Result<()> {
        let mut bytes = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut bytes)?;
        std::fs::write(dir.join(file), bytes)
    };
    for sub in command.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        // clap names are &'static str; this process ends right after.
        let name: &'static str =
            Box::leak(format!("postscope-{}", sub.get_name()).into_boxed_str());
        let bin: &'static str = Box::leak(name.replacen('-', " ", 1).into_boxed_str());
        page(sub.clone().name(name).bin_name(bin), format!("{name}.1"))?;
    }
    page(command, "postscope.1".into())
}

/// Writes the completion script for a shell to standard output.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = Cli::command();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "postscope", &mut out);
    let _ = std::io::stdout().lock().write_all(&out);
    ExitCode::SUCCESS
}
