//! `labc diff`: what `labc build` would change (a unified diff, or `--stat`
//! / `--name-only`). Writes nothing; exits 1 when build would change
//! something, like `git diff --exit-code`.

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
        print!("{}", render::changes(&t.dir, &c, show, color));
    }
    if any {
        Exit::Differs
    } else {
        if !global.quiet {
            eprintln!("labc: no changes");
        }
        Exit::Ok
    }
}
