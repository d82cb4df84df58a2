//! The Compose stacks, as Compose v2 itself reads them: every generated
//! `compose.yaml` passes `docker-compose config -q` with nothing on stderr
//! (an unset `$VAR` would be a warning there), both compose-spec schemas
//! (check-jsonschema's builtin `vendor.compose-spec` and the committed
//! canonical copy), and assertions on Compose's normalized `config --format
//! json`: the stacks per host, images, Gitea's database host and name, the
//! health dependency, the runners' instance URL and labels, secrets only
//! through the lab's env files, a `$` reaching the container literally.
//! Over the reference lab (PostgreSQL and Gitea together on pi2), the
//! big-cluster fixture (apart, three runners) and variants of them.
//!
//! Compose refuses an `env_file` that doesn't exist, and the lab's are
//! absolute paths on the Pis, so each lab is built a second time with its
//! env files moved under a scratch folder that holds them (with a marker,
//! never a real secret); the files must come out identical but for that
//! prefix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{Lab, root, stderr, stdout, tool};

/// Set in Compose's environment, so an unescaped `$LABC_TEST_VAR` would
/// visibly interpolate.
const TEST_VAR: (&str, &str) = ("LABC_TEST_VAR", "interpolated");

/// Key every scratch env file sets: its value names the file it came from.
const SECRET_KEY: &str = "LABC_TEST_SECRET";

/// A lab built from `text` twice: as written, and with its env files moved
/// under `env_dir` (which holds them) so Compose can read them.
struct Built {
    as_written: Lab,
    runnable: Lab,
    env_dir: tempfile::TempDir,
}

impl Built {
    fn new(text: &str) -> Built {
        let env_dir = tempfile::tempdir().expect("tempdir");
        let prefix = env_dir.path().to_str().expect("utf-8 temp path");
        let mut moved = String::new();
        let mut rest = text;
        let marker = "env_file = \"";
        while let Some(i) = rest.find(marker) {
            let (before, after) = rest.split_at(i + marker.len());
            let end = after.find('"').expect("env_file string closes");
            let path = &after[..end];
            let file = PathBuf::from(format!("{prefix}{path}"));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, format!("{SECRET_KEY}=secret-from-{path}\n")).unwrap();
            moved.push_str(before);
            moved.push_str(prefix);
            rest = after;
        }
        moved.push_str(rest);
        let as_written = Lab::from_text("lab.ncl", text);
        let runnable = Lab::from_text("lab.ncl", &moved);
        as_written.build();
        runnable.build();
        Built {
            as_written,
            runnable,
            env_dir,
        }
    }

    /// The generated compose files by `<host>/<stack>`, after checking the
    /// runnable build differs from the lab as written only in the env files'
    /// prefix.
    fn stacks(&self) -> BTreeMap<String, PathBuf> {
        let prefix = self.env_dir.path().to_str().unwrap();
        let written = compose_files(&self.as_written);
        let runnable = compose_files(&self.runnable);
        assert_eq!(
            written.keys().collect::<Vec<_>>(),
            runnable.keys().collect::<Vec<_>>()
        );
        for (stack, path) in &runnable {
            let moved = std::fs::read_to_string(path).unwrap();
            let original = std::fs::read_to_string(&written[stack]).unwrap();
            assert_eq!(moved.replace(prefix, ""), original, "{stack}");
            assert!(
                !original.contains(SECRET_KEY) && !original.contains("secret-from"),
                "{stack} inlines an env file's contents"
            );
        }
        runnable
    }
}

/// `generated/compose/<host>/<stack>/compose.yaml` by `<host>/<stack>`.
fn compose_files(lab: &Lab) -> BTreeMap<String, PathBuf> {
    lab.files()
        .keys()
        .filter_map(|p| {
            let stack = p.strip_prefix("compose/")?.strip_suffix("/compose.yaml")?;
            Some((stack.to_string(), lab.generated().join(p)))
        })
        .collect()
}

/// Runs the real Compose v2 on `file` in a clean environment (only HOME, in
/// a scratch folder, and [`TEST_VAR`]).
fn compose(file: &Path, args: &[&str]) -> Output {
    let scratch = tempfile::tempdir().expect("tempdir");
    Command::new(tool("target/tools/bin/docker-compose"))
        .arg("-f")
        .arg(file)
        .args(args)
        .current_dir(scratch.path())
        .env_clear()
        .env("HOME", scratch.path())
        .env(TEST_VAR.0, TEST_VAR.1)
        .output()
        .expect("docker-compose runs")
}

/// `config -q` and the compose-spec schemas accept `file` cleanly; returns
/// Compose's normalized model.
fn check(file: &Path) -> Value {
    let o = compose(file, &["config", "-q"]);
    assert!(
        o.status.success() && o.stderr.is_empty() && o.stdout.is_empty(),
        "docker-compose config -q {} ({:?}):\n{}",
        file.display(),
        o.status,
        stderr(&o)
    );
    let schema = root().join("tests/schemas/compose/compose-spec.json");
    let schema = schema.to_str().unwrap();
    for args in [
        ["--builtin-schema", "vendor.compose-spec"],
        ["--schemafile", schema],
    ] {
        let o = Command::new(tool("target/tools/venv/bin/check-jsonschema"))
            .args(args)
            .arg(file)
            .output()
            .expect("check-jsonschema runs");
        assert!(
            o.status.success(),
            "check-jsonschema {args:?} {}:\n{}{}",
            file.display(),
            stdout(&o),
            stderr(&o)
        );
    }
    config(file)
}

/// Compose's normalized model of `file` (`config --format json`).
fn config(file: &Path) -> Value {
    let o = compose(file, &["config", "--format", "json"]);
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "docker-compose config {}:\n{}",
        file.display(),
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).expect("config prints JSON")
}

fn services(model: &Value) -> BTreeSet<String> {
    model["services"]
        .as_object()
        .expect("services")
        .keys()
        .cloned()
        .collect()
}

fn env<'a>(model: &'a Value, service: &str, key: &str) -> &'a str {
    model["services"][service]["environment"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{service} has no {key}"))
}

/// (published, target) of every port of `service`.
fn ports(model: &Value, service: &str) -> Vec<(String, u64)> {
    model["services"][service]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["published"].as_str().unwrap().to_string(),
                p["target"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// (source, target) of every volume of `service`.
fn volumes(model: &Value, service: &str) -> Vec<(String, String)> {
    model["services"][service]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap().to_string(),
                v["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every service's environment holds the marker of exactly the lab's env
/// file it should read, and no password or token of its own.
fn assert_secrets_only_from(model: &Value, service: &str, env_file: &str) {
    assert_eq!(
        env(model, service, SECRET_KEY),
        format!("secret-from-{env_file}"),
        "{service} reads the wrong env file"
    );
    let environment = model["services"][service]["environment"]
        .as_object()
        .unwrap();
    for key in environment.keys() {
        assert!(
            !["PASSWORD", "PASSWD", "TOKEN", "SECRET"]
                .iter()
                .any(|s| key.contains(s))
                || key == SECRET_KEY,
            "{service} sets {key} inline"
        );
    }
}

fn reference_text() -> String {
    std::fs::read_to_string(root().join("lab.ncl")).unwrap()
}

fn big_cluster_text() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/big-cluster/lab.ncl")).unwrap()
}

/// `text` with `from` replaced once, asserting it was there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` once in the lab");
    text.replacen(from, to, 1)
}

#[test]
fn reference_lab_stacks() {
    let lab = Built::new(&reference_text());
    let stacks = lab.stacks();
    assert_eq!(
        stacks.keys().map(String::as_str).collect::<Vec<_>>(),
        ["pi1/runner", "pi2/postgres-gitea", "pi3/runner"]
    );
    let models: BTreeMap<&str, Value> =
        stacks.iter().map(|(k, f)| (k.as_str(), check(f))).collect();

    let pi2 = &models["pi2/postgres-gitea"];
    assert_eq!(pi2["name"], "arcodange-postgres-gitea");
    assert_eq!(
        services(pi2),
        BTreeSet::from(["gitea".into(), "postgres".into()])
    );
    assert_eq!(pi2["services"]["postgres"]["image"], "postgres:16.10");
    assert_eq!(pi2["services"]["gitea"]["image"], "gitea/gitea:1.24.6");
    assert_eq!(ports(pi2, "postgres"), [("5432".to_string(), 5432)]);
    // postgres:16 keeps its cluster in .../data, on a named volume.
    assert_eq!(
        volumes(pi2, "postgres"),
        [("postgres-data".into(), "/var/lib/postgresql/data".into())]
    );
    assert_eq!(
        pi2["volumes"]["postgres-data"]["name"],
        "arcodange-postgres-gitea_postgres-data"
    );
    let health = &pi2["services"]["postgres"]["healthcheck"];
    assert_eq!(health["test"][0], "CMD-SHELL");
    assert!(
        health["test"][1]
            .as_str()
            .unwrap()
            .starts_with("pg_isready ")
    );
    // Co-located: Gitea reaches the database by service name and waits for
    // its health check.
    assert_eq!(env(pi2, "gitea", "GITEA__database__DB_TYPE"), "postgres");
    assert_eq!(env(pi2, "gitea", "GITEA__database__HOST"), "postgres:5432");
    assert_eq!(env(pi2, "gitea", "GITEA__database__NAME"), "gitea");
    assert_eq!(env(pi2, "gitea", "GITEA__database__USER"), "gitea");
    assert_eq!(
        env(pi2, "gitea", "GITEA__server__ROOT_URL"),
        "https://gitea.arcodange.lab"
    );
    assert_eq!(
        env(pi2, "gitea", "GITEA__server__DOMAIN"),
        "gitea.arcodange.lab"
    );
    assert_eq!(env(pi2, "gitea", "GITEA__server__SSH_PORT"), "2222");
    assert_eq!(
        ports(pi2, "gitea"),
        [("3000".to_string(), 3000), ("2222".to_string(), 22)]
    );
    assert_eq!(
        pi2["services"]["gitea"]["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    assert_secrets_only_from(pi2, "postgres", "/home/pi/factory/postgres/postgres.env");
    assert_secrets_only_from(pi2, "gitea", "/home/pi/factory/gitea/gitea.env");

    for host in ["pi1", "pi3"] {
        let m = &models[format!("{host}/runner").as_str()];
        assert_eq!(m["name"], "arcodange-runner");
        assert_eq!(services(m), BTreeSet::from(["runner".into()]));
        assert_eq!(m["services"]["runner"]["image"], "gitea/runner:0.3.0");
        assert_eq!(
            env(m, "runner", "GITEA_INSTANCE_URL"),
            "https://gitea.arcodange.lab"
        );
        assert_eq!(env(m, "runner", "GITEA_RUNNER_NAME"), host);
        assert_eq!(
            env(m, "runner", "GITEA_RUNNER_LABELS"),
            "ubuntu-latest:docker://node:20-bookworm,arm64:host"
        );
        assert_eq!(
            volumes(m, "runner"),
            [
                ("runner-data".into(), "/data".into()),
                ("/var/run/docker.sock".into(), "/var/run/docker.sock".into())
            ]
        );
        assert_secrets_only_from(m, "runner", "/home/pi/factory/runner/runner.env");
    }
    for (path, text) in lab.as_written.files() {
        if path.starts_with("compose/") {
            assert!(!text.contains("\nversion:"), "{path}: obsolete `version:`");
        }
    }
}

#[test]
fn big_cluster_places_postgres_and_gitea_apart() {
    let lab = Built::new(&big_cluster_text());
    let stacks = lab.stacks();
    assert_eq!(
        stacks.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "node1/postgres",
            "node2/gitea",
            "node3/runner",
            "node4/runner",
            "node5/runner"
        ]
    );
    let models: BTreeMap<&str, Value> =
        stacks.iter().map(|(k, f)| (k.as_str(), check(f))).collect();

    let pg = &models["node1/postgres"];
    assert_eq!(pg["name"], "bigcluster-postgres");
    assert_eq!(services(pg), BTreeSet::from(["postgres".into()]));
    assert_eq!(pg["services"]["postgres"]["image"], "postgres:17.5");
    assert_eq!(ports(pg, "postgres"), [("5433".to_string(), 5432)]);
    assert_secrets_only_from(pg, "postgres", "/srv/postgres/secrets.env");

    // Apart: Gitea reaches node1's address on the published port, and can't
    // depend on a service of another host's project.
    let gitea = &models["node2/gitea"];
    assert_eq!(gitea["name"], "bigcluster-gitea");
    assert_eq!(services(gitea), BTreeSet::from(["gitea".into()]));
    assert_eq!(gitea["services"]["gitea"]["image"], "gitea/gitea:1.23.8");
    assert_eq!(
        env(gitea, "gitea", "GITEA__database__HOST"),
        "10.0.0.11:5433"
    );
    assert_eq!(env(gitea, "gitea", "GITEA__database__NAME"), "forge");
    assert_eq!(
        env(gitea, "gitea", "GITEA__server__ROOT_URL"),
        "https://git.home.arpa"
    );
    assert_eq!(env(gitea, "gitea", "GITEA__server__SSH_PORT"), "22022");
    assert_eq!(
        ports(gitea, "gitea"),
        [("3001".to_string(), 3000), ("22022".to_string(), 22)]
    );
    assert!(gitea["services"]["gitea"].get("depends_on").is_none());
    assert_secrets_only_from(gitea, "gitea", "/srv/gitea/secrets.env");
    let text = lab.as_written.read("compose/node2/gitea/compose.yaml");
    assert!(
        text.contains("# PostgreSQL runs on node1 (10.0.0.11:5433)"),
        "{text}"
    );

    for host in ["node3", "node4", "node5"] {
        let m = &models[format!("{host}/runner").as_str()];
        assert_eq!(
            env(m, "runner", "GITEA_INSTANCE_URL"),
            "https://git.home.arpa"
        );
        assert_eq!(env(m, "runner", "GITEA_RUNNER_NAME"), host);
        assert_eq!(
            env(m, "runner", "GITEA_RUNNER_LABELS"),
            "debian:docker://debian:bookworm"
        );
        assert_secrets_only_from(m, "runner", "/srv/runner/secrets.env");
    }
}

#[test]
fn postgres_18_mounts_the_versioned_layout() {
    let text = edit(&reference_text(), "\"postgres:16.10\"", "\"postgres:18.1\"");
    let lab = Built::new(&text);
    let m = check(&lab.stacks()["pi2/postgres-gitea"]);
    assert_eq!(
        volumes(&m, "postgres"),
        [("postgres-data".into(), "/var/lib/postgresql".into())]
    );
    assert_eq!(
        env(&m, "postgres", "PGDATA"),
        "/var/lib/postgresql/18/docker"
    );
}

#[test]
fn a_dollar_in_the_lab_stays_literal() {
    let label = format!("cost-${}:host", TEST_VAR.0);
    let text = edit(
        &big_cluster_text(),
        "labels = [\"debian:docker://debian:bookworm\"]",
        &format!("labels = [\"{label}\", \"x$$y:host\"]"),
    );
    let lab = Built::new(&text);
    let file = lab.stacks()["node3/runner"].clone();
    let m = check(&file);
    // Compose's output is itself a Compose file, so it writes a literal `$`
    // as `$$` again; what matters is that nothing was interpolated though
    // the variable is set in Compose's environment.
    assert_eq!(
        env(&m, "runner", "GITEA_RUNNER_LABELS"),
        format!("{},x$$$$y:host", label.replace('$', "$$"))
    );
    // The same file without the escaping is read differently: proof the
    // check above can fail.
    let unescaped = std::fs::read_to_string(&file).unwrap().replace("$$", "$");
    let broken = file.with_file_name("unescaped.yaml");
    std::fs::write(&broken, unescaped).unwrap();
    let m = config(&broken);
    assert!(
        env(&m, "runner", "GITEA_RUNNER_LABELS").starts_with("cost-interpolated:host,"),
        "{m}"
    );
}

#[test]
fn compose_rejects_a_broken_stack() {
    let lab = Built::new(&reference_text());
    let file = lab.stacks()["pi2/postgres-gitea"].clone();
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = file.with_file_name("broken.yaml");
    std::fs::write(
        &broken,
        edit(
            &text,
            "    depends_on:\n      postgres:",
            "    depends_on:\n      postgress:",
        ),
    )
    .unwrap();
    let o = compose(&broken, &["config", "-q"]);
    assert!(
        !o.status.success(),
        "Compose accepted a dependency on no service"
    );
    assert!(stderr(&o).contains("postgress"), "{}", stderr(&o));
}

#[test]
fn an_unpinned_postgres_image_is_rejected() {
    let text = edit(
        &reference_text(),
        "\"postgres:16.10\"",
        "\"postgres:latest\"",
    );
    let lab = Lab::from_text("lab.ncl", &text);
    let o = lab.run(&["build"]);
    assert!(!o.status.success());
    let report = stderr(&o);
    assert!(
        report.contains("PostgreSQL image tag `latest` names no major version"),
        "{report}"
    );
    assert!(report.contains("lab.ncl:"), "no position: {report}");
}
