//! The Ansible inventory, as Ansible itself reads it: `ansible-inventory`
//! (`--list`, `--list --export`, `--graph`) and `ansible --list-hosts` run on
//! the generated `hosts.yml` with the strict settings (unparsed inventory
//! fails, duplicate keys fail, any stderr output fails), over the reference
//! lab and the big-cluster fixture; yamllint with the truthy and octal rules
//! over every generated Ansible YAML file of every lab; and labc refusing a
//! host name Ansible would confuse with a group.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{Lab, labs, stderr, stdout, tool, yamllint};

const INVENTORY: &str = "ansible/inventory";

const YAMLLINT_CONFIG: &str = "{extends: default, rules: {truthy: enable, octal-values: enable, \
     line-length: {max: 120, allow-non-breakable-inline-mappings: true}}}";

/// Runs an Ansible command line tool on `inventory/hosts.yml`, strictly and
/// without touching `~` (ANSIBLE_HOME and temp dirs in a scratch folder).
fn ansible(bin: &str, inventory: &Path, args: &[&str]) -> Output {
    let scratch = tempfile::tempdir().expect("tempdir");
    Command::new(tool(&format!("target/tools/venv/bin/{bin}")))
        .arg("-i")
        .arg(inventory.join("hosts.yml"))
        .args(args)
        // No ansible.cfg from the repository may change what is read.
        .current_dir(scratch.path())
        .env("ANSIBLE_HOME", scratch.path().join("home"))
        .env("ANSIBLE_LOCAL_TEMP", scratch.path().join("tmp"))
        .env("ANSIBLE_INVENTORY_ENABLED", "yaml")
        .env("ANSIBLE_INVENTORY_UNPARSED_IS_FAILED", "true")
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
        .env("ANSIBLE_DUPLICATE_YAML_DICT_KEY", "error")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible runs")
}

/// `ansible`/`ansible-inventory` output that must be clean: exit 0 and not a
/// byte on stderr (a misspelt key is only a warning there).
fn clean(bin: &str, inventory: &Path, args: &[&str]) -> String {
    let o = ansible(bin, inventory, args);
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "{bin} {args:?} failed ({:?}):\n{}",
        o.status,
        stderr(&o)
    );
    stdout(&o)
}

pub(crate) fn list(inventory: &Path, export: bool) -> Value {
    let args: &[&str] = if export {
        &["--list", "--export"]
    } else {
        &["--list"]
    };
    serde_json::from_str(&clean("ansible-inventory", inventory, args)).expect("JSON from --list")
}

/// Names under `key` (`hosts` or `children`) of `group` in `--list` output.
fn members(inv: &Value, group: &str, key: &str) -> Vec<String> {
    inv[group][key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn hostvars<'a>(inv: &'a Value, host: &str) -> &'a Value {
    let v = &inv["_meta"]["hostvars"][host];
    assert!(v.is_object(), "no hostvars for {host}");
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every group Ansible reports is one labc knows (and validates host names
/// against), and is an Ansible identifier.
fn assert_known_groups(inv: &Value) {
    let groups: BTreeSet<&str> = inv
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "_meta")
        .collect();
    for g in &groups {
        assert!(labc::names::ANSIBLE_GROUPS.contains(g), "unknown group {g}");
        assert_eq!(labc::names::ansible_ident_problem(g), None, "{g}");
    }
}

fn assert_yamllint_clean(dir: &Path) {
    let files: Vec<_> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "yml" || x == "yaml")
        })
        .map(|e| e.into_path())
        .collect();
    assert!(!files.is_empty(), "no YAML under {}", dir.display());
    let o = yamllint(YAMLLINT_CONFIG, &files);
    assert!(
        o.status.success(),
        "yamllint:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn reference_inventory_groups_and_merged_vars() {
    let lab = Lab::reference();
    lab.build();
    let dir = lab.generated().join(INVENTORY);
    let inv = list(&dir, false);
    assert_known_groups(&inv);

    let pis = ["pi1", "pi2", "pi3"];
    assert_eq!(members(&inv, "raspberries", "hosts"), strs(&pis));
    assert_eq!(members(&inv, "postgres", "hosts"), strs(&["pi2"]));
    // Gitea lives with PostgreSQL: its group is the postgres group.
    assert_eq!(members(&inv, "gitea", "children"), strs(&["postgres"]));
    assert_eq!(members(&inv, "gitea", "hosts"), Vec::<String>::new());
    assert_eq!(members(&inv, "pihole", "hosts"), strs(&["pi1", "pi3"]));
    assert_eq!(members(&inv, "step_ca", "hosts"), strs(&pis));
    assert_eq!(
        members(&inv, "local", "hosts"),
        strs(&["localhost", "pi1", "pi2", "pi3"])
    );
    assert_eq!(members(&inv, "ci_runner", "hosts"), strs(&["pi1", "pi3"]));
    let mut k3s = members(&inv, "k3s_cluster", "children");
    k3s.sort();
    assert_eq!(k3s, strs(&["agent", "server"]));
    assert_eq!(members(&inv, "server", "hosts"), strs(&["pi1"]));
    assert_eq!(members(&inv, "agent", "hosts"), strs(&["pi2", "pi3"]));

    for (i, pi) in pis.iter().enumerate() {
        let v = hostvars(&inv, pi);
        assert_eq!(v["ansible_host"], format!("192.168.1.20{}", i + 1));
        assert_eq!(v["ansible_user"], "pi");
        // Exactly the string: YAML 1.1 must not have read it as anything else.
        assert_eq!(v["k3s_version"], "v1.34.3+k3s1");
        assert_eq!(v["api_endpoint"], "192.168.1.201");
        assert!(v.get("api_port").is_none(), "6443 is k3s-ansible's default");
        let server_args = v["extra_server_args"].as_str().unwrap();
        assert!(server_args.contains("--disable traefik"), "{server_args}");
        assert!(server_args.contains("--docker"), "{server_args}");
        assert_eq!(v["extra_agent_args"], "--docker");
        // group_vars/all.yml
        assert_eq!(v["gitea_url"], "https://gitea.arcodange.lab");
        assert_eq!(v["gitea_host"], "pi2");
        assert_eq!(v["postgres_host"], "pi2");
        assert_eq!(v["postgres_address"], "192.168.1.202");
        assert_eq!(v["postgres_port"], 5432);
        assert_eq!(v["runner_hosts"], serde_json::json!(["pi1", "pi3"]));
        assert_eq!(v["backup_destination"], "/mnt/backups");
        assert_eq!(v["backup_nfs_host"], "pi2");
        let jobs = &v["backup_jobs"];
        assert_eq!(
            jobs["postgres"]["cron"],
            serde_json::json!({"minute": "0", "hour": "2", "day": "*", "month": "*", "weekday": "*"})
        );
        assert_eq!(jobs["postgres"]["keep_days"], 14);
        assert_eq!(jobs["postgres"]["host"], "pi2");
        let dbs = jobs["postgres"]["databases"].as_array().unwrap();
        assert!(
            dbs.contains(&"gitea".into()) && dbs.contains(&"webapp".into()),
            "{dbs:?}"
        );
        assert_eq!(jobs["gitea"]["cron"]["minute"], "30");
        assert_eq!(jobs["gitea"]["cron"]["hour"], "2");
        assert_eq!(jobs["k3s_pvc"]["cron"]["hour"], "3");
        assert_eq!(jobs["k3s_pvc"]["keep_days"], 7);
        // group_vars/step_ca.yml and host_vars/<pi>.yml
        assert_eq!(v["step_ca_primary"], "pi1");
        assert_eq!(v["step_ca_replicas"], serde_json::json!(["pi2", "pi3"]));
        assert_eq!(v["step_ca_domain"], "arcodange.lab");
        let role = if *pi == "pi1" { "primary" } else { "replica" };
        assert_eq!(v["step_ca_role"], role, "{pi}");
    }

    // localhost runs locally and inherits neither the Pis' SSH user nor the
    // cluster's variables; it still sees the lab-wide placement facts.
    let local = hostvars(&inv, "localhost");
    assert_eq!(local["ansible_connection"], "local");
    for absent in [
        "ansible_user",
        "ansible_host",
        "k3s_version",
        "step_ca_role",
    ] {
        assert!(local.get(absent).is_none(), "localhost has {absent}");
    }
    assert_eq!(local["gitea_url"], "https://gitea.arcodange.lab");

    // Where each variable is set: ansible_user on `raspberries`, never `all`.
    let export = list(&dir, true);
    assert_eq!(export["raspberries"]["vars"]["ansible_user"], "pi");
    assert!(export["all"]["vars"].get("ansible_user").is_none());
    assert_eq!(export["all"]["vars"]["backup_destination"], "/mnt/backups");
    assert_eq!(export["k3s_cluster"]["vars"]["k3s_version"], "v1.34.3+k3s1");
}

#[test]
fn reference_graph_and_the_runner_pattern() {
    let lab = Lab::reference();
    lab.build();
    let dir = lab.generated().join(INVENTORY);
    let graph = clean("ansible-inventory", &dir, &["--graph"]);
    for part in [
        "  |--@gitea:\n  |  |--@postgres:\n  |  |  |--pi2\n",
        "  |--@k3s_cluster:\n  |  |--@agent:\n  |  |  |--pi2\n  |  |  |--pi3\n  |  |--@server:\n  |  |  |--pi1\n",
        "  |--@local:\n  |  |--localhost\n  |  |--pi1\n  |  |--pi2\n  |  |--pi3\n",
        "  |--@step_ca:\n  |  |--pi1\n  |  |--pi2\n  |  |--pi3\n",
    ] {
        assert!(graph.contains(part), "missing\n{part}in\n{graph}");
    }
    // 03_cicd's pattern picks the runner hosts, as the guidebook says.
    let hosts = clean(
        "ansible",
        &dir,
        &["raspberries:&local:!gitea", "--list-hosts"],
    );
    let hosts: Vec<&str> = hosts.lines().skip(1).map(str::trim).collect();
    assert_eq!(hosts, ["pi1", "pi3"]);
}

#[test]
fn big_cluster_inventory() {
    let lab = Lab::named("big-cluster");
    lab.build();
    let dir = lab.generated().join(INVENTORY);
    let inv = list(&dir, false);
    assert_known_groups(&inv);

    let nodes: Vec<String> = (0..6).map(|i| format!("node{i}")).collect();
    assert_eq!(members(&inv, "raspberries", "hosts"), nodes);
    assert_eq!(members(&inv, "server", "hosts"), strs(&["node0"]));
    assert_eq!(members(&inv, "agent", "hosts"), nodes[1..].to_vec());
    assert_eq!(members(&inv, "postgres", "hosts"), strs(&["node1"]));
    // Gitea apart from PostgreSQL: its own host, no children.
    assert_eq!(members(&inv, "gitea", "hosts"), strs(&["node2"]));
    assert_eq!(members(&inv, "gitea", "children"), Vec::<String>::new());
    assert_eq!(
        members(&inv, "ci_runner", "hosts"),
        strs(&["node3", "node4", "node5"])
    );
    // No Pi-hole, no step-ca: the groups exist, empty.
    assert_eq!(members(&inv, "pihole", "hosts"), Vec::<String>::new());
    assert_eq!(members(&inv, "step_ca", "hosts"), Vec::<String>::new());
    let all = members(&inv, "all", "children");
    assert!(
        all.contains(&"pihole".into()) && all.contains(&"step_ca".into()),
        "{all:?}"
    );

    for node in &nodes {
        let v = hostvars(&inv, node);
        let user = if node == "node2" { "git" } else { "admin" };
        assert_eq!(v["ansible_user"], user, "{node}");
        assert_eq!(v["k3s_version"], "v1.33.1+k3s2");
        assert_eq!(v["api_endpoint"], "10.0.0.10");
        assert_eq!(v["api_port"], 6444);
        assert_eq!(v["extra_server_args"], "--write-kubeconfig-mode 0644");
        assert_eq!(v["extra_agent_args"], "--node-label tier=worker");
        assert_eq!(v["gitea_host"], "node2");
        assert_eq!(v["gitea_url"], "https://git.home.arpa");
        assert_eq!(v["postgres_host"], "node1");
        assert_eq!(v["postgres_port"], 5433);
        assert_eq!(v["backup_destination"], "/var/backups/lab");
        let jobs = &v["backup_jobs"];
        assert_eq!(
            jobs["postgres"]["cron"],
            serde_json::json!({"minute": "15", "hour": "1", "day": "*", "month": "*", "weekday": "1-5"})
        );
        assert!(
            jobs["postgres"]["databases"]
                .as_array()
                .unwrap()
                .contains(&"forge".into())
        );
        assert_eq!(jobs["k3s_pvc"]["cron"]["weekday"], "0");
        assert!(jobs.get("gitea").is_none(), "big-cluster backs up no Gitea");
        assert!(v.get("backup_nfs_host").is_none());
        assert!(v.get("step_ca_role").is_none() && v.get("step_ca_primary").is_none());
    }
    assert!(hostvars(&inv, "localhost").get("ansible_user").is_none());
    // Users differ: no group carries one.
    let export = list(&dir, true);
    assert!(
        export["raspberries"]
            .get("vars")
            .is_none_or(|v| v.get("ansible_user").is_none())
    );
    assert!(!lab.generated().join(INVENTORY).join("host_vars").exists());
    clean("ansible-inventory", &dir, &["--graph"]);
}

#[test]
fn yamllint_passes_on_every_generated_ansible_file() {
    for lab in labs() {
        lab.build();
        assert_yamllint_clean(&lab.generated().join("ansible"));
        // And ansible-inventory reads every lab's strictly, groups known.
        let inv = list(&lab.generated().join(INVENTORY), false);
        assert_known_groups(&inv);
    }
}

/// Hosts and k3s only: the inventory k3s-ansible needs, every group there
/// (empty where no host carries its service), and no variable of a section
/// the lab lacks.
#[test]
fn minimal_inventory() {
    let lab = Lab::named("minimal");
    lab.build();
    let dir = lab.generated().join(INVENTORY);
    let inv = list(&dir, false);
    assert_known_groups(&inv);
    let nodes = strs(&["node1", "node2", "node3"]);
    assert_eq!(members(&inv, "raspberries", "hosts"), nodes);
    assert_eq!(members(&inv, "server", "hosts"), strs(&["node1"]));
    assert_eq!(members(&inv, "agent", "hosts"), strs(&["node2", "node3"]));
    assert_eq!(
        members(&inv, "k3s_cluster", "children"),
        strs(&["agent", "server"])
    );
    for empty in ["postgres", "gitea", "ci_runner", "pihole", "step_ca"] {
        assert_eq!(
            members(&inv, empty, "hosts"),
            Vec::<String>::new(),
            "{empty}"
        );
    }
    for node in &nodes {
        let v = hostvars(&inv, node);
        assert_eq!(
            v["ansible_user"],
            if node == "node3" { "pi" } else { "admin" }
        );
        assert_eq!(v["k3s_version"], "v1.34.3+k3s1");
        assert_eq!(v["api_endpoint"], "10.0.10.11");
        assert_eq!(v["lab_name"], "minimal");
        assert_eq!(v["k3s_servers"], serde_json::json!(["node1"]));
        for absent in [
            "gitea_url",
            "postgres_host",
            "runner_hosts",
            "backup_destination",
            "backup_jobs",
            "api_port",
            "extra_server_args",
        ] {
            assert!(v.get(absent).is_none(), "{node}: {absent}");
        }
    }
    // Nothing but the inventory and the docs.
    let mut top: Vec<String> = std::fs::read_dir(lab.generated())
        .expect("generated")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, strs(&[".labc-manifest", "ansible", "docs"]));
    clean("ansible-inventory", &dir, &["--graph"]);
}

/// `k3s.api_endpoint` (a VIP in front of the servers) is what every node
/// joins through; the servers stay the group k3s-ansible initialises from.
#[test]
fn an_explicit_api_endpoint_reaches_every_node() {
    let lab = Lab::named("ha");
    crate::common::edit_file(
        &lab.path().join("lab.ncl"),
        "version = \"v1.34.3+k3s1\",",
        "version = \"v1.34.3+k3s1\", api_endpoint = \"10.0.20.10\",",
    );
    lab.build();
    let inv = list(&lab.generated().join(INVENTORY), false);
    for node in ["cp-a", "cp-b", "cp-c", "worker-1", "worker-2"] {
        assert_eq!(hostvars(&inv, node)["api_endpoint"], "10.0.20.10", "{node}");
    }
    assert_eq!(members(&inv, "server", "hosts")[0], "cp-a");
}

/// Three servers: k3s-ansible's `server` group holds them in host-name
/// order, its first (cp-a) initialises embedded etcd and is the
/// `api_endpoint` the others and the agents join through.
#[test]
fn ha_inventory() {
    let lab = Lab::named("ha");
    lab.build();
    let dir = lab.generated().join(INVENTORY);
    let inv = list(&dir, false);
    assert_known_groups(&inv);
    assert_eq!(
        members(&inv, "server", "hosts"),
        strs(&["cp-a", "cp-b", "cp-c"])
    );
    assert_eq!(
        members(&inv, "agent", "hosts"),
        strs(&["worker-1", "worker-2"])
    );
    assert_eq!(members(&inv, "pihole", "hosts"), strs(&["worker-2"]));
    for node in ["cp-a", "cp-b", "cp-c", "worker-1", "worker-2"] {
        let v = hostvars(&inv, node);
        assert_eq!(v["ansible_user"], "ops");
        assert_eq!(v["api_endpoint"], "10.0.20.11", "{node}");
        assert_eq!(v["extra_server_args"], "--disable traefik");
        assert_eq!(
            v["k3s_servers"],
            serde_json::json!(["cp-a", "cp-b", "cp-c"])
        );
        assert!(v.get("gitea_url").is_none() && v.get("postgres_host").is_none());
    }
    // `--list` keeps the inventory's order, which is what k3s-ansible's
    // server role reads as `groups[server_group][0]`: cp-a initialises.
    assert_eq!(members(&inv, "server", "hosts")[0], "cp-a");
    clean("ansible-inventory", &dir, &["--graph"]);
}

/// The checks can fail: a misspelt group key, a coercible scalar, a host
/// sharing a group's name are all reported by the consumer.
#[test]
fn consumers_reject_broken_inventories() {
    let lab = Lab::reference();
    lab.build();
    let dir = lab.generated().join(INVENTORY);
    let hosts = dir.join("hosts.yml");
    let good = std::fs::read_to_string(&hosts).unwrap();

    let edit = |from: &str, to: &str| {
        assert!(good.contains(from), "{from}");
        std::fs::write(&hosts, good.replacen(from, to, 1)).unwrap();
    };

    edit("pihole:\n  hosts:", "pihole:\n  host:");
    let o = ansible("ansible-inventory", &dir, &["--list"]);
    assert!(
        !o.status.success() || !o.stderr.is_empty(),
        "misspelt key accepted"
    );

    edit(
        "k3s_version: \"v1.34.3+k3s1\"",
        "k3s_version: \"v1.34.3+k3s1\"\n    k3s_version: \"x\"",
    );
    let o = ansible("ansible-inventory", &dir, &["--list"]);
    assert!(
        !o.status.success(),
        "duplicate key accepted:\n{}",
        stdout(&o)
    );

    // Found both group and host with same name: what labc's validation prevents.
    std::fs::write(&hosts, good.replace("pi3", "server")).unwrap();
    let o = ansible("ansible-inventory", &dir, &["--graph"]);
    assert!(stderr(&o).contains("same name"), "{}", stderr(&o));

    let lint = tempfile::tempdir().unwrap();
    std::fs::write(
        lint.path().join("bad.yml"),
        good.replace(
            "ansible_user: \"pi\"",
            "ansible_user: \"pi\"\n    become: yes",
        ),
    )
    .unwrap();
    let o = yamllint(YAMLLINT_CONFIG, &[lint.path().join("bad.yml")]);
    assert!(
        !o.status.success() && stdout(&o).contains("truthy"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_host_named_like_a_group_is_rejected_at_its_position() {
    let base = Lab::reference();
    let text = std::fs::read_to_string(base.path().join("lab.ncl")).unwrap();
    assert_eq!(text.matches("    pi3 = {").count(), 1);
    let lab = Lab::from_text(
        "lab.ncl",
        &text.replacen("    pi3 = {", "    server = {", 1),
    );
    let o = lab.run(&["build"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let line = text[..text.find("    pi3 = {").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert!(
        err.contains("`server` can't be an Ansible host")
            && err.contains(&format!("lab.ncl:{line}:5")),
        "{err}"
    );
    assert!(!lab.generated().exists());
}
