//! The one integration test binary: drives the `labc` binary over the
//! repository's lab and the fixture labs in `tests/fixtures/`, and proves
//! each artifact with its real consumer (tools installed by
//! `tests/tools/install.sh`).

mod agreement;
mod ansible;
mod app_of_apps;
mod argocd;
mod cli;
mod common;
mod compose;
mod docs;
mod editors;
mod errors;
mod hostile;
mod init;
mod layout;
mod output;
mod pg;
mod platform;
mod review;
mod schema;
mod snapshots;
mod sql;
mod synthetic;
mod terraform;
mod tf;
mod tofu;
