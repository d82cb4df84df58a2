//! `labc check`: the lab is valid and the output folder and schemas/ hold
//! exactly what `labc build` would write. On a mismatch, print what differs
//! (a unified diff per file, or `--stat` / `--name-only`), the missing and
//! extra files, and the command that fixes it; `--quiet` prints only that
//! command. Files in the output folder that labc never wrote are reported
//! as warnings: build leaves them alone, and so does check's exit code.
//! With `--message-format json`, each of these is one JSON line instead
//! (`labc::check::stale`, `missing`, `extra`, `stray`), naming the file.

use super::*;
use crate::cli::Show;
use std::collections::BTreeSet;

pub fn run(global: &Global, show: &Show) -> Exit {
    let Compared {
        lab,
        color,
        folders,
    } = match compare(global) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let mut stale = false;
    let mut total = 0;
    for (t, changes) in folders {
        total += changes.unchanged;
        let deleted: BTreeSet<String> = changes.deleted.iter().map(|(p, _)| p.clone()).collect();
        let show_path = |p: &str| format!("{}/{p}", t.dir.display());
        match t.stray(&deleted) {
            Ok(stray) => {
                for p in stray {
                    let path = show_path(&p);
                    render::problem(
                        global,
                        Severity::Warning,
                        Code::Stray,
                        &format!(
                            "{path} is not labc's: labc did not write it and build leaves it alone; move it out of {} to keep the folder generated-only",
                            t.dir.display()
                        ),
                        Some(Path::new(&path)),
                        &[],
                    );
                }
            }
            Err(e) => return output_error(global, &e),
        }
        if changes.is_empty() {
            continue;
        }
        stale = true;
        if render::json(global) {
            let fix = format!(
                "run `labc build --lab {}` and commit the result",
                lab.display()
            );
            render::changed_files(global, &t.dir, &changes, Severity::Error, &fix);
            continue;
        }
        if global.quiet {
            continue;
        }
        print!("{}", render::changes(&t.dir, &changes, show, color));
        if !changes.modified.is_empty() {
            eprintln!("labc: differing files:");
            for (p, _, _) in &changes.modified {
                eprintln!("  {}", show_path(p));
            }
        }
        if !changes.created.is_empty() {
            eprintln!("labc: missing files (build would create them):");
            for (p, _) in &changes.created {
                eprintln!("  {}", show_path(p));
            }
        }
        if !changes.deleted.is_empty() {
            eprintln!("labc: extra files (labc wrote them before; build would delete them):");
            for (p, _) in &changes.deleted {
                eprintln!("  {}", show_path(p));
            }
        }
    }
    if render::json(global) {
        return if stale { Exit::Differs } else { Exit::Ok };
    }
    if stale {
        eprintln!(
            "labc: generated files are out of date with {}; run `labc build --lab {}` and commit the result",
            lab.display(),
            lab.display()
        );
        Exit::Differs
    } else {
        if !global.quiet {
            eprintln!(
                "labc: {} is valid and {total} generated files are up to date",
                lab.display()
            );
        }
        Exit::Ok
    }
}
