//! The CLI contract: build, check and diff on real output; what the writer
//! may and may not touch; determinism across runs, formats and input order.

use crate::common::{Lab, edit_file, labc, read_tree, stderr, stdout};
use std::fs;
use std::time::SystemTime;

fn mtimes(lab: &Lab) -> Vec<(String, SystemTime)> {
    walkdir::WalkDir::new(lab.generated())
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect()
}

#[test]
fn build_then_check_passes_and_rebuild_touches_nothing() {
    let lab = Lab::reference();
    lab.build();
    let before = mtimes(&lab);
    assert!(before.len() > 1, "build wrote files");
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Same bytes: no file is rewritten, so every mtime stays.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = lab.run(&["build"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("up to date"), "{}", stderr(&o));
    assert_eq!(before, mtimes(&lab));
}

#[test]
fn output_is_byte_identical_across_runs() {
    let a = Lab::reference();
    let b = Lab::reference();
    a.build();
    b.build();
    assert_eq!(a.files(), b.files());
}

#[test]
fn hand_edited_file_fails_check_with_a_diff_and_the_fix() {
    let lab = Lab::reference();
    lab.build();
    let rel = "ansible/inventory/hosts.yml";
    let path = lab.generated().join(rel);
    edit_file(&path, "\"192.168.1.202\"", "\"192.168.1.250\"");
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains(&format!("--- a/generated/{rel}")), "{out}");
    assert!(
        out.contains("-      ansible_host: \"192.168.1.250\""),
        "{out}"
    );
    assert!(
        out.contains("+      ansible_host: \"192.168.1.202\""),
        "{out}"
    );
    let err = stderr(&o);
    assert!(err.contains("differing files"), "{err}");
    assert!(err.contains("run `labc build --lab lab.ncl`"), "{err}");
    // diff shows the same, exits 1 like `git diff --exit-code`, and writes
    // nothing; build repairs it.
    let o = lab.run(&["diff"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("+      ansible_host: \"192.168.1.202\""));
    assert!(fs::read_to_string(&path).unwrap().contains("192.168.1.250"));
    lab.build();
    assert_eq!(lab.run(&["check"]).status.code(), Some(0));
}

#[test]
fn check_lists_missing_and_extra_files() {
    let lab = Lab::reference();
    lab.build();
    fs::remove_file(lab.generated().join("ansible/inventory/hosts.yml")).unwrap();
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing files"), "{}", stderr(&o));
    assert!(stderr(&o).contains("generated/ansible/inventory/hosts.yml"));
}

#[test]
fn removing_an_app_deletes_its_files_and_keeps_foreign_ones() {
    let lab = Lab::reference();
    lab.build();
    let foreign = lab.generated().join("argocd/README.local.md");
    fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    fs::write(&foreign, "mine, not labc's\n").unwrap();
    let owned_cms: Vec<String> = lab
        .files()
        .into_keys()
        .filter(|p| p.contains("cms"))
        .collect();
    assert!(
        !owned_cms.is_empty(),
        "the reference lab generates files for `cms`"
    );

    let text = fs::read_to_string(lab.path().join("lab.ncl")).unwrap();
    let start = text.find("    cms = {").expect("cms in lab.ncl");
    let end = start + text[start..].find("    },\n").unwrap() + "    },\n".len();
    fs::write(
        lab.path().join("lab.ncl"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();

    // check reports the files build would delete, then build deletes them.
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("extra files"), "{}", stderr(&o));
    lab.build();
    let after = lab.files();
    for p in &owned_cms {
        assert!(!after.contains_key(p), "{p} should be deleted");
    }
    assert_eq!(fs::read_to_string(&foreign).unwrap(), "mine, not labc's\n");
    assert_eq!(lab.run(&["check"]).status.code(), Some(0));
}

#[test]
fn invalid_lab_exits_2_and_leaves_output_byte_identical() {
    let lab = Lab::reference();
    lab.build();
    let before = read_tree(&lab.generated());
    let times = mtimes(&lab);
    let text = fs::read_to_string(lab.path().join("lab.ncl")).unwrap();
    fs::write(
        lab.path().join("lab.ncl"),
        text.replace("nfs_host = \"pi2\"", "nfs_host = \"pi9\""),
    )
    .unwrap();
    for cmd in ["build", "check", "diff"] {
        let o = lab.run(&[cmd]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("unknown host `pi9`"));
    }
    assert_eq!(before, read_tree(&lab.generated()));
    assert_eq!(times, mtimes(&lab));
}

#[test]
fn a_foreign_non_empty_folder_is_refused() {
    let lab = Lab::reference();
    fs::create_dir_all(lab.generated()).unwrap();
    fs::write(lab.generated().join("precious.txt"), "keep me\n").unwrap();
    let o = lab.run(&["build"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("has no .labc-manifest"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read_tree(&lab.generated()).len(), 1);
}

#[test]
fn a_manifest_cannot_make_labc_delete_outside_the_folder() {
    let lab = Lab::reference();
    lab.build();
    let outside = lab.path().join("outside.txt");
    fs::write(&outside, "not labc's\n").unwrap();
    let manifest = lab.generated().join(".labc-manifest");
    let mut m = fs::read_to_string(&manifest).unwrap();
    m.push_str("../outside.txt\n/etc/hostname\n");
    fs::write(&manifest, m).unwrap();
    lab.build();
    assert!(outside.exists());
}

/// Reverses every record's key order and every set-like array.
fn permute(v: &mut serde_json::Value, key: &str) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.reverse();
            for (k, mut val) in entries {
                permute(&mut val, &k);
                m.insert(k, val);
            }
        }
        Value::Array(items) if matches!(key, "services" | "ingress" | "providers" | "disable") => {
            items.reverse();
        }
        _ => {}
    }
}

#[test]
fn input_order_does_not_change_a_byte() {
    let base = Lab::named("reference-toml");
    base.build();
    let text = fs::read_to_string(base.path().join("lab.toml")).unwrap();
    let mut value: serde_json::Value = toml::from_str(&text).unwrap();
    permute(&mut value, "");
    let permuted_text = toml::to_string(&value).unwrap();
    assert_ne!(permuted_text, text);
    let permuted = Lab::from_text("lab.toml", &permuted_text);
    permuted.build();
    assert_eq!(base.files(), permuted.files());

    // And in Nickel: hosts' services and modules' providers reversed.
    let ncl = Lab::reference();
    ncl.build();
    let text = fs::read_to_string(ncl.path().join("lab.ncl")).unwrap();
    let reversed: String = text
        .lines()
        .map(
            |l| match (l.find("services = ["), l.find("providers = [")) {
                (Some(i), _) | (None, Some(i)) => {
                    let open = i + l[i..].find('[').unwrap() + 1;
                    let close = open + l[open..].find(']').unwrap();
                    let mut items: Vec<&str> = l[open..close].split(", ").collect();
                    items.reverse();
                    format!("{}{}{}\n", &l[..open], items.join(", "), &l[close..])
                }
                _ => format!("{l}\n"),
            },
        )
        .collect();
    assert_ne!(reversed, text);
    let permuted = Lab::from_text("lab.ncl", &reversed);
    permuted.build();
    assert_eq!(ncl.files(), permuted.files());
}

#[test]
fn schemas_are_checked_too() {
    let lab = Lab::reference();
    lab.build();
    let schema = lab.path().join("schemas/lab.schema.json");
    let text = fs::read_to_string(&schema).unwrap();
    fs::write(
        &schema,
        text.replace(
            "\"additionalProperties\": false",
            "\"additionalProperties\": true",
        ),
    )
    .unwrap();
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("schemas/lab.schema.json"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn help_shows_examples() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["build", "--help"],
        vec!["check", "--help"],
        vec!["diff", "--help"],
        vec!["schema", "--help"],
    ] {
        let o = labc(dir.path(), &args);
        assert!(o.status.success());
        assert!(stdout(&o).contains("Example"), "{args:?}: {}", stdout(&o));
    }
}

#[test]
fn no_lab_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = labc(dir.path(), &["build"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no lab.ncl or lab.toml"));
}

/// Runs `git` in `dir`, asserting success.
pub(crate) fn git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs")
}

/// The real pre-commit framework, in a lab repository that uses this
/// repository's `.pre-commit-hooks.yaml`: a commit with a stale generated/
/// is refused, a current one goes through.
#[test]
fn pre_commit_hook_refuses_a_stale_generated_folder() {
    let pre_commit = crate::common::tool("target/tools/venv/bin/pre-commit");
    let scratch = tempfile::tempdir().unwrap();

    // The hooks repository: this repository's hook definitions, committed.
    let hooks = scratch.path().join("hooks");
    fs::create_dir_all(&hooks).unwrap();
    fs::copy(
        crate::common::root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    assert!(git(&hooks, &["init", "-q", "-b", "main"]).status.success());
    git(&hooks, &["add", "."]);
    assert!(git(&hooks, &["commit", "-qm", "hooks"]).status.success());
    let rev = stdout(&git(&hooks, &["rev-parse", "HEAD"]))
        .trim()
        .to_string();

    // A lab repository using the hook, with labc on PATH.
    let lab = Lab::reference();
    lab.build();
    let repo = lab.path();
    fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: labc-check-system\n",
            hooks.display()
        ),
    )
    .unwrap();
    assert!(git(repo, &["init", "-q", "-b", "main"]).status.success());
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_labc"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pre_commit_home = scratch.path().join("pre-commit-home");
    let run_commit = |msg: &str| {
        std::process::Command::new("git")
            .args(["commit", "-qm", msg])
            .current_dir(repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &pre_commit_home)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
    };
    let o = std::process::Command::new(&pre_commit)
        .args(["install"])
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", &pre_commit_home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    // Current generated/: the commit goes through.
    git(repo, &["add", "."]);
    let o = run_commit("lab");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // The lab changes, generated/ does not: the commit is refused.
    let text = fs::read_to_string(repo.join("lab.ncl")).unwrap();
    fs::write(
        repo.join("lab.ncl"),
        text.replace("192.168.1.203", "192.168.1.204"),
    )
    .unwrap();
    git(repo, &["add", "lab.ncl"]);
    let o = run_commit("stale");
    assert!(!o.status.success(), "a stale generated/ was committed");
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("labc check"), "{all}");
    assert!(
        all.contains("+      ansible_host: \"192.168.1.204\""),
        "{all}"
    );

    // After `labc build`, it goes through.
    lab.build();
    git(repo, &["add", "."]);
    let o = run_commit("rebuilt");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// `--stat`, `--name-only` and `--quiet` change what check and diff print,
/// never the exit code; diff exits 0 once nothing would change.
#[test]
fn stat_name_only_and_quiet() {
    let lab = Lab::reference();
    lab.build();
    let rel = "ansible/inventory/hosts.yml";
    let path = lab.generated().join(rel);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("192.168.1.202", "192.168.1.250")).unwrap();
    for cmd in ["check", "diff"] {
        let o = lab.run(&[cmd, "--name-only"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        assert_eq!(stdout(&o), format!("generated/{rel}\n"), "{cmd}");
        let o = lab.run(&[cmd, "--stat"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let want = format!(
            "generated/{rel} | +{n} -{n}\n",
            n = text.matches("192.168.1.202").count()
        );
        assert_eq!(stdout(&o), want, "{cmd}");
    }
    let o = lab.run(&["check", "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("run `labc build --lab lab.ncl`"), "{err}");
    lab.build();
    let o = lab.run(&["diff"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
}

/// A file labc never wrote inside generated/ is reported by check (with
/// its path) and left alone; it does not fail check.
#[test]
fn check_warns_about_a_stray_file() {
    let lab = Lab::reference();
    lab.build();
    let stray = lab.generated().join("argocd/notes.txt");
    fs::write(&stray, "mine\n").unwrap();
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning[labc::check::stray]: generated/argocd/notes.txt is not labc's"),
        "{err}"
    );
    assert!(stray.exists());
}

/// Without --lab, labc finds the lab in a parent folder, stopping at the
/// repository root; two lab files in one folder are an error naming both.
#[test]
fn lab_is_found_from_a_subfolder_and_both_files_are_refused() {
    let lab = Lab::reference();
    lab.build();
    let sub = lab.path().join("generated/argocd");
    let o = labc(&sub, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("../../lab.ncl is valid"),
        "{}",
        stderr(&o)
    );

    fs::write(lab.path().join("lab.toml"), "").unwrap();
    let o = labc(lab.path(), &["check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("both lab.ncl and lab.toml"),
        "{}",
        stderr(&o)
    );

    // The search stops at the repository root.
    let repo = tempfile::tempdir().unwrap();
    fs::create_dir_all(repo.path().join("inner/.git")).unwrap();
    fs::write(repo.path().join("lab.ncl"), "{}").unwrap();
    let o = labc(&repo.path().join("inner"), &["check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no lab.ncl or lab.toml"),
        "{}",
        stderr(&o)
    );
}

/// A lab file that cannot be read is an I/O error (exit 3), as the README
/// says; `schema --out` writes where it is told.
#[test]
fn io_errors_exit_3_and_schema_honours_out() {
    let dir = tempfile::tempdir().unwrap();
    let o = labc(dir.path(), &["check", "--lab", "missing.ncl"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = labc(dir.path(), &["schema", "--out", "elsewhere"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.path().join("elsewhere/lab.schema.json").is_file());
    assert!(!dir.path().join("schemas").exists());
}

/// Completion scripts load in the real shells: bash parses and sources
/// its script and then completes `labc ch` to `check`.
#[test]
fn completions_load_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    let o = labc(dir.path(), &["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    let script = dir.path().join("labc.bash");
    fs::write(&script, &o.stdout).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", stderr(&syntax));
    let probe = format!(
        "source {}; COMP_WORDS=(labc ch); COMP_CWORD=1; COMP_LINE='labc ch'; COMP_POINT=7; _labc labc ch labc; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&probe)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "check",
        "{}",
        stderr(&o)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = labc(dir.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("check"),
            "{shell}"
        );
    }
}

/// `labc man` is a manual page groff (what `man` formats with) reads
/// without a warning, naming every subcommand.
#[test]
fn the_manual_page_formats_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let o = labc(dir.path(), &["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = dir.path().join("labc.1");
    fs::write(&page, &o.stdout).unwrap();
    let shown = std::process::Command::new("groff")
        // Plain ASCII, no overstriking: the text as a reader sees it.
        .args(["-man", "-Tascii", "-ww", "-P-cbu"])
        .arg(&page)
        .output()
        .expect("groff (tests/tools/install.sh installs it)");
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(stderr(&shown), "", "groff warned");
    let text = String::from_utf8_lossy(&shown.stdout);
    for word in [
        "build",
        "check",
        "diff",
        "schema",
        "completions",
        "--message-format",
    ] {
        assert!(text.contains(word), "no `{word}` in\n{text}");
    }
}

/// `check --message-format json`: one JSON line per stale, missing, extra
/// and stray file, each naming the generated file, valid under the
/// committed message schema; stdout holds nothing else, stderr nothing.
#[test]
fn check_reports_files_as_json_lines() {
    let lab = Lab::reference();
    lab.build();
    let g = lab.generated();
    fs::write(g.join("argocd/root.yaml"), "edited\n").unwrap();
    fs::remove_file(g.join("ansible/inventory/hosts.yml")).unwrap();
    fs::write(g.join("argocd/notes.txt"), "mine\n").unwrap();
    let manifest = g.join(".labc-manifest");
    let mut m = fs::read_to_string(&manifest).unwrap();
    m.push_str("old/gone.yaml\n");
    fs::write(&manifest, m).unwrap();
    fs::create_dir_all(g.join("old")).unwrap();
    fs::write(g.join("old/gone.yaml"), "x\n").unwrap();

    let o = lab.run(&["check", "--message-format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let lines = crate::common::json_messages(&stdout(&o));
    let found: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            let f = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (f("code"), f("severity"), f("file"))
        })
        .collect();
    for expected in [
        ("labc::check::stale", "error", "generated/argocd/root.yaml"),
        (
            "labc::check::missing",
            "error",
            "generated/ansible/inventory/hosts.yml",
        ),
        ("labc::check::extra", "error", "generated/old/gone.yaml"),
        (
            "labc::check::stray",
            "warning",
            "generated/argocd/notes.txt",
        ),
    ] {
        let expected = (
            expected.0.to_string(),
            expected.1.to_string(),
            expected.2.to_string(),
        );
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    // And the manifest, edited above.
    assert_eq!(found.len(), 5, "{found:?}");

    // diff says the same, as notes; a current folder prints nothing.
    let o = lab.run(&["diff", "--message-format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = crate::common::json_messages(&stdout(&o));
    assert_eq!(lines.len(), 4, "{}", stdout(&o));
    assert!(lines.iter().all(|l| l["severity"] == "note"));
    lab.build();
    let o = lab.run(&["check", "--message-format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(crate::common::json_messages(&stdout(&o)).len(), 1); // the stray file
}
