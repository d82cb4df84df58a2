//! `labc completions SHELL`: a completion script for bash, zsh, fish,
//! elvish or PowerShell; `labc man`: the manual page. Both generated from
//! the clap types, so they never drift from the command line.

use super::Exit;
use clap::CommandFactory;

pub fn run(shell: clap_complete::Shell) -> Exit {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "labc", &mut std::io::stdout());
    Exit::Ok
}

/// The manual page, as roff on stdout (`man -l -` reads it).
pub fn man() -> Exit {
    let page = clap_mangen::Man::new(crate::cli::Cli::command());
    match page.render(&mut std::io::stdout()) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!(
                "error[{}]: writing the manual page: {e}",
                crate::codes::Code::Io
            );
            Exit::Io
        }
    }
}
