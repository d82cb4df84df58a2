//! cert-manager: `apps/<app>/certificates.yaml`, one `Certificate` per
//! ingress host the lab has an issuer for (each app's Application applies
//! it in the app's namespace), and step-ca's `ClusterIssuer`, which the
//! app-of-apps chart renders ([`cluster_issuer`], used by `argocd`).
//!
//! Invariants: the Secret each certificate is written to is the one the
//! app's Helm values name for its ingress (`ingress.tls.<exposure>`, written
//! by `helm` from the same model field); the issuer is the model's (step-ca's
//! `ClusterIssuer` for internal hosts, the lab's named one for public ones).

use super::yaml::{self, Yaml};
use super::{File, app_dir, header, k8s_metadata};
use crate::model::{Acme, App, Lab};
use base64::Engine as _;

const CERT_MANAGER_API: &str = "cert-manager.io/v1";
/// File name of the certificates in the app's folder (its Application applies it).
pub const FILE: &str = "certificates.yaml";

pub fn emit(lab: &Lab) -> Vec<File> {
    let head = header("#", lab);
    lab.apps
        .values()
        .filter(|app| !app.certificates.is_empty())
        .map(|app| File {
            path: format!("{}/{FILE}", app_dir(&app.name)),
            contents: yaml::documents(&head, &certificates(app)),
        })
        .collect()
}

fn certificates(app: &App) -> Vec<Yaml<'_>> {
    app.certificates
        .values()
        .map(|c| {
            Yaml::map()
                .with("apiVersion", CERT_MANAGER_API)
                .with("kind", "Certificate")
                .with("metadata", k8s_metadata(&c.name, &app.namespace))
                .with(
                    "spec",
                    Yaml::map()
                        .with("dnsNames", Yaml::strs([c.host.as_str()]))
                        .with(
                            "issuerRef",
                            Yaml::map()
                                .with("group", "cert-manager.io")
                                .with("kind", "ClusterIssuer")
                                .with("name", &c.issuer),
                        )
                        .with("secretName", &c.secret),
                )
        })
        .collect()
}

/// step-ca's `ClusterIssuer`: its ACME directory, verified with the lab's
/// root (cert-manager takes the PEM base64-encoded), solving HTTP-01
/// challenges through the lab's ingress class.
pub fn cluster_issuer(acme: &Acme) -> Yaml<'_> {
    Yaml::map()
        .with("apiVersion", CERT_MANAGER_API)
        .with("kind", "ClusterIssuer")
        .with("metadata", Yaml::map().with("name", &acme.issuer))
        .with(
            "spec",
            Yaml::map().with(
                "acme",
                Yaml::map()
                    .with("caBundle", ca_bundle(acme))
                    .with(
                        "privateKeySecretRef",
                        Yaml::map().with("name", &acme.account_key_secret),
                    )
                    .with("server", &acme.url)
                    .with(
                        "solvers",
                        Yaml::Seq(vec![Yaml::map().with(
                            "http01",
                            Yaml::map().with(
                                "ingress",
                                Yaml::map().with("ingressClassName", &acme.ingress_class),
                            ),
                        )]),
                    ),
            ),
        )
}

/// The CA bundle as cert-manager's API takes it: the PEM text, base64.
pub fn ca_bundle(acme: &Acme) -> String {
    base64::engine::general_purpose::STANDARD.encode(acme.ca_bundle.as_bytes())
}
