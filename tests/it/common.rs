//! Shared test plumbing: running labc, laying out a lab in a scratch folder,
//! finding the consumer tools.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A consumer tool installed by `tests/tools/install.sh`, by path relative to
/// the repository root. Missing tools fail the test: a skipped check proves
/// nothing.
pub fn tool(rel: &str) -> PathBuf {
    let p = root().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run tests/tools/install.sh first",
        p.display()
    );
    p
}

/// Runs labc with `args` in `dir`, without colours.
pub fn labc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("labc runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch folder holding a lab: `lab_file` (copied from `source`) and
/// the repository's `schemas/` beside it, as in a user's repository.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub file: String,
}

impl Lab {
    /// The repository's own lab.ncl.
    pub fn reference() -> Lab {
        Lab::from_file(&root().join("lab.ncl"))
    }

    /// A fixture lab: `tests/fixtures/<name>/lab.ncl` (or `lab.toml`).
    pub fn fixture(name: &str) -> Lab {
        let dir = root().join("tests/fixtures").join(name);
        let file = ["lab.ncl", "lab.toml"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no lab in {}", dir.display()));
        Lab::from_file(&file)
    }

    pub fn from_file(source: &Path) -> Lab {
        let text = std::fs::read_to_string(source).expect("lab readable");
        let name = source.file_name().unwrap().to_string_lossy().into_owned();
        Lab::from_text(&name, &text)
    }

    pub fn from_text(file: &str, text: &str) -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(file), text).expect("write lab");
        copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
        Lab {
            dir,
            file: file.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn generated(&self) -> PathBuf {
        self.dir.path().join("generated")
    }

    /// Runs labc here with `--lab <file>` appended.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--lab", &self.file]);
        labc(self.path(), &all)
    }

    /// `labc build`, asserting success.
    pub fn build(&self) -> &Self {
        let o = self.run(&["build"]);
        assert!(o.status.success(), "labc build failed:\n{}", stderr(&o));
        self
    }

    /// Every generated file (manifest included), by relative path.
    pub fn files(&self) -> std::collections::BTreeMap<String, String> {
        read_tree(&self.generated())
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.generated().join(rel))
            .unwrap_or_else(|e| panic!("generated/{rel}: {e}"))
    }
}

/// Every file under `dir`, by `/`-separated relative path.
pub fn read_tree(dir: &Path) -> std::collections::BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(e.path()).unwrap_or_default())
        })
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}
