//! A mid-sized synthetic lab from the benchmark's generator
//! (`bench/gen-lab.py`) compiles, and every app comes out: proof that the
//! generator the benchmark relies on produces labs labc accepts, and that
//! labc holds up beyond the hand-written labs. Not timed.

use crate::common::Lab;

#[test]
fn a_generated_lab_of_fifty_apps_builds_and_checks() {
    let out = std::process::Command::new("python3")
        .arg(crate::common::root().join("bench/gen-lab.py"))
        .arg("50")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lab = Lab::from_text("lab.ncl", &String::from_utf8(out.stdout).unwrap());
    lab.build();
    let files = lab.files();
    let applications = files
        .keys()
        .filter(|p| p.starts_with("argocd/applications/"))
        .count();
    assert_eq!(applications, 50);
    let databases = files
        .keys()
        .filter(|p| p.starts_with("sql/") && !p.starts_with("sql/_"))
        .count();
    // 17 PostgreSQL apps (every third of 50) plus 5 databases of no app.
    assert_eq!(databases, 17 + 5);
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", crate::common::stderr(&o));
}
