//! Hostile but plausible labs (issue 13), each proven with the consumer it
//! would break: text that Ansible would template runs nothing and comes out
//! as written (`ansible` itself); lab file names that would break every
//! header leave every file loadable (PyYAML, python-hcl2, `bash -n`) and
//! the manifest listing labc's files only; nesting that overflowed the stack
//! is an error with a position; and a property test drives the loader and
//! the writers with generated hostile strings at a fixed seed.
//!
//! The error corpus (`tests/fixtures/invalid/`) holds the rejected classes
//! (reserved names, collisions, cron, positions of keys and bad bytes); this
//! file holds what needs a consumer or text too large for a fixture.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::common::{Lab, copy_dir, lab_text, read_tree, root, stderr, stdout, tool};

/// Runs the venv's Python on `script` with `args`.
fn python(script: &str, args: &[&Path]) -> Output {
    Command::new(tool("target/tools/venv/bin/python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs")
}

/// `ansible localhost -m debug -a var=<var>` (or on `host`) on a generated
/// inventory, with nothing of `~` or the repository read; returns what the
/// debug module printed.
fn ansible_debug(inventory: &Path, host: &str, var: &str, scratch: &Path) -> String {
    let o = Command::new(tool("target/tools/venv/bin/ansible"))
        .arg(host)
        .arg("-i")
        .arg(inventory.join("hosts.yml"))
        .args(["-m", "debug", "-a", &format!("var={var}")])
        .current_dir(scratch)
        .env("ANSIBLE_HOME", scratch.join("home"))
        .env("ANSIBLE_LOCAL_TEMP", scratch.join("tmp"))
        .env("ANSIBLE_INVENTORY_ENABLED", "yaml")
        .env("ANSIBLE_INVENTORY_UNPARSED_IS_FAILED", "true")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible runs");
    assert!(
        o.status.success(),
        "ansible debug {var} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// The value the debug module reports for `var` on `host` (ad-hoc output:
/// `<host> | SUCCESS => {<json>}`).
fn debugged(output: &str, host: &str, var: &str) -> serde_json::Value {
    let start = output
        .find(&format!("{host} | SUCCESS => "))
        .and_then(|at| output[at..].find('{').map(|b| at + b))
        .unwrap_or_else(|| panic!("no result for {host} in {output}"));
    let report: serde_json::Value = serde_json::from_str(output[start..].trim()).expect("json");
    report[var].clone()
}

/// Strings that Ansible would template if they were not marked `!unsafe`:
/// each would create `marker` (on the control node, where templating runs).
fn templates(marker: &Path) -> [String; 3] {
    let m = marker.display();
    [
        format!("/srv/{{{{ lookup('pipe', 'touch {m}') }}}}"),
        format!("/srv/{{% if lookup('pipe', 'touch {m}') %}}x{{% endif %}}{{# c #}}"),
        "--node-label=x={{7*7}}".to_string(),
    ]
}

/// Every lab string that reaches an Ansible variable is data: with
/// template syntax in the backup destination (a path, free text) and in a k3s
/// argument, on both lab formats, the real `ansible` prints them literally
/// and nothing runs.
#[test]
fn ansible_never_templates_lab_text() {
    for (file, quote) in [
        ("lab.ncl", nickel_string as fn(&str) -> String),
        ("lab.toml", toml_string),
    ] {
        let scratch = tempfile::tempdir().expect("tempdir");
        let marker = scratch.path().join("templated");
        let [expr, stmt, arg] = templates(&marker);
        for destination in [&expr, &stmt] {
            let text = lab_text(if file == "lab.ncl" {
                "reference"
            } else {
                "reference-toml"
            });
            let (dest_from, args_from) = if file == "lab.ncl" {
                (
                    "destination = \"/mnt/backups\"",
                    "    disable = [\"traefik\"],",
                )
            } else {
                ("destination = \"/mnt/backups\"", "disable = [\"traefik\"]")
            };
            let args = if file == "lab.ncl" {
                format!("{args_from}\n    extra_server_args = [{}],", quote(&arg))
            } else {
                format!("{args_from}\nextra_server_args = [{}]", quote(&arg))
            };
            let text = text
                .replacen(
                    dest_from,
                    &format!("destination = {}", quote(destination)),
                    1,
                )
                .replacen(args_from, &args, 1);
            let lab = Lab::from_text(file, &text);
            lab.build();
            let inventory = lab.generated().join("ansible/inventory");
            let out = ansible_debug(
                &inventory,
                "localhost",
                "backup_destination",
                scratch.path(),
            );
            assert_eq!(
                debugged(&out, "localhost", "backup_destination"),
                serde_json::Value::String(destination.clone()),
                "{file}: {out}"
            );
            let out = ansible_debug(&inventory, "pi1", "extra_server_args", scratch.path());
            assert_eq!(
                debugged(&out, "pi1", "extra_server_args"),
                serde_json::Value::String(format!("--docker --disable traefik {arg}")),
                "{file}: {out}"
            );
            assert!(
                !marker.exists(),
                "{file}: Ansible ran a lab value as a template"
            );
        }
    }
}

/// `text` as a Nickel string literal.
fn nickel_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("\\%"),
            c if c.is_control() || !c.is_ascii() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || !c.is_ascii() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks every file of a generated folder with the consumer of its format:
/// YAML with PyYAML (Ansible's and check-jsonschema's reader; every document
/// must load), `.tf` with python-hcl2, `.sh` with `bash -n`. Returns the
/// problems found.
fn consumers_accept(generated: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let script = r#"
import sys, json, pathlib, yaml, hcl2
class Loader(yaml.SafeLoader):
    pass
# Ansible's tag: data, whatever it holds.
Loader.add_constructor('!unsafe', lambda l, n: l.construct_scalar(n) if isinstance(n, yaml.ScalarNode) else l.construct_sequence(n))
bad = []
root = pathlib.Path(sys.argv[1])
for p in sorted(root.rglob('*')):
    # Helm's chart templates are Go templates, proven by Helm elsewhere.
    if 'templates' in p.relative_to(root).parts:
        continue
    if p.suffix == '.json':
        try:
            json.loads(p.read_text(encoding='utf-8'))
        except Exception as e:
            bad.append(f'{p}: {e}')
    elif p.suffix in ('.yml', '.yaml'):
        try:
            list(yaml.load_all(p.read_text(encoding='utf-8'), Loader=Loader))
        except Exception as e:
            bad.append(f'{p}: {e}')
    elif p.suffix == '.tf':
        try:
            hcl2.loads(p.read_text(encoding='utf-8'))
        except Exception as e:
            bad.append(f'{p}: {e}')
print('\n'.join(bad))
"#;
    let o = python(script, &[generated]);
    let out = stdout(&o);
    if !o.status.success() {
        problems.push(format!("python failed: {}", stderr(&o)));
    }
    problems.extend(out.lines().filter(|l| !l.is_empty()).map(str::to_string));
    for (rel, _) in read_tree(generated) {
        if rel.ends_with(".sh") {
            let o = Command::new("bash")
                .arg("-n")
                .arg(generated.join(&rel))
                .output()
                .expect("bash runs");
            if !o.status.success() {
                problems.push(format!("bash -n {rel}: {}", stderr(&o)));
            }
        }
    }
    problems
}

/// A lab file whose name holds a line break (and other characters no
/// comment keeps: NEL, U+2028, a C1 control, a byte that is not UTF-8):
/// every generated file still loads, the manifest lists exactly the files
/// labc wrote, and a file of the user's that the name spells survives two
/// builds.
#[test]
fn odd_lab_file_names_break_no_header_and_no_manifest() {
    let names: [Vec<u8>; 3] = [
        b"lab\nkeep.txt\n.ncl".to_vec(),
        "x\u{85}keep.txt\u{2028}y\u{9b}\\.toml".as_bytes().to_vec(),
        b"lab\xff\nkeep.txt\n.toml".to_vec(),
    ];
    for name in names {
        let toml = name.ends_with(b".toml");
        let text = lab_text(if toml { "reference-toml" } else { "reference" });
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
        let file = OsString::from_vec(name.clone());
        std::fs::write(dir.path().join(&file), &text).expect("lab");
        let run = || {
            Command::new(env!("CARGO_BIN_EXE_labc"))
                .arg("build")
                .arg("--lab")
                .arg(&file)
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .output()
                .expect("labc runs")
        };
        let o = run();
        assert!(o.status.success(), "{name:?}: {}", stderr(&o));
        let generated = dir.path().join("generated");
        std::fs::write(generated.join("keep.txt"), "mine").expect("user file");
        let o = run();
        assert!(o.status.success(), "{name:?}: {}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(generated.join("keep.txt"))
                .ok()
                .as_deref(),
            Some("mine"),
            "{name:?}: labc deleted a file it did not write"
        );
        let tree = read_tree(&generated);
        let manifest: BTreeSet<&str> = tree[".labc-manifest"]
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        let written: BTreeSet<&str> = tree
            .keys()
            .map(String::as_str)
            .filter(|p| *p != ".labc-manifest" && *p != "keep.txt")
            .collect();
        assert_eq!(manifest, written, "{name:?}");
        for (rel, contents) in &tree {
            if rel == "keep.txt" {
                continue;
            }
            // Every format's header (`#`, `--`, `<!--`, JSON's `$comment`)
            // names the source near the top.
            let top: String = contents.chars().take(600).collect();
            assert!(
                top.contains("Generated by labc from") || top.contains("Files labc generated from"),
                "{name:?} {rel}: no header"
            );
            assert!(
                !contents.contains(['\u{85}', '\u{2028}', '\u{9b}']),
                "{name:?} {rel}: a raw line separator or control from the file name"
            );
        }
        let problems = consumers_accept(&generated);
        assert!(problems.is_empty(), "{name:?}:\n{}", problems.join("\n"));
    }
}

/// Nesting the syntax or the evaluation far past any lab, in every form
/// Nickel nests (brackets, records, operators, `let`, functions, string
/// interpolation, a recursive function building the value), is an error
/// with a position, never a crash; so is the TOML twin.
#[test]
fn deep_nesting_is_an_error_with_a_position() {
    let n = 100_000;
    let cases = [
        (
            "arrays.ncl",
            format!("{{ x = {}{} }}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "records.ncl",
            format!("{}1{}", "{ a = ".repeat(n / 10), " }".repeat(n / 10)),
        ),
        ("sum.ncl", format!("{{ x = {} }}", vec!["1"; n].join(" + "))),
        (
            "lets.ncl",
            format!("{{ x = {}1 }}", "let a = 1 in ".repeat(n / 10)),
        ),
        (
            "funs.ncl",
            format!("{{ x = ({}1) }}", "fun a => ".repeat(n / 10)),
        ),
        (
            "strings.ncl",
            format!(
                "{{ x = {}\"a\"{} }}",
                "\"%{".repeat(n / 10),
                "}\"".repeat(n / 10)
            ),
        ),
        (
            "computed.ncl",
            "let rec f = fun n => if n == 0 then [] else [f (n - 1)] in { x = f 1000000 }"
                .to_string(),
        ),
        (
            "arrays.toml",
            format!("x = {}{}", "[".repeat(n), "]".repeat(n)),
        ),
    ];
    for (file, text) in cases {
        let lab = Lab::from_text(file, &text);
        let o = lab.run(&["build"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{file}:\n{err}");
        assert!(!err.contains("overflow"), "{file}:\n{err}");
        assert!(
            err.contains(&format!("{file}:")),
            "{file}: no position in\n{err}"
        );
        assert!(!lab.generated().exists(), "{file}: wrote generated/");
    }
}

/// Just under the bound, the same shapes evaluate without a crash: the
/// bound leaves Nickel's recursion room on the compile thread's stack.
#[test]
fn nesting_up_to_the_bound_does_not_crash() {
    let n = 500;
    let cases = [
        format!("{{ x = {}{} }}", "[".repeat(n), "]".repeat(n)),
        format!("{{ x = {}1{} }}", "(".repeat(n), ")".repeat(n)),
        format!("{{ x = {} }}", vec!["1"; n / 2].join(" + ")),
        format!("{{ x = {}1 }}", "let a = 1 in ".repeat(n / 5)),
        format!(
            "let f = fun x => x in {{ x = f {} }}",
            vec!["1"; n - 10].join(" ")
        ),
    ];
    for text in cases {
        let lab = Lab::from_text("lab.ncl", &text);
        let o = lab.run(&["build"]);
        let err = stderr(&o);
        // Not a lab (the contract says what is missing), but no crash.
        assert_eq!(o.status.code(), Some(2), "{}:\n{err}", &text[..60]);
        assert!(err.contains("lab.ncl:"), "{err}");
    }
}

/// Hostile text for the property test: the characters and sequences each
/// output format gives a meaning to.
fn hostile_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{ 7*7 }}".to_string()),
        Just("{% if 1 %}x{% endif %}".to_string()),
        Just("${HOME}".to_string()),
        Just("%{x}".to_string()),
        Just("\"'\\`;$(id)".to_string()),
        Just("\n# c\n".to_string()),
        Just("\r".to_string()),
        Just("\u{85}".to_string()),
        Just("\u{9b}".to_string()),
        Just("\u{2028}\u{2029}".to_string()),
        Just("\u{feff}\u{202e}".to_string()),
        Just("\u{0}".to_string()),
        Just(": - ? * & ! | > @ ` ,".to_string()),
        Just("yes".to_string()),
        Just("0755".to_string()),
        "[a-z0-9]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

/// Free-text places of the reference lab (its TOML twin; the Nickel lab
/// reaches the same model): (text to replace, what replaces it, with `@@`
/// for the hostile value, already quoted for TOML).
const PLACES: &[(&str, &str)] = &[
    ("destination = \"/mnt/backups\"", "destination = @@"),
    (
        "env_file = \"/home/pi/factory/gitea/gitea.env\"",
        "env_file = @@",
    ),
    (
        "host = \"argocd.arcodange.lab\"",
        "host = \"argocd.arcodange.lab\"\ntarget_revision = @@",
    ),
    (
        "disable = [\"traefik\"]",
        "disable = [\"traefik\"]\nextra_agent_args = [@@]",
    ),
    (
        "labels = [\"ubuntu-latest:docker://node:20-bookworm\", \"arm64:host\"]",
        "labels = [@@]",
    ),
    ("gcp_project = \"arcodange\"", "gcp_project = @@"),
    ("[databases]", "[databases]\n@@ = {}"),
    (
        "[hosts.pi3]",
        "[hosts.@@]\naddress = \"192.168.1.204\"\nservices = [\"pihole\"]\n\n[hosts.pi3]",
    ),
    ("webapp = {}", "webapp = { owner_role = @@ }"),
    ("schedule = \"0 3 * * *\"", "schedule = @@"),
    ("keep_days = 7 }", "keep_days = @@ }"),
];

/// The property: whatever hostile text lands in a free-text place (or a
/// key), labc ends with exit 0 or 2, never a crash; exit 2 names a position
/// in the lab; exit 0 writes files every consumer loads.
#[test]
fn hostile_text_anywhere_is_rejected_with_a_position_or_written_loadably() {
    let config = Config {
        cases: 40,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[13; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let base = lab_text("reference-toml");
    let strategy = (0..PLACES.len(), hostile_string(), any::<u16>());
    // Both outcomes must occur, or the property proved nothing.
    let (written, rejected) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let result = runner.run(&strategy, |(place, text, number)| {
        let (from, to) = PLACES[place];
        let value = if from.starts_with("keep_days") {
            // Numbers: integral floats, fractions, out of range.
            let n = number % 4000;
            [format!("{n}"), format!("{n}.0"), format!("{n}.5")][usize::from(number % 3)].clone()
        } else if from.starts_with("destination") || from.starts_with("env_file") {
            // Paths: absolute, the rest free text.
            toml_string(&format!("/{text}"))
        } else {
            toml_string(&text)
        };
        let lab_toml = base.replacen(from, &to.replace("@@", &value), 1);
        let lab = Lab::from_text("lab.toml", &lab_toml);
        let o = lab.run(&["build"]);
        let err = stderr(&o);
        prop_assert!(
            !err.contains("overflow") && !err.contains("panicked"),
            "{err}"
        );
        match o.status.code() {
            Some(0) => {
                written.set(written.get() + 1);
                let problems = consumers_accept(&lab.generated());
                prop_assert!(problems.is_empty(), "{value}: {}", problems.join("\n"));
            }
            Some(2) => {
                rejected.set(rejected.get() + 1);
                prop_assert!(
                    err.lines().any(|l| l.contains("┌─ lab.toml:")),
                    "{value}: no position in\n{err}"
                );
                prop_assert!(!lab.generated().exists(), "{value}: wrote generated/");
            }
            other => prop_assert!(false, "{value}: exit {other:?}\n{err}"),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        written.get() > 0 && rejected.get() > 0,
        "{} written, {} rejected",
        written.get(),
        rejected.get()
    );
}

/// The YAML writer alone, on any string: PyYAML reads back exactly what was
/// written, as a value and as a key, in plain and in Ansible (`!unsafe`)
/// documents.
#[test]
fn yaml_strings_read_back_as_written() {
    use labc::emit::yaml::{Tagging, Yaml, document_tagged};
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut samples = Vec::new();
    let strategy = prop_oneof![hostile_string(), any::<String>()];
    while samples.len() < 256 {
        let tree = strategy.new_tree(&mut runner).expect("a value");
        let s = proptest::strategy::ValueTree::current(&tree);
        // The document's own keys would collide with the sample as a key.
        if !matches!(s.as_str(), "value" | "list") {
            samples.push(s);
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expected = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let doc = Yaml::map()
            .with("value", s.as_str())
            .with(s.as_str(), "key")
            .with("list", Yaml::strs([s.as_str()]));
        let tagging = if i % 2 == 0 {
            Tagging::Plain
        } else {
            Tagging::AnsibleUnsafe
        };
        let text = document_tagged("# header\n", &doc, tagging);
        std::fs::write(dir.path().join(format!("{i}.yaml")), text).expect("write");
        expected.push(s.clone());
    }
    std::fs::write(
        dir.path().join("expected.json"),
        serde_json::to_string(&expected).expect("json"),
    )
    .expect("write");
    let script = r#"
import sys, json, yaml, pathlib
class Loader(yaml.SafeLoader):
    pass
Loader.add_constructor('!unsafe', lambda l, n: l.construct_scalar(n) if isinstance(n, yaml.ScalarNode) else l.construct_sequence(n))
d = pathlib.Path(sys.argv[1])
expected = json.loads((d / 'expected.json').read_text(encoding='utf-8'))
for i, s in enumerate(expected):
    doc = yaml.load((d / f'{i}.yaml').read_text(encoding='utf-8'), Loader=Loader)
    want = {'value': s, 'list': [s]}
    want[s] = 'key'
    if doc != want:
        print(f'{i}: {s!r} read back as {doc!r}')
"#;
    let o = python(script, &[dir.path()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

/// The role names labc refuses are ones a real PostgreSQL 15 refuses to
/// create (even quoted, as labc's scripts quote them), or its superuser,
/// which the scripts would alter (NOLOGIN); labc refuses each at the line
/// that names it, in both lab formats.
#[test]
fn role_names_labc_refuses_postgresql_reserves_or_owns() {
    let server = crate::pg::Server::start();
    for name in ["public", "none", "pg_ledger"] {
        let o = server.run(
            "postgres",
            "postgres",
            &format!("CREATE ROLE {};", crate::pg::ident(name)),
        );
        assert!(!o.status.success(), "PostgreSQL created role {name}");
    }
    assert!(
        server.role_exists(names_superuser()),
        "the superuser is not {}",
        names_superuser()
    );
    for name in ["public", "none", "pg_ledger", names_superuser()] {
        for (file, from, to) in [
            (
                "lab.ncl",
                "    erp = {},",
                format!("    erp = {{ owner_role = \"{name}\" }},"),
            ),
            (
                "lab.toml",
                "erp = {}",
                format!("erp = {{ owner_role = \"{name}\" }}"),
            ),
        ] {
            let text = lab_text(if file == "lab.ncl" {
                "reference"
            } else {
                "reference-toml"
            });
            let edited = text.replacen(from, &to, 1);
            let line = edited
                .lines()
                .position(|l| l.contains("owner_role"))
                .map(|i| i + 1);
            let lab = Lab::from_text(file, &edited);
            let o = lab.run(&["build"]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{file} {name}:\n{err}");
            assert!(err.contains(&format!("`{name}` can't be a role")), "{err}");
            assert!(
                err.contains(&format!("{file}:{}:", line.unwrap_or(0))),
                "{err}"
            );
        }
    }
}

/// The superuser the postgres image creates by default.
fn names_superuser() -> &'static str {
    labc::names::SQL_SUPERUSER
}

/// `keep_days = 7.0` in lab.toml is the whole number 7, as `7.0` is in
/// lab.ncl: the lab compiles to the same files as with `7`.
#[test]
fn integral_floats_are_whole_numbers_in_both_formats() {
    let toml = lab_text("reference-toml");
    let as_float = toml.replacen("keep_days = 7 }", "keep_days = 7.0 }", 1);
    assert_ne!(toml, as_float);
    let ncl = lab_text("reference");
    let ncl_float = ncl.replacen("keep_days = 7 }", "keep_days = 7.0 }", 1);
    assert_ne!(ncl, ncl_float);
    let base = Lab::from_text("lab.toml", &toml);
    base.build();
    for (file, text) in [("lab.toml", as_float), ("lab.ncl", ncl_float)] {
        let lab = Lab::from_text(file, &text);
        lab.build();
        assert_eq!(
            lab.read("ansible/inventory/group_vars/all.yml")
                .replace("lab.ncl", "lab.toml"),
            base.read("ansible/inventory/group_vars/all.yml"),
            "{file}"
        );
    }
}
