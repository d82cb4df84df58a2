//! Snapshots of every generated file, for the repository's lab and for each
//! fixture lab in `tests/fixtures/`: a change to any emitter shows up as a
//! reviewed diff of `tests/it/snapshots/`. Review with `cargo insta review`.

use crate::common::Lab;

fn snapshot_all(name: &str, lab: &Lab) {
    lab.build();
    let files = lab.files();
    assert!(files.len() > 1, "{name}: nothing generated");
    // One snapshot per file keeps review diffs small and named.
    for (path, text) in files {
        let id = format!("{name}__{}", path.replace('/', "__"));
        insta::with_settings!({ snapshot_path => "snapshots/generated", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(id, text);
        });
    }
}

#[test]
fn reference_lab() {
    snapshot_all("reference", &Lab::reference());
}

#[test]
fn big_cluster_fixture() {
    snapshot_all("big-cluster", &Lab::named("big-cluster"));
}

/// Snapshots can't notice a file that stops being generated: this does.
#[test]
fn snapshots_match_the_generated_file_sets() {
    let dir = crate::common::root().join("tests/it/snapshots/generated");
    for (name, lab) in [
        ("reference", Lab::reference()),
        ("big-cluster", Lab::named("big-cluster")),
    ] {
        lab.build();
        let mut expected: Vec<String> = lab
            .files()
            .keys()
            .map(|p| format!("{name}__{}.snap", p.replace('/', "__")))
            .collect();
        expected.sort();
        let mut actual: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|f| f.starts_with(&format!("{name}__")) && f.ends_with(".snap"))
                    .collect()
            })
            .unwrap_or_default();
        actual.sort();
        assert_eq!(
            expected, actual,
            "stale or missing snapshots for {name}: run `cargo insta test --accept` and delete the stale ones"
        );
    }
}
