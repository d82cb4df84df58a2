//! From the lab as written ([`crate::raw`]) to the validated model
//! ([`crate::model`]): derives every name from its convention (or takes the
//! override), applies defaults, and checks everything that spans more than
//! one field: references, duplicates, placement, names that must be valid
//! where they end up.
//!
//! Invariants: every problem found is collected, none stops the others
//! (the user sees them all at once); each points at the value in the source
//! that caused it; this module does no I/O and knows nothing of the source
//! format (positions come from [`Loaded::span`]).

use crate::diag::{Code, Diagnostic, Span};
use crate::load::{Loaded, pointer_segment};
use crate::model::*;
use crate::names;
use crate::raw::{self, defaults};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

mod platform;

/// Validates a lab. `source` names the lab file in generated headers.
pub fn validate(loaded: &Loaded, raw: raw::Lab, source: &str) -> Result<Lab, Vec<Diagnostic>> {
    let mut cx = Cx {
        loaded,
        diags: Vec::new(),
    };
    let lab = cx.lab(raw, source);
    if cx.diags.is_empty() {
        Ok(lab)
    } else {
        Err(cx.diags)
    }
}

struct Cx<'a> {
    loaded: &'a Loaded,
    diags: Vec<Diagnostic>,
}

/// Builds a JSON pointer from path segments.
fn ptr(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| format!("/{}", pointer_segment(s)))
        .collect()
}

impl Cx<'_> {
    fn span(&self, pointer: &str) -> Option<Span> {
        self.loaded.span(pointer)
    }

    /// Where a claim was made.
    fn at(&self, at: &At) -> Option<Span> {
        match at {
            At::Span(span) => *span,
            At::Pointer(p) => self.span(p),
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Reports `name` (found at `pointer`) if `problem` says it is invalid as
    /// `what`. When `name` is, or derives from, the key at `pointer` (not a
    /// value written there), the error points at the key.
    fn check_name(&mut self, pointer: &str, name: &str, what: &str, problem: Option<String>) {
        if let Some(problem) = problem {
            let written = self
                .loaded
                .value
                .pointer(pointer)
                .is_some_and(|v| v.as_str() == Some(name));
            let span = if !written {
                self.loaded.key_span(pointer)
            } else {
                self.span(pointer)
            };
            // The name as one line: it may hold the very characters refused.
            let d = Diagnostic::error(
                Code::InvalidName,
                format!("`{}` can't be {what}: it {problem}", name.escape_debug()),
            )
            .at(span, format!("used as {what}"));
            self.error(d);
        }
    }

    fn lab(&mut self, raw: raw::Lab, source: &str) -> Lab {
        let hosts = self.hosts(&raw);
        let placement = self.placement(&raw, &hosts);
        let k3s = self.k3s(&raw.k3s, &hosts, &placement);
        self.sections_needed(&raw);
        let postgres = raw
            .postgres
            .as_ref()
            .map(|p| self.postgres(p, &hosts, &placement));
        let gitea = raw
            .gitea
            .as_ref()
            .map(|g| self.gitea(g, raw.postgres.as_ref(), &placement));
        let databases = self.databases(&raw, postgres.as_ref(), gitea.as_ref());
        let apps = self.apps(&raw, gitea.as_ref(), &databases);
        let databases = link_databases(databases, &apps);
        self.pooler(&raw, &apps);
        let runner = raw.runner.as_ref().map(|r| {
            let runner = Runner {
                image: self.image(&ptr(&["runner", "image"]), &r.image),
                labels: r.labels.clone(),
                env_file: r.env_file.clone(),
                hosts: placement
                    .get(&Service::CiRunner)
                    .cloned()
                    .unwrap_or_default(),
            };
            for (i, label) in r.labels.iter().enumerate() {
                let at = format!("/runner/labels/{i}");
                self.check_name(
                    &at,
                    label,
                    "a runner label",
                    names::runner_label_problem(label),
                );
            }
            runner
        });
        if let Some(revision) = raw.argocd.as_ref().and_then(|a| a.target_revision.as_ref()) {
            let problem = names::git_revision_problem(revision);
            self.check_name(
                "/argocd/target_revision",
                revision,
                "a Git revision",
                problem,
            );
        }
        let step_ca = self.step_ca(&placement, &raw.domains.internal);
        let manager = postgres.as_ref().map(|p| p.manager);
        let tofu = raw.tofu.as_ref().map(|t| self.tofu(t, manager));
        self.pki_needed(&raw);
        let backups = raw.backups.as_ref().map(|b| self.backups(b, &hosts));
        self.host_ports(&hosts, &k3s, gitea.as_ref(), postgres.as_ref());
        self.env_files(gitea.as_ref(), postgres.as_ref(), runner.as_ref());
        self.dns_names(&raw, &apps, gitea.as_ref());
        self.longhorn_names(&raw, &apps);
        if let Some(tofu) = &tofu {
            self.state_prefixes(tofu);
        }
        // Both end up as Kubernetes object names (an AppProject, a
        // StorageClass), which the lab's NAME pattern alone doesn't guarantee.
        if let Some(project) = raw.argocd.as_ref().and_then(|a| a.project.as_ref()) {
            let what = "an ArgoCD project name";
            let problem = names::dns1123_label_problem(project);
            self.check_name("/argocd/project", project, what, problem);
        }
        let longhorn_raw = raw.longhorn.as_ref();
        if let Some(ns) = longhorn_raw.and_then(|l| l.namespace.as_ref()) {
            let what = "a Kubernetes namespace";
            let problem = names::dns1123_label_problem(ns);
            self.check_name("/longhorn/namespace", ns, what, problem);
        }
        if let Some(class) = longhorn_raw.and_then(|l| l.storage_class.as_ref()) {
            let what = "a Kubernetes StorageClass name";
            let problem = names::dns1123_label_problem(class);
            self.check_name("/longhorn/storage_class", class, what, problem);
        }
        // Kubernetes names the lab writes outright: namespaces, Secrets,
        // issuers, an ingress class (DNS-1123 subdomains; a label is one, and
        // the NAME pattern admits `_`).
        let acme_raw = raw.acme();
        let k8s_names = [
            (
                "/longhorn/namespace",
                longhorn_raw.and_then(|l| l.namespace.as_deref()),
                "a Kubernetes namespace",
            ),
            (
                "/longhorn/backup_secret",
                longhorn_raw.and_then(|l| l.backup_secret.as_deref()),
                "a Kubernetes Secret name",
            ),
            (
                "/vault/operator/ca_secret",
                raw.vault
                    .as_ref()
                    .and_then(|v| v.operator.as_ref())
                    .and_then(|o| o.ca_secret.as_deref()),
                "a Kubernetes Secret name",
            ),
            (
                "/argocd/registry/pull_secret",
                raw.argocd
                    .as_ref()
                    .and_then(|a| a.registry.as_ref())
                    .map(|r| r.pull_secret.as_str()),
                "a Kubernetes Secret name",
            ),
            (
                "/argocd/namespace",
                raw.argocd.as_ref().and_then(|a| a.namespace.as_deref()),
                "a Kubernetes namespace",
            ),
            (
                "/pki/acme/issuer",
                acme_raw.and_then(|a| a.issuer.as_deref()),
                "a ClusterIssuer name",
            ),
            (
                "/pki/acme/ingress_class",
                acme_raw.and_then(|a| a.ingress_class.as_deref()),
                "an IngressClass name",
            ),
            (
                "/pki/public_issuer",
                raw.pki.as_ref().and_then(|p| p.public_issuer.as_deref()),
                "a ClusterIssuer name",
            ),
        ];
        for (pointer, name, what) in k8s_names {
            if let Some(name) = name {
                self.check_name(pointer, name, what, names::dns1123_label_problem(name));
            }
        }
        // Each Compose stack's project is `<lab>-<stack>`; the lab's NAME
        // pattern keeps it valid today, this keeps it valid if that loosens.
        // One report is enough: the stacks differ only after the lab name.
        if let Some((project, problem)) = names::COMPOSE_STACKS.iter().find_map(|stack| {
            let project = names::compose_project(&raw.name, stack);
            names::compose_project_problem(&project).map(|p| (project, p))
        }) {
            self.check_name("/name", &project, "a Compose project name", Some(problem));
        }
        let argocd = raw
            .argocd
            .as_ref()
            .map(|a| self.argocd(a, &raw, &apps, gitea.as_ref()));
        let vault = raw
            .vault
            .as_ref()
            .map(|v| self.vault(v, &raw, step_ca.is_some(), postgres.as_ref()));
        let dns = raw
            .dns
            .as_ref()
            .map(|d| self.dns(d, &raw, &hosts, &apps, gitea.as_ref()));
        let longhorn = raw.longhorn.as_ref().map(|l| {
            let region = raw.tofu.as_ref().map(|t| t.gcp_region.as_str());
            longhorn(l, region.unwrap_or_default())
        });
        Lab {
            source: source.to_string(),
            name: raw.name.clone(),
            domains: Domains {
                public: raw.domains.public.clone(),
                internal: raw.domains.internal.clone(),
            },
            hosts,
            k3s,
            gitea,
            postgres,
            runner,
            argocd,
            apps,
            databases,
            vault,
            tofu,
            longhorn,
            backups,
            step_ca,
            pooler_app: raw.postgres.as_ref().and_then(|p| p.pooler_app.clone()),
            pki: raw.pki.as_ref().map(|p| self.pki(p)),
            dns,
        }
    }

    /// The Vault section, defaults applied.
    fn vault(
        &mut self,
        v: &raw::Vault,
        raw: &raw::Lab,
        step_ca: bool,
        postgres: Option<&Postgres>,
    ) -> Vault {
        let (operator_address, operator_ca_secret) = self.vault_operator(v, raw, step_ca);
        Vault {
            kubernetes_host: v
                .kubernetes_host
                .clone()
                .unwrap_or_else(|| defaults::KUBERNETES_HOST.into()),
            managed_elsewhere: v.managed_elsewhere.iter().flatten().copied().collect(),
            connection_url: postgres
                .map(|pg| names::vault_connection_url(&pg.address, pg.port, pg.sslmode)),
            address: v.address.clone(),
            operator_address,
            operator_ca_secret,
            kubernetes_mount: v
                .kubernetes_mount
                .clone()
                .unwrap_or_else(|| defaults::KUBERNETES_MOUNT.into()),
            kv_mount: v
                .kv_mount
                .clone()
                .unwrap_or_else(|| defaults::KV_MOUNT.into()),
            database_mount: v
                .database_mount
                .clone()
                .unwrap_or_else(|| defaults::DATABASE_MOUNT.into()),
            database_connection: v
                .database_connection
                .clone()
                .unwrap_or_else(|| defaults::DATABASE_CONNECTION.into()),
            database_ttl: v.database_ttl.unwrap_or(defaults::DATABASE_TTL),
            jwt_mount: v.ci_jwt.mount.clone(),
            jwt_role: v.ci_jwt.role.clone(),
        }
    }

    fn hosts(&mut self, raw: &raw::Lab) -> BTreeMap<String, Host> {
        let mut hosts = BTreeMap::new();
        let mut by_address: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
        for (name, h) in &raw.hosts {
            let p = ptr(&["hosts", name]);
            self.check_name(&p, name, "a host name", names::dns1123_label_problem(name));
            self.check_name(
                &p,
                name,
                "an Ansible host",
                names::ansible_host_problem(name),
            );
            let address: Ipv4Addr = match h.address.parse() {
                Ok(a) => a,
                Err(_) => {
                    let d = Diagnostic::error(
                        Code::InvalidAddress,
                        format!("invalid IPv4 address `{}`", h.address),
                    )
                    .at(self.span(&format!("{p}/address")), "not an IPv4 address");
                    self.error(d);
                    Ipv4Addr::UNSPECIFIED
                }
            };
            if let Some(first) = by_address.get(&address) {
                let d = Diagnostic::error(
                    Code::DuplicateAddress,
                    format!("hosts `{first}` and `{name}` have the same address {address}"),
                )
                .at(
                    self.span(&format!("{p}/address")),
                    "second use of this address",
                )
                .also(
                    self.span(&ptr(&["hosts", first, "address"])),
                    "first used here",
                );
                self.error(d);
            } else {
                by_address.insert(address, name);
            }
            let mut services = BTreeSet::new();
            for (i, s) in h.services.iter().enumerate() {
                let sp = format!("{p}/services/{i}");
                if !services.insert(*s) {
                    let d = Diagnostic::error(
                        Code::ListedTwice,
                        format!("host `{name}` lists `'{}` twice", s.as_str()),
                    )
                    .at(self.span(&sp), "listed again here");
                    self.error(d);
                }
            }
            for (a, b) in [
                (Service::K3sServer, Service::K3sAgent),
                (Service::StepCaPrimary, Service::StepCaReplica),
            ] {
                if services.contains(&a) && services.contains(&b) {
                    let i = h
                        .services
                        .iter()
                        .rposition(|s| *s == b || *s == a)
                        .unwrap_or(0);
                    let d = Diagnostic::error(
                        Code::ConflictingServices,
                        format!(
                            "host `{name}` can't carry both `'{}` and `'{}`",
                            a.as_str(),
                            b.as_str()
                        ),
                    )
                    .at(
                        self.span(&format!("{p}/services/{i}")),
                        "conflicts with another service of this host",
                    );
                    self.error(d);
                }
            }
            hosts.insert(
                name.clone(),
                Host {
                    name: name.clone(),
                    address,
                    ssh_user: h.ssh_user.clone().unwrap_or_else(|| raw.ssh_user.clone()),
                    services,
                },
            );
        }
        hosts
    }

    /// Which hosts carry each service, and the checks on how many may.
    fn placement(
        &mut self,
        raw: &raw::Lab,
        hosts: &BTreeMap<String, Host>,
    ) -> BTreeMap<Service, Vec<String>> {
        let mut placed: BTreeMap<Service, Vec<String>> = BTreeMap::new();
        for h in hosts.values() {
            for s in &h.services {
                placed.entry(*s).or_default().push(h.name.clone());
            }
        }
        let replicas = placed.contains_key(&Service::StepCaReplica);
        // (service, must exist, at most one)
        let rules = [
            (Service::K3sServer, true, false),
            (Service::Postgres, raw.postgres.is_some(), true),
            (Service::Gitea, raw.gitea.is_some(), true),
            (Service::StepCaPrimary, replicas, true),
        ];
        // A service whose settings are a section of the lab: a host can't
        // carry it while that section is absent (nothing would say how to
        // run it).
        let configured = [
            (Service::Postgres, "postgres", raw.postgres.is_some()),
            (Service::Gitea, "gitea", raw.gitea.is_some()),
            (Service::CiRunner, "runner", raw.runner.is_some()),
        ];
        for (service, section, present) in configured {
            if present {
                continue;
            }
            for host in placed.get(&service).into_iter().flatten() {
                let d = Diagnostic::error(
                    Code::MissingSection,
                    format!(
                        "host `{host}` carries `'{}`, but the lab has no `{section}` section",
                        service.as_str()
                    ),
                )
                .at(
                    self.service_span(host, service),
                    format!("needs `{section}`"),
                )
                .note(format!(
                    "add `{section} = {{ ... }}` to the lab, or remove `'{}` from this host",
                    service.as_str()
                ));
                self.error(d);
            }
        }
        for (service, required, single) in rules {
            let on = placed.get(&service).cloned().unwrap_or_default();
            let name = service.as_str();
            if required && on.is_empty() {
                let d =
                    Diagnostic::error(Code::ServiceOnNoHost, format!("no host carries `'{name}`"))
                        .at(
                            self.span("/hosts"),
                            format!("add `'{name}` to the services of one of these hosts"),
                        )
                        .note(match service {
                            Service::StepCaPrimary => "step-ca replicas need a primary".to_string(),
                            Service::K3sServer => {
                                "the k3s cluster needs at least one server".to_string()
                            }
                            _ => format!("the lab needs exactly one `'{name}` host"),
                        });
                self.error(d);
            }
            if single && on.len() > 1 {
                for extra in &on[1..] {
                    let i = hosts[extra].services.iter().position(|s| *s == service);
                    let at = self.service_span(extra, service);
                    let _ = i;
                    let d = Diagnostic::error(
                        Code::ServiceOnTooManyHosts,
                        format!(
                            "`'{name}` is placed on {} hosts ({}); it may run on one only",
                            on.len(),
                            on.join(", ")
                        ),
                    )
                    .at(at, "second placement")
                    .also(self.service_span(&on[0], service), "first placement");
                    self.error(d);
                }
            }
        }
        placed
    }

    /// The span of `service` in the services list of `host`.
    fn service_span(&self, host: &str, service: Service) -> Option<Span> {
        let base = ptr(&["hosts", host, "services"]);
        let name = service.as_str();
        (0..)
            .map(|i| format!("{base}/{i}"))
            .take_while(|p| self.loaded.value.pointer(p).is_some())
            .find(|p| self.loaded.value.pointer(p).and_then(|v| v.as_str()) == Some(name))
            .and_then(|p| self.span(&p))
            .or_else(|| self.span(&base))
    }

    fn k3s(
        &mut self,
        raw: &raw::K3s,
        hosts: &BTreeMap<String, Host>,
        placed: &BTreeMap<Service, Vec<String>>,
    ) -> K3s {
        let servers = placed.get(&Service::K3sServer).cloned().unwrap_or_default();
        let agents = placed.get(&Service::K3sAgent).cloned().unwrap_or_default();
        let docker = raw.docker.unwrap_or(defaults::K3S_DOCKER);
        let mut server_args = Vec::new();
        let mut agent_args = Vec::new();
        if docker {
            // `--docker` is an agent flag that servers accept too; every node
            // runs workloads, so both get it.
            server_args.push("--docker".to_string());
            agent_args.push("--docker".to_string());
        }
        for (i, component) in raw.disable.iter().flatten().enumerate() {
            if names::dns1123_label_problem(component).is_some() {
                let d = Diagnostic::error(
                    Code::UnknownK3sComponent,
                    format!("`{}` is not a k3s component name", component.escape_debug()),
                )
                .at(
                    self.span(&format!("/k3s/disable/{i}")),
                    "expected one word, like `traefik`",
                );
                self.error(d);
            }
            server_args.push(format!("--disable {component}"));
        }
        // Each argument ends up in one `ExecStart=` line, joined with spaces.
        for (field, args) in [
            ("extra_server_args", &raw.extra_server_args),
            ("extra_agent_args", &raw.extra_agent_args),
        ] {
            for (i, arg) in args.iter().flatten().enumerate() {
                let at = format!("/k3s/{field}/{i}");
                let problem = names::k3s_arg_problem(arg);
                self.check_name(&at, arg, "a k3s argument", problem);
            }
        }
        server_args.extend(raw.extra_server_args.iter().flatten().cloned());
        agent_args.extend(raw.extra_agent_args.iter().flatten().cloned());
        // k3s-ansible runs embedded etcd as soon as the `server` group has
        // more than one host; etcd needs a majority of its members, so an
        // even count tolerates no more failures than one server fewer and
        // splits evenly on a partition. Its README: "An odd number of server
        // nodes is required".
        if servers.len() > 1 && servers.len() % 2 == 0 {
            let mut d = Diagnostic::error(
                Code::K3sEvenServers,
                format!(
                    "the k3s cluster has {} servers ({}); with several servers it needs an odd number",
                    servers.len(),
                    servers.join(", ")
                ),
            );
            for (i, s) in servers.iter().enumerate() {
                let at = self.service_span(s, Service::K3sServer);
                d = if i == 0 {
                    d.at(at, "a server")
                } else {
                    d.also(at, "a server")
                };
            }
            let d = d.note(
                "several servers run embedded etcd, which needs a majority of its members: an even count tolerates no more failures than one server fewer and can split in two halves; use 1, 3 or 5 servers",
            );
            self.error(d);
        }
        let api_endpoint = match &raw.api_endpoint {
            Some(a) => a.parse().unwrap_or_else(|_| {
                let d =
                    Diagnostic::error(Code::InvalidAddress, format!("invalid IPv4 address `{a}`"))
                        .at(self.span("/k3s/api_endpoint"), "not an IPv4 address");
                self.error(d);
                Ipv4Addr::UNSPECIFIED
            }),
            None => servers
                .first()
                .and_then(|s| hosts.get(s))
                .map(|h| h.address)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
        };
        K3s {
            version: raw.version.clone(),
            servers,
            agents,
            api_port: port(raw.api_port, defaults::API_PORT),
            api_endpoint,
            server_args,
            agent_args,
        }
    }

    fn image(&mut self, pointer: &str, reference: &str) -> Image {
        match reference.rsplit_once(':') {
            Some((repo, tag)) if !repo.is_empty() && !tag.contains('/') => Image {
                repository: repo.to_string(),
                tag: tag.to_string(),
            },
            _ => {
                let d = Diagnostic::error(
                    Code::ImageWithoutTag,
                    format!("image `{reference}` has no tag"),
                )
                .at(self.span(pointer), "expected `repository:tag`");
                self.error(d);
                Image {
                    repository: reference.to_string(),
                    tag: String::new(),
                }
            }
        }
    }

    /// The major version a PostgreSQL image tag starts with. A tag that
    /// names none (`latest`, `alpine`) isn't pinned, and the Compose
    /// emitter needs the version to mount the data directory right.
    fn postgres_major(&mut self, image: &Image) -> u32 {
        let digits: String = image.tag.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse() {
            Ok(major) => major,
            Err(_) => {
                if !image.tag.is_empty() {
                    let d = Diagnostic::error(
                        Code::PostgresVersion,
                        format!(
                            "PostgreSQL image tag `{}` names no major version",
                            image.tag
                        ),
                    )
                    .at(
                        self.span("/postgres/image"),
                        "expected a tag starting with the version, like `postgres:16.10`",
                    )
                    .note("the major version decides where the data directory is mounted");
                    self.error(d);
                }
                0
            }
        }
    }

    fn gitea(
        &mut self,
        g: &raw::Gitea,
        postgres: Option<&raw::Postgres>,
        placed: &BTreeMap<Service, Vec<String>>,
    ) -> Gitea {
        let domain = url_host(&g.url);
        let database = postgres
            .and_then(|p| p.gitea_database.clone())
            .unwrap_or_else(|| defaults::GITEA_DATABASE.into());
        self.check_name(
            "/postgres/gitea_database",
            &database,
            "a SQL identifier",
            names::sql_ident_problem(&database),
        );
        self.check_name(
            "/postgres/gitea_database",
            &database,
            "Gitea's database",
            names::sql_database_problem(&database),
        );
        let database_user = names::gitea_database_user(&database);
        self.check_name(
            "/postgres/gitea_database",
            &database_user,
            "Gitea's database login role",
            names::sql_role_problem(&database_user),
        );
        Gitea {
            url: g.url.clone(),
            domain,
            default_org: g.default_org.clone(),
            image: self.image("/gitea/image", &g.image),
            http_port: port(g.http_port, defaults::GITEA_HTTP_PORT),
            ssh_port: port(g.ssh_port, defaults::GITEA_SSH_PORT),
            env_file: g.env_file.clone(),
            host: first(placed, Service::Gitea),
            database,
            database_user,
            repositories: repo_settings(g.repositories.as_ref()),
        }
    }

    fn postgres(
        &mut self,
        p: &raw::Postgres,
        hosts: &BTreeMap<String, Host>,
        placed: &BTreeMap<Service, Vec<String>>,
    ) -> Postgres {
        let host = first(placed, Service::Postgres);
        let credentials_editor = p
            .credentials_editor
            .clone()
            .unwrap_or_else(|| defaults::CREDENTIALS_EDITOR.into());
        let pgbouncer_auth = p
            .pgbouncer_auth
            .clone()
            .unwrap_or_else(|| defaults::PGBOUNCER_AUTH.into());
        for (field, role) in [
            ("credentials_editor", &credentials_editor),
            ("pgbouncer_auth", &pgbouncer_auth),
        ] {
            let at = format!("/postgres/{field}");
            self.check_name(
                &at,
                role,
                "a SQL identifier",
                names::sql_ident_problem(role),
            );
            self.check_name(&at, role, "a role", names::sql_role_problem(role));
            self.check_name(
                &at,
                role,
                "a role Vault uses",
                names::vault_template_problem(role),
            );
        }
        if credentials_editor == pgbouncer_auth {
            let d = Diagnostic::error(Code::RoleCollision, format!(
                "`credentials_editor` and `pgbouncer_auth` are both `{pgbouncer_auth}`; they must be different roles"
            ))
            .at(self.span("/postgres/pgbouncer_auth").or(self.span("/postgres")), "same role as credentials_editor");
            self.error(d);
        }
        let image = self.image("/postgres/image", &p.image);
        let major_version = self.postgres_major(&image);
        Postgres {
            image,
            major_version,
            port: port(p.port, defaults::POSTGRES_PORT),
            env_file: p.env_file.clone(),
            address: hosts
                .get(&host)
                .map(|h| h.address)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            host,
            credentials_editor,
            pgbouncer_auth,
            manager: p.manager.unwrap_or(defaults::POSTGRES_MANAGER),
            sslmode: p.sslmode.unwrap_or(defaults::POSTGRES_SSLMODE),
        }
    }

    fn databases(
        &mut self,
        raw: &raw::Lab,
        postgres: Option<&Postgres>,
        gitea: Option<&Gitea>,
    ) -> BTreeMap<String, Database> {
        let mut out = BTreeMap::new();
        // Every role name the SQL and OpenTofu emitters create, to catch two
        // names that are (or truncate to) the same role.
        let mut roles: BTreeMap<String, String> = BTreeMap::new();
        if let Some(postgres) = postgres {
            roles.insert(
                postgres.credentials_editor.clone(),
                "/postgres/credentials_editor".into(),
            );
            roles.insert(
                postgres.pgbouncer_auth.clone(),
                "/postgres/pgbouncer_auth".into(),
            );
        }
        // Gitea's login role, which the Compose init script creates.
        if let Some(gitea) = gitea {
            roles
                .entry(gitea.database_user.clone())
                .or_insert_with(|| "/postgres/gitea_database".into());
        }
        // Vault issues a database's credentials by default when the lab
        // has Vault; a lab without it can't.
        let vault_default = raw.vault.is_some() && defaults::DATABASE_VAULT;
        for (name, db) in &raw.databases {
            let p = ptr(&["databases", name]);
            self.check_name(&p, name, "a SQL identifier", names::sql_ident_problem(name));
            self.check_name(
                &p,
                name,
                "a lab database",
                names::sql_database_problem(name),
            );
            self.check_name(&p, name, "a file name", names::file_name_problem(name));
            if gitea.is_some_and(|g| *name == g.database) {
                let d = Diagnostic::error(
                    Code::GiteaDatabase,
                    format!("database `{name}` is Gitea's own database; pick another name"),
                )
                .at(self.span(&p), "clashes with Gitea's database")
                .note("Gitea's database is set by `postgres.gitea_database` (default `gitea`)");
                self.error(d);
            }
            let (owner_role, owner_ptr) = match &db.owner_role {
                Some(r) => (r.clone(), format!("{p}/owner_role")),
                None => (names::owner_role(name), p.clone()),
            };
            self.check_name(
                &owner_ptr,
                &owner_role,
                "a SQL identifier",
                names::sql_ident_problem(&owner_role),
            );
            self.check_name(
                &owner_ptr,
                &owner_role,
                "a role",
                names::sql_role_problem(&owner_role),
            );
            self.check_name(
                &owner_ptr,
                &owner_role,
                "a role Vault's statements name",
                names::vault_template_problem(&owner_role),
            );
            if let Some(first) = roles.get(&owner_role) {
                let d = Diagnostic::error(
                    Code::RoleCollision,
                    format!("role `{owner_role}` would be created twice"),
                )
                .at(self.span(&owner_ptr), "this role")
                .also(self.span(first), "is already this one");
                self.error(d);
            } else {
                roles.insert(owner_role.clone(), owner_ptr);
            }
            out.insert(
                name.clone(),
                Database {
                    name: name.clone(),
                    owner_role,
                    vault_role: db
                        .vault
                        .unwrap_or(vault_default)
                        .then(|| names::vault_database_role(name)),
                    apps: BTreeSet::new(),
                },
            );
        }
        out
    }

    fn apps(
        &mut self,
        raw: &raw::Lab,
        gitea: Option<&Gitea>,
        databases: &BTreeMap<String, Database>,
    ) -> BTreeMap<String, App> {
        let mut out = BTreeMap::new();
        let mut namespaces: BTreeMap<String, String> = BTreeMap::new();
        for (name, a) in &raw.apps {
            let p = ptr(&["apps", name]);
            self.check_name(
                &p,
                name,
                "an ArgoCD Application name",
                names::dns1123_label_problem(name),
            );
            let namespace = match &a.namespace {
                Some(ns) => {
                    let np = format!("{p}/namespace");
                    self.check_name(
                        &np,
                        ns,
                        "a Kubernetes namespace",
                        names::dns1123_label_problem(ns),
                    );
                    ns.clone()
                }
                None => names::namespace(name),
            };
            if let Some(other) = namespaces.insert(namespace.clone(), name.clone()) {
                let d = Diagnostic::error(
                    Code::NamespaceCollision,
                    format!("apps `{other}` and `{name}` both deploy to namespace `{namespace}`"),
                )
                .at(
                    self.span(&format!("{p}/namespace")).or(self.span(&p)),
                    "second app in this namespace",
                )
                .also(self.span(&ptr(&["apps", &other])), "first app");
                self.error(d);
            }
            let chart = self.chart(&p, a);
            // An upstream chart owns no Gitea repository or org, and runs no
            // image of the lab's registry.
            let gitea = if chart.is_some() { None } else { gitea };
            let org = a
                .org
                .clone()
                .or_else(|| gitea.map(|g| g.default_org.clone()))
                .unwrap_or_default();
            let image = match (&a.image, gitea) {
                (Some(i), _) => self.image(&format!("{p}/image"), i),
                (None, Some(gitea)) => {
                    let (repository, tag) = names::image(&gitea.domain, &org, name);
                    Image { repository, tag }
                }
                (None, None) => Image {
                    repository: String::new(),
                    tag: String::new(),
                },
            };
            let repo_url = match (&chart, &a.repo_url, gitea) {
                (Some(c), _, _) => c.repo_url.clone(),
                (None, Some(url), _) => url.clone(),
                (None, None, Some(gitea)) => names::repo_url(&gitea.url, &org, name),
                (None, None, None) => String::new(),
            };
            if gitea.is_none() && chart.is_none() {
                let missing: Vec<&str> = [
                    ("its repository (`repo_url`)", a.repo_url.is_none()),
                    ("its image (`image`)", a.image.is_none()),
                ]
                .into_iter()
                .filter_map(|(what, derived)| derived.then_some(what))
                .collect();
                if !missing.is_empty() {
                    let d = Diagnostic::error(Code::MissingSection, format!(
                        "app `{name}` takes {} from the lab's Gitea, but the lab has no `gitea` section",
                        missing.join(" and ")
                    ))
                    .at(self.loaded.key_span(&p), "needs `gitea`")
                    .note("add `gitea = { ... }`, or give the app `repo_url` and `image` of its own");
                    self.error(d);
                }
            }
            let database =
                match (a.archetype, &a.database) {
                    (Archetype::Postgres, db) => {
                        let (db, at) = match db {
                            Some(db) => (db.clone(), format!("{p}/database")),
                            None => (name.clone(), format!("{p}/archetype")),
                        };
                        if !databases.contains_key(&db) {
                            let known: Vec<String> = databases.keys().cloned().collect();
                            let mut d = Diagnostic::error(Code::MissingDatabase, format!(
                            "app `{name}` needs database `{db}`, which the lab does not declare"
                        ))
                        .at(self.span(&at), "needs a database");
                            if let Some(best) = crate::diag::closest(&db, &known) {
                                d = d.note(format!("did you mean `{best}`?"));
                            }
                            d = d.note(format!(
                                "declare it in `databases`; known databases: {}",
                                known.join(", ")
                            ));
                            self.error(d);
                        }
                        Some(db)
                    }
                    (other, Some(_)) => {
                        let d = Diagnostic::error(
                            Code::ArchetypeMismatch,
                            format!(
                                "app `{name}` has a database but its archetype is `'{}`",
                                other.as_str()
                            ),
                        )
                        .at(
                            self.span(&format!("{p}/database")),
                            "only `'postgres` apps have a database",
                        );
                        self.error(d);
                        None
                    }
                    _ => None,
                };
            let replicas = a.replicas.unwrap_or(defaults::REPLICAS);
            if a.archetype == Archetype::Sqlite && replicas != 1 {
                let d = Diagnostic::error(Code::SqliteReplicas, format!(
                    "app `{name}` keeps SQLite on a ReadWriteOnce volume, so it runs exactly 1 replica, not {replicas}"
                ))
                .at(self.span(&format!("{p}/replicas")), "must be 1");
                self.error(d);
            }
            if a.archetype != Archetype::Sqlite && a.volume_size.is_some() {
                let d = Diagnostic::error(
                    Code::ArchetypeMismatch,
                    format!(
                        "app `{name}` has a volume size but its archetype is `'{}`",
                        a.archetype.as_str()
                    ),
                )
                .at(
                    self.span(&format!("{p}/volume_size")),
                    "only `'sqlite` apps have a volume",
                );
                self.error(d);
            }
            let mut ingress = BTreeMap::new();
            for (i, e) in a.ingress.iter().flatten().enumerate() {
                let domain = match e {
                    Exposure::Public => &raw.domains.public,
                    Exposure::Internal => &raw.domains.internal,
                };
                if ingress
                    .insert(*e, names::ingress_host(name, domain))
                    .is_some()
                {
                    let d = Diagnostic::error(
                        Code::ListedTwice,
                        format!("app `{name}` lists an ingress twice"),
                    )
                    .at(self.span(&format!("{p}/ingress/{i}")), "listed again here");
                    self.error(d);
                }
            }
            let mut chart = chart;
            if let (Some(c), Some(at)) = (
                chart.as_mut(),
                a.chart.as_ref().and_then(|c| c.hosts_at.as_ref()),
            ) {
                let hosts = ingress.values().cloned().map(serde_json::Value::String);
                let hosts = serde_json::Value::Array(hosts.collect());
                if let Err(taken) = put_value(&mut c.values, at, hosts) {
                    let d = Diagnostic::error(
                        Code::ChartApp,
                        format!("`hosts_at` is `{at}`, but the app's values already set `{taken}`"),
                    )
                    .at(
                        self.span(&format!("{p}/chart/hosts_at")),
                        "labc writes the hosts here",
                    )
                    .note("remove that value: labc writes the hosts it derives from `ingress`");
                    self.error(d);
                }
            }
            // On by default for a `'postgres` app, when the lab has Vault.
            let vault = a
                .vault
                .unwrap_or(a.archetype == Archetype::Postgres && raw.vault.is_some())
                .then(|| {
                    let database_role = database
                        .as_ref()
                        .and_then(|db| databases.get(db))
                        .and_then(|db| db.vault_role.clone());
                    AppVault {
                        auth_role: names::vault_auth_role(name),
                        service_account: names::service_account(name),
                        policy: names::vault_policy(name),
                        kv_path: names::kv_path(name),
                        database_creds_path: database_role.as_deref().map(names::vault_creds_path),
                        kv_secret: names::kv_secret(name),
                        database_secret: database_role
                            .as_ref()
                            .map(|_| names::database_secret(name)),
                        database_role,
                    }
                });
            out.insert(
                name.clone(),
                App {
                    name: name.clone(),
                    org: org.clone(),
                    namespace,
                    repo_url,
                    image,
                    image_updater: a.image_updater,
                    prune: a
                        .sync
                        .as_ref()
                        .and_then(|s| s.prune)
                        .unwrap_or(defaults::PRUNE),
                    self_heal: a
                        .sync
                        .as_ref()
                        .and_then(|s| s.self_heal)
                        .unwrap_or(defaults::SELF_HEAL),
                    sync_explicit: a.sync.is_some(),
                    // A volume holds the app's data: keep it when the app goes.
                    cascade_delete: a.cascade_delete.unwrap_or(a.archetype != Archetype::Sqlite),
                    deployment: names::deployment(name),
                    archetype: a.archetype,
                    database,
                    volume_size: (a.archetype == Archetype::Sqlite).then(|| {
                        a.volume_size
                            .clone()
                            .unwrap_or_else(|| defaults::VOLUME_SIZE.into())
                    }),
                    replicas,
                    port: port(a.port, defaults::APP_PORT),
                    certificates: certificates(name, &ingress, raw.pki.as_ref()),
                    ingress,
                    vault,
                    chart,
                },
            );
        }
        out
    }

    /// ArgoCD: the lab repository, the root Application (named apart from
    /// every app: they share ArgoCD's namespace) and the registry access the
    /// Image Updater needs as soon as one app follows its image.
    fn argocd(
        &mut self,
        a: &raw::ArgoCd,
        raw: &raw::Lab,
        apps: &BTreeMap<String, App>,
        gitea: Option<&Gitea>,
    ) -> ArgoCd {
        let target_revision = a
            .target_revision
            .clone()
            .unwrap_or_else(|| defaults::TARGET_REVISION.into());
        let root = names::root_application(&raw.name);
        let problem = names::dns1123_label_problem(&root);
        self.check_name("/name", &root, "the root Application's name", problem);
        if apps.contains_key(&root) {
            let d = Diagnostic::error(
                Code::RootNameClash,
                format!("app `{root}` has the name of the root Application (`<lab name>-apps`)"),
            )
            .at(
                self.loaded.key_span(&ptr(&["apps", &root])),
                "rename this app",
            )
            .also(
                self.span("/name"),
                "the root Application is named after the lab",
            );
            self.error(d);
        }
        // Only an image in Gitea's registry needs its access: the default
        // image, or one named under Gitea's host. An upstream chart's, or
        // an image of another registry, is read as that registry allows.
        let in_gitea = |app: &App| {
            app.chart.is_none()
                && gitea
                    .is_some_and(|g| app.image.repository.starts_with(&format!("{}/", g.domain)))
        };
        if a.registry.is_none()
            && let Some((name, _)) = apps
                .iter()
                .find(|(_, app)| app.image_updater.is_some() && in_gitea(app))
        {
            let d = Diagnostic::error(Code::RegistryMissing, format!(
                "app `{name}` follows its image, but the lab does not say how the Image Updater reads Gitea's registry"
            ))
            .at(self.span(&ptr(&["apps", name, "image_updater"])), "needs registry access")
            .also(self.span("/argocd"), "add `registry = { pull_secret = ..., ca_file = ... }` here")
            .note("an app repository's packages are as private as the repository, and a lab CA's certificate is trusted by nobody: without credentials (and `ca_file`), every lookup fails");
            self.error(d);
        }
        let repo = &a.lab_repository;
        let sync = a.root_sync.as_ref();
        let namespace = a
            .namespace
            .clone()
            .unwrap_or_else(|| defaults::ARGOCD_NAMESPACE.into());
        // Each install is an Application named after its chart, beside the
        // apps' and the root's in ArgoCD's namespace.
        if let Some(install) = &a.install {
            for (field, chart) in [
                ("argocd", &install.argocd),
                ("image_updater", &install.image_updater),
            ] {
                let (at, release) = match &chart.release {
                    Some(r) => (format!("/argocd/install/{field}/release"), r),
                    None => (format!("/argocd/install/{field}/name"), &chart.name),
                };
                // Helm refuses a release name longer than 53 characters.
                let problem = names::dns1123_label_problem(release).or_else(|| {
                    (release.len() > 53).then(|| "is longer than Helm's 53 characters".to_string())
                });
                self.check_name(&at, release, "a Helm release and Application name", problem);
                let taken = if apps.contains_key(release) {
                    Some(format!("app `{release}`"))
                } else {
                    (*release == root).then(|| "the root Application".to_string())
                };
                if let Some(other) = taken {
                    let d = Diagnostic::error(
                        Code::RootNameClash,
                        format!("the install of `{release}` is an Application named `{release}`, like {other}"),
                    )
                    .at(self.span(&at), "its Application's name")
                    .note("Applications share ArgoCD's namespace: rename the app");
                    self.error(d);
                }
            }
            let release = |c: &raw::ChartRef| c.release.clone().unwrap_or_else(|| c.name.clone());
            if release(&install.argocd) == release(&install.image_updater) {
                let d = Diagnostic::error(
                    Code::RootNameClash,
                    "ArgoCD's and the Image Updater's installs have the same Helm release",
                )
                .at(
                    self.span("/argocd/install/image_updater"),
                    "the same release as ArgoCD's",
                )
                .also(self.span("/argocd/install/argocd"), "ArgoCD's")
                .note("give one of them its own `release`");
                self.error(d);
            }
            // The install's Image Updater reads the CA file from a volume
            // labc mounts: step-ca's root, from `pki.acme`.
            let ca_file = a.registry.as_ref().and_then(|r| r.ca_file.as_ref());
            let bundle = raw.acme();
            if ca_file.is_some() && bundle.is_none() {
                let d = Diagnostic::error(
                    Code::MissingSection,
                    "the Image Updater's install must mount `registry.ca_file`, but the lab gives no CA to mount (`pki.acme.ca_bundle`)",
                )
                .at(self.span("/argocd/registry/ca_file"), "mounted into the Image Updater by its install")
                .also(self.span("/argocd/install"), "the install labc writes")
                .note("add `pki.acme` with step-ca's root, or remove `ca_file`");
                self.error(d);
            }
            if let Some(file) = ca_file
                && (file.ends_with('/') || !file[1..].contains('/'))
            {
                let d = Diagnostic::error(
                    Code::InvalidName,
                    format!("`{file}` can't be mounted: the CA file needs a folder of its own and a file name"),
                )
                .at(self.span("/argocd/registry/ca_file"), "mounted as <folder>/<file>");
                self.error(d);
            }
        }
        ArgoCd {
            host: a.host.clone(),
            namespace,
            install: a.install.as_ref().map(|i| ArgoInstall {
                installed: i.installed,
                argocd: chart_ref(&i.argocd),
                image_updater: chart_ref(&i.image_updater),
            }),
            project: a
                .project
                .clone()
                .unwrap_or_else(|| defaults::ARGOCD_PROJECT.into()),
            lab_repository: LabRepository {
                url: repo.url.clone(),
                path: repo
                    .path
                    .clone()
                    .unwrap_or_else(|| defaults::LAB_REPOSITORY_PATH.into()),
                revision: repo
                    .revision
                    .clone()
                    .unwrap_or_else(|| target_revision.clone()),
            },
            target_revision,
            root: RootApplication {
                name: root,
                prune: sync.and_then(|s| s.prune).unwrap_or(defaults::PRUNE),
                self_heal: sync
                    .and_then(|s| s.self_heal)
                    .unwrap_or(defaults::SELF_HEAL),
            },
            // Without Gitea, `sections_needed` reported the registry.
            registry: a.registry.as_ref().zip(gitea).map(|(r, gitea)| Registry {
                api_url: format!("https://{}", gitea.domain),
                prefix: gitea.domain.clone(),
                pull_secret: r.pull_secret.clone(),
                ca_file: r.ca_file.clone(),
            }),
        }
    }

    /// Where the Vault Secrets Operator connects and the CA it trusts. A
    /// CA Secret needs an `https://` address; an `https://` address on the
    /// step-ca domain needs the CA (VSO trusts public roots only).
    fn vault_operator(
        &mut self,
        vault: &raw::Vault,
        raw: &raw::Lab,
        step_ca: bool,
    ) -> (String, Option<String>) {
        let operator = vault.operator.as_ref();
        let (address, at) = match operator.and_then(|o| o.address.as_ref()) {
            Some(a) => (a.clone(), "/vault/operator/address"),
            None => (vault.address.clone(), "/vault/address"),
        };
        let ca_secret = operator.and_then(|o| o.ca_secret.clone());
        let host = address
            .split_once("://")
            .map(|(_, rest)| rest.split([':', '/']).next().unwrap_or(rest))
            .unwrap_or_default();
        let internal = &raw.domains.internal;
        let on_step_ca = host == internal || host.ends_with(&format!(".{internal}"));
        if address.starts_with("http://") && ca_secret.is_some() {
            let d = Diagnostic::error(Code::VsoCaOverHttp, format!(
                "the Vault Secrets Operator connects to `{address}` over plain HTTP: there is no certificate for `ca_secret` to verify"
            ))
            .at(self.span("/vault/operator/ca_secret"), "remove this")
            .also(self.span(at), "or give an https:// address");
            self.error(d);
        } else if address.starts_with("https://") && ca_secret.is_none() && step_ca && on_step_ca {
            let d = Diagnostic::error(Code::VsoCannotVerify, format!(
                "the Vault Secrets Operator cannot verify `{address}`: its certificate is step-ca's, and VSO trusts public roots only"
            ))
            .at(self.span(at), "VaultConnection address")
            .note("set `vault.operator.ca_secret` to a Secret holding step-ca's root as `ca.crt`, or `vault.operator.address` to Vault's in-cluster Service");
            self.error(d);
        }
        (address, ca_secret)
    }

    fn pooler(&mut self, raw: &raw::Lab, apps: &BTreeMap<String, App>) {
        if let Some(app) = raw.postgres.as_ref().and_then(|p| p.pooler_app.as_ref())
            && !apps.contains_key(app)
        {
            self.unknown(
                Code::UnknownApp,
                "/postgres/pooler_app",
                "app",
                app,
                apps.keys(),
            );
        }
    }

    fn unknown<'k>(
        &mut self,
        code: Code,
        pointer: &str,
        what: &str,
        name: &str,
        known: impl Iterator<Item = &'k String>,
    ) {
        let known: Vec<String> = known.cloned().collect();
        let mut d = Diagnostic::error(code, format!("unknown {what} `{name}`"))
            .at(self.span(pointer), format!("no {what} with this name"));
        if let Some(best) = crate::diag::closest(name, &known) {
            d = d.note(format!("did you mean `{best}`?"));
        }
        d = d.note(format!("known {what}s: {}", known.join(", ")));
        self.error(d);
    }

    fn step_ca(&mut self, placed: &BTreeMap<Service, Vec<String>>, domain: &str) -> Option<StepCa> {
        let primary = placed.get(&Service::StepCaPrimary)?.first()?.clone();
        Some(StepCa {
            primary,
            replicas: placed
                .get(&Service::StepCaReplica)
                .cloned()
                .unwrap_or_default(),
            domain: domain.to_string(),
        })
    }

    /// An sslmode that verifies the server's certificate needs the lab's CA
    /// (`pki`). Without `pki`, OpenTofu's providers and the runners trust the
    /// public roots only.
    fn pki_needed(&mut self, raw: &raw::Lab) {
        if raw.pki.is_some() {
            return;
        }
        if let Some(mode @ (raw::SslMode::VerifyCa | raw::SslMode::VerifyFull)) =
            raw.postgres.as_ref().and_then(|p| p.sslmode)
        {
            let d = Diagnostic::error(Code::SslmodeWithoutPki, format!(
                "`postgres.sslmode` is `'{}`, which checks the server's certificate against the lab's CA, but the lab has no `pki`",
                mode.as_str()
            ))
            .at(self.span("/postgres/sslmode"), "verifies against pki.root_ca_file")
            .note("add `pki = { root_ca_file = \"<step-ca's root certificate>\" }`");
            self.error(d);
        }
    }

    /// `manager`: who manages PostgreSQL's objects, if the lab has PostgreSQL.
    fn tofu(&mut self, raw: &raw::Tofu, manager: Option<PostgresManager>) -> Tofu {
        let mut modules = BTreeMap::new();
        let foreign: BTreeSet<&String> = raw.foreign_state_prefixes.iter().flatten().collect();
        let mut kinds: BTreeMap<&str, &str> = BTreeMap::new();
        for local in raw.providers.keys() {
            let p = ptr(&["tofu", "providers", local]);
            let problem = names::tf_provider_name_problem(local);
            self.check_name(&p, local, "an OpenTofu provider local name", problem);
        }
        for (name, m) in &raw.modules {
            let p = ptr(&["tofu", "modules", name]);
            self.check_name(&p, name, "a directory name", names::file_name_problem(name));
            let kind = m.kind.as_str();
            if let Some(first) = kinds.insert(kind, name) {
                let d = Diagnostic::error(Code::ModuleKindTwice, format!(
                    "modules `{first}` and `{name}` are both of kind `'{kind}`; the lab has one of each at most"
                ))
                .at(self.span(&format!("{p}/kind")), "second module of this kind");
                self.error(d);
            }
            let mut providers = BTreeSet::new();
            for (i, pr) in m.providers.iter().enumerate() {
                if !raw.providers.contains_key(pr) {
                    self.unknown(
                        Code::UnknownProvider,
                        &format!("{p}/providers/{i}"),
                        "provider",
                        pr,
                        raw.providers.keys(),
                    );
                }
                providers.insert(pr.clone());
            }
            let required: &[&str] = match m.kind {
                ModuleKind::Factory => &["hashicorp/vault", "go-gitea/gitea", "hashicorp/google"],
                ModuleKind::Postgres => &["cyrilgdn/postgresql"],
            };
            for source in required {
                let pinned = providers
                    .iter()
                    .filter_map(|p| raw.providers.get(p))
                    .any(|p| p.source == *source);
                if !pinned {
                    let d = Diagnostic::error(Code::ProviderNotPinned, format!(
                        "module `{name}` declares resources of `{source}` but does not pin that provider"
                    ))
                    .at(self.span(&format!("{p}/providers")), "add the provider here")
                    .note(format!("pin it in `tofu.providers` with source = \"{source}\""));
                    self.error(d);
                }
            }
            let state_prefix = m
                .state_prefix
                .clone()
                .unwrap_or_else(|| names::state_prefix(name));
            if foreign.contains(&state_prefix) {
                let at = match &m.state_prefix {
                    Some(_) => format!("{p}/state_prefix"),
                    None => p.clone(),
                };
                let d = Diagnostic::error(Code::ForeignStatePrefix, format!(
                    "module `{name}` would keep its state under `{state_prefix}`, a hand-written root's prefix"
                ))
                .at(self.span(&at), "this module's state")
                .note(
                    "a root owns everything in its state: sharing it would plan the destruction of what this module does not declare; set another `state_prefix`",
                );
                self.error(d);
            }
            if m.kind == ModuleKind::Postgres && manager == Some(PostgresManager::Sql) {
                let d = Diagnostic::error(Code::PostgresManager, format!(
                    "module `{name}` declares the PostgreSQL objects, but `postgres.manager` is `'sql`"
                ))
                .at(self.span(&format!("{p}/kind")), "a second manager of the same objects")
                .note("one manager per object: remove this module, or set `postgres.manager = 'opentofu`");
                self.error(d);
            }
            modules.insert(
                name.clone(),
                Module {
                    name: name.clone(),
                    kind: m.kind,
                    state_prefix,
                    providers,
                    adopt: m.adopt.unwrap_or(defaults::ADOPT),
                },
            );
        }
        if manager == Some(PostgresManager::Opentofu)
            && !raw.modules.values().any(|m| m.kind == ModuleKind::Postgres)
        {
            let d = Diagnostic::error(
                Code::PostgresManager,
                "`postgres.manager` is `'opentofu`, but no module of kind `'postgres` declares the PostgreSQL objects",
            )
            .at(
                self.span("/postgres/manager").or(self.span("/tofu/modules")),
                "nothing would create the roles and databases",
            )
            .note("add a module with kind = 'postgres to `tofu.modules`, or set `postgres.manager = 'sql`");
            self.error(d);
        }
        Tofu {
            state_bucket: raw.state_bucket.clone(),
            gcp_project: raw.gcp_project.clone(),
            gcp_region: raw.gcp_region.clone(),
            providers: raw
                .providers
                .iter()
                .map(|(k, p)| {
                    (
                        k.clone(),
                        Provider {
                            source: p.source.clone(),
                            version: p.version.clone(),
                        },
                    )
                })
                .collect(),
            modules,
        }
    }

    fn backups(&mut self, raw: &raw::Backups, hosts: &BTreeMap<String, Host>) -> Backups {
        if let Some(h) = &raw.nfs_host
            && !hosts.contains_key(h)
        {
            self.unknown(
                Code::UnknownHost,
                "/backups/nfs_host",
                "host",
                h,
                hosts.keys(),
            );
        }
        for (name, job) in [
            ("postgres", &raw.postgres),
            ("gitea", &raw.gitea),
            ("k3s_pvc", &raw.k3s_pvc),
        ] {
            if let Some(job) = job {
                let at = format!("/backups/{name}/schedule");
                let problem = names::cron_problem(&job.schedule);
                self.check_name(&at, &job.schedule, "a cron schedule", problem);
            }
        }
        let job = |j: &Option<raw::BackupJob>| {
            j.as_ref().map(|j| {
                let f: Vec<&str> = j.schedule.split(' ').collect();
                let field = |i: usize| f.get(i).copied().unwrap_or("*").to_string();
                BackupJob {
                    minute: field(0),
                    hour: field(1),
                    day: field(2),
                    month: field(3),
                    weekday: field(4),
                    keep_days: j.keep_days,
                }
            })
        };
        Backups {
            destination: raw.destination.clone(),
            nfs_host: raw.nfs_host.clone(),
            postgres: job(&raw.postgres),
            gitea: job(&raw.gitea),
            k3s_pvc: job(&raw.k3s_pvc),
        }
    }
}

/// Something that claims a resource (a port on a host, a path), and where
/// the lab says so: the field, or the record that leaves it to its default.
struct Claim {
    what: String,
    at: At,
}

/// Puts `value` at the dotted `path` of an upstream chart's values,
/// creating the records on the way. A key already set on the way (a value
/// that is not a record, or the last key itself) is the lab's: its dotted
/// path is the error.
fn put_value(
    values: &mut BTreeMap<String, serde_json::Value>,
    path: &str,
    value: serde_json::Value,
) -> Result<(), String> {
    let mut keys = path.split('.');
    let first = keys.next().unwrap_or_default();
    let mut walked = first.to_string();
    let rest: Vec<&str> = keys.collect();
    let Some((last, middle)) = rest.split_last() else {
        return match values.entry(first.to_string()) {
            std::collections::btree_map::Entry::Occupied(_) => Err(walked),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(value);
                Ok(())
            }
        };
    };
    let mut node = values
        .entry(first.to_string())
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    for key in middle {
        let serde_json::Value::Object(map) = node else {
            return Err(walked);
        };
        walked = format!("{walked}.{key}");
        node = map
            .entry(key.to_string())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    }
    let serde_json::Value::Object(map) = node else {
        return Err(walked);
    };
    if map.contains_key(*last) {
        return Err(format!("{walked}.{last}"));
    }
    map.insert(last.to_string(), value);
    Ok(())
}

/// Where a claim is made. A pointer is resolved to its span only when a
/// collision is reported: a valid lab looks none up (at 1,000 apps, one
/// span per ingress cost 35 M instructions, 3% of `labc check`).
enum At {
    Span(Option<Span>),
    Pointer(String),
}

impl From<Option<Span>> for At {
    fn from(span: Option<Span>) -> Self {
        At::Span(span)
    }
}

impl Cx<'_> {
    /// The span of `field` of the record at `record`, or of the record when
    /// the field is left to its default.
    fn field_or_record(&self, record: &str, field: &str) -> Option<Span> {
        let at = format!("{record}/{field}");
        match self.loaded.value.pointer(&at) {
            Some(_) => self.span(&at),
            None => self.span(record),
        }
    }

    /// Reports every second claim of one key, with the first claim shown.
    fn unique<K: Ord + std::fmt::Display>(
        &mut self,
        code: Code,
        kind: &str,
        claims: Vec<(K, Claim)>,
    ) {
        let mut first: BTreeMap<K, Claim> = BTreeMap::new();
        for (key, claim) in claims {
            match first.get(&key) {
                Some(earlier) => {
                    let span = |at: &At| match at {
                        At::Span(span) => *span,
                        At::Pointer(p) => self.span(p),
                    };
                    let d = Diagnostic::error(
                        code,
                        format!(
                            "{kind} {key} is claimed twice: by {} and by {}",
                            earlier.what, claim.what
                        ),
                    )
                    .at(span(&claim.at), format!("{} claims it here", claim.what))
                    .also(
                        span(&earlier.at),
                        format!("{} claims it here", earlier.what),
                    );
                    self.error(d);
                }
                None => {
                    first.insert(key, claim);
                }
            }
        }
    }

    /// Every port labc places on a host's network: what Compose publishes,
    /// the k3s API on servers, and SSH (22, what Ansible connects to). A
    /// port claimed twice on one host would stop a service from starting.
    fn host_ports(
        &mut self,
        hosts: &BTreeMap<String, Host>,
        k3s: &K3s,
        gitea: Option<&Gitea>,
        postgres: Option<&Postgres>,
    ) {
        let mut claims = Vec::new();
        for h in hosts.keys() {
            let at = self.loaded.key_span(&ptr(&["hosts", h]));
            let what = "SSH (Ansible's connection)".to_string();
            claims.push((
                (h.clone(), names::SSH_PORT),
                Claim {
                    what,
                    at: at.into(),
                },
            ));
        }
        for s in &k3s.servers {
            let at = self.field_or_record("/k3s", "api_port");
            let what = "the k3s API".to_string();
            let at = at.into();
            claims.push(((s.clone(), k3s.api_port), Claim { what, at }));
            // Several servers run embedded etcd, listening on each of them.
            if k3s.servers.len() > 1 {
                for port in names::ETCD_PORTS {
                    let at = self.service_span(s, Service::K3sServer).into();
                    let what = "k3s's embedded etcd".to_string();
                    claims.push(((s.clone(), port), Claim { what, at }));
                }
            }
        }
        if let Some(postgres) = postgres {
            let pg_at = self.field_or_record("/postgres", "port");
            let what = "PostgreSQL".to_string();
            claims.push((
                (postgres.host.clone(), postgres.port),
                Claim {
                    what,
                    at: pg_at.into(),
                },
            ));
        }
        for (field, port, what) in gitea.into_iter().flat_map(|g| {
            [
                ("http_port", g.http_port, "Gitea's web UI"),
                ("ssh_port", g.ssh_port, "Gitea's SSH"),
            ]
        }) {
            let at = self.field_or_record("/gitea", field);
            let claim = Claim {
                what: what.to_string(),
                at: at.into(),
            };
            let host = gitea.map(|g| g.host.clone()).unwrap_or_default();
            claims.push(((host, port), claim));
        }
        let claims = claims
            .into_iter()
            .map(|((host, port), c)| (HostPort(host, port), c))
            .collect();
        self.unique(Code::PortCollision, "port", claims);
    }

    /// Env files of the services on one host must differ: a shared one hands
    /// each service the others' secrets (Gitea would get POSTGRES_PASSWORD).
    fn env_files(
        &mut self,
        gitea: Option<&Gitea>,
        postgres: Option<&Postgres>,
        runner: Option<&Runner>,
    ) {
        let mut claims = Vec::new();
        if let Some(postgres) = postgres {
            claims.push((
                (postgres.host.clone(), postgres.env_file.clone()),
                "PostgreSQL",
                "/postgres/env_file",
            ));
        }
        if let Some(gitea) = gitea {
            claims.push((
                (gitea.host.clone(), gitea.env_file.clone()),
                "Gitea",
                "/gitea/env_file",
            ));
        }
        for (h, runner) in runner
            .into_iter()
            .flat_map(|r| r.hosts.iter().map(move |h| (h, r)))
        {
            claims.push((
                (h.clone(), runner.env_file.clone()),
                "a runner",
                "/runner/env_file",
            ));
        }
        let claims = claims
            .into_iter()
            .map(|((host, path), what, at)| {
                let claim = Claim {
                    what: what.to_string(),
                    at: self.span(at).into(),
                };
                (HostPath(host, path), claim)
            })
            .collect();
        self.unique(Code::EnvFileCollision, "env file", claims);
    }

    /// Host names the lab puts in DNS must be distinct and valid: each
    /// app's ingress hosts, ArgoCD's, Gitea's and Vault's.
    fn dns_names(&mut self, raw: &raw::Lab, apps: &BTreeMap<String, App>, gitea: Option<&Gitea>) {
        let argocd_host = raw.argocd.as_ref().map(|a| a.host.clone());
        let gitea_host = gitea.map(|g| g.domain.clone());
        let mut claims = Vec::new();
        if let Some(host) = &argocd_host {
            let at = self.span("/argocd/host");
            claims.push((
                host.clone(),
                Claim {
                    what: "ArgoCD".into(),
                    at: at.into(),
                },
            ));
        }
        if let Some(host) = &gitea_host {
            let at = self.span("/gitea/url");
            claims.push((
                host.clone(),
                Claim {
                    what: "Gitea".into(),
                    at: at.into(),
                },
            ));
        }
        // Vault may share a name with Gitea or ArgoCD (one ingress in front).
        if let Some(vault) = &raw.vault {
            let vault_host = url_host(&vault.address);
            if Some(&vault_host) != gitea_host.as_ref() && Some(&vault_host) != argocd_host.as_ref()
            {
                let at = self.span("/vault/address");
                claims.push((
                    vault_host,
                    Claim {
                        what: "Vault".into(),
                        at: at.into(),
                    },
                ));
            }
        }
        // step-ca answers on its own name (the ACME directory's host).
        if let Some(acme) = raw.acme() {
            let at = self.span("/pki/acme/url");
            claims.push((
                url_host(&acme.url),
                Claim {
                    what: "step-ca".into(),
                    at: at.into(),
                },
            ));
        }
        for app in apps.values() {
            for (i, (_, host)) in app.ingress.iter().enumerate() {
                let at = format!("{}/ingress/{i}", ptr(&["apps", &app.name]));
                // An invalid app name is reported as such; its host would
                // only repeat it.
                let problem = names::dns1123_label_problem(&app.name)
                    .is_none()
                    .then(|| names::dns_name_problem(host))
                    .flatten();
                if let Some(problem) = problem {
                    let d = Diagnostic::error(
                        Code::InvalidName,
                        format!("ingress host `{host}` is not a DNS name: it {problem}"),
                    )
                    .at(self.span(&at), "this ingress");
                    self.error(d);
                }
                let what = format!("app `{}`'s ingress", app.name);
                let at = At::Pointer(at);
                claims.push((host.clone(), Claim { what, at }));
            }
        }
        self.unique(Code::HostNameCollision, "host name", claims);
    }
}

impl Cx<'_> {
    /// Modules keep their state in one bucket: two prefixes the GCS backend
    /// reads as one (it trims `/` and adds one) would share a state.
    fn state_prefixes(&mut self, tofu: &Tofu) {
        let claims = tofu
            .modules
            .values()
            .map(|m| {
                let p = ptr(&["tofu", "modules", &m.name]);
                let at = match self.loaded.value.pointer(&format!("{p}/state_prefix")) {
                    Some(_) => self.span(&format!("{p}/state_prefix")),
                    None => self.loaded.key_span(&p),
                };
                let what = format!("module `{}`", m.name);
                (
                    names::state_prefix_key(&m.state_prefix),
                    Claim {
                        what,
                        at: at.into(),
                    },
                )
            })
            .collect();
        self.unique(Code::StatePrefixCollision, "state prefix", claims);
    }
}

/// A port on a host, as the collision report names it.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct HostPort(String, u16);

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on host `{}`", self.1, self.0)
    }
}

/// A path on a host, as the collision report names it.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct HostPath(String, String);

impl std::fmt::Display for HostPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on host `{}`", self.1.escape_debug(), self.0)
    }
}

/// The host of an `https://` URL (the schema's pattern guarantees the form).
fn url_host(url: &str) -> String {
    url.trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// An upstream chart as an Argo CD source names it: `repoURL` and, from a
/// Helm repository, `chart`; an OCI chart is the artifact
/// `oci://<path>/<name>`, read from its root (no `chart`).
fn chart_source(repo: &str, name: &str) -> (String, Option<String>) {
    if repo.starts_with("oci://") {
        (names::oci_chart(repo, name), None)
    } else {
        (repo.to_string(), Some(name.to_string()))
    }
}

fn chart_ref(c: &raw::ChartRef) -> ChartRef {
    let (repo_url, chart) = chart_source(&c.repo, &c.name);
    ChartRef {
        release: c.release.clone().unwrap_or_else(|| c.name.clone()),
        repo_url,
        chart,
        version: c.version.clone(),
    }
}

/// The certificate of each of an app's ingress hosts that the lab has an
/// issuer for: step-ca's for internal hosts, the named public issuer's for
/// public ones.
fn certificates(
    app: &str,
    ingress: &BTreeMap<Exposure, String>,
    pki: Option<&raw::Pki>,
) -> BTreeMap<Exposure, Certificate> {
    let Some(pki) = pki else {
        return BTreeMap::new();
    };
    ingress
        .iter()
        .filter_map(|(exposure, host)| {
            let issuer = match exposure {
                Exposure::Internal => pki.acme.as_ref().map(|a| {
                    a.issuer
                        .clone()
                        .unwrap_or_else(|| defaults::ACME_ISSUER.into())
                }),
                Exposure::Public => pki.public_issuer.clone(),
            }?;
            let e = exposure.as_str();
            Some((
                *exposure,
                Certificate {
                    name: names::certificate(app, e),
                    secret: names::certificate_secret(app, e),
                    issuer,
                    host: host.clone(),
                },
            ))
        })
        .collect()
}

fn link_databases(
    mut databases: BTreeMap<String, Database>,
    apps: &BTreeMap<String, App>,
) -> BTreeMap<String, Database> {
    for app in apps.values() {
        if let Some(db) = app.database.as_ref().and_then(|d| databases.get_mut(d)) {
            db.apps.insert(app.name.clone());
        }
    }
    databases
}

/// The repositories' settings, defaults applied.
fn repo_settings(r: Option<&raw::RepoSettings>) -> RepoSettings {
    let d = raw::RepoSettings::default();
    let r = r.unwrap_or(&d);
    RepoSettings {
        private: r.private.unwrap_or(defaults::REPO_PRIVATE),
        default_branch: r
            .default_branch
            .clone()
            .unwrap_or_else(|| defaults::REPO_DEFAULT_BRANCH.into()),
        auto_init: r.auto_init.unwrap_or(defaults::REPO_AUTO_INIT),
        has_issues: r.has_issues.unwrap_or(defaults::REPO_HAS_ISSUES),
        has_wiki: r.has_wiki.unwrap_or(defaults::REPO_HAS_WIKI),
        has_pull_requests: r
            .has_pull_requests
            .unwrap_or(defaults::REPO_HAS_PULL_REQUESTS),
        has_projects: r.has_projects.unwrap_or(defaults::REPO_HAS_PROJECTS),
        allow_merge_commits: r
            .allow_merge_commits
            .unwrap_or(defaults::REPO_ALLOW_MERGE_COMMITS),
        allow_rebase: r.allow_rebase.unwrap_or(defaults::REPO_ALLOW_REBASE),
        allow_rebase_explicit: r
            .allow_rebase_explicit
            .unwrap_or(defaults::REPO_ALLOW_REBASE_EXPLICIT),
        allow_squash_merge: r
            .allow_squash_merge
            .unwrap_or(defaults::REPO_ALLOW_SQUASH_MERGE),
        allow_manual_merge: r
            .allow_manual_merge
            .unwrap_or(defaults::REPO_ALLOW_MANUAL_MERGE),
        autodetect_manual_merge: r
            .autodetect_manual_merge
            .unwrap_or(defaults::REPO_AUTODETECT_MANUAL_MERGE),
        ignore_whitespace_conflicts: r
            .ignore_whitespace_conflicts
            .unwrap_or(defaults::REPO_IGNORE_WHITESPACE_CONFLICTS),
        archived: r.archived.unwrap_or(defaults::REPO_ARCHIVED),
        template: r.template.unwrap_or(defaults::REPO_TEMPLATE),
    }
}

fn first(placed: &BTreeMap<Service, Vec<String>>, s: Service) -> String {
    placed
        .get(&s)
        .and_then(|v| v.first())
        .cloned()
        .unwrap_or_default()
}

/// A port the schema already range-checked (1..=65535).
fn port(value: Option<u32>, default: u16) -> u16 {
    value.and_then(|v| u16::try_from(v).ok()).unwrap_or(default)
}

impl Cx<'_> {
    /// The upstream chart of app `a` (at `p`), if it names one; reports the
    /// fields that are the chart's own (its values) rather than labc's, and
    /// values that aren't data labc writes as given.
    fn chart(&mut self, p: &str, a: &raw::App) -> Option<UpstreamChart> {
        let Some(c) = &a.chart else {
            if a.values.is_some() {
                let d = Diagnostic::error(Code::ChartApp, "`values` are an upstream chart's, but this app names no `chart`")
                    .at(self.span(&format!("{p}/values")), "no chart reads these")
                    .note("the lab's own apps get their values from labc; add `chart = { repo = ..., name = ..., version = ... }` for an upstream chart");
                self.error(d);
            }
            return None;
        };
        let chart_owns = [
            ("org", a.org.is_some()),
            ("repo_url", a.repo_url.is_some()),
            ("port", a.port.is_some()),
            ("replicas", a.replicas.is_some()),
            ("volume_size", a.volume_size.is_some()),
            // Unless the lab says where the chart reads its hosts.
            ("ingress", a.ingress.is_some() && c.hosts_at.is_none()),
        ];
        for (field, set) in chart_owns {
            if set {
                let d = Diagnostic::error(Code::ChartApp, format!(
                    "`{field}` is the upstream chart's to decide, not labc's"
                ))
                .at(self.span(&format!("{p}/{field}")), "set by the chart's values")
                .note(if field == "ingress" {
                    "name where the chart reads its host names (`chart.hosts_at = \"ingress.hosts\"`), or set them in `values`"
                } else {
                    "set what the chart offers for it in `values` (a Nickel `let` can share a name, like a host, with the rest of the lab)"
                });
                self.error(d);
            }
        }
        if c.hosts_at.is_some() && a.ingress.is_none() {
            let d = Diagnostic::error(
                Code::ChartApp,
                "`hosts_at` says where the chart reads ingress hosts, but the app has no `ingress`",
            )
            .at(
                self.span(&format!("{p}/chart/hosts_at")),
                "no hosts to write",
            )
            .note("add `ingress = ['internal]` (or `'public`), or remove `hosts_at`");
            self.error(d);
        }
        match (&a.image, a.image_updater) {
            (None, Some(_)) => {
                let d = Diagnostic::error(Code::ChartApp,
                    "an upstream chart's image is its own: to follow one, name it in `image`",
                )
                .at(self.span(&format!("{p}/image_updater")), "follows which image?")
                .note("the Image Updater writes `image.repository` and `image.tag` to the chart's values");
                self.error(d);
            }
            (Some(_), None) => {
                let d = Diagnostic::error(Code::ChartApp,
                    "an upstream chart's image is its own: `image` only says what `image_updater` follows",
                )
                .at(self.span(&format!("{p}/image")), "nothing follows it")
                .note("set the image in `values`, or add `image_updater`");
                self.error(d);
            }
            _ => {}
        }
        let values = a.values.clone().unwrap_or_default();
        for (key, value) in &values {
            self.chart_value(&format!("{p}/values/{}", pointer_segment(key)), value);
        }
        let (repo_url, chart) = chart_source(&c.repo, &c.name);
        Some(UpstreamChart {
            repo_url,
            chart,
            version: c.version.clone(),
            values,
        })
    }

    /// Reports a value of an upstream chart's `values` labc can't write as
    /// the same YAML value: a fractional number (Helm reads YAML 1.1 floats
    /// its own way), a whole number past 64 bits.
    fn chart_value(&mut self, at: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Number(n) if n.as_i64().is_none() => {
                let d = Diagnostic::error(Code::ChartApp, format!(
                    "chart value `{n}` is not a whole number labc can write"
                ))
                .at(self.span(at), "write it as a string")
                .note("values are whole numbers from -2^63 to 2^63-1, strings, booleans, null, arrays and records");
                self.error(d);
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.chart_value(&format!("{at}/{i}"), v);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    self.chart_value(&format!("{at}/{}", pointer_segment(k)), v);
                }
            }
            _ => {}
        }
    }

    /// What one section of the lab needs of another: every section missing
    /// is reported where the need arises, all at once.
    fn sections_needed(&mut self, raw: &raw::Lab) {
        let mut needs: Vec<(String, String, &str)> = Vec::new();
        let mut need = |at: String, why: String, section: &'static str, present: bool| {
            if !present {
                needs.push((at, why, section));
            }
        };
        let (pg, gitea, vault, tofu) = (
            raw.postgres.is_some(),
            raw.gitea.is_some(),
            raw.vault.is_some(),
            raw.tofu.is_some(),
        );
        let (argocd, longhorn) = (raw.argocd.is_some(), raw.longhorn.is_some());
        if gitea {
            need(
                "/gitea".into(),
                "Gitea keeps its data in PostgreSQL".into(),
                "postgres",
                pg,
            );
        }
        if raw.runner.is_some() {
            need(
                "/runner".into(),
                "the runners register with Gitea".into(),
                "gitea",
                gitea,
            );
        }
        if !raw.databases.is_empty() {
            let why = "the databases live in PostgreSQL".to_string();
            need("/databases".into(), why, "postgres", pg);
        }
        if !raw.apps.is_empty() {
            need(
                "/apps".into(),
                "ArgoCD deploys the apps".into(),
                "argocd",
                argocd,
            );
        }
        for (name, a) in &raw.apps {
            let p = ptr(&["apps", name]);
            match a.archetype {
                raw::Archetype::Postgres => {
                    let why = format!("app `{name}` keeps its state in PostgreSQL");
                    need(format!("{p}/archetype"), why, "postgres", pg);
                }
                raw::Archetype::Sqlite if a.chart.is_none() => {
                    let why = format!("app `{name}` keeps SQLite on a Longhorn volume");
                    need(format!("{p}/archetype"), why, "longhorn", longhorn);
                }
                raw::Archetype::Sqlite | raw::Archetype::Stateless => {}
            }
            if a.vault == Some(true) {
                let why = format!("app `{name}` reads Vault");
                need(format!("{p}/vault"), why, "vault", vault);
            }
        }
        for (name, db) in &raw.databases {
            if db.vault == Some(true) {
                let why = format!("Vault issues the credentials of database `{name}`");
                let at = format!("{}/vault", ptr(&["databases", name]));
                need(at, why, "vault", vault);
            }
        }
        if raw.argocd.as_ref().is_some_and(|a| a.registry.is_some()) {
            let why = "the Image Updater reads Gitea's registry".to_string();
            need("/argocd/registry".into(), why, "gitea", gitea);
        }
        if longhorn {
            let why = "the app-of-apps chart renders Longhorn's backup target".to_string();
            need("/longhorn".into(), why, "argocd", argocd);
            let why = "Longhorn's backup bucket is in `tofu.gcp_region`".to_string();
            need("/longhorn".into(), why, "tofu", tofu);
            let why = "the Vault Secrets Operator reads Longhorn's backup credentials from Vault"
                .to_string();
            need("/longhorn".into(), why, "vault", vault);
        }
        if raw.pki.as_ref().is_some_and(|p| p.acme.is_some()) {
            let why = "the app-of-apps chart renders step-ca's ClusterIssuer".to_string();
            need("/pki/acme".into(), why, "argocd", argocd);
        }
        if let Some(p) = &raw.postgres
            && p.manager.unwrap_or(defaults::POSTGRES_MANAGER) == PostgresManager::Opentofu
        {
            let at = match p.manager {
                Some(_) => "/postgres/manager",
                None => "/postgres",
            };
            let why = "OpenTofu creates PostgreSQL's roles and databases (`postgres.manager = 'opentofu`, the default; 'sql writes psql scripts instead)".to_string();
            need(at.into(), why, "tofu", tofu);
        }
        for (name, m) in raw.tofu.iter().flat_map(|t| &t.modules) {
            let at = format!("{}/kind", ptr(&["tofu", "modules", name]));
            let managed: &[(&str, &'static str, bool)] = match m.kind {
                ModuleKind::Factory => &[
                    ("Vault's mounts, roles and policies", "vault", vault),
                    ("the apps' Gitea repositories", "gitea", gitea),
                    ("Vault's PostgreSQL connection", "postgres", pg),
                    ("Longhorn's backup bucket", "longhorn", longhorn),
                ],
                ModuleKind::Postgres => &[("PostgreSQL's roles and databases", "postgres", pg)],
            };
            for (what, section, present) in managed {
                let why = format!("module `{name}` manages {what}");
                need(at.clone(), why, section, *present);
            }
        }
        if let Some(b) = &raw.backups {
            if b.postgres.is_some() {
                let why = "the backup job `postgres` dumps PostgreSQL".to_string();
                need("/backups/postgres".into(), why, "postgres", pg);
            }
            if b.gitea.is_some() {
                let why = "the backup job `gitea` dumps Gitea".to_string();
                need("/backups/gitea".into(), why, "gitea", gitea);
            }
        }
        for (at, why, section) in needs {
            let d = Diagnostic::error(
                Code::MissingSection,
                format!("{why}, but the lab has no `{section}` section"),
            )
            .at(self.span(&at), format!("needs `{section}`"))
            .note(format!("add `{section} = {{ ... }}` to the lab"));
            self.error(d);
        }
    }
}

/// Longhorn's settings, defaults applied; `region` is the bucket's
/// (`tofu.gcp_region`, which `sections_needed` made sure the lab has).
fn longhorn(l: &raw::Longhorn, region: &str) -> Longhorn {
    Longhorn {
        storage_class: l
            .storage_class
            .clone()
            .unwrap_or_else(|| defaults::STORAGE_CLASS.into()),
        backup_bucket: l.backup_bucket.clone(),
        backup_target: names::longhorn_backup_target(&l.backup_bucket, region),
        namespace: l
            .namespace
            .clone()
            .unwrap_or_else(|| defaults::LONGHORN_NAMESPACE.into()),
        s3_endpoint: l
            .s3_endpoint
            .clone()
            .unwrap_or_else(|| defaults::LONGHORN_S3_ENDPOINT.into()),
        gcp_account: names::LONGHORN_GCP_ACCOUNT.into(),
        kv_path: names::LONGHORN_KV_PATH.into(),
        policy: names::LONGHORN_VAULT_NAME.into(),
        auth_role: names::LONGHORN_VAULT_NAME.into(),
        service_account: names::LONGHORN_SERVICE_ACCOUNT.into(),
        backup_secret: l
            .backup_secret
            .clone()
            .unwrap_or_else(|| defaults::LONGHORN_BACKUP_SECRET.into()),
    }
}
