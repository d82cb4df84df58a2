//! Docs: `docs/README.md`, the lab's own guidebook page written from the
//! model: tables of hosts, inventory groups, apps, databases, OpenTofu
//! modules and backups, each row linking to the generated files it
//! summarises, and Mermaid diagrams (placement, each database-backed app's
//! credential chain, the provisioning order).
//!
//! The page comes from a minijinja template embedded at compile time
//! (`docs/README.md.j2`). Markdown escaping is done in one place: the
//! template environment's formatter escapes every value it prints unless
//! this module built it as Markdown already (links, diagrams), and Mermaid
//! labels go through [`mermaid_label`]. Node ids are indexes, never names,
//! so any valid lab name gives a valid diagram.
//!
//! Unlike the other emitters it also reads the paths the others wrote (to
//! link to them), so it runs after them: see [`crate::compile::emit_all`].

use super::File;
use crate::model::{Lab, ModuleKind, Service};
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

pub const PATH: &str = "docs/README.md";
const TEMPLATE: &str = include_str!("docs/README.md.j2");
const NONE: &str = "—";

/// The page, linking to `others` (every other generated path).
pub fn emit(lab: &Lab, others: &BTreeSet<String>) -> Vec<File> {
    let links = Links::new(others);
    let context = Page::new(lab, &links);
    let contents = render(&context).unwrap_or_else(|e| {
        // The template is labc's own and fixed: failing to render it is a
        // labc bug, shown in the page rather than hidden.
        format!("{}\nlabc bug: the docs template failed: {e}\n", header(lab))
    });
    vec![File {
        path: PATH.into(),
        contents,
    }]
}

fn header(lab: &Lab) -> String {
    let text = super::header("", lab);
    format!("<!--\n{}-->", text.replace("--", "- -"))
}

fn render(page: &Page) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown".into()));
    env.set_formatter(|out, _state, value| {
        // Strings (nearly every value) are written straight from the
        // value: at 1,000 apps a copy per value cost 25 M instructions.
        match (value.as_str(), value.is_safe()) {
            (Some(text), true) => out.write_str(text)?,
            (Some(text), false) => write_markdown(out, text)?,
            (None, true) => write!(out, "{value}")?,
            (None, false) => write_markdown(out, &value.to_string())?,
        }
        Ok(())
    });
    env.add_template("README.md", TEMPLATE)?;
    let text = env
        .get_template("README.md")?
        .render(Value::from(minijinja::value::Serde(page)))?;
    // One trailing newline, whatever the template's last lines.
    Ok(text.trim_end().to_owned() + "\n")
}

/// Text as Markdown shows it literally, in a paragraph or a table cell.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = write_markdown(&mut out, text);
    out
}

/// [`markdown`], written to `out`: runs of plain characters are written
/// whole, each markup character escaped.
fn write_markdown(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        let escaped = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '&' => None,
            '\n' | '\r' => Some(' '),
            _ => continue,
        };
        out.write_str(&text[plain..i])?;
        match escaped {
            Some(replacement) => out.write_char(replacement)?,
            None => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
        }
        plain = i + c.len_utf8();
    }
    out.write_str(&text[plain..])
}

/// Text inside a quoted Mermaid label (`["..."]`): quotes and markup
/// characters as Mermaid's entity codes.
pub fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '#' | '<' | '>' | '&' | ';' | '`' | '[' | ']' | '{' | '}' | '|' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A link to a URL of the lab (say, a repository), shown as itself.
fn external_link(url: &str) -> Value {
    let target = url
        .replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20");
    Value::from_safe_string(format!("[{}]({target})", markdown(url)))
}

/// The other generated files, to link to, indexed once by the names
/// their paths hold (a large lab has thousands of files and of rows).
struct Links<'a> {
    all: &'a BTreeSet<String>,
    by_name: HashMap<&'a str, Vec<&'a String>>,
}

impl<'a> Links<'a> {
    fn new(all: &'a BTreeSet<String>) -> Self {
        let mut by_name: HashMap<&str, Vec<&String>> = HashMap::new();
        for p in all {
            let mut names: Vec<&str> = Vec::new();
            for seg in p.split('/') {
                names.push(seg);
                if let Some((stem, _)) = seg.split_once('.') {
                    names.push(stem);
                }
            }
            names.sort_unstable();
            names.dedup();
            for n in names {
                by_name.entry(n).or_default().push(p);
            }
        }
        Links { all, by_name }
    }

    /// Markdown links to `paths` (relative to `docs/`), or a dash.
    fn to<'p>(&self, paths: impl IntoIterator<Item = &'p String>) -> Value {
        let mut links = String::new();
        for p in paths {
            if !links.is_empty() {
                links.push_str("<br>");
            }
            links.push('[');
            // Writing to a String cannot fail.
            let _ = write_markdown(&mut links, p);
            let _ = write!(links, "](../{p})");
        }
        if links.is_empty() {
            Value::from(NONE)
        } else {
            Value::from_safe_string(links)
        }
    }

    /// Files that name `name`: a folder of that name, or a file whose stem
    /// it is (`apps/webapp/values.yaml`, `sql/webapp.sql`).
    fn naming(&self, name: &str) -> Vec<&'a String> {
        self.by_name.get(name).cloned().unwrap_or_default()
    }

    fn under(&self, prefix: &str) -> Vec<&'a String> {
        self.all
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|p| p.starts_with(prefix))
            .collect()
    }

    fn exactly(&self, path: &str) -> Vec<&'a String> {
        self.all.get(path).into_iter().collect()
    }
}

fn or_none(items: Vec<String>) -> Vec<String> {
    if items.is_empty() {
        vec![NONE.to_owned()]
    } else {
        items
    }
}

#[derive(Serialize)]
struct Page {
    header: Value,
    lab: PageLab,
    hosts: Vec<HostRow>,
    placement: Value,
    groups: Vec<GroupRow>,
    apps: Vec<AppRow>,
    chains: Option<Value>,
    databases: Vec<DatabaseRow>,
    tofu: Option<TofuInfo>,
    modules: Vec<ModuleRow>,
    backups: Option<BackupInfo>,
    argocd: Option<ArgoInfo>,
    dns: Option<DnsInfo>,
    provisioning: Value,
}

#[derive(Serialize)]
struct ArgoInfo {
    host: String,
    namespace: String,
    /// None: the lab does not say how ArgoCD is installed.
    installed: Option<bool>,
    installs: Vec<Value>,
    links: Value,
}

#[derive(Serialize)]
struct DnsInfo {
    ingress_address: String,
    issuer: Option<String>,
    public_issuer: Option<String>,
    records: Vec<DnsRow>,
    links: Value,
}

#[derive(Serialize)]
struct DnsRow {
    name: String,
    address: String,
    served_by: String,
    certificate: String,
    links: Value,
}

#[derive(Serialize)]
struct PageLab {
    name: String,
    source: String,
}

#[derive(Serialize)]
struct HostRow {
    name: String,
    address: String,
    services: Vec<String>,
    groups: Vec<String>,
    stacks: Vec<String>,
    backups: Vec<String>,
    links: Value,
}

#[derive(Serialize)]
struct GroupRow {
    name: String,
    purpose: String,
    members: Value,
    links: Value,
}

#[derive(Serialize)]
struct AppRow {
    name: String,
    org: String,
    repo_url: Value,
    namespace: String,
    ingress: Vec<String>,
    archetype: String,
    database: String,
    vault_role: String,
    vault_secrets: Vec<String>,
    image_updater: String,
    sync: String,
    links: Value,
}

#[derive(Serialize)]
struct DatabaseRow {
    name: String,
    owner_role: String,
    granted_by: String,
    lookup_caller: String,
    vault_role: String,
    apps: Vec<String>,
    links: Value,
}

#[derive(Serialize)]
struct TofuInfo {
    state_bucket: String,
    gcp_project: String,
    gcp_region: String,
}

#[derive(Serialize)]
struct ModuleRow {
    name: String,
    kind: String,
    state_prefix: String,
    providers: Vec<String>,
    declares: String,
    links: Value,
}

#[derive(Serialize)]
struct BackupInfo {
    destination: String,
    nfs_host: Option<String>,
    jobs: Vec<BackupRow>,
}

#[derive(Serialize)]
struct BackupRow {
    what: String,
    host: String,
    schedule: String,
    keep_days: u32,
    links: Value,
}

/// What a service is called in the docs.
fn service_text(s: Service) -> &'static str {
    match s {
        Service::K3sServer => "k3s server",
        Service::K3sAgent => "k3s agent",
        Service::Postgres => "PostgreSQL",
        Service::Gitea => "Gitea",
        Service::Pihole => "Pi-hole",
        Service::StepCaPrimary => "step-ca primary",
        Service::StepCaReplica => "step-ca replica",
        Service::CiRunner => "Gitea runner",
    }
}

const INVENTORY: &str = "ansible/inventory/hosts.yml";
const ALL_VARS: &str = "ansible/inventory/group_vars/all.yml";

impl Page {
    fn new(lab: &Lab, links: &Links) -> Page {
        let groups = lab.groups();
        let hosts = lab
            .hosts
            .values()
            .map(|h| {
                let in_groups: Vec<String> = groups
                    .iter()
                    .filter(|g| g.hosts.contains(&h.name))
                    .map(|g| g.name.to_owned())
                    .collect();
                let compose = format!("compose/{}/", h.name);
                let stacks: BTreeSet<String> = links
                    .under(&compose)
                    .iter()
                    .filter_map(|p| p[compose.len()..].split('/').next().map(str::to_owned))
                    .collect();
                let mut held = Vec::new();
                let on = |host: Option<&String>| host == Some(&h.name);
                if let Some(b) = &lab.backups {
                    if b.postgres.is_some() && on(lab.postgres.as_ref().map(|p| &p.host)) {
                        held.push("PostgreSQL dumps".to_owned());
                    }
                    if b.gitea.is_some() && on(lab.gitea.as_ref().map(|g| &g.host)) {
                        held.push("Gitea dump".to_owned());
                    }
                    if on(b.nfs_host.as_ref()) {
                        held.push(format!("NFS share of {}", b.destination));
                    }
                }
                let mut files = links.exactly(INVENTORY);
                files.extend(links.exactly(&format!("ansible/inventory/host_vars/{}.yml", h.name)));
                files.extend(links.under(&compose));
                HostRow {
                    name: h.name.clone(),
                    address: h.address.to_string(),
                    services: h
                        .services
                        .iter()
                        .map(|s| service_text(*s).to_owned())
                        .collect(),
                    groups: or_none(in_groups),
                    stacks: or_none(stacks.into_iter().collect()),
                    backups: or_none(held),
                    links: links.to(files),
                }
            })
            .collect();
        let group_rows = groups
            .iter()
            .map(|g| {
                let mut members: Vec<String> = g.hosts.iter().map(|h| markdown(h)).collect();
                members.extend(
                    g.children
                        .iter()
                        .map(|c| format!("{} (group)", markdown(c))),
                );
                if g.name == "local" {
                    members.insert(0, "localhost".into());
                }
                let members = if members.is_empty() {
                    NONE.to_owned()
                } else {
                    members.join(", ")
                };
                GroupRow {
                    name: g.name.to_owned(),
                    purpose: g.purpose.to_owned(),
                    members: Value::from_safe_string(members),
                    links: links.to(links.exactly(INVENTORY)),
                }
            })
            .collect();
        let apps = lab
            .apps
            .values()
            .map(|a| {
                let vault = a.vault.as_ref();
                let mut secrets = Vec::new();
                if let (Some(v), Some(lab_vault)) = (vault, &lab.vault) {
                    secrets.push(format!(
                        "{} ({}/{})",
                        v.kv_secret, lab_vault.kv_mount, v.kv_path
                    ));
                    if let (Some(s), Some(p)) = (&v.database_secret, &v.database_creds_path) {
                        secrets.push(format!("{s} ({}/{p})", lab_vault.database_mount));
                    }
                }
                AppRow {
                    name: a.name.clone(),
                    // An upstream chart has no org: its name and version instead.
                    org: match &a.chart {
                        Some(c) => format!(
                            "chart {} {}",
                            c.chart.as_deref().unwrap_or("(OCI)"),
                            c.version
                        ),
                        None => a.org.clone(),
                    },
                    // An OCI reference is no page a browser opens: text.
                    repo_url: if a.repo_url.starts_with("oci://") {
                        Value::from_safe_string(markdown(&a.repo_url))
                    } else {
                        external_link(&a.repo_url)
                    },
                    namespace: a.namespace.clone(),
                    ingress: or_none(a.ingress.values().cloned().collect()),
                    archetype: a.archetype.as_str().to_owned(),
                    database: a.database.clone().unwrap_or_else(|| NONE.into()),
                    vault_role: vault.map_or(NONE.into(), |v| v.auth_role.clone()),
                    vault_secrets: or_none(secrets),
                    image_updater: a
                        .image_updater
                        .map_or(NONE.into(), |s| s.as_str().to_owned()),
                    sync: match (a.prune, a.self_heal) {
                        (true, true) => "automated, prune, self-heal".into(),
                        (true, false) => "automated, prune".into(),
                        (false, true) => "automated, self-heal".into(),
                        (false, false) => "automated".into(),
                    },
                    links: links.to(links.naming(&a.name)),
                }
            })
            .collect();
        let tofu_modules = || lab.tofu.iter().flat_map(|t| t.modules.values());
        let postgres_modules: Vec<&String> = tofu_modules()
            .filter(|m| m.kind == ModuleKind::Postgres)
            .map(|m| &m.name)
            .collect();
        let databases = lab
            .databases
            .values()
            .map(|d| {
                let mut files = links.naming(&d.name);
                for m in &postgres_modules {
                    files.extend(links.under(&format!("tofu/{m}/")));
                }
                files.sort();
                files.dedup();
                DatabaseRow {
                    name: d.name.clone(),
                    owner_role: d.owner_role.clone(),
                    granted_by: lab
                        .postgres
                        .as_ref()
                        .map_or(NONE.into(), |p| p.credentials_editor.clone()),
                    lookup_caller: lab
                        .postgres
                        .as_ref()
                        .map_or(NONE.into(), |p| p.pgbouncer_auth.clone()),
                    vault_role: d.vault_role.clone().unwrap_or_else(|| NONE.into()),
                    apps: or_none(d.apps.iter().cloned().collect()),
                    links: links.to(files),
                }
            })
            .collect();
        let modules = tofu_modules()
            .map(|m| ModuleRow {
                name: m.name.clone(),
                kind: m.kind.as_str().to_owned(),
                state_prefix: m.state_prefix.clone(),
                providers: m
                    .providers
                    .iter()
                    .filter_map(|p| {
                        let pinned = lab.tofu.as_ref().and_then(|t| t.providers.get(p));
                        pinned.map(|pr| (p, pr))
                    })
                    .map(|(p, pr)| format!("{p} ({} {})", pr.source, pr.version))
                    .collect(),
                declares: match m.kind {
                    ModuleKind::Postgres => {
                        "owner roles, databases, user_lookup() and its grants, per database".into()
                    }
                    ModuleKind::Factory => {
                        "Vault mounts, auth backend and database connection (unless managed elsewhere), policies and roles; Gitea repositories; Longhorn's backup bucket and its key in Vault"
                            .into()
                    }
                },
                links: links.to(links.under(&format!("tofu/{}/", m.name))),
            })
            .collect();
        let backups = lab.backups.as_ref().map(|b| {
            let host_of = |h: Option<&String>| h.cloned().unwrap_or_else(|| NONE.into());
            let jobs = [
                (
                    "PostgreSQL (every database)",
                    &b.postgres,
                    host_of(lab.postgres.as_ref().map(|p| &p.host)),
                ),
                (
                    "Gitea (gitea dump)",
                    &b.gitea,
                    host_of(lab.gitea.as_ref().map(|g| &g.host)),
                ),
                (
                    "k3s persistent volumes",
                    &b.k3s_pvc,
                    "every k3s node".to_owned(),
                ),
            ]
            .into_iter()
            .filter_map(|(what, job, host)| {
                job.as_ref().map(|j| BackupRow {
                    what: what.into(),
                    host,
                    schedule: format!(
                        "{} {} {} {} {}",
                        j.minute, j.hour, j.day, j.month, j.weekday
                    ),
                    keep_days: j.keep_days,
                    links: links.to(links.exactly(ALL_VARS)),
                })
            })
            .collect();
            BackupInfo {
                destination: b.destination.clone(),
                nfs_host: b.nfs_host.clone(),
                jobs,
            }
        });
        Page {
            header: Value::from_safe_string(header(lab)),
            lab: PageLab {
                name: lab.name.clone(),
                source: lab.source.clone(),
            },
            hosts,
            placement: Value::from_safe_string(placement(lab)),
            groups: group_rows,
            apps,
            chains: chains(lab).map(Value::from_safe_string),
            databases,
            tofu: lab.tofu.as_ref().map(|t| TofuInfo {
                state_bucket: t.state_bucket.clone(),
                gcp_project: t.gcp_project.clone(),
                gcp_region: t.gcp_region.clone(),
            }),
            modules,
            backups,
            argocd: lab.argocd.as_ref().map(|a| ArgoInfo {
                host: a.host.clone(),
                namespace: a.namespace.clone(),
                installed: a.install.as_ref().map(|i| i.installed),
                installs: a
                    .install
                    .iter()
                    .flat_map(|i| [&i.argocd, &i.image_updater])
                    .map(|c| {
                        // An OCI chart is named by its reference's last segment.
                        let name = c.chart.as_deref().unwrap_or_else(|| {
                            c.repo_url.rsplit('/').next().unwrap_or(&c.repo_url)
                        });
                        // An OCI reference is no page a browser opens: text.
                        let from = if c.repo_url.starts_with("oci://") {
                            markdown(&c.repo_url)
                        } else {
                            external_link(&c.repo_url).to_string()
                        };
                        Value::from_safe_string(format!(
                            "{} {} from {from}",
                            markdown(name),
                            markdown(&c.version),
                        ))
                    })
                    .collect(),
                links: links.to(links.exactly("argocd/root.yaml")),
            }),
            dns: lab.dns.as_ref().map(|d| {
                // Which certificate each name has: an app's ingress host's.
                let certificates: BTreeMap<&str, (&str, String)> = lab
                    .apps
                    .values()
                    .flat_map(|app| {
                        app.certificates.values().map(move |c| {
                            (
                                c.host.as_str(),
                                (
                                    c.issuer.as_str(),
                                    format!("apps/{}/certificates.yaml", app.name),
                                ),
                            )
                        })
                    })
                    .collect();
                let acme = lab.acme();
                DnsInfo {
                    ingress_address: d.ingress_address.to_string(),
                    issuer: acme.map(|a| a.issuer.clone()),
                    public_issuer: lab.pki.as_ref().and_then(|p| p.public_issuer.clone()),
                    records: d
                        .records
                        .iter()
                        .map(|(name, r)| {
                            let cert = certificates.get(name.as_str());
                            // ArgoCD's server: its chart's ingress asks step-ca.
                            let argocd_cert = lab.argocd.as_ref().is_some_and(|a| {
                                a.host == *name && a.install.is_some() && acme.is_some()
                            });
                            DnsRow {
                                name: name.clone(),
                                address: r.address.to_string(),
                                served_by: r.served_by.clone(),
                                certificate: match (cert, acme) {
                                    (Some((issuer, _)), _) => format!("from {issuer}"),
                                    (None, Some(a)) if argocd_cert => {
                                        format!("from {} (argo-cd's ingress)", a.issuer)
                                    }
                                    _ => NONE.to_owned(),
                                },
                                links: links.to(cert.map(|(_, p)| p)),
                            }
                        })
                        .collect(),
                    links: links.to(links.exactly("ansible/inventory/group_vars/pihole.yml")),
                }
            }),
            provisioning: Value::from_safe_string(provisioning(lab)),
        }
    }
}

/// Hosts as boxes holding their services; k3s servers and agents linked to
/// the first server, where the cluster's API is.
fn placement(lab: &Lab) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, h) in lab.hosts.values().enumerate() {
        let _ = writeln!(
            out,
            "    subgraph h{i}[\"{} · {}\"]",
            mermaid_label(&h.name),
            h.address
        );
        for (j, s) in h.services.iter().enumerate() {
            let _ = writeln!(
                out,
                "        h{i}s{j}[\"{}\"]",
                mermaid_label(service_text(*s))
            );
        }
        if h.services.is_empty() {
            let _ = writeln!(out, "        h{i}none[\"no services\"]");
        }
        out.push_str("    end\n");
    }
    let index = |name: &str| lab.hosts.keys().position(|k| k == name);
    if let Some(api) = lab.k3s.servers.first().and_then(|s| index(s)) {
        for agent in &lab.k3s.agents {
            if let Some(a) = index(agent) {
                let _ = writeln!(out, "    h{a} -. \"joins\" .-> h{api}");
            }
        }
        for server in lab.k3s.servers.iter().skip(1) {
            if let Some(s) = index(server) {
                let _ = writeln!(out, "    h{s} -. \"joins\" .-> h{api}");
            }
        }
    }
    out.trim_end().to_owned()
}

/// app → database → owner role → Vault role → VSO secret → Deployment, for
/// every app with a database; `None` when no app has one.
fn chains(lab: &Lab) -> Option<String> {
    let mut out = String::from("flowchart LR\n");
    let mut any = false;
    for (i, a) in lab.apps.values().enumerate() {
        let Some(db) = a.database.as_ref().and_then(|d| lab.databases.get(d)) else {
            continue;
        };
        any = true;
        let secret = a
            .vault
            .as_ref()
            .and_then(|v| v.database_secret.clone())
            .unwrap_or_else(|| "no Vault secret".into());
        let vault_role = db
            .vault_role
            .clone()
            .unwrap_or_else(|| "no Vault role".into());
        let steps = [
            format!("app {}", a.name),
            format!("database {}", db.name),
            format!("owner role {}", db.owner_role),
            format!("Vault role {vault_role}"),
            format!("VaultDynamicSecret {secret}"),
            format!("Deployment in {}", a.namespace),
        ];
        let nodes: Vec<String> = steps
            .iter()
            .enumerate()
            .map(|(j, s)| format!("a{i}n{j}[\"{}\"]", mermaid_label(s)))
            .collect();
        let _ = writeln!(out, "    {}", nodes.join(" --> "));
    }
    any.then(|| out.trim_end().to_owned())
}

/// The guidebook's playbooks in order, OpenTofu beside them, each with the
/// generated files it reads.
fn provisioning(lab: &Lab) -> String {
    let compose_hosts = |s: Service| -> String {
        let hosts: Vec<&str> = lab
            .hosts
            .values()
            .filter(|h| h.has(s))
            .map(|h| h.name.as_str())
            .collect();
        if hosts.is_empty() {
            "no compose files".into()
        } else {
            let folders: Vec<String> = hosts.iter().map(|h| format!("compose/{h}")).collect();
            folders.join(", ")
        }
    };
    let steps = [
        (
            "01_system",
            "OS, k3s, Longhorn".to_owned(),
            "ansible/inventory".to_owned(),
        ),
        (
            "02_setup",
            "PostgreSQL and Gitea".to_owned(),
            compose_hosts(Service::Postgres),
        ),
        (
            "03_cicd",
            "runners and ArgoCD".to_owned(),
            format!("{}, argocd/", compose_hosts(Service::CiRunner)),
        ),
        (
            "04_tools",
            "Vault and CrowdSec".to_owned(),
            "ansible/inventory".to_owned(),
        ),
        (
            "05_backup",
            "PostgreSQL, Gitea, PVC backups".to_owned(),
            "group_vars/all.yml backup_jobs".to_owned(),
        ),
    ];
    let mut out = String::from("flowchart LR\n");
    let ids: Vec<String> = (0..steps.len()).map(|i| format!("p{i}")).collect();
    for (id, (name, what, reads)) in ids.iter().zip(&steps) {
        let _ = writeln!(
            out,
            "    {id}[\"{}<br>{}<br>reads {}\"]",
            mermaid_label(name),
            mermaid_label(what),
            mermaid_label(reads)
        );
    }
    let _ = writeln!(out, "    {}", ids.join(" --> "));
    for (i, m) in lab.tofu.iter().flat_map(|t| t.modules.values()).enumerate() {
        let _ = writeln!(
            out,
            "    t{i}[(\"OpenTofu {}<br>reads tofu/{}<br>state {}\")] -.- p1",
            mermaid_label(&m.name),
            mermaid_label(&m.name),
            mermaid_label(&m.state_prefix)
        );
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_mermaid_escape_what_would_be_markup() {
        assert_eq!(markdown("a|b_c*[x](y)"), "a\\|b\\_c\\*\\[x\\](y)");
        assert_eq!(markdown("two\nlines"), "two lines");
        assert_eq!(mermaid_label("say \"hi\" <b>"), "say #34;hi#34; #60;b#62;");
    }

    #[test]
    fn reference_page_names_everything() {
        let lab = crate::compile::repo_lab("lab.ncl");
        let others: BTreeSet<String> = crate::compile::emit_all(&lab)
            .expect("emits")
            .into_keys()
            .filter(|p| p != PATH)
            .collect();
        let page = &emit(&lab, &others)[0].contents;
        assert!(page.starts_with("<!--\n Generated by labc"), "{page}");
        for name in lab
            .hosts
            .keys()
            .chain(lab.apps.keys())
            .chain(lab.databases.keys())
        {
            assert!(page.contains(&markdown(name)), "{name}");
        }
        assert!(!page.contains("labc bug"), "{page}");
    }
}
