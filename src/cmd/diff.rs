//! `labc diff`: what `labc build` would change (a unified diff, or `--stat`
//! / `--name-only`). Writes nothing; exits 1 when build would change
//! something, like `git diff --exit-code`. With `--message-format json`,
//! one JSON line (severity `note`) per file build would change.

use super::*;
use crate::cli::Show;

pub fn run(global: &Global, show: &Show) -> Exit {
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
