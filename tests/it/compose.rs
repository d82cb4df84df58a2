//! The Compose stacks, as Compose v2 itself reads them: every generated
//! `compose.yaml` passes `docker-compose config -q` with nothing on stderr
//! (an unset `$VAR` would be a warning there), both compose-spec schemas
//! (check-jsonschema's builtin `vendor.compose-spec` and the committed
//! canonical copy), and assertions on Compose's normalized `config --format
//! json`: the stacks per host, images, Gitea's database host and name, the
//! health dependency, the runners' instance URL and labels, secrets only
//! through the lab's env files, a `$` reaching the container literally, and
//! PostgreSQL's `./initdb` folder bind-mounted read-only at
//! `/docker-entrypoint-initdb.d`. Over the reference lab (PostgreSQL and
//! Gitea together on pi2), the big-cluster fixture (apart, three runners)
//! and variants of them.
//!
//! The init script `initdb/10-gitea.sh` goes with the postgres stack and is
//! run for real, with bash, against a throwaway PostgreSQL 15
//! ([`crate::pg::Server`]), in the environment the image gives it (POSTGRES_USER,
//! POSTGRES_DB, psql on the local socket through PGHOST/PGPORT/PGUSER):
//! twice and again with a new password, executed and sourced as the image's
//! entrypoint does; the catalog then says Gitea's role logs in over TCP with
//! a password full of quotes, `$` and command substitutions (none of which
//! ran), owns its UTF8 database and holds no superuser, CREATEROLE or
//! CREATEDB. Without `GITEA_DB_PASSWORD` it fails naming the env file and
//! creates nothing. ShellCheck passes every lab's, and flags a broken copy.
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

use crate::common::{Lab, REFERENCE, lab_text, labs, root, stderr, stdout, tool};
use crate::pg::{Server, literal};

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
    lab_text(REFERENCE)
}

fn big_cluster_text() -> String {
    lab_text("big-cluster")
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
    // postgres:16 keeps its cluster in .../data, on a named volume; the
    // init scripts come from the stack's own folder.
    assert_eq!(
        volumes(pi2, "postgres"),
        [
            ("postgres-data".into(), "/var/lib/postgresql/data".into()),
            (initdb_source(&stacks["pi2/postgres-gitea"]), INITDB.into())
        ]
    );
    assert_initdb_mount(pi2, &stacks["pi2/postgres-gitea"]);
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
    // The init script goes with PostgreSQL, not with Gitea.
    assert_initdb_mount(pg, &stacks["node1/postgres"]);
    assert_eq!(
        volumes(pg, "postgres"),
        [
            ("postgres-data".into(), "/var/lib/postgresql/data".into()),
            (initdb_source(&stacks["node1/postgres"]), INITDB.into())
        ]
    );

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
    let file = lab.stacks()["pi2/postgres-gitea"].clone();
    let m = check(&file);
    assert_eq!(
        volumes(&m, "postgres"),
        [
            ("postgres-data".into(), "/var/lib/postgresql".into()),
            (initdb_source(&file), INITDB.into())
        ]
    );
    assert_initdb_mount(&m, &file);
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

/// Where the postgres image looks for init scripts.
const INITDB: &str = "/docker-entrypoint-initdb.d";

/// The bind source Compose resolves `./initdb` to: beside `file`.
fn initdb_source(file: &Path) -> String {
    file.with_file_name("initdb").to_str().unwrap().to_string()
}

/// PostgreSQL mounts the stack's `initdb` folder read-only at [`INITDB`],
/// and that folder holds exactly the Gitea script.
fn assert_initdb_mount(model: &Value, file: &Path) {
    let mounts = model["services"]["postgres"]["volumes"]
        .as_array()
        .expect("volumes");
    let initdb: Vec<&Value> = mounts.iter().filter(|v| v["target"] == INITDB).collect();
    assert_eq!(initdb.len(), 1, "{mounts:?}");
    assert_eq!(initdb[0]["type"], "bind", "{mounts:?}");
    assert_eq!(initdb[0]["source"], initdb_source(file).as_str());
    assert_eq!(initdb[0]["read_only"], true, "{mounts:?}");
    let listed: Vec<String> = std::fs::read_dir(initdb_source(file))
        .expect("initdb folder generated")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, ["10-gitea.sh"]);
}

/// Every generated init script, by path under generated/.
fn initdb_scripts(lab: &Lab) -> Vec<String> {
    lab.files()
        .into_keys()
        .filter(|p| p.starts_with("compose/") && p.contains("/initdb/"))
        .collect()
}

/// What an init script gets from the postgres image: POSTGRES_USER and
/// POSTGRES_DB from its environment, and psql reaching the server the
/// entrypoint started on the local socket (here through PGHOST, PGPORT and
/// PGUSER, taken from the test server's own socket psql). Nothing else of
/// the test's environment leaks in.
fn image_env(server: &Server, cmd: &mut Command) {
    let psql = server.psql("postgres", "postgres");
    let args: Vec<&std::ffi::OsStr> = psql.get_args().collect();
    let after = |flag: &str| {
        let i = args.iter().position(|a| *a == flag).expect("socket psql");
        args[i + 1]
    };
    let bin = Path::new(psql.get_program()).parent().unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    cmd.env_clear()
        .env("PATH", path)
        .env("PGHOST", after("-h"))
        .env("PGPORT", after("-p"))
        .env("PGUSER", "postgres")
        .env("POSTGRES_USER", "postgres")
        .env("POSTGRES_DB", "postgres");
}

/// Runs `script` with bash as the image does when it is executable;
/// `password` becomes GITEA_DB_PASSWORD when given.
fn run_script(server: &Server, script: &Path, password: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(script);
    image_env(server, &mut cmd);
    if let Some(p) = password {
        cmd.env("GITEA_DB_PASSWORD", p);
    }
    cmd.output().expect("bash runs")
}

/// Sources `script` in a bash set up like the image's entrypoint (which
/// sources a `.sh` that isn't executable, and labc's are 0644), then prints
/// the shell options left behind.
fn source_script(server: &Server, script: &Path, password: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.args([
        "-c",
        "set -Eeo pipefail; . \"$1\"; echo \"continued: $-\"",
        "bash",
    ])
    .arg(script);
    image_env(server, &mut cmd);
    if let Some(p) = password {
        cmd.env("GITEA_DB_PASSWORD", p);
    }
    cmd.output().expect("bash runs")
}

fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} ({:?}):\n{}{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// Role attributes and database ownership as the catalog has them.
fn gitea_catalog(server: &Server, role: &str, db: &str) -> String {
    let role_row = server.query(
        "postgres",
        &format!(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, \
             rolbypassrls FROM pg_roles WHERE rolname = {}",
            literal(role)
        ),
    );
    let db_row = server.query(
        "postgres",
        &format!(
            "SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding) \
             FROM pg_database WHERE datname = {}",
            literal(db)
        ),
    );
    format!("{role_row}\n{db_row}")
}

/// Proves `script` (Gitea's role `role`, database `db`, PostgreSQL's env
/// file `env_file`) on a fresh PostgreSQL 15.
fn prove_initdb(script: &Path, role: &str, db: &str, env_file: &str) {
    let server = Server::start();
    let scratch = tempfile::tempdir().unwrap();
    let marker = scratch.path().join("ran");
    let m = marker.display();
    // Quotes of both kinds, a backslash, `$` expansions, command
    // substitutions and SQL that would end the literal: if the shell or SQL
    // read any of it, the login below fails (or the marker appears).
    let password = format!(
        "it's \"q\" \\ $HOME ${{GITEA_DB_PASSWORD}} $(touch {m}) `touch {m}` '); DROP ROLE postgres; --"
    );
    let nothing = gitea_catalog(&server, role, db);
    assert_eq!(nothing, "\n", "{role}/{db} exist before the script ran");

    // Without the password: refused, naming the env file, nothing created;
    // an empty one is no better.
    for missing in [None, Some("")] {
        let o = run_script(&server, script, missing);
        assert!(
            !o.status.success(),
            "ran without a password:\n{}",
            stdout(&o)
        );
        let err = stderr(&o);
        assert!(
            err.contains("GITEA_DB_PASSWORD is unset or empty")
                && err.contains(&format!("set it in {env_file}")),
            "{err}"
        );
        assert_eq!(gitea_catalog(&server, role, db), nothing);
    }
    // The image's superuser must not be Gitea's role.
    let mut cmd = Command::new("bash");
    cmd.arg(script);
    image_env(&server, &mut cmd);
    let o = cmd
        .env("POSTGRES_USER", role)
        .env("GITEA_DB_PASSWORD", "x")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!("POSTGRES_USER is `{role}`, Gitea's role")),
        "{}",
        stderr(&o)
    );
    assert_eq!(gitea_catalog(&server, role, db), nothing);

    // First run creates both.
    let o = run_script(&server, script, Some(&password));
    assert_ok(&o, "first run");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("CREATE ROLE") && out.contains("CREATE DATABASE"),
        "{out}"
    );
    let created = gitea_catalog(&server, role, db);
    assert_eq!(
        created,
        format!("{role}|t|f|f|f|f|f\n{db}|{role}|UTF8"),
        "login, no superuser/CREATEROLE/CREATEDB; owns its UTF8 database"
    );
    assert!(!marker.exists(), "the password was run as a command");

    // Gitea logs in over TCP with the password and can create its tables.
    let o = server.run_tcp(
        role,
        &password,
        db,
        "SELECT current_user, current_database()",
    );
    assert_ok(&o, "login as Gitea");
    assert_eq!(stdout(&o).trim_end(), format!("{role}|{db}"));
    assert_ok(
        &server.run_tcp(role, &password, db, "CREATE TABLE labc_probe (id int)"),
        "Gitea creates a table",
    );
    let o = server.run_tcp(role, "it's", db, "SELECT 1");
    assert!(!o.status.success(), "a wrong password logged in");
    assert!(
        stderr(&o).contains("password authentication failed"),
        "{}",
        stderr(&o)
    );

    // Again: nothing created, nothing lost (the table survives), same state.
    let o = run_script(&server, script, Some(&password));
    assert_ok(&o, "second run");
    let out = stdout(&o);
    assert!(
        !out.contains("CREATE ROLE") && !out.contains("CREATE DATABASE"),
        "{out}"
    );
    assert_eq!(gitea_catalog(&server, role, db), created);
    assert_eq!(server.query(db, "SELECT count(*) FROM labc_probe"), "0");
    assert_ok(
        &server.run_tcp(role, &password, db, "SELECT 1"),
        "login after the second run",
    );

    // Sourced, as the image does with a 0644 script: it works, and leaves
    // the entrypoint's shell going without `set -u`. A new password takes.
    let rotated = "rotated $x 'y'";
    let o = source_script(&server, script, Some(rotated));
    assert_ok(&o, "sourced run");
    let out = stdout(&o);
    let flags = out
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("continued: "))
        .unwrap_or_else(|| panic!("the entrypoint stopped:\n{out}"));
    assert!(flags.contains('e') && !flags.contains('u'), "{out}");
    assert_eq!(gitea_catalog(&server, role, db), created);
    assert_ok(
        &server.run_tcp(role, rotated, db, "SELECT 1"),
        "login with the new password",
    );
    assert!(
        !server
            .run_tcp(role, &password, db, "SELECT 1")
            .status
            .success()
    );
    // Sourced without the password: the entrypoint stops there.
    let o = source_script(&server, script, None);
    assert!(!o.status.success());
    assert!(!stdout(&o).contains("continued"), "{}", stdout(&o));
    assert!(stderr(&o).contains("GITEA_DB_PASSWORD"), "{}", stderr(&o));
    assert!(!marker.exists(), "the password was run as a command");
}

#[test]
fn reference_init_script_creates_giteas_role_and_database_on_postgres_15() {
    let lab = Lab::reference();
    lab.build();
    let rel = "compose/pi2/postgres-gitea/initdb/10-gitea.sh";
    assert_eq!(initdb_scripts(&lab), [rel]);
    let text = lab.read(rel);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#!/usr/bin/env bash");
    assert!(
        text.contains("# GITEA_DB_PASSWORD must be set in PostgreSQL's env file,\n#   /home/pi/factory/postgres/postgres.env,"),
        "{text}"
    );
    let compose = lab.read("compose/pi2/postgres-gitea/compose.yaml");
    assert!(compose.contains("GITEA_DB_PASSWORD"), "{compose}");
    prove_initdb(
        &lab.generated().join(rel),
        "gitea",
        "gitea",
        "/home/pi/factory/postgres/postgres.env",
    );
}

#[test]
fn big_cluster_init_script_goes_with_postgres_and_creates_forge() {
    let lab = Lab::named("big-cluster");
    lab.build();
    let rel = "compose/node1/postgres/initdb/10-gitea.sh";
    assert_eq!(initdb_scripts(&lab), [rel]);
    let gitea = lab.read("compose/node2/gitea/compose.yaml");
    assert!(
        gitea.contains("must equal GITEA_DB_PASSWORD in PostgreSQL's env file on node1"),
        "{gitea}"
    );
    prove_initdb(
        &lab.generated().join(rel),
        "forge",
        "forge",
        "/srv/postgres/secrets.env",
    );
}

#[test]
fn init_scripts_pass_shellcheck_and_a_broken_one_does_not() {
    let shellcheck = |file: &Path| {
        Command::new(tool("target/tools/bin/shellcheck"))
            .args(["--shell=bash", "--severity=style", "--format=gcc"])
            .arg(file)
            .output()
            .expect("shellcheck runs")
    };
    let mut checked = 0;
    for lab in labs() {
        lab.build();
        for rel in initdb_scripts(&lab) {
            checked += 1;
            let file = lab.generated().join(&rel);
            let o = shellcheck(&file);
            assert!(
                o.status.success() && o.stdout.is_empty(),
                "shellcheck {rel}:\n{}{}",
                stdout(&o),
                stderr(&o)
            );
            // An unquoted expansion, as a careless edit would leave it.
            let text = std::fs::read_to_string(&file).unwrap();
            let broken = file.with_file_name("broken.sh");
            std::fs::write(
                &broken,
                edit(
                    &text,
                    "--set=password=\"$GITEA_DB_PASSWORD\"",
                    "--set=password=$GITEA_DB_PASSWORD",
                ),
            )
            .unwrap();
            let o = shellcheck(&broken);
            assert!(!o.status.success());
            assert!(stdout(&o).contains("SC2086"), "{}", stdout(&o));
        }
    }
    assert!(checked > 0, "no init script in any lab");
}
