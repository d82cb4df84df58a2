//! `labc diff`: what `labc build` would change, as a unified diff. Writes
//! nothing; exits 0 whether or not there are changes.

use super::*;

pub fn run(global: &Global) -> u8 {
    let Prepared {
        paths,
        color,
        compiled,
        snapshots,
    } = match prepare(global) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut any = false;
    for (t, snapshot) in targets(&paths, compiled).into_iter().zip(snapshots) {
        match snapshot.and_then(|s| t.changes_from(s)) {
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
