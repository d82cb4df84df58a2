//! `labc check`: the lab is valid and the output folder and schemas/ hold
//! exactly what `labc build` would write. On a mismatch, print a unified
//! diff per file, the missing and extra files, and the command that fixes it.

use super::*;

pub fn run(global: &Global) -> Exit {
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
        if changes.is_empty() {
            continue;
        }
        stale = true;
        print!("{}", render::diff(&t.dir, &changes, color));
        let show = |p: &str| format!("{}/{p}", t.dir.display());
        if !changes.modified.is_empty() {
            eprintln!("labc: differing files:");
            for (p, _, _) in &changes.modified {
                eprintln!("  {}", show(p));
            }
        }
        if !changes.created.is_empty() {
            eprintln!("labc: missing files (build would create them):");
            for (p, _) in &changes.created {
                eprintln!("  {}", show(p));
            }
        }
        if !changes.deleted.is_empty() {
            eprintln!("labc: extra files (labc wrote them before; build would delete them):");
            for (p, _) in &changes.deleted {
                eprintln!("  {}", show(p));
            }
        }
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
