#!/usr/bin/env python3
"""Writes a synthetic lab.ncl of N apps, in the shape of the reference lab.

Used by the benchmark (bench/run.py) and by tests/it/synthetic.rs. The lab
scales the way a real one grows: one host per 20 apps (at least three), apps
cycling through the three archetypes, a database per PostgreSQL app plus one
non-app database per ten apps, Image Updater on every other app. Every section
of the reference lab is present, and the optional fields it uses (org, sync,
both ingresses, ports, replicas, volume sizes, an explicit database, Vault
off, a host's own ssh_user, the NFS backup host) recur at fixed intervals, so
every emitter has work proportional to the lab. Output is deterministic: the
same N always gives the same bytes.

    python3 bench/gen-lab.py 100 > lab.ncl
"""

import sys


def lab(n_apps: int) -> str:
    n_hosts = max(3, -(-n_apps // 20))
    out = []
    w = out.append
    w(f"# Synthetic lab: {n_apps} apps on {n_hosts} hosts (bench/gen-lab.py).")
    w('let { Lab, .. } = import "schemas/lab.ncl" in')
    w("{")
    w('  name = "synthetic",')
    w('  domains = { public = "example.org", internal = "example.lab" },')
    w('  ssh_user = "pi",')
    w("  hosts = {")
    for h in range(n_hosts):
        if h == 0:
            services = ["k3s_server", "pihole", "step_ca_primary", "ci_runner"]
        elif h == 1:
            services = ["k3s_agent", "postgres", "gitea", "step_ca_replica"]
        else:
            services = ["k3s_agent", "ci_runner" if h % 2 else "pihole", "step_ca_replica"]
        tags = ", ".join("'" + s for s in services)
        user = ' ssh_user = "ops",' if h % 10 == 9 else ""
        w(f'    host{h:03d} = {{ address = "10.{h // 250}.{h % 250}.10",{user} services = [{tags}] }},')
    w("  },")
    w('  k3s = { version = "v1.34.3+k3s1", docker = true, disable = ["traefik"] },')
    w("  gitea = {")
    w('    url = "https://gitea.example.lab",')
    w('    default_org = "platform",')
    w('    image = "gitea/gitea:1.24.6",')
    w('    env_file = "/srv/gitea/gitea.env",')
    w("  },")
    w('  postgres = { image = "postgres:16.10", env_file = "/srv/postgres/postgres.env", pooler_app = "app-0000" },')
    w('  runner = { image = "gitea/runner:0.3.0", labels = ["ubuntu-latest:docker://node:20-bookworm"], env_file = "/srv/runner/runner.env" },')
    w('  argocd = {')
    w('    host = "argocd.example.lab",')
    w('    lab_repository = { url = "https://gitea.example.lab/lab/factory" },')
    w('    registry = { pull_secret = "gitea-registry", ca_file = "/app/config/ca/root_ca.crt" },')
    w('  },')
    w("  apps = {")
    databases = []
    for i in range(n_apps):
        name = f"app-{i:04d}"
        archetype = ("postgres", "sqlite", "stateless")[i % 3]
        fields = [f"archetype = '{archetype}"]
        if archetype == "postgres":
            databases.append(name)
        if i % 5 == 4:
            fields.append('org = "team"')
        if i % 2 == 0 and archetype != "sqlite":
            fields.append("image_updater = 'digest")
        if i % 7 == 3:
            fields.append("sync = { prune = true, self_heal = true }")
        if i % 11 == 0:
            fields.append(f'database = "{name}"' if archetype == "postgres" else "port = 3000")
        if archetype == "stateless" and i % 4 == 1:
            fields.append("replicas = 2")
        if archetype == "sqlite" and i % 4 == 3:
            fields.append('volume_size = "5Gi"')
        if archetype == "postgres" and i % 13 == 6:
            fields.append("vault = false")
        if i % 9 == 8:
            fields.append("ingress = ['public, 'internal]")
        else:
            fields.append("ingress = ['public]" if i % 2 else "ingress = ['internal]")
        w(f"    {name} = {{ {', '.join(fields)} }},")
    w("  },")
    w("  databases = {")
    for d in databases + [f"extra-{i:04d}" for i in range(max(1, n_apps // 10))]:
        w(f"    {d} = {{}},")
    w("  },")
    w('  vault = {')
    w('    address = "https://vault.example.lab",')
    w('    ci_jwt = { mount = "gitea_jwt", role = "gitea_cicd" },')
    w('    operator = { address = "http://vault.vault.svc:8200" },')
    w('  },')
    w("  tofu = {")
    w('    state_bucket = "synthetic-tf",')
    w('    gcp_project = "synthetic",')
    w('    gcp_region = "europe-west1",')
    w("    providers = {")
    w('      gitea = { source = "go-gitea/gitea", version = "0.6.0" },')
    w('      vault = { source = "hashicorp/vault", version = "4.4.0" },')
    w('      google = { source = "hashicorp/google", version = "7.0.1" },')
    w('      cloudflare = { source = "cloudflare/cloudflare", version = "~> 5" },')
    w('      ovh = { source = "ovh/ovh", version = "2.8.0" },')
    w('      postgresql = { source = "cyrilgdn/postgresql", version = "1.26.0" },')
    w("    },")
    w("    modules = {")
    w('      factory = { kind = \'factory, providers = ["gitea", "vault", "google", "cloudflare", "ovh"] },')
    w('      postgres = { kind = \'postgres, state_prefix = "factory/postgres", providers = ["postgresql"] },')
    w("    },")
    w("  },")
    w('  longhorn = { backup_bucket = "synthetic-longhorn" },')
    w("  backups = {")
    w('    destination = "/mnt/backups",')
    w('    nfs_host = "host001",')
    w('    postgres = { schedule = "0 2 * * *", keep_days = 14 },')
    w('    gitea = { schedule = "30 2 * * *", keep_days = 14 },')
    w('    k3s_pvc = { schedule = "0 3 * * *", keep_days = 7 },')
    w("  },")
    w("} | Lab")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        sys.exit("usage: gen-lab.py N_APPS  (N_APPS >= 1)")
    sys.stdout.write(lab(int(sys.argv[1])))
