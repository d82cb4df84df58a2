//! The SQL scripts and the OpenTofu postgres module make the same
//! PostgreSQL state. The scripts are applied to a real PostgreSQL 15 and its
//! catalogs read back; the module is parsed ([`crate::tf`]), every reference
//! (`postgresql_role.x.name`, `postgresql_function.f.schema`, ...) resolved
//! to the value it names and the provider's defaults applied. Both become a
//! [`PgState`] (roles with their flags, databases and owners, memberships
//! with admin option, the functions of every lab database with their
//! arguments, result, language, SECURITY DEFINER and who may EXECUTE them),
//! which must be equal. The two `user_lookup()` bodies differ in text (the
//! provider can't set a search_path), so both are run on the server and
//! must answer alike.

use crate::common::{Lab, labs, stderr};
use crate::pg::{Server, ident, literal, pg_bool, rows};
use crate::tf::{Module, modules};
use std::collections::{BTreeMap, BTreeSet};

/// A role's attributes, as PostgreSQL stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Role {
    login: bool,
    create_role: bool,
    create_database: bool,
    superuser: bool,
    inherit: bool,
}

/// A function's signature and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Function {
    /// `<mode> <name> <type>`, in order.
    args: Vec<String>,
    returns: String,
    language: String,
    security_definer: bool,
    /// Grantees of EXECUTE besides the owner; `PUBLIC` for everyone.
    execute: BTreeSet<String>,
}

/// What a lab makes in PostgreSQL, besides the superuser applying it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PgState {
    roles: BTreeMap<String, Role>,
    /// database → owner role
    databases: BTreeMap<String, String>,
    /// (group role, member, admin option)
    memberships: BTreeSet<(String, String, bool)>,
    /// (database, schema, name) → function, in every lab database
    functions: BTreeMap<(String, String, String), Function>,
}

/// The differences between two states, one line each, empty when equal.
fn pg_differences(sql: &PgState, tofu: &PgState) -> Vec<String> {
    fn diff<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
        what: &str,
        a: &BTreeMap<K, V>,
        b: &BTreeMap<K, V>,
        out: &mut Vec<String>,
    ) {
        for (k, v) in a {
            match b.get(k) {
                None => out.push(format!("{what} {k:?}: only in the SQL scripts")),
                Some(w) if w != v => {
                    out.push(format!("{what} {k:?}: SQL has {v:?}, OpenTofu {w:?}"))
                }
                Some(_) => {}
            }
        }
        for k in b.keys().filter(|k| !a.contains_key(k)) {
            out.push(format!("{what} {k:?}: only in OpenTofu"));
        }
    }
    let mut out = Vec::new();
    diff("role", &sql.roles, &tofu.roles, &mut out);
    diff("database", &sql.databases, &tofu.databases, &mut out);
    diff("function", &sql.functions, &tofu.functions, &mut out);
    for m in sql.memberships.difference(&tofu.memberships) {
        out.push(format!("membership {m:?}: only in the SQL scripts"));
    }
    for m in tofu.memberships.difference(&sql.memberships) {
        out.push(format!("membership {m:?}: only in OpenTofu"));
    }
    out
}

/// Functions outside PostgreSQL's own schemas, with their arguments as
/// `<mode> <name> <type>`, their result, language, SECURITY DEFINER, and
/// the grantees of EXECUTE other than the owner (a NULL ACL is the
/// default one: PUBLIC).
const FUNCTIONS_QUERY: &str = "\
SELECT n.nspname, p.proname,
  coalesce((
    SELECT string_agg(
      CASE a.mode WHEN 'i' THEN 'IN' WHEN 'o' THEN 'OUT' WHEN 'b' THEN 'INOUT'
        WHEN 'v' THEN 'VARIADIC' WHEN 't' THEN 'TABLE' END
        || ' ' || coalesce(a.name, '') || ' ' || format_type(a.type, NULL),
      ',' ORDER BY a.i)
    FROM unnest(
      coalesce(p.proargmodes, array_fill('i'::\"char\", ARRAY[p.pronargs::int])),
      p.proargnames,
      coalesce(p.proallargtypes, p.proargtypes::oid[])
    ) WITH ORDINALITY AS a(mode, name, type, i)
  ), ''),
  pg_get_function_result(p.oid), l.lanname, p.prosecdef,
  coalesce((
    SELECT string_agg(CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
      ',' ORDER BY 1)
    FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
    WHERE x.privilege_type = 'EXECUTE' AND x.grantee <> p.proowner
  ), '')
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
ORDER BY 1, 2";

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The catalogs of `server`, minus the bootstrap superuser `postgres` and
/// PostgreSQL's own roles, databases and schemas.
pub(super) fn catalog_state(server: &Server) -> PgState {
    let mut state = PgState::default();
    for r in rows(&server.query(
        "postgres",
        "SELECT rolname, rolcanlogin, rolcreaterole, rolcreatedb, rolsuper, rolinherit \
         FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'",
    )) {
        state.roles.insert(
            r[0].clone(),
            Role {
                login: pg_bool(&r[1]),
                create_role: pg_bool(&r[2]),
                create_database: pg_bool(&r[3]),
                superuser: pg_bool(&r[4]),
                inherit: pg_bool(&r[5]),
            },
        );
    }
    for r in rows(&server.query(
        "postgres",
        "SELECT datname, pg_get_userbyid(datdba) FROM pg_database \
         WHERE datname NOT IN ('postgres', 'template0', 'template1')",
    )) {
        state.databases.insert(r[0].clone(), r[1].clone());
    }
    for r in rows(&server.query(
        "postgres",
        "SELECT g.rolname, u.rolname, m.admin_option FROM pg_auth_members m \
         JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
         WHERE g.rolname !~ '^pg_'",
    )) {
        state
            .memberships
            .insert((r[0].clone(), r[1].clone(), pg_bool(&r[2])));
    }
    for db in state.databases.keys().cloned().collect::<Vec<_>>() {
        for r in rows(&server.query(&db, FUNCTIONS_QUERY)) {
            state.functions.insert(
                (db.clone(), r[0].clone(), r[1].clone()),
                Function {
                    args: split_list(&r[2]),
                    returns: r[3].clone(),
                    language: r[4].clone(),
                    security_definer: pg_bool(&r[5]),
                    execute: split_list(&r[6]).into_iter().collect(),
                },
            );
        }
    }
    state
}

/// What the postgres module declares, with the cyrilgdn/postgresql
/// provider's defaults: roles `login = false`, `create_role = false`,
/// `create_database = false`, `superuser = false`, `inherit = true`;
/// `postgresql_grant_role.with_admin_option = false`; functions in schema
/// `public`, `language = "plpgsql"`, `security_definer = false`, `arg.mode =
/// "IN"`, executable by PUBLIC until a `postgresql_grant` says otherwise
/// (each one sets the privileges of its role on its objects).
fn tofu_state(m: &Module) -> PgState {
    let mut state = PgState::default();
    for (_, b) in m.resources("postgresql_role") {
        let name = m.string(b, "name");
        let role = Role {
            login: m.flag(b, "login", false),
            create_role: m.flag(b, "create_role", false),
            create_database: m.flag(b, "create_database", false),
            superuser: m.flag(b, "superuser", false),
            inherit: m.flag(b, "inherit", true),
        };
        if b.get_attribute("roles").is_some() {
            for group in m.strings(b, "roles") {
                state.memberships.insert((group, name.clone(), false));
            }
        }
        assert!(
            state.roles.insert(name.clone(), role).is_none(),
            "role {name} declared twice"
        );
    }
    for (_, b) in m.resources("postgresql_grant_role") {
        state.memberships.insert((
            m.string(b, "grant_role"),
            m.string(b, "role"),
            m.flag(b, "with_admin_option", false),
        ));
    }
    for (_, b) in m.resources("postgresql_database") {
        let name = m.string(b, "name");
        let owner = m.string(b, "owner");
        assert!(
            state.databases.insert(name.clone(), owner).is_none(),
            "database {name} declared twice"
        );
    }
    for (_, f) in m.resources("postgresql_function") {
        let key = (
            m.string(f, "database"),
            m.get(f, "schema")
                .map_or("public".into(), |s| s.as_str().expect("schema").to_owned()),
            m.string(f, "name"),
        );
        let args = f
            .blocks()
            .filter(|b| b.ident.as_str() == "arg")
            .map(|a| {
                let mode = m
                    .get(&a.body, "mode")
                    .map_or("IN".into(), |v| v.as_str().expect("mode").to_owned());
                format!(
                    "{mode} {} {}",
                    m.string(&a.body, "name"),
                    m.string(&a.body, "type")
                )
            })
            .collect();
        let function = Function {
            args,
            returns: m.string(f, "returns"),
            language: m
                .get(f, "language")
                .map_or("plpgsql".into(), |v| v.as_str().expect("language").into()),
            security_definer: m.flag(f, "security_definer", false),
            execute: ["PUBLIC".to_string()].into(),
        };
        assert!(
            state.functions.insert(key.clone(), function).is_none(),
            "function {key:?} declared twice"
        );
    }
    for (name, g) in m.resources("postgresql_grant") {
        assert_eq!(m.string(g, "object_type"), "function", "grant {name}");
        let role = match m.string(g, "role") {
            r if r == "public" => "PUBLIC".to_string(),
            r => r,
        };
        let execute = m.strings(g, "privileges").iter().any(|p| p == "EXECUTE");
        for object in m.strings(g, "objects") {
            let key = (m.string(g, "database"), m.string(g, "schema"), object);
            let f = state
                .functions
                .get_mut(&key)
                .unwrap_or_else(|| panic!("grant {name} on undeclared function {key:?}"));
            if execute {
                f.execute.insert(role.clone());
            } else {
                f.execute.remove(&role);
            }
        }
    }
    state
}

/// Applies the lab's SQL scripts (`_apply.sql`) to a fresh server.
pub(super) fn apply_sql(lab: &Lab) -> Server {
    let server = Server::start();
    let o = server.apply(&lab.generated().join("sql/_apply.sql"));
    assert!(o.status.success(), "_apply.sql failed:\n{}", stderr(&o));
    server
}

/// The shared login roles the SQL scripts and the postgres module name:
/// `(credentials_editor, pgbouncer_auth)`, told apart by CREATEROLE.
pub(super) fn login_roles(state: &PgState) -> (String, String) {
    let pick = |create_role: bool| {
        let found: Vec<&String> = state
            .roles
            .iter()
            .filter(|(_, r)| r.login && r.create_role == create_role)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found.len(), 1, "login roles with CREATEROLE {create_role}");
        found[0].clone()
    };
    (pick(true), pick(false))
}

/// pgbouncer's lookup, as both `user_lookup()` bodies must answer it, for
/// users of every kind: a login role with a password, one whose password
/// expired, one without login, one that doesn't exist.
fn check_user_lookup_bodies(server: &Server, m: &Module, state: &PgState) {
    let (_, pooler) = login_roles(state);
    server.query(
        "postgres",
        "CREATE ROLE labc_probe_expired LOGIN PASSWORD 'x' VALID UNTIL '2000-01-01'",
    );
    server.set_password(&pooler, "pooler-secret");
    let probes = [
        pooler.as_str(),
        "labc_probe_expired",
        "postgres",
        "nobody-at-all",
    ];
    for (_, f) in m.resources("postgresql_function") {
        let db = m.string(f, "database");
        let schema = m.string(f, "schema");
        let name = m.string(f, "name");
        let args: Vec<String> = f
            .blocks()
            .filter(|b| b.ident.as_str() == "arg")
            .map(|a| {
                format!(
                    "{} {} {}",
                    m.string(&a.body, "mode"),
                    m.string(&a.body, "name"),
                    m.string(&a.body, "type")
                )
            })
            .collect();
        // What the provider runs, under another name.
        let create = format!(
            "CREATE FUNCTION {}.labc_tofu_lookup({}) RETURNS {} LANGUAGE {} {} \
             AS $function${}$function$",
            ident(&schema),
            args.join(", "),
            m.string(f, "returns"),
            m.string(f, "language"),
            if m.flag(f, "security_definer", false) {
                "SECURITY DEFINER"
            } else {
                ""
            },
            m.string(f, "body"),
        );
        let call = |function: &str| {
            probes
                .iter()
                .map(|p| {
                    format!(
                        "SELECT uname, phash IS NOT NULL FROM {}.{}({})",
                        ident(&schema),
                        function,
                        literal(p)
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        };
        let sql = format!(
            "BEGIN; {create}; SELECT 'sql'; {}; SELECT 'tofu'; {}; ROLLBACK;",
            call(&ident(&name)),
            call("labc_tofu_lookup")
        );
        // psql prints every statement's result: command tags, then each
        // SELECT's rows.
        let out = server.query(&db, &sql);
        let out: Vec<&str> = out.lines().collect();
        let at = |marker: &str| {
            out.iter()
                .position(|l| *l == marker)
                .unwrap_or_else(|| panic!("{db}: no {marker} in {out:?}"))
        };
        let (from_sql, from_tofu) = (
            &out[at("sql") + 1..at("tofu")],
            &out[at("tofu") + 1..at("ROLLBACK")],
        );
        assert_eq!(from_sql, from_tofu, "{db}: the two bodies disagree");
        assert_eq!(
            from_sql,
            [
                format!("{pooler}|t").as_str(),
                "labc_probe_expired|f",
                "postgres|f",
                "|f"
            ],
            "{db}"
        );
    }
    server.query("postgres", "DROP ROLE labc_probe_expired");
}

/// Applies the SQL, parses the postgres module, and compares both.
fn postgres_agree(lab: &Lab) {
    lab.build();
    let texts = lab.files();
    let modules = modules(&texts);
    let m = Module::the_one(&modules, "postgresql_database");
    let tofu = tofu_state(m);
    let server = apply_sql(lab);
    let sql = catalog_state(&server);
    assert_eq!(pg_differences(&sql, &tofu), Vec::<String>::new());
    assert_eq!(sql, tofu);

    // Not vacuous: the shared roles, every database, a user_lookup() in each.
    let (editor, pooler) = login_roles(&sql);
    assert!(!sql.databases.is_empty());
    assert_eq!(sql.roles.len(), sql.databases.len() + 2);
    for (db, owner) in &sql.databases {
        assert!(
            sql.memberships
                .contains(&(owner.clone(), editor.clone(), true))
        );
        let f = &sql.functions[&(db.clone(), "public".into(), "user_lookup".into())];
        assert!(f.security_definer);
        assert_eq!(f.execute, [pooler.clone()].into());
    }
    assert_eq!(sql.functions.len(), sql.databases.len());
    check_user_lookup_bodies(&server, m, &sql);

    // The catalog side notices drift.
    let changes = [
        format!("ALTER ROLE {} NOCREATEROLE", ident(&editor)),
        format!(
            "GRANT EXECUTE ON FUNCTION public.user_lookup(text) TO PUBLIC; \
             REVOKE EXECUTE ON FUNCTION public.user_lookup(text) FROM {}",
            ident(&pooler)
        ),
    ];
    let db = sql.databases.keys().next().expect("a database").clone();
    server.query("postgres", &changes[0]);
    server.query(&db, &changes[1]);
    let drifted = pg_differences(&catalog_state(&server), &tofu);
    assert_eq!(drifted.len(), 2, "{drifted:#?}");
    assert!(
        drifted[0].starts_with(&format!("role {editor:?}")),
        "{drifted:#?}"
    );
    assert!(drifted[1].contains("PUBLIC"), "{drifted:#?}");
}

/// Each edit of a `.tf` text (old, new) must make the postgres module
/// disagree with `sql`, in a difference mentioning `expect`.
fn assert_tf_edits_noticed(lab: &Lab, sql: &PgState, edits: &[(&str, &str, &str, &str)]) {
    let texts = lab.files();
    for (file, old, new, expect) in edits {
        let mut edited = texts.clone();
        let text = edited.get_mut(*file).unwrap_or_else(|| panic!("no {file}"));
        assert!(text.contains(old), "{file} has no `{old}`");
        *text = text.replacen(old, new, 1);
        let modules = modules(&edited);
        let tofu = tofu_state(Module::the_one(&modules, "postgresql_database"));
        let found = pg_differences(sql, &tofu);
        assert!(
            found.iter().any(|d| d.contains(expect)),
            "editing {file} (`{old}` → `{new}`) went unnoticed: {found:#?}"
        );
    }
}

#[test]
fn sql_and_opentofu_postgres_agree_in_every_lab() {
    for lab in labs() {
        postgres_agree(&lab);
    }
}

/// Breaking one name, flag or grant in a generated `.tf` is noticed.
#[test]
fn postgres_disagreements_are_noticed() {
    let lab = Lab::reference();
    lab.build();
    let modules = modules(&lab.files());
    // The tofu state of the unedited files stands in for the catalog: the
    // tests above prove them equal.
    let good = tofu_state(Module::the_one(&modules, "postgresql_database"));
    assert_eq!(
        pg_differences(&good, &good),
        Vec::<String>::new(),
        "a state agrees with itself"
    );
    let roles = "tofu/postgres/roles.tf";
    let dbs = "tofu/postgres/databases.tf";
    assert_tf_edits_noticed(
        &lab,
        &good,
        &[
            (
                roles,
                "  create_role = true\n",
                "",
                "role \"credentials_editor\"",
            ),
            (
                dbs,
                "name  = \"webapp_role\"",
                "name  = \"webapp_owner\"",
                "webapp_owner",
            ),
            (
                dbs,
                "  owner    = postgresql_role.webapp_owner.name",
                "  owner    = postgresql_role.erp_owner.name",
                "database \"webapp\"",
            ),
            (
                dbs,
                "grant_role        = postgresql_role.erp_owner.name\n  with_admin_option = true",
                "grant_role        = postgresql_role.erp_owner.name\n  with_admin_option = false",
                "membership (\"erp_role\", \"credentials_editor\", false)",
            ),
            (
                dbs,
                "role        = postgresql_role.pgbouncer_auth.name\n  object_type = \"function\"\n  objects     = [postgresql_function.erp_user_lookup.name]",
                "role        = postgresql_role.credentials_editor.name\n  object_type = \"function\"\n  objects     = [postgresql_function.erp_user_lookup.name]",
                "\"erp\"",
            ),
            (
                dbs,
                "role        = \"public\"\n  object_type = \"function\"\n  objects     = [postgresql_function.crowdsec_user_lookup.name]\n  privileges  = []",
                "role        = \"public\"\n  object_type = \"function\"\n  objects     = [postgresql_function.crowdsec_user_lookup.name]\n  privileges  = [\"EXECUTE\"]",
                "PUBLIC",
            ),
            (
                dbs,
                "    name = \"i_username\"",
                "    name = \"username\"",
                "IN username text",
            ),
            (
                dbs,
                "  security_definer = true\n  body             = \"BEGIN",
                "  security_definer = false\n  body             = \"BEGIN",
                "security_definer: false",
            ),
        ],
    );
}
