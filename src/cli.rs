//! The command line, as clap types only: no behaviour lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  labc init my-lab             start a lab: my-lab/lab.ncl, schemas/, a pre-commit hook
  labc build                   compile ./lab.ncl into ./generated/
  labc check                   exit 1 (with a diff) if generated/ is stale
  labc diff --lab lab.toml     show what build would change, write nothing
  labc diff --base main        what changed in the lab since main, and its risks
  labc schema                  refresh schemas/ (lab.schema.json, lab.ncl, review.schema.json)
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

/// `labc diff`'s arguments.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub show: Show,
    /// Compare the lab with the lab at this git revision (a branch, tag or commit) instead of with generated/
    #[arg(long, value_name = "REV", conflicts_with_all = ["stat", "name_only"])]
    pub base: Option<String>,
    /// The report's format with --base: text (coloured per --color), markdown (a pull-request comment), json
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, requires = "base")]
    pub format: ReportFormat,
}

/// How `labc diff --base` writes its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a lab: a small commented lab.ncl (hosts and k3s), schemas/ and a pre-commit hook; never overwrites a file
    #[command(
        after_help = "Examples:\n  labc init my-lab && cd my-lab && labc build\n  labc init --toml"
    )]
    Init {
        /// The folder to start the lab in (created if missing) [default: the current folder]
        dir: Option<PathBuf>,
        /// Write lab.toml (with `#:schema` and a .taplo.toml for editors) instead of lab.ncl
        #[arg(long)]
        toml: bool,
    },
    /// Compile the lab and update generated/ (and schemas/), touching only files that change
    #[command(after_help = "Example:\n  labc build --lab lab.ncl --out generated")]
    Build,
    /// Exit 0 if the lab is valid and generated/ and schemas/ are exactly what build would write
    #[command(after_help = "Example (a pre-commit hook or CI step):\n  labc check --quiet")]
    Check(Show),
    /// Show what build would change, as a unified diff, writing nothing; exit 1 if it would change anything.
    /// With --base REV: what changed in the lab since REV, the generated files each change touches, and the risks
    #[command(
        after_help = "Examples:\n  labc diff --stat\n  labc diff --base origin/main --format markdown"
    )]
    Diff(DiffArgs),
    /// Write schemas/lab.schema.json (for lab.toml editors), schemas/lab.ncl (Nickel contracts) and schemas/review.schema.json (diff --base's JSON)
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
