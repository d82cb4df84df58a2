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
        let placement = self.placement(&hosts);
        let k3s = self.k3s(&raw.k3s, &hosts, &placement);
        let gitea = self.gitea(&raw, &placement);
        let postgres = self.postgres(&raw, &hosts, &placement);
        let databases = self.databases(&raw, &postgres, &gitea);
        let apps = self.apps(&raw, &gitea, &databases);
        let databases = link_databases(databases, &apps);
        self.pooler(&raw, &apps);
        let runner = Runner {
            image: self.image(&ptr(&["runner", "image"]), &raw.runner.image),
            labels: raw.runner.labels.clone(),
            env_file: raw.runner.env_file.clone(),
            hosts: placement
                .get(&Service::CiRunner)
                .cloned()
                .unwrap_or_default(),
        };
        for (i, label) in raw.runner.labels.iter().enumerate() {
            let at = format!("/runner/labels/{i}");
            self.check_name(
                &at,
                label,
                "a runner label",
                names::runner_label_problem(label),
            );
        }
        if let Some(revision) = &raw.argocd.target_revision {
            let problem = names::git_revision_problem(revision);
            self.check_name(
                "/argocd/target_revision",
                revision,
                "a Git revision",
                problem,
            );
        }
        let step_ca = self.step_ca(&placement, &raw.domains.internal);
        let tofu = self.tofu(&raw.tofu, postgres.manager);
        self.pki_needed(&raw);
        let backups = self.backups(&raw.backups, &hosts);
        self.host_ports(&hosts, &k3s, &gitea, &postgres);
        self.env_files(&gitea, &postgres, &runner);
        self.dns_names(&raw, &apps, &gitea);
        self.state_prefixes(&tofu);
        // Both end up as Kubernetes object names (an AppProject, a
        // StorageClass), which the lab's NAME pattern alone doesn't guarantee.
        if let Some(project) = &raw.argocd.project {
            let what = "an ArgoCD project name";
            let problem = names::dns1123_label_problem(project);
            self.check_name("/argocd/project", project, what, problem);
        }
        if let Some(ns) = &raw.longhorn.namespace {
            let what = "a Kubernetes namespace";
            let problem = names::dns1123_label_problem(ns);
            self.check_name("/longhorn/namespace", ns, what, problem);
        }
        if let Some(class) = &raw.longhorn.storage_class {
            let what = "a Kubernetes StorageClass name";
            let problem = names::dns1123_label_problem(class);
            self.check_name("/longhorn/storage_class", class, what, problem);
        }
        // Kubernetes names the lab writes outright: a namespace, Secrets
        // (DNS-1123 subdomains; a label is one, and the NAME pattern admits `_`).
        let k8s_names = [
            (
                "/longhorn/namespace",
                raw.longhorn.namespace.as_deref(),
                "a Kubernetes namespace",
            ),
            (
                "/longhorn/backup_secret",
                raw.longhorn.backup_secret.as_deref(),
                "a Kubernetes Secret name",
            ),
            (
                "/vault/operator/ca_secret",
                raw.vault
                    .operator
                    .as_ref()
                    .and_then(|o| o.ca_secret.as_deref()),
                "a Kubernetes Secret name",
            ),
            (
                "/argocd/registry/pull_secret",
                raw.argocd.registry.as_ref().map(|r| r.pull_secret.as_str()),
                "a Kubernetes Secret name",
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
        let argocd = self.argocd(&raw, &apps, &gitea);
        let vault_operator = self.vault_operator(&raw, step_ca.is_some());
        let v = &raw.vault;
        let connection_url =
            names::vault_connection_url(&postgres.address, postgres.port, postgres.sslmode);
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
            vault: Vault {
                kubernetes_host: v
                    .kubernetes_host
                    .clone()
                    .unwrap_or_else(|| defaults::KUBERNETES_HOST.into()),
                managed_elsewhere: v.managed_elsewhere.iter().flatten().copied().collect(),
                connection_url,
                address: v.address.clone(),
                operator_address: vault_operator.0,
                operator_ca_secret: vault_operator.1,
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
            },
            tofu,
            longhorn: Longhorn {
                storage_class: raw
                    .longhorn
                    .storage_class
                    .clone()
                    .unwrap_or_else(|| defaults::STORAGE_CLASS.into()),
                backup_bucket: raw.longhorn.backup_bucket.clone(),
                backup_target: names::longhorn_backup_target(
                    &raw.longhorn.backup_bucket,
                    &raw.tofu.gcp_region,
                ),
                namespace: raw
                    .longhorn
                    .namespace
                    .clone()
                    .unwrap_or_else(|| defaults::LONGHORN_NAMESPACE.into()),
                s3_endpoint: raw
                    .longhorn
                    .s3_endpoint
                    .clone()
                    .unwrap_or_else(|| defaults::LONGHORN_S3_ENDPOINT.into()),
                gcp_account: names::LONGHORN_GCP_ACCOUNT.into(),
                kv_path: names::LONGHORN_KV_PATH.into(),
                policy: names::LONGHORN_VAULT_NAME.into(),
                auth_role: names::LONGHORN_VAULT_NAME.into(),
                service_account: names::LONGHORN_SERVICE_ACCOUNT.into(),
                backup_secret: raw
                    .longhorn
                    .backup_secret
                    .clone()
                    .unwrap_or_else(|| defaults::LONGHORN_BACKUP_SECRET.into()),
            },
            backups,
            step_ca,
            pooler_app: raw.postgres.pooler_app.clone(),
            pki: raw.pki.as_ref().map(|p| Pki {
                root_ca_file: p.root_ca_file.clone(),
            }),
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
    fn placement(&mut self, hosts: &BTreeMap<String, Host>) -> BTreeMap<Service, Vec<String>> {
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
            (Service::Postgres, true, true),
            (Service::Gitea, true, true),
            (Service::StepCaPrimary, replicas, true),
        ];
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
        let api_endpoint = servers
            .first()
            .and_then(|s| hosts.get(s))
            .map(|h| h.address)
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
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

    fn gitea(&mut self, raw: &raw::Lab, placed: &BTreeMap<Service, Vec<String>>) -> Gitea {
        let g = &raw.gitea;
        let domain = url_host(&g.url);
        let database = raw
            .postgres
            .gitea_database
            .clone()
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
        raw: &raw::Lab,
        hosts: &BTreeMap<String, Host>,
        placed: &BTreeMap<Service, Vec<String>>,
    ) -> Postgres {
        let p = &raw.postgres;
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
        postgres: &Postgres,
        gitea: &Gitea,
    ) -> BTreeMap<String, Database> {
        let mut out = BTreeMap::new();
        // Every role name the SQL and OpenTofu emitters create, to catch two
        // names that are (or truncate to) the same role.
        let mut roles: BTreeMap<String, String> = BTreeMap::new();
        roles.insert(
            postgres.credentials_editor.clone(),
            "/postgres/credentials_editor".into(),
        );
        roles.insert(
            postgres.pgbouncer_auth.clone(),
            "/postgres/pgbouncer_auth".into(),
        );
        // Gitea's login role, which the Compose init script creates.
        roles
            .entry(gitea.database_user.clone())
            .or_insert_with(|| "/postgres/gitea_database".into());
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
            if *name == gitea.database {
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
                        .unwrap_or(defaults::DATABASE_VAULT)
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
        gitea: &Gitea,
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
            let org = a.org.clone().unwrap_or_else(|| gitea.default_org.clone());
            let image = match &a.image {
                Some(i) => self.image(&format!("{p}/image"), i),
                None => {
                    let (repository, tag) = names::image(&gitea.domain, &org, name);
                    Image { repository, tag }
                }
            };
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
            let vault = a
                .vault
                .unwrap_or(a.archetype == Archetype::Postgres)
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
                    repo_url: a
                        .repo_url
                        .clone()
                        .unwrap_or_else(|| names::repo_url(&gitea.url, &org, name)),
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
                    ingress,
                    vault,
                },
            );
        }
        out
    }

    /// ArgoCD: the lab repository, the root Application (named apart from
    /// every app: they share ArgoCD's namespace) and the registry access the
    /// Image Updater needs as soon as one app follows its image.
    fn argocd(&mut self, raw: &raw::Lab, apps: &BTreeMap<String, App>, gitea: &Gitea) -> ArgoCd {
        let a = &raw.argocd;
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
        if a.registry.is_none()
            && let Some((name, _)) = raw.apps.iter().find(|(_, app)| app.image_updater.is_some())
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
        ArgoCd {
            host: a.host.clone(),
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
            registry: a.registry.as_ref().map(|r| Registry {
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
    fn vault_operator(&mut self, raw: &raw::Lab, step_ca: bool) -> (String, Option<String>) {
        let operator = raw.vault.operator.as_ref();
        let (address, at) = match operator.and_then(|o| o.address.as_ref()) {
            Some(a) => (a.clone(), "/vault/operator/address"),
            None => (raw.vault.address.clone(), "/vault/address"),
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
        if let Some(app) = &raw.postgres.pooler_app
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
            raw.postgres.sslmode
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

    fn tofu(&mut self, raw: &raw::Tofu, manager: PostgresManager) -> Tofu {
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
            if m.kind == ModuleKind::Postgres && manager == PostgresManager::Sql {
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
        if manager == PostgresManager::Opentofu
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
    at: Option<Span>,
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
                    let d = Diagnostic::error(
                        code,
                        format!(
                            "{kind} {key} is claimed twice: by {} and by {}",
                            earlier.what, claim.what
                        ),
                    )
                    .at(claim.at, format!("{} claims it here", claim.what))
                    .also(earlier.at, format!("{} claims it here", earlier.what));
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
        gitea: &Gitea,
        postgres: &Postgres,
    ) {
        let mut claims = Vec::new();
        for h in hosts.keys() {
            let at = self.loaded.key_span(&ptr(&["hosts", h]));
            let what = "SSH (Ansible's connection)".to_string();
            claims.push(((h.clone(), names::SSH_PORT), Claim { what, at }));
        }
        for s in &k3s.servers {
            let at = self.field_or_record("/k3s", "api_port");
            let what = "the k3s API".to_string();
            claims.push(((s.clone(), k3s.api_port), Claim { what, at }));
        }
        let pg_at = self.field_or_record("/postgres", "port");
        let what = "PostgreSQL".to_string();
        claims.push((
            (postgres.host.clone(), postgres.port),
            Claim { what, at: pg_at },
        ));
        for (field, port, what) in [
            ("http_port", gitea.http_port, "Gitea's web UI"),
            ("ssh_port", gitea.ssh_port, "Gitea's SSH"),
        ] {
            let at = self.field_or_record("/gitea", field);
            let claim = Claim {
                what: what.to_string(),
                at,
            };
            claims.push(((gitea.host.clone(), port), claim));
        }
        let claims = claims
            .into_iter()
            .map(|((host, port), c)| (HostPort(host, port), c))
            .collect();
        self.unique(Code::PortCollision, "port", claims);
    }

    /// Env files of the services on one host must differ: a shared one hands
    /// each service the others' secrets (Gitea would get POSTGRES_PASSWORD).
    fn env_files(&mut self, gitea: &Gitea, postgres: &Postgres, runner: &Runner) {
        let mut claims = vec![
            (
                (postgres.host.clone(), postgres.env_file.clone()),
                "PostgreSQL",
                "/postgres/env_file",
            ),
            (
                (gitea.host.clone(), gitea.env_file.clone()),
                "Gitea",
                "/gitea/env_file",
            ),
        ];
        for h in &runner.hosts {
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
                    at: self.span(at),
                };
                (HostPath(host, path), claim)
            })
            .collect();
        self.unique(Code::EnvFileCollision, "env file", claims);
    }

    /// Host names the lab puts in DNS must be distinct and valid: each
    /// app's ingress hosts, ArgoCD's, Gitea's and Vault's.
    fn dns_names(&mut self, raw: &raw::Lab, apps: &BTreeMap<String, App>, gitea: &Gitea) {
        let vault_host = url_host(&raw.vault.address);
        let mut claims = vec![
            (
                raw.argocd.host.clone(),
                Claim {
                    what: "ArgoCD".into(),
                    at: self.span("/argocd/host"),
                },
            ),
            (
                gitea.domain.clone(),
                Claim {
                    what: "Gitea".into(),
                    at: self.span("/gitea/url"),
                },
            ),
        ];
        if vault_host != gitea.domain && vault_host != raw.argocd.host {
            claims.push((
                vault_host,
                Claim {
                    what: "Vault".into(),
                    at: self.span("/vault/address"),
                },
            ));
        }
        for app in apps.values() {
            for (i, (_, host)) in app.ingress.iter().enumerate() {
                let at = self.span(&format!("{}/ingress/{i}", ptr(&["apps", &app.name])));
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
                    .at(at, "this ingress");
                    self.error(d);
                }
                let what = format!("app `{}`'s ingress", app.name);
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
                (names::state_prefix_key(&m.state_prefix), Claim { what, at })
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
