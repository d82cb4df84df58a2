//! `labc build`: compile the lab and bring the output folder (and schemas/)
//! up to date, writing only files whose bytes change.

use super::*;

pub fn run(global: &Global) -> Exit {
    let Compared { folders, .. } = match compare(global) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let mut summary = Vec::new();
    for (t, c) in folders {
        match t.apply_changes(c) {
            Ok(c) => summary.push((t.dir, c)),
            Err(e) => return output_error(global, &e),
        }
    }
    if !global.quiet && !render::json(global) {
        for (dir, c) in summary {
            if c.is_empty() {
                eprintln!(
                    "labc: {} is up to date ({} files)",
                    dir.display(),
                    c.unchanged
                );
            } else {
                eprintln!(
                    "labc: {}: {} created, {} updated, {} deleted, {} unchanged",
                    dir.display(),
                    c.created.len(),
                    c.modified.len(),
                    c.deleted.len(),
                    c.unchanged
                );
            }
        }
    }
    Exit::Ok
}
