//! The lab as written: the shape of `lab.ncl` and `lab.toml`, before any
//! check that spans more than one field.
//!
//! These types are the single source of the input's structure: the JSON
//! Schema (`schemas/lab.schema.json`) and the Nickel contracts
//! (`schemas/lab.ncl`) are both generated from them by `labc schema`, so the
//! three cannot drift. Field docs here become the docs editors show: every
//! field has one (hover shows it), and an enum value in a doc is written
//! `` `'value` `` (Nickel's tag), which the JSON Schema renders as TOML
//! writes it (`` `"value"` ``). Each enum variant's doc is listed under
//! every field of that enum.
//!
//! Invariants: every record denies unknown fields; every value labc derives
//! from a name is an `Option` here (absent = derived, present = override);
//! constraints that fit one field (ranges, patterns) are declared here so
//! that both schemas carry them.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Declares an input enum whose every variant is spelt once: the string
/// after `=` is both what serde reads (and both schemas offer) and what
/// [`as_str`](Service::as_str) gives back to messages and emitters.
macro_rules! spelt_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $spelling:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $spelling)] $variant, )+
        }

        impl $name {
            /// The spelling of this value in lab files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $spelling, )+
                }
            }
        }
    };
}

/// A name that ends up as a Kubernetes name, a SQL identifier, an Ansible
/// variable or a file name. Lowercase letters, digits, `-` and `_`.
pub(crate) const NAME: &str = "^[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";
/// An image reference with an explicit tag: `repository:tag`.
pub(crate) const IMAGE: &str =
    r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?[a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$";
/// A k3s release, e.g. `v1.34.3+k3s1`.
pub(crate) const K3S_VERSION: &str = r"^v[0-9]+\.[0-9]+\.[0-9]+\+k3s[0-9]+$";
/// A DNS domain, e.g. `arcodange.lab`.
pub(crate) const DOMAIN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$";
/// An `https://` URL with no trailing slash.
pub(crate) const HTTPS_URL: &str =
    r"^https://[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$";
/// An `http://` or `https://` URL with no trailing slash (an in-cluster
/// Service may speak plain HTTP).
pub(crate) const HTTP_URL: &str =
    r"^https?://[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$";
/// A relative path inside a repository: `/`-separated names, none empty and
/// none starting with `.` (so no `.`, `..` or hidden folder).
pub(crate) const REL_PATH: &str = r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$";
/// An absolute POSIX path.
pub(crate) const ABS_PATH: &str =
    r"^/([^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^/\x00-\x1f\x7f-\x9f\u2028\u2029])?$";
/// A Google Cloud project id, e.g. `arcodange`.
pub(crate) const GCP_PROJECT: &str = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$";
/// A Google Cloud region, e.g. `europe-west1`.
pub(crate) const GCP_REGION: &str = r"^[a-z]+-[a-z]+[0-9]+$";
/// An OpenTofu state prefix: `/`-separated names, e.g. `factory/main`.
pub(crate) const STATE_PREFIX: &str = r"^/?[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$";
/// A five-field cron schedule.
pub(crate) const CRON: &str = r"^\S+ \S+ \S+ \S+ \S+$";
/// An IPv4 address in dotted-quad form, each octet 0-255 without leading zeros.
pub(crate) const IPV4: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
/// A Kubernetes quantity for storage, e.g. `1Gi`.
pub(crate) const QUANTITY: &str = r"^[1-9][0-9]*(Ki|Mi|Gi|Ti)$";
/// A provider version constraint, e.g. `0.6.0` or `~> 5`.
pub(crate) const VERSION_CONSTRAINT: &str = r"^(~> |>= |= )?[0-9]+(\.[0-9]+){0,2}$";
/// A git branch name (no spaces, no `..`, not starting with `-`).
pub(crate) const BRANCH: &str = r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,99}$";
/// Where an upstream Helm chart is published: a Helm repository
/// (`https://`) or an OCI registry path (`oci://`), no trailing slash.
pub(crate) const CHART_REPO: &str =
    r"^(https://|oci://)[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$";
/// A Helm chart version, as its repository publishes it (SemVer 2, `v`
/// allowed): a pinned version, never a range.
pub(crate) const CHART_VERSION: &str =
    r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$";
/// A dotted path into a chart's values: keys of letters, digits, `_` and `-`.
pub(crate) const VALUES_PATH: &str = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$";
/// A Terraform registry source, `namespace/type`.
pub(crate) const PROVIDER_SOURCE: &str = r"^[a-z0-9-]+/[a-z0-9-]+$";

/// The value of each optional field a lab leaves out. Each is written here
/// only: `validate` applies it and both schemas show it as the field's
/// `default`, so editors, docs and labc agree.
pub mod defaults {
    use super::{PostgresManager, SslMode};
    pub const API_PORT: u16 = 6443;
    pub const GITEA_HTTP_PORT: u16 = 3000;
    pub const GITEA_SSH_PORT: u16 = 2222;
    pub const POSTGRES_PORT: u16 = 5432;
    pub const CREDENTIALS_EDITOR: &str = "credentials_editor";
    pub const PGBOUNCER_AUTH: &str = "pgbouncer_auth";
    pub const GITEA_DATABASE: &str = "gitea";
    pub const ARGOCD_PROJECT: &str = "default";
    /// Namespace ArgoCD and its Image Updater run in (their charts' own
    /// default): Applications and ImageUpdaters are picked up there only.
    pub const ARGOCD_NAMESPACE: &str = "argocd";
    /// Name of the `ClusterIssuer` labc writes for step-ca's ACME endpoint.
    pub const ACME_ISSUER: &str = "step-ca";
    /// Ingress class of the ACME HTTP-01 solver's ingress: the lab's
    /// Traefik (k3s's own is disabled, the lab installs its own).
    pub const ACME_INGRESS_CLASS: &str = "traefik";
    pub const TARGET_REVISION: &str = "HEAD";
    /// Where `labc build` writes, relative to the lab file: the folder of
    /// the lab repository the Applications read from.
    pub const LAB_REPOSITORY_PATH: &str = "generated";
    /// Longhorn's own namespace (its install puts it there).
    pub const LONGHORN_NAMESPACE: &str = "longhorn-system";
    pub const LONGHORN_BACKUP_SECRET: &str = "longhorn-backup";
    pub const APP_PORT: u16 = 8080;
    pub const REPLICAS: u32 = 1;
    pub const VOLUME_SIZE: &str = "1Gi";
    pub const PRUNE: bool = true;
    pub const SELF_HEAL: bool = true;
    pub const DATABASE_VAULT: bool = true;
    pub const KUBERNETES_MOUNT: &str = "kubernetes";
    pub const KV_MOUNT: &str = "kvv2";
    pub const DATABASE_MOUNT: &str = "postgres";
    pub const DATABASE_CONNECTION: &str = "postgres";
    pub const DATABASE_TTL: u32 = 3600;
    pub const STORAGE_CLASS: &str = "longhorn";
    pub const K3S_DOCKER: bool = false;
    /// The guidebook's choice: `postgres/iac` owns the PostgreSQL objects.
    pub const POSTGRES_MANAGER: PostgresManager = PostgresManager::Opentofu;
    /// The Kubernetes API as a Vault running in the cluster reaches it.
    /// What the Compose PostgreSQL labc writes offers: no TLS.
    pub const POSTGRES_SSLMODE: SslMode = SslMode::Disable;
    pub const KUBERNETES_HOST: &str = "https://kubernetes.default.svc";
    pub const ADOPT: bool = false;
    /// GCS's S3-compatible endpoint (Longhorn's `AWS_ENDPOINTS`).
    pub const LONGHORN_S3_ENDPOINT: &str = "https://storage.googleapis.com";
    // A new Gitea repository's settings, as Gitea itself makes one (not
    // the go-gitea provider's defaults, several of which differ).
    pub const REPO_PRIVATE: bool = true;
    pub const REPO_DEFAULT_BRANCH: &str = "main";
    pub const REPO_AUTO_INIT: bool = false;
    pub const REPO_HAS_ISSUES: bool = true;
    pub const REPO_HAS_WIKI: bool = true;
    pub const REPO_HAS_PULL_REQUESTS: bool = true;
    pub const REPO_HAS_PROJECTS: bool = true;
    pub const REPO_ALLOW_MERGE_COMMITS: bool = true;
    pub const REPO_ALLOW_REBASE: bool = true;
    pub const REPO_ALLOW_REBASE_EXPLICIT: bool = true;
    pub const REPO_ALLOW_SQUASH_MERGE: bool = true;
    pub const REPO_ALLOW_MANUAL_MERGE: bool = false;
    pub const REPO_AUTODETECT_MANUAL_MERGE: bool = false;
    pub const REPO_IGNORE_WHITESPACE_CONFLICTS: bool = false;
    pub const REPO_ARCHIVED: bool = false;
    pub const REPO_TEMPLATE: bool = false;
}

/// The whole lab.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// Short name of the lab; names the Compose projects' prefix and the
    /// ArgoCD project when none is given.
    #[schemars(regex(pattern = NAME))]
    pub name: String,
    /// The two DNS domains apps are exposed on.
    pub domains: Domains,
    /// SSH user Ansible logs in as, on every host that does not set its own.
    #[schemars(regex(pattern = NAME))]
    pub ssh_user: String,
    /// The machines of the lab, keyed by inventory host name. The services a
    /// host carries decide every Ansible group it belongs to.
    pub hosts: BTreeMap<String, Host>,
    /// The k3s cluster. Servers and agents are the hosts carrying
    /// `'k3s_server` (one, or an odd number for a high-availability control
    /// plane on embedded etcd) and `'k3s_agent` (any number, none included).
    pub k3s: K3s,
    /// Gitea, the source of truth for code, run with Compose on the host
    /// carrying `'gitea`. Optional; needs `postgres` (its database).
    #[serde(default)]
    pub gitea: Option<Gitea>,
    /// PostgreSQL, run with Compose on the host carrying `'postgres`.
    /// Optional; needed by `databases`, `gitea` and a `'postgres` module.
    #[serde(default)]
    pub postgres: Option<Postgres>,
    /// The Gitea Actions runners, one per host carrying `'ci_runner`.
    /// Optional; needs `gitea`.
    #[serde(default)]
    pub runner: Option<Runner>,
    /// ArgoCD and its Image Updater. Optional; needed by `apps` and
    /// `longhorn`.
    #[serde(default)]
    pub argocd: Option<ArgoCd>,
    /// The apps ArgoCD deploys, keyed by the `<app>` name everything
    /// derives from (namespace, repository, roles, policies).
    #[serde(default)]
    pub apps: BTreeMap<String, App>,
    /// PostgreSQL databases, keyed by database name. Not only apps': any
    /// service of the lab may own one.
    #[serde(default)]
    pub databases: BTreeMap<String, Database>,
    /// HashiCorp Vault: auth mounts, engines and the CI login. Optional;
    /// needed by apps and databases that read or issue credentials through
    /// it, and by a `'factory` module.
    #[serde(default)]
    pub vault: Option<Vault>,
    /// OpenTofu: state backend, modules and pinned providers. Optional;
    /// needed by `longhorn` (its bucket's region) and by `postgres` with
    /// `manager = 'opentofu`.
    #[serde(default)]
    pub tofu: Option<Tofu>,
    /// Longhorn, the cluster's block storage, and its off-site backups.
    /// Optional; needed by `'sqlite` apps of the lab's own chart; needs
    /// `argocd` and `tofu`.
    #[serde(default)]
    pub longhorn: Option<Longhorn>,
    /// The scheduled backups of the `05_backup` playbook. Optional; each
    /// job needs what it backs up.
    #[serde(default)]
    pub backups: Option<Backups>,
    /// The lab's own certificate authority (step-ca). Without it, TLS
    /// clients labc configures trust the public roots only.
    #[serde(default)]
    pub pki: Option<Pki>,
    /// Internal DNS: the records the Pi-hole resolvers (the hosts carrying
    /// `'pihole`) answer for the lab's names inside `domains.internal`.
    /// Optional; needs a host carrying `'pihole`.
    #[serde(default)]
    pub dns: Option<Dns>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// IPv4 address the cluster's ingress controller answers on: every
    /// name served from the cluster (apps' internal ingresses, ArgoCD,
    /// Vault) resolves to it. Names of services on a host (Gitea, step-ca)
    /// resolve to that host's address.
    #[schemars(regex(pattern = IPV4))]
    pub ingress_address: String,
}

/// step-ca's ACME endpoint, for cert-manager.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// ACME directory URL of step-ca's ACME provisioner, e.g.
    /// `https://ca.example.lab/acme/acme/directory`. Its host is step-ca's
    /// name, served by the host carrying `'step_ca_primary`.
    #[schemars(regex(pattern = HTTPS_URL))]
    pub url: String,
    /// step-ca's root certificate, PEM (`step ca root`): cert-manager
    /// verifies the ACME endpoint with it. A public certificate, not a
    /// secret; one or more `CERTIFICATE` blocks.
    pub ca_bundle: String,
    /// Name of the `ClusterIssuer`, which every internal ingress's
    /// certificate names.
    #[serde(default)]
    #[schemars(extend("default" = defaults::ACME_ISSUER))]
    #[schemars(regex(pattern = NAME))]
    pub issuer: Option<String>,
    /// Ingress class of the HTTP-01 solver's temporary ingress.
    #[serde(default)]
    #[schemars(extend("default" = defaults::ACME_INGRESS_CLASS))]
    #[schemars(regex(pattern = NAME))]
    pub ingress_class: Option<String>,
}

impl Lab {
    /// step-ca's ACME endpoint, if the lab names one.
    pub fn acme(&self) -> Option<&Acme> {
        self.pki.as_ref().and_then(|p| p.acme.as_ref())
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pki {
    /// step-ca's root certificate (PEM), where the hosts and OpenTofu's runs
    /// have it: the Vault and Gitea providers trust it, and each runner
    /// container gets it mounted read-only beside the public roots.
    #[schemars(regex(pattern = ABS_PATH))]
    pub root_ca_file: String,
    /// step-ca's ACME endpoint: labc writes a cert-manager `ClusterIssuer`
    /// for it and a `Certificate` for every internal ingress. None: no
    /// certificates are requested.
    #[serde(default)]
    pub acme: Option<Acme>,
    /// A cert-manager `ClusterIssuer` that exists outside labc (e.g. Let's
    /// Encrypt's): every public ingress gets a `Certificate` from it. None:
    /// labc requests no certificate for public ingresses.
    #[serde(default)]
    #[schemars(regex(pattern = NAME))]
    pub public_issuer: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Domains {
    /// Public domain (`<app>.<public>` for internet-facing ingresses).
    #[schemars(regex(pattern = DOMAIN))]
    pub public: String,
    /// Internal domain (`<app>.<internal>`), also the step-ca PKI's domain.
    #[schemars(regex(pattern = DOMAIN))]
    pub internal: String,
}

/// One machine.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// IPv4 address Ansible reaches the host on.
    #[schemars(regex(pattern = IPV4))]
    pub address: String,
    /// Overrides the lab's `ssh_user` for this host.
    #[serde(default)]
    #[schemars(regex(pattern = NAME))]
    pub ssh_user: Option<String>,
    /// What runs on this host.
    pub services: Vec<Service>,
}

spelt_enum! {
    /// A service a host can carry.
    pub enum Service {
        /// A k3s server (control plane) node.
        K3sServer = "k3s_server",
        /// A k3s agent (worker) node.
        K3sAgent = "k3s_agent",
        /// The PostgreSQL server (Compose, outside k3s). Exactly one host.
        Postgres = "postgres",
        /// The Gitea server (Compose, outside k3s). Exactly one host.
        Gitea = "gitea",
        /// A Pi-hole internal DNS resolver.
        Pihole = "pihole",
        /// The step-ca primary. Exactly one host when step-ca is used.
        StepCaPrimary = "step_ca_primary",
        /// A step-ca replica.
        StepCaReplica = "step_ca_replica",
        /// A Gitea Actions runner (Compose).
        CiRunner = "ci_runner",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct K3s {
    /// k3s release installed by k3s-ansible, e.g. `v1.34.3+k3s1`.
    #[schemars(regex(pattern = K3S_VERSION))]
    pub version: String,
    /// Run every node on Docker (cri-dockerd) instead of containerd.
    #[serde(default)]
    #[schemars(extend("default" = defaults::K3S_DOCKER))]
    pub docker: Option<bool>,
    /// Packaged components the servers must not deploy, e.g. `traefik`.
    #[serde(default)]
    pub disable: Option<Vec<String>>,
    /// Further `k3s server` arguments, passed verbatim.
    #[serde(default)]
    pub extra_server_args: Option<Vec<String>>,
    /// Further `k3s agent` arguments, passed verbatim.
    #[serde(default)]
    pub extra_agent_args: Option<Vec<String>>,
    /// Port of the Kubernetes API on the servers.
    #[serde(default)]
    #[schemars(extend("default" = defaults::API_PORT))]
    #[schemars(range(min = 1, max = 65535))]
    pub api_port: Option<u32>,
    /// IPv4 address agents and further servers join the cluster through
    /// (k3s-ansible's `api_endpoint`): a load balancer or VIP in front of
    /// the servers. Default: the address of the first server by host name,
    /// the one k3s-ansible initialises the cluster on.
    #[serde(default)]
    #[schemars(regex(pattern = IPV4))]
    pub api_endpoint: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gitea {
    /// Base URL of Gitea; app repositories are `<url>/<org>/<app>`.
    #[schemars(regex(pattern = HTTPS_URL))]
    pub url: String,
    /// Organisation apps live in unless they name their own.
    #[schemars(regex(pattern = NAME))]
    pub default_org: String,
    /// Gitea server image, with an explicit tag.
    #[schemars(regex(pattern = IMAGE))]
    pub image: String,
    /// Port Gitea's web UI and API listen on, on its host.
    #[serde(default)]
    #[schemars(extend("default" = defaults::GITEA_HTTP_PORT))]
    #[schemars(range(min = 1, max = 65535))]
    pub http_port: Option<u32>,
    /// Port Gitea's SSH server is published on, on its host.
    #[serde(default)]
    #[schemars(extend("default" = defaults::GITEA_SSH_PORT))]
    #[schemars(range(min = 1, max = 65535))]
    pub ssh_port: Option<u32>,
    /// Env file on the Gitea host holding its secrets
    /// (`GITEA__database__PASSWD`). Named here, never inlined.
    #[schemars(regex(pattern = ABS_PATH))]
    pub env_file: String,
    /// The settings of every app repository OpenTofu manages. The Gitea
    /// provider writes all of them on any update of a repository, so they
    /// must be what the running repositories have.
    #[serde(default)]
    pub repositories: Option<RepoSettings>,
}

/// A Gitea repository's settings (go-gitea/gitea's `gitea_repository`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoSettings {
    /// Whether the repositories are private.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_PRIVATE))]
    pub private: Option<bool>,
    /// Default branch of the repositories.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_DEFAULT_BRANCH))]
    #[schemars(regex(pattern = BRANCH))]
    pub default_branch: Option<String>,
    /// Whether a repository OpenTofu creates gets a first commit (only used
    /// at creation; an empty repository takes a first push).
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_AUTO_INIT))]
    pub auto_init: Option<bool>,
    /// Whether the issue tracker is on.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_HAS_ISSUES))]
    pub has_issues: Option<bool>,
    /// Whether the wiki is on.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_HAS_WIKI))]
    pub has_wiki: Option<bool>,
    /// Whether pull requests are on.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_HAS_PULL_REQUESTS))]
    pub has_pull_requests: Option<bool>,
    /// Whether projects (boards) are on.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_HAS_PROJECTS))]
    pub has_projects: Option<bool>,
    /// Whether pull requests may be merged with a merge commit.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_ALLOW_MERGE_COMMITS))]
    pub allow_merge_commits: Option<bool>,
    /// Whether pull requests may be rebased onto the branch.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_ALLOW_REBASE))]
    pub allow_rebase: Option<bool>,
    /// Whether pull requests may be rebased with a merge commit (`--no-ff`).
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_ALLOW_REBASE_EXPLICIT))]
    pub allow_rebase_explicit: Option<bool>,
    /// Whether pull requests may be squashed into one commit.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_ALLOW_SQUASH_MERGE))]
    pub allow_squash_merge: Option<bool>,
    /// Whether a pull request merged outside Gitea may be marked merged by hand.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_ALLOW_MANUAL_MERGE))]
    pub allow_manual_merge: Option<bool>,
    /// Whether Gitea marks a pull request merged when its commits reach the branch outside it.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_AUTODETECT_MANUAL_MERGE))]
    pub autodetect_manual_merge: Option<bool>,
    /// Whether whitespace-only changes are ignored when checking pull requests for conflicts.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_IGNORE_WHITESPACE_CONFLICTS))]
    pub ignore_whitespace_conflicts: Option<bool>,
    /// Whether the repositories are archived (read-only).
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_ARCHIVED))]
    pub archived: Option<bool>,
    /// Whether the repositories are templates.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPO_TEMPLATE))]
    pub template: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Postgres {
    /// PostgreSQL server image, with an explicit tag.
    #[schemars(regex(pattern = IMAGE))]
    pub image: String,
    /// Port PostgreSQL is published on.
    #[serde(default)]
    #[schemars(extend("default" = defaults::POSTGRES_PORT))]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Env file on the PostgreSQL host holding `POSTGRES_PASSWORD`.
    #[schemars(regex(pattern = ABS_PATH))]
    pub env_file: String,
    /// Shared login role that holds every owner role with admin option.
    #[serde(default)]
    #[schemars(extend("default" = defaults::CREDENTIALS_EDITOR))]
    #[schemars(regex(pattern = NAME))]
    pub credentials_editor: Option<String>,
    /// Login role pgbouncer authenticates with to call `user_lookup()`.
    #[serde(default)]
    #[schemars(extend("default" = defaults::PGBOUNCER_AUTH))]
    #[schemars(regex(pattern = NAME))]
    pub pgbouncer_auth: Option<String>,
    /// The app whose namespace runs pgbouncer, the pooler that calls each
    /// database's `user_lookup()` as `pgbouncer_auth`.
    #[serde(default)]
    pub pooler_app: Option<String>,
    /// Database Gitea keeps its data in.
    #[serde(default)]
    #[schemars(extend("default" = defaults::GITEA_DATABASE))]
    #[schemars(regex(pattern = NAME))]
    pub gitea_database: Option<String>,
    /// Who creates the lab's roles, databases and `user_lookup()`: an
    /// OpenTofu module of kind `'postgres`, or the SQL scripts of
    /// `generated/sql/`. Only that one is generated.
    #[serde(default)]
    #[schemars(extend("default" = defaults::POSTGRES_MANAGER.as_str()))]
    pub manager: Option<PostgresManager>,
    /// TLS to PostgreSQL, as lib/pq (the OpenTofu provider) and Vault's
    /// connection see it. The default matches the Compose PostgreSQL labc
    /// writes, which has no TLS; lib/pq's own default would be `'require`,
    /// so labc always writes it out.
    #[serde(default)]
    #[schemars(extend("default" = defaults::POSTGRES_SSLMODE.as_str()))]
    pub sslmode: Option<SslMode>,
}

spelt_enum! {
    pub enum PostgresManager {
        /// The OpenTofu module of kind `'postgres` (the guidebook's `postgres/iac`).
        Opentofu = "opentofu",
        /// The psql scripts of `generated/sql/`.
        Sql = "sql",
    }
}

spelt_enum! {
    pub enum SslMode {
        /// No TLS.
        Disable = "disable",
        /// TLS, without checking the certificate.
        Require = "require",
        /// TLS, with a certificate signed by `pki.root_ca_file`.
        VerifyCa = "verify_ca",
        /// TLS, with a certificate signed by `pki.root_ca_file` for the server's name.
        VerifyFull = "verify_full",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Runner {
    /// Runner image (`gitea/runner`), with an explicit tag.
    #[schemars(regex(pattern = IMAGE))]
    pub image: String,
    /// Labels the runners register with, e.g. `ubuntu-latest:docker://node:20-bookworm`.
    pub labels: Vec<String>,
    /// Env file on each runner host holding `GITEA_RUNNER_REGISTRATION_TOKEN`.
    #[schemars(regex(pattern = ABS_PATH))]
    pub env_file: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoCd {
    /// Host name ArgoCD (and its Image Updater) is reached on.
    #[schemars(regex(pattern = DOMAIN))]
    pub host: String,
    /// ArgoCD project of every Application.
    #[serde(default)]
    #[schemars(extend("default" = defaults::ARGOCD_PROJECT))]
    #[schemars(regex(pattern = NAME))]
    pub project: Option<String>,
    /// Git revision every Application tracks.
    #[serde(default)]
    #[schemars(extend("default" = defaults::TARGET_REVISION))]
    pub target_revision: Option<String>,
    /// The repository holding this lab and labc's output: the root
    /// Application deploys the app-of-apps chart (`<path>/argocd`) from it,
    /// and every app reads its values and Vault resources from it.
    pub lab_repository: LabRepository,
    /// How the Image Updater reads Gitea's container registry (the default
    /// images' registry). Required when an app sets `image_updater`.
    #[serde(default)]
    pub registry: Option<Registry>,
    /// Automated sync of the root Application: with `prune`, an app removed
    /// from the lab loses its Application. Default: prune and self-heal on.
    #[serde(default)]
    pub root_sync: Option<Sync>,
    /// Namespace ArgoCD and its Image Updater run in; every Application
    /// and ImageUpdater labc writes lives there.
    #[serde(default)]
    #[schemars(extend("default" = defaults::ARGOCD_NAMESPACE))]
    #[schemars(regex(pattern = NAME))]
    pub namespace: Option<String>,
    /// How ArgoCD and its Image Updater are installed (the `03_cicd`
    /// playbook's install): the upstream charts at pinned versions, and
    /// whether that install has been made.
    #[serde(default)]
    pub install: Option<ArgoInstall>,
}

/// ArgoCD's own install.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoInstall {
    /// Whether ArgoCD runs in the cluster now. While `false`, nothing labc
    /// writes for ArgoCD is applied by anyone, and the generated docs say so.
    pub installed: bool,
    /// ArgoCD's chart (`argo-cd`).
    pub argocd: ChartRef,
    /// The Image Updater's chart (`argocd-image-updater`).
    pub image_updater: ChartRef,
}

/// An upstream Helm chart at a pinned version.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRef {
    /// The Helm repository (`https://...`) or OCI registry path
    /// (`oci://...`, without the chart name) it is published in.
    #[schemars(regex(pattern = CHART_REPO))]
    pub repo: String,
    /// The chart's name in that repository.
    #[schemars(regex(pattern = NAME))]
    pub name: String,
    /// The chart version, pinned.
    #[schemars(regex(pattern = CHART_VERSION))]
    pub version: String,
    /// The Helm release, as 03_cicd's `helm install <release>` names it:
    /// the chart names every object after it, so the Application that
    /// adopts the install must use the same. Default: the chart's `name`.
    #[serde(default)]
    #[schemars(regex(pattern = NAME))]
    pub release: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabRepository {
    /// Git URL ArgoCD clones the lab repository from.
    #[schemars(regex(pattern = HTTPS_URL))]
    pub url: String,
    /// Folder of labc's output in the repository, relative to its root.
    #[serde(default)]
    #[schemars(extend("default" = defaults::LAB_REPOSITORY_PATH))]
    #[schemars(regex(pattern = REL_PATH))]
    pub path: Option<String>,
    /// Git revision of the lab repository ArgoCD tracks. Default:
    /// `argocd.target_revision`.
    #[serde(default)]
    pub revision: Option<String>,
}

/// Access of the Image Updater to Gitea's container registry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// `docker-registry` Secret, in ArgoCD's namespace, holding a Gitea
    /// login allowed to read the packages (named here, never inlined).
    #[schemars(regex(pattern = NAME))]
    pub pull_secret: String,
    /// Path, inside the Image Updater's pod, of the PEM certificate of the
    /// CA that signed Gitea's certificate (step-ca's root). With
    /// `argocd.install`, labc mounts `pki.acme.ca_bundle` there; without
    /// it, the Image Updater's install must. None: the system's public roots.
    #[serde(default)]
    #[schemars(regex(pattern = ABS_PATH))]
    pub ca_file: Option<String>,
}

/// One app deployed by ArgoCD.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// How the app keeps its state.
    pub archetype: Archetype,
    /// Gitea organisation of the app's repository. Default: `gitea.default_org`.
    /// Not for an upstream `chart`.
    #[serde(default)]
    #[schemars(regex(pattern = NAME))]
    pub org: Option<String>,
    /// Kubernetes namespace. Default: the app name.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Git repository ArgoCD deploys from. Default: `<gitea.url>/<org>/<app>`.
    #[serde(default)]
    #[schemars(regex(pattern = HTTPS_URL))]
    pub repo_url: Option<String>,
    /// Container image with an explicit tag. Default:
    /// `<gitea host>/<org>/<app>:latest` (Gitea's registry).
    #[serde(default)]
    #[schemars(regex(pattern = IMAGE))]
    pub image: Option<String>,
    /// Let ArgoCD Image Updater follow the image with this strategy.
    #[serde(default)]
    pub image_updater: Option<UpdateStrategy>,
    /// ArgoCD automated sync. Default: prune and self-heal on.
    #[serde(default)]
    pub sync: Option<Sync>,
    /// Where the app is exposed.
    #[serde(default)]
    pub ingress: Option<Vec<Exposure>>,
    /// Port the app's container listens on.
    #[serde(default)]
    #[schemars(extend("default" = defaults::APP_PORT))]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Pod replicas; a `'sqlite` app must have exactly 1.
    #[serde(default)]
    #[schemars(extend("default" = defaults::REPLICAS))]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: Option<u32>,
    /// Database of a `'postgres` app. Default: the app name.
    #[serde(default)]
    pub database: Option<String>,
    /// Size of a `'sqlite` app's Longhorn volume.
    #[serde(default)]
    #[schemars(extend("default" = defaults::VOLUME_SIZE))]
    #[schemars(regex(pattern = QUANTITY))]
    pub volume_size: Option<String>,
    /// Whether the app reads Vault (Kubernetes auth role, KV policy, and
    /// database credentials if it has a database). Default: on for
    /// `'postgres` apps in a lab with `vault`, off otherwise.
    #[serde(default)]
    pub vault: Option<bool>,
    /// Whether deleting the app's Application (removing the app from the
    /// lab) deletes its Kubernetes resources, volumes included (ArgoCD's
    /// resources finalizer). Default: off for `'sqlite` apps, whose volume
    /// holds their data; on otherwise.
    #[serde(default)]
    pub cascade_delete: Option<bool>,
    /// An upstream Helm chart the app is, instead of a chart in its own
    /// Gitea repository: no Gitea repository, no image of the lab's
    /// registry. Its settings are `values`; `org`, `repo_url`, `port`,
    /// `replicas`, `volume_size` and `ingress` are the chart's, not labc's.
    #[serde(default)]
    pub chart: Option<Chart>,
    /// Helm values of an upstream `chart` (written as data to the values
    /// file its Application reads). Whole numbers only: write a fractional
    /// one as a string.
    #[serde(default)]
    pub values: Option<BTreeMap<String, serde_json::Value>>,
}

/// A Helm chart published upstream, at a pinned version.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// The Helm repository (`https://...`, the URL `helm repo add` takes) or
    /// the OCI registry path (`oci://registry/path`, without the chart
    /// name) the chart is published in.
    #[schemars(regex(pattern = CHART_REPO))]
    pub repo: String,
    /// The chart's name in that repository.
    #[schemars(regex(pattern = NAME))]
    pub name: String,
    /// The chart version, pinned (e.g. `8.5.1`).
    #[schemars(regex(pattern = CHART_VERSION))]
    pub version: String,
    /// Where the chart reads its ingress host names: a dotted path into its
    /// values (`ingress.hosts` for Grafana's chart), holding a list of
    /// names. With it, the app may have an `ingress` like the lab's own
    /// apps: labc writes the hosts it derives (`<app>.<domain>`) there, and
    /// checks them against every other name of the lab. Without it, an
    /// upstream chart's hosts are set in its `values` alone. A host with a
    /// certificate (`pki`) has it in Secret `<app>-<exposure>-tls`: point
    /// the chart's TLS settings at it in `values`.
    #[serde(default)]
    #[schemars(regex(pattern = VALUES_PATH))]
    pub hosts_at: Option<String>,
}

spelt_enum! {
    pub enum Archetype {
        /// State in its PostgreSQL database, credentials from Vault.
        Postgres = "postgres",
        /// State in SQLite on a Longhorn ReadWriteOnce volume: one replica.
        Sqlite = "sqlite",
        /// No state of its own.
        Stateless = "stateless",
    }
}

spelt_enum! {
    pub enum UpdateStrategy {
        /// Follow the digest of the image's (mutable) tag.
        Digest = "digest",
        /// Highest semantic version.
        Semver = "semver",
        /// Most recently built image.
        NewestBuild = "newest_build",
        /// Last tag in alphabetical order.
        Alphabetical = "alphabetical",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// Delete resources no longer in the chart.
    #[serde(default)]
    #[schemars(extend("default" = defaults::PRUNE))]
    pub prune: Option<bool>,
    /// Revert changes made outside Git.
    #[serde(default)]
    #[schemars(extend("default" = defaults::SELF_HEAL))]
    pub self_heal: Option<bool>,
}

spelt_enum! {
    pub enum Exposure {
        /// `<app>.<domains.public>`, reachable from the internet.
        Public = "public",
        /// `<app>.<domains.internal>`, reachable inside the lab.
        Internal = "internal",
    }
}

/// One PostgreSQL database.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Non-login role owning the database. Default `<name>_role`.
    #[serde(default)]
    pub owner_role: Option<String>,
    /// Issue dynamic credentials for it through Vault (the default in a lab
    /// with `vault`; a lab without it can't).
    #[serde(default)]
    #[schemars(extend("default" = defaults::DATABASE_VAULT))]
    pub vault: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vault {
    /// Vault's address, as apps and OpenTofu reach it.
    #[schemars(regex(pattern = HTTPS_URL))]
    pub address: String,
    /// Kubernetes auth mount.
    #[serde(default)]
    #[schemars(extend("default" = defaults::KUBERNETES_MOUNT))]
    #[schemars(regex(pattern = NAME))]
    pub kubernetes_mount: Option<String>,
    /// KV v2 secrets engine mount.
    #[serde(default)]
    #[schemars(extend("default" = defaults::KV_MOUNT))]
    #[schemars(regex(pattern = NAME))]
    pub kv_mount: Option<String>,
    /// Database secrets engine mount.
    #[serde(default)]
    #[schemars(extend("default" = defaults::DATABASE_MOUNT))]
    #[schemars(regex(pattern = NAME))]
    pub database_mount: Option<String>,
    /// Name of the PostgreSQL connection in the database engine.
    #[serde(default)]
    #[schemars(extend("default" = defaults::DATABASE_CONNECTION))]
    #[schemars(regex(pattern = NAME))]
    pub database_connection: Option<String>,
    /// Lifetime of dynamic database credentials, in seconds.
    #[serde(default)]
    #[schemars(extend("default" = defaults::DATABASE_TTL))]
    #[schemars(range(min = 60, max = 31536000))]
    pub database_ttl: Option<u32>,
    /// How CI (and OpenTofu) log in: Gitea's OIDC tokens on a JWT mount.
    pub ci_jwt: CiJwt,
    /// Kubernetes API address the Kubernetes auth backend reviews tokens
    /// with.
    #[serde(default)]
    #[schemars(extend("default" = defaults::KUBERNETES_HOST))]
    #[schemars(regex(pattern = HTTPS_URL))]
    pub kubernetes_host: Option<String>,
    /// Parts of Vault another tool manages: OpenTofu then names them through
    /// a data source or a variable instead of declaring them.
    #[serde(default)]
    pub managed_elsewhere: Option<Vec<VaultPart>>,
    /// How the Vault Secrets Operator reaches Vault from inside the cluster.
    /// Default: `address`, its certificate checked against public roots only.
    #[serde(default)]
    pub operator: Option<VaultOperator>,
}

/// The Vault Secrets Operator's connection to Vault (each app namespace's
/// VaultConnection).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultOperator {
    /// Address VSO connects to, e.g. Vault's in-cluster Service
    /// `http://vault.vault.svc:8200`. Default: `vault.address`.
    #[serde(default)]
    #[schemars(regex(pattern = HTTP_URL))]
    pub address: Option<String>,
    /// Secret, in every app namespace, whose `ca.crt` is the CA that signed
    /// Vault's certificate (step-ca's root): needed for an `https://`
    /// address with a private CA.
    #[serde(default)]
    #[schemars(regex(pattern = NAME))]
    pub ca_secret: Option<String>,
}

spelt_enum! {
    pub enum VaultPart {
        /// The KV v2 mount (`kv_mount`).
        Kv = "kv",
        /// The Kubernetes auth backend (`kubernetes_mount`) and its config.
        KubernetesAuth = "kubernetes_auth",
        /// The database secrets mount and its PostgreSQL connection.
        Database = "database",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiJwt {
    /// JWT auth mount, e.g. `gitea_jwt`.
    #[schemars(regex(pattern = NAME))]
    pub mount: String,
    /// Role CI logs in as, e.g. `gitea_cicd`.
    #[schemars(regex(pattern = NAME))]
    pub role: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tofu {
    /// GCS bucket holding every module's state.
    #[schemars(regex(pattern = NAME))]
    pub state_bucket: String,
    /// Google Cloud project of the state and backup buckets.
    #[schemars(regex(pattern = GCP_PROJECT))]
    pub gcp_project: String,
    /// Region of the Google resources, e.g. `europe-west1`.
    #[schemars(regex(pattern = GCP_REGION))]
    pub gcp_region: String,
    /// Pinned providers, keyed by local name.
    pub providers: BTreeMap<String, Provider>,
    /// Modules, keyed by name. Each keeps its state under `labc/<name>`
    /// unless it sets `state_prefix`.
    pub modules: BTreeMap<String, Module>,
    /// State prefixes of the lab's hand-written roots (e.g. the guidebook's
    /// `factory/main`): no generated module may use one, since a root owns
    /// everything in its state.
    #[serde(default)]
    pub foreign_state_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Registry source, e.g. `go-gitea/gitea`.
    #[schemars(regex(pattern = PROVIDER_SOURCE))]
    pub source: String,
    /// Version constraint, e.g. `0.6.0` or `~> 5`.
    #[schemars(regex(pattern = VERSION_CONSTRAINT))]
    pub version: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// What the module declares.
    pub kind: ModuleKind,
    /// State prefix in the bucket. Default `labc/<name>`.
    #[serde(default)]
    #[schemars(regex(pattern = STATE_PREFIX))]
    pub state_prefix: Option<String>,
    /// Adopt the running lab's objects: `import` blocks for everything the
    /// module declares, so the first plan takes them over instead of
    /// creating them. Turn it off once applied.
    #[serde(default)]
    #[schemars(extend("default" = defaults::ADOPT))]
    pub adopt: Option<bool>,
    /// Local names of the providers (from `tofu.providers`) it pins.
    pub providers: Vec<String>,
}

spelt_enum! {
    pub enum ModuleKind {
        /// Gitea, Vault and the cloud edge (the guidebook's `factory`).
        Factory = "factory",
        /// The per-database PostgreSQL objects (the guidebook's `postgres/iac`).
        Postgres = "postgres",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Longhorn {
    /// Storage class apps' volumes use.
    #[serde(default)]
    #[schemars(extend("default" = defaults::STORAGE_CLASS))]
    #[schemars(regex(pattern = NAME))]
    pub storage_class: Option<String>,
    /// GCS bucket Longhorn backs volumes up to (through its S3 interop).
    #[schemars(regex(pattern = NAME))]
    pub backup_bucket: String,
    /// Namespace Longhorn runs in.
    #[serde(default)]
    #[schemars(extend("default" = defaults::LONGHORN_NAMESPACE))]
    #[schemars(regex(pattern = NAME))]
    pub namespace: Option<String>,
    /// S3 endpoint of the bucket, for Longhorn's `AWS_ENDPOINTS`.
    #[serde(default)]
    #[schemars(extend("default" = defaults::LONGHORN_S3_ENDPOINT))]
    #[schemars(regex(pattern = HTTPS_URL))]
    pub s3_endpoint: Option<String>,
    /// Secret, in Longhorn's namespace, holding the bucket's HMAC
    /// credentials and endpoint (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINTS`).
    #[serde(default)]
    #[schemars(extend("default" = defaults::LONGHORN_BACKUP_SECRET))]
    #[schemars(regex(pattern = NAME))]
    pub backup_secret: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backups {
    /// Directory on each host the backups land in.
    #[schemars(regex(pattern = ABS_PATH))]
    pub destination: String,
    /// Host exporting `destination` over NFS to the other hosts (the
    /// optional backup share of `02_setup`). None: each host keeps its own.
    #[serde(default)]
    pub nfs_host: Option<String>,
    /// Dumps of every database on the PostgreSQL host.
    #[serde(default)]
    pub postgres: Option<BackupJob>,
    /// `gitea dump` of the Gitea host.
    #[serde(default)]
    pub gitea: Option<BackupJob>,
    /// Copies of the k3s persistent volumes.
    #[serde(default)]
    pub k3s_pvc: Option<BackupJob>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupJob {
    /// When it runs, as a five-field cron schedule (`minute hour day month weekday`).
    #[schemars(regex(pattern = CRON))]
    pub schedule: String,
    /// How many days of backups are kept.
    #[schemars(range(min = 1, max = 3650))]
    pub keep_days: u32,
}
