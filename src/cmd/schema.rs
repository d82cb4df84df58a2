//! `labc schema`: write schemas/lab.schema.json and schemas/lab.ncl, the
//! JSON Schema and Nickel contracts generated from labc's Rust types, and
//! schemas/review.schema.json, the shape of `diff --base`'s JSON report.
//! Needs no lab file: the schemas do not depend on it.

use super::*;

pub fn run(global: &Global) -> Exit {
    let dir = schemas_dir(global);
    match schema_target(&dir).apply() {
        Ok(c) => {
            if !global.quiet && !render::json(global) {
                eprintln!(
                    "labc: {}: {} written, {} unchanged",
                    dir.display(),
                    c.created.len() + c.modified.len(),
                    c.unchanged
                );
            }
            Exit::Ok
        }
        Err(e) => output_error(global, &e),
    }
}
