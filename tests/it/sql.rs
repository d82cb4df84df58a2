//! SQL scripts, proven on a real PostgreSQL 15: each test starts a throwaway
//! server (stopped and removed by a guard, also when the test fails),
//! applies every generated script three times, and asserts through the
//! catalogs what exists: roles and their LOGIN flags, database owners,
//! `credentials_editor`'s CREATEROLE and admin option, `user_lookup()` and
//! who may call it, and that a user the Vault creation statements make,
//! logged in as `credentials_editor` like Vault, lands in its owner role
//! (and that `credentials_editor` can drop it again). Also: the names
//! validation rejects, with their position.

use crate::common::{self, Lab, stderr};
use crate::pg::{Server, ident, literal, vault_fill};
use std::path::{Path, PathBuf};
use std::process::Output;

/// What a lab must produce in PostgreSQL, written out here rather than read
/// from the model, so the test checks the names too.
struct Expect {
    editor: &'static str,
    auth: &'static str,
    /// (database, owner role, Vault issues its users)
    databases: &'static [(&'static str, &'static str, bool)],
}

const REFERENCE: Expect = Expect {
    editor: "credentials_editor",
    auth: "pgbouncer_auth",
    databases: &[
        ("crowdsec", "crowdsec_role", true),
        ("dance-lessons-coach", "dance-lessons-coach_role", true),
        ("erp", "erp_role", true),
        ("plausible", "plausible_role", true),
        ("webapp", "webapp_role", true),
    ],
};

const BIG_CLUSTER: Expect = Expect {
    editor: "grant_admin",
    auth: "pooler_lookup",
    databases: &[
        ("ledger", "ledger_owner", true),
        ("metrics", "metrics_role", false),
    ],
};

/// Everything the scripts create, with the row versions (`xmin`) of roles,
/// memberships and databases: equal dumps mean nothing was even rewritten.
fn catalog_dump(server: &Server, expect: &Expect) -> String {
    let mut dump = server.query(
        "postgres",
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolinherit, xmin \
         FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 1",
    );
    dump.push('\n');
    dump.push_str(&server.query(
        "postgres",
        "SELECT r.rolname, u.rolname, m.admin_option, g.rolname, m.xmin \
         FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
         JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.grantor \
         WHERE r.rolname !~ '^pg_' ORDER BY 1, 2",
    ));
    dump.push('\n');
    dump.push_str(&server.query(
        "postgres",
        "SELECT datname, pg_get_userbyid(datdba), datacl, xmin FROM pg_database ORDER BY 1",
    ));
    for (db, _, _) in expect.databases {
        dump.push('\n');
        dump.push_str(&server.query(
            db,
            "SELECT p.oid, n.nspname, p.proname, pg_get_userbyid(p.proowner), p.prosecdef, \
             p.proconfig, p.proacl, md5(p.prosrc) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.proname = 'user_lookup'",
        ));
    }
    dump
}

/// The scripts to apply one by one, in order: shared roles, then databases.
fn scripts(dir: &Path, expect: &Expect) -> Vec<PathBuf> {
    std::iter::once("_roles".to_string())
        .chain(expect.databases.iter().map(|(db, _, _)| db.to_string()))
        .map(|s| dir.join(format!("{s}.sql")))
        .collect()
}

fn assert_applies_quietly(server: &Server, script: &Path, round: usize) {
    let o = server.apply(script);
    assert_eq!(
        o.status.code(),
        Some(0),
        "round {round}: {} failed:\n{}",
        script.display(),
        stderr(&o)
    );
    // No NOTICE, WARNING or ERROR: every change is conditional, so a rerun
    // has nothing to say.
    assert_eq!(stderr(&o), "", "round {round}: {}", script.display());
}

/// Applies a lab's scripts three times one by one and `_apply.sql` three
/// times, then checks the catalogs against `expect`.
fn prove(lab: &Lab, expect: &Expect) -> Server {
    let dir = lab.generated().join("sql");
    let mut generated: Vec<String> = lab
        .files()
        .keys()
        .filter_map(|p| p.strip_prefix("sql/").map(str::to_string))
        .collect();
    generated.sort();
    let mut wanted: Vec<String> = ["_apply.sql", "_roles.sql"]
        .into_iter()
        .map(String::from)
        .chain(
            expect
                .databases
                .iter()
                .map(|(db, _, _)| format!("{db}.sql")),
        )
        .collect();
    wanted.sort();
    assert_eq!(generated, wanted);

    let server = Server::start();
    for script in scripts(&dir, expect) {
        assert_applies_quietly(&server, &script, 1);
    }
    let after_first = catalog_dump(&server, expect);
    for round in 2..=3 {
        for script in scripts(&dir, expect) {
            assert_applies_quietly(&server, &script, round);
        }
    }
    for round in 4..=6 {
        assert_applies_quietly(&server, &dir.join("_apply.sql"), round);
    }
    assert_eq!(
        after_first,
        catalog_dump(&server, expect),
        "a rerun changed the catalogs"
    );

    check_catalogs(&server, expect);
    check_user_lookup(&server, expect);
    for (db, owner, vault) in expect.databases {
        if *vault {
            check_vault_user(&server, expect, db, owner);
        }
    }
    server
}

fn check_catalogs(server: &Server, expect: &Expect) {
    // Roles and LOGIN flags; none is a superuser, only credentials_editor
    // may create roles (Vault creates its users as it).
    let mut roles = vec![
        format!("{}|t|f|t|f", expect.editor),
        format!("{}|t|f|f|f", expect.auth),
    ];
    roles.extend(
        expect
            .databases
            .iter()
            .map(|(_, owner, _)| format!("{owner}|f|f|f|f")),
    );
    roles.sort();
    let got = server.query(
        "postgres",
        "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles \
         WHERE rolname !~ '^pg_' AND rolname <> 'postgres' ORDER BY 1",
    );
    assert_eq!(got, roles.join("\n"));

    // Each database, owned by its role, UTF8 like template0.
    for (db, owner, _) in expect.databases {
        assert_eq!(
            server.query(
                "postgres",
                &format!(
                    "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) \
                     FROM pg_database WHERE datname = {}",
                    literal(db)
                )
            ),
            format!("{owner}|UTF8"),
            "{db}"
        );
    }

    // credentials_editor holds every owner role, with admin option, and
    // nothing else.
    let mut members: Vec<String> = expect
        .databases
        .iter()
        .map(|(_, owner, _)| format!("{owner}|{}|t", expect.editor))
        .collect();
    members.sort();
    assert_eq!(
        server.query(
            "postgres",
            "SELECT r.rolname, u.rolname, m.admin_option FROM pg_auth_members m \
             JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
             WHERE r.rolname !~ '^pg_' ORDER BY 1, 2",
        ),
        members.join("\n")
    );
}

fn check_user_lookup(server: &Server, expect: &Expect) {
    // A password pgbouncer can look up, set out of band as the scripts say.
    server.set_password(expect.auth, "pooler-secret");
    for (db, owner, _) in expect.databases {
        assert_eq!(
            server.query(
                db,
                "SELECT n.nspname, pg_get_userbyid(p.proowner), o.rolsuper, p.prosecdef, \
                 p.proconfig, p.prokind \
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 JOIN pg_roles o ON o.oid = p.proowner \
                 WHERE p.oid = 'public.user_lookup(text)'::regprocedure",
            ),
            "public|postgres|t|t|{\"search_path=pg_catalog, pg_temp\"}|f",
            "{db}"
        );
        // EXECUTE: the owner and pgbouncer_auth only, PUBLIC revoked.
        let acl = server.query(
            db,
            "SELECT grantee::regrole, privilege_type FROM aclexplode(\
             (SELECT proacl FROM pg_proc WHERE oid = 'public.user_lookup(text)'::regprocedure)) \
",
        );
        let mut acl: Vec<&str> = acl.lines().collect();
        acl.sort();
        let mut want = vec![
            format!("{}|EXECUTE", expect.auth),
            "postgres|EXECUTE".into(),
        ];
        want.sort();
        assert_eq!(acl, want, "{db}");

        // pgbouncer_auth calls it and gets a password hash it could not
        // read itself.
        let lookup = format!(
            "SELECT uname, left(phash, 14) FROM public.user_lookup({})",
            literal(expect.auth)
        );
        let o = server.run(expect.auth, db, &lookup);
        assert!(o.status.success(), "{db}: {}", stderr(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            format!("{}|SCRAM-SHA-256$", expect.auth),
            "{db}"
        );
        let o = server.run(expect.auth, db, "SELECT count(*) FROM pg_authid");
        assert!(
            stderr(&o).contains("permission denied for table pg_authid"),
            "{db}: {}",
            stderr(&o)
        );

        // Nobody else may call it: not credentials_editor, not the owner
        // role (which owns the database and its public schema).
        let o = server.run(expect.editor, db, &lookup);
        assert!(
            stderr(&o).contains("permission denied for function user_lookup"),
            "{db}: {}",
            stderr(&o)
        );
        let o = server.run(
            "postgres",
            db,
            &format!("SET ROLE {}; {lookup}", ident(owner)),
        );
        assert!(
            stderr(&o).contains("permission denied for function user_lookup"),
            "{db}: {}",
            stderr(&o)
        );
    }
}

/// The password the tests give credentials_editor: the scripts set none, the
/// operator sets it out of band from Vault.
const EDITOR_PASSWORD: &str = "editor-secret";

/// A Vault dynamic user's name and password for `db`.
fn vault_user(db: &str) -> (String, &'static str) {
    (
        format!("v-kubernetes-{db}-Ab3dE-1750000000"),
        "A1a-vault-issued",
    )
}

/// `statements` with Vault's templates filled for `db`'s dynamic user.
fn vault_statements(db: &str, statements: &[String]) -> Vec<String> {
    let (user, password) = vault_user(db);
    vault_fill(statements, &user, password)
}

/// Runs the Vault creation statements (what the OpenTofu emitter gives Vault)
/// as Vault does: logged in over TCP as credentials_editor, in one
/// transaction.
fn create_vault_user(server: &Server, expect: &Expect, db: &str, owner: &str) -> Output {
    let creation = vault_statements(db, &labc::emit::postgres::vault_creation_statements(owner));
    server.run_tcp_tx(expect.editor, EDITOR_PASSWORD, "postgres", &creation)
}

/// Creates a Vault user as credentials_editor; it logs in with its password,
/// lands in the owner role and creates tables owned by it; the revocation
/// statement, run by credentials_editor too, then drops it and the tables
/// stay.
fn check_vault_user(server: &Server, expect: &Expect, db: &str, owner: &str) {
    let (user, password) = vault_user(db);
    server.set_password(expect.editor, EDITOR_PASSWORD);
    let o = create_vault_user(server, expect, db, owner);
    assert!(
        o.status.success(),
        "{db}: creation as {} failed:\n{}",
        expect.editor,
        stderr(&o)
    );
    // Created by credentials_editor, not by a superuser.
    assert_eq!(
        server.query(
            "postgres",
            &format!(
                "SELECT g.rolname, u.rolcanlogin, u.rolsuper, u.rolcreaterole, \
                 u.rolconfig FROM pg_auth_members m \
                 JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.grantor \
                 WHERE u.rolname = {}",
                literal(&user)
            )
        ),
        format!("{}|t|f|f|{{role={owner}}}", expect.editor),
        "{db}"
    );

    // Only with the right password: the server really checks it.
    let o = server.run_tcp(&user, "wrong", db, "SELECT 1");
    assert!(
        stderr(&o).contains("password authentication failed"),
        "{db}: {}",
        stderr(&o)
    );

    let o = server.run_tcp(
        &user,
        password,
        db,
        "CREATE TABLE lessons (id int); SELECT session_user, current_user",
    );
    assert!(o.status.success(), "{db}: login failed:\n{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("CREATE TABLE\n{user}|{owner}"),
        "{db}"
    );
    let table_owner = "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'lessons'";
    assert_eq!(server.query(db, table_owner), owner, "{db}");
    assert_eq!(
        server.query(
            "postgres",
            &format!(
                "SELECT r.rolname, m.admin_option FROM pg_auth_members m \
                 JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
                 WHERE u.rolname = {}",
                literal(&user)
            )
        ),
        format!("{owner}|f"),
        "{db}"
    );
    // pgbouncer finds the user through user_lookup() while it exists.
    let lookup = format!("SELECT uname FROM public.user_lookup({})", literal(&user));
    let o = server.run(expect.auth, db, &lookup);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        user,
        "{db}: {}",
        stderr(&o)
    );

    // Revoked as Vault does it: credentials_editor, one transaction. The
    // user's connections are gone, its objects belong to the owner role, so
    // DROP ROLE needs nothing but CREATEROLE.
    let revocation = vault_statements(db, &labc::emit::postgres::vault_revocation_statements());
    let o = server.run_tcp_tx(expect.editor, EDITOR_PASSWORD, "postgres", &revocation);
    assert!(
        o.status.success() && stderr(&o).is_empty(),
        "{db}: revocation as {} failed:\n{}",
        expect.editor,
        stderr(&o)
    );
    assert!(!server.role_exists(&user), "{db}: {user} dropped");
    assert_eq!(
        server.query(db, table_owner),
        owner,
        "{db}: the table stays"
    );
    let o = server.run(expect.auth, db, &lookup);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "", "{db}");
}

#[test]
fn reference_scripts_build_what_the_lab_says_on_postgres_15() {
    let lab = Lab::reference();
    lab.build();
    let server = prove(&lab, &REFERENCE);
    let dir = lab.generated().join("sql");

    // Without CREATEROLE, Vault could not create its users: the flag is
    // needed, not decorative.
    server.query("postgres", "ALTER ROLE credentials_editor NOCREATEROLE");
    let o = create_vault_user(&server, &REFERENCE, "webapp", "webapp_role");
    assert!(
        !o.status.success() && stderr(&o).contains("permission denied to create role"),
        "{}",
        stderr(&o)
    );

    // Drift is repaired: a login owner role that may create roles, a
    // database handed to someone else, a lost admin option, a function owned
    // by a non-superuser, credentials_editor without CREATEROLE.
    server.query("postgres", "ALTER ROLE webapp_role LOGIN CREATEROLE");
    server.query(
        "postgres",
        "ALTER DATABASE webapp OWNER TO credentials_editor",
    );
    server.query(
        "postgres",
        "REVOKE ADMIN OPTION FOR webapp_role FROM credentials_editor",
    );
    server.query(
        "webapp",
        "ALTER FUNCTION public.user_lookup(text) OWNER TO webapp_role",
    );
    server.query("postgres", "ALTER ROLE pgbouncer_auth NOLOGIN");
    for script in ["_roles.sql", "webapp.sql"] {
        let o = server.apply(&dir.join(script));
        assert!(o.status.success(), "{script}: {}", stderr(&o));
    }
    check_catalogs(&server, &REFERENCE);
    assert_eq!(
        server.query(
            "webapp",
            "SELECT pg_get_userbyid(proowner) FROM pg_proc \
             WHERE oid = 'public.user_lookup(text)'::regprocedure"
        ),
        "postgres"
    );
    // Vault can create (and drop) its users again.
    let o = create_vault_user(&server, &REFERENCE, "webapp", "webapp_role");
    assert!(o.status.success(), "{}", stderr(&o));
    let revocation = vault_statements(
        "webapp",
        &labc::emit::postgres::vault_revocation_statements(),
    );
    let o = server.run_tcp_tx(REFERENCE.editor, EDITOR_PASSWORD, "postgres", &revocation);
    assert!(o.status.success(), "{}", stderr(&o));
    check_catalogs(&server, &REFERENCE);

    // Anyone but a superuser is turned away before anything happens.
    let o = server
        .psql("credentials_editor", "postgres")
        .args(["-v", "ON_ERROR_STOP=1", "-f"])
        .arg(dir.join("erp.sql"))
        .output()
        .expect("psql runs");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("labc: run this script as a PostgreSQL superuser, not as credentials_editor"),
        "{}",
        stderr(&o)
    );

    // The quoting matters: the same statement without it is refused.
    let o = server.run(
        "postgres",
        "postgres",
        "CREATE DATABASE dance-lessons-coach OWNER \"dance-lessons-coach_role\"",
    );
    assert!(stderr(&o).contains("syntax error"), "{}", stderr(&o));

    // A lost database is rebuilt (its user_lookup() too), but not in a
    // single transaction: the header's warning is true.
    server.query("postgres", "DROP DATABASE crowdsec");
    let o = server
        .psql("postgres", "postgres")
        .args(["-v", "ON_ERROR_STOP=1", "-1", "-f"])
        .arg(dir.join("crowdsec.sql"))
        .output()
        .expect("psql runs");
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("CREATE DATABASE cannot run inside a transaction block"),
        "{}",
        stderr(&o)
    );
    assert_applies_quietly(&server, &dir.join("crowdsec.sql"), 7);
    check_catalogs(&server, &REFERENCE);
    check_user_lookup(&server, &REFERENCE);
}

#[test]
fn big_cluster_scripts_use_its_overridden_names() {
    let lab = Lab::named("big-cluster");
    lab.build();
    prove(&lab, &BIG_CLUSTER);
}

/// The position `needle` has in `text`, as the report prints it.
fn position(file: &str, text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in lab"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{file}:{line}:{col}")
}

/// Edits the reference lab's `databases` (and `postgres`) blocks, runs
/// `labc build`, and expects exit 2 with each `(message, needle)` reported
/// at the needle's position.
fn rejected(databases: &str, postgres_extra: &str, expected: &[(&str, &str)]) {
    let text = common::lab_text(common::REFERENCE)
        .replacen(
            "    webapp = {},\n",
            &format!("    webapp = {{}},\n{databases}"),
            1,
        )
        .replacen(
            "    pooler_app = \"tools\",\n",
            &format!("    pooler_app = \"tools\",\n{postgres_extra}"),
            1,
        );
    let lab = Lab::from_text("lab.ncl", &text);
    let o = lab.run(&["build"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for (message, needle) in expected {
        let at = position("lab.ncl", &text, needle);
        let found = err
            .split("\nerror")
            .any(|d| d.contains(message) && d.contains(&at));
        assert!(found, "expected `{message}` at {at} in:\n{err}");
    }
    assert!(!lab.generated().exists(), "nothing is written");
}

#[test]
fn names_postgres_would_truncate_are_errors_with_their_position() {
    let long_a = format!("{}-a", "x".repeat(62));
    let long_b = format!("{}-b", "x".repeat(62));
    rejected(
        &format!("    {long_a} = {{}},\n    {long_b} = {{}},\n"),
        "",
        &[
            (
                &format!("`{long_a}` can't be a SQL identifier: it is 64 bytes long"),
                &long_a,
            ),
            (
                &format!("`{long_b}` can't be a SQL identifier: it is 64 bytes long"),
                &long_b,
            ),
        ],
    );
    // 63 bytes is PostgreSQL's limit, not past it; its owner role is.
    let db63 = "y".repeat(63);
    rejected(
        &format!("    {db63} = {{ owner_role = \"{}\" }},\n", "z".repeat(64)),
        "",
        &[(
            &format!(
                "`{}` can't be a SQL identifier: it is 64 bytes long",
                "z".repeat(64)
            ),
            &format!("\"{}\"", "z".repeat(64)),
        )],
    );
}

#[test]
fn reserved_and_duplicate_sql_names_are_errors_with_their_position() {
    rejected(
        "    postgres = {},\n    _roles = {},\n    ledger = { owner_role = \"pg_ledger\" },\n    \
         billing = { owner_role = \"credentials_editor\" },\n",
        "    pgbouncer_auth = \"pg_bouncer\",\n",
        &[
            ("`postgres` can't be a lab database", "postgres = {}"),
            ("`_roles` can't be a lab database", "_roles = {}"),
            ("`pg_ledger` can't be a role", "\"pg_ledger\""),
            ("`pg_bouncer` can't be a role", "\"pg_bouncer\""),
            (
                "role `credentials_editor` would be created twice",
                "\"credentials_editor\"",
            ),
        ],
    );
}
