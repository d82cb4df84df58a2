//! labc compiles one typed description of a homelab (`lab.ncl` or
//! `lab.toml`) into the files the lab's tools apply. See ARCHITECTURE.md for
//! the code map and the invariants of each module.

pub mod cli;
pub mod cmd;
pub mod codes;
pub mod compile;
pub mod diag;
pub mod emit;
pub mod load;
pub mod model;
pub mod names;
pub mod output;
pub mod raw;
pub mod review;
pub mod schema;
pub mod validate;

use clap::Parser;
use std::process::ExitCode;

/// Runs the `labc` command line.
pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    let exit = match cli.command {
        cli::Command::Init { dir, toml } => cmd::init::run(&cli.global, dir.as_deref(), toml),
        cli::Command::Build => cmd::build::run(&cli.global),
        cli::Command::Check(show) => cmd::check::run(&cli.global, &show),
        cli::Command::Diff(args) => cmd::diff::run(&cli.global, &args),
        cli::Command::Schema => cmd::schema::run(&cli.global),
        cli::Command::Completions { shell } => cmd::completions::run(shell),
        cli::Command::Man => cmd::completions::man(),
    };
    ExitCode::from(exit)
}
