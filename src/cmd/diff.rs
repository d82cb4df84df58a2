//! `labc diff`: what `labc build` would change (a unified diff, or `--stat`
//! / `--name-only`). Writes nothing; exits 1 when build would change
//! something, like `git diff --exit-code`.
//!
//! With `--base REV`: the lab at REV (read from git's objects by
//! [`super::git`]) and the lab in the work tree are both compiled, and
//! [`crate::review`] says what changed between them; [`super::report`]
//! prints it as text, Markdown or JSON. Exits 1 when anything changed.
//!
//! Without it, `--message-format json` prints one JSON line (severity
//! `note`) per file build would change.

use super::*;
use crate::cli::{DiffArgs, Show};
use crate::review::{self, Side};

pub fn run(global: &Global, args: &DiffArgs) -> Exit {
    match &args.base {
        Some(rev) => run_base(global, rev, args.format),
        None => run_build(global, &args.show),
    }
}

fn run_build(global: &Global, show: &Show) -> Exit {
    let Compared { color, folders, .. } = match compare(global) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let mut any = false;
    for (t, c) in folders {
        any |= !c.is_empty();
        if render::json(global) {
            // Differences are what diff is asked for, not errors.
            render::changed_files(global, &t.dir, &c, Severity::Note, "run `labc build`");
        } else {
            print!("{}", render::changes(&t.dir, &c, show, color));
        }
    }
    if any {
        return Exit::Differs;
    }
    if !global.quiet && !render::json(global) {
        eprintln!("labc: no changes");
    }
    Exit::Ok
}

fn run_base(global: &Global, rev: &str, format: crate::cli::ReportFormat) -> Exit {
    let paths = match Paths::resolve(global) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let color = render::color(global);
    let head = match compile_on_big_stack(&paths.lab) {
        Ok(c) => c,
        Err(f) => {
            render::failure(global, &paths.lab, &f, color);
            return failed_exit(&f);
        }
    };
    let base = match git::base(rev, &paths.lab, &paths.out) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let base = match base {
        git::Base::Absent => None,
        git::Base::Present { dir, lab } => match compile_on_big_stack(&lab) {
            Ok(c) => Some(c),
            Err(f) => {
                // Name the revision's files `REV:path`, not the temporary copy.
                let tmp = format!("{}/", dir.path().display());
                let shown = |name: &str| match name.strip_prefix(&tmp) {
                    Some(rest) => format!("{rev}:{rest}"),
                    None => name.to_string(),
                };
                let lab_shown = shown(&lab.display().to_string());
                render::base_failure(rev, &lab_shown, &f, shown, color);
                return failed_exit(&f);
            }
        },
    };
    let head_side = Side {
        lab: &head.lab,
        files: &head.files,
    };
    let report = review::review(
        rev,
        base.as_ref().map(|b| Side {
            lab: &b.lab,
            files: &b.files,
        }),
        head_side,
    );
    let out_color = render::color_stdout(global);
    print!("{}", report::render(&report, format, out_color));
    if report.changes.is_empty() && report.files.is_empty() {
        Exit::Ok
    } else {
        Exit::Differs
    }
}

fn failed_exit(f: &compile::Failed) -> Exit {
    match f {
        compile::Failed::Io(_) => Exit::Io,
        compile::Failed::Invalid(_) => Exit::Invalid,
    }
}
