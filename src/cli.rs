//! The command line, as clap types only: no behaviour lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  labc build                   compile ./lab.ncl into ./generated/
  labc check                   exit 1 (with a diff) if generated/ is stale
  labc diff --lab lab.toml     show what build would change, write nothing
  labc schema                  refresh schemas/lab.schema.json and schemas/lab.ncl
  labc completions bash        print a bash completion script

Without --lab, labc looks for lab.ncl or lab.toml in the current folder and
its parents, up to the repository root (the folder holding .git).

Exit codes: 0 ok, 1 check or diff found differences, 2 invalid lab or
refused output, 3 I/O error.";

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
    /// The lab file, `.ncl` or `.toml` [default: lab.ncl or lab.toml here or in a parent folder]
    #[arg(long, global = true, value_name = "PATH")]
    pub lab: Option<PathBuf>,
    /// The output folder (for `schema`: the schemas folder) [default: generated/ (schemas/) next to the lab file]
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Colour diagnostics and diffs (`auto` honours NO_COLOR and terminals)
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print errors only
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// How problems are printed: `human` (text on stderr) or `json` (one JSON object a line on stdout, as schemas/message.schema.json describes)
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

/// `--message-format`: for people or for tools (editors, CI annotations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

/// How `check` and `diff` show what differs.
#[derive(Debug, Args)]
pub struct Show {
    /// One line per changed file with lines added and removed, instead of the diff
    #[arg(long, conflicts_with = "name_only")]
    pub stat: bool,
    /// Only the paths of changed files, instead of the diff
    #[arg(long)]
    pub name_only: bool,
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
    Check(Show),
    /// Show what build would change, as a unified diff, writing nothing; exit 1 if it would change anything
    #[command(after_help = "Example:\n  labc diff --stat")]
    Diff(Show),
    /// Write schemas/lab.schema.json (for lab.toml editors) and schemas/lab.ncl (Nickel contracts)
    #[command(after_help = "Example:\n  labc schema")]
    Schema,
    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  labc completions bash > ~/.local/share/bash-completion/completions/labc"
    )]
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    #[command(after_help = "Example:\n  labc man > ~/.local/share/man/man1/labc.1")]
    Man,
}
