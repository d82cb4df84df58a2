//! Every kind of problem labc reports, each with one stable code
//! (`labc::unknown-host`), shown in the text report (`error[labc::…]`) and
//! in `--message-format json`, and listed in the README's table.
//!
//! Invariant: a code, once published, keeps its spelling and its meaning;
//! this list is the only place codes are spelt (the README table and the
//! JSON Schema of a message are generated from it, and tests compare them).

macro_rules! codes {
    ($($variant:ident = $code:literal : $what:literal,)*) => {
        /// One kind of problem. See the module doc.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the order of the README's table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as shown: `labc::` then kebab-case words.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// What the code means, one line for the README's table.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $what,)*
                }
            }
        }
    };
}

codes! {
    // Reading and evaluating the lab file.
    NotUtf8 = "labc::not-utf8": "the lab file is not valid UTF-8 (shown at its first bad byte)",
    TooDeep = "labc::too-deep": "the lab nests deeper than labc evaluates (512 levels of syntax, or data deeper than any lab)",
    NickelSyntax = "labc::nickel::syntax": "lab.ncl is not valid Nickel (a missing comma, an unclosed brace...)",
    NickelContract = "labc::nickel::contract": "a contract the lab applies itself (not labc's) refused a value",
    NickelEval = "labc::nickel::eval": "evaluating lab.ncl failed (an undefined variable, a function applied wrongly...)",
    NickelType = "labc::nickel::type": "a type annotation in lab.ncl does not hold",
    NickelImport = "labc::nickel::import": "a file lab.ncl imports cannot be read or parsed",
    NickelExport = "labc::nickel::export": "a value of lab.ncl has no plain-data form",
    MissingValue = "labc::missing-value": "a field is declared without a value",
    NotData = "labc::not-data": "a value that is not data: a function, an enum variant with an argument, a date, NaN",
    NumberTooLarge = "labc::number-too-large": "a number too large for a 64-bit float",
    TomlSyntax = "labc::toml::syntax": "lab.toml is not valid TOML",
    // The lab's shape (the JSON Schema, for both formats).
    UnknownField = "labc::schema::unknown-field": "a field the record does not have (with the closest known field)",
    MissingField = "labc::schema::missing-field": "a required field is missing",
    WrongType = "labc::schema::type": "a value of the wrong type (a string where a number is expected...)",
    NotInEnum = "labc::schema::enum": "a value outside the allowed set (the allowed values listed, with the closest one)",
    NoMatch = "labc::schema::pattern": "a string of the wrong form (an IPv4 address, a domain, an image reference...)",
    OutOfRange = "labc::schema::range": "a number outside its range",
    SchemaOther = "labc::schema::invalid": "any other departure from the schema",
    // What the lab means (validation).
    InvalidName = "labc::invalid-name": "a name that cannot be used where it ends up (DNS, SQL, file name, cron, Git...)",
    InvalidAddress = "labc::invalid-address": "a host address that is not an IPv4 address",
    DuplicateAddress = "labc::duplicate-address": "two hosts with the same address",
    ListedTwice = "labc::listed-twice": "a list holds the same entry twice (a service, an ingress)",
    ConflictingServices = "labc::conflicting-services": "one host carries two services that exclude each other",
    ServiceOnNoHost = "labc::service-on-no-host": "a service the lab needs is placed on no host",
    ServiceOnTooManyHosts = "labc::service-on-too-many-hosts": "a service that runs once is placed on several hosts",
    UnknownK3sComponent = "labc::unknown-k3s-component": "`k3s.disable` names no k3s component",
    ImageWithoutTag = "labc::image-without-tag": "an image reference without a tag",
    PostgresVersion = "labc::postgres-version": "the PostgreSQL image tag names no major version",
    RoleCollision = "labc::role-collision": "two uses of one PostgreSQL role",
    GiteaDatabase = "labc::gitea-database": "a database with the name of Gitea's own",
    NamespaceCollision = "labc::namespace-collision": "two apps deploy to one namespace",
    MissingDatabase = "labc::missing-database": "an app needs a database the lab does not declare",
    ArchetypeMismatch = "labc::archetype-mismatch": "an app's settings do not fit its archetype",
    SqliteReplicas = "labc::sqlite-replicas": "a SQLite app with more than one replica",
    RootNameClash = "labc::root-name-clash": "an app named like the root Application or one of ArgoCD's installs",
    RegistryMissing = "labc::registry-missing": "an app follows its image but the lab has no registry access",
    VsoCaOverHttp = "labc::vso-ca-over-http": "a CA for a Vault reached over plain HTTP",
    VsoCannotVerify = "labc::vso-cannot-verify-vault": "the Vault Secrets Operator cannot verify Vault's certificate",
    MissingSection = "labc::missing-section": "a part of the lab needs a section the lab leaves out (an app's database needs `databases` and `postgres`, a runner needs `runner`...)",
    K3sEvenServers = "labc::k3s-even-servers": "an even number of k3s servers (embedded etcd needs a majority: 1, 3 or 5)",
    ChartApp = "labc::chart-app": "an app from an upstream chart with a field only the lab's own apps take, or values without a chart",
    UnknownHost = "labc::unknown-host": "a reference to a host the lab does not declare",
    UnknownApp = "labc::unknown-app": "a reference to an app the lab does not declare",
    UnknownProvider = "labc::unknown-provider": "a module names a provider `tofu.providers` does not declare",
    ProviderNotPinned = "labc::provider-not-pinned": "a module declares resources of a provider it does not pin",
    SslmodeWithoutPki = "labc::sslmode-without-pki": "`postgres.sslmode` checks certificates but the lab has no `pki`",
    ModuleKindTwice = "labc::module-kind-twice": "two OpenTofu modules of one kind",
    ForeignStatePrefix = "labc::foreign-state-prefix": "a module's state under a hand-written root's prefix",
    PostgresManager = "labc::postgres-manager": "`postgres.manager` and the OpenTofu modules disagree on who creates PostgreSQL objects",
    PortCollision = "labc::port-collision": "two services on one port of a host",
    EnvFileCollision = "labc::env-file-collision": "two services share an env file on a host",
    HostNameCollision = "labc::host-name-collision": "two uses of one DNS name",
    StatePrefixCollision = "labc::state-prefix-collision": "two OpenTofu modules on one state prefix",
    DnsOutsideDomain = "labc::dns-outside-domain": "a name the internal resolvers must serve lies outside `domains.internal`",
    InvalidCaBundle = "labc::invalid-ca-bundle": "`pki.acme.ca_bundle` is not PEM certificates",
    // The command line, the output folder and `labc check`.
    NoLab = "labc::no-lab": "no lab file found, or both lab.ncl and lab.toml in one folder",
    Io = "labc::io": "a file could not be read or written",
    OutputRefused = "labc::output-refused": "the output folder is not labc's to write",
    Stale = "labc::check::stale": "a generated file differs from what build would write",
    Missing = "labc::check::missing": "a file build would create is missing",
    Extra = "labc::check::extra": "a file labc wrote before and build would delete",
    Stray = "labc::check::stray": "a file in the output folder that labc did not write (a warning)",
    Bug = "labc::bug": "labc disagrees with itself: please report it",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The README's table of codes, as Markdown.
pub fn markdown_table() -> String {
    let mut out = String::from("| Code | Meaning |\n|---|---|\n");
    for code in Code::ALL {
        out.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.meaning()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            let rest = s.strip_prefix("labc::").expect("labc:: prefix");
            for word in rest.split("::") {
                assert!(
                    !word.is_empty()
                        && !word.starts_with('-')
                        && !word.ends_with('-')
                        && word
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "{s} is not kebab-case"
                );
            }
        }
    }

    #[test]
    fn the_readme_lists_every_code() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's table of codes is not codes::markdown_table():\n{}",
            markdown_table()
        );
    }
}
