//! The `labc` binary: everything happens in [`labc::run`].

fn main() -> std::process::ExitCode {
    labc::run()
}
