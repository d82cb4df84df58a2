//! The lab as it is at a git revision, for `labc diff --base REV`: the
//! revision's tree read from git's objects (`git ls-tree`, `git cat-file
//! --batch`) into a temporary folder, never through a checkout: the work
//! tree, the index and HEAD are left alone.
//!
//! The whole tree is copied (but the output folder, which labc rebuilds),
//! so a lab importing files outside its own folder compiles as it did.
//! Symbolic links and submodules are not copied.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The lab at a revision.
pub enum Base {
    /// The lab file did not exist at the revision.
    Absent,
    /// The tree, written out; `lab` is the lab file in it.
    Present {
        dir: tempfile::TempDir,
        lab: PathBuf,
    },
}

/// The revision's tree, holding the lab whose work-tree file is `lab`
/// (output folder `out`, left out).
pub fn base(rev: &str, lab: &Path, out: &Path) -> Result<Base, String> {
    let lab_dir = match lab.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let top = git(&lab_dir, &["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("--base needs the lab in a git repository: {e}"))?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches('\n'));
    let commit = git(
        &lab_dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| format!("unknown revision `{rev}`: git knows no commit by that name"))?;
    let commit = String::from_utf8_lossy(&commit).trim().to_string();
    let canon = |p: &Path| std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()));
    let top_abs = canon(&top)?;
    let lab_rel = canon(lab)?
        .strip_prefix(&top_abs)
        .map(Path::to_path_buf)
        .map_err(|_| format!("{} is outside its git repository", lab.display()))?;
    // The output folder is rebuilt, not read: skip it (if it is in the tree).
    let out_rel = canon(out)
        .ok()
        .and_then(|o| o.strip_prefix(&top_abs).ok().map(Path::to_path_buf))
        .filter(|o| !o.as_os_str().is_empty());

    let listing = git(&top, &["ls-tree", "-r", "-z", "--full-tree", &commit])?;
    let mut blobs = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        // A path that is not UTF-8 cannot be a lab file or an import labc
        // reads (Nickel's import paths are strings): not copied.
        let Ok(text) = std::str::from_utf8(entry) else {
            continue;
        };
        // `<mode> <type> <object>\t<path>`
        let Some((meta, path)) = text.split_once('\t') else {
            return Err(format!("git ls-tree: unexpected line {text:?}"));
        };
        let mut meta = meta.split(' ');
        let (Some(mode), Some("blob"), Some(oid)) = (meta.next(), meta.next(), meta.next()) else {
            continue; // a submodule
        };
        if mode == "120000" {
            continue; // a symbolic link
        }
        let path = PathBuf::from(path);
        // Git refuses to check out `..`, `.` or absolute names; a crafted
        // tree holding one is refused here too, so nothing is written
        // outside the temporary folder.
        if !path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "the tree of `{rev}` holds the path {path:?}, which git would not check out"
            ));
        }
        if out_rel.as_ref().is_some_and(|o| path.starts_with(o)) {
            continue;
        }
        blobs.push((oid.to_string(), path));
    }
    if !blobs.iter().any(|(_, p)| *p == lab_rel) {
        return Ok(Base::Absent);
    }
    let dir = tempfile::Builder::new()
        .prefix("labc-base-")
        .tempdir()
        .map_err(|e| format!("a temporary folder: {e}"))?;
    write_blobs(&top, &blobs, dir.path())?;
    let lab = dir.path().join(&lab_rel);
    Ok(Base::Present { dir, lab })
}

/// Writes each blob under `dest`, reading them all through one
/// `git cat-file --batch`.
fn write_blobs(top: &Path, blobs: &[(String, PathBuf)], dest: &Path) -> Result<(), String> {
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(top)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git cat-file: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("git cat-file: no stdin")?;
    let ids: String = blobs.iter().map(|(oid, _)| format!("{oid}\n")).collect();
    // Written from another thread: git answers while it reads, and a full
    // pipe on both sides would block both.
    let writer = std::thread::spawn(move || stdin.write_all(ids.as_bytes()));
    let mut stdout = BufReader::new(child.stdout.take().ok_or("git cat-file: no stdout")?);
    for (oid, path) in blobs {
        let mut header = String::new();
        stdout
            .read_line(&mut header)
            .map_err(|e| format!("git cat-file: {e}"))?;
        // `<object> blob <size>`
        let size: usize = header
            .trim_end()
            .strip_prefix(oid.as_str())
            .and_then(|rest| rest.strip_prefix(" blob "))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("git cat-file: unexpected answer {header:?} for {oid}"))?;
        let mut bytes = vec![0; size + 1]; // the contents and a newline
        stdout
            .read_exact(&mut bytes)
            .map_err(|e| format!("git cat-file: {e}"))?;
        bytes.pop();
        let file = dest.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&file, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    match writer.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("git cat-file: {e}")),
        Err(_) => return Err("git cat-file: the writer thread panicked".into()),
    }
    let status = child.wait().map_err(|e| format!("git cat-file: {e}"))?;
    if !status.success() {
        return Err(format!("git cat-file failed ({status})"));
    }
    Ok(())
}

/// Runs git in `dir`; its standard output, or its error message.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if msg.is_empty() {
            format!("git {} failed ({})", args.join(" "), out.status)
        } else {
            msg
        })
    }
}
