//! `labc diff --base REV`'s report: what changed in the lab between two
//! compiled labs, which generated files each change touches, and which
//! changes are risky. Pure: two `model::Lab`s and their files in, a
//! [`Review`] out; the git plumbing and the rendering live in `cmd`.
//!
//! How it works: each lab is projected to [`Item`]s (a host, an app, a
//! database, a provider, ...), each a kind, a name and ordered fields as
//! text. Comparing the two projections gives the changes (added, removed,
//! changed, moved) field by field; fixed rules over those changes give the
//! risks. A change's files are the generated files whose path lies in one
//! of its folders, or whose changed lines name it (one of its tokens, as a
//! whole word): an analysis of the output, so a file changed by two
//! changes is listed under both, and one no change names is listed under
//! `other_files`.
//!
//! Invariants: the report's order is the order of kinds, then names (never
//! the lab file's order); its JSON shape is [`Review`]'s, versioned by
//! [`FORMAT`] and described by `review.schema.json` (tests keep it current).

use crate::model::{Lab, Service};
use schemars::JsonSchema;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The version of the JSON shape. A field added keeps it; a field removed,
/// renamed or whose meaning changes bumps it.
pub const FORMAT: &str = "labc-review/1";

/// The report of `labc diff --base REV`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Always `labc-review/1` for this shape.
    #[schemars(extend("const" = FORMAT))]
    pub format: String,
    /// The base revision, as given on the command line.
    pub base: String,
    /// The lab file did not exist at the base revision: every item is added.
    pub new_lab: bool,
    pub summary: Summary,
    /// Every risk, in the order of the changes that carry them.
    pub risks: Vec<Risk>,
    /// Every change, by kind then name.
    pub changes: Vec<Change>,
    /// Every generated file added, removed or changed.
    pub files: Files,
    /// Changed generated files no change names.
    pub other_files: Files,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub changes: usize,
    pub risks: usize,
    pub files_added: usize,
    pub files_removed: usize,
    pub files_changed: usize,
}

/// Paths of generated files, relative to the output folder, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Files {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Files {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
    pub fn len(&self) -> usize {
        self.added.len() + self.removed.len() + self.changed.len()
    }
}

/// One thing of the lab that changed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    /// The fields that differ (all of them for an item added or removed).
    pub fields: Vec<FieldChange>,
    /// The generated files this change adds, removes or changes.
    pub files: Files,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    pub field: String,
    /// The value at the base revision (absent: the field did not exist).
    pub old: Option<String>,
    /// The value in the work tree (absent: the field no longer exists).
    pub new: Option<String>,
}

/// What kind of thing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A host: address, SSH user, services.
    Host,
    /// A service (`pihole`, `postgres`, ...) and the hosts carrying it.
    Service,
    /// An Ansible inventory group and its hosts.
    AnsibleGroup,
    /// A Compose stack (`compose/<host>/<stack>/`) and its hosts.
    ComposeStack,
    /// The k3s cluster: version, API port, arguments.
    K3s,
    /// An ArgoCD app.
    App,
    /// A PostgreSQL database.
    Database,
    /// A PostgreSQL role.
    Role,
    /// A Vault role (`auth/<mount>/role/<name>` or `<mount>/roles/<name>`).
    VaultRole,
    /// A Vault policy.
    VaultPolicy,
    /// An OpenTofu module.
    TofuModule,
    /// An OpenTofu provider: source and version.
    Provider,
    /// A bucket (OpenTofu's state, Longhorn's backups).
    Bucket,
    /// A backup job, or where backups go.
    Backup,
    /// Settings of a lab-wide part (Gitea, PostgreSQL, Vault, ...).
    Setting,
    /// A name the internal resolvers (Pi-hole) answer, with its address.
    DnsRecord,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Service => "service",
            Kind::AnsibleGroup => "ansible group",
            Kind::ComposeStack => "compose stack",
            Kind::K3s => "k3s",
            Kind::App => "app",
            Kind::Database => "database",
            Kind::Role => "role",
            Kind::VaultRole => "vault role",
            Kind::VaultPolicy => "vault policy",
            Kind::TofuModule => "tofu module",
            Kind::Provider => "provider",
            Kind::Bucket => "bucket",
            Kind::Backup => "backup",
            Kind::Setting => "setting",
            Kind::DnsRecord => "dns record",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Added,
    Removed,
    Changed,
    /// A service or Compose stack now on other hosts.
    Moved,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Removed => "removed",
            Action::Changed => "changed",
            Action::Moved => "moved",
        }
    }
}

/// A change that can lose data or state if applied as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    pub kind: RiskKind,
    /// The change carrying it, as `<kind> <name>` (e.g. `app erp`).
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// A database, repository, bucket or volume would be deleted.
    Destroyed,
    /// A database, repository, bucket or volume would be made anew (empty).
    Recreated,
    /// An OpenTofu module's state moves or is abandoned.
    StatePrefix,
    /// The k3s version changes (an upgrade or downgrade of every node).
    K3sVersion,
    /// A host stops carrying a service that keeps data there.
    StatefulService,
    /// A provider's major version changes (breaking changes allowed).
    ProviderMajor,
}

impl RiskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskKind::Destroyed => "destroyed",
            RiskKind::Recreated => "recreated",
            RiskKind::StatePrefix => "state prefix",
            RiskKind::K3sVersion => "k3s version",
            RiskKind::StatefulService => "stateful service",
            RiskKind::ProviderMajor => "provider major version",
        }
    }
}

/// Services that keep data on their host: moving one off a host leaves
/// that data behind (PostgreSQL's and Gitea's volumes, step-ca's keys, a k3s
/// server's datastore).
pub const STATEFUL: [Service; 4] = [
    Service::Postgres,
    Service::Gitea,
    Service::StepCaPrimary,
    Service::K3sServer,
];

/// How a `managed_by` field names an OpenTofu module (which destroys what
/// it no longer declares, unlike the SQL scripts).
const BY_TOFU: &str = "OpenTofu module ";

/// A compiled lab, as the review sees it.
pub struct Side<'a> {
    pub lab: &'a Lab,
    /// The output folder's files, by relative path.
    pub files: &'a BTreeMap<String, String>,
}

/// Compares the lab at the base revision (`None`: absent there) with the
/// lab in the work tree.
pub fn review(base_rev: &str, base: Option<Side>, head: Side) -> Review {
    let empty = BTreeMap::new();
    let old_items = base.as_ref().map(items).unwrap_or_default();
    let new_items = items(&head);
    let old_files = base.as_ref().map_or(&empty, |b| b.files);
    let touched = touched_files(old_files, head.files);

    let mut changes = Vec::new();
    let mut risks = Vec::new();
    let keys: BTreeSet<&(Kind, String)> = old_items.keys().chain(new_items.keys()).collect();
    let mut claimed = BTreeSet::new();
    for key in keys {
        let (old, new) = (old_items.get(key), new_items.get(key));
        let Some((action, fields)) = compare(key.0, old, new) else {
            continue;
        };
        let mut change = Change {
            kind: key.0,
            name: key.1.clone(),
            action,
            fields,
            files: Files::default(),
        };
        let mut tokens: BTreeSet<&str> = BTreeSet::new();
        let mut folders: BTreeSet<&str> = BTreeSet::new();
        for item in [old, new].into_iter().flatten() {
            tokens.extend(item.tokens.iter().map(String::as_str));
            folders.extend(item.folders.iter().map(String::as_str));
        }
        change.files = touched.naming(&tokens, &folders);
        for p in change
            .files
            .added
            .iter()
            .chain(&change.files.removed)
            .chain(&change.files.changed)
        {
            claimed.insert(p.clone());
        }
        risks.extend(risks_of(&change, old, new));
        changes.push(change);
    }
    let files = touched.all();
    let keep = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .filter(|p| !claimed.contains(*p))
            .cloned()
            .collect()
    };
    let other_files = Files {
        added: keep(&files.added),
        removed: keep(&files.removed),
        changed: keep(&files.changed),
    };
    Review {
        format: FORMAT.to_string(),
        base: base_rev.to_string(),
        new_lab: base.is_none(),
        summary: Summary {
            changes: changes.len(),
            risks: risks.len(),
            files_added: files.added.len(),
            files_removed: files.removed.len(),
            files_changed: files.changed.len(),
        },
        risks,
        changes,
        files,
        other_files,
    }
}

/// One thing of a lab as the review compares it.
#[derive(Debug, Default, Clone)]
struct Item {
    /// Field name and value, in the order they are shown.
    fields: Vec<(&'static str, String)>,
    /// Words naming it in generated files (its name, derived names, values).
    tokens: BTreeSet<String>,
    /// Output folders wholly its own (`apps/<app>/`).
    folders: BTreeSet<String>,
}

impl Item {
    fn field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }
    fn opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.field(name, v),
            None => self,
        }
    }
    fn token(mut self, t: impl Into<String>) -> Self {
        let t = t.into();
        if !t.is_empty() {
            self.tokens.insert(t);
        }
        self
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Items = BTreeMap<(Kind, String), Item>;

fn list<'a>(values: impl IntoIterator<Item = &'a String>) -> String {
    values
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A PEM bundle in one line: how many certificates, and the end of the
/// last one's body (its signature: another certificate ends otherwise).
fn pem_summary(pem: &str) -> String {
    let count = pem.matches("-----BEGIN CERTIFICATE-----").count();
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let tail: String = body
        .chars()
        .skip(body.chars().count().saturating_sub(12))
        .collect();
    format!("{count} certificate(s), ending ...{tail}")
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// The lab projected to items.
fn items(side: &Side) -> Items {
    let lab = side.lab;
    let mut out = Items::new();
    // A name is a token where it is specific enough to be searched for in
    // changed lines: `vault` (a provider) or `postgres` (a backup job, a
    // setting, a module, a service) would name half the lab.
    let mut put = |kind: Kind, name: &str, item: Item| {
        let item = match kind {
            Kind::Host
            | Kind::App
            | Kind::Database
            | Kind::Role
            | Kind::VaultRole
            | Kind::VaultPolicy => item.token(name),
            _ => item,
        };
        out.insert((kind, name.to_string()), item);
    };

    for h in lab.hosts.values() {
        let services: Vec<String> = h.services.iter().map(|s| s.as_str().to_string()).collect();
        let item = Item::default()
            .field("address", h.address.to_string())
            .field("ssh_user", h.ssh_user.clone())
            .field("services", list(&services))
            .token(h.address.to_string());
        put(Kind::Host, &h.name, item);
    }
    let mut by_service: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for h in lab.hosts.values() {
        for s in &h.services {
            by_service
                .entry(s.as_str())
                .or_default()
                .push(h.name.clone());
        }
    }
    for (service, hosts) in &by_service {
        let mut item = Item::default().field("hosts", list(hosts));
        item.tokens.extend(hosts.iter().cloned());
        put(Kind::Service, service, item);
    }
    for g in lab.groups() {
        let mut members = g.hosts.clone();
        members.extend(g.children.iter().map(|c| format!("{c} (group)")));
        let mut item = Item::default().field("hosts", list(&members));
        item.tokens.extend(g.hosts.iter().cloned());
        put(Kind::AnsibleGroup, g.name, item);
    }
    // Compose stacks are the folders `compose/<host>/<stack>/` the compose
    // emitter wrote: read back from the output rather than derived again.
    let mut stacks: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for path in side.files.keys() {
        let mut parts = path.split('/');
        if let (Some("compose"), Some(host), Some(stack), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            stacks.entry(stack).or_default().insert(host);
        }
    }
    for (stack, hosts) in &stacks {
        let mut item = Item::default().field(
            "hosts",
            hosts.iter().copied().collect::<Vec<_>>().join(", "),
        );
        item.folders
            .extend(hosts.iter().map(|h| format!("compose/{h}/{stack}/")));
        put(Kind::ComposeStack, stack, item);
    }

    let k = &lab.k3s;
    put(
        Kind::K3s,
        "cluster",
        Item::default()
            .field("version", k.version.clone())
            .field("api_port", k.api_port.to_string())
            .field("server_args", k.server_args.join(" "))
            .field("agent_args", k.agent_args.join(" "))
            .token(k.version.clone()),
    );

    // Who would destroy a repository or a database no longer declared: the
    // OpenTofu module declaring them, if any (the SQL scripts never drop).
    let module_of = |kind| {
        lab.tofu
            .iter()
            .flat_map(|t| t.modules.values())
            .find(|m| m.kind == kind)
            .map(|m| format!("{BY_TOFU}{}", m.name))
    };
    let repositories_by = module_of(crate::model::ModuleKind::Factory);
    let databases_by = match lab.postgres.as_ref().map(|p| p.manager) {
        Some(crate::model::PostgresManager::Opentofu) => {
            module_of(crate::model::ModuleKind::Postgres)
        }
        Some(crate::model::PostgresManager::Sql) => Some("SQL scripts (never drop)".to_string()),
        None => None,
    };
    for a in lab.apps.values() {
        let ingress: Vec<String> = a
            .ingress
            .iter()
            .map(|(e, host)| format!("{}: {host}", e.as_str()))
            .collect();
        let mut item = Item::default()
            .field("org", a.org.clone())
            .field("repository", a.repo_url.clone())
            .opt("repository_managed_by", repositories_by.clone())
            .field("namespace", a.namespace.clone())
            .field("archetype", a.archetype.as_str())
            .field("image", a.image.reference())
            .field(
                "updater",
                a.image_updater.map_or("none", |u| u.as_str()).to_string(),
            )
            .field(
                "sync",
                format!("prune: {}, self_heal: {}", yes(a.prune), yes(a.self_heal)),
            )
            .field("cascade_delete", yes(a.cascade_delete))
            .opt("database", a.database.clone())
            .opt("volume_size", a.volume_size.clone())
            .field("replicas", a.replicas.to_string())
            .field("port", a.port.to_string())
            .field("ingress", ingress.join(", "))
            .opt(
                "certificates",
                (!a.certificates.is_empty()).then(|| {
                    let certs: Vec<String> = a
                        .certificates
                        .values()
                        .map(|c| format!("{} from {}", c.host, c.issuer))
                        .collect();
                    certs.join(", ")
                }),
            )
            .token(a.namespace.clone())
            .token(a.repo_url.clone())
            .token(a.deployment.clone());
        item.tokens.extend(a.ingress.values().cloned());
        if let Some(v) = &a.vault {
            item = item
                .token(v.auth_role.clone())
                .token(v.policy.clone())
                .token(v.kv_path.clone());
        }
        // The output's layout: an app's own files are `apps/<app>/`.
        item.folders.insert(format!("apps/{}/", a.name));
        put(Kind::App, &a.name, item);
    }

    for d in lab.databases.values() {
        let item = Item::default()
            .field("owner_role", d.owner_role.clone())
            .opt("vault_role", d.vault_role.clone())
            .field("apps", list(&d.apps))
            .opt("managed_by", databases_by.clone())
            .token(d.owner_role.clone());
        put(Kind::Database, &d.name, item);
    }
    let mut roles: Vec<(String, String)> = lab
        .databases
        .values()
        .map(|d| {
            (
                d.owner_role.clone(),
                format!("owner of database {}", d.name),
            )
        })
        .collect();
    if let Some(g) = &lab.gitea {
        roles.push((
            g.database_user.clone(),
            format!("Gitea's login to database {}", g.database),
        ));
    }
    if let Some(pg) = &lab.postgres {
        roles.push((pg.credentials_editor.clone(), "credentials editor".into()));
        roles.push((pg.pgbouncer_auth.clone(), "pgbouncer's auth user".into()));
    }
    // One role with two purposes shows both.
    let mut by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, purpose) in roles {
        by_role.entry(role).or_default().push(purpose);
    }
    for (role, purposes) in by_role {
        put(
            Kind::Role,
            &role,
            Item::default().field("purpose", purposes.join("; ")),
        );
    }

    let mut vault_roles: Vec<(String, Item)> = Vec::new();
    let mut policies: Vec<(String, Item)> = Vec::new();
    // Vault's roles and policies exist only in a lab with Vault.
    let vault = lab.vault.as_ref();
    for (a, v) in lab.apps.values().filter_map(|a| Some((a, vault?))) {
        let Some(av) = &a.vault else { continue };
        vault_roles.push((
            format!("auth/{}/role/{}", v.kubernetes_mount, av.auth_role),
            Item::default()
                .field(
                    "service_account",
                    format!("{}/{}", a.namespace, av.service_account),
                )
                .field("policy", av.policy.clone())
                .token(av.auth_role.clone()),
        ));
        policies.push((
            av.policy.clone(),
            Item::default().field("reads", format!("{}/{}", v.kv_mount, av.kv_path)),
        ));
    }
    for (d, v) in lab.databases.values().filter_map(|d| Some((d, vault?))) {
        if let Some(r) = &d.vault_role {
            vault_roles.push((
                format!("{}/roles/{}", v.database_mount, r),
                Item::default()
                    .field("database", d.name.clone())
                    .field("creates_in", d.owner_role.clone())
                    .token(r.clone()),
            ));
        }
    }
    if let (Some(lh), Some(v)) = (&lab.longhorn, vault) {
        vault_roles.push((
            format!("auth/{}/role/{}", v.kubernetes_mount, lh.auth_role),
            Item::default()
                .field(
                    "service_account",
                    format!("{}/{}", lh.namespace, lh.service_account),
                )
                .field("policy", lh.policy.clone())
                .token(lh.auth_role.clone()),
        ));
        policies.push((
            lh.policy.clone(),
            Item::default().field("reads", format!("{}/{}", v.kv_mount, lh.kv_path)),
        ));
    }
    for (name, item) in vault_roles {
        put(Kind::VaultRole, &name, item);
    }
    for (name, item) in policies {
        put(Kind::VaultPolicy, &name, item);
    }

    for (m, t) in lab
        .tofu
        .iter()
        .flat_map(|t| t.modules.values().map(move |m| (m, t)))
    {
        let item = Item::default()
            .field("kind", m.kind.as_str())
            .field("state_bucket", t.state_bucket.clone())
            .field("state_prefix", m.state_prefix.clone())
            .field("providers", list(&m.providers))
            .field("adopt", yes(m.adopt))
            .token(m.state_prefix.clone());
        // The output's layout: a module's files are `tofu/<module>/`.
        let mut item = item;
        item.folders.insert(format!("tofu/{}/", m.name));
        put(Kind::TofuModule, &m.name, item);
    }
    for (name, p) in lab.tofu.iter().flat_map(|t| &t.providers) {
        let item = Item::default()
            .field("source", p.source.clone())
            .field("version", p.version.clone())
            .token(p.source.clone())
            .token(p.version.clone());
        put(Kind::Provider, name, item);
    }
    if let Some(t) = &lab.tofu {
        put(
            Kind::Bucket,
            "tofu_state",
            Item::default()
                .field("name", t.state_bucket.clone())
                .token(t.state_bucket.clone()),
        );
    }
    if let Some(lh) = &lab.longhorn {
        put(
            Kind::Bucket,
            "longhorn_backups",
            Item::default()
                .field("name", lh.backup_bucket.clone())
                .field("target", lh.backup_target.clone())
                .token(lh.backup_bucket.clone()),
        );
    }

    if let Some(b) = &lab.backups {
        put(
            Kind::Backup,
            "destination",
            Item::default()
                .field("path", b.destination.clone())
                .opt("nfs_host", b.nfs_host.clone())
                .token(b.destination.clone()),
        );
    }
    let no_job = None;
    let jobs = |f: fn(&crate::model::Backups) -> &Option<crate::model::BackupJob>| {
        lab.backups.as_ref().map_or(&no_job, f)
    };
    for (name, job) in [
        ("postgres", jobs(|b| &b.postgres)),
        ("gitea", jobs(|b| &b.gitea)),
        ("k3s_pvc", jobs(|b| &b.k3s_pvc)),
    ] {
        if let Some(j) = job {
            let schedule = [&j.minute, &j.hour, &j.day, &j.month, &j.weekday]
                .map(String::as_str)
                .join(" ");
            let item = Item::default()
                .field("schedule", schedule.clone())
                .field("keep_days", j.keep_days.to_string())
                .token(schedule);
            put(Kind::Backup, name, item);
        }
    }

    // Each section's settings, when the lab has it.
    if let Some(g) = &lab.gitea {
        put(
            Kind::Setting,
            "gitea",
            Item::default()
                .field("host", g.host.clone())
                .field("url", g.url.clone())
                .field("default_org", g.default_org.clone())
                .field("image", g.image.reference())
                .field("ports", format!("http {}, ssh {}", g.http_port, g.ssh_port))
                .token(g.image.reference()),
        );
    }
    if let Some(pg) = &lab.postgres {
        put(
            Kind::Setting,
            "postgres",
            Item::default()
                .field("host", pg.host.clone())
                .field("image", pg.image.reference())
                .field("port", pg.port.to_string())
                .field("manager", pg.manager.as_str())
                .field("sslmode", pg.sslmode.as_str())
                .opt("pooler_app", lab.pooler_app.clone())
                .token(pg.image.reference()),
        );
    }
    if let Some(r) = &lab.runner {
        put(
            Kind::Setting,
            "runner",
            Item::default()
                .field("hosts", list(&r.hosts))
                .field("labels", list(&r.labels))
                .field("image", r.image.reference())
                .token(r.image.reference()),
        );
    }
    if let Some(v) = vault {
        put(
            Kind::Setting,
            "vault",
            Item::default()
                .field("address", v.address.clone())
                .field("kv_mount", v.kv_mount.clone())
                .field("kubernetes_mount", v.kubernetes_mount.clone())
                .field("database_mount", v.database_mount.clone())
                .field("jwt", format!("{}/{}", v.jwt_mount, v.jwt_role)),
        );
    }
    if let Some(ar) = &lab.argocd {
        put(
            Kind::Setting,
            "argocd",
            Item::default()
                .field("host", ar.host.clone())
                .field("namespace", ar.namespace.clone())
                .opt("installed", ar.install.as_ref().map(|i| yes(i.installed)))
                .opt(
                    "install",
                    ar.install.as_ref().map(|i| {
                        [&i.argocd, &i.image_updater]
                            .iter()
                            .map(|c| {
                                let chart = c.chart.as_deref().unwrap_or("(oci)");
                                format!("{} {} {} as {}", c.repo_url, chart, c.version, c.release)
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    }),
                )
                .field("project", ar.project.clone())
                .field("target_revision", ar.target_revision.clone())
                .field(
                    "lab_repository",
                    format!(
                        "{} ({} at {})",
                        ar.lab_repository.url, ar.lab_repository.path, ar.lab_repository.revision
                    ),
                ),
        );
    }
    if let Some(d) = &lab.dns {
        for (name, r) in &d.records {
            let item = Item::default()
                .field("address", r.address.to_string())
                .field("served_by", r.served_by.clone())
                .token(name.clone());
            put(Kind::DnsRecord, name, item);
        }
    }
    if let Some(p) = &lab.pki {
        let mut item = Item::default()
            .field("root_ca_file", p.root_ca_file.clone())
            .opt("public_issuer", p.public_issuer.clone());
        if let Some(a) = &p.acme {
            item = item
                .field("acme", a.url.clone())
                .field("issuer", a.issuer.clone())
                .field("ingress_class", a.ingress_class.clone())
                .field("ca_bundle", pem_summary(&a.ca_bundle))
                .token(a.issuer.clone());
        }
        put(Kind::Setting, "pki", item);
    }
    put(
        Kind::Setting,
        "domains",
        Item::default()
            .field("public", lab.domains.public.clone())
            .field("internal", lab.domains.internal.clone()),
    );
    out
}

/// How an item changed, field by field; `None` if it did not.
fn compare(
    kind: Kind,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Option<(Action, Vec<FieldChange>)> {
    let fields = |item: &Item, old_side: bool| -> Vec<FieldChange> {
        item.fields
            .iter()
            .map(|(f, v)| FieldChange {
                field: f.to_string(),
                old: old_side.then(|| v.clone()),
                new: (!old_side).then(|| v.clone()),
            })
            .collect()
    };
    match (old, new) {
        (None, None) => None,
        (None, Some(n)) => Some((Action::Added, fields(n, false))),
        (Some(o), None) => Some((Action::Removed, fields(o, true))),
        (Some(o), Some(n)) => {
            let mut names: Vec<&'static str> = n.fields.iter().map(|(f, _)| *f).collect();
            for (f, _) in &o.fields {
                if !names.contains(f) {
                    names.push(f);
                }
            }
            let diffs: Vec<FieldChange> = names
                .into_iter()
                .filter(|f| o.get(f) != n.get(f))
                .map(|f| FieldChange {
                    field: f.to_string(),
                    old: o.get(f).map(str::to_string),
                    new: n.get(f).map(str::to_string),
                })
                .collect();
            if diffs.is_empty() {
                return None;
            }
            // Moved: on a host it was not on, and off one it was on.
            let hosts = |i: &Item| -> BTreeSet<String> {
                i.get("hosts")
                    .unwrap_or("")
                    .split(", ")
                    .map(str::to_string)
                    .collect()
            };
            let moved = matches!(kind, Kind::Service | Kind::ComposeStack)
                && !hosts(o).is_subset(&hosts(n))
                && !hosts(n).is_subset(&hosts(o));
            Some((
                if moved {
                    Action::Moved
                } else {
                    Action::Changed
                },
                diffs,
            ))
        }
    }
}

/// The risks a change carries.
fn risks_of(change: &Change, old: Option<&Item>, new: Option<&Item>) -> Vec<Risk> {
    let subject = format!("{} {}", change.kind.as_str(), change.name);
    let mut out = Vec::new();
    let mut risk = |kind: RiskKind, message: String| {
        out.push(Risk {
            kind,
            subject: subject.clone(),
            message,
        })
    };
    let was = |f: &str| old.and_then(|i| i.get(f));
    let is = |f: &str| new.and_then(|i| i.get(f));
    let name = &change.name;
    match (change.kind, change.action) {
        (Kind::App, Action::Removed) => {
            if let (Some(repo), Some(by)) = (was("repository"), was("repository_managed_by")) {
                risk(
                    RiskKind::Destroyed,
                    format!(
                        "repository {repo} is no longer declared: {by} plans to destroy it (prevent_destroy fails that plan)"
                    ),
                );
            }
            // A 'sqlite app's volume goes with its Application only when
            // the resources finalizer is on; otherwise it stays, unmanaged.
            if was("archetype") == Some("sqlite") && was("cascade_delete") == Some("yes") {
                risk(
                    RiskKind::Destroyed,
                    format!(
                        "the Longhorn volume of app {name} is deleted with its Application (cascade_delete)"
                    ),
                );
            }
        }
        (Kind::App, Action::Changed) => {
            if let (Some(a), Some(b)) = (was("repository"), is("repository"))
                && a != b
                && is("repository_managed_by").is_some()
            {
                risk(
                    RiskKind::Recreated,
                    format!(
                        "repository {a} becomes {b}: the provider deletes the old repository and creates an empty one (org or name changed)"
                    ),
                );
            }
            if was("archetype") == Some("sqlite") && is("archetype") != Some("sqlite") {
                risk(
                    RiskKind::Destroyed,
                    format!(
                        "app {name} is no longer 'sqlite: its Longhorn volume leaves the chart, and sync prunes it"
                    ),
                );
            }
            if let (Some(a), b) = (was("database"), is("database"))
                && Some(a) != b
            {
                risk(
                    RiskKind::Recreated,
                    format!(
                        "app {name} no longer uses database {a}{}: its data is not carried over",
                        b.map(|b| format!(" but {b}")).unwrap_or_default()
                    ),
                );
            }
        }
        (Kind::Database, Action::Removed) => {
            if let Some(by) = was("managed_by").filter(|by| by.starts_with(BY_TOFU)) {
                risk(
                    RiskKind::Destroyed,
                    format!(
                        "database {name} is no longer declared: {by} plans to drop it and its owner role (prevent_destroy fails that plan)"
                    ),
                );
            }
        }
        (Kind::Bucket, Action::Removed) => risk(
            RiskKind::Destroyed,
            format!(
                "bucket {} is no longer declared",
                was("name").unwrap_or(name)
            ),
        ),
        (Kind::Bucket, Action::Changed) => {
            if let (Some(a), Some(b)) = (was("name"), is("name"))
                && a != b
            {
                let what = if name == "tofu_state" {
                    "every OpenTofu module starts from empty state"
                } else {
                    "existing backups stay in the old bucket"
                };
                risk(
                    RiskKind::Recreated,
                    format!("bucket {a} becomes {b}: {what}"),
                );
            }
        }
        (Kind::TofuModule, Action::Removed) => risk(
            RiskKind::StatePrefix,
            format!(
                "module {name} is gone: its state at {} is no longer applied, its objects stay unmanaged",
                was("state_prefix").unwrap_or("?")
            ),
        ),
        (Kind::TofuModule, Action::Changed)
            if was("state_prefix") != is("state_prefix")
                || was("state_bucket") != is("state_bucket") =>
        {
            let at = |item: Option<&Item>| {
                let get = |f| item.and_then(|i| i.get(f)).unwrap_or("?");
                format!("gs://{}/{}", get("state_bucket"), get("state_prefix"))
            };
            risk(
                RiskKind::StatePrefix,
                format!(
                    "module {name}'s state moves from {} to {}: OpenTofu starts from empty state there and plans to create everything again",
                    at(old),
                    at(new)
                ),
            );
        }
        (Kind::K3s, Action::Changed) => {
            if let (Some(a), Some(b)) = (was("version"), is("version"))
                && a != b
            {
                risk(
                    RiskKind::K3sVersion,
                    format!("k3s {a} becomes {b}: k3s-ansible upgrades every node"),
                );
            }
        }
        (Kind::Provider, Action::Changed) => {
            if let (Some(a), Some(b)) = (was("version"), is("version"))
                && let (Some(ma), Some(mb)) = (major(a), major(b))
                && ma != mb
            {
                risk(
                    RiskKind::ProviderMajor,
                    format!(
                        "version {a} becomes {b}, a new major version (breaking changes allowed)"
                    ),
                );
            }
        }
        (Kind::Host, _) => {
            let services = |v: Option<&str>| -> BTreeSet<String> {
                v.map(|s| {
                    s.split(", ")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
            };
            let lost: Vec<&str> = STATEFUL
                .iter()
                .map(|s| s.as_str())
                .filter(|s| {
                    services(was("services")).contains(*s) && !services(is("services")).contains(*s)
                })
                .collect();
            for s in lost {
                let how = if change.action == Action::Removed {
                    "is removed"
                } else {
                    "no longer carries it"
                };
                risk(
                    RiskKind::StatefulService,
                    format!("host {name} {how}: the data of {s} stays on {name}, nothing moves it"),
                );
            }
        }
        _ => {}
    }
    out
}

/// The major version a provider's version or constraint names: the first
/// number in it (`7.0.1` → 7, `~> 5` → 5).
pub fn major(version: &str) -> Option<u64> {
    let start = version.find(|c: char| c.is_ascii_digit())?;
    let digits: String = version[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The generated files that differ, with the lines each adds or removes,
/// and an index of the words in those lines: finding the files naming a
/// change looks up its tokens' first words instead of scanning every line
/// for every token (a new lab of 1000 apps: every line of every file, for
/// tens of thousands of tokens).
struct Touched<'a> {
    /// Path and how it changed, sorted by path.
    files: Vec<(&'a str, Action)>,
    /// The changed lines of each file (all of an added or removed one).
    lines: Vec<Vec<Cow<'a, str>>>,
    /// Each word (a run of name characters, see [`contains_word`]) of a
    /// changed line: where it is, as (file, line) indices.
    words: HashMap<String, Vec<(usize, usize)>>,
}

fn touched_files<'a>(
    old: &'a BTreeMap<String, String>,
    new: &'a BTreeMap<String, String>,
) -> Touched<'a> {
    let mut found: Vec<(&'a str, Action, Vec<Cow<'a, str>>)> = Vec::new();
    for (path, text) in new {
        match old.get(path) {
            None => found.push((path.as_str(), Action::Added, borrowed(text))),
            Some(before) if before != text => {
                let diff = similar::TextDiff::from_lines(before.as_str(), text.as_str());
                let lines = diff
                    .iter_all_changes()
                    .filter(|c| c.tag() != similar::ChangeTag::Equal)
                    .map(|c| Cow::Owned(c.value().to_string()))
                    .collect();
                found.push((path.as_str(), Action::Changed, lines));
            }
            Some(_) => {}
        }
    }
    for (path, text) in old {
        if !new.contains_key(path) {
            found.push((path.as_str(), Action::Removed, borrowed(text)));
        }
    }
    found.sort_by(|a, b| a.0.cmp(b.0));
    let mut words: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (f, (_, _, lines)) in found.iter().enumerate() {
        for (l, line) in lines.iter().enumerate() {
            for word in line
                .split(|c: char| !is_name_char(c))
                .filter(|w| !w.is_empty())
            {
                let at = words.entry(word.to_string()).or_default();
                if at.last() != Some(&(f, l)) {
                    at.push((f, l));
                }
            }
        }
    }
    let (files, lines) = found.into_iter().map(|(p, a, l)| ((p, a), l)).unzip();
    Touched {
        files,
        lines,
        words,
    }
}

fn borrowed(text: &str) -> Vec<Cow<'_, str>> {
    text.lines().map(Cow::Borrowed).collect()
}

impl Touched<'_> {
    fn all(&self) -> Files {
        self.select((0..self.files.len()).collect())
    }

    /// The files in one of `folders`, or whose changed lines hold a token.
    fn naming(&self, tokens: &BTreeSet<&str>, folders: &BTreeSet<&str>) -> Files {
        let mut chosen = BTreeSet::new();
        for folder in folders {
            // Sorted by path: a folder's files are one run.
            let first = self.files.partition_point(|(p, _)| *p < *folder);
            chosen.extend(
                (first..self.files.len()).take_while(|&i| self.files[i].0.starts_with(folder)),
            );
        }
        for token in tokens {
            // A token starting with a name character is found only where
            // its first word is; one without any is not searched for.
            let Some(first) = token
                .split(|c: char| !is_name_char(c))
                .find(|w| !w.is_empty())
            else {
                continue;
            };
            for &(f, l) in self.words.get(first).into_iter().flatten() {
                if !chosen.contains(&f) && contains_word(&self.lines[f][l], token) {
                    chosen.insert(f);
                }
            }
        }
        self.select(chosen)
    }

    fn select(&self, chosen: BTreeSet<usize>) -> Files {
        let mut out = Files::default();
        for i in chosen {
            let (path, action) = self.files[i];
            let list = match action {
                Action::Added => &mut out.added,
                Action::Removed => &mut out.removed,
                _ => &mut out.changed,
            };
            list.push(path.to_string());
        }
        out
    }
}

/// Letters, digits, `_` and `-`: what a name is made of.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `word` in `line`, not inside a longer name: the characters around it are
/// not letters, digits, `_` or `-` (so `erp` is not found in `erp-backup`,
/// `4.4.0` not in `14.4.0`).
pub fn contains_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{emit_all, repo_lab};

    fn side_files(lab: &Lab) -> BTreeMap<String, String> {
        emit_all(lab).expect("emits")
    }

    fn run(old: &Lab, new: &Lab) -> Review {
        let (fo, fnew) = (side_files(old), side_files(new));
        review(
            "base",
            Some(Side {
                lab: old,
                files: &fo,
            }),
            Side {
                lab: new,
                files: &fnew,
            },
        )
    }

    fn change<'a>(r: &'a Review, kind: Kind, name: &str) -> &'a Change {
        r.changes
            .iter()
            .find(|c| c.kind == kind && c.name == name)
            .unwrap_or_else(|| panic!("no change {kind:?} {name} in {:#?}", r.changes))
    }

    #[test]
    fn the_same_lab_has_no_change() {
        let lab = repo_lab("lab.ncl");
        let r = run(&lab, &lab);
        assert!(r.changes.is_empty(), "{:#?}", r.changes);
        assert!(r.risks.is_empty() && r.files.is_empty());
    }

    #[test]
    fn a_removed_app_flags_its_repository_and_its_files() {
        let old = repo_lab("lab.ncl");
        let mut new = old.clone();
        new.apps.remove("url-shortener");
        let r = run(&old, &new);
        let c = change(&r, Kind::App, "url-shortener");
        assert_eq!(c.action, Action::Removed);
        assert!(
            c.files
                .removed
                .contains(&"apps/url-shortener/values.yaml".to_string())
        );
        let kinds: Vec<RiskKind> = r.risks.iter().map(|r| r.kind).collect();
        // The repository; the volume stays (cascade_delete is off for 'sqlite).
        assert_eq!(kinds, [RiskKind::Destroyed], "{:#?}", r.risks);
        assert!(
            r.risks[0].message.contains("repository"),
            "{}",
            r.risks[0].message
        );
        // With the finalizer on, the volume goes with the Application.
        let mut cascading = old.clone();
        cascading
            .apps
            .get_mut("url-shortener")
            .expect("url-shortener")
            .cascade_delete = true;
        let r = run(&cascading, &new);
        assert_eq!(r.risks.len(), 2, "{:#?}", r.risks);
        assert!(
            r.risks[1].message.contains("Longhorn volume"),
            "{}",
            r.risks[1].message
        );
    }

    #[test]
    fn only_what_opentofu_manages_is_destroyed() {
        let old = repo_lab("lab.ncl");
        let mut new = old.clone();
        new.databases.remove("crowdsec");
        let r = run(&old, &new);
        assert_eq!(r.risks.len(), 1, "{:#?}", r.risks);
        assert_eq!(r.risks[0].subject, "database crowdsec");
        assert!(r.risks[0].message.contains("OpenTofu module postgres"));
        // The SQL scripts never drop: no risk.
        let mut old_sql = old.clone();
        old_sql.postgres.as_mut().expect("postgres").manager = crate::model::PostgresManager::Sql;
        old_sql
            .tofu
            .as_mut()
            .expect("tofu")
            .modules
            .remove("postgres");
        let mut new_sql = old_sql.clone();
        new_sql.databases.remove("crowdsec");
        assert!(run(&old_sql, &new_sql).risks.is_empty());
        // No factory module: no repository labc would destroy.
        let mut old_bare = old.clone();
        old_bare
            .tofu
            .as_mut()
            .expect("tofu")
            .modules
            .remove("factory");
        let mut new_bare = old_bare.clone();
        new_bare.apps.remove("cms");
        let r = run(&old_bare, &new_bare);
        assert!(r.risks.is_empty(), "{:#?}", r.risks);
        assert_eq!(change(&r, Kind::App, "cms").action, Action::Removed);
    }

    #[test]
    fn a_host_losing_postgres_is_a_risk_and_the_service_moves() {
        let old = repo_lab("lab.ncl");
        let mut new = old.clone();
        let pi2 = new.hosts.get_mut("pi2").expect("pi2");
        pi2.services.remove(&Service::Postgres);
        new.hosts
            .get_mut("pi3")
            .expect("pi3")
            .services
            .insert(Service::Postgres);
        let r = run(&old, &new);
        assert_eq!(change(&r, Kind::Service, "postgres").action, Action::Moved);
        assert!(
            r.risks
                .iter()
                .any(|x| x.kind == RiskKind::StatefulService && x.subject == "host pi2"),
            "{:#?}",
            r.risks
        );
    }

    #[test]
    fn a_compose_stack_moves_with_its_files() {
        let old = repo_lab("lab.ncl");
        let mut new = old.clone();
        let host =
            |lab: &mut Lab, name: &str| lab.hosts.get_mut(name).expect("host").services.clone();
        let mut pi3 = host(&mut new, "pi3");
        pi3.remove(&Service::CiRunner);
        new.hosts.get_mut("pi3").expect("pi3").services = pi3;
        let mut pi2 = host(&mut new, "pi2");
        pi2.insert(Service::CiRunner);
        new.hosts.get_mut("pi2").expect("pi2").services = pi2;
        new.runner.as_mut().expect("runner").hosts = vec!["pi1".into(), "pi2".into()];
        let r = run(&old, &new);
        let stack = change(&r, Kind::ComposeStack, "runner");
        assert_eq!(stack.action, Action::Moved);
        assert_eq!(
            stack.fields,
            [FieldChange {
                field: "hosts".into(),
                old: Some("pi1, pi3".into()),
                new: Some("pi1, pi2".into()),
            }]
        );
        assert_eq!(stack.files.added, ["compose/pi2/runner/compose.yaml"]);
        assert_eq!(stack.files.removed, ["compose/pi3/runner/compose.yaml"]);
        assert_eq!(
            change(&r, Kind::AnsibleGroup, "ci_runner").action,
            Action::Changed
        );
        // A runner keeps no data: no risk.
        assert!(r.risks.is_empty(), "{:#?}", r.risks);
    }

    #[test]
    fn provider_majors_and_k3s_versions() {
        assert_eq!(major("7.0.1"), Some(7));
        assert_eq!(major("~> 5"), Some(5));
        assert_eq!(major(">= 10.2, < 11"), Some(10));
        assert_eq!(major("latest"), None);
        let old = repo_lab("lab.ncl");
        let mut new = old.clone();
        new.tofu
            .as_mut()
            .expect("tofu")
            .providers
            .get_mut("vault")
            .expect("vault")
            .version = "5.0.0".into();
        new.tofu
            .as_mut()
            .expect("tofu")
            .providers
            .get_mut("gitea")
            .expect("gitea")
            .version = "0.7.0".into();
        new.k3s.version = "v1.35.0+k3s1".into();
        let r = run(&old, &new);
        let risks: Vec<(RiskKind, &str)> = r
            .risks
            .iter()
            .map(|x| (x.kind, x.subject.as_str()))
            .collect();
        assert_eq!(
            risks,
            [
                (RiskKind::K3sVersion, "k3s cluster"),
                (RiskKind::ProviderMajor, "provider vault")
            ]
        );
        let gitea = change(&r, Kind::Provider, "gitea");
        assert_eq!(
            gitea.files.changed,
            ["docs/README.md", "tofu/factory/versions.tf"]
        );
    }

    #[test]
    fn words_are_whole() {
        assert!(contains_word("  erp:", "erp"));
        assert!(contains_word("host: erp.arcodange.lab", "erp"));
        assert!(!contains_word("erp-backup", "erp"));
        assert!(!contains_word("version = \"14.4.0\"", "4.4.0"));
        assert!(contains_word("version = \"4.4.0\"", "4.4.0"));
    }

    #[test]
    fn a_new_lab_adds_everything_and_risks_nothing() {
        let lab = repo_lab("lab.ncl");
        let files = side_files(&lab);
        let r = review(
            "base",
            None,
            Side {
                lab: &lab,
                files: &files,
            },
        );
        assert!(r.new_lab);
        assert!(r.risks.is_empty());
        assert!(r.changes.iter().all(|c| c.action == Action::Added));
        assert_eq!(r.files.added.len(), files.len());
        let webapp = change(&r, Kind::App, "webapp");
        assert!(
            webapp
                .files
                .added
                .contains(&"apps/webapp/values.yaml".to_string())
        );
        // The schema-less chart files name no item of the lab.
        assert!(
            r.other_files
                .added
                .contains(&"argocd/.helmignore".to_string())
        );
    }
}
