//! `labc init`: a new lab that builds and checks at once, whose output its
//! consumers accept (ansible-inventory strictly, yamllint), whose
//! pre-commit hook runs under the real pre-commit framework, and which
//! never overwrites a file. Also the hint when a lab's schema import is
//! missing.

use crate::ansible::list;
use crate::cli::git;
use crate::common::{labc, stderr, stdout, tool, yamllint};
use std::fs;
use std::path::Path;

/// The files `init` leaves in `dir`, sorted, `schemas/` included.
fn tree(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

fn init_build_check(args: &[&str]) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    all.push("lab");
    let o = labc(scratch.path(), &all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = scratch.path().join("lab");
    for cmd in ["build", "check"] {
        let o = labc(&dir, &[cmd]);
        assert_eq!(o.status.code(), Some(0), "labc {cmd}: {}", stderr(&o));
    }
    // What k3s-ansible reads: strictly, with the lab's three hosts.
    let inv = list(&dir.join("generated/ansible/inventory"), false);
    assert_eq!(inv["server"]["hosts"], serde_json::json!(["node1"]));
    assert_eq!(inv["agent"]["hosts"], serde_json::json!(["node2", "node3"]));
    let files: Vec<_> = tree(&dir.join("generated"))
        .into_iter()
        .filter(|p| p.ends_with(".yml"))
        .map(|p| dir.join("generated").join(p))
        .collect();
    let o = yamllint("{extends: default, rules: {line-length: disable}}", &files);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    scratch
}

#[test]
fn init_writes_a_lab_that_builds_and_checks_at_once() {
    let scratch = init_build_check(&[]);
    let dir = scratch.path().join("lab");
    let text = fs::read_to_string(dir.join("lab.ncl")).unwrap();
    assert!(text.starts_with("# "), "commented: {text}");
    assert!(text.contains("import \"schemas/lab.ncl\""));
    let mut files = tree(&dir);
    files.retain(|f| !f.starts_with("generated/"));
    assert_eq!(
        files,
        [
            ".pre-commit-config.yaml",
            "lab.ncl",
            "schemas/.labc-manifest",
            "schemas/lab.ncl",
            "schemas/lab.schema.json",
            "schemas/message.schema.json",
            "schemas/review.schema.json"
        ]
    );
}

#[test]
fn init_toml_writes_a_schema_associated_lab_toml() {
    let scratch = init_build_check(&["--toml"]);
    let dir = scratch.path().join("lab");
    let text = fs::read_to_string(dir.join("lab.toml")).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("#:schema ./schemas/lab.schema.json")
    );
    let taplo = fs::read_to_string(dir.join(".taplo.toml")).unwrap();
    // The repository's own association, so editors treat both alike.
    assert_eq!(
        taplo,
        fs::read_to_string(crate::common::root().join(".taplo.toml")).unwrap()
    );
    assert!(
        taplo.contains("path = \"schemas/lab.schema.json\""),
        "{taplo}"
    );
    assert!(!dir.join("lab.ncl").exists());
    // The editor's view: the file is valid against the schema it names.
    let o = std::process::Command::new(tool("target/tools/venv/bin/check-jsonschema"))
        .arg("--schemafile")
        .arg(dir.join("schemas/lab.schema.json"))
        .arg(dir.join("lab.toml"))
        .output()
        .expect("check-jsonschema runs");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn init_refuses_to_overwrite_any_file() {
    for existing in ["lab.ncl", "lab.toml", ".pre-commit-config.yaml", "schemas"] {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let path = dir.join(existing);
        if existing == "schemas" {
            fs::create_dir(&path).unwrap();
        } else {
            fs::write(&path, "mine\n").unwrap();
        }
        let before = tree(dir);
        let o = labc(dir, &["init"]);
        assert_eq!(o.status.code(), Some(2), "{existing}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{existing} already exists")),
            "{existing}: {}",
            stderr(&o)
        );
        // Nothing written, the file untouched.
        assert_eq!(tree(dir), before, "{existing}");
        if existing != "schemas" {
            assert_eq!(fs::read_to_string(&path).unwrap(), "mine\n");
        }
    }
}

/// The hook `init` writes, under the real pre-commit framework with labc on
/// PATH: it passes on a current lab and fails once lab.ncl changes alone.
#[test]
fn init_pre_commit_hook_runs_labc_check() {
    let pre_commit = tool("target/tools/venv/bin/pre-commit");
    let scratch = init_build_check(&[]);
    let dir = scratch.path().join("lab");
    let home = scratch.path().join("pre-commit-home");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_labc")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        std::process::Command::new(&pre_commit)
            .args(args)
            .current_dir(&dir)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &home)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("pre-commit runs")
    };
    let o = run(&["validate-config", ".pre-commit-config.yaml"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(git(&dir, &["init", "-q", "-b", "main"]).status.success());
    git(&dir, &["add", "."]);
    let o = run(&["run", "--all-files"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("labc check"), "{}", stdout(&o));
    let text = fs::read_to_string(dir.join("lab.ncl")).unwrap();
    fs::write(
        dir.join("lab.ncl"),
        text.replace("192.168.1.13", "192.168.1.14"),
    )
    .unwrap();
    git(&dir, &["add", "."]);
    let o = run(&["run", "--all-files"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("labc build"), "{}", stdout(&o));
}

#[test]
fn a_missing_schema_import_says_how_to_get_it() {
    let scratch = tempfile::tempdir().unwrap();
    fs::copy(
        crate::common::fixtures().join("valid/minimal/lab.ncl"),
        scratch.path().join("lab.ncl"),
    )
    .unwrap();
    let o = labc(scratch.path(), &["build"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("lab.ncl:3:19"), "{err}");
    assert!(err.contains("run `labc schema`"), "{err}");
    assert!(!scratch.path().join("generated").exists());
    // Following the advice is enough.
    let o = labc(scratch.path(), &["schema"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = labc(scratch.path(), &["build"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
