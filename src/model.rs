//! The validated lab: what every emitter reads.
//!
//! Every value here is resolved: names derived from the `<app>` (or
//! database) name are filled in (see [`crate::names`]), defaults applied,
//! cross-references checked. Emitters never derive, default or check.
//!
//! Invariants: maps are `BTreeMap` and sets `BTreeSet`, so iteration order is
//! the sorted order of names and never the order of `lab.ncl`; every name
//! here has already been checked valid wherever it ends up.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

pub use crate::raw::{
    Archetype, Exposure, ModuleKind, PostgresManager, Service, SslMode, UpdateStrategy, VaultPart,
};

#[derive(Debug, Clone)]
pub struct Lab {
    /// File name of the lab source, for the headers of generated files.
    pub source: String,
    pub name: String,
    pub domains: Domains,
    pub hosts: BTreeMap<String, Host>,
    pub k3s: K3s,
    // Every section below k3s is optional: a lab without one gets none of
    // its files (validation has made sure nothing present needs it).
    pub gitea: Option<Gitea>,
    pub postgres: Option<Postgres>,
    pub runner: Option<Runner>,
    pub argocd: Option<ArgoCd>,
    /// Empty when the lab has no apps.
    pub apps: BTreeMap<String, App>,
    /// Empty when the lab has no databases.
    pub databases: BTreeMap<String, Database>,
    pub vault: Option<Vault>,
    pub tofu: Option<Tofu>,
    pub longhorn: Option<Longhorn>,
    pub backups: Option<Backups>,
    pub step_ca: Option<StepCa>,
    /// App whose namespace runs pgbouncer, if the lab names one.
    pub pooler_app: Option<String>,
    pub pki: Option<Pki>,
    /// The records of the internal resolvers, if the lab has `dns`.
    pub dns: Option<Dns>,
}

/// The lab's certificate authority.
#[derive(Debug, Clone)]
pub struct Pki {
    /// step-ca's root certificate, on the hosts and where OpenTofu runs.
    pub root_ca_file: String,
    /// step-ca's ACME endpoint, for cert-manager.
    pub acme: Option<Acme>,
    /// The `ClusterIssuer` public ingresses' certificates come from
    /// (outside labc), if the lab names one.
    pub public_issuer: Option<String>,
}

/// cert-manager's `ClusterIssuer` for step-ca.
#[derive(Debug, Clone)]
pub struct Acme {
    /// ACME directory URL.
    pub url: String,
    /// step-ca's name (the host of `url`).
    pub host: String,
    /// step-ca's root, PEM, as the lab gives it.
    pub ca_bundle: String,
    /// The `ClusterIssuer`'s name.
    pub issuer: String,
    /// Secret cert-manager keeps the ACME account's key in.
    pub account_key_secret: String,
    pub ingress_class: String,
}

/// What the Pi-hole resolvers answer, identical on every one of them.
#[derive(Debug, Clone)]
pub struct Dns {
    pub ingress_address: Ipv4Addr,
    /// Every name the lab serves inside, with its address and what serves
    /// it (validation: each name once, every name in the internal domain).
    pub records: BTreeMap<String, DnsRecord>,
}

#[derive(Debug, Clone)]
pub struct DnsRecord {
    pub address: Ipv4Addr,
    /// What answers there, in a few words (for the docs and comments).
    pub served_by: String,
}

/// A cert-manager `Certificate` for one ingress host of an app.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The `Certificate` object's name, in the app's namespace.
    pub name: String,
    /// The TLS Secret cert-manager writes, which the ingress serves.
    pub secret: String,
    /// The `ClusterIssuer` it is requested from.
    pub issuer: String,
    pub host: String,
}

/// Settings of every app repository (see [`crate::raw::RepoSettings`]).
#[derive(Debug, Clone)]
pub struct RepoSettings {
    pub private: bool,
    pub default_branch: String,
    pub auto_init: bool,
    pub has_issues: bool,
    pub has_wiki: bool,
    pub has_pull_requests: bool,
    pub has_projects: bool,
    pub allow_merge_commits: bool,
    pub allow_rebase: bool,
    pub allow_rebase_explicit: bool,
    pub allow_squash_merge: bool,
    pub allow_manual_merge: bool,
    pub autodetect_manual_merge: bool,
    pub ignore_whitespace_conflicts: bool,
    pub archived: bool,
    pub template: bool,
}

#[derive(Debug, Clone)]
pub struct Domains {
    pub public: String,
    pub internal: String,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub address: Ipv4Addr,
    pub ssh_user: String,
    pub services: BTreeSet<Service>,
}

impl Host {
    pub fn has(&self, service: Service) -> bool {
        self.services.contains(&service)
    }
}

#[derive(Debug, Clone)]
pub struct K3s {
    pub version: String,
    /// Server hosts, sorted by host name: the inventory's `server` group in
    /// this order, whose first host k3s-ansible initialises the cluster on
    /// (`--cluster-init`, embedded etcd) when there are several.
    pub servers: Vec<String>,
    pub agents: Vec<String>,
    pub api_port: u16,
    /// Where agents and further servers join: `k3s.api_endpoint` (a load
    /// balancer or VIP in front of the servers), else the first server.
    pub api_endpoint: Ipv4Addr,
    /// Complete `k3s server` arguments (docker, disables, extras), in order.
    pub server_args: Vec<String>,
    /// Complete `k3s agent` arguments.
    pub agent_args: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub repository: String,
    pub tag: String,
}

impl Image {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

#[derive(Debug, Clone)]
pub struct Gitea {
    pub url: String,
    /// Host part of `url` (also the container registry).
    pub domain: String,
    pub default_org: String,
    pub image: Image,
    pub http_port: u16,
    pub ssh_port: u16,
    pub env_file: String,
    /// Inventory host carrying Gitea.
    pub host: String,
    /// Database Gitea uses on the PostgreSQL server.
    pub database: String,
    /// Login role Gitea connects as (see [`crate::names::gitea_database_user`]).
    pub database_user: String,
    pub repositories: RepoSettings,
}

#[derive(Debug, Clone)]
pub struct Postgres {
    pub image: Image,
    /// Major version of `image`, read from its tag (`16` for `postgres:16.10`):
    /// the data directory layout changed in 18.
    pub major_version: u32,
    pub port: u16,
    pub env_file: String,
    /// Inventory host carrying PostgreSQL.
    pub host: String,
    pub address: Ipv4Addr,
    pub credentials_editor: String,
    pub pgbouncer_auth: String,
    /// Who creates the roles, databases and `user_lookup()`.
    pub manager: PostgresManager,
    pub sslmode: SslMode,
}

#[derive(Debug, Clone)]
pub struct Runner {
    pub image: Image,
    pub labels: Vec<String>,
    pub env_file: String,
    /// Hosts carrying a runner, sorted.
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ArgoCd {
    pub host: String,
    /// Namespace ArgoCD and the Image Updater run in.
    pub namespace: String,
    /// How they are installed, if the lab says.
    pub install: Option<ArgoInstall>,
    pub project: String,
    pub target_revision: String,
    pub lab_repository: LabRepository,
    /// The root Application, which deploys the app-of-apps chart.
    pub root: RootApplication,
    /// The Image Updater's access to Gitea's registry (present whenever an
    /// app follows its image).
    pub registry: Option<Registry>,
}

/// ArgoCD's and the Image Updater's installs (03_cicd).
#[derive(Debug, Clone)]
pub struct ArgoInstall {
    pub installed: bool,
    pub argocd: ChartRef,
    pub image_updater: ChartRef,
}

/// An upstream chart at a pinned version, as an Argo CD source names it
/// (see [`UpstreamChart`]).
#[derive(Debug, Clone)]
pub struct ChartRef {
    /// The Helm release, also the Application's name.
    pub release: String,
    pub repo_url: String,
    /// `chart` of a Helm repository source; none for an OCI one.
    pub chart: Option<String>,
    pub version: String,
}

/// The repository holding the lab and labc's output.
#[derive(Debug, Clone)]
pub struct LabRepository {
    pub url: String,
    /// Folder of labc's output in it (no leading or trailing `/`).
    pub path: String,
    pub revision: String,
}

#[derive(Debug, Clone)]
pub struct RootApplication {
    /// Application name (see [`crate::names::root_application`]), distinct
    /// from every app's.
    pub name: String,
    pub prune: bool,
    pub self_heal: bool,
}

/// How the Image Updater reads Gitea's registry.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Registry API, `https://<gitea domain>`.
    pub api_url: String,
    /// Image prefix the entry applies to: the Gitea domain.
    pub prefix: String,
    /// `docker-registry` Secret in ArgoCD's namespace.
    pub pull_secret: String,
    /// CA certificate path inside the Image Updater's pod.
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub org: String,
    pub namespace: String,
    pub repo_url: String,
    pub image: Image,
    pub image_updater: Option<UpdateStrategy>,
    pub prune: bool,
    pub self_heal: bool,
    /// The lab states the sync policy (even if it equals the default): the
    /// app-of-apps values keep it.
    pub sync_explicit: bool,
    /// Deleting the Application deletes the app's resources (ArgoCD's
    /// resources finalizer).
    pub cascade_delete: bool,
    /// Deployment the app's chart runs it as: what VSO restarts when a
    /// secret it reads changes.
    pub deployment: String,
    pub archetype: Archetype,
    /// Database of a `Postgres` app (a key of `Lab::databases`).
    pub database: Option<String>,
    /// Longhorn volume size of a `Sqlite` app.
    pub volume_size: Option<String>,
    pub replicas: u32,
    pub port: u16,
    /// Ingress host names, by exposure.
    pub ingress: BTreeMap<Exposure, String>,
    /// The certificate of each ingress host that has one (internal ones
    /// with `pki.acme`, public ones with `pki.public_issuer`).
    pub certificates: BTreeMap<Exposure, Certificate>,
    pub vault: Option<AppVault>,
    /// The upstream Helm chart the app is, if it is one (then `repo_url` is
    /// the chart's source, `org` is empty and `image` only what the Image
    /// Updater follows).
    pub chart: Option<UpstreamChart>,
}

/// An upstream Helm chart, as an Argo CD source names it.
#[derive(Debug, Clone)]
pub struct UpstreamChart {
    /// The source's `repoURL`: the Helm repository, or the chart's OCI
    /// reference `oci://<registry path>/<chart>` (see [`crate::names::oci_chart`]).
    pub repo_url: String,
    /// `chart` of a Helm repository source; none for an OCI source, whose
    /// `path` is `.` (the chart is the artifact's root).
    pub chart: Option<String>,
    /// `targetRevision`: the pinned chart version.
    pub version: String,
    /// The lab's values for the chart, as written (data).
    pub values: BTreeMap<String, serde_json::Value>,
}

/// The Vault objects an app reads through. Names come from [`crate::names`]
/// so the OpenTofu declarations and the in-cluster resources agree.
#[derive(Debug, Clone)]
pub struct AppVault {
    /// Kubernetes auth role (bound to `service_account` in the namespace).
    pub auth_role: String,
    pub service_account: String,
    /// KV policy name.
    pub policy: String,
    /// Path of the app's secret in the KV v2 mount.
    pub kv_path: String,
    /// Vault database role issuing the app's credentials, if it has a database.
    pub database_role: Option<String>,
    /// `creds/<database_role>` in the database mount, with `database_role`.
    pub database_creds_path: Option<String>,
    /// Kubernetes Secret VSO writes the KV secret into.
    pub kv_secret: String,
    /// Kubernetes Secret VSO writes the database credentials into, with `database_role`.
    pub database_secret: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Database {
    pub name: String,
    pub owner_role: String,
    /// Vault database secret role name, if Vault issues its credentials.
    pub vault_role: Option<String>,
    /// Apps using this database.
    pub apps: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Vault {
    pub address: String,
    /// Address the Vault Secrets Operator connects to.
    pub operator_address: String,
    /// Secret (key `ca.crt`, in each app namespace) VSO verifies Vault's
    /// certificate with.
    pub operator_ca_secret: Option<String>,
    pub kubernetes_mount: String,
    pub kv_mount: String,
    pub database_mount: String,
    pub database_connection: String,
    pub database_ttl: u32,
    pub jwt_mount: String,
    pub jwt_role: String,
    /// Address the Kubernetes auth backend reviews tokens with.
    pub kubernetes_host: String,
    pub managed_elsewhere: BTreeSet<VaultPart>,
    /// The PostgreSQL connection's URL, with Vault's `{{username}}` and
    /// `{{password}}` placeholders (see [`crate::names::vault_connection_url`]);
    /// none in a lab without PostgreSQL.
    pub connection_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Tofu {
    pub state_bucket: String,
    pub gcp_project: String,
    pub gcp_region: String,
    pub providers: BTreeMap<String, Provider>,
    pub modules: BTreeMap<String, Module>,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub source: String,
    pub version: String,
}

#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub kind: ModuleKind,
    pub state_prefix: String,
    /// Local provider names, each a key of `Tofu::providers`.
    pub providers: BTreeSet<String>,
    /// Emit `import` blocks for everything the module declares.
    pub adopt: bool,
}

#[derive(Debug, Clone)]
pub struct Longhorn {
    pub storage_class: String,
    pub backup_bucket: String,
    /// Longhorn's backup target URL for `backup_bucket` (S3 interop).
    pub backup_target: String,
    pub namespace: String,
    pub s3_endpoint: String,
    /// Google service account whose HMAC key Longhorn uses.
    pub gcp_account: String,
    /// Where the key lives in Vault's KV v2 mount.
    pub kv_path: String,
    /// Vault policy reading it, and the Kubernetes auth role granting that
    /// policy to `service_account` in `namespace`.
    pub policy: String,
    pub auth_role: String,
    pub service_account: String,
    /// Secret with the bucket's credentials, in `namespace`.
    pub backup_secret: String,
}

#[derive(Debug, Clone)]
pub struct Backups {
    pub destination: String,
    /// Host exporting `destination` over NFS, if the lab shares it.
    pub nfs_host: Option<String>,
    pub postgres: Option<BackupJob>,
    pub gitea: Option<BackupJob>,
    pub k3s_pvc: Option<BackupJob>,
}

#[derive(Debug, Clone)]
pub struct BackupJob {
    /// The five cron fields, in order: minute, hour, day, month, weekday.
    pub minute: String,
    pub hour: String,
    pub day: String,
    pub month: String,
    pub weekday: String,
    pub keep_days: u32,
}

/// step-ca placement, present when any host carries step-ca.
#[derive(Debug, Clone)]
pub struct StepCa {
    pub primary: String,
    pub replicas: Vec<String>,
    /// Domain the PKI issues for (`*.<internal>`).
    pub domain: String,
}

/// One Ansible inventory group as labc derives it from the services each
/// host carries: its hosts, or the groups it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: &'static str,
    /// What the group is for, in a few words (for the generated docs).
    pub purpose: &'static str,
    pub hosts: Vec<String>,
    pub children: Vec<&'static str>,
}

impl Lab {
    /// step-ca's ACME issuer, if the lab has one.
    pub fn acme(&self) -> Option<&Acme> {
        self.pki.as_ref().and_then(|p| p.acme.as_ref())
    }

    /// The inventory's groups, in the order `hosts.yml` lists them
    /// (`local` holds localhost besides the hosts listed here).
    pub fn groups(&self) -> Vec<Group> {
        let with = |s: Service| -> Vec<String> {
            self.hosts
                .values()
                .filter(|h| h.has(s))
                .map(|h| h.name.clone())
                .collect()
        };
        let all: Vec<String> = self.hosts.keys().cloned().collect();
        let group = |name, purpose, hosts| Group {
            name,
            purpose,
            hosts,
            children: Vec::new(),
        };
        let mut step_ca = with(Service::StepCaPrimary);
        step_ca.extend(with(Service::StepCaReplica));
        step_ca.sort();
        // The guidebook's shape: Gitea lives with PostgreSQL, so `gitea` is
        // the `postgres` group; a lab placing them apart lists Gitea's host.
        let together = match (&self.gitea, &self.postgres) {
            (Some(g), Some(p)) => g.host == p.host,
            _ => false,
        };
        let gitea = if together {
            Group {
                children: vec!["postgres"],
                ..group("gitea", "Gitea (Compose, outside k3s)", Vec::new())
            }
        } else {
            group(
                "gitea",
                "Gitea (Compose, outside k3s)",
                with(Service::Gitea),
            )
        };
        vec![
            group("raspberries", "Every host; Ansible's SSH user", all.clone()),
            group("local", "Control-node tasks: localhost and every host", all),
            group(
                "postgres",
                "PostgreSQL (Compose, outside k3s)",
                with(Service::Postgres),
            ),
            gitea,
            group("pihole", "Internal DNS resolvers", with(Service::Pihole)),
            group("step_ca", "step-ca PKI, primary and replicas", step_ca),
            group(
                "ci_runner",
                "Gitea Actions runners (Compose)",
                with(Service::CiRunner),
            ),
            group(
                "server",
                "k3s servers (control plane)",
                self.k3s.servers.clone(),
            ),
            group("agent", "k3s agents", self.k3s.agents.clone()),
            Group {
                children: vec!["server", "agent"],
                ..group("k3s_cluster", "Every k3s node (k3s-ansible)", Vec::new())
            },
        ]
    }
}
