//! The two PostgreSQL managers a lab can choose (`postgres.manager`) make
//! the same PostgreSQL state. Each lab is built twice, once as it is (the
//! OpenTofu postgres module) and once with `'sql` (the psql scripts). The
//! scripts are applied to a real PostgreSQL 15 and its catalogs read back;
//! the module is applied by Terraform with the stand-in providers
//! ([`crate::terraform`]), so every `for_each`, reference and variable is
//! resolved by Terraform and the provider's defaults come with the state. Both become a
//! [`PgState`] (roles with their flags, databases and owners, memberships
//! with admin option, the functions of every lab database with their
//! arguments, result, language, SECURITY DEFINER and who may EXECUTE them),
//! which must be equal. The two `user_lookup()` bodies differ in text (the
//! provider can't set a search_path), so both are run on the server and
//! must answer alike.

use crate::common::{Lab, labs, stderr};
use crate::pg::{Server, ident, literal, pg_bool, rows};
use crate::terraform::{Evaluated, b, s, ss};
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

/// What the postgres module makes, read from Terraform's state of it: roles
/// with their flags (the provider's defaults included), memberships from
/// `postgresql_grant_role` (and `roles`), databases, functions in their
/// schema with `arg.mode` defaulting to `IN`, executable by PUBLIC until a
/// `postgresql_grant` says otherwise (each sets the privileges of its role on
/// its objects).
fn tofu_state(e: &Evaluated) -> PgState {
    let mut state = PgState::default();
    for r in e.managed("postgresql_role") {
        let name = s(r, "name");
        let role = Role {
            login: b(r, "login"),
            create_role: b(r, "create_role"),
            create_database: b(r, "create_database"),
            superuser: b(r, "superuser"),
            inherit: b(r, "inherit"),
        };
        if !r["roles"].is_null() {
            for group in ss(r, "roles") {
                state.memberships.insert((group, name.clone(), false));
            }
        }
        assert!(
            state.roles.insert(name.clone(), role).is_none(),
            "role {name} declared twice"
        );
    }
    for g in e.managed("postgresql_grant_role") {
        state
            .memberships
            .insert((s(g, "grant_role"), s(g, "role"), b(g, "with_admin_option")));
    }
    for d in e.managed("postgresql_database") {
        let name = s(d, "name");
        assert!(
            state
                .databases
                .insert(name.clone(), s(d, "owner"))
                .is_none(),
            "database {name} declared twice"
        );
    }
    for f in e.managed("postgresql_function") {
        let key = (s(f, "database"), s(f, "schema"), s(f, "name"));
        let function = Function {
            args: args(f),
            returns: s(f, "returns"),
            language: s(f, "language"),
            security_definer: b(f, "security_definer"),
            execute: ["PUBLIC".to_string()].into(),
        };
        assert!(
            state.functions.insert(key.clone(), function).is_none(),
            "function {key:?} declared twice"
        );
    }
    for g in e.managed("postgresql_grant") {
        assert_eq!(s(g, "object_type"), "function");
        let role = match s(g, "role") {
            r if r == "public" => "PUBLIC".to_string(),
            r => r,
        };
        let execute = ss(g, "privileges").iter().any(|p| p == "EXECUTE");
        for object in ss(g, "objects") {
            let key = (s(g, "database"), s(g, "schema"), object);
            let f = state
                .functions
                .get_mut(&key)
                .unwrap_or_else(|| panic!("grant on undeclared function {key:?}"));
            if execute {
                f.execute.insert(role.clone());
            } else {
                f.execute.remove(&role);
            }
        }
    }
    state
}

/// A function's `arg` blocks as `<mode> <name> <type>`.
fn args(f: &serde_json::Value) -> Vec<String> {
    f["arg"]
        .as_array()
        .expect("arg blocks")
        .iter()
        .map(|a| {
            let mode = a["mode"].as_str().unwrap_or("IN");
            format!("{mode} {} {}", s(a, "name"), s(a, "type"))
        })
        .collect()
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
fn check_user_lookup_bodies(server: &Server, e: &Evaluated, state: &PgState) {
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
    for f in e.managed("postgresql_function") {
        let db = s(f, "database");
        let schema = s(f, "schema");
        let name = s(f, "name");
        let args = args(f);
        // What the provider runs, under another name.
        let create = format!(
            "CREATE FUNCTION {}.labc_tofu_lookup({}) RETURNS {} LANGUAGE {} {} \
             AS $function${}$function$",
            ident(&schema),
            args.join(", "),
            s(f, "returns"),
            s(f, "language"),
            if b(f, "security_definer") {
                "SECURITY DEFINER"
            } else {
                ""
            },
            s(f, "body"),
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

/// The postgres module of a built lab, as Terraform applies it.
pub(super) fn evaluated(lab: &Lab) -> Evaluated {
    let tofu = lab.generated().join("tofu");
    let dirs: Vec<_> = std::fs::read_dir(&tofu)
        .expect("generated/tofu")
        .map(|e| e.unwrap().path())
        .filter(|d| {
            std::fs::read_to_string(d.join("databases.tf"))
                .is_ok_and(|t| t.contains("resource \"postgresql_database\""))
        })
        .collect();
    assert_eq!(dirs.len(), 1, "{}: one postgres module", lab.name);
    Evaluated::of(&dirs[0])
}

/// Builds the lab with each manager: applies the SQL of the `'sql` twin,
/// applies the OpenTofu module with Terraform, and compares both.
fn postgres_agree(lab: &Lab) {
    lab.build();
    assert!(
        !lab.files().keys().any(|p| p.starts_with("sql/")),
        "{}: one manager, OpenTofu",
        lab.name
    );
    let e = evaluated(lab);
    let tofu = tofu_state(&e);
    let twin = lab.sql_twin();
    twin.build();
    assert!(
        !twin
            .files()
            .keys()
            .any(|p| p.starts_with("tofu/") && p.contains("databases.tf")),
        "{}: one manager, the SQL scripts",
        lab.name
    );
    let server = apply_sql(&twin);
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
    check_user_lookup_bodies(&server, &e, &sql);

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

#[test]
fn sql_and_opentofu_postgres_agree_in_every_lab() {
    let mut compared = 0;
    for lab in labs() {
        // Two managers to compare only where OpenTofu manages PostgreSQL
        // (a lab may have no PostgreSQL, or its psql scripts only).
        let m = crate::argocd::model(&lab);
        let opentofu = m
            .postgres
            .as_ref()
            .is_some_and(|p| p.manager == labc::model::PostgresManager::Opentofu);
        if !opentofu {
            continue;
        }
        postgres_agree(&lab);
        compared += 1;
    }
    assert!(compared >= 2, "the reference lab and big-cluster at least");
}

/// Breaking one name, flag or grant is noticed: in the `.tf` text and in
/// the data (through Terraform), and in the state it yields.
#[test]
fn postgres_disagreements_are_noticed() {
    let lab = Lab::reference();
    lab.build();
    // The tofu state of the unedited module stands in for the catalog: the
    // test above proves them equal.
    let good = tofu_state(&evaluated(&lab));
    assert_eq!(
        pg_differences(&good, &good),
        Vec::<String>::new(),
        "a state agrees with itself"
    );
    let noticed = |found: Vec<String>, expect: &str, what: &str| {
        assert!(
            found.iter().any(|d| d.contains(expect)),
            "{what} went unnoticed: {found:#?}"
        );
    };
    // Through Terraform: an edited resource block, an edited data file.
    for (file, old, new, expect) in [
        (
            "tofu/postgres/roles.tf",
            "  create_role = true\n",
            "",
            "role \"credentials_editor\"",
        ),
        (
            "tofu/postgres/labc.auto.tfvars.json",
            "\"owner_role\": \"webapp_role\"",
            "\"owner_role\": \"webapp_owner\"",
            "webapp_owner",
        ),
    ] {
        let path = lab.generated().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(old), "{file} has no `{old}`");
        std::fs::write(&path, text.replacen(old, new, 1)).unwrap();
        noticed(
            pg_differences(&good, &tofu_state(&evaluated(&lab))),
            expect,
            &format!("editing {file}"),
        );
        std::fs::write(&path, text).unwrap();
    }
    // In the state: each field the comparison reads.
    type Mutation = (&'static str, fn(&mut PgState));
    let mutations: [Mutation; 6] = [
        ("database \"webapp\"", |st| {
            st.databases.insert("webapp".into(), "erp_role".into());
        }),
        (
            "membership (\"erp_role\", \"credentials_editor\", false)",
            |st| {
                st.memberships
                    .remove(&("erp_role".into(), "credentials_editor".into(), true));
                st.memberships
                    .insert(("erp_role".into(), "credentials_editor".into(), false));
            },
        ),
        ("\"erp\"", |st| {
            let f = st
                .functions
                .get_mut(&("erp".into(), "public".into(), "user_lookup".into()))
                .unwrap();
            f.execute = ["credentials_editor".to_string()].into();
        }),
        ("PUBLIC", |st| {
            let f = st
                .functions
                .get_mut(&("crowdsec".into(), "public".into(), "user_lookup".into()))
                .unwrap();
            f.execute.insert("PUBLIC".into());
        }),
        ("IN username text", |st| {
            let f = st
                .functions
                .get_mut(&("crowdsec".into(), "public".into(), "user_lookup".into()))
                .unwrap();
            f.args[0] = "IN username text".into();
        }),
        ("security_definer: false", |st| {
            let f = st
                .functions
                .get_mut(&("webapp".into(), "public".into(), "user_lookup".into()))
                .unwrap();
            f.security_definer = false;
        }),
    ];
    for (expect, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        noticed(pg_differences(&good, &bad), expect, expect);
    }
}
