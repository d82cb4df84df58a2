//! Cross-artifact agreement: files that different tools apply describe the
//! same objects, for the reference lab and for the big-cluster fixture.
//!
//! - PostgreSQL: the generated SQL scripts are applied to a real
//!   PostgreSQL 15 and its catalogs are read back; the OpenTofu postgres
//!   module is parsed with `hcl-edit`, every reference (`postgresql_role.x.name`,
//!   `postgresql_function.f.schema`, ...) resolved to the value it names and
//!   the provider's defaults applied. Both become a [`PgState`] (roles with
//!   their flags, databases and owners, memberships with admin option, the
//!   functions of every lab database with their arguments, result, language,
//!   SECURITY DEFINER and who may EXECUTE them), which must be equal. The two
//!   `user_lookup()` bodies differ in text (the provider can't set a
//!   search_path), so both are run on the server and must answer alike.
//! - Vault: the OpenTofu factory module (Kubernetes auth roles, policies and
//!   the paths their documents allow, database secret roles), the Vault
//!   Secrets Operator resources of every app and the app's `values.yaml`
//!   must name the same objects: the role VSO logs in with exists, bound to
//!   exactly the app's namespace and service account, its policies allow
//!   reading exactly what VSO reads, and each dynamic secret's role creates
//!   users in the owner role of the app's database (checked on the text of
//!   the statements, then by running them on PostgreSQL as
//!   `credentials_editor`, as Vault does).
//!
//! Each comparison is also run on deliberately broken data (an edited `.tf`,
//! a changed catalog, a mutated parsed resource) to show it notices.

use crate::common::{Lab, stderr};
use crate::sql::{Server, ident, literal};
use crate::tofu::labels;
use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

// ------------------------------------------------------------------ OpenTofu

/// One OpenTofu module: the parsed body of each of its `.tf` files.
struct Tf {
    name: String,
    bodies: Vec<Body>,
}

/// Every module under `generated/tofu`, parsed from `texts` (path → text,
/// paths relative to `generated/`).
fn tf_modules(texts: &BTreeMap<String, String>) -> Vec<Tf> {
    let mut modules: BTreeMap<String, Vec<Body>> = BTreeMap::new();
    for (path, text) in texts {
        let Some(rest) = path.strip_prefix("tofu/") else {
            continue;
        };
        let (module, file) = rest.split_once('/').expect("tofu/<module>/<file>");
        assert!(file.ends_with(".tf"), "unexpected {path}");
        let body = hcl_edit::parser::parse_body(text)
            .unwrap_or_else(|e| panic!("{path} does not parse:\n{e}"));
        modules.entry(module.to_string()).or_default().push(body);
    }
    modules
        .into_iter()
        .map(|(name, bodies)| Tf { name, bodies })
        .collect()
}

impl Tf {
    fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.bodies.iter().flat_map(|b| b.blocks())
    }

    /// The module declaring resources of type `kind`; exactly one must.
    fn the_one<'a>(modules: &'a [Tf], kind: &str) -> &'a Tf {
        let found: Vec<&Tf> = modules
            .iter()
            .filter(|m| !m.resources(kind).is_empty())
            .collect();
        assert_eq!(found.len(), 1, "modules declaring {kind}");
        found[0]
    }

    /// `(name, body)` of each `resource "<kind>" "<name>"`.
    fn resources(&self, kind: &str) -> Vec<(String, &Body)> {
        self.declared("resource", kind)
    }

    fn declared(&self, block: &str, kind: &str) -> Vec<(String, &Body)> {
        self.blocks()
            .filter(|b| b.ident.as_str() == block)
            .filter_map(|b| {
                let l = labels(b);
                (l.len() == 2 && l[0] == kind).then(|| (l[1].clone(), &b.body))
            })
            .collect()
    }

    /// The body of `<block> "<kind>" "<name>"`, which must be declared once.
    fn find(&self, block: &str, kind: &str, name: &str) -> &Body {
        let found: Vec<&Body> = self
            .declared(block, kind)
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{}: {block} {kind}.{name} declared {} times",
            self.name,
            found.len()
        );
        found[0]
    }

    /// The value of `expr`, references resolved to the attribute they name
    /// (recursively). A reference to a computed attribute, a function call
    /// or a template fails: this module must not need them.
    fn value(&self, expr: &Expression) -> Value {
        match expr {
            Expression::String(s) => Value::String(s.as_str().to_owned()),
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => {
                serde_json::from_str(&n.value().to_string()).expect("a JSON number")
            }
            Expression::Array(a) => Value::Array(a.iter().map(|e| self.value(e)).collect()),
            Expression::Traversal(_) => {
                let (block, kind, name, attr) = reference(expr);
                let body = self.find(block, &kind, &name);
                let value = body.get_attribute(&attr).unwrap_or_else(|| {
                    panic!(
                        "{}: {kind}.{name}.{attr} is not set in the module",
                        self.name
                    )
                });
                self.value(&value.value)
            }
            other => panic!("{}: unsupported expression {other}", self.name),
        }
    }

    /// The value of attribute `name` of `body`, if set.
    fn get(&self, body: &Body, name: &str) -> Option<Value> {
        body.get_attribute(name).map(|a| self.value(&a.value))
    }

    fn string(&self, body: &Body, name: &str) -> String {
        match self.get(body, name) {
            Some(Value::String(s)) => s,
            other => panic!("{}: {name} is {other:?}, not a string", self.name),
        }
    }

    fn strings(&self, body: &Body, name: &str) -> Vec<String> {
        match self.get(body, name) {
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => panic!("{}: {name} holds {other}", self.name),
                })
                .collect(),
            other => panic!("{}: {name} is {other:?}, not a list", self.name),
        }
    }

    /// A bool attribute, `default` when unset (the provider's default).
    fn flag(&self, body: &Body, name: &str, default: bool) -> bool {
        match self.get(body, name) {
            None => default,
            Some(Value::Bool(b)) => b,
            Some(other) => panic!("{}: {name} is {other}, not a bool", self.name),
        }
    }
}

/// A reference's parts: `("resource", type, name, attr)` for `type.name.attr`,
/// `("data", type, name, attr)` for `data.type.name.attr`.
fn reference(expr: &Expression) -> (&'static str, String, String, String) {
    let Expression::Traversal(t) = expr else {
        panic!("not a reference: {expr}");
    };
    let Expression::Variable(root) = &t.expr else {
        panic!("not a reference: {expr}");
    };
    let mut parts = vec![root.as_str().to_owned()];
    for op in &t.operators {
        match op.value() {
            TraversalOperator::GetAttr(id) => parts.push(id.as_str().to_owned()),
            other => panic!("unsupported traversal {other:?} in {expr}"),
        }
    }
    match parts.as_slice() {
        [d, kind, name, attr] if d == "data" => ("data", kind.clone(), name.clone(), attr.clone()),
        [kind, name, attr] => ("resource", kind.clone(), name.clone(), attr.clone()),
        _ => panic!("unsupported reference {expr}"),
    }
}

// ---------------------------------------------------------------- PostgreSQL

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
struct PgState {
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

fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn pg_bool(s: &str) -> bool {
    match s {
        "t" => true,
        "f" => false,
        other => panic!("not a boolean: {other}"),
    }
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
fn catalog_state(server: &Server) -> PgState {
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
fn tofu_state(m: &Tf) -> PgState {
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
fn apply_sql(lab: &Lab) -> Server {
    let server = Server::start();
    let o = server.apply(&lab.generated().join("sql/_apply.sql"));
    assert!(o.status.success(), "_apply.sql failed:\n{}", stderr(&o));
    server
}

/// The shared login roles the SQL scripts and the postgres module name:
/// `(credentials_editor, pgbouncer_auth)`, told apart by CREATEROLE.
fn login_roles(state: &PgState) -> (String, String) {
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
fn check_user_lookup_bodies(server: &Server, m: &Tf, state: &PgState) {
    let (_, pooler) = login_roles(state);
    server.query(
        "postgres",
        "CREATE ROLE labc_probe_expired LOGIN PASSWORD 'x' VALID UNTIL '2000-01-01'",
    );
    server.query(
        "postgres",
        &format!("ALTER ROLE {} PASSWORD 'pooler-secret'", ident(&pooler)),
    );
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
    let modules = tf_modules(&texts);
    let m = Tf::the_one(&modules, "postgresql_database");
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
        let modules = tf_modules(&edited);
        let tofu = tofu_state(Tf::the_one(&modules, "postgresql_database"));
        let found = pg_differences(sql, &tofu);
        assert!(
            found.iter().any(|d| d.contains(expect)),
            "editing {file} (`{old}` → `{new}`) went unnoticed: {found:#?}"
        );
    }
}

#[test]
fn reference_sql_and_opentofu_postgres_agree() {
    postgres_agree(&Lab::reference());
}

#[test]
fn big_cluster_sql_and_opentofu_postgres_agree() {
    postgres_agree(&Lab::named("big-cluster"));
}

/// Breaking one name, flag or grant in a generated `.tf` is noticed.
#[test]
fn postgres_disagreements_are_noticed() {
    let lab = Lab::reference();
    lab.build();
    let modules = tf_modules(&lab.files());
    // The tofu state of the unedited files stands in for the catalog: the
    // tests above prove them equal.
    let good = tofu_state(Tf::the_one(&modules, "postgresql_database"));
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

// --------------------------------------------------------------------- Vault

/// A Kubernetes auth role of the factory module.
#[derive(Debug, Clone)]
struct AuthRole {
    service_accounts: BTreeSet<String>,
    namespaces: BTreeSet<String>,
    policies: Vec<String>,
}

/// A database secret role of the factory module.
#[derive(Debug, Clone)]
struct DbRole {
    connection: String,
    creation: Vec<String>,
    revocation: Vec<String>,
}

/// The Vault objects the factory module declares.
#[derive(Debug, Clone, Default)]
struct VaultTf {
    /// (backend, role_name) → role
    auth_roles: BTreeMap<(String, String), AuthRole>,
    /// policy name → path → capabilities
    policies: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// (backend, name) → role
    db_roles: BTreeMap<(String, String), DbRole>,
    /// Owner role of each database of the postgres module.
    owners: BTreeMap<String, String>,
}

fn vault_tf(modules: &[Tf]) -> VaultTf {
    let m = Tf::the_one(modules, "vault_kubernetes_auth_backend_role");
    let mut v = VaultTf::default();
    for (_, b) in m.resources("vault_policy") {
        let policy = &b.get_attribute("policy").expect("policy").value;
        let (block, kind, name, attr) = reference(policy);
        assert_eq!(
            (block, kind.as_str(), attr.as_str()),
            ("data", "vault_policy_document", "hcl"),
            "policies come from a policy document"
        );
        let doc = m.find("data", "vault_policy_document", &name);
        let mut rules = BTreeMap::new();
        for rule in doc.blocks().filter(|r| r.ident.as_str() == "rule") {
            let path = m.string(&rule.body, "path");
            let caps = m.strings(&rule.body, "capabilities");
            assert!(rules.insert(path.clone(), caps).is_none(), "{path} twice");
        }
        v.policies.insert(m.string(b, "name"), rules);
    }
    for (_, b) in m.resources("vault_kubernetes_auth_backend_role") {
        let role = AuthRole {
            service_accounts: m
                .strings(b, "bound_service_account_names")
                .into_iter()
                .collect(),
            namespaces: m
                .strings(b, "bound_service_account_namespaces")
                .into_iter()
                .collect(),
            policies: m.strings(b, "token_policies"),
        };
        v.auth_roles
            .insert((m.string(b, "backend"), m.string(b, "role_name")), role);
    }
    for (_, b) in m.resources("vault_database_secret_backend_role") {
        v.db_roles.insert(
            (m.string(b, "backend"), m.string(b, "name")),
            DbRole {
                connection: m.string(b, "db_name"),
                creation: m.strings(b, "creation_statements"),
                revocation: m.strings(b, "revocation_statements"),
            },
        );
    }
    let pg = Tf::the_one(modules, "postgresql_database");
    for (_, b) in pg.resources("postgresql_database") {
        v.owners.insert(pg.string(b, "name"), pg.string(b, "owner"));
    }
    v
}

/// The in-cluster side of an app: its Application's namespace, its VSO
/// resources and its values.
#[derive(Debug, Clone)]
struct AppSide {
    namespace: String,
    /// Every document of `vault-secrets.yaml`; empty without the file.
    vso: Vec<Value>,
    values: Value,
}

fn yaml_docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("generated YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

fn apps(texts: &BTreeMap<String, String>) -> BTreeMap<String, AppSide> {
    let mut out = BTreeMap::new();
    for (path, text) in texts {
        let Some(app) = path
            .strip_prefix("apps/")
            .and_then(|p| p.strip_suffix("/values.yaml"))
        else {
            continue;
        };
        let application = yaml_docs(&texts[&format!("argocd/applications/{app}.yaml")]);
        let namespace = application[0]["spec"]["destination"]["namespace"]
            .as_str()
            .expect("destination namespace")
            .to_owned();
        let vso = texts
            .get(&format!("apps/{app}/vault-secrets.yaml"))
            .map(|t| yaml_docs(t))
            .unwrap_or_default();
        let values = yaml_docs(text).pop().expect("values");
        out.insert(
            app.to_owned(),
            AppSide {
                namespace,
                vso,
                values,
            },
        );
    }
    out
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An SQL identifier at the start of `text` (`"quoted"` with `""` escapes,
/// or bare, folded to lower case), and the rest.
fn sql_identifier(text: &str) -> Option<(String, &str)> {
    if let Some(rest) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if rest[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    return Some((name, &rest[i + 1..]));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(text.len());
        (end > 0).then(|| (text[..end].to_lowercase(), &text[end..]))
    }
}

/// The roles the creation statements put a user in (`IN ROLE a, b`) and the
/// role its sessions switch to (`ALTER ROLE .. SET role = '<r>'`).
fn granted_roles(creation: &[String]) -> (BTreeSet<String>, Option<String>) {
    let mut in_roles = BTreeSet::new();
    let mut set_role = None;
    for st in creation {
        if let Some(at) = st.find(" IN ROLE ") {
            let mut rest = &st[at + " IN ROLE ".len()..];
            while let Some((name, after)) = sql_identifier(rest) {
                in_roles.insert(name);
                match after.trim_start().strip_prefix(',') {
                    Some(more) => rest = more.trim_start(),
                    None => break,
                }
            }
        }
        if let Some(at) = st.find(" SET role = '") {
            let rest = &st[at + " SET role = '".len()..];
            set_role = rest.split('\'').next().map(str::to_owned);
        }
    }
    (in_roles, set_role)
}

/// Every disagreement between the factory module and the apps' VSO
/// resources and values, one line each.
fn vault_problems(tf: &VaultTf, apps: &BTreeMap<String, AppSide>) -> Vec<String> {
    let mut out = Vec::new();
    let mut used_auth_roles = BTreeSet::new();
    let mut used_policies = BTreeSet::new();
    for (app, side) in apps {
        let mut p = |m: String| out.push(format!("{app}: {m}"));
        let vault = side.values.get("vault");
        if side.vso.is_empty() {
            if vault.is_some() {
                p("values.yaml has a vault section but there are no VSO resources".into());
            }
            continue;
        }
        let Some(vault) = vault else {
            p("VSO resources but no vault section in values.yaml".into());
            continue;
        };
        let kind =
            |k: &str| -> Vec<&Value> { side.vso.iter().filter(|d| s(d, "/kind") == k).collect() };
        for d in &side.vso {
            if s(d, "/metadata/namespace") != side.namespace {
                p(format!(
                    "{} {} is in namespace {:?}, the app in {:?}",
                    s(d, "/kind"),
                    s(d, "/metadata/name"),
                    s(d, "/metadata/namespace"),
                    side.namespace
                ));
            }
        }
        let auths: BTreeMap<&str, &Value> = kind("VaultAuth")
            .into_iter()
            .map(|a| (s(a, "/metadata/name"), a))
            .collect();
        let statics = kind("VaultStaticSecret");
        let dynamics = kind("VaultDynamicSecret");
        if statics.len() != 1 {
            p(format!("{} VaultStaticSecrets, not 1", statics.len()));
        }
        if dynamics.len() > 1 {
            p(format!("{} VaultDynamicSecrets", dynamics.len()));
        }

        // What VSO reads, through which auth.
        let mut needed: BTreeSet<String> = BTreeSet::new();
        let mut tolerated: BTreeSet<String> = BTreeSet::new();
        let mut auth_refs = BTreeSet::new();
        for st in &statics {
            if s(st, "/spec/type") != "kv-v2" {
                p(format!("VaultStaticSecret type {:?}", s(st, "/spec/type")));
            }
            let (mount, path) = (s(st, "/spec/mount"), s(st, "/spec/path"));
            needed.insert(format!("{mount}/data/{path}"));
            tolerated.insert(format!("{mount}/metadata/{path}"));
            auth_refs.insert(s(st, "/spec/vaultAuthRef"));
            let kv = &vault["kv"];
            if (s(kv, "/mount"), s(kv, "/path"), s(kv, "/secretName"))
                != (mount, path, s(st, "/spec/destination/name"))
            {
                p(format!(
                    "values.yaml vault.kv {kv} is not the VaultStaticSecret's {mount}/{path}"
                ));
            }
        }
        for dy in &dynamics {
            let (mount, path) = (s(dy, "/spec/mount"), s(dy, "/spec/path"));
            needed.insert(format!("{mount}/{path}"));
            auth_refs.insert(s(dy, "/spec/vaultAuthRef"));
            let Some(role) = path.strip_prefix("creds/") else {
                p(format!(
                    "VaultDynamicSecret path {path:?} is not creds/<role>"
                ));
                continue;
            };
            let db = &vault["database"];
            if (
                s(db, "/mount"),
                s(db, "/path"),
                s(db, "/role"),
                s(db, "/secretName"),
            ) != (mount, path, role, s(dy, "/spec/destination/name"))
            {
                p(format!(
                    "values.yaml vault.database {db} is not the VaultDynamicSecret's {mount}/{path}"
                ));
            }
            // The role exists and creates users in the app's database owner role.
            let Some(db_role) = tf.db_roles.get(&(mount.to_owned(), role.to_owned())) else {
                p(format!(
                    "VaultDynamicSecret reads {mount}/{path}: no database role {role} in mount {mount}"
                ));
                continue;
            };
            let database = s(&side.values, "/database/name");
            let Some(owner) = tf.owners.get(database) else {
                p(format!("its database {database:?} is not declared"));
                continue;
            };
            let (in_roles, set_role) = granted_roles(&db_role.creation);
            if in_roles != [owner.clone()].into() || set_role.as_ref() != Some(owner) {
                p(format!(
                    "database role {role} creates users in {in_roles:?} (SET role {set_role:?}), \
                     not in {owner}, owner of database {database}"
                ));
            }
        }
        if vault.get("database").is_some() && dynamics.is_empty() {
            p("values.yaml vault.database but no VaultDynamicSecret".into());
        }

        // The auth VSO logs in with, and what its policies allow.
        if auth_refs.len() != 1 {
            p(format!("secrets use VaultAuths {auth_refs:?}, not one"));
        }
        for r in auth_refs {
            let Some(auth) = auths.get(r) else {
                p(format!("vaultAuthRef {r:?} names no VaultAuth of the app"));
                continue;
            };
            let (mount, role, sa) = (
                s(auth, "/spec/mount"),
                s(auth, "/spec/kubernetes/role"),
                s(auth, "/spec/kubernetes/serviceAccount"),
            );
            if s(auth, "/spec/method") != "kubernetes" {
                p(format!("VaultAuth method {:?}", s(auth, "/spec/method")));
            }
            if (s(vault, "/authRole"), s(vault, "/kubernetesMount")) != (role, mount) {
                p(format!(
                    "values.yaml vault authRole/kubernetesMount are not the VaultAuth's {role}/{mount}"
                ));
            }
            if s(&side.values, "/serviceAccount/name") != sa
                || side.values.pointer("/serviceAccount/create") != Some(&Value::Bool(true))
            {
                p(format!(
                    "values.yaml serviceAccount is not the VaultAuth's {sa:?}, created"
                ));
            }
            let key = (mount.to_owned(), role.to_owned());
            let Some(tf_role) = tf.auth_roles.get(&key) else {
                p(format!(
                    "VaultAuth logs in as role {role:?} of mount {mount:?}, which OpenTofu doesn't declare"
                ));
                continue;
            };
            used_auth_roles.insert(key);
            if tf_role.namespaces != [side.namespace.clone()].into() {
                p(format!(
                    "role {role} is bound to namespaces {:?}, the app runs in {:?}",
                    tf_role.namespaces, side.namespace
                ));
            }
            if tf_role.service_accounts != [sa.to_owned()].into() {
                p(format!(
                    "role {role} is bound to service accounts {:?}, VSO uses {sa:?}",
                    tf_role.service_accounts
                ));
            }
            let mut allowed: BTreeSet<String> = BTreeSet::new();
            for policy in &tf_role.policies {
                used_policies.insert(policy.clone());
                let Some(rules) = tf.policies.get(policy) else {
                    p(format!("role {role} has undeclared policy {policy:?}"));
                    continue;
                };
                for (path, caps) in rules {
                    if caps != &["read"] {
                        p(format!("policy {policy} allows {caps:?} on {path}"));
                    }
                    if path.contains(['*', '+']) {
                        p(format!("policy {policy} has a glob path {path}"));
                    }
                    allowed.insert(path.clone());
                }
            }
            for missing in needed.difference(&allowed) {
                p(format!(
                    "role {role}'s policies don't allow reading {missing}"
                ));
            }
            for extra in allowed.difference(&needed) {
                if !tolerated.contains(extra) {
                    p(format!(
                        "role {role}'s policies allow {extra}, which VSO doesn't read"
                    ));
                }
            }
        }
    }
    for key in tf
        .auth_roles
        .keys()
        .filter(|k| !used_auth_roles.contains(*k))
    {
        out.push(format!("auth role {key:?}: no app's VaultAuth uses it"));
    }
    for policy in tf.policies.keys().filter(|k| !used_policies.contains(*k)) {
        out.push(format!("policy {policy}: no auth role has it"));
    }
    out
}

/// Runs each dynamic secret's creation statements, as read from the
/// factory module, on PostgreSQL built from the SQL scripts, logged in as
/// `credentials_editor` like Vault; the user must land in the owner role of
/// the app's database, and the revocation statement must drop it.
fn run_creation_statements(lab: &Lab, tf: &VaultTf, apps: &BTreeMap<String, AppSide>) -> usize {
    let server = apply_sql(lab);
    let (editor, _) = login_roles(&catalog_state(&server));
    server.query(
        "postgres",
        &format!("ALTER ROLE {} PASSWORD 'editor-secret'", ident(&editor)),
    );
    let mut ran = 0;
    for (app, side) in apps {
        for dy in side
            .vso
            .iter()
            .filter(|d| s(d, "/kind") == "VaultDynamicSecret")
        {
            let mount = s(dy, "/spec/mount");
            let role = s(dy, "/spec/path").trim_start_matches("creds/");
            let db_role = &tf.db_roles[&(mount.to_owned(), role.to_owned())];
            let owner = &tf.owners[s(&side.values, "/database/name")];
            let user = format!("v-kubernetes-{app}-x1-1750000000");
            let fill = |st: &str| {
                st.replace("{{name}}", &user)
                    .replace("{{password}}", "A1a-vault")
                    .replace("{{expiration}}", "2099-01-01 00:00:00+00")
            };
            let creation: Vec<String> = db_role.creation.iter().map(|c| fill(c)).collect();
            let o = server.run_tcp_tx(&editor, "editor-secret", "postgres", &creation);
            assert!(o.status.success(), "{app}: {}", stderr(&o));
            assert_eq!(
                server.query(
                    "postgres",
                    &format!(
                        "SELECT string_agg(g.rolname, ',') || '|' || array_to_string(u.rolconfig, ',') \
                         FROM pg_roles u JOIN pg_auth_members m ON m.member = u.oid \
                         JOIN pg_roles g ON g.oid = m.roleid WHERE u.rolname = {} \
                         GROUP BY u.rolconfig",
                        literal(&user)
                    )
                ),
                format!("{owner}|role={owner}"),
                "{app}"
            );
            let revocation: Vec<String> = db_role.revocation.iter().map(|r| fill(r)).collect();
            let o = server.run_tcp_tx(&editor, "editor-secret", "postgres", &revocation);
            assert!(o.status.success(), "{app}: {}", stderr(&o));
            assert_eq!(
                server.query(
                    "postgres",
                    &format!(
                        "SELECT count(*) FROM pg_roles WHERE rolname = {}",
                        literal(&user)
                    )
                ),
                "0"
            );
            assert!(
                !db_role.connection.is_empty(),
                "{app}: role {role} names its connection"
            );
            ran += 1;
        }
    }
    ran
}

/// `(apps with VSO resources, dynamic secrets)` the checks covered.
fn vault_agree(lab: &Lab) -> (usize, usize) {
    lab.build();
    let texts = lab.files();
    let tf = vault_tf(&tf_modules(&texts));
    let apps = apps(&texts);
    assert_eq!(vault_problems(&tf, &apps), Vec::<String>::new());
    let with_vault = apps.values().filter(|a| !a.vso.is_empty()).count();
    (with_vault, run_creation_statements(lab, &tf, &apps))
}

#[test]
fn reference_opentofu_vault_and_vso_agree() {
    // dance-lessons-coach, erp and webapp read Vault, all with a database.
    assert_eq!(vault_agree(&Lab::reference()), (3, 3));
}

#[test]
fn big_cluster_opentofu_vault_and_vso_agree() {
    // billing (database ledger, owner ledger_owner) and status-page (KV only,
    // namespace monitoring).
    assert_eq!(vault_agree(&Lab::named("big-cluster")), (2, 1));
}

/// Each mutation of the parsed data, on either side, is reported.
#[test]
fn vault_disagreements_are_noticed() {
    let lab = Lab::named("big-cluster");
    lab.build();
    let texts = lab.files();
    let tf = vault_tf(&tf_modules(&texts));
    let apps = apps(&texts);
    assert_eq!(vault_problems(&tf, &apps), Vec::<String>::new());

    type TfEdit = fn(&mut VaultTf);
    type AppEdit = fn(&mut BTreeMap<String, AppSide>);
    fn set_in(side: &mut AppSide, kind: &str, pointer: &str, to: &str) {
        let d = side
            .vso
            .iter_mut()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"));
        *d.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer}")) = Value::String(to.into());
    }
    let tf_edits: &[(&str, TfEdit, &str)] = &[
        (
            "auth role renamed",
            |t| {
                let k = ("k8s".to_string(), "billing".to_string());
                let r = t.auth_roles.remove(&k).unwrap();
                t.auth_roles.insert(("k8s".into(), "biling".into()), r);
            },
            "billing: VaultAuth logs in as role \"billing\" of mount \"k8s\", which OpenTofu doesn't declare",
        ),
        (
            "other namespace bound",
            |t| {
                let r = t
                    .auth_roles
                    .get_mut(&("k8s".into(), "status-page".into()))
                    .unwrap();
                r.namespaces = ["status-page".to_string()].into();
            },
            "status-page: role status-page is bound to namespaces {\"status-page\"}, the app runs in \"monitoring\"",
        ),
        (
            "other service account bound",
            |t| {
                let r = t
                    .auth_roles
                    .get_mut(&("k8s".into(), "billing".into()))
                    .unwrap();
                r.service_accounts.insert("default".into());
            },
            "billing: role billing is bound to service accounts",
        ),
        (
            "creds rule dropped",
            |t| {
                t.policies
                    .get_mut("billing")
                    .unwrap()
                    .remove("db/creds/ledger");
            },
            "billing: role billing's policies don't allow reading db/creds/ledger",
        ),
        (
            "kv rule widened",
            |t| {
                let p = t.policies.get_mut("status-page").unwrap();
                p.insert("secret/data/billing".into(), vec!["read".into()]);
            },
            "status-page: role status-page's policies allow secret/data/billing, which VSO doesn't read",
        ),
        (
            "write capability",
            |t| {
                let p = t.policies.get_mut("billing").unwrap();
                p.insert(
                    "secret/data/billing".into(),
                    vec!["read".into(), "update".into()],
                );
            },
            "billing: policy billing allows [\"read\", \"update\"] on secret/data/billing",
        ),
        (
            "database role creates users elsewhere",
            |t| {
                let r = t.db_roles.get_mut(&("db".into(), "ledger".into())).unwrap();
                r.creation = labc::names::vault_creation_statements("metrics_role");
            },
            "billing: database role ledger creates users in {\"metrics_role\"}",
        ),
        (
            "database role in another mount",
            |t| {
                let r = t.db_roles.remove(&("db".into(), "ledger".into())).unwrap();
                t.db_roles.insert(("database".into(), "ledger".into()), r);
            },
            "billing: VaultDynamicSecret reads db/creds/ledger: no database role ledger in mount db",
        ),
    ];
    for (what, edit, expect) in tf_edits {
        let mut t = tf.clone();
        edit(&mut t);
        let found = vault_problems(&t, &apps);
        assert!(
            found.iter().any(|f| f.starts_with(expect)),
            "{what}: expected `{expect}` in {found:#?}"
        );
    }
    let app_edits: &[(&str, AppEdit, &str)] = &[
        (
            "VaultAuth role",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultAuth",
                    "/spec/kubernetes/role",
                    "ledger",
                )
            },
            "billing: VaultAuth logs in as role \"ledger\"",
        ),
        (
            "VaultAuth mount",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultAuth",
                    "/spec/mount",
                    "kubernetes",
                )
            },
            "billing: VaultAuth logs in as role \"billing\" of mount \"kubernetes\"",
        ),
        (
            "VaultAuth service account",
            |a| {
                set_in(
                    a.get_mut("status-page").unwrap(),
                    "VaultAuth",
                    "/spec/kubernetes/serviceAccount",
                    "default",
                )
            },
            "status-page: values.yaml serviceAccount is not the VaultAuth's \"default\"",
        ),
        (
            "KV path",
            |a| {
                set_in(
                    a.get_mut("status-page").unwrap(),
                    "VaultStaticSecret",
                    "/spec/path",
                    "status",
                )
            },
            "status-page: values.yaml vault.kv",
        ),
        (
            "KV mount",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultStaticSecret",
                    "/spec/mount",
                    "kv",
                )
            },
            "billing: role billing's policies don't allow reading kv/data/billing",
        ),
        (
            "creds path",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultDynamicSecret",
                    "/spec/path",
                    "creds/billing",
                )
            },
            "billing: values.yaml vault.database",
        ),
        (
            "namespace",
            |a| a.get_mut("status-page").unwrap().namespace = "status-page".into(),
            "status-page: VaultConnection vault is in namespace \"monitoring\"",
        ),
        (
            "values authRole",
            |a| {
                let v = &mut a.get_mut("billing").unwrap().values;
                *v.pointer_mut("/vault/authRole").unwrap() = Value::String("ledger".into());
            },
            "billing: values.yaml vault authRole/kubernetesMount",
        ),
        (
            "app's database",
            |a| {
                let v = &mut a.get_mut("billing").unwrap().values;
                *v.pointer_mut("/database/name").unwrap() = Value::String("metrics".into());
            },
            "billing: database role ledger creates users in {\"ledger_owner\"}",
        ),
        (
            "auth ref",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultStaticSecret",
                    "/spec/vaultAuthRef",
                    "default",
                )
            },
            "billing: secrets use VaultAuths",
        ),
        (
            "VSO resources lost",
            |a| a.get_mut("billing").unwrap().vso.clear(),
            "billing: values.yaml has a vault section but there are no VSO resources",
        ),
    ];
    for (what, edit, expect) in app_edits {
        let mut a = apps.clone();
        edit(&mut a);
        let found = vault_problems(&tf, &a);
        assert!(
            found.iter().any(|f| f.starts_with(expect)),
            "{what}: expected `{expect}` in {found:#?}"
        );
    }

    // A name broken in the generated HCL itself is noticed too.
    let mut edited = texts.clone();
    let vault_tf_path = edited
        .keys()
        .find(|p| p.starts_with("tofu/") && p.ends_with("/vault.tf"))
        .expect("vault.tf")
        .clone();
    let text = edited.get_mut(&vault_tf_path).unwrap();
    let broken = text.replacen(
        "bound_service_account_namespaces = [\"monitoring\"]",
        "bound_service_account_namespaces = [\"status-page\"]",
        1,
    );
    assert_ne!(&broken, text);
    *text = broken;
    let found = vault_problems(&vault_tf(&tf_modules(&edited)), &apps);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("status-page: role status-page is bound to namespaces")),
        "{found:#?}"
    );
}

#[test]
fn sql_identifiers_parse_like_postgres() {
    assert_eq!(
        sql_identifier("\"a\"\"b-c\" INHERIT"),
        Some(("a\"b-c".into(), " INHERIT"))
    );
    assert_eq!(sql_identifier("Owner_1;"), Some(("owner_1".into(), ";")));
    assert_eq!(sql_identifier("\"unterminated"), None);
    let (roles, set) = granted_roles(&labc::names::vault_creation_statements("x-y_role"));
    assert_eq!(roles, ["x-y_role".to_string()].into());
    assert_eq!(set.as_deref(), Some("x-y_role"));
}
