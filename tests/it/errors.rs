//! The error corpus: lab.ncl (and lab.toml) broken the way a user would
//! break them, one case per class of error. Each must exit 2, point at the
//! right line, leave generated/ byte-identical, and read as its committed
//! snapshot (`tests/it/snapshots/`).

use crate::common::{Lab, read_tree, stderr};

/// (case, file, the text to find, its replacement, the text of the line the
/// error must point at). Each replaces exactly one occurrence.
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "syntax",
        "lab.ncl",
        "    version = \"v1.34.3+k3s1\",",
        "    version = \"v1.34.3+k3s1\"",
        "    docker = true,",
    ),
    (
        "contract_type",
        "lab.ncl",
        "docker = true,",
        "docker = \"yes\",",
        "docker = \"yes\",",
    ),
    (
        "missing_field",
        "lab.ncl",
        "    version = \"v1.34.3+k3s1\",\n",
        "",
        "  k3s = {",
    ),
    (
        "unknown_field",
        "lab.ncl",
        "address = \"192.168.1.203\"",
        "adress = \"192.168.1.203\"",
        "adress = ",
    ),
    (
        "out_of_range",
        "lab.ncl",
        "    docker = true,",
        "    docker = true,\n    api_port = 70000,",
        "api_port = 70000",
    ),
    (
        "bad_pattern",
        "lab.ncl",
        "address = \"192.168.1.203\"",
        "address = \"192.168.1.300\"",
        "192.168.1.300",
    ),
    (
        "unknown_host",
        "lab.ncl",
        "nfs_host = \"pi2\"",
        "nfs_host = \"pi9\"",
        "nfs_host = \"pi9\"",
    ),
    (
        "unknown_app",
        "lab.ncl",
        "pooler_app = \"tools\"",
        "pooler_app = \"tool\"",
        "pooler_app = \"tool\"",
    ),
    (
        "unknown_database",
        "lab.ncl",
        "      archetype = 'postgres,\n      image_updater = 'digest,",
        "      archetype = 'postgres,\n      database = \"webap\",\n      image_updater = 'digest,",
        "database = \"webap\"",
    ),
    (
        "unknown_provider",
        "lab.ncl",
        "providers = [\"postgresql\"]",
        "providers = [\"postgres\"]",
        "providers = [\"postgres\"]",
    ),
    (
        "duplicate_address",
        "lab.ncl",
        "address = \"192.168.1.203\"",
        "address = \"192.168.1.202\"",
        "address = \"192.168.1.202\",\n      services = ['k3s_agent, 'pihole",
    ),
    (
        "duplicate_host",
        "lab.ncl",
        "    pi3 = {",
        "    pi1 = { address = \"192.168.1.204\", services = ['pihole] },\n    pi3 = {",
        "pi1 = { address = \"192.168.1.204\"",
    ),
    (
        "invalid_k8s_name",
        "lab.ncl",
        "    cms = {",
        "    Cms_Site = {",
        "Cms_Site = {",
    ),
    (
        "invalid_sql_ident",
        "lab.ncl",
        "    plausible = {},",
        "    plausible_analytics_for_the_public_websites_of_the_arcodange_lab = {},",
        "plausible_analytics_for",
    ),
    (
        "invalid_file_name",
        "lab.ncl",
        "    plausible = {},",
        "    \"plausible.old/v1\" = {},",
        "plausible.old/v1",
    ),
    (
        "service_on_no_host",
        "lab.ncl",
        "['k3s_agent, 'postgres, 'gitea, 'step_ca_replica]",
        "['k3s_agent, 'gitea, 'step_ca_replica]",
        "  hosts = {",
    ),
    (
        "service_on_too_many_hosts",
        "lab.ncl",
        "['k3s_agent, 'pihole, 'step_ca_replica, 'ci_runner]",
        "['k3s_agent, 'pihole, 'step_ca_replica, 'ci_runner, 'gitea]",
        "'ci_runner, 'gitea]",
    ),
    (
        "archetype_needs_database",
        "lab.ncl",
        "    erp = {},\n",
        "",
        "      archetype = 'postgres,\n      ingress = ['internal],",
    ),
    (
        "sqlite_replicas",
        "lab.ncl",
        "      archetype = 'sqlite,",
        "      archetype = 'sqlite,\n      replicas = 2,",
        "replicas = 2",
    ),
    (
        "toml_syntax",
        "lab.toml",
        "ssh_user = \"pi\"",
        "ssh_user = \"pi",
        "ssh_user = \"pi",
    ),
    (
        "toml_unknown_field",
        "lab.toml",
        "address = \"192.168.1.203\"",
        "adress = \"192.168.1.203\"",
        "adress = ",
    ),
    (
        "toml_out_of_range",
        "lab.toml",
        "docker = true",
        "docker = true\napi_port = 70000",
        "api_port = 70000",
    ),
    (
        "toml_unknown_host",
        "lab.toml",
        "nfs_host = \"pi2\"",
        "nfs_host = \"pi9\"",
        "nfs_host = \"pi9\"",
    ),
];

fn base(file: &str) -> Lab {
    match file {
        "lab.ncl" => Lab::reference(),
        _ => Lab::named("reference-toml"),
    }
}

#[test]
fn every_error_class_points_at_its_line_and_writes_nothing() {
    let mut failures = Vec::new();
    for (case, file, find, replace, expect_line) in CASES {
        let lab = base(file);
        lab.build();
        let before = read_tree(&lab.generated());
        let path = lab.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(find).count(),
            1,
            "{case}: `{find}` must occur once"
        );
        let broken = text.replacen(find, replace, 1);
        std::fs::write(&path, &broken).unwrap();
        // The line (1-based) the error must point at: where `expect_line` starts.
        let at = broken
            .find(expect_line)
            .unwrap_or_else(|| panic!("{case}: `{expect_line}` not in broken lab"));
        let line = broken[..at].matches('\n').count() + 1;

        let o = lab.run(&["build"]);
        let err = stderr(&o);
        if o.status.code() != Some(2) {
            failures.push(format!("{case}: exit {:?}\n{err}", o.status.code()));
            continue;
        }
        if !err.contains(&format!("{file}:{line}:")) {
            failures.push(format!("{case}: no `{file}:{line}:` in\n{err}"));
        }
        if read_tree(&lab.generated()) != before {
            failures.push(format!("{case}: generated/ changed"));
        }
        insta::assert_snapshot!(format!("error_{case}"), err);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn semantic_errors_are_all_reported_at_once() {
    let lab = Lab::reference();
    let path = lab.path().join("lab.ncl");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text
        .replace("nfs_host = \"pi2\"", "nfs_host = \"pi9\"")
        .replace("pooler_app = \"tools\"", "pooler_app = \"tool\"")
        .replace("address = \"192.168.1.203\"", "address = \"192.168.1.201\"")
        .replace("    erp = {},\n", "");
    std::fs::write(&path, broken).unwrap();
    let o = lab.run(&["build"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "unknown host `pi9`",
        "unknown app `tool`",
        "have the same address 192.168.1.201",
        "needs database `erp`",
        "lab.ncl has 4 errors",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in\n{err}");
    }
    assert!(!lab.generated().exists());
}
