//! `labc diff`: what `labc build` would change, as a unified diff. Writes
//! nothing; exits 0 whether or not there are changes.

use super::*;

pub fn run(global: &Global) -> Exit {
    let Compared { color, folders, .. } = match compare(global) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let mut any = false;
    for (t, c) in folders {
        any |= !c.is_empty();
        print!("{}", render::diff(&t.dir, &c, color));
    }
    if !any && !global.quiet {
        eprintln!("labc: no changes");
    }
    Exit::Ok
}
