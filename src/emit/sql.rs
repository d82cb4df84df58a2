//! SQL: `sql/_roles.sql` (the shared login roles), `sql/<db>.sql` per
//! database (its owner role, the database, pgbouncer's `user_lookup()`), and
//! `sql/_apply.sql` (every script, in order): the objects the OpenTofu
//! postgres module would declare, as plain psql scripts, for a lab whose
//! `postgres.manager` is `'sql` (only then are they emitted: one manager
//! per object).
//!
//! Invariants:
//! - every script runs with `psql -v ON_ERROR_STOP=1 -f`, autocommit (never
//!   `-1`: `CREATE DATABASE` can't run in a transaction), as a superuser
//!   (checked first: `user_lookup()` must belong to one);
//! - idempotent and quiet: each change is a `SELECT format(..) WHERE <object
//!   missing or different> \gexec`, so a second run executes nothing but
//!   `CREATE OR REPLACE FUNCTION` and the function's `REVOKE`/`GRANT`, which
//!   leave the catalogs as they were;
//! - every identifier is quoted: by [`postgres::sql_ident`], or by the server
//!   with `format('%I')`; every string by [`postgres::sql_literal`]. Names were
//!   checked by validation (no control characters, at most 63 bytes, no
//!   reserved role or database), and database names are file names, so they
//!   are safe unquoted in `\ir` and double-quoted in `\connect`;
//! - no password: the shared login roles' are set out of band (they live in
//!   Vault), dynamic users get theirs from Vault.

use super::postgres::{self, sql_ident, sql_literal};
use super::{File, header};
use crate::model::{Database, Lab, Postgres, PostgresManager};
use crate::names;
use std::fmt::Write as _;

pub fn emit(lab: &Lab) -> Vec<File> {
    // One manager per object: with OpenTofu in charge (its 'postgres
    // module), scripts creating the same objects would be a second one.
    let Some(pg) = lab
        .postgres
        .as_ref()
        .filter(|p| p.manager == PostgresManager::Sql)
    else {
        return Vec::new();
    };
    let mut files = vec![
        File {
            path: script_path(ROLES),
            contents: roles(lab, pg),
        },
        File {
            path: script_path(APPLY),
            contents: apply(lab),
        },
    ];
    files.extend(lab.databases.values().map(|db| File {
        path: script_path(&db.name),
        contents: database(lab, pg, db),
    }));
    files
}

const ROLES: &str = names::SQL_SHARED_SCRIPTS[0];
const APPLY: &str = names::SQL_SHARED_SCRIPTS[1];

fn script_path(stem: &str) -> String {
    format!("sql/{stem}.sql")
}

/// The SQL signature of `user_lookup()`, as `GRANT`, `ALTER` and
/// `to_regprocedure` name it.
fn user_lookup_signature() -> String {
    format!(
        "{}.{}(text)",
        sql_ident(postgres::USER_LOOKUP_SCHEMA),
        sql_ident(postgres::USER_LOOKUP_FUNCTION)
    )
}

/// The start of every script: header, how to run it, and the guards.
fn preamble(lab: &Lab, about: &str) -> String {
    let mut s = header("--", lab);
    s.push_str("--\n");
    for line in about.lines() {
        if line.is_empty() {
            s.push_str("--\n");
        } else {
            let _ = writeln!(s, "-- {line}");
        }
    }
    s.push_str(
        "--\n\
         -- Run it as a PostgreSQL superuser, in autocommit mode (never with -1 or\n\
         -- --single-transaction: CREATE DATABASE can't run inside a transaction):\n\
         --   psql -v ON_ERROR_STOP=1 -f <this file>\n\
         -- It is idempotent: each statement runs only when its object is missing\n\
         -- or differs, so running it again changes nothing.\n\
         \n\
         \\set ON_ERROR_STOP on\n\
         \n\
         -- user_lookup() must belong to a superuser (it reads pg_authid), and only\n\
         -- one may create databases for other roles: refuse anyone else.\n\
         DO $$\n\
         BEGIN\n\
         \x20 IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN\n\
         \x20   RAISE EXCEPTION 'labc: run this script as a PostgreSQL superuser, not as %', current_user;\n\
         \x20 END IF;\n\
         END\n\
         $$;\n",
    );
    s
}

/// Creates `role` if missing, then sets its LOGIN and CREATEROLE flags to
/// `login` and `createrole` if either differs (a role may only create roles
/// when the lab says so: the OpenTofu module reverts that drift too).
fn ensure_role(s: &mut String, role: &str, login: bool, createrole: bool) {
    let lit = sql_literal(role);
    let flags = format!(
        "{} {}",
        if login { "LOGIN" } else { "NOLOGIN" },
        if createrole {
            "CREATEROLE"
        } else {
            "NOCREATEROLE"
        }
    );
    let _ = write!(
        s,
        "SELECT format('CREATE ROLE %I {flags}', {lit})\n\
         WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {lit}) \\gexec\n\
         SELECT format('ALTER ROLE %I {flags}', {lit})\n\
         WHERE EXISTS (\n\
         \x20 SELECT FROM pg_roles WHERE rolname = {lit}\n\
         \x20 AND (rolcanlogin <> {login} OR rolcreaterole <> {createrole})\n\
         ) \\gexec\n"
    );
}

fn roles(lab: &Lab, pg: &Postgres) -> String {
    let mut s = preamble(
        lab,
        &format!(
            "The shared roles every database script relies on; apply it first (or run\n\
             {APPLY}.sql, which runs every script in order)."
        ),
    );
    let _ = write!(
        s,
        "\n-- {editor}: Vault logs in as it to create and drop the users it issues:\n\
         -- CREATEROLE, plus every owner role with admin option (granted by each\n\
         -- database script) to put them in it. Its password is not set here: it\n\
         -- is set out of band, from where it lives in Vault.\n",
        editor = pg.credentials_editor
    );
    ensure_role(&mut s, &pg.credentials_editor, true, true);
    let _ = write!(
        s,
        "\n-- {auth}: pgbouncer logs in as it to call each database's user_lookup().\n\
         -- Its password is set out of band too.\n",
        auth = pg.pgbouncer_auth
    );
    ensure_role(&mut s, &pg.pgbouncer_auth, true, false);
    s
}

fn database(lab: &Lab, pg: &Postgres, db: &Database) -> String {
    let mut s = preamble(
        lab,
        &format!(
            "Database {name}, owned by role {owner}.\n\
             The role has no login: {editor} administers it, and Vault\n\
             grants it to the users it creates. In the database: pgbouncer's\n\
             user_lookup(). Needs {ROLES}.sql first.",
            name = db.name,
            owner = db.owner_role,
            editor = pg.credentials_editor,
        ),
    );
    let name = sql_literal(&db.name);
    let owner = sql_literal(&db.owner_role);
    let editor = sql_literal(&pg.credentials_editor);

    s.push_str("\n-- The owner role.\n");
    ensure_role(&mut s, &db.owner_role, false, false);
    let _ = write!(
        s,
        "SELECT format('GRANT %I TO %I WITH ADMIN OPTION', {owner}, {editor})\n\
         WHERE NOT EXISTS (\n\
         \x20 SELECT FROM pg_auth_members m\n\
         \x20 JOIN pg_roles r ON r.oid = m.roleid\n\
         \x20 JOIN pg_roles u ON u.oid = m.member\n\
         \x20 WHERE r.rolname = {owner} AND u.rolname = {editor} AND m.admin_option\n\
         ) \\gexec\n"
    );

    // \gexec runs the generated CREATE DATABASE outside any transaction,
    // which a DO block could not.
    let _ = write!(
        s,
        "\n-- The database, owned by the role, from template0.\n\
         SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0', {name}, {owner})\n\
         WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {name}) \\gexec\n\
         SELECT format('ALTER DATABASE %I OWNER TO %I', {name}, {owner})\n\
         FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba\n\
         WHERE d.datname = {name} AND r.rolname <> {owner} \\gexec\n"
    );

    let signature = user_lookup_signature();
    let sig_lit = sql_literal(&signature);
    let _ = write!(
        s,
        "\n\\connect \"{connect}\"\n\
         \n\
         -- pgbouncer's auth_query function (pgbouncer's doc/config.md): it runs as\n\
         -- its owner, a superuser, to read pg_authid, with a search_path no caller\n\
         -- can hijack. A copy owned by anyone else is handed to the superuser\n\
         -- running this script first.\n\
         SELECT format('ALTER FUNCTION %s OWNER TO CURRENT_USER', {sig_lit})\n\
         FROM pg_proc p JOIN pg_roles o ON o.oid = p.proowner\n\
         WHERE p.oid = to_regprocedure({sig_lit}) AND NOT o.rolsuper \\gexec\n\
         CREATE OR REPLACE FUNCTION {schema}.{function}(\n\
         \x20 IN i_username text, OUT uname text, OUT phash text\n\
         ) RETURNS record\n\
         LANGUAGE plpgsql\n\
         SECURITY DEFINER\n\
         SET search_path = pg_catalog, pg_temp\n\
         AS $function$\n\
         BEGIN\n\
         \x20 SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END\n\
         \x20 FROM pg_authid\n\
         \x20 WHERE rolname = i_username AND rolcanlogin\n\
         \x20 INTO uname, phash;\n\
         \x20 RETURN;\n\
         END;\n\
         $function$;\n\
         REVOKE ALL ON FUNCTION {signature} FROM PUBLIC;\n\
         GRANT EXECUTE ON FUNCTION {signature} TO {auth};\n",
        connect = db.name.replace('"', "\"\""),
        schema = sql_ident(postgres::USER_LOOKUP_SCHEMA),
        function = sql_ident(postgres::USER_LOOKUP_FUNCTION),
        auth = sql_ident(&pg.pgbouncer_auth),
    );
    s
}

fn apply(lab: &Lab) -> String {
    let mut s = preamble(
        lab,
        &format!(
            "Every script of this folder, in order: {ROLES}.sql, then each database's.\n\
             Paths are relative to this file."
        ),
    );
    s.push('\n');
    for stem in std::iter::once(ROLES).chain(lab.databases.keys().map(String::as_str)) {
        let _ = writeln!(s, "\\ir {stem}.sql");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::compile::repo_lab;

    /// The reference lab with the SQL scripts as the PostgreSQL manager.
    fn compile(file: &str) -> Lab {
        let mut lab = repo_lab(file);
        lab.postgres.as_mut().expect("postgres").manager = PostgresManager::Sql;
        lab
    }

    #[test]
    fn nothing_with_opentofu_as_the_manager() {
        let lab = repo_lab("lab.ncl");
        assert_eq!(
            lab.postgres.as_ref().map(|p| p.manager),
            Some(PostgresManager::Opentofu)
        );
        assert!(emit(&lab).is_empty());
    }

    #[test]
    fn one_script_per_database_plus_the_shared_ones() {
        let files = emit(&compile("lab.ncl"));
        let mut got: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        got.sort();
        assert_eq!(
            got,
            [
                "sql/_apply.sql",
                "sql/_roles.sql",
                "sql/crowdsec.sql",
                "sql/dance-lessons-coach.sql",
                "sql/erp.sql",
                "sql/plausible.sql",
                "sql/webapp.sql",
            ]
        );
    }

    #[test]
    fn scripts_stop_on_the_first_error() {
        // Headers, LF and newlines: tests/it/layout.rs, over every file.
        let lab = compile("lab.ncl");
        for f in emit(&lab) {
            assert!(
                f.contents.contains("\n\\set ON_ERROR_STOP on\n"),
                "{}",
                f.path
            );
        }
    }

    /// Outside comments, a name with `-` only ever appears quoted.
    #[test]
    fn names_are_always_quoted() {
        let lab = compile("lab.ncl");
        let files = emit(&lab);
        let script = &files
            .iter()
            .find(|f| f.path == "sql/dance-lessons-coach.sql")
            .expect("script")
            .contents;
        let mut seen = 0;
        for line in script.lines().filter(|l| !l.starts_with("--")) {
            for (i, _) in line.match_indices("dance-lessons-coach") {
                seen += 1;
                assert!(
                    matches!(line.as_bytes()[i - 1], b'\'' | b'"'),
                    "unquoted name in: {line}"
                );
            }
        }
        assert!(seen >= 8, "{script}");
    }
}
