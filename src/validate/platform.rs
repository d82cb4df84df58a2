//! The platform data the lab implies: step-ca's ACME issuer (`pki`) and the
//! records the internal resolvers answer (`dns`).
//!
//! Invariants: every name a Pi-hole record serves is inside
//! `domains.internal` and resolves to exactly one address (a name claimed
//! twice is the `dns_names` collision, reported there; Vault behind
//! Gitea's name is Gitea's record); the CA bundle is PEM certificates
//! whose base64 decodes. Errors point at the field that brought the name or
//! value in, like the rest of `validate`.

use super::{Claim, Cx, ptr, url_host};
use crate::diag::{Code, Diagnostic};
use crate::model::{Acme, App, Dns, DnsRecord, Exposure, Gitea, Host, Pki, Service};
use crate::names;
use crate::raw::{self, defaults};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

impl Cx<'_> {
    /// `pki`, with step-ca's ACME issuer resolved and its CA bundle checked.
    pub(super) fn pki(&mut self, p: &raw::Pki) -> Pki {
        let acme = p.acme.as_ref().map(|a| {
            if let Some(problem) = pem_problem(&a.ca_bundle) {
                let d = Diagnostic::error(
                    Code::InvalidCaBundle,
                    format!("`pki.acme.ca_bundle` is not PEM certificates: {problem}"),
                )
                .at(self.span("/pki/acme/ca_bundle"), "step-ca's root goes here")
                .note("paste the output of `step ca root` (one or more `-----BEGIN CERTIFICATE-----` blocks)");
                self.error(d);
            }
            let issuer = a
                .issuer
                .clone()
                .unwrap_or_else(|| defaults::ACME_ISSUER.into());
            // As checked: each line trimmed, blank lines dropped (Go's PEM
            // decoder wants its markers at the start of a line).
            let mut ca_bundle = String::new();
            for line in a.ca_bundle.lines().map(str::trim).filter(|l| !l.is_empty()) {
                ca_bundle.push_str(line);
                ca_bundle.push('\n');
            }
            Acme {
                url: a.url.clone(),
                host: url_host(&a.url),
                ca_bundle,
                account_key_secret: names::acme_account_secret(&issuer),
                issuer,
                ingress_class: a
                    .ingress_class
                    .clone()
                    .unwrap_or_else(|| defaults::ACME_INGRESS_CLASS.into()),
            }
        });
        Pki {
            root_ca_file: p.root_ca_file.clone(),
            acme,
            public_issuer: p.public_issuer.clone(),
        }
    }

    /// Longhorn's Vault objects are named apart from every app's: its role
    /// and policy are `longhorn`, its VaultConnection `vault` in its
    /// namespace. An app reading Vault named `longhorn`, or deployed to
    /// Longhorn's namespace, would declare them a second time.
    pub(super) fn longhorn_names(&mut self, raw: &raw::Lab, apps: &BTreeMap<String, App>) {
        let (Some(l), Some(_)) = (&raw.longhorn, &raw.vault) else {
            return;
        };
        let namespace = l
            .namespace
            .clone()
            .unwrap_or_else(|| defaults::LONGHORN_NAMESPACE.into());
        for app in apps.values().filter(|a| a.vault.is_some()) {
            let p = ptr(&["apps", &app.name]);
            if app.name == names::LONGHORN_VAULT_NAME {
                let d = Diagnostic::error(
                    Code::InvalidName,
                    format!(
                        "app `{}` reads Vault, and its role and policy would be Longhorn's (`{}`)",
                        app.name,
                        names::LONGHORN_VAULT_NAME
                    ),
                )
                .at(self.loaded.key_span(&p), "rename this app")
                .also(
                    self.span("/longhorn"),
                    "Longhorn reads its backup credentials as `longhorn`",
                );
                self.error(d);
            }
            if app.namespace == namespace {
                let d = Diagnostic::error(
                    Code::NamespaceCollision,
                    format!(
                        "app `{}` reads Vault in namespace `{namespace}`, where Longhorn's Vault resources are",
                        app.name
                    ),
                )
                .at(self.field_or_record(&p, "namespace"), "the app's namespace")
                .also(self.field_or_record("/longhorn", "namespace"), "Longhorn's")
                .note("both would declare the VaultConnection `vault` there: deploy the app to a namespace of its own");
                self.error(d);
            }
        }
    }

    /// The records of the internal resolvers: every name the lab serves
    /// inside, at the address that serves it. The cluster's names (apps'
    /// internal ingresses, ArgoCD, Vault, which runs in the cluster) at the
    /// ingress controller's; Gitea's and step-ca's at their hosts'.
    pub(super) fn dns(
        &mut self,
        d: &raw::Dns,
        raw: &raw::Lab,
        hosts: &BTreeMap<String, Host>,
        apps: &BTreeMap<String, App>,
        gitea: Option<&Gitea>,
    ) -> Dns {
        let ingress: Ipv4Addr = d.ingress_address.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
        if !hosts.values().any(|h| h.has(Service::Pihole)) {
            let d = Diagnostic::error(
                Code::ServiceOnNoHost,
                "the lab has `dns`, but no host carries `'pihole` to answer it",
            )
            .at(self.span("/dns"), "records for the internal resolvers")
            .note("add `'pihole` to the services of the hosts that resolve the lab's names");
            self.error(d);
        }
        let host_address = |service: Service| {
            hosts
                .values()
                .find(|h| h.has(service))
                .map(|h| (h.name.clone(), h.address))
        };
        // (name, address, what serves it, where the lab brings the name in)
        let mut claims: Vec<(String, Ipv4Addr, String, Claim)> = Vec::new();
        let mut claim = |name: String, address, served_by: String, what: String, at: &str| {
            let at = super::At::Pointer(at.to_string());
            claims.push((name, address, served_by, Claim { what, at }));
        };
        for app in apps.values() {
            if let Some(name) = app.ingress.get(&Exposure::Internal) {
                // The position in the list as written (the model's is sorted).
                let i = raw
                    .apps
                    .get(&app.name)
                    .and_then(|a| a.ingress.as_ref())
                    .and_then(|l| l.iter().position(|e| *e == Exposure::Internal))
                    .unwrap_or(0);
                claim(
                    name.clone(),
                    ingress,
                    format!("the ingress controller (app {})", app.name),
                    format!("app `{}`'s internal ingress", app.name),
                    &format!("{}/ingress/{i}", ptr(&["apps", &app.name])),
                );
            }
        }
        if let Some(a) = &raw.argocd {
            claim(
                a.host.clone(),
                ingress,
                "the ingress controller (ArgoCD)".into(),
                "ArgoCD".into(),
                "/argocd/host",
            );
        }
        if let Some(v) = &raw.vault {
            let name = url_host(&v.address);
            // Vault behind Gitea's name shares its front (as `dns_names`
            // allows): the name's record is Gitea's.
            let behind_gitea = gitea.is_some_and(|g| g.domain == name);
            if name.parse::<Ipv4Addr>().is_err() && !behind_gitea {
                claim(
                    name,
                    ingress,
                    "the ingress controller (Vault)".into(),
                    "Vault".into(),
                    "/vault/address",
                );
            }
        }
        if let (Some(g), Some((host, address))) = (gitea, host_address(Service::Gitea)) {
            claim(
                g.domain.clone(),
                address,
                format!("host {host} (Gitea)"),
                "Gitea".into(),
                "/gitea/url",
            );
        }
        if let Some(acme) = raw.acme() {
            match host_address(Service::StepCaPrimary) {
                Some((host, address)) => claim(
                    url_host(&acme.url),
                    address,
                    format!("host {host} (step-ca)"),
                    "step-ca's ACME endpoint".into(),
                    "/pki/acme/url",
                ),
                None => {
                    let d = Diagnostic::error(
                        Code::ServiceOnNoHost,
                        "`pki.acme.url` is step-ca's, but no host carries `'step_ca_primary` to serve it",
                    )
                    .at(self.span("/pki/acme/url"), "resolves to the step-ca primary's address")
                    .note("add `'step_ca_primary` to the host that runs step-ca");
                    self.error(d);
                }
            }
        }
        let internal = &raw.domains.internal;
        let mut records: BTreeMap<String, (DnsRecord, Claim)> = BTreeMap::new();
        for (name, address, served_by, claim) in claims {
            if name != *internal && !name.ends_with(&format!(".{internal}")) {
                let d = Diagnostic::error(
                    Code::DnsOutsideDomain,
                    format!(
                        "{} is served inside the lab at `{name}`, which is outside the internal domain `{internal}`",
                        claim.what
                    ),
                )
                .at(self.at(&claim.at), "a name the internal resolvers must answer")
                .also(self.span("/domains/internal"), "the domain they answer for")
                .note(format!("name it `<something>.{internal}`"));
                self.error(d);
                continue;
            }
            match records.get(&name) {
                // Another address: one name claimed twice, which
                // `dns_names` reports (labc::host-name-collision).
                Some(_) => {}
                None => {
                    records.insert(name, (DnsRecord { address, served_by }, claim));
                }
            }
        }
        Dns {
            ingress_address: ingress,
            records: records.into_iter().map(|(n, (r, _))| (n, r)).collect(),
        }
    }
}

/// What is wrong with a PEM bundle of certificates, if anything: it must
/// hold at least one `CERTIFICATE` block, nothing but blocks and blank
/// lines, and each block's body must be base64 (the bytes cert-manager
/// passes to Go's TLS stack).
fn pem_problem(text: &str) -> Option<String> {
    let mut blocks = 0;
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if line != PEM_BEGIN {
            return Some(format!(
                "found `{}` where `{PEM_BEGIN}` belongs",
                line.escape_debug()
            ));
        }
        let mut body = String::new();
        loop {
            match lines.next() {
                None => return Some(format!("a block is never closed by `{PEM_END}`")),
                Some(PEM_END) => break,
                Some(l) => body.push_str(l),
            }
        }
        match base64::engine::general_purpose::STANDARD.decode(&body) {
            Ok(der) if !der.is_empty() => blocks += 1,
            Ok(_) => return Some("a certificate block is empty".into()),
            Err(e) => return Some(format!("certificate {} is not base64 ({e})", blocks + 1)),
        }
    }
    (blocks == 0).then(|| "it holds no certificate".into())
}

#[cfg(test)]
mod tests {
    use super::pem_problem;

    #[test]
    fn pem_bundles() {
        let ok = "-----BEGIN CERTIFICATE-----\nAAEC\nAwQ=\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_problem(ok), None);
        assert_eq!(pem_problem(&format!("{ok}\n{ok}")), None);
        assert!(pem_problem("").unwrap().contains("no certificate"));
        assert!(pem_problem("hello").unwrap().contains("`hello`"));
        assert!(
            pem_problem("-----BEGIN CERTIFICATE-----\nAAEC\n")
                .unwrap()
                .contains("never closed")
        );
        assert!(
            pem_problem("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----")
                .unwrap()
                .contains("not base64")
        );
    }
}
