//! `labc completions SHELL`: a completion script for bash, zsh, fish,
//! elvish or PowerShell, generated from the clap types so it never drifts.

use super::Exit;
use clap::CommandFactory;

pub fn run(shell: clap_complete::Shell) -> Exit {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "labc", &mut std::io::stdout());
    Exit::Ok
}
