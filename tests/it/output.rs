//! The output folder, as `check` and `build` see it: every kind of change
//! is found, and symbolic links never let labc read, write or delete
//! outside it. Run on a small lab, whose files labc reads after compiling,
//! and on a large one (over `READ_ON_A_THREAD` files), whose files a second
//! thread reads and digests while Nickel evaluates: both ways must agree.

use crate::common::{Lab, read_tree, stderr, stdout};
use std::fs;

/// The 100-app synthetic lab writes about 300 files: above the threshold
/// from which labc reads generated/ on a second thread.
fn large() -> Lab {
    Lab::from_text("lab.ncl", &crate::synthetic::generated_lab(100))
}

fn check_code(lab: &Lab) -> (Option<i32>, String, String) {
    let o = lab.run(&["check"]);
    (o.status.code(), stdout(&o), stderr(&o))
}

/// Edits, deletions, foreign and stale owned files: check reports each, with
/// its diff, and build puts the folder back exactly.
fn every_change_is_seen(lab: &Lab) {
    lab.build();
    let built = lab.files();
    assert!(built.len() > 40);
    assert_eq!(check_code(lab).0, Some(0));

    // One byte changed in a file, its length kept: still a difference.
    let rel = "argocd/values.yaml";
    let path = lab.generated().join(rel);
    let text = fs::read_to_string(&path).unwrap();
    let edited = text.replacen("app", "apq", 1);
    assert_eq!(edited.len(), text.len());
    fs::write(&path, &edited).unwrap();
    let (code, out, err) = check_code(lab);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.contains(&format!("+++ b/generated/{rel}")), "{out}");
    assert!(out.contains("-") && out.contains("apq"), "{out}");
    assert!(err.contains("differing files"), "{err}");

    // A generated file deleted by hand: missing.
    let gone = "ansible/inventory/hosts.yml";
    fs::remove_file(lab.generated().join(gone)).unwrap();
    let (code, _, err) = check_code(lab);
    assert_eq!(code, Some(1));
    assert!(err.contains("missing files"), "{err}");
    assert!(err.contains(gone), "{err}");

    // A file labc wrote before and no longer produces: listed in the
    // manifest, so check calls it extra and build deletes it.
    let stale = "argocd/rendered/applications/retired.yaml";
    fs::write(lab.generated().join(stale), "old\n").unwrap();
    let manifest = lab.generated().join(".labc-manifest");
    let mut m = fs::read_to_string(&manifest).unwrap();
    m.push_str(stale);
    m.push('\n');
    fs::write(&manifest, m).unwrap();
    // And one labc never wrote: none of its business.
    let mine = "argocd/NOTES.local.md";
    fs::write(lab.generated().join(mine), "mine\n").unwrap();
    let (code, out, err) = check_code(lab);
    assert_eq!(code, Some(1));
    assert!(err.contains("extra files") && err.contains(stale), "{err}");
    // Only warned about (check's stray-file warning), never a difference.
    assert!(!out.contains(mine), "{out}");
    assert!(
        err.lines()
            .filter(|l| l.contains(mine))
            .all(|l| l.starts_with("warning[labc::check::stray]:")),
        "{err}"
    );

    lab.build();
    let mut after = lab.files();
    assert_eq!(after.remove(mine).as_deref(), Some("mine\n"));
    assert_eq!(after, built, "build did not restore the folder exactly");
    assert_eq!(check_code(lab).0, Some(0));
}

#[test]
fn every_change_is_seen_in_a_small_lab() {
    every_change_is_seen(&Lab::reference());
}

#[test]
fn every_change_is_seen_in_a_large_lab() {
    every_change_is_seen(&large());
}

/// A generated folder replaced by a link to somewhere else: labc refuses to
/// compare or write through it, and what it points at is left alone.
#[cfg(unix)]
fn links_are_refused(lab: &Lab) {
    lab.build();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("keep.txt"), "not labc's\n").unwrap();
    let apps = lab.generated().join("argocd/rendered/applications");
    fs::remove_dir_all(&apps).unwrap();
    std::os::unix::fs::symlink(outside.path(), &apps).unwrap();
    for cmd in ["check", "build"] {
        let o = lab.run(&[cmd]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("not safe"), "{cmd}: {}", stderr(&o));
    }
    assert_eq!(
        read_tree(outside.path()).into_keys().collect::<Vec<_>>(),
        ["keep.txt"]
    );

    // A file listed in the manifest, no longer generated, reached through
    // a link: not deleted (the link could lead anywhere).
    fs::remove_file(&apps).unwrap();
    lab.build();
    let manifest = lab.generated().join(".labc-manifest");
    let mut m = fs::read_to_string(&manifest).unwrap();
    m.push_str("linked/keep.txt\n");
    fs::write(&manifest, m).unwrap();
    std::os::unix::fs::symlink(outside.path(), lab.generated().join("linked")).unwrap();
    lab.build();
    assert!(outside.path().join("keep.txt").exists());

    // The last component a link: refused as well.
    let file = lab.generated().join("argocd/values.yaml");
    fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(outside.path().join("keep.txt"), &file).unwrap();
    let o = lab.run(&["check"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(outside.path().join("keep.txt")).unwrap(),
        "not labc's\n"
    );
}

#[cfg(unix)]
#[test]
fn links_are_refused_in_a_small_lab() {
    links_are_refused(&Lab::reference());
}

#[cfg(unix)]
#[test]
fn links_are_refused_in_a_large_lab() {
    links_are_refused(&large());
}
