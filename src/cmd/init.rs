//! `labc init [DIR]`: starts a lab. Writes a small, valid, commented lab
//! (`lab.ncl`, or `lab.toml` with `--toml`: hosts and a k3s cluster,
//! nothing else), `schemas/` (as `labc schema` writes it, so the lab's
//! import resolves), and a `.pre-commit-config.yaml` running `labc check`;
//! with `--toml` also a `.taplo.toml` pointing editors at the schema.
//! `labc build` works on the result at once.
//!
//! Invariants: never overwrites: every path is checked before anything is
//! written (an existing one is named, exit 2), and each file is created
//! with `O_EXCL`. The templates are files beside this one (`init/`), and
//! tests build and check what they become. No `.gitignore`: everything labc
//! writes (generated/, schemas/) is committed, so there is nothing to ignore.

use super::*;

const LAB_NCL: &str = include_str!("init/lab.ncl");
const LAB_TOML: &str = include_str!("init/lab.toml");
const PRE_COMMIT: &str = include_str!("init/pre-commit-config.yaml");
const TAPLO: &str = include_str!("init/taplo.toml");

/// The files `init` writes besides `schemas/`, by name in the folder.
fn files(toml: bool) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![(".pre-commit-config.yaml", PRE_COMMIT)];
    if toml {
        files.push(("lab.toml", LAB_TOML));
        files.push((".taplo.toml", TAPLO));
    } else {
        files.push(("lab.ncl", LAB_NCL));
    }
    files
}

pub fn run(global: &Global, dir: Option<&Path>, toml: bool) -> Exit {
    let dir = dir.unwrap_or(Path::new("."));
    let files = files(toml);
    let schemas = dir.join("schemas");
    // Both lab files: a folder holding the other one would have two labs.
    let mut paths: Vec<PathBuf> = ["lab.ncl", "lab.toml"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    paths.extend(files.iter().map(|(name, _)| dir.join(name)));
    paths.push(schemas.clone());
    if let Err(e) = crate::output::refuse_existing(paths.iter().map(PathBuf::as_path)) {
        return output_error(global, &e);
    }
    for (name, text) in &files {
        if let Err(e) = crate::output::create_new(&dir.join(name), text) {
            return output_error(global, &e);
        }
    }
    if let Err(e) = schema_target(&schemas).apply() {
        return output_error(global, &e);
    }
    if !global.quiet {
        let written: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        eprintln!(
            "labc: {}: wrote {} and schemas/; next: `labc build` there",
            dir.display(),
            written.join(", ")
        );
    }
    Exit::Ok
}
