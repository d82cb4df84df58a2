//! `labc diff`: what `labc build` would change, as a unified diff. Writes
//! nothing; exits 0 whether or not there are changes.

use super::*;

pub fn run(global: &Global) -> u8 {
    let paths = match paths(global) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return INVALID;
        }
    };
    let color = color(global);
    let compiled = match compile_or_report(&paths, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut any = false;
    for t in targets(&paths, &compiled) {
        match t.changes() {
            Ok(c) => {
                any |= !c.is_empty();
                print!("{}", render_diff(t.dir, &c, color));
            }
            Err(e) => return report_output_error(&e),
        }
    }
    if !any && !global.quiet {
        eprintln!("labc: no changes");
    }
    OK
}
