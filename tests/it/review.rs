//! `labc diff --base REV` on real git repositories: the repository's lab
//! committed on `main`, a change committed on a branch, and the report
//! (JSON asserted field by field, validated by check-jsonschema against
//! `schemas/review.schema.json`; text and Markdown by snapshots). Also the
//! Gitea Actions workflow that posts the report, validated offline by
//! check-jsonschema's GitHub Actions schema.
//!
//! Git runs with a fixed identity from the environment and no global or
//! system configuration.

use crate::common::{Lab, labc, root, stderr, stdout, tool};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Runs git in `dir`, with no configuration but the identity given here.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "labc tests")
        .env("GIT_AUTHOR_EMAIL", "tests@labc.invalid")
        .env("GIT_COMMITTER_NAME", "labc tests")
        .env("GIT_COMMITTER_EMAIL", "tests@labc.invalid")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git repository whose `main` holds `lab` (its lab file, what that
/// imports, schemas/), on branch `change` with nothing changed yet.
fn repo(lab: &Lab) -> &Path {
    let dir = lab.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "the lab"]);
    git(dir, &["checkout", "-q", "-b", "change"]);
    dir
}

/// Replaces `from` (which must be there, once) by `to` in `file`.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("readable");
    assert_eq!(text.matches(from).count(), 1, "{file}: {from:?} once");
    std::fs::write(&path, text.replace(from, to)).expect("writable");
}

fn commit(dir: &Path, message: &str) {
    git(dir, &["commit", "-q", "-a", "-m", message]);
}

/// The three reports of `labc diff --base main`, after checking they agree
/// on the exit code (1: something changed) and leave git's state alone.
struct Reports {
    json: Value,
    text: String,
    markdown: String,
}

fn reports(dir: &Path) -> Reports {
    let head = git(dir, &["rev-parse", "HEAD"]);
    let status = git(dir, &["status", "--porcelain"]);
    let run = |format: &str| -> String {
        let out = labc(dir, &["diff", "--base", "main", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        stdout(&out)
    };
    let json_text = run("json");
    let json: Value = serde_json::from_str(&json_text).expect("the report is JSON");
    validate_report(dir, &json_text);
    let r = Reports {
        json,
        text: run("text"),
        markdown: run("markdown"),
    };
    // No checkout, no index change, no file written.
    assert_eq!(git(dir, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(dir, &["status", "--porcelain"]), status);
    r
}

/// check-jsonschema validates a report against the committed schema.
fn validate_report(dir: &Path, json: &str) {
    let file = dir.join("report.json.tmp");
    std::fs::write(&file, json).expect("write the report");
    let out = Command::new(tool("target/tools/venv/bin/check-jsonschema"))
        .arg("--schemafile")
        .arg(root().join("schemas/review.schema.json"))
        .arg(&file)
        .output()
        .expect("check-jsonschema runs");
    std::fs::remove_file(&file).expect("remove the report");
    assert!(
        out.status.success(),
        "the report does not match schemas/review.schema.json:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn snapshots(case: &str, r: &Reports) {
    insta::with_settings!({ snapshot_path => "snapshots/review", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(format!("{case}.text"), r.text);
        insta::assert_snapshot!(format!("{case}.md"), r.markdown);
    });
}

/// The change of `kind` and `name` in a JSON report.
fn change<'a>(report: &'a Value, kind: &str, name: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["kind"] == kind && c["name"] == name)
        .unwrap_or_else(|| panic!("no change {kind} {name} in {report:#}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string"))
        .collect()
}

/// (kind, subject) of every risk.
fn risks(report: &Value) -> Vec<(String, String)> {
    report["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().expect("kind").to_string(),
                r["subject"].as_str().expect("subject").to_string(),
            )
        })
        .collect()
}

fn field<'a>(change: &'a Value, name: &str) -> (&'a Value, &'a Value) {
    let f = change["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {change:#}"));
    (&f["old"], &f["new"])
}

#[test]
fn an_app_added_with_its_database() {
    let lab = Lab::reference();
    let dir = repo(&lab);
    edit(
        dir,
        "lab.ncl",
        "    cms = {",
        "    blog = { archetype = 'postgres, ingress = ['public] },\n    cms = {",
    );
    edit(
        dir,
        "lab.ncl",
        "    webapp = {},\n",
        "    webapp = {},\n    blog = {},\n",
    );
    commit(dir, "add blog");
    let r = reports(dir);
    let j = &r.json;
    assert_eq!(j["format"], "labc-review/1");
    assert_eq!(j["base"], "main");
    assert_eq!(j["new_lab"], false);
    assert_eq!(risks(j), Vec::<(String, String)>::new());
    let app = change(j, "app", "blog");
    assert_eq!(app["action"], "added");
    assert_eq!(field(app, "database"), (&Value::Null, &Value::from("blog")));
    assert_eq!(
        field(app, "repository").1,
        "https://gitea.arcodange.lab/arcodange-org/blog"
    );
    assert_eq!(
        strings(&app["files"]["added"]),
        [
            "apps/blog/values.yaml",
            "apps/blog/vault-secrets.yaml",
            "argocd/rendered/applications/blog.yaml"
        ]
    );
    assert!(strings(&app["files"]["changed"]).contains(&"argocd/values.yaml"));
    for (kind, name) in [
        ("database", "blog"),
        ("role", "blog_role"),
        ("vault_role", "postgres/roles/blog"),
        ("vault_role", "auth/kubernetes/role/blog"),
        ("vault_policy", "blog"),
    ] {
        assert_eq!(change(j, kind, name)["action"], "added", "{kind} {name}");
    }
    let db = change(j, "database", "blog");
    assert!(strings(&db["files"]["changed"]).contains(&"tofu/postgres/labc.auto.tfvars.json"));
    assert_eq!(j["summary"]["files_added"], 3);
    snapshots("app-added", &r);
}

#[test]
fn an_app_removed_is_a_risk() {
    let lab = Lab::reference();
    let dir = repo(&lab);
    edit(
        dir,
        "lab.ncl",
        "    erp = {\n      archetype = 'postgres,\n      ingress = ['internal],\n    },\n",
        "",
    );
    edit(
        dir,
        "lab.ncl",
        "    url-shortener = {\n      # Rust + SQLite on a Longhorn RWO volume: one replica, no Vault.\n      archetype = 'sqlite,\n      ingress = ['public],\n    },\n",
        "",
    );
    commit(dir, "remove erp and url-shortener");
    let r = reports(dir);
    let j = &r.json;
    assert_eq!(change(j, "app", "erp")["action"], "removed");
    assert_eq!(
        strings(&change(j, "app", "erp")["files"]["removed"]),
        [
            "apps/erp/certificates.yaml",
            "apps/erp/values.yaml",
            "apps/erp/vault-secrets.yaml",
            "argocd/rendered/applications/erp.yaml"
        ]
    );
    // Both repositories; url-shortener's volume stays (cascade_delete is
    // off for a 'sqlite app).
    let expected: Vec<(String, String)> =
        [("destroyed", "app erp"), ("destroyed", "app url-shortener")]
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_string()))
            .collect();
    assert_eq!(risks(j), expected);
    let message = j["risks"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("repository https://gitea.arcodange.lab/arcodange-org/erp"),
        "{message}"
    );
    // The database stays declared: no longer used, not dropped.
    assert_eq!(change(j, "database", "erp")["action"], "changed");
    snapshots("app-removed", &r);
}

#[test]
fn an_org_changed_recreates_the_repository() {
    let lab = Lab::reference();
    let dir = repo(&lab);
    edit(
        dir,
        "lab.ncl",
        "      archetype = 'stateless,\n      org = \"arcodange\",\n",
        "      archetype = 'stateless,\n",
    );
    commit(dir, "telegram-gateway to the default org");
    let r = reports(dir);
    let j = &r.json;
    let app = change(j, "app", "telegram-gateway");
    assert_eq!(app["action"], "changed");
    assert_eq!(
        field(app, "org"),
        (&Value::from("arcodange"), &Value::from("arcodange-org"))
    );
    assert_eq!(
        risks(j),
        [("recreated".to_string(), "app telegram-gateway".to_string())]
    );
    let message = j["risks"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("https://gitea.arcodange.lab/arcodange/telegram-gateway becomes https://gitea.arcodange.lab/arcodange-org/telegram-gateway"),
        "{message}"
    );
    assert!(strings(&app["files"]["changed"]).contains(&"tofu/factory/labc.auto.tfvars.json"));
    snapshots("org-changed", &r);
}

#[test]
fn pihole_moved_to_another_host() {
    let lab = Lab::reference();
    let dir = repo(&lab);
    edit(
        dir,
        "lab.ncl",
        "services = ['k3s_agent, 'pihole, 'step_ca_replica, 'ci_runner]",
        "services = ['k3s_agent, 'step_ca_replica, 'ci_runner]",
    );
    edit(
        dir,
        "lab.ncl",
        "services = ['k3s_agent, 'postgres, 'gitea, 'step_ca_replica]",
        "services = ['k3s_agent, 'postgres, 'gitea, 'step_ca_replica, 'pihole]",
    );
    commit(dir, "pihole from pi3 to pi2");
    let r = reports(dir);
    let j = &r.json;
    let service = change(j, "service", "pihole");
    assert_eq!(service["action"], "moved");
    assert_eq!(
        field(service, "hosts"),
        (&Value::from("pi1, pi3"), &Value::from("pi1, pi2"))
    );
    assert!(strings(&service["files"]["changed"]).contains(&"ansible/inventory/hosts.yml"));
    assert_eq!(change(j, "ansible_group", "pihole")["action"], "changed");
    assert_eq!(change(j, "host", "pi2")["action"], "changed");
    assert_eq!(change(j, "host", "pi3")["action"], "changed");
    // Pi-hole keeps no data labc knows of: no risk.
    assert_eq!(risks(j), Vec::<(String, String)>::new());
    snapshots("pihole-moved", &r);
}

#[test]
fn a_provider_version_bumped() {
    let lab = Lab::reference();
    let dir = repo(&lab);
    edit(dir, "lab.ncl", "version = \"4.4.0\"", "version = \"5.1.0\"");
    edit(
        dir,
        "lab.ncl",
        "version = \"1.26.0\"",
        "version = \"1.27.0\"",
    );
    commit(dir, "bump vault and postgresql");
    let r = reports(dir);
    let j = &r.json;
    let vault = change(j, "provider", "vault");
    assert_eq!(
        field(vault, "version"),
        (&Value::from("4.4.0"), &Value::from("5.1.0"))
    );
    assert!(strings(&vault["files"]["changed"]).contains(&"tofu/factory/versions.tf"));
    let pg = change(j, "provider", "postgresql");
    assert!(strings(&pg["files"]["changed"]).contains(&"tofu/postgres/versions.tf"));
    // 4 -> 5 is a new major version; 1.26 -> 1.27 is not.
    assert_eq!(
        risks(j),
        [("provider_major".to_string(), "provider vault".to_string())]
    );
    snapshots("provider-bumped", &r);
}

#[test]
fn an_import_changed_in_another_file() {
    // lab.ncl takes its apps from apps.ncl.
    let lab = Lab::reference();
    let dir = lab.path();
    let text = lab.text();
    let start = text.find("  apps = {\n").expect("apps");
    let end = start + text[start..].find("\n  },\n").expect("end of apps") + "\n  },\n".len();
    let apps = format!(
        "{{\n{}}}\n",
        &text[start + "  apps = {\n".len()..end - "  },\n".len()]
    );
    std::fs::write(dir.join("apps.ncl"), apps).expect("write apps.ncl");
    std::fs::write(
        dir.join("lab.ncl"),
        format!(
            "{}  apps = import \"apps.ncl\",\n{}",
            &text[..start],
            &text[end..]
        ),
    )
    .expect("write lab.ncl");
    let dir = repo(&lab);
    edit(
        dir,
        "apps.ncl",
        "    cms = {\n      archetype = 'stateless,\n      image_updater = 'digest,\n      ingress = ['public],",
        "    cms = {\n      archetype = 'stateless,\n      image_updater = 'digest,\n      ingress = ['internal],",
    );
    commit(dir, "cms inside only");
    assert_eq!(git(dir, &["diff", "--name-only", "main"]), "apps.ncl\n");
    let r = reports(dir);
    let j = &r.json;
    let cms = change(j, "app", "cms");
    assert_eq!(
        field(cms, "ingress"),
        (
            &Value::from("public: cms.arcodange.fr"),
            &Value::from("internal: cms.arcodange.lab")
        )
    );
    assert!(strings(&cms["files"]["changed"]).contains(&"apps/cms/values.yaml"));
    // Inside, the name needs a record of the internal resolvers.
    assert_eq!(
        change(j, "dns_record", "cms.arcodange.lab")["action"],
        "added"
    );
    assert_eq!(j["changes"].as_array().expect("changes").len(), 2);
    snapshots("import-changed", &r);
}

#[test]
fn a_base_that_does_not_compile_is_its_report() {
    let lab = Lab::reference();
    let dir = lab.path();
    let good = lab.text();
    std::fs::write(
        dir.join("lab.ncl"),
        good.replacen("nfs_host = \"pi2\"", "nfs_host = \"pi9\"", 1),
    )
    .expect("break the lab");
    let dir = repo(&lab);
    std::fs::write(dir.join("lab.ncl"), &good).expect("mend the lab");
    commit(dir, "mend");
    let out: Output = labc(dir, &["diff", "--base", "main", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    // Positions name the revision's file, not a temporary copy.
    assert!(
        err.contains("error[labc::unknown-host]: unknown host `pi9`"),
        "{err}"
    );
    assert!(err.contains("┌─ main:lab.ncl:"), "{err}");
    assert!(
        err.contains(
            "labc: main:lab.ncl has an error: the lab does not compile at the base revision main"
        ),
        "{err}"
    );
    assert!(!err.contains("labc-base-"), "{err}");
    insta::with_settings!({ snapshot_path => "snapshots/review", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("base-invalid.stderr", err);
    });
}

#[test]
fn a_toml_lab_and_its_k3s_version() {
    let lab = Lab::named("reference-toml");
    let dir = repo(&lab);
    // The stateful k3s server moves too: pi1 loses it, pi2 gains it.
    edit(
        dir,
        "lab.toml",
        "version = \"v1.34.3+k3s1\"",
        "version = \"v1.35.0+k3s1\"",
    );
    edit(
        dir,
        "lab.toml",
        "services = [\"k3s_server\", \"pihole\", \"step_ca_primary\", \"ci_runner\"]",
        "services = [\"k3s_agent\", \"pihole\", \"step_ca_primary\", \"ci_runner\"]",
    );
    edit(
        dir,
        "lab.toml",
        "services = [\"k3s_agent\", \"postgres\", \"gitea\", \"step_ca_replica\"]",
        "services = [\"k3s_server\", \"postgres\", \"gitea\", \"step_ca_replica\"]",
    );
    commit(dir, "k3s 1.35, server on pi2");
    let r = reports(dir);
    let j = &r.json;
    assert_eq!(
        field(change(j, "k3s", "cluster"), "version"),
        (&Value::from("v1.34.3+k3s1"), &Value::from("v1.35.0+k3s1"))
    );
    let expected: Vec<(String, String)> = [
        ("stateful_service", "host pi1"),
        ("k3s_version", "k3s cluster"),
    ]
    .iter()
    .map(|(k, s)| (k.to_string(), s.to_string()))
    .collect();
    assert_eq!(risks(j), expected);
    assert_eq!(change(j, "service", "k3s_server")["action"], "moved");
    assert_eq!(change(j, "ansible_group", "server")["action"], "changed");
}

#[test]
fn a_lab_absent_at_the_base_is_a_new_lab() {
    let lab = Lab::reference();
    let dir = lab.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "A lab, soon.\n").expect("write");
    git(dir, &["add", "README.md"]);
    git(dir, &["commit", "-q", "-m", "empty"]);
    let out = labc(dir, &["diff", "--base", "main", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    validate_report(dir, &stdout(&out));
    assert_eq!(j["new_lab"], true);
    assert_eq!(j["risks"], Value::Array(vec![]));
    assert_eq!(change(&j, "host", "pi1")["action"], "added");
    assert_eq!(j["summary"]["files_removed"], 0);
    assert_eq!(j["summary"]["files_changed"], 0);
    let text = stdout(&labc(dir, &["diff", "--base", "main"]));
    assert!(
        text.starts_with("a new lab (no lab file at main): "),
        "{text}"
    );
}

#[test]
fn unknown_revisions_and_no_repository_are_errors() {
    let lab = Lab::reference();
    let out = labc(lab.path(), &["diff", "--base", "main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--base needs the lab in a git repository"),
        "{}",
        stderr(&out)
    );
    let dir = repo(&lab);
    for rev in ["no-such-branch", "--output=x"] {
        let out = labc(dir, &["diff", &format!("--base={rev}")]);
        assert_eq!(out.status.code(), Some(2), "{rev}");
        assert_eq!(
            stderr(&out),
            format!("error: unknown revision `{rev}`: git knows no commit by that name\n")
        );
    }
    assert!(!dir.join("x").exists());
    // Nothing changed since main: exit 0, a report saying so.
    let out = labc(dir, &["diff", "--base", "main", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("No change in the lab."));
    // Colour: the text report with --color always, never Markdown or JSON.
    let paint = |format: &str| {
        let out = labc(
            dir,
            &[
                "diff", "--base", "main", "--format", format, "--color", "always",
            ],
        );
        stdout(&out).contains('\x1b')
    };
    assert!(paint("text"));
    assert!(!paint("markdown") && !paint("json"));
    // --format belongs to --base.
    let out = labc(dir, &["diff", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The Gitea Actions workflow: valid for GitHub Actions' syntax (which
/// Gitea's runner reads) by check-jsonschema's schema, running the
/// commands the README describes on a label the lab's runners carry.
#[test]
fn the_gitea_workflow_is_valid_and_runs_labc() {
    let path = root().join(".gitea/workflows/labc.yaml");
    let check = |file: &Path| -> Output {
        Command::new(tool("target/tools/venv/bin/check-jsonschema"))
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(file)
            .output()
            .expect("check-jsonschema runs")
    };
    let out = check(&path);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("ok -- validation done"));
    // The validator does reject a broken workflow (a job without runs-on).
    let text = std::fs::read_to_string(&path).expect("readable");
    let broken = tempfile::tempdir().expect("tempdir");
    let broken_file = broken.path().join("labc.yaml");
    std::fs::write(
        &broken_file,
        text.replace("    runs-on: ubuntu-latest\n", ""),
    )
    .expect("write");
    assert!(!check(&broken_file).status.success());

    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let job = &doc["jobs"]["labc"];
    let label = job["runs-on"].as_str().expect("runs-on");
    let runner = std::fs::read_to_string(root().join("generated/compose/pi1/runner/compose.yaml"))
        .expect("the runner's compose file");
    assert!(
        runner.contains(&format!("\"{label}:")) || runner.contains(&format!(",{label}:")),
        "runs-on {label} is none of the lab's runner labels"
    );
    let runs: Vec<&str> = job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    let all = runs.join("\n");
    assert!(all.contains("target/debug/labc check\n"), "{all}");
    assert!(
        all.contains("labc diff --base \"origin/$BASE_REF\" --format markdown > review.md"),
        "{all}"
    );
    let comment = job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "Comment on the pull request")
        .expect("the comment step");
    assert_eq!(comment["if"], "github.event_name == 'pull_request'");
    assert!(
        comment["env"]["COMMENTS"]
            .as_str()
            .expect("COMMENTS")
            .ends_with("/issues/${{ github.event.pull_request.number }}/comments")
    );
    assert!(
        comment["run"]
            .as_str()
            .expect("run")
            .contains("curl --fail-with-body")
    );
    assert_eq!(job["permissions"]["pull-requests"], "write");
    assert_eq!(
        doc["jobs"]["labc"]["steps"][0]["with"]["fetch-depth"],
        serde_norway::Value::from(0)
    );
}

/// The workflow's pull-request steps, run as the runner runs them (bash
/// -eo pipefail, the step's env) in a repository whose `origin` has the
/// base branch: the review lands in review.md, and the comment step sends
/// it as the JSON body of one POST to the comments URL (a `curl` on PATH
/// records what it was asked to send). A base that does not compile is
/// posted as labc's report, and fails the job.
#[test]
fn the_workflow_posts_the_review() {
    let text =
        std::fs::read_to_string(root().join(".gitea/workflows/labc.yaml")).expect("the workflow");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let step = |name: &str| -> String {
        doc["jobs"]["labc"]["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .and_then(|s| s["run"].as_str())
            .unwrap_or_else(|| panic!("no step {name}"))
            .to_string()
    };
    let (review, comment) = (
        step("labc diff --base"),
        step("Comment on the pull request"),
    );

    let run = |dir: &Path, script: &str| -> Output {
        let bin = dir.join("fake-bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let curl = bin.join("curl");
        std::fs::write(
            &curl,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > curl.args\nfor a; do case \"$a\" in @*) cp \"${a#@}\" curl.body;; esac; done\n",
        )
        .expect("curl");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&curl, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(dir)
            .env("PATH", path)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("BASE_REF", "main")
            .env("TOKEN", "the-token")
            .env(
                "COMMENTS",
                "https://gitea.example/api/v1/repos/o/lab/issues/7/comments",
            )
            .output()
            .expect("bash runs")
    };
    // A checkout as the runner makes it: labc built at target/debug/labc,
    // the base branch on `origin`.
    let checkout = |lab: &Lab| {
        let dir = lab.path();
        git(dir, &["remote", "add", "origin", "."]);
        std::fs::create_dir_all(dir.join("target/debug")).expect("target");
        #[cfg(unix)]
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_labc"), dir.join("target/debug/labc"))
            .expect("link labc");
    };

    let lab = Lab::reference();
    let dir = repo(&lab);
    edit(dir, "lab.ncl", "version = \"4.4.0\"", "version = \"5.0.0\"");
    commit(dir, "vault 5");
    checkout(&lab);
    let out = run(dir, &review);
    assert!(out.status.success(), "{}", stderr(&out));
    let markdown = std::fs::read_to_string(dir.join("review.md")).expect("review.md");
    assert!(
        markdown.starts_with("## labc: the lab since origin/main: 1 change, 1 risk"),
        "{markdown}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("review.status")).expect("status"),
        "1\n"
    );
    let out = run(dir, &comment);
    assert!(out.status.success(), "{}", stderr(&out));
    let args = std::fs::read_to_string(dir.join("curl.args")).expect("curl ran");
    assert!(args.contains("POST\n"), "{args}");
    assert!(args.contains("Authorization: token the-token\n"), "{args}");
    assert!(
        args.ends_with("https://gitea.example/api/v1/repos/o/lab/issues/7/comments\n"),
        "{args}"
    );
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("curl.body")).expect("the body"))
            .expect("JSON");
    assert_eq!(body, serde_json::json!({ "body": markdown }));

    // A base that does not compile: its report is posted, the job fails.
    let lab = Lab::reference();
    let good = lab.text();
    std::fs::write(
        lab.path().join("lab.ncl"),
        good.replacen("nfs_host = \"pi2\"", "nfs_host = \"pi9\"", 1),
    )
    .expect("break");
    let dir = repo(&lab);
    std::fs::write(dir.join("lab.ncl"), &good).expect("mend");
    commit(dir, "mend");
    checkout(&lab);
    let out = run(dir, &review);
    assert!(out.status.success(), "{}", stderr(&out));
    let markdown = std::fs::read_to_string(dir.join("review.md")).expect("review.md");
    assert!(
        markdown.starts_with("## labc: no review of this pull request\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("error[labc::unknown-host]: unknown host `pi9`"),
        "{markdown}"
    );
    let out = run(dir, &comment);
    assert!(!out.status.success(), "the job must fail");
    let body = std::fs::read_to_string(dir.join("curl.body")).expect("posted all the same");
    assert!(body.contains("unknown host"), "{body}");
}
