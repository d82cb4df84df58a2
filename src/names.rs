//! Name conventions: every name labc derives from another lives here, once.
//!
//! The guidebook's rule is that everything derives from the `<app>` (or
//! database) name. Emitters that must agree on a name (the OpenTofu Vault
//! declarations and the in-cluster Vault Secrets Operator resources; the
//! OpenTofu postgres module and the SQL scripts) get it from the model, which
//! was filled from these functions; the checks on where a name ends up
//! (DNS-1123, SQL identifier, Ansible group) live here too. Statement text
//! (quoting, Vault's SQL) is not a name: it lives in `emit/postgres.rs`.

/// Owner role of a database: `<db>_role`.
pub fn owner_role(database: &str) -> String {
    format!("{database}_role")
}

/// Kubernetes namespace of an app: the app name.
pub fn namespace(app: &str) -> String {
    app.to_string()
}

/// Repository of an app: `<gitea url>/<org>/<app>`.
pub fn repo_url(gitea_url: &str, org: &str, app: &str) -> String {
    format!("{gitea_url}/{org}/{app}")
}

/// Default image of an app: Gitea's registry, `<gitea domain>/<org>/<app>:latest`.
pub fn image(gitea_domain: &str, org: &str, app: &str) -> (String, String) {
    (format!("{gitea_domain}/{org}/{app}"), "latest".to_string())
}

/// Ingress host of an app on a domain: `<app>.<domain>`.
pub fn ingress_host(app: &str, domain: &str) -> String {
    format!("{app}.{domain}")
}

/// Vault Kubernetes auth role of an app: the app name.
pub fn vault_auth_role(app: &str) -> String {
    app.to_string()
}

/// Service account an app's pods (and its VaultAuth) run as: the app name.
pub fn service_account(app: &str) -> String {
    app.to_string()
}

/// Vault policy granting an app its KV secrets: the app name.
pub fn vault_policy(app: &str) -> String {
    app.to_string()
}

/// Path of an app's secret in the KV v2 mount: the app name.
pub fn kv_path(app: &str) -> String {
    app.to_string()
}

/// Vault database secret role issuing credentials for a database: its name.
pub fn vault_database_role(database: &str) -> String {
    database.to_string()
}

/// OpenTofu state prefix of a module: `labc/<module>`. Not the guidebook's
/// `<module>/main`: the lab's hand-written roots hold those, and a module
/// sharing a root's state would plan the destruction of what it does not
/// declare.
pub fn state_prefix(module: &str) -> String {
    format!("labc/{module}")
}

/// lib/pq's spelling of an sslmode (`verify_ca` is `verify-ca` there).
pub fn libpq_sslmode(mode: crate::raw::SslMode) -> String {
    mode.as_str().replace('_', "-")
}

/// The URL Vault's PostgreSQL connection uses, with Vault's own
/// `{{username}}`/`{{password}}` placeholders (it fills them from the
/// connection's username and password) and the lab's sslmode.
pub fn vault_connection_url(
    address: &std::net::Ipv4Addr,
    port: u16,
    sslmode: crate::raw::SslMode,
) -> String {
    format!(
        "postgresql://{{{{username}}}}:{{{{password}}}}@{address}:{port}/postgres?sslmode={}",
        libpq_sslmode(sslmode)
    )
}

/// Longhorn's backup credentials in the KV v2 mount.
pub const LONGHORN_KV_PATH: &str = "longhorn/backup-target";
/// Vault policy and Kubernetes auth role reading them.
pub const LONGHORN_VAULT_NAME: &str = "longhorn";
/// Service account (in Longhorn's namespace) that logs in with that role.
pub const LONGHORN_SERVICE_ACCOUNT: &str = "longhorn-vault";
/// Google service account whose HMAC key Longhorn uses.
pub const LONGHORN_GCP_ACCOUNT: &str = "longhorn-backups";

// Import IDs, in each provider's format (read from the providers' sources
// at the versions labc pins): what an `import` block's `id` must be for
// the provider to find the existing object.

/// cyrilgdn/postgresql: a role by its name.
pub fn pg_role_import_id(role: &str) -> String {
    role.to_string()
}

/// cyrilgdn/postgresql: a database by its name.
pub fn pg_database_import_id(database: &str) -> String {
    database.to_string()
}

/// hashicorp/vault: a policy by its name.
pub fn vault_policy_import_id(policy: &str) -> String {
    policy.to_string()
}

/// hashicorp/vault: a Kubernetes auth role, `auth/<mount>/role/<name>`.
pub fn vault_auth_role_import_id(mount: &str, role: &str) -> String {
    format!("auth/{mount}/role/{role}")
}

/// hashicorp/vault: a Kubernetes auth backend's config, `auth/<mount>/config`.
pub fn vault_auth_config_import_id(mount: &str) -> String {
    format!("auth/{mount}/config")
}

/// hashicorp/vault: a database secret role, `<mount>/roles/<name>`.
pub fn vault_database_role_import_id(mount: &str, role: &str) -> String {
    format!("{mount}/roles/{role}")
}

/// hashicorp/vault: a database connection, `<mount>/config/<name>`.
pub fn vault_connection_import_id(mount: &str, name: &str) -> String {
    format!("{mount}/config/{name}")
}

/// hashicorp/google: a service account,
/// `projects/<project>/serviceAccounts/<account>@<project>.iam.gserviceaccount.com`.
pub fn google_service_account_import_id(project: &str, account: &str) -> String {
    format!("projects/{project}/serviceAccounts/{account}@{project}.iam.gserviceaccount.com")
}

/// Longhorn's backup target for a GCS bucket, through GCS's S3 interop
/// (`s3://<bucket>@<region>/`; the region is the lab's GCP region).
pub fn longhorn_backup_target(bucket: &str, region: &str) -> String {
    format!("s3://{bucket}@{region}/")
}

/// The root Application, which deploys the app-of-apps chart: `<lab>-apps`
/// (it lives in ArgoCD's namespace beside the apps' Applications, so
/// validation checks it is no app's name).
pub fn root_application(lab: &str) -> String {
    format!("{lab}-apps")
}

/// Deployment an app's chart runs it as: the app name (the per-app values
/// set `fullnameOverride` to it, so a chart made with `helm create` agrees).
pub fn deployment(app: &str) -> String {
    app.to_string()
}

/// Image Updater `credentials` for a pull secret in `namespace`:
/// `pullsecret:<namespace>/<secret>`.
pub fn registry_credentials(namespace: &str, secret: &str) -> String {
    format!("pullsecret:{namespace}/{secret}")
}

/// Kubernetes Secret the Vault Secrets Operator fills from an app's KV
/// secret: `<app>-kv`. A DNS-1123 label plus a suffix is always a valid
/// Secret name (a DNS-1123 subdomain, up to 253 characters).
pub fn kv_secret(app: &str) -> String {
    format!("{app}-kv")
}

/// Kubernetes Secret the Vault Secrets Operator fills with an app's dynamic
/// database credentials: `<app>-db`. Valid for the same reason as [`kv_secret`].
pub fn database_secret(app: &str) -> String {
    format!("{app}-db")
}

/// Path, in the database secrets mount, that issues credentials for a Vault
/// database role: `creds/<role>` (what a policy grants and VSO reads).
pub fn vault_creds_path(database_role: &str) -> String {
    format!("creds/{database_role}")
}

/// Why `name` can't be an OpenTofu provider local name (a key of
/// `required_providers`, the prefix of its resource types), or `None`:
/// lowercase letters, digits and `-`, starting with a letter.
pub fn tf_provider_name_problem(name: &str) -> Option<String> {
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("must start with a lowercase letter".into());
    }
    name.chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        .map(|c| format!("contains `{c}`; only lowercase letters, digits and `-` are allowed"))
}

/// PostgreSQL's identifier limit: longer names are silently truncated.
pub const SQL_MAX_IDENT_BYTES: usize = 63;

/// Why `name` can't be a DNS-1123 label (Kubernetes namespaces and most
/// object names), or `None` if it can.
pub fn dns1123_label_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > 63 {
        return Some(format!(
            "is {} characters long; the limit is 63",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "contains `{c}`; only lowercase letters, digits and `-` are allowed"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// Why `name` can't be a PostgreSQL identifier, or `None` if it can.
pub fn sql_ident_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > SQL_MAX_IDENT_BYTES {
        return Some(format!(
            "is {} bytes long; PostgreSQL silently truncates identifiers to {SQL_MAX_IDENT_BYTES}",
            name.len()
        ));
    }
    if name.contains('\0') {
        return Some("contains a NUL byte".into());
    }
    // Names also appear in SQL comments and psql meta-commands, which end at
    // a line break.
    if let Some(c) = name.chars().find(|c| unprintable(*c)) {
        return Some(format!("contains the unprintable character {c:?}"));
    }
    None
}

/// Characters no generated file shows as themselves: controls (C0, DEL, C1
/// with NEL), the Unicode line and paragraph separators (line breaks to
/// YAML 1.1), and the invisible format characters that reorder or hide text
/// (bidi controls, zero-width and BOM).
pub fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fffe}'
                | '\u{ffff}'
        )
}

/// Why `name` can't appear in the SQL statements Vault runs (the creation
/// statements name the owner role), or `None`: Vault expands `{{...}}` there
/// as its own template (`{{name}}`, `{{password}}`).
pub fn vault_template_problem(name: &str) -> Option<String> {
    ["{{", "}}"]
        .iter()
        .find(|t| name.contains(**t))
        .map(|t| format!("contains `{t}`, which Vault expands as a template in its SQL statements"))
}

/// Why PostgreSQL won't let labc create a role called `name` (a valid
/// identifier, see [`sql_ident_problem`]), or `None` if it will.
pub fn sql_role_problem(name: &str) -> Option<String> {
    if name.starts_with("pg_") {
        return Some("starts with `pg_`, which PostgreSQL reserves for its own roles".into());
    }
    if matches!(name, "public" | "none") {
        return Some("is a role name PostgreSQL reserves".into());
    }
    if name == SQL_SUPERUSER {
        return Some(
            "is PostgreSQL's superuser (the postgres image's default POSTGRES_USER), \
             which labc's scripts would alter"
                .into(),
        );
    }
    None
}

/// The superuser the postgres image creates when POSTGRES_USER is unset, and
/// that the init script falls back to: never a role labc creates or alters.
pub const SQL_SUPERUSER: &str = "postgres";

/// Why `arg` can't be a k3s argument (a flag, or a flag and its value
/// after one space, like `--write-kubeconfig-mode 0644`), or `None`:
/// k3s-ansible joins the arguments with spaces into one `ExecStart=` line of
/// a systemd unit, so a line break or other white space than a space starts
/// another directive or word, and systemd gives quotes, `\\`, `$`, `%` and
/// `;` meanings of their own.
pub fn k3s_arg_problem(arg: &str) -> Option<String> {
    if arg.trim().is_empty() {
        return Some("is empty".into());
    }
    arg.chars()
        .find(|c| {
            (c.is_whitespace() && *c != ' ')
                || unprintable(*c)
                || matches!(c, '"' | '\'' | '\\' | '$' | '%' | ';' | '`')
        })
        .map(|c| {
            format!("contains {c:?}, which the k3s unit's command line would not keep as written")
        })
}

/// Why `label` can't be an act_runner label, or `None`. act_runner splits
/// GITEA_RUNNER_LABELS on `,` and each label on `:` into
/// `name[:schema[:arg]]`, with schema `host` or `docker`.
pub fn runner_label_problem(label: &str) -> Option<String> {
    if let Some(c) = label
        .chars()
        .find(|c| *c == ',' || c.is_whitespace() || unprintable(*c))
    {
        return Some(format!(
            "contains {c:?}; the labels are joined with `,` into GITEA_RUNNER_LABELS"
        ));
    }
    let mut parts = label.splitn(3, ':');
    if parts.next().is_none_or(str::is_empty) {
        return Some("has no name before its `:`".into());
    }
    match parts.next() {
        None | Some("host" | "docker") => None,
        Some(schema) => Some(format!(
            "has schema `{schema}`; act_runner knows `host` and `docker`"
        )),
    }
}

/// Why `schedule` (five fields, as the schema pattern guarantees) is not a
/// crontab schedule Debian's cron accepts, or `None`. croner parses it (its
/// POSIX/Vixie mode: ranges, steps, lists, weekday 0 and 7 for Sunday);
/// labc first refuses croner's extensions that Vixie cron does not know
/// (`L`, `W`, `#`, `?`, `@nicknames`) and names other than a whole month or
/// weekday field (crontab(5): "Ranges or lists of names are not allowed").
pub fn cron_problem(schedule: &str) -> Option<String> {
    const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    for (i, field) in schedule.split(' ').enumerate() {
        let what = FIELDS.get(i).copied().unwrap_or("field");
        let lower = field.to_ascii_lowercase();
        let named = match i {
            3 => MONTHS.contains(&lower.as_str()),
            4 => DAYS.contains(&lower.as_str()),
            _ => false,
        };
        if !named
            && let Some(c) = field
                .chars()
                .find(|c| !(c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/')))
        {
            return Some(format!(
                "has `{c}` in its {what} field `{field}`; crontab takes numbers, `*`, `,`, `-`, `/` \
                 (or one month or weekday name)"
            ));
        }
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build();
    parser
        .parse(schedule)
        .err()
        .map(|e| format!("is not a cron schedule: {e}"))
}

/// Why `revision` can't be the Git revision ArgoCD tracks, or `None`: a
/// branch, tag or commit, so a name `git check-ref-format` accepts.
pub fn git_revision_problem(revision: &str) -> Option<String> {
    if revision.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = revision.chars().find(|c| {
        c.is_whitespace()
            || unprintable(*c)
            || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) {
        return Some(format!("contains {c:?}, which git refuses in a ref name"));
    }
    for bad in ["..", "@{", "//", "/."] {
        if revision.contains(bad) {
            return Some(format!("contains `{bad}`, which git refuses in a ref name"));
        }
    }
    if revision.starts_with(['/', '.', '-'])
        || revision.ends_with(['/', '.'])
        || revision.ends_with(".lock")
        || revision == "@"
    {
        return Some("starts or ends in a way git refuses in a ref name".into());
    }
    None
}

/// The `repoURL` of an upstream chart in an OCI registry: Argo CD's OCI
/// source (3.1+) names the chart's artifact, `oci://<registry path>/<chart>`,
/// and reads it from `path: .`.
pub fn oci_chart(repo: &str, chart: &str) -> String {
    format!("{repo}/{chart}")
}

/// The cert-manager `Certificate` of an app's ingress host on one exposure:
/// `<app>-<exposure>` (e.g. `tools-internal`), in the app's namespace.
pub fn certificate(app: &str, exposure: &str) -> String {
    format!("{app}-{exposure}")
}

/// The TLS Secret that certificate is written to: `<app>-<exposure>-tls`,
/// which the app's chart serves its ingress with (`ingress.tls.<exposure>`).
pub fn certificate_secret(app: &str, exposure: &str) -> String {
    format!("{app}-{exposure}-tls")
}

/// The Secret cert-manager keeps an ACME issuer's account key in.
pub fn acme_account_secret(issuer: &str) -> String {
    format!("{issuer}-acme-account")
}

/// The port Ansible reaches every host on (its SSH default; the lab has no
/// field for another), which nothing else may publish there.
pub const SSH_PORT: u16 = 22;
/// Embedded etcd's client and peer ports, on every server of a k3s cluster
/// with several servers (k3s's defaults; k3s-ansible leaves them).
pub const ETCD_PORTS: [u16; 2] = [2379, 2380];

/// Why `name` can't be a DNS name (a Kubernetes Ingress host: a DNS-1123
/// subdomain, at most 253 characters, each label at most 63), or `None`.
pub fn dns_name_problem(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some(format!(
            "is {} characters long; the limit is 253",
            name.len()
        ));
    }
    name.split('.')
        .find_map(dns1123_label_problem)
        .map(|p| format!("has a label that {p}"))
}

/// An OpenTofu GCS state prefix as the backend uses it: without leading
/// `/`, with one trailing `/`. Two prefixes equal this way share one state.
pub fn state_prefix_key(prefix: &str) -> String {
    format!("{}/", prefix.trim_matches('/'))
}

/// Why `name` (a valid identifier, see [`sql_ident_problem`]) can't be a
/// database labc creates and hands to an owner role, or `None` if it can.
pub fn sql_database_problem(name: &str) -> Option<String> {
    if matches!(name, "postgres" | "template0" | "template1") {
        return Some("is one of PostgreSQL's own databases".into());
    }
    if SQL_SHARED_SCRIPTS.contains(&name) {
        return Some(format!(
            "is reserved: generated/sql/{name}.sql is labc's shared script"
        ));
    }
    None
}

/// Scripts of `generated/sql/` that are not a database's `<db>.sql`: the
/// shared roles, and the one running every script in order.
pub const SQL_SHARED_SCRIPTS: &[&str] = &["_roles", "_apply"];

/// Why `name` can't be an Ansible group or variable name (a Python
/// identifier), or `None` if it can.
pub fn ansible_ident_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    match chars.next() {
        None => Some("is empty".into()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            Some("must start with a letter or `_`".into())
        }
        _ => chars
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map(|c| format!("contains `{c}`; only letters, digits and `_` are allowed")),
    }
}

/// Every group of the generated Ansible inventory, plus the two Ansible
/// always defines. A host may not share a name with any of them: Ansible
/// warns and patterns like `postgres` become ambiguous.
pub const ANSIBLE_GROUPS: &[&str] = &[
    "all",
    "ungrouped",
    "raspberries",
    "local",
    "k3s_cluster",
    "server",
    "agent",
    "postgres",
    "gitea",
    "pihole",
    "step_ca",
    "ci_runner",
];

/// Why `name` can't be an Ansible inventory host of the generated
/// inventory, or `None` if it can.
pub fn ansible_host_problem(name: &str) -> Option<String> {
    if name == "localhost" {
        return Some("is the control node, which the inventory already lists".into());
    }
    ANSIBLE_GROUPS
        .contains(&name)
        .then(|| "is also the name of an Ansible inventory group".into())
}

/// Why `name` can't be one path component of a generated file, or `None`.
pub fn file_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." {
        return Some("is not a file name".into());
    }
    if name.len() > 255 {
        return Some("is longer than 255 bytes".into());
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|c| format!("contains `{c}`, which is not allowed in a file name"))
}

/// Login role Gitea connects to PostgreSQL as: its database's name (as in
/// Gitea's own Compose example).
pub fn gitea_database_user(database: &str) -> String {
    database.to_string()
}

/// Compose stack of PostgreSQL alone (its host carries no Gitea).
pub const COMPOSE_STACK_POSTGRES: &str = "postgres";
/// Compose stack of Gitea alone (its host carries no PostgreSQL).
pub const COMPOSE_STACK_GITEA: &str = "gitea";
/// Compose stack of PostgreSQL and Gitea sharing a host: one project, so
/// Gitea can wait on the database's health check.
pub const COMPOSE_STACK_POSTGRES_GITEA: &str = "postgres-gitea";
/// Compose stack of a CI runner, one per runner host.
pub const COMPOSE_STACK_RUNNER: &str = "runner";
/// Every Compose stack name, for checks that must hold for each.
pub const COMPOSE_STACKS: &[&str] = &[
    COMPOSE_STACK_POSTGRES,
    COMPOSE_STACK_GITEA,
    COMPOSE_STACK_POSTGRES_GITEA,
    COMPOSE_STACK_RUNNER,
];

/// Compose project name of a stack: `<lab>-<stack>`, so two labs' stacks on
/// one Docker engine never share containers or volumes.
pub fn compose_project(lab: &str, stack: &str) -> String {
    format!("{lab}-{stack}")
}

/// Why `name` can't be a Compose project name (lowercase letters, digits,
/// `-` and `_`, starting with a letter or digit), or `None` if it can.
pub fn compose_project_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    match chars.next() {
        None => Some("is empty".into()),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            Some("must start with a lowercase letter or a digit".into())
        }
        _ => chars
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')))
            .map(|c| {
                format!("contains `{c}`; only lowercase letters, digits, `-` and `_` are allowed")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert_eq!(dns1123_label_problem("dance-lessons-coach"), None);
        assert!(dns1123_label_problem("my_app").is_some());
        assert!(dns1123_label_problem("App").is_some());
        assert!(dns1123_label_problem("-a").is_some());
        assert!(dns1123_label_problem(&"a".repeat(64)).is_some());
        assert_eq!(dns1123_label_problem(&"a".repeat(63)), None);
    }

    #[test]
    fn compose_projects() {
        assert_eq!(compose_project("arcodange", "runner"), "arcodange-runner");
        assert_eq!(compose_project_problem("arcodange-postgres-gitea"), None);
        assert_eq!(compose_project_problem("9lab_x"), None);
        assert!(compose_project_problem("Lab-runner").is_some());
        assert!(compose_project_problem("-lab").is_some());
        assert!(compose_project_problem("lab.x").is_some());
        assert!(compose_project_problem("").is_some());
    }

    #[test]
    fn ansible_idents() {
        assert_eq!(ansible_ident_problem("step_ca"), None);
        assert!(ansible_ident_problem("step-ca").is_some());
        assert!(ansible_ident_problem("1pi").is_some());
    }

    #[test]
    fn sql_names_postgres_refuses() {
        assert!(sql_ident_problem("web\napp").is_some());
        assert_eq!(sql_ident_problem(&"x".repeat(63)), None);
        assert!(sql_role_problem("pg_monitor_x").is_some());
        assert!(sql_role_problem("public").is_some());
        assert_eq!(sql_role_problem("dance-lessons-coach_role"), None);
        assert!(sql_database_problem("template1").is_some());
        assert!(sql_database_problem("_roles").is_some());
        assert_eq!(sql_database_problem("dance-lessons-coach"), None);
    }
}
