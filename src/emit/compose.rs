//! Compose stacks for the services that run outside k3s:
//! `compose/<host>/<stack>/compose.yaml`.
//!
//! - PostgreSQL (pinned image, named data volume laid out for its major
//!   version, `pg_isready` health check, published port) and Gitea
//!   (configured through `GITEA__<section>__<KEY>` variables). On one host
//!   they form one project, `postgres-gitea`, so Gitea waits on the
//!   database's health; on two hosts each gets its own project and Gitea
//!   reaches PostgreSQL at its host's address and published port.
//! - Beside PostgreSQL's `compose.yaml`, `initdb/10-gitea.sh`, which the
//!   postgres service mounts read-only at `/docker-entrypoint-initdb.d/`:
//!   the image runs it once, on an empty data directory, and it creates
//!   Gitea's login role and database with the password `GITEA_DB_PASSWORD`
//!   from PostgreSQL's env file (Gitea's holds the same value as
//!   `GITEA__database__PASSWD`). It stays with the postgres stack when
//!   Gitea runs on another host, and the mount is relative so the stack
//!   folder is self-contained.
//! - A `runner` stack on every host carrying `'ci_runner`: the `gitea/runner`
//!   image registered to the lab's Gitea URL with the lab's labels; with
//!   `pki`, it trusts step-ca's root beside the public ones.
//!
//! Invariants: no secret value is written, only the env files that hold
//! them (`env_file:`); the init script reads its password from the
//! environment and hands it to psql only as a psql variable, and every lab
//! value it holds is single-quoted for the shell (comments get control
//! characters escaped); every YAML string goes through [`escape_interpolation`],
//! so a `$` from the lab reaches the container literally; every string is
//! double-quoted by the YAML writer; no obsolete top-level `version:`; the
//! project `name:` is `<lab>-<stack>` (checked valid in validation).

use super::yaml::{self, Yaml};
use super::{File, header};
use crate::model::{Gitea, Lab, Postgres, Runner};
use crate::names;

/// Port PostgreSQL listens on inside its container (the image's default);
/// the lab's port is where the host publishes it.
const POSTGRES_CONTAINER_PORT: u16 = 5432;
/// Port Gitea's web server listens on inside its container.
const GITEA_CONTAINER_HTTP_PORT: u16 = 3000;
/// Port of the OpenSSH server inside the (rootful) Gitea image.
const GITEA_CONTAINER_SSH_PORT: u16 = 22;
/// Compose service names, which are also host names inside a project.
const POSTGRES_SERVICE: &str = "postgres";
const GITEA_SERVICE: &str = "gitea";
const RUNNER_SERVICE: &str = "runner";
const RESTART: &str = "unless-stopped";
/// Folder beside the postgres stack's `compose.yaml` holding its init
/// scripts, and where the image looks for them.
const INITDB_DIR: &str = "initdb";
const INITDB_TARGET: &str = "/docker-entrypoint-initdb.d";
/// The init script creating Gitea's role and database; the image runs init
/// scripts in name order, so the number leaves room around it.
const INITDB_GITEA_SCRIPT: &str = "10-gitea.sh";
/// Variable of PostgreSQL's env file holding Gitea's database password.
const GITEA_DB_PASSWORD: &str = "GITEA_DB_PASSWORD";
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

pub fn emit(lab: &Lab) -> Vec<File> {
    let mut files = Vec::new();
    // Gitea needs PostgreSQL (validation): without it there is no stack.
    let Some(pg) = &lab.postgres else {
        return files;
    };
    let Some(gitea) = &lab.gitea else {
        let notes = [
            "Secrets (POSTGRES_PASSWORD) come from the env_file, never from this file.".to_string(),
        ];
        files.push(stack(
            lab,
            &pg.host,
            names::COMPOSE_STACK_POSTGRES,
            &notes,
            Yaml::map().with(POSTGRES_SERVICE, postgres_service(pg, false)),
            &["postgres-data"],
        ));
        files.extend(runners(lab));
        return files;
    };
    if pg.host == gitea.host {
        let services = Yaml::map()
            .with(POSTGRES_SERVICE, postgres_service(pg, true))
            .with(
                GITEA_SERVICE,
                gitea_service(gitea, pg, true).with(
                    "depends_on",
                    Yaml::map().with(
                        POSTGRES_SERVICE,
                        Yaml::map().with("condition", "service_healthy"),
                    ),
                ),
            );
        let mut notes = vec![
            "Secrets (POSTGRES_PASSWORD, GITEA_DB_PASSWORD, GITEA__database__PASSWD) come"
                .to_string(),
            "from each service's env_file, never from this file.".to_string(),
        ];
        notes.extend(initdb_notes());
        notes.push("Gitea starts once PostgreSQL's health check passes.".to_string());
        files.push(initdb_gitea(
            lab,
            gitea,
            pg,
            names::COMPOSE_STACK_POSTGRES_GITEA,
        ));
        files.push(stack(
            lab,
            &pg.host,
            names::COMPOSE_STACK_POSTGRES_GITEA,
            &notes,
            services,
            &["gitea-data", "postgres-data"],
        ));
    } else {
        let mut notes = vec![
            "Secrets (POSTGRES_PASSWORD, GITEA_DB_PASSWORD) come from the env_file, never"
                .to_string(),
            "from this file.".to_string(),
        ];
        notes.extend(initdb_notes());
        notes.push(format!(
            "Gitea, on {}, connects to port {}.",
            gitea.host, pg.port
        ));
        files.push(initdb_gitea(lab, gitea, pg, names::COMPOSE_STACK_POSTGRES));
        files.push(stack(
            lab,
            &pg.host,
            names::COMPOSE_STACK_POSTGRES,
            &notes,
            Yaml::map().with(POSTGRES_SERVICE, postgres_service(pg, true)),
            &["postgres-data"],
        ));
        let notes = [
            "GITEA__database__PASSWD comes from the env_file, never from this file; it".to_string(),
            format!(
                "must equal GITEA_DB_PASSWORD in PostgreSQL's env file on {}, from which",
                pg.host
            ),
            "PostgreSQL's first start sets the password of Gitea's role.".to_string(),
            format!(
                "PostgreSQL runs on {} ({}:{}), in another Compose project: depends_on",
                pg.host, pg.address, pg.port
            ),
            "can't reach across hosts, so Gitea retries its database connection at start."
                .to_string(),
        ];
        files.push(stack(
            lab,
            &gitea.host,
            names::COMPOSE_STACK_GITEA,
            &notes,
            Yaml::map().with(GITEA_SERVICE, gitea_service(gitea, pg, false)),
            &["gitea-data"],
        ));
    }
    files.extend(runners(lab));
    files
}

/// One runner stack per runner host (a lab with runners has Gitea).
fn runners(lab: &Lab) -> Vec<File> {
    let (Some(runner), Some(gitea)) = (&lab.runner, &lab.gitea) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for host in &runner.hosts {
        let notes = [
            "GITEA_RUNNER_REGISTRATION_TOKEN comes from the env_file, never from this file."
                .to_string(),
        ];
        files.push(stack(
            lab,
            host,
            names::COMPOSE_STACK_RUNNER,
            &notes,
            Yaml::map().with(RUNNER_SERVICE, runner_service(lab, runner, gitea, host)),
            &["runner-data"],
        ));
    }
    files
}

/// One `compose.yaml`: header, notes, project name, services, named volumes.
/// Notes hold only labc's text, host names and addresses (validated), never
/// a free-form lab string that could break out of the comment.
fn stack(
    lab: &Lab,
    host: &str,
    stack: &str,
    notes: &[String],
    services: Yaml,
    volumes: &[&str],
) -> File {
    let mut head = header("#", lab);
    for note in notes {
        head.push_str("# ");
        head.push_str(note);
        head.push('\n');
    }
    let mut named = Yaml::map();
    for v in volumes {
        named.insert(*v, Yaml::map());
    }
    let doc = Yaml::map()
        .with("name", names::compose_project(&lab.name, stack))
        .with("services", services)
        .with("volumes", named);
    File {
        path: format!("compose/{host}/{stack}/compose.yaml"),
        contents: yaml::document(&head, &escape_interpolation(doc)),
    }
}

/// PostgreSQL's service; `initdb`: mount the stack's init scripts (Gitea's).
fn postgres_service(pg: &Postgres, initdb: bool) -> Yaml<'_> {
    let mut environment = Yaml::map();
    // postgres:18 moved the data directory under a versioned path and wants
    // its parent mounted, so a major upgrade (pg_upgrade --link) can keep
    // both clusters on one volume; older images use .../data.
    let mount = if pg.major_version >= 18 {
        environment.insert(
            "PGDATA",
            format!("/var/lib/postgresql/{}/docker", pg.major_version),
        );
        "/var/lib/postgresql"
    } else {
        "/var/lib/postgresql/data"
    };
    // Over TCP, so the server the image runs alone on its socket during
    // initialisation doesn't count as ready; as the image's superuser (read
    // in the container, from the env file when it sets one) so the server
    // logs no unknown role every ten seconds.
    let probe = format!(
        "pg_isready -h 127.0.0.1 -p {POSTGRES_CONTAINER_PORT} -U \"${{POSTGRES_USER:-postgres}}\" -d postgres"
    );
    let mut volumes = vec![format!("postgres-data:{mount}")];
    if initdb {
        // Relative to compose.yaml, so the stack folder is self-contained;
        // read-only, the image only reads it.
        volumes.push(format!("./{INITDB_DIR}:{INITDB_TARGET}:ro"));
    }
    let mut service = Yaml::map()
        .with("image", pg.image.reference())
        .with("restart", RESTART)
        .with("env_file", Yaml::strs([&pg.env_file]))
        .with("volumes", Yaml::strs(volumes))
        .with(
            "ports",
            Yaml::strs([format!("{}:{POSTGRES_CONTAINER_PORT}", pg.port)]),
        )
        .with(
            "healthcheck",
            Yaml::map()
                .with("test", Yaml::Seq(vec!["CMD-SHELL".into(), probe.into()]))
                .with("interval", "10s")
                .with("timeout", "5s")
                .with("retries", 5u32)
                .with("start_period", "30s"),
        );
    if environment != Yaml::map() {
        service.insert("environment", environment);
    }
    service
}

/// Gitea's service. `with_postgres`: PostgreSQL is a service of the same
/// project, reached by its service name on the container port.
fn gitea_service<'a>(g: &'a Gitea, pg: &'a Postgres, with_postgres: bool) -> Yaml<'a> {
    let db_host = if with_postgres {
        format!("{POSTGRES_SERVICE}:{POSTGRES_CONTAINER_PORT}")
    } else {
        format!("{}:{}", pg.address, pg.port)
    };
    let environment = Yaml::map()
        .with("GITEA__database__DB_TYPE", "postgres")
        .with("GITEA__database__HOST", db_host)
        .with("GITEA__database__NAME", &g.database)
        .with("GITEA__database__USER", &g.database_user)
        .with("GITEA__server__DOMAIN", &g.domain)
        .with("GITEA__server__SSH_DOMAIN", &g.domain)
        .with("GITEA__server__ROOT_URL", &g.url)
        .with(
            "GITEA__server__HTTP_PORT",
            GITEA_CONTAINER_HTTP_PORT.to_string(),
        )
        // The port clone URLs show: the one the host publishes.
        .with("GITEA__server__SSH_PORT", g.ssh_port.to_string());
    Yaml::map()
        .with("image", g.image.reference())
        .with("restart", RESTART)
        .with("env_file", Yaml::strs([&g.env_file]))
        .with("environment", environment)
        .with("volumes", Yaml::strs(["gitea-data:/data"]))
        .with(
            "ports",
            Yaml::strs([
                format!("{}:{GITEA_CONTAINER_HTTP_PORT}", g.http_port),
                format!("{}:{GITEA_CONTAINER_SSH_PORT}", g.ssh_port),
            ]),
        )
}

fn runner_service<'a>(lab: &'a Lab, r: &'a Runner, gitea: &'a Gitea, host: &'a str) -> Yaml<'a> {
    let mut environment = Yaml::map()
        .with("GITEA_INSTANCE_URL", &gitea.url)
        .with("GITEA_RUNNER_NAME", host)
        .with("GITEA_RUNNER_LABELS", r.labels.join(","));
    let Yaml::Seq(mut volumes) = Yaml::strs([
        "runner-data:/data".to_string(),
        // Jobs run as sibling containers on the host's Docker.
        format!("{DOCKER_SOCKET}:{DOCKER_SOCKET}"),
    ]) else {
        unreachable!("strs makes a sequence")
    };
    if let Some(pki) = &lab.pki {
        // Gitea is served with a step-ca certificate: the runner (Go) trusts
        // the lab's root beside the image's public roots. SSL_CERT_DIR lists
        // both directories; the long syntax keeps a `:` in the host path
        // from splitting the mount.
        environment = environment.with("SSL_CERT_DIR", format!("{SYSTEM_CA_DIR}:{LAB_CA_DIR}"));
        volumes.push(
            Yaml::map()
                .with("type", "bind")
                .with("source", &pki.root_ca_file)
                .with("target", format!("{LAB_CA_DIR}/{LAB_CA_FILE}"))
                .with("read_only", true),
        );
    }
    Yaml::map()
        .with("image", r.image.reference())
        .with("restart", RESTART)
        .with("env_file", Yaml::strs([&r.env_file]))
        .with("environment", environment)
        .with("volumes", Yaml::Seq(volumes))
}

/// Where the runner image keeps the public roots, and where the lab's root
/// is mounted beside them.
const SYSTEM_CA_DIR: &str = "/etc/ssl/certs";
const LAB_CA_DIR: &str = "/usr/local/share/labc-ca";
const LAB_CA_FILE: &str = "root_ca.crt";

/// What the stack's header says about the init script (labc's text only).
fn initdb_notes() -> [String; 3] {
    [
        format!(
            "On its first start (empty data volume) PostgreSQL runs ./{INITDB_DIR}/{INITDB_GITEA_SCRIPT},"
        ),
        format!("which creates Gitea's role and database with {GITEA_DB_PASSWORD} from its"),
        "env_file: set it there to Gitea's GITEA__database__PASSWD.".to_string(),
    ]
}

/// `initdb/10-gitea.sh` of the postgres stack `stack`: creates Gitea's login
/// role and its database (owned by the role, UTF8 from template0), setting
/// the role's password from `GITEA_DB_PASSWORD`. Idempotent, so it can be
/// run again by hand (also to change the password).
///
/// The image sources a script that isn't executable (labc writes 0644)
/// within its entrypoint, so the body runs in a subshell: its `set -u` and
/// variables must not leak, and its `exit 1` must fail only the script
/// (which fails the entrypoint, whose `set -e` stops the init).
///
/// The SQL is labc's fixed text in a quoted here-document; the role,
/// database and password reach it only as psql variables, which psql
/// quotes (`:"role"`, `:'password'`) or `format('%I')` quotes.
fn initdb_gitea(lab: &Lab, g: &Gitea, pg: &Postgres, stack: &str) -> File {
    let script = INITDB_GITEA_SCRIPT;
    let mut text = String::from("#!/usr/bin/env bash\n");
    text.push_str(&header("#", lab));
    let comment = [
        String::new(),
        format!(
            "Creates Gitea's PostgreSQL login role `{}` and its database `{}`",
            comment_text(&g.database_user),
            comment_text(&g.database)
        ),
        "(owned by the role, UTF8, from template0).".to_string(),
        String::new(),
        format!("The postgres image runs this from {INITDB_TARGET}/ once, when it"),
        "initialises an empty data directory, with psql reaching its local server".to_string(),
        "as POSTGRES_USER. Running it again is harmless: it creates only what is".to_string(),
        "missing and sets the role's password again (so it also changes it):".to_string(),
        format!("  docker compose exec postgres bash {INITDB_TARGET}/{script}"),
        String::new(),
        format!("{GITEA_DB_PASSWORD} must be set in PostgreSQL's env file,"),
        format!("  {},", comment_text(&pg.env_file)),
        "and Gitea's env file,".to_string(),
        format!("  {},", comment_text(&g.env_file)),
        "must hold the same value as GITEA__database__PASSWD.".to_string(),
    ];
    for line in comment {
        text.push('#');
        if !line.is_empty() {
            text.push(' ');
            text.push_str(&line);
        }
        text.push('\n');
    }
    text.push_str(&format!(
        r#"
# In a subshell: the image sources a script that isn't executable, and these
# options and variables must not leak into its entrypoint.
(
  set -euo pipefail

  role={role}
  database={database}
  env_file={env_file}

  if [[ -z "${{{GITEA_DB_PASSWORD}:-}}" ]]; then
    printf '%s\n' "{script}: {GITEA_DB_PASSWORD} is unset or empty: set it in $env_file to Gitea's GITEA__database__PASSWD" >&2
    exit 1
  fi
  if [[ "${{POSTGRES_USER:-postgres}}" == "$role" ]]; then
    printf '%s\n' "{script}: POSTGRES_USER is \`$role\`, Gitea's role, which must not be a superuser: choose another POSTGRES_USER in $env_file" >&2
    exit 1
  fi

  # The password reaches SQL only as a psql variable, which psql quotes.
  psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${{POSTGRES_USER:-postgres}}" --dbname "${{POSTGRES_DB:-postgres}}" \
    --set=role="$role" --set=database="$database" --set=password="${GITEA_DB_PASSWORD}" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L', :'database', :'role', 'UTF8')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"role";
SQL
)
"#,
        role = sh_quote(&g.database_user),
        database = sh_quote(&g.database),
        env_file = sh_quote(&pg.env_file),
    ));
    File {
        path: format!("compose/{}/{stack}/{INITDB_DIR}/{script}", pg.host),
        contents: text,
    }
}

/// `s` as one shell word: single-quoted, so nothing in it is expanded.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `s` safe inside a `#` comment: control characters (a line break would
/// end the comment) escaped.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Compose interpolates `$` in every string value: `$$` is a literal `$`.
/// Applied to the whole document, so no value from the lab can reach
/// interpolation (keys are labc's own and never hold a `$`).
fn escape_interpolation(value: Yaml<'_>) -> Yaml<'_> {
    match value {
        Yaml::Str(s) if s.contains('$') => Yaml::Str(s.replace('$', "$$").into()),
        Yaml::Seq(items) => Yaml::Seq(items.into_iter().map(escape_interpolation).collect()),
        Yaml::Map(m) => Yaml::Map(
            m.into_iter()
                .map(|(k, v)| (k, escape_interpolation(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_doubled_everywhere() {
        let doc = Yaml::map()
            .with("a", "x$y")
            .with("b", Yaml::strs(["$$", "${V}"]))
            .with("c", Yaml::map().with("d", "$"))
            .with("n", 5u32);
        let want = Yaml::map()
            .with("a", "x$$y")
            .with("b", Yaml::strs(["$$$$", "$${V}"]))
            .with("c", Yaml::map().with("d", "$$"))
            .with("n", 5u32);
        assert_eq!(escape_interpolation(doc), want);
    }

    #[test]
    fn shell_words_and_comments_stay_closed() {
        assert_eq!(sh_quote("gitea"), "'gitea'");
        assert_eq!(sh_quote("it's $x"), r"'it'\''s $x'");
        assert_eq!(comment_text("/a b/c.env"), "/a b/c.env");
        assert_eq!(comment_text("x\ny\r\tz"), r"x\ny\r\tz");
    }
}
