//! Ansible: the inventory the numbered playbooks and k3s-ansible run against.
//!
//! Writes `ansible/inventory/hosts.yml` (the groups, derived from the
//! services on each host), `group_vars/all.yml` (where each service runs and
//! the 05_backup plan, for the sections the lab has); with `dns`,
//! `group_vars/pihole.yml` (the records every Pi-hole answers, in Pi-hole
//! v6's `dns.hosts` form); and, when the lab has step-ca,
//! `group_vars/step_ca.yml` and one `host_vars/<host>.yml` per step-ca host
//! telling its role. Ansible
//! reads `group_vars/` and `host_vars/` beside `hosts.yml` by itself.
//!
//! Invariants: every group name is one of [`crate::names::ANSIBLE_GROUPS`] (all
//! valid Ansible identifiers; validation keeps hosts from sharing them);
//! every group is always present, empty when no host carries its service,
//! so a playbook's `hosts:` never names an unknown group; `ansible_user` is
//! never set on `all` (localhost, which runs with `ansible_connection: local`,
//! must not inherit it); every string is double-quoted by the YAML writer, so
//! `k3s_version`, cron fields and ports-as-strings are never coerced; every
//! string that could open a Jinja template (it holds a `{`) is also tagged
//! `!unsafe` (see [`Tagging::AnsibleUnsafe`]), so Ansible never templates a
//! lab value (a `{{ lookup('pipe', ..) }}` in a path would run on the control
//! node): the only template is labc's own `Yaml::Template` for localhost's
//! Python.

use std::collections::BTreeSet;

use super::yaml::{Tagging, Yaml, document_tagged};
use super::{File, header};
use crate::model::{BackupJob, Backups, Lab};
#[cfg(test)]
use crate::names;

const DIR: &str = "ansible/inventory";

pub fn emit(lab: &Lab) -> Vec<File> {
    let head = header("#", lab);
    let file = |path: String, value: &Yaml| File {
        path,
        contents: document_tagged(&head, value, Tagging::AnsibleUnsafe),
    };
    let mut files = vec![
        file(format!("{DIR}/hosts.yml"), &inventory(lab)),
        file(format!("{DIR}/group_vars/all.yml"), &all_vars(lab)),
    ];
    if let Some(dns) = &lab.dns {
        // Pi-hole v6's `dns.hosts`, one `<address> <name>` entry per name:
        // the pihole role sets it on every resolver (the group's variable,
        // so every pihole host answers the same).
        let hosts: Vec<String> = dns
            .records
            .iter()
            .map(|(name, r)| format!("{} {name}", r.address))
            .collect();
        files.push(file(
            format!("{DIR}/group_vars/pihole.yml"),
            &Yaml::map().with("pihole_dns_hosts", Yaml::strs(hosts)),
        ));
    }
    if let Some(ca) = &lab.step_ca {
        files.push(file(
            format!("{DIR}/group_vars/step_ca.yml"),
            &Yaml::map()
                .with("step_ca_domain", &ca.domain)
                .with("step_ca_primary", &ca.primary)
                .with("step_ca_replicas", Yaml::strs(&ca.replicas)),
        ));
        let roles = std::iter::once((&ca.primary, "primary"))
            .chain(ca.replicas.iter().map(|r| (r, "replica")));
        for (host, role) in roles {
            files.push(file(
                format!("{DIR}/host_vars/{host}.yml"),
                &Yaml::map().with("step_ca_role", role),
            ));
        }
    }
    files
}

/// A group listing `hosts` (each with no inventory variables of its own).
fn group<'a>(hosts: Vec<String>) -> Yaml<'a> {
    if hosts.is_empty() {
        return Yaml::map();
    }
    let mut m = Yaml::map();
    for h in hosts {
        m.insert(h, Yaml::Null);
    }
    Yaml::map().with("hosts", m)
}

/// Every host with its address; the SSH user on the group when all hosts
/// share one, else on each host. Never on `all`: localhost would inherit it.
fn raspberries(lab: &Lab) -> Yaml<'_> {
    let users: BTreeSet<&str> = lab.hosts.values().map(|h| h.ssh_user.as_str()).collect();
    let shared_user = (users.len() == 1)
        .then(|| users.iter().next().copied())
        .flatten();
    let mut pis = Yaml::map();
    for h in lab.hosts.values() {
        let mut vars = Yaml::map().with("ansible_host", h.address.to_string());
        if shared_user.is_none() {
            vars.insert("ansible_user", &h.ssh_user);
        }
        pis.insert(h.name.as_str(), vars);
    }
    let mut raspberries = Yaml::map().with("hosts", pis);
    if let Some(user) = shared_user {
        raspberries.insert("vars", Yaml::map().with("ansible_user", user));
    }
    raspberries
}

/// `local`'s hosts: localhost plus every host, as the guidebook has it.
/// 03_cicd places runners on `raspberries:&local:!gitea`, which is the
/// runner hosts in the reference lab; `ci_runner` names them in any lab.
fn local(lab: &Lab) -> Yaml<'_> {
    let mut local = Yaml::map().with(
        "localhost",
        Yaml::map()
            .with("ansible_connection", "local")
            // An explicit localhost loses the implicit one's interpreter.
            .with(
                "ansible_python_interpreter",
                Yaml::Template("{{ ansible_playbook_python }}"),
            ),
    );
    for h in lab.hosts.values() {
        local.insert(h.name.as_str(), Yaml::Null);
    }
    local
}

fn inventory(lab: &Lab) -> Yaml<'_> {
    // Membership is the model's (`Lab::groups`); `raspberries` and `local`
    // carry their hosts' variables and localhost besides.
    let mut inventory = Yaml::map();
    for g in lab.groups() {
        let value = match g.name {
            "raspberries" => raspberries(lab),
            "local" => Yaml::map().with("hosts", local(lab)),
            _ if !g.children.is_empty() => {
                let mut children = Yaml::map();
                for c in g.children {
                    children.insert(c, Yaml::Null);
                }
                let mut y = Yaml::map().with("children", children);
                if g.name == "k3s_cluster" {
                    y.insert("vars", k3s_vars(lab));
                }
                y
            }
            _ => group(g.hosts),
        };
        inventory.insert(g.name, value);
    }
    inventory
}

/// What k3s-ansible's `site.yml` reads (`k3s_version` and `api_endpoint` have
/// no default there; the extra args become `INSTALL_K3S_EXEC`).
fn k3s_vars(lab: &Lab) -> Yaml<'_> {
    let k = &lab.k3s;
    let mut vars = Yaml::map()
        .with("k3s_version", &k.version)
        .with("api_endpoint", k.api_endpoint.to_string());
    // labc's default port is k3s-ansible's: write it only when the lab
    // departs from it.
    if k.api_port != crate::raw::defaults::API_PORT {
        vars.insert("api_port", k.api_port);
    }
    if !k.server_args.is_empty() {
        vars.insert("extra_server_args", k.server_args.join(" "));
    }
    if !k.agent_args.is_empty() {
        vars.insert("extra_agent_args", k.agent_args.join(" "));
    }
    vars
}

/// Placement facts every playbook may need wherever it runs, and 05_backup's
/// plan.
fn all_vars(lab: &Lab) -> Yaml<'_> {
    let mut vars = Yaml::map()
        .with("lab_name", &lab.name)
        .with("lab_domain_public", &lab.domains.public)
        .with("lab_domain_internal", &lab.domains.internal)
        .with("k3s_servers", Yaml::strs(&lab.k3s.servers))
        .with("k3s_agents", Yaml::strs(&lab.k3s.agents));
    // Each section's facts only when the lab has that section: a playbook
    // for a service the lab lacks has nothing to run on.
    if let Some(g) = &lab.gitea {
        vars.insert("gitea_url", &g.url);
        vars.insert("gitea_domain", &g.domain);
        vars.insert("gitea_host", &g.host);
        vars.insert("gitea_http_port", g.http_port);
        vars.insert("gitea_ssh_port", g.ssh_port);
        vars.insert("gitea_database", &g.database);
    }
    if let Some(pg) = &lab.postgres {
        vars.insert("postgres_host", &pg.host);
        vars.insert("postgres_address", pg.address.to_string());
        vars.insert("postgres_port", pg.port);
    }
    if let Some(r) = &lab.runner {
        vars.insert("runner_hosts", Yaml::strs(&r.hosts));
    }
    if let Some(b) = &lab.backups {
        vars.insert("backup_destination", &b.destination);
        vars.insert("backup_jobs", backup_jobs(lab, b));
        if let Some(nfs) = &b.nfs_host {
            vars.insert("backup_nfs_host", nfs);
        }
    }
    vars
}

/// One entry per scheduled backup: what it copies, from where, and when (the
/// fields of Ansible's `cron` module, strings so `*/5` or `0` stay as written).
/// A job's section is there: validation requires it.
fn backup_jobs<'a>(lab: &'a Lab, b: &'a Backups) -> Yaml<'a> {
    let mut databases: BTreeSet<&String> = lab.databases.keys().collect();
    databases.extend(lab.gitea.as_ref().map(|g| &g.database));
    let jobs = [
        (
            "postgres",
            &b.postgres,
            lab.postgres.as_ref().map(|p| &p.host),
            Some(Yaml::strs(databases)),
        ),
        ("gitea", &b.gitea, lab.gitea.as_ref().map(|g| &g.host), None),
        ("k3s_pvc", &b.k3s_pvc, None, None),
    ];
    let mut out = Yaml::map();
    for (name, job, host, databases) in jobs {
        let Some(job) = job else { continue };
        let mut entry = Yaml::map()
            .with("cron", cron(job))
            .with("keep_days", job.keep_days);
        if let Some(host) = host {
            entry.insert("host", host);
        }
        if let Some(dbs) = databases {
            entry.insert("databases", dbs);
        }
        out.insert(name, entry);
    }
    out
}

fn cron(job: &BackupJob) -> Yaml<'_> {
    Yaml::map()
        .with("minute", &job.minute)
        .with("hour", &job.hour)
        .with("day", &job.day)
        .with("month", &job.month)
        .with("weekday", &job.weekday)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_name_is_an_ansible_identifier() {
        for g in names::ANSIBLE_GROUPS {
            assert_eq!(names::ansible_ident_problem(g), None, "{g}");
        }
    }

    #[test]
    fn cron_fields_stay_strings() {
        let job = BackupJob {
            minute: "0".into(),
            hour: "2".into(),
            day: "*".into(),
            month: "*".into(),
            weekday: "1-5".into(),
            keep_days: 14,
        };
        let text = super::super::yaml::document("", &cron(&job));
        assert_eq!(
            text,
            "---\nday: \"*\"\nhour: \"2\"\nminute: \"0\"\nmonth: \"*\"\nweekday: \"1-5\"\n"
        );
    }
}
