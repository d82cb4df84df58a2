//! Cross-artifact agreement: files that different tools apply describe the
//! same objects, for every lab. Each comparison is also run on
//! deliberately broken data (an edited `.tf`, a changed catalog, a mutated
//! parsed resource) to show it notices.
//!
//! - [`postgres_state`]: the SQL scripts, applied to a real PostgreSQL 15,
//!   and the OpenTofu postgres module make the same roles, databases,
//!   memberships and functions.
//! - [`vault_names`]: the OpenTofu factory module's Vault objects, each
//!   app's Vault Secrets Operator resources and its `values.yaml` name the
//!   same roles, policies, paths and database owners.

mod postgres_state;
mod vault_names;
