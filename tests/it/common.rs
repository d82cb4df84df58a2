//! Shared test plumbing: running labc, the labs the suite compiles (the
//! repository's lab.ncl and the folders of `tests/fixtures/valid/`), laying
//! a lab out in a scratch folder, reading what it generated, finding the
//! consumer tools.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;

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

/// The name of the repository's own lab.ncl among the labs.
pub const REFERENCE: &str = "reference";

/// Where fixture labs live: `valid/<name>/` (labs that compile) and
/// `invalid/<case>/` (labs broken one way each); see its README.md.
pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The sub-folders of `dir`, by name, sorted.
pub fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable folder entry"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every valid lab, by name: [`REFERENCE`] and each folder of
/// `tests/fixtures/valid/`. A new folder there joins every test that loops
/// over the labs.
pub fn lab_names() -> Vec<String> {
    let fixtures = folders(&fixtures().join("valid"));
    assert!(
        !fixtures.iter().any(|f| f == REFERENCE),
        "tests/fixtures/valid/{REFERENCE} would shadow the repository's lab"
    );
    std::iter::once(REFERENCE.to_string())
        .chain(fixtures)
        .collect()
}

/// The lab whose output `name`'s equals, headers aside, as its folder's
/// `same-output-as` file says (e.g. lab.ncl's TOML twin says `reference`).
pub fn twin_of(name: &str) -> Option<String> {
    let file = fixtures().join("valid").join(name).join("same-output-as");
    let text = std::fs::read_to_string(file).ok()?;
    let twin = text.trim().to_string();
    assert!(
        lab_names().contains(&twin),
        "tests/fixtures/valid/{name}/same-output-as names `{twin}`, which is no lab"
    );
    Some(twin)
}

/// Every lab whose output is its own (the twins, proven equal to the lab
/// they name, add nothing to check), unbuilt: what the snapshot and
/// consumer tests loop over.
pub fn labs() -> Vec<Lab> {
    lab_names()
        .iter()
        .filter(|n| twin_of(n).is_none())
        .map(|n| Lab::named(n))
        .collect()
}

/// A scratch folder holding a lab: `file` (lab.ncl or lab.toml), whatever
/// else its source folder holds, and the repository's `schemas/` beside
/// it, as in a user's repository.
pub struct Lab {
    /// [`REFERENCE`], a fixture's folder name, or `scratch` for a lab
    /// made from text.
    pub name: String,
    pub dir: tempfile::TempDir,
    pub file: String,
}

impl Lab {
    /// The repository's own lab.ncl.
    pub fn reference() -> Lab {
        Lab::named(REFERENCE)
    }

    /// A valid lab by name: [`REFERENCE`] or a folder of
    /// `tests/fixtures/valid/`.
    pub fn named(name: &str) -> Lab {
        if name == REFERENCE {
            let lab = Lab::empty(name, "lab.ncl");
            std::fs::copy(root().join("lab.ncl"), lab.path().join("lab.ncl"))
                .expect("copy lab.ncl");
            lab
        } else {
            Lab::from_dir(name, &fixtures().join("valid").join(name))
        }
    }

    /// A fixture folder laid out in a scratch folder: every file of `dir`
    /// (its lab file and what that imports), then `schemas/`.
    pub fn from_dir(name: &str, dir: &Path) -> Lab {
        let lab = Lab::empty(name, &lab_file(dir));
        copy_dir(dir, lab.path());
        lab
    }

    /// A lab written from `text` as `file`.
    pub fn from_text(file: &str, text: &str) -> Lab {
        let lab = Lab::empty("scratch", file);
        std::fs::write(lab.path().join(file), text).expect("write lab");
        lab
    }

    /// A scratch folder with only `schemas/` in it.
    fn empty(name: &str, file: &str) -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
        Lab {
            name: name.to_string(),
            dir,
            file: file.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// This lab compiled with the other PostgreSQL manager:
    /// `postgres.manager = 'sql` and no module of kind `'postgres` (a Nickel
    /// file importing the lab and changing just that, so the rest is the
    /// same lab).
    pub fn sql_twin(&self) -> Lab {
        assert_eq!(self.file, "lab.ncl", "{}: a Nickel lab", self.name);
        let twin = Lab::from_text(
            "twin.ncl",
            "let lab = import \"lab.ncl\" in\n\
             lab\n\
             |> std.record.update \"postgres\" (std.record.update \"manager\" 'sql lab.postgres)\n\
             |> std.record.update \"tofu\" (std.record.update \"modules\" (std.record.filter (fun _name m => m.kind != 'postgres) lab.tofu.modules) lab.tofu)\n",
        );
        std::fs::write(twin.path().join("lab.ncl"), self.text()).expect("copy the lab");
        twin
    }

    /// The text of the lab file.
    pub fn text(&self) -> String {
        std::fs::read_to_string(self.path().join(&self.file)).expect("lab readable")
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
        assert!(
            o.status.success(),
            "{}: labc build failed:\n{}",
            self.name,
            stderr(&o)
        );
        self
    }

    /// Every generated file (manifest included), by relative path.
    pub fn files(&self) -> BTreeMap<String, String> {
        read_tree(&self.generated())
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.generated().join(rel))
            .unwrap_or_else(|e| panic!("generated/{rel}: {e}"))
    }
}

/// The file of a valid lab in the repository: lab.ncl for [`REFERENCE`],
/// `tests/fixtures/valid/<name>/lab.{ncl,toml}` for a fixture.
pub fn lab_source(name: &str) -> PathBuf {
    if name == REFERENCE {
        return root().join("lab.ncl");
    }
    let dir = fixtures().join("valid").join(name);
    dir.join(lab_file(&dir))
}

/// The text of a valid lab's file, for tests that edit it.
pub fn lab_text(name: &str) -> String {
    let path = lab_source(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lab file of a fixture folder: its one `lab.ncl` or `lab.toml`.
pub fn lab_file(dir: &Path) -> String {
    let found: Vec<&str> = ["lab.ncl", "lab.toml"]
        .into_iter()
        .filter(|f| dir.join(f).exists())
        .collect();
    match found.as_slice() {
        [one] => one.to_string(),
        _ => panic!(
            "{} must hold one of lab.ncl and lab.toml, not {found:?}",
            dir.display()
        ),
    }
}

/// Every file under `dir`, by `/`-separated relative path.
pub fn read_tree(dir: &Path) -> BTreeMap<String, String> {
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

/// Replaces the one `from` in the file at `path` with `to`, as a hand edit
/// would; returns the text before.
pub fn edit_file(path: &Path, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` once in {}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).expect("write edit");
    text
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

/// yamllint, strict (warnings fail) and one problem a line, with `config`
/// on `files`.
pub fn yamllint(config: &str, files: &[PathBuf]) -> Output {
    Command::new(tool("target/tools/venv/bin/yamllint"))
        .args(["-s", "-f", "parsable", "-d", config])
        .args(files)
        .output()
        .expect("yamllint runs")
}

/// Every YAML document of a file, as JSON values (empty documents dropped).
pub fn yaml_docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("generated YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The lines of `--message-format json` output, each validated against the
/// committed `schemas/message.schema.json` (what tools are told to expect).
pub fn json_messages(out: &str) -> Vec<Value> {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("schemas/message.schema.json"))
                .expect("schemas/message.schema.json"),
        )
        .expect("the message schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("the message schema is a JSON Schema")
    });
    out.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{line}\ndoes not match the schema: {errors:?}"
            );
            value
        })
        .collect()
}
