//! What the command line prints: diagnostics reports and unified diffs,
//! coloured or not. The only place colour is decided and applied.

use crate::cli::{Color, Global, MessageFormat};
use crate::compile::{Failed, Report};
use crate::diag::{Code, Message, Severity};
use crate::output::Changes;
use std::io::IsTerminal;
use std::path::Path;

/// Whether to colour what goes to standard error.
pub fn color(global: &Global) -> bool {
    match global.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// Whether to colour what goes to standard output (`diff --base`'s text
/// report, which may be redirected to a file while errors stay on a terminal).
pub fn color_stdout(global: &Global) -> bool {
    match global.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Prints why the lab at the base revision `rev` did not compile, its files
/// named by `name` (`REV:lab.ncl`), and the closing line.
pub fn base_failure(
    rev: &str,
    lab: &str,
    failed: &Failed,
    name: impl Fn(&str) -> String,
    color: bool,
) {
    match failed {
        Failed::Io(msg) => eprintln!("error: {msg}"),
        Failed::Invalid(report) => {
            let renamed = Report {
                sources: report.sources.renamed(name),
                diags: report.diags.clone(),
            };
            eprint!("{}", report_text(&renamed, color));
            let n = match report.errors() {
                0 | 1 => "an error".to_string(),
                n => format!("{n} errors"),
            };
            eprintln!(
                "labc: {lab} has {n}: the lab does not compile at the base revision {rev}, so there is nothing to compare with"
            );
        }
    }
}

/// Whether problems go out as JSON lines on stdout (`--message-format
/// json`) rather than text on stderr. In JSON mode stdout holds JSON lines
/// only, and the lines written for people (summaries, diffs) are left out.
pub fn json(global: &Global) -> bool {
    global.message_format == MessageFormat::Json
}

/// Prints a problem that is not about a place in the lab (no lab found, a
/// file that cannot be read or written, a generated file out of date):
/// `severity[code]: message` on stderr, or one JSON line on stdout.
pub fn problem(
    global: &Global,
    severity: Severity,
    code: Code,
    message: &str,
    file: Option<&Path>,
    notes: &[String],
) {
    if json(global) {
        let mut m = Message::about(
            severity,
            code,
            message,
            file.map(|f| f.display().to_string()),
        );
        m.notes = notes.to_vec();
        println!("{}", m.to_json_line());
    } else {
        eprintln!("{}[{code}]: {message}", severity.as_str());
        for n in notes {
            eprintln!("  = {n}");
        }
    }
}

/// Prints why the lab at `lab` did not compile, and the closing line.
pub fn failure(global: &Global, lab: &Path, failed: &Failed, color: bool) {
    match failed {
        Failed::Io(msg) => problem(global, Severity::Error, Code::Io, msg, Some(lab), &[]),
        Failed::Invalid(report) if json(global) => {
            for d in &report.diags {
                println!("{}", Message::of(&report.sources, d).to_json_line());
            }
        }
        Failed::Invalid(report) => {
            eprint!("{}", report_text(report, color));
            let n = match report.errors() {
                0 | 1 => "an error".to_string(),
                n => format!("{n} errors"),
            };
            eprintln!("labc: {} has {n}; nothing was written", lab.display());
        }
    }
}

pub fn report_text(report: &Report, color: bool) -> String {
    crate::diag::render(&report.sources, &report.diags, color)
}

/// The diff of all changes, as `git diff` would show it.
pub fn diff(dir: &Path, changes: &Changes, color: bool) -> String {
    let mut out = String::new();
    let prefix = |p: &str| format!("{}/{p}", dir.display().to_string().trim_end_matches('/'));
    for (p, new) in &changes.created {
        out.push_str(&paint(
            &crate::output::unified_diff(&prefix(p), "", new),
            color,
        ));
    }
    for (p, old, new) in &changes.modified {
        out.push_str(&paint(
            &crate::output::unified_diff(&prefix(p), old, new),
            color,
        ));
    }
    for (p, old) in &changes.deleted {
        out.push_str(&paint(
            &crate::output::unified_diff(&prefix(p), old, ""),
            color,
        ));
    }
    out
}

fn paint(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    diff.lines()
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                ""
            };
            if code.is_empty() {
                format!("{l}\n")
            } else {
                format!("\x1b[{code}m{l}\x1b[0m\n")
            }
        })
        .collect()
}

/// How `check` and `diff` show a folder's changes, per `--stat`,
/// `--name-only` or neither (the unified diff).
pub fn changes(dir: &Path, changes: &Changes, show: &crate::cli::Show, color: bool) -> String {
    let path = |p: &str| format!("{}/{p}", dir.display().to_string().trim_end_matches('/'));
    let all = changes
        .created
        .iter()
        .map(|(p, new)| (p, "", new.as_str()))
        .chain(
            changes
                .modified
                .iter()
                .map(|(p, old, new)| (p, old.as_str(), new.as_str())),
        )
        .chain(changes.deleted.iter().map(|(p, old)| (p, old.as_str(), "")));
    if show.name_only {
        return all.map(|(p, _, _)| path(p) + "\n").collect();
    }
    if show.stat {
        return all
            .map(|(p, old, new)| {
                let (added, removed) = crate::output::line_counts(old, new);
                format!("{} | +{added} -{removed}\n", path(p))
            })
            .collect();
    }
    diff(dir, changes, color)
}

/// One problem per generated file that differs from what build would
/// write (`labc::check::stale`), is missing (`missing`) or would be deleted
/// (`extra`), each naming the file; `fix` says what brings it up to date.
pub fn changed_files(
    global: &Global,
    dir: &Path,
    changes: &Changes,
    severity: Severity,
    fix: &str,
) {
    let path = |p: &str| dir.join(p);
    let fix = [fix.to_string()];
    for (p, _, _) in &changes.modified {
        let msg = "differs from what `labc build` would write";
        problem(global, severity, Code::Stale, msg, Some(&path(p)), &fix);
    }
    for (p, _) in &changes.created {
        let msg = "is missing: `labc build` would create it";
        problem(global, severity, Code::Missing, msg, Some(&path(p)), &fix);
    }
    for (p, _) in &changes.deleted {
        let msg = "labc wrote it before and `labc build` would delete it";
        problem(global, severity, Code::Extra, msg, Some(&path(p)), &fix);
    }
}
