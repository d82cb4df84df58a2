//! `labc build`: compile the lab and bring the output folder (and schemas/)
//! up to date, writing only files whose bytes change.

use super::*;

pub fn run(global: &Global) -> u8 {
    let Prepared {
        paths,
        compiled,
        snapshots,
        ..
    } = match prepare(global) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let targets = targets(&paths, compiled);
    // Check both folders before writing either, so a refused folder leaves
    // the other untouched too.
    let mut all = Vec::new();
    for (t, snapshot) in targets.iter().zip(snapshots) {
        match snapshot.and_then(|s| t.changes_from(s)) {
            Ok(c) => all.push(c),
            Err(e) => return report_output_error(&e),
        }
    }
    let mut summary = Vec::new();
    for (t, c) in targets.iter().zip(all) {
        match t.apply_changes(c) {
            Ok(c) => summary.push((t.dir, c)),
            Err(e) => return report_output_error(&e),
        }
    }
    if !global.quiet {
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
    OK
}
