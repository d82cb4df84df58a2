"""Stand-in OpenTofu/Terraform providers for labc's tests.

No provider can be downloaded here, so `terraform validate`, `plan` and
`apply` cannot run against the real ones. This file serves, over the real
plugin protocol (through PyPI's `tf` framework), providers that carry the
*schemas* of the real ones for every resource and data source labc emits:
attribute names, types, required/optional/computed, sensitive, ForceNew
(`requires_replace`), the defaults that change a plan, nested block
nesting, and each resource's import ID format. Each table below names the
source file it was read from, at the tag labc pins.

The "remote" is a JSON file per provider in $LABC_STANDIN_DIR: a test seeds
it with the objects a running lab holds, lets Terraform plan or apply, and
reads it back. Behaviour mirrors the real providers where a plan depends
on it: creating an object whose ID exists fails (CREATE ROLE, Gitea's 409,
Vault's path in use), importing a missing object fails, and an import
returns only the attributes the real Read sets (go-gitea 0.6.0 reads no
has_*/allow_* flags, Vault never returns a connection's password).

It is a test double for the providers, never for Terraform: the language
(for_each, import, lifecycle, references, variables) is Terraform's own.

    python standin.py <namespace>/<type>     (started by Terraform)
"""

import fcntl
import json
import os
import sys

from tf import runner, schema, types
from tf.blocks import SetNestedBlock
from tf.gen import tfplugin_pb2 as pb
from tf.iface import DataSource, Provider, Resource
from tf.types import Unknown

S, B, N = types.String(), types.Bool(), types.Number()
LS, SS, MS = types.List(S), types.Set(S), types.Map(S)


class ListBlock(SetNestedBlock):
    """A nested block in list mode (the tf framework ships set mode only):
    `arg`, `rule`, `postgresql`, `auth_login_jwt` are lists upstream, and
    `postgresql[0].password` in `ignore_changes` needs list indexing."""

    def __init__(self, type_name, block, max_items=None):
        super().__init__(type_name, block)
        self.max_items = max_items

    def to_pb(self):
        return pb.Schema.NestedBlock(
            type_name=self.type_name,
            block=self.block.to_pb(),
            max_items=self.max_items,
            nesting=pb.Schema.NestedBlock.NestingMode.LIST,
        )

    def semantically_equal(self, a, b):
        return a == b


def attr(name, typ, flags="", default=Unknown):
    """`flags`: r(equired) o(ptional) c(omputed) f(orce new) s(ensitive)."""
    return schema.Attribute(
        name,
        typ,
        required="r" in flags,
        optional="o" in flags,
        computed="c" in flags or default is not Unknown,
        sensitive="s" in flags,
        requires_replace="f" in flags,
        default=default,
    )


def block(name, attrs, max_items=None, blocks=()):
    return ListBlock(name, schema.Block(attributes=attrs, block_types=list(blocks)), max_items)


# ------------------------------------------------------------------ schemas
# Each resource: (attributes, blocks, id function, attributes the real Read
# does not set, whether it is importable).

ID = attr("id", S, "c")

RESOURCES = {}
DATA = {}
PROVIDERS = {}


def resource(name, attrs, blocks=(), ident=None, unread=(), importable=True):
    RESOURCES[name] = (attrs, list(blocks), ident, set(unread), importable)


# cyrilgdn/terraform-provider-postgresql v1.26.0, postgresql/provider.go and
# postgresql/resource_postgresql_{role,grant_role,database,function,grant}.go
PROVIDERS["cyrilgdn/postgresql"] = (
    [
        attr("host", S, "o"),
        attr("port", N, "o"),
        attr("database", S, "o"),
        attr("username", S, "o"),
        attr("password", S, "os"),
        attr("sslmode", S, "o"),
        attr("sslrootcert", S, "o"),
        attr("superuser", B, "o"),
        attr("connect_timeout", N, "o"),
    ],
    [],
)
resource(
    "postgresql_role",
    [
        ID,
        attr("name", S, "r"),
        attr("login", B, "o", False),
        attr("create_role", B, "o", False),
        attr("create_database", B, "o", False),
        attr("superuser", B, "o", False),
        attr("inherit", B, "o", True),
        attr("replication", B, "o", False),
        attr("bypass_row_level_security", B, "o", False),
        attr("connection_limit", N, "o", -1),
        attr("encrypted_password", B, "o", True),
        attr("password", S, "os"),
        attr("valid_until", S, "o", "infinity"),
        attr("roles", SS, "o"),
        attr("search_path", LS, "o"),
        attr("skip_drop_role", B, "o", False),
        attr("skip_reassign_owned", B, "o", False),
    ],
    ident=lambda s: s["name"],
    unread=("password",),
)
resource(
    "postgresql_grant_role",
    [
        ID,
        attr("role", S, "rf"),
        attr("grant_role", S, "rf"),
        attr("with_admin_option", B, "of", False),
    ],
    ident=lambda s: f'{s["role"]}_{s["grant_role"]}_{str(s["with_admin_option"]).lower()}',
    importable=False,
)
resource(
    "postgresql_database",
    [
        ID,
        attr("name", S, "r"),
        attr("owner", S, "oc"),
        attr("template", S, "ocf"),
        attr("encoding", S, "ocf"),
        attr("lc_collate", S, "ocf"),
        attr("lc_ctype", S, "ocf"),
        attr("tablespace_name", S, "oc"),
        attr("connection_limit", N, "o", -1),
        attr("allow_connections", B, "o", True),
        attr("is_template", B, "oc"),
        attr("alter_object_ownership", B, "o", False),
    ],
    ident=lambda s: s["name"],
)


def function_id(s):
    args = [a["type"] for a in s.get("arg") or [] if (a.get("mode") or "IN") != "OUT"]
    return f'{s["database"]}.{s["schema"]}.{s["name"]}({",".join(args)})'


resource(
    "postgresql_function",
    [
        ID,
        attr("name", S, "rf"),
        attr("schema", S, "ocf"),
        attr("database", S, "ocf"),
        attr("returns", S, "ocf"),
        attr("language", S, "of", "plpgsql"),
        attr("body", S, "r"),
        attr("security_definer", B, "o", False),
        attr("strict", B, "o", False),
        attr("volatility", S, "o", "VOLATILE"),
        attr("parallel", S, "o", "UNSAFE"),
        attr("drop_cascade", B, "o", False),
    ],
    [
        block(
            "arg",
            [
                attr("name", S, "of"),
                attr("type", S, "rf"),
                attr("mode", S, "of"),
                attr("default", S, "of"),
            ],
        )
    ],
    ident=function_id,
)
resource(
    "postgresql_grant",
    [
        ID,
        attr("role", S, "rf"),
        attr("database", S, "rf"),
        attr("schema", S, "of"),
        attr("object_type", S, "rf"),
        attr("objects", SS, "of"),
        attr("columns", SS, "of"),
        attr("privileges", SS, "rf"),
        attr("with_grant_option", B, "of", False),
    ],
    ident=lambda s: "_".join(
        [s["role"], s["database"], s.get("schema") or "", s["object_type"]]
        + sorted(s.get("objects") or [])
    ),
    importable=False,
)

# hashicorp/terraform-provider-vault v4.4.0, vault/provider.go (provider
# block, auth_login_jwt), vault/resource_{mount,auth_backend,
# kubernetes_auth_backend_config,kubernetes_auth_backend_role,policy,
# database_secret_backend_connection,database_secret_backend_role,
# kv_secret_v2}.go, vault/data_source_{policy_document,auth_backend}.go
PROVIDERS["hashicorp/vault"] = (
    [
        attr("address", S, "o"),
        attr("ca_cert_file", S, "o"),
        attr("ca_cert_dir", S, "o"),
        attr("skip_tls_verify", B, "o"),
        attr("token", S, "os"),
        attr("namespace", S, "o"),
    ],
    [block("auth_login_jwt", [attr("mount", S, "o"), attr("role", S, "r"), attr("jwt", S, "os"), attr("namespace", S, "o")], 1)],
)
resource(
    "vault_mount",
    [
        ID,
        attr("path", S, "r"),
        attr("type", S, "rf"),
        attr("description", S, "o"),
        attr("options", MS, "o"),
        attr("local", B, "of", False),
        attr("accessor", S, "c"),
    ],
    ident=lambda s: s["path"],
)
resource(
    "vault_auth_backend",
    [
        ID,
        attr("type", S, "rf"),
        attr("path", S, "ocf"),
        attr("description", S, "o"),
        attr("local", B, "of", False),
        attr("accessor", S, "c"),
    ],
    ident=lambda s: s.get("path") or s["type"],
)
resource(
    "vault_kubernetes_auth_backend_config",
    [
        ID,
        attr("backend", S, "of", "kubernetes"),
        attr("kubernetes_host", S, "r"),
        attr("kubernetes_ca_cert", S, "oc"),
        attr("token_reviewer_jwt", S, "os"),
        attr("issuer", S, "o"),
        attr("disable_iss_validation", B, "oc"),
        attr("disable_local_ca_jwt", B, "o", False),
    ],
    ident=lambda s: f'auth/{s["backend"]}/config',
    unread=("token_reviewer_jwt",),
)
resource(
    "vault_kubernetes_auth_backend_role",
    [
        ID,
        attr("backend", S, "of", "kubernetes"),
        attr("role_name", S, "rf"),
        attr("bound_service_account_names", SS, "r"),
        attr("bound_service_account_namespaces", SS, "r"),
        attr("audience", S, "o"),
        attr("alias_name_source", S, "oc"),
        attr("token_policies", SS, "o"),
        attr("token_ttl", N, "o"),
        attr("token_max_ttl", N, "o"),
    ],
    ident=lambda s: f'auth/{s["backend"]}/role/{s["role_name"]}',
)
resource(
    "vault_policy",
    [ID, attr("name", S, "rf"), attr("policy", S, "r")],
    ident=lambda s: s["name"],
)
resource(
    "vault_database_secret_backend_connection",
    [
        ID,
        attr("backend", S, "rf"),
        attr("name", S, "rf"),
        attr("plugin_name", S, "oc"),
        attr("verify_connection", B, "o", True),
        attr("allowed_roles", LS, "o"),
        attr("root_rotation_statements", LS, "o"),
        attr("data", MS, "os"),
    ],
    [
        block(
            "postgresql",
            [
                attr("connection_url", S, "o"),
                attr("max_open_connections", N, "o", 2),
                attr("max_idle_connections", N, "o"),
                attr("max_connection_lifetime", N, "o"),
                attr("username", S, "o"),
                attr("password", S, "os"),
                attr("username_template", S, "o"),
                attr("disable_escaping", B, "o"),
            ],
            1,
        )
    ],
    ident=lambda s: f'{s["backend"]}/config/{s["name"]}',
    unread=("postgresql.password",),
)
resource(
    "vault_database_secret_backend_role",
    [
        ID,
        attr("backend", S, "rf"),
        attr("name", S, "rf"),
        attr("db_name", S, "rf"),
        attr("creation_statements", LS, "r"),
        attr("revocation_statements", LS, "o"),
        attr("rollback_statements", LS, "o"),
        attr("renew_statements", LS, "o"),
        attr("default_ttl", N, "o"),
        attr("max_ttl", N, "o"),
    ],
    ident=lambda s: f'{s["backend"]}/roles/{s["name"]}',
)
resource(
    "vault_kv_secret_v2",
    [
        ID,
        attr("mount", S, "rf"),
        attr("name", S, "rf"),
        attr("data_json", S, "rs"),
        attr("cas", N, "o"),
        attr("disable_read", B, "o", False),
        attr("path", S, "c"),
    ],
    ident=lambda s: f'{s["mount"]}/data/{s["name"]}',
)

# go-gitea/terraform-provider-gitea v0.6.0, gitea/provider.go,
# gitea/resource_gitea_repository.go, gitea/data_source_gitea_repo.go.
# The import ID is the numeric repository ID (resourceRepoRead parses it).
PROVIDERS["go-gitea/gitea"] = (
    [
        attr("base_url", S, "o"),
        attr("token", S, "os"),
        attr("username", S, "o"),
        attr("password", S, "os"),
        attr("cacert_file", S, "o", ""),
        attr("insecure", B, "o", False),
    ],
    [],
)
GITEA_UNREAD = (
    "auto_init", "repo_template", "issue_labels", "gitignores", "license", "readme",
    "has_issues", "has_wiki", "has_pull_requests", "has_projects",
    "ignore_whitespace_conflicts", "allow_merge_commits", "allow_rebase",
    "allow_rebase_explicit", "allow_squash_merge", "archived", "allow_manual_merge",
    "autodetect_manual_merge",
)
resource(
    "gitea_repository",
    [
        ID,
        attr("username", S, "rf"),
        attr("name", S, "rf"),
        attr("auto_init", B, "o", True),
        attr("repo_template", B, "o", False),
        attr("issue_labels", S, "o", "Default"),
        attr("gitignores", S, "o", ""),
        attr("license", S, "o", ""),
        attr("readme", S, "o", ""),
        attr("description", S, "o", ""),
        attr("private", B, "o", True),
        attr("default_branch", S, "o", "main"),
        attr("website", S, "o", ""),
        attr("has_issues", B, "o", True),
        attr("has_wiki", B, "o", True),
        attr("has_pull_requests", B, "o", True),
        attr("has_projects", B, "o", True),
        attr("ignore_whitespace_conflicts", B, "o", True),
        attr("allow_merge_commits", B, "o", True),
        attr("allow_rebase", B, "o", True),
        attr("allow_rebase_explicit", B, "o", True),
        attr("allow_squash_merge", B, "o", True),
        attr("archived", B, "o", False),
        attr("allow_manual_merge", B, "o", True),
        attr("autodetect_manual_merge", B, "o", True),
        attr("mirror", B, "o", False),
        attr("clone_url", S, "c"),
        attr("html_url", S, "c"),
    ],
    ident=None,  # sequential numeric IDs, like Gitea's
    unread=GITEA_UNREAD,
)

# hashicorp/terraform-provider-google 7.0.1 (the attributes labc sets)
PROVIDERS["hashicorp/google"] = ([attr("project", S, "o"), attr("region", S, "o")], [])
resource(
    "google_storage_bucket",
    [
        ID,
        attr("name", S, "rf"),
        attr("location", S, "rf"),
        attr("project", S, "ocf"),
        attr("force_destroy", B, "o", False),
        attr("uniform_bucket_level_access", B, "oc"),
        attr("url", S, "c"),
    ],
    ident=lambda s: s["name"],
)
resource(
    "google_service_account",
    [
        ID,
        attr("account_id", S, "rf"),
        attr("display_name", S, "o"),
        attr("description", S, "o"),
        attr("project", S, "ocf"),
        attr("email", S, "c"),
        attr("member", S, "c"),
        attr("name", S, "c"),
    ],
    ident=lambda s: f'projects/{s["project"]}/serviceAccounts/{s["email"]}',
)
resource(
    "google_storage_bucket_iam_member",
    [ID, attr("bucket", S, "rf"), attr("role", S, "rf"), attr("member", S, "rf")],
    ident=lambda s: f'{s["bucket"]}/{s["role"]}/{s["member"]}',
)
resource(
    "google_storage_hmac_key",
    [
        ID,
        attr("service_account_email", S, "rf"),
        attr("state", S, "o", "ACTIVE"),
        attr("project", S, "ocf"),
        attr("access_id", S, "c"),
        attr("secret", S, "cs"),
    ],
    ident=lambda s: f'projects/{s["project"]}/hmacKeys/{s["access_id"]}',
    unread=("secret",),
)

# Pinned only in labc's modules: no resources.
PROVIDERS["cloudflare/cloudflare"] = ([], [])
PROVIDERS["ovh/ovh"] = ([], [])

DATA["vault_policy_document"] = (
    [ID, attr("hcl", S, "c")],
    [block("rule", [attr("path", S, "r"), attr("capabilities", LS, "r"), attr("description", S, "o")])],
)
DATA["vault_auth_backend"] = (
    [ID, attr("path", S, "r"), attr("type", S, "c"), attr("accessor", S, "c"), attr("description", S, "c")],
    [],
)
DATA["gitea_repo"] = (
    [ID, attr("username", S, "r"), attr("name", S, "r"), attr("full_name", S, "c"), attr("private", B, "c")],
    [],
)

# Types whose real create fails when the object exists (CREATE ROLE,
# CREATE DATABASE, Gitea's 409, Vault's "path is already in use", Google's
# 409); the other creates are writes that replace.
CONFLICTS = {
    "postgresql_role",
    "postgresql_database",
    "gitea_repository",
    "vault_mount",
    "vault_auth_backend",
    "google_storage_bucket",
    "google_service_account",
}

PREFIX = {
    "cyrilgdn/postgresql": "postgresql_",
    "hashicorp/vault": "vault_",
    "go-gitea/gitea": "gitea_",
    "hashicorp/google": "google_",
    "cloudflare/cloudflare": "cloudflare_",
    "ovh/ovh": "ovh_",
}

# -------------------------------------------------------------- the remote


# The provider block's configuration, once Terraform has sent it.
PROVIDER_CONFIG = {}


class Remote:
    """The provider's objects, `{type: {id: attributes}}`, in one JSON file
    locked for each read-modify-write (Terraform calls in parallel)."""

    def __init__(self, source):
        folder = os.environ["LABC_STANDIN_DIR"]
        self.path = os.path.join(folder, source.replace("/", "_") + ".json")
        self.lock = self.path + ".lock"

    def edit(self, change):
        with open(self.lock, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with open(self.path) as f:
                    objects = json.load(f)
            except FileNotFoundError:
                objects = {}
            result = change(objects)
            with open(self.path + ".tmp", "w") as f:
                json.dump(objects, f, indent=1, sort_keys=True)
            os.replace(self.path + ".tmp", self.path)
            return result


def full(attrs, blocks, state):
    """Every attribute and block present (Terraform decodes a whole object)."""
    out = {a.name: state.get(a.name) for a in attrs}
    for b in blocks:
        out[b.type_name] = [full(b.block.attributes, b.block.block_types, x) for x in state.get(b.type_name) or []]
    return out


def as_read(state, unread):
    """What the real Read would return: the attributes it does not set are null."""
    state = json.loads(json.dumps(state))
    for name in unread:
        if "." in name:
            blk, field = name.split(".")
            for x in state.get(blk) or []:
                x[field] = None
        else:
            state[name] = None
    return state


def make_resource(remote, name, spec):
    attrs, blocks, ident, unread, importable = spec

    def computed(state):
        if state.get("project") in (Unknown, None) and "project" in {a.name for a in attrs}:
            # Like the real provider: the provider block's project.
            state["project"] = PROVIDER_CONFIG.get("project") or "standin-project"
        if name == "google_service_account":
            email = f'{state["account_id"]}@{state["project"]}.iam.gserviceaccount.com'
            state.update(email=email, member=f"serviceAccount:{email}", name=f'projects/{state["project"]}/serviceAccounts/{email}')
        if name == "google_storage_hmac_key":
            # A new key each time, as Google makes one.
            state.update(access_id="GOOG1" + os.urandom(8).hex().upper(), secret="standin-secret")
        if name in ("vault_mount", "vault_auth_backend"):
            state["accessor"] = f"{name}_{state.get('path') or state['type']}"
        if name == "vault_kv_secret_v2":
            state["path"] = f'{state["mount"]}/data/{state["name"]}'
        if name == "gitea_repository":
            state.update(html_url=f'https://standin/{state["username"]}/{state["name"]}', clone_url=f'https://standin/{state["username"]}/{state["name"]}.git')
        for a in attrs:
            if state.get(a.name) is Unknown:
                state[a.name] = None
        return state

    class R(Resource):
        def __init__(self, provider):
            pass

        @classmethod
        def get_name(cls):
            return name[name.index("_") + 1 :]

        @classmethod
        def get_schema(cls):
            return schema.Schema(attributes=attrs, block_types=blocks)

        def create(self, ctx, planned):
            state = computed(dict(planned))

            def change(objects):
                table = objects.setdefault(name, {})
                if ident is None:
                    for existing in table.values():
                        if (existing["username"], existing["name"]) == (state["username"], state["name"]):
                            return f'{state["username"]}/{state["name"]} already exists'
                    state["id"] = str(1 + max([0] + [int(k) for k in table]))
                else:
                    state["id"] = ident(state)
                if state["id"] in table:
                    if name not in CONFLICTS:
                        # The real create is a write that replaces (GRANT,
                        # Vault's PUT, a new KV version): no error.
                        table[state["id"]] = full(attrs, blocks, state)
                        return None
                    return f'{state["id"]} already exists'
                table[state["id"]] = full(attrs, blocks, state)
                return None

            error = remote.edit(change)
            if error:
                ctx.diagnostics.add_error(f"{name}: {error}", "the stand-in remote already holds this object")
                return None
            return full(attrs, blocks, state)

        def read(self, ctx, current):
            found = remote.edit(lambda o: o.get(name, {}).get(current["id"]))
            if found is None:
                return None
            # Attributes Read does not set keep their state value.
            read = as_read(found, unread)
            for k in unread:
                if "." not in k:
                    read[k] = current.get(k)
            return full(attrs, blocks, read)

        def update(self, ctx, current, planned):
            state = computed(dict(planned))
            remote.edit(lambda o: o.setdefault(name, {}).__setitem__(current["id"], full(attrs, blocks, state)))
            return full(attrs, blocks, state)

        def delete(self, ctx, current):
            remote.edit(lambda o: o.get(name, {}).pop(current["id"], None))
            return None

        def plan(self, ctx, current, planned):
            # SDKv2 plans an attribute's Default whenever the configuration
            # leaves it unset, also over a null read back by an import: the
            # update a real provider would then send shows in the plan.
            for a in attrs:
                if a.default is not Unknown and planned.get(a.name) is None:
                    planned[a.name] = a.default
            return planned

        def upgrade(self, ctx, version, old):
            # One schema version: nothing to upgrade (the framework's
            # default warns on every refresh).
            return old

    if importable:

        def import_(self, ctx, id):
            found = remote.edit(lambda o: o.get(name, {}).get(id))
            if found is None:
                ctx.diagnostics.add_error(f"{name} {id!r} not found", "the stand-in remote has no such object")
                return None
            return full(attrs, blocks, as_read(found, unread))

        R.import_ = import_
    R.__name__ = name
    return R


def policy_hcl(rules):
    return "".join(
        f'path "{r["path"]}" {{\n  capabilities = {json.dumps(r["capabilities"])}\n}}\n' for r in rules
    )


def make_data(remote_for, name, spec):
    attrs, blocks = spec

    class D(DataSource):
        def __init__(self, provider):
            pass

        @classmethod
        def get_name(cls):
            return name[name.index("_") + 1 :]

        @classmethod
        def get_schema(cls):
            return schema.Schema(attributes=attrs, block_types=blocks)

        def read(self, ctx, config):
            out = dict(config)
            if name == "vault_policy_document":
                out["hcl"] = policy_hcl(config.get("rule") or [])
                out["id"] = out["hcl"]
            elif name == "vault_auth_backend":
                found = remote_for.edit(lambda o: o.get("vault_auth_backend", {}).get(config["path"]))
                if found is None:
                    ctx.diagnostics.add_error(f'no auth backend at {config["path"]}')
                    return None
                out.update(id=config["path"], type=found["type"], accessor=found["accessor"], description=found.get("description"))
            elif name == "gitea_repo":
                repos = remote_for.edit(lambda o: o.get("gitea_repository", {}))
                match = [k for k, r in repos.items() if (r["username"], r["name"]) == (config["username"], config["name"])]
                if not match:
                    ctx.diagnostics.add_error(f'no repository {config["username"]}/{config["name"]}')
                    return None
                out.update(id=match[0], full_name=f'{config["username"]}/{config["name"]}', private=repos[match[0]]["private"])
            return full(attrs, blocks, out)

    D.__name__ = name
    return D


class StandIn(Provider):
    def __init__(self, source):
        self.source = source
        self.remote = Remote(source)
        prefix = PREFIX[source]
        self.resources = [make_resource(self.remote, n, s) for n, s in RESOURCES.items() if n.startswith(prefix)]
        self.data = [make_data(self.remote, n, s) for n, s in DATA.items() if n.startswith(prefix)]

    def get_model_prefix(self):
        return PREFIX[self.source]

    def full_name(self):
        return f"registry.terraform.io/{self.source}"

    def get_provider_schema(self, diags):
        attrs, blocks = PROVIDERS[self.source]
        return schema.Schema(attributes=attrs, block_types=blocks)

    def validate_config(self, diags, config):
        pass

    def configure_provider(self, diags, config):
        # The configuration is recorded so that tests can assert on it
        # (sslmode, CA files) as the provider received it.
        self.remote.edit(lambda o: o.__setitem__("_provider_config", config))
        PROVIDER_CONFIG.clear()
        PROVIDER_CONFIG.update(config or {})

    def get_data_sources(self):
        return self.data

    def get_resources(self):
        return self.resources


if __name__ == "__main__":
    runner.run_provider(StandIn(sys.argv[1]), [sys.argv[0]] + sys.argv[2:])
