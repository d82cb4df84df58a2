//! PostgreSQL statement text shared by the SQL scripts and the OpenTofu
//! postgres module: quoting, pgbouncer's `user_lookup()` and the statements
//! Vault runs to create and drop its dynamic users. Both emitters take it
//! from here, so what they create is the same.

/// A SQL identifier, always double-quoted (names may hold `-`).
pub fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
pub fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Schema holding pgbouncer's `user_lookup()` in every database (the SQL
/// scripts and the OpenTofu postgres module must agree on it).
pub const USER_LOOKUP_SCHEMA: &str = "public";

/// pgbouncer's `auth_query` function, created in every database.
pub const USER_LOOKUP_FUNCTION: &str = "user_lookup";

/// The SQL statements Vault runs to create a dynamic user for `owner_role`:
/// a login role in the owner role, which objects it creates belong to (so
/// revoking is a plain `DROP ROLE`). Shared by the OpenTofu and SQL emitters.
pub fn vault_creation_statements(owner_role: &str) -> Vec<String> {
    let role = sql_ident(owner_role);
    vec![
        format!(
            "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}' IN ROLE {role} INHERIT;"
        ),
        format!(
            "ALTER ROLE \"{{{{name}}}}\" SET role = {};",
            sql_literal(owner_role)
        ),
    ]
}

/// The statement Vault runs to revoke a dynamic user.
pub fn vault_revocation_statements() -> Vec<String> {
    vec!["DROP ROLE IF EXISTS \"{{name}}\";".to_string()]
}

/// pgbouncer's `auth_query` function (pgbouncer's doc/config.md). The
/// provider can't add `SET search_path`, so every name is schema-qualified,
/// operators included: a caller's search_path can't substitute any of them.
pub const USER_LOOKUP_BODY: &str = "\
BEGIN
  SELECT rolname, CASE WHEN rolvaliduntil OPERATOR(pg_catalog.<) pg_catalog.now() THEN NULL ELSE rolpassword END
  FROM pg_catalog.pg_authid
  WHERE rolname OPERATOR(pg_catalog.=) i_username AND rolcanlogin
  INTO uname, phash;
  RETURN;
END;
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_quoting() {
        assert_eq!(sql_ident("url-shortener_role"), "\"url-shortener_role\"");
        assert_eq!(sql_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(sql_literal("it's"), "'it''s'");
        assert!(crate::names::sql_ident_problem(&"x".repeat(64)).is_some());
    }

    #[test]
    fn vault_statements_name_the_owner_role() {
        let s = vault_creation_statements("dance-lessons-coach_role");
        assert_eq!(
            s[0],
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE \"dance-lessons-coach_role\" INHERIT;"
        );
        assert_eq!(
            s[1],
            "ALTER ROLE \"{{name}}\" SET role = 'dance-lessons-coach_role';"
        );
    }
}
