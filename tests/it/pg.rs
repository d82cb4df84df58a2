//! A throwaway PostgreSQL 15 for the tests that apply what labc generates
//! (`sql`, `compose`'s init script, `agreement`), and the few things every
//! one of them does with it: quoting, reading rows back, filling Vault's
//! statement templates.

use crate::common::stderr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL binary from Debian's `postgresql` package (installed by
/// tests/tools/install.sh). Missing fails the test: a skip proves nothing.
fn pg_bin(name: &str) -> PathBuf {
    let p = Path::new(PG_BIN).join(name);
    assert!(
        p.exists(),
        "{} is missing: run tests/tools/install.sh first",
        p.display()
    );
    p
}

/// A throwaway server: data and socket in a temp dir owned by `postgres`,
/// listening on a free port of 127.0.0.1 with password (SCRAM) auth over
/// TCP and trust on the socket. Dropping it stops the server and removes
/// the dir.
pub(crate) struct Server {
    dir: tempfile::TempDir,
    port: u16,
}

impl Server {
    pub(crate) fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown runs");
        assert!(chown.success(), "chown postgres failed");
        let data = dir.path().join("data");
        let o = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .output()
            .expect("initdb runs");
        assert!(o.status.success(), "initdb failed:\n{}", stderr(&o));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = Server { dir, port };
        let o = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(server.dir.path().join("log"))
            .args(["-w", "-o"])
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
                server.dir.path().display()
            ))
            .arg("start")
            .output()
            .expect("pg_ctl runs");
        assert!(
            o.status.success(),
            "pg_ctl start failed:\n{}\n{}",
            stderr(&o),
            std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default()
        );
        server
    }

    /// psql as `user` on the Unix socket (trust), into `db`.
    pub(crate) fn psql(&self, user: &str, db: &str) -> Command {
        let mut c = Command::new(pg_bin("psql"));
        c.arg("-X")
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", user, "-d", db])
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        c
    }

    /// Applies a script file as the superuser, like the operator would.
    pub(crate) fn apply(&self, script: &Path) -> Output {
        self.psql("postgres", "postgres")
            .args(["-v", "ON_ERROR_STOP=1", "-f"])
            .arg(script)
            .output()
            .expect("psql runs")
    }

    /// Runs `sql` as `user` in `db`, unaligned and tuples-only.
    pub(crate) fn run(&self, user: &str, db: &str, sql: &str) -> Output {
        self.psql(user, db)
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .expect("psql runs")
    }

    /// Runs a query as the superuser, asserting success; its rows, `|`-separated.
    pub(crate) fn query(&self, db: &str, sql: &str) -> String {
        let o = self.run("postgres", db, sql);
        assert!(o.status.success(), "{sql}:\n{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim_end().to_string()
    }

    /// psql as `user` over TCP with a password (SCRAM), as an app or Vault
    /// would log in, into `db`.
    pub(crate) fn psql_tcp(&self, user: &str, password: &str, db: &str) -> Command {
        let mut c = Command::new(pg_bin("psql"));
        c.args(["-X", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", user, "-d", db])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        c
    }

    /// Runs `sql` as `user` over TCP with a password (SCRAM), as an app would.
    pub(crate) fn run_tcp(&self, user: &str, password: &str, db: &str, sql: &str) -> Output {
        self.psql_tcp(user, password, db)
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .expect("psql runs")
    }

    /// Runs `statements` as `user` over TCP in one transaction, as Vault runs
    /// creation and revocation statements.
    pub(crate) fn run_tcp_tx(
        &self,
        user: &str,
        password: &str,
        db: &str,
        statements: &[String],
    ) -> Output {
        self.psql_tcp(user, password, db)
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-1", "-c"])
            .arg(statements.join("\n"))
            .output()
            .expect("psql runs")
    }
}

impl Server {
    /// Sets `role`'s password, as the operator does out of band (the
    /// scripts set none).
    pub(crate) fn set_password(&self, role: &str, password: &str) {
        self.query(
            "postgres",
            &format!("ALTER ROLE {} PASSWORD {}", ident(role), literal(password)),
        );
    }

    /// Whether a role named `name` exists.
    pub(crate) fn role_exists(&self, name: &str) -> bool {
        let count = self.query(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_roles WHERE rolname = {}",
                literal(name)
            ),
        );
        count != "0"
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Immediate: nothing here is worth a checkpoint. The temp dir goes
        // with `self.dir` right after.
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Quotes an identifier for the ad-hoc SQL of these tests.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for the ad-hoc SQL of these tests.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The rows of a [`Server::query`] answer, each split at `|`.
pub(crate) fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

/// A boolean as psql prints it.
pub(crate) fn pg_bool(s: &str) -> bool {
    match s {
        "t" => true,
        "f" => false,
        other => panic!("not a boolean: {other}"),
    }
}

/// Vault's creation or revocation `statements` with its templates filled
/// as Vault fills them for a dynamic user `name` with `password`.
pub(crate) fn vault_fill(statements: &[String], name: &str, password: &str) -> Vec<String> {
    statements
        .iter()
        .map(|s| {
            s.replace("{{name}}", name)
                .replace("{{password}}", password)
                .replace("{{expiration}}", "2099-01-01 00:00:00+00")
        })
        .collect()
}
