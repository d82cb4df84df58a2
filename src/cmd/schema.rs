//! `labc schema`: write schemas/lab.schema.json and schemas/lab.ncl, the
//! JSON Schema and Nickel contracts generated from labc's Rust types.
//! Needs no lab file: the schemas do not depend on it.

use super::*;

pub fn run(global: &Global) -> u8 {
    let dir = match &global.lab {
        Some(lab) => lab.parent().unwrap_or(Path::new("")).join("schemas"),
        None => PathBuf::from("schemas"),
    };
    let target = Target {
        dir: &dir,
        files: crate::schema::files(),
        manifest_header: "# Files `labc schema` generated from labc's Rust types.\n# Do not edit: run `labc schema`.\n".to_string(),
    };
    match target.apply() {
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
