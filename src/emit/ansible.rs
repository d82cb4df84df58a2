//! Ansible: `ansible/inventory/hosts.yml`, the groups every playbook and
//! k3s-ansible run against, derived from the services on each host.

use super::yaml::{Yaml, document};
use super::{File, header};
use crate::model::{Lab, Service};

pub fn emit(lab: &Lab) -> Vec<File> {
    vec![File {
        path: "ansible/inventory/hosts.yml".into(),
        contents: document(&header("#", lab), &inventory(lab)),
    }]
}

fn hosts_with(lab: &Lab, service: Service) -> Vec<&str> {
    lab.hosts
        .values()
        .filter(|h| h.has(service))
        .map(|h| h.name.as_str())
        .collect()
}

fn group(hosts: &[&str]) -> Yaml {
    let mut m = Yaml::map();
    for h in hosts {
        m.insert(h, Yaml::Null);
    }
    Yaml::map().with("hosts", m)
}

fn inventory(lab: &Lab) -> Yaml {
    let mut raspberries = Yaml::map();
    for h in lab.hosts.values() {
        raspberries.insert(
            &h.name,
            Yaml::map()
                .with("ansible_host", h.address.to_string())
                .with("ansible_user", &h.ssh_user),
        );
    }
    Yaml::map()
        .with("raspberries", Yaml::map().with("hosts", raspberries))
        .with("postgres", group(&hosts_with(lab, Service::Postgres)))
        .with("gitea", group(&hosts_with(lab, Service::Gitea)))
        .with("pihole", group(&hosts_with(lab, Service::Pihole)))
        .with(
            "server",
            group(
                &lab.k3s
                    .servers
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
        )
        .with(
            "agent",
            group(
                &lab.k3s
                    .agents
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
        )
        .with(
            "k3s_cluster",
            Yaml::map()
                .with(
                    "children",
                    Yaml::map()
                        .with("server", Yaml::Null)
                        .with("agent", Yaml::Null),
                )
                .with(
                    "vars",
                    Yaml::map()
                        .with("k3s_version", &lab.k3s.version)
                        .with("api_endpoint", lab.k3s.api_endpoint.to_string())
                        .with("extra_server_args", lab.k3s.server_args.join(" "))
                        .with("extra_agent_args", lab.k3s.agent_args.join(" ")),
                ),
        )
}
