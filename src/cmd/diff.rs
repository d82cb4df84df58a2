//! `labc diff`: what `labc build` would change, as a unified diff. Writes
//! nothing; exits 0 whether or not there are changes.

use super::*;

pub fn run(global: &Global) -> u8 {
    let Compared { color, folders, .. } = match compare(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut any = false;
    for (t, c) in folders {
        any |= !c.is_empty();
        print!("{}", render_diff(&t.dir, &c, color));
    }
    if !any && !global.quiet {
        eprintln!("labc: no changes");
    }
    OK
}
