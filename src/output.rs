//! The only module that writes to disk: applies a set of generated files to
//! an output folder, compares them with it (`check`, `diff`), and keeps the
//! manifest of the files labc owns there.
//!
//! Invariants:
//! - nothing is written unless the whole set is given (callers compile first);
//! - a file whose bytes are unchanged is not touched (its mtime stays);
//! - each write is atomic (a temporary file in the same folder, renamed);
//!   not synced: generated files are rebuilt, not recovered;
//! - only files listed in the previous manifest are ever deleted;
//! - a non-empty folder with no manifest is refused, never adopted;
//! - no path leaves the output folder (checked component by component,
//!   symlinks refused).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};

/// Name of the manifest inside the output folder.
pub const MANIFEST: &str = ".labc-manifest";

/// Why the output could not be written or compared.
#[derive(Debug)]
pub enum OutputError {
    /// The folder exists, is not empty, and has no manifest.
    Foreign(PathBuf),
    /// A generated path would leave the folder or is otherwise unsafe.
    UnsafePath(String),
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Foreign(dir) => write!(
                f,
                "{} is not empty and has no {MANIFEST}: labc did not create it, so it won't write into it \
                 (move its files away or pick another folder with --out)",
                dir.display()
            ),
            OutputError::UnsafePath(p) => write!(
                f,
                "refusing to write `{p}`: the path is not safe inside the output folder"
            ),
            OutputError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

/// One folder and the files it must hold.
pub struct Target<'a> {
    pub dir: &'a Path,
    /// Files by relative path. The manifest is added by this module.
    pub files: BTreeMap<String, String>,
    /// The first lines of the manifest (a comment saying who owns it).
    pub manifest_header: String,
}

/// What applying a target would change.
#[derive(Debug, Default)]
pub struct Changes {
    /// New files: (path, text).
    pub created: Vec<(String, String)>,
    /// Files whose content changes: (path, old text, new text).
    pub modified: Vec<(String, String, String)>,
    /// Files labc wrote before and no longer produces.
    pub deleted: Vec<(String, String)>,
    pub unchanged: usize,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.modified.is_empty() && self.deleted.is_empty()
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |e| OutputError::Io(path.to_path_buf(), e)
}

/// Checks a relative path is made of plain, safe components only.
pub fn safe_relative(path: &str) -> Result<PathBuf, OutputError> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && !path.contains('\\')
        && p.components().all(|c| match c {
            Component::Normal(s) => s
                .to_str()
                .is_some_and(|s| crate::names::file_name_problem(s).is_none()),
            _ => false,
        });
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(OutputError::UnsafePath(path.to_string()))
    }
}

impl Target<'_> {
    fn with_manifest(&self) -> BTreeMap<String, String> {
        let mut files = self.files.clone();
        let mut manifest = self.manifest_header.clone();
        for p in self.files.keys() {
            manifest.push_str(p);
            manifest.push('\n');
        }
        files.insert(MANIFEST.to_string(), manifest);
        files
    }

    /// Files the previous build recorded as labc's. `None`: no manifest.
    fn owned(&self) -> Result<Option<BTreeSet<String>>, OutputError> {
        let path = self.dir.join(MANIFEST);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(
                text.lines()
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    // A manifest entry that is not a safe path was not written
                    // by labc: ignore it rather than delete outside the folder.
                    .filter(|l| safe_relative(l).is_ok())
                    .map(String::from)
                    .collect(),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(OutputError::Io(path, e)),
        }
    }

    /// Compares the folder with what it must hold, reading only.
    pub fn changes(&self) -> Result<Changes, OutputError> {
        let files = self.with_manifest();
        for p in files.keys() {
            safe_relative(p)?;
        }
        self.refuse_symlinks(&files)?;
        let owned = match self.owned()? {
            Some(o) => o,
            None => {
                if dir_has_entries(self.dir).map_err(io_err(self.dir))? {
                    return Err(OutputError::Foreign(self.dir.to_path_buf()));
                }
                BTreeSet::new()
            }
        };
        let mut changes = Changes::default();
        for (rel, text) in &files {
            let path = self.dir.join(rel);
            match fs::read(&path) {
                Ok(old) if old == text.as_bytes() => changes.unchanged += 1,
                Ok(old) => changes.modified.push((
                    rel.clone(),
                    String::from_utf8_lossy(&old).into_owned(),
                    text.clone(),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    changes.created.push((rel.clone(), text.clone()))
                }
                Err(e) => return Err(OutputError::Io(path, e)),
            }
        }
        for rel in owned.difference(&files.keys().cloned().collect()) {
            let path = self.dir.join(rel);
            if let Ok(old) = fs::read(&path) {
                changes
                    .deleted
                    .push((rel.clone(), String::from_utf8_lossy(&old).into_owned()));
            }
        }
        Ok(changes)
    }

    /// Makes the folder hold exactly the files (plus files labc never wrote).
    pub fn apply(&self) -> Result<Changes, OutputError> {
        let changes = self.changes()?;
        let files = self.with_manifest();
        fs::create_dir_all(self.dir).map_err(io_err(self.dir))?;
        let write = changes
            .created
            .iter()
            .map(|(p, _)| p)
            .chain(changes.modified.iter().map(|(p, _, _)| p))
            .filter(|p| p.as_str() != MANIFEST);
        for rel in write {
            write_atomic(&self.dir.join(rel), files[rel].as_bytes())?;
        }
        for (rel, _) in &changes.deleted {
            let path = self.dir.join(rel);
            match fs::remove_file(&path) {
                Ok(()) => remove_empty_parents(self.dir, &path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(OutputError::Io(path, e)),
            }
        }
        // The manifest goes last: if anything above failed, the old one still
        // lists every file labc may have to clean up.
        let manifest_changed = changes.created.iter().any(|(p, _)| p == MANIFEST)
            || changes.modified.iter().any(|(p, _, _)| p == MANIFEST);
        if manifest_changed {
            write_atomic(&self.dir.join(MANIFEST), files[MANIFEST].as_bytes())?;
        }
        Ok(changes)
    }

    /// Refuses to write through a symlink: it could point outside the folder.
    fn refuse_symlinks(&self, files: &BTreeMap<String, String>) -> Result<(), OutputError> {
        for rel in files.keys() {
            let mut path = self.dir.to_path_buf();
            for c in Path::new(rel).components() {
                path.push(c);
                if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(OutputError::UnsafePath(rel.clone()));
                }
            }
        }
        Ok(())
    }
}

fn dir_has_entries(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".labc-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    // No fsync: the rename is what makes the write atomic (a reader sees the
    // old file or the new one, never half of one), and a generated file lost
    // to a power cut is rebuilt by the next `labc build`. Syncing every file
    // made a cold build of a large lab 20x slower.
    tmp.write_all(bytes).map_err(io_err(path))?;
    set_mode(tmp.path()).map_err(io_err(path))?;
    tmp.persist(path)
        .map_err(|e| OutputError::Io(path.to_path_buf(), e.error))?;
    Ok(())
}

/// Generated files are ordinary files (0644), not the temp file's 0600.
fn set_mode(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o644))?;
    }
    let _ = path;
    Ok(())
}

/// Removes folders left empty by a deletion, up to (not including) `root`.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// A unified diff of one file, `a/` old and `b/` new, as git shows it.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
