//! What every lab compiles to, pinned, so a change to any emitter shows up
//! as a reviewed diff: the repository's lab by its committed `generated/`
//! (which `labc check` must find current), each fixture lab of
//! `tests/fixtures/valid/` by one insta snapshot per generated file in
//! `tests/it/snapshots/generated/` (review with `cargo insta review`), and a
//! fixture whose folder names a twin (`same-output-as`) by that twin's
//! output.

use crate::common::{Lab, REFERENCE, lab_names, labc, labs, read_tree, root, stderr, twin_of};

/// `labc check` on the repository itself: the committed `generated/` and
/// `schemas/` are what `labc build` writes from lab.ncl. Read-only, so it
/// runs in place.
#[test]
fn the_committed_generated_folder_is_current() {
    let committed = read_tree(&root().join("generated"));
    assert!(committed.len() > 1, "nothing committed in generated/");
    let o = labc(&root(), &["check", "--lab", "lab.ncl"]);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "generated/ is stale: run `cargo run -- build` and commit it\n{}{err}",
        crate::common::stdout(&o)
    );
    // generated/ and schemas/ both: at least every committed file counted.
    let counted: usize = err
        .split(" generated files are up to date")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {err}"));
    assert!(counted > committed.len(), "{err}");
}

/// The snapshot file of `path` generated from `lab`.
fn snapshot_name(lab: &str, path: &str) -> String {
    format!("{lab}__{}", path.replace('/', "__"))
}

/// The labs pinned by snapshots: all but the repository's, whose output is
/// committed.
fn snapshotted() -> Vec<Lab> {
    labs().into_iter().filter(|l| l.name != REFERENCE).collect()
}

#[test]
fn every_fixture_s_output_matches_its_snapshots() {
    for lab in snapshotted() {
        lab.build();
        let files = lab.files();
        assert!(files.len() > 1, "{}: nothing generated", lab.name);
        // One snapshot per file keeps review diffs small and named.
        for (path, text) in files {
            insta::with_settings!({ snapshot_path => "snapshots/generated", prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!(snapshot_name(&lab.name, &path), text);
            });
        }
    }
}

/// Snapshots can't notice a file that stops being generated, nor a lab
/// that is gone: this does.
#[test]
fn snapshots_match_the_generated_file_sets() {
    let mut expected: Vec<String> = Vec::new();
    for lab in snapshotted() {
        lab.build();
        expected.extend(
            lab.files()
                .keys()
                .map(|p| format!("{}.snap", snapshot_name(&lab.name, p))),
        );
    }
    expected.sort();
    let dir = root().join("tests/it/snapshots/generated");
    let actual: Vec<String> = read_tree(&dir)
        .into_keys()
        .filter(|f| f.ends_with(".snap"))
        .collect();
    assert_eq!(
        expected, actual,
        "stale or missing snapshots: run `cargo insta test --accept` and delete the stale ones"
    );
}

/// A twin's output is its twin's, byte for byte, but for the headers that
/// name the source file.
#[test]
fn twins_compile_to_the_same_output() {
    for name in lab_names() {
        let Some(twin) = twin_of(&name) else {
            continue;
        };
        let (lab, other) = (Lab::named(&name), Lab::named(&twin));
        lab.build();
        other.build();
        let (ours, theirs) = (lab.files(), other.files());
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{name} and {twin} generate different files"
        );
        for (path, text) in &ours {
            assert_eq!(
                &text.replace(&lab.file, &other.file),
                &theirs[path],
                "{path} differs between {name} ({}) and {twin} ({})",
                lab.file,
                other.file
            );
            assert_eq!(
                text.matches(&lab.file).count(),
                theirs[path].matches(&other.file).count(),
                "{path}"
            );
        }
    }
}
