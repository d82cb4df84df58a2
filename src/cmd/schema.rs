//! `labc schema`: write schemas/lab.schema.json and schemas/lab.ncl, the
//! JSON Schema and Nickel contracts generated from labc's Rust types.
//! Needs no lab file: the schemas do not depend on it.

use super::*;

pub fn run(global: &Global) -> u8 {
    let dir = match &global.lab {
        Some(lab) => lab.parent().unwrap_or(Path::new("")).join("schemas"),
        None => PathBuf::from("schemas"),
    };
    match schema_target(&dir).apply() {
        Ok(c) => {
            if !global.quiet {
                eprintln!(
                    "labc: {}: {} written, {} unchanged",
                    dir.display(),
                    c.created.len() + c.modified.len(),
                    c.unchanged
                );
            }
            OK
        }
        Err(e) => report_output_error(&e),
    }
}
