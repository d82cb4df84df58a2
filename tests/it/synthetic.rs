//! A mid-sized synthetic lab from the benchmark's generator
//! (`bench/gen-lab.py`) compiles, and every app, database and host comes
//! out: proof that the generator the benchmark relies on produces labs labc
//! accepts, and that labc holds up beyond the hand-written labs. Not timed.

use crate::common::Lab;

/// `python3 bench/gen-lab.py <apps>`: the lab's text.
pub(crate) fn generated_lab(apps: usize) -> String {
    let out = std::process::Command::new("python3")
        .arg(crate::common::root().join("bench/gen-lab.py"))
        .arg(apps.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_generated_lab_of_fifty_apps_builds_and_checks() {
    let lab = Lab::from_text("lab.ncl", &generated_lab(50));
    lab.build();
    let files = lab.files();

    // One Application per app, named after it.
    let applications: Vec<&String> = files
        .keys()
        .filter(|p| p.starts_with("argocd/rendered/applications/"))
        .collect();
    assert_eq!(applications.len(), 50, "{applications:?}");
    for i in 0..50 {
        let app = format!("app-{i:04}");
        assert!(
            files.contains_key(&format!("argocd/rendered/applications/{app}.yaml")),
            "no Application for {app}: {applications:?}"
        );
    }

    // One SQL script per database: 17 PostgreSQL apps (every third of 50)
    // plus 5 databases of no app.
    let databases = files
        .keys()
        .filter(|p| p.starts_with("sql/") && !p.starts_with("sql/_"))
        .count();
    assert_eq!(databases, 17 + 5);

    // max(3, 50 / 20) = 3 hosts, all in the inventory.
    let inventory = lab.read("ansible/inventory/hosts.yml");
    for host in ["host000", "host001", "host002"] {
        assert!(
            inventory.contains(&format!("{host}:")),
            "{host} missing:\n{inventory}"
        );
    }

    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", crate::common::stderr(&o));
}

#[test]
fn the_generator_is_deterministic() {
    assert_eq!(generated_lab(30), generated_lab(30));
}
