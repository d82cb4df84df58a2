//! The command line, as clap types only: no behaviour lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  labc build                   compile ./lab.ncl into ./generated/
  labc check                   exit 1 (with a diff) if generated/ is stale
  labc diff --lab lab.toml     show what build would change, write nothing
  labc schema                  refresh schemas/lab.schema.json and schemas/lab.ncl

Exit codes: 0 ok, 1 check found differences, 2 invalid lab or refused output, 3 I/O error.";

/// Compiles one typed lab description (lab.ncl or lab.toml) into the files
/// Ansible, ArgoCD, Helm, Compose, OpenTofu and psql apply.
#[derive(Debug, Parser)]
#[command(name = "labc", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The lab file, `.ncl` or `.toml` [default: ./lab.ncl, else ./lab.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub lab: Option<PathBuf>,
    /// The output folder [default: generated/ next to the lab file]
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Colour diagnostics and diffs (`auto` honours NO_COLOR and terminals)
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print errors only
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile the lab and update generated/ (and schemas/), touching only files that change
    #[command(after_help = "Example:\n  labc build --lab lab.ncl --out generated")]
    Build,
    /// Exit 0 if the lab is valid and generated/ and schemas/ are exactly what build would write
    #[command(after_help = "Example (a pre-commit hook or CI step):\n  labc check --quiet")]
    Check,
    /// Show what build would change, as a unified diff, writing nothing
    #[command(after_help = "Example:\n  labc diff | less -R")]
    Diff,
    /// Write schemas/lab.schema.json (for lab.toml editors) and schemas/lab.ncl (Nickel contracts)
    #[command(after_help = "Example:\n  labc schema")]
    Schema,
}
