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

    fn manifest(&self) -> String {
        let mut manifest = self.manifest_header.clone();
        for p in self.files.keys() {
            manifest.push_str(p);
            manifest.push('\n');
        }
        manifest
    }

    /// Compares the folder with what it must hold, reading only.
    pub fn changes(&self) -> Result<Changes, OutputError> {
        let manifest = self.manifest();
        let all = || {
            self.files
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(std::iter::once((MANIFEST, manifest.as_str())))
        };
        for (p, _) in all() {
            safe_relative(p)?;
        }
        self.refuse_symlinks_iter(all().map(|(p, _)| p))?;
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
        for (rel, text) in all() {
            let path = self.dir.join(rel);
            match fs::read(&path) {
                Ok(old) if old == text.as_bytes() => changes.unchanged += 1,
                Ok(old) => changes.modified.push((
                    rel.to_string(),
                    String::from_utf8_lossy(&old).into_owned(),
                    text.to_string(),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    changes.created.push((rel.to_string(), text.to_string()))
                }
                Err(e) => return Err(OutputError::Io(path, e)),
            }
        }
        for rel in owned.iter() {
            if rel == MANIFEST || self.files.contains_key(rel) {
                continue;
            }
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
        self.apply_changes(changes)
    }

    /// Applies changes computed by [`Target::changes`] (nothing else may have
    /// written the folder in between).
    pub fn apply_changes(&self, changes: Changes) -> Result<Changes, OutputError> {
        fs::create_dir_all(self.dir).map_err(io_err(self.dir))?;
        let mut made: BTreeSet<PathBuf> = BTreeSet::new();
        let mut manifest_text = None;
        for (rel, text) in changes
            .created
            .iter()
            .map(|(p, t)| (p, t))
            .chain(changes.modified.iter().map(|(p, _, t)| (p, t)))
        {
            if rel == MANIFEST {
                manifest_text = Some(text);
                continue;
            }
            write_atomic(&self.dir.join(rel), text.as_bytes(), &mut made)?;
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
        if let Some(text) = manifest_text {
            write_atomic(&self.dir.join(MANIFEST), text.as_bytes(), &mut made)?;
        }
        Ok(changes)
    }

    fn refuse_symlinks_iter<'b>(
        &self,
        rels: impl Iterator<Item = &'b str>,
    ) -> Result<(), OutputError> {
        let mut seen: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
        for rel in rels {
            let mut path = self.dir.to_path_buf();
            for c in Path::new(rel).components() {
                path.push(c);
                if seen.contains(&path) {
                    continue;
                }
                if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(OutputError::UnsafePath(rel.to_string()));
                }
                seen.insert(path.clone());
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

fn write_atomic(
    path: &Path,
    bytes: &[u8],
    made: &mut BTreeSet<PathBuf>,
) -> Result<(), OutputError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !made.contains(dir) {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        made.insert(dir.to_path_buf());
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".labc-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    // No fsync: the rename is what makes the write atomic (a reader sees the
    // old file or the new one, never half of one), and a generated file lost
    // to a power cut is rebuilt by the next `labc build`. Syncing every file
    // made a cold build of a large lab several times slower.
    tmp.write_all(bytes).map_err(io_err(path))?;
    // Generated files are ordinary files (0644), not the temp file's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(io_err(path))?;
    }
    tmp.persist(path)
        .map_err(|e| OutputError::Io(path.to_path_buf(), e.error))?;
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
