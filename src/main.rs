fn main() -> std::process::ExitCode {
    labc::run()
}
