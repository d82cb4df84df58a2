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

use std::collections::{BTreeMap, BTreeSet, HashSet};
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
    /// A file (or folder) `labc init` would create is already there.
    Exists(PathBuf),
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
            OutputError::Exists(p) => write!(
                f,
                "{} already exists: labc init writes new files only, it never overwrites one \
                 (move it away, or init another folder)",
                p.display()
            ),
            OutputError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

/// One folder and the files it must hold.
pub struct Target {
    pub dir: PathBuf,
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

/// An output folder as it was on disk: its manifest and, once
/// [`Snapshot::digest_listed`] ran, a digest of every file the manifest lists.
///
/// Reading 2,800 files is most of what `check` costs on a large lab beyond
/// Nickel itself, so on a large lab the commands digest them on a second
/// thread while Nickel evaluates (`cmd::prepare`). A digest is the length
/// and a 128-bit SipHash under keys drawn at random for this process: two
/// different texts match with odds of 2^-128 and no input can be crafted to
/// match (the keys are unknown). It is only ever used to say "unchanged";
/// a file that differs is read again, whole, for its diff. Holding digests
/// rather than bytes keeps the folder's 5 MB (1000 apps) out of memory.
///
/// A snapshot only reads; nothing is written or deleted on its word alone:
/// [`Target::changes_from`] decides.
pub struct Snapshot {
    dir: PathBuf,
    /// The folder has entries but no manifest (it is not labc's).
    foreign: bool,
    /// The manifest's bytes; `None`: there is none.
    manifest: Option<Vec<u8>>,
    /// What [`Snapshot::digest_listed`] found for each listed file (an
    /// error for one with a symbolic link on the way); `None` until it runs.
    digests: Option<BTreeMap<String, io::Result<Digest>>>,
    /// Folders already seen not to be symbolic links.
    plain_dirs: HashSet<PathBuf>,
    /// SipHash keys, drawn at random for this process.
    keys: (u64, u64),
}

/// A file's length and keyed 128-bit hash (see [`Snapshot`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Digest {
    len: usize,
    hash: u128,
}

fn digest(keys: (u64, u64), bytes: &[u8]) -> Digest {
    use siphasher::sip128::{Hasher128 as _, SipHasher13};
    use std::hash::Hasher as _;
    let mut h = SipHasher13::new_with_keys(keys.0, keys.1);
    h.write(bytes);
    Digest {
        len: bytes.len(),
        hash: h.finish128().as_u128(),
    }
}

/// Two keys no one outside this process can know: std seeds each
/// `RandomState` from the operating system's random source.
fn random_keys() -> (u64, u64) {
    use std::hash::BuildHasher as _;
    let state = std::hash::RandomState::new();
    (state.hash_one(0u8), state.hash_one(1u8))
}

impl Snapshot {
    /// Reads `dir`'s manifest. A missing folder is an empty snapshot. The
    /// files it lists are read later: by [`Snapshot::digest_listed`], or one
    /// at a time when compared.
    pub fn read(dir: &Path) -> Result<Snapshot, OutputError> {
        let mut snap = Snapshot {
            dir: dir.to_path_buf(),
            foreign: false,
            manifest: None,
            digests: None,
            plain_dirs: HashSet::new(),
            keys: random_keys(),
        };
        match snap.read_file(MANIFEST) {
            Ok(bytes) => snap.manifest = Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                snap.foreign = dir_has_entries(dir).map_err(io_err(dir))?;
            }
            Err(e) if is_link_error(&e) => {
                return Err(OutputError::UnsafePath(MANIFEST.to_string()));
            }
            Err(e) => return Err(OutputError::Io(dir.join(MANIFEST), e)),
        }
        Ok(snap)
    }

    /// About how many files the manifest lists (its line count), without
    /// parsing it: enough to decide how to read them.
    pub fn size_hint(&self) -> usize {
        self.manifest
            .as_ref()
            .map_or(0, |m| m.iter().filter(|&&b| b == b'\n').count())
    }

    /// The files the manifest lists.
    fn listed(&self) -> BTreeSet<String> {
        let Some(manifest) = &self.manifest else {
            return BTreeSet::new();
        };
        String::from_utf8_lossy(manifest)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != MANIFEST)
            // A manifest entry that is not a safe path was not written by
            // labc: ignore it rather than delete outside the folder.
            .filter(|l| safe_relative(l).is_ok())
            .map(String::from)
            .collect()
    }

    /// Reads and digests every listed file.
    pub fn digest_listed(&mut self) {
        let keys = self.keys;
        let mut digests = BTreeMap::new();
        for rel in self.listed() {
            let read = self.read_with(&rel, |bytes| digest(keys, bytes));
            digests.insert(rel, read);
        }
        self.digests = Some(digests);
    }

    /// Reads one file below the folder, whole.
    fn read_file(&mut self, rel: &str) -> io::Result<Vec<u8>> {
        self.read_with(rel, <[u8]>::to_vec)
    }

    /// Reads one file below the folder without following a symbolic link,
    /// neither on the way (each folder checked once) nor at the end, and
    /// hands its bytes to `f`.
    fn read_with<T>(&mut self, rel: &str, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
        let rel = Path::new(rel);
        let mut path = self.dir.clone();
        let mut parts = rel.components().peekable();
        while let Some(c) = parts.next() {
            path.push(c);
            if parts.peek().is_none() || self.plain_dirs.contains(&path) {
                continue;
            }
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Err(link_error()),
                // A missing folder: the file is missing too.
                _ => {
                    self.plain_dirs.insert(path.clone());
                }
            }
        }
        read_no_follow(&path, f)
    }
}

/// The error a read gives for a path with a symbolic link on the way.
#[derive(Debug)]
struct Linked;

impl std::fmt::Display for Linked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a symbolic link is on the way")
    }
}

impl std::error::Error for Linked {}

fn link_error() -> io::Error {
    io::Error::other(Linked)
}

fn is_link_error(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return true;
    }
    e.get_ref().is_some_and(|inner| inner.is::<Linked>())
}

/// What [`read_no_follow`] reserves before reading: most generated files
/// are smaller.
const READ_ROOM: usize = 16 * 1024;

/// Reads a file, refusing a symbolic link
/// as its last component, and hands its bytes to `f`.
///
/// Not `fs::read`: that one follows links, and it stats the file for a size
/// hint first, one more system call for each of thousands of files.
fn read_no_follow<T>(path: &Path, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    {
        if fs::symlink_metadata(path)?.file_type().is_symlink() {
            return Err(link_error());
        }
    }
    let mut file = options.open(path)?;
    // Room for a typical generated file up front: from an empty buffer,
    // `read_to_end` probes with 32 bytes and grows, about seven `read`s a
    // file (16,500 for the 1000-app lab's 2,414 files); with room, one read
    // and the one that sees the end. Through `Take`, it reads straight
    // away, without the stat.
    let mut buf = Vec::with_capacity(READ_ROOM);
    io::Read::read_to_end(&mut io::Read::take(&mut file, u64::MAX), &mut buf)?;
    Ok(f(&buf))
}

impl Target {
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
        self.changes_from(Snapshot::read(&self.dir)?)
    }

    /// Compares a snapshot of the folder with what it must hold. Files the
    /// snapshot has not read are read now, one at a time, so that only one
    /// of them is in memory at once.
    pub fn changes_from(&self, mut snap: Snapshot) -> Result<Changes, OutputError> {
        debug_assert_eq!(snap.dir, self.dir);
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
        if snap.foreign {
            return Err(OutputError::Foreign(self.dir.clone()));
        }
        // Listed files are either digested already or read here, one at a
        // time, as they are compared.
        let (mut unread, mut digests) = match snap.digests.take() {
            Some(digests) => (BTreeSet::new(), digests),
            None => (snap.listed(), BTreeMap::new()),
        };
        let mut changes = Changes::default();
        for (rel, text) in all() {
            let old = if rel == MANIFEST {
                snap.manifest
                    .take()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
            } else {
                unread.remove(rel);
                match digests.remove(rel) {
                    Some(Ok(d)) if d == digest(snap.keys, text.as_bytes()) => {
                        changes.unchanged += 1;
                        continue;
                    }
                    // It differs (or could not be read): read it whole.
                    _ => snap.read_file(rel),
                }
            };
            match old {
                Ok(old) if old == text.as_bytes() => changes.unchanged += 1,
                Ok(old) => changes.modified.push((
                    rel.to_string(),
                    String::from_utf8_lossy(&old).into_owned(),
                    text.to_string(),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    changes.created.push((rel.to_string(), text.to_string()))
                }
                Err(e) if is_link_error(&e) => {
                    return Err(OutputError::UnsafePath(rel.to_string()));
                }
                Err(e) => return Err(OutputError::Io(self.dir.join(rel), e)),
            }
        }
        // What is left was labc's and is no longer generated. A file behind
        // a symbolic link can't be read, so it is left alone: deleting it
        // could reach outside.
        let left: BTreeSet<String> = unread.into_iter().chain(digests.into_keys()).collect();
        for rel in left {
            if let Ok(old) = snap.read_file(&rel) {
                changes
                    .deleted
                    .push((rel, String::from_utf8_lossy(&old).into_owned()));
            }
        }
        Ok(changes)
    }

    /// Files in the folder that labc does not write and never wrote: neither
    /// generated now nor listed in the previous manifest (`listed`). Build
    /// leaves them alone; `check` warns about them. Symbolic links are
    /// reported, never followed.
    pub fn stray(&self, listed: &BTreeSet<String>) -> Result<Vec<String>, OutputError> {
        let mut found = Vec::new();
        let mut pending = vec![(self.dir.clone(), String::new())];
        while let Some((dir, prefix)) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(OutputError::Io(dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(io_err(&dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = format!("{prefix}{name}");
                let kind = entry.file_type().map_err(io_err(&dir))?;
                if kind.is_dir() {
                    pending.push((entry.path(), format!("{rel}/")));
                } else if rel != MANIFEST
                    && !self.files.contains_key(&rel)
                    && !listed.contains(&rel)
                {
                    found.push(rel);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// Makes the folder hold exactly the files (plus files labc never wrote).
    pub fn apply(&self) -> Result<Changes, OutputError> {
        let changes = self.changes()?;
        self.apply_changes(changes)
    }

    /// Applies changes computed by [`Target::changes`] (nothing else may have
    /// written the folder in between).
    pub fn apply_changes(&self, changes: Changes) -> Result<Changes, OutputError> {
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
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
                Ok(()) => remove_empty_parents(&self.dir, &path),
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
}

/// Refuses if any of `paths` exists (a link included, followed or not):
/// `labc init` checks everything it would create before creating anything.
pub fn refuse_existing<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Result<(), OutputError> {
    for path in paths {
        match fs::symlink_metadata(path) {
            Ok(_) => return Err(OutputError::Exists(path.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(OutputError::Io(path.to_path_buf(), e)),
        }
    }
    Ok(())
}

/// Creates `path` with `text`, never replacing anything: the file must not
/// exist (`O_CREAT | O_EXCL`, which also refuses a link in its place), so
/// a file that appeared since [`refuse_existing`] is left alone.
pub fn create_new(path: &Path, text: &str) -> Result<(), OutputError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => OutputError::Exists(path.to_path_buf()),
            _ => OutputError::Io(path.to_path_buf(), e),
        })?;
    file.write_all(text.as_bytes()).map_err(io_err(path))
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

/// Lines added and removed between two texts, as `git diff --stat` counts.
pub fn line_counts(old: &str, new: &str) -> (usize, usize) {
    let diff = similar::TextDiff::from_lines(old, new);
    diff.iter_all_changes()
        .fold((0, 0), |(a, r), c| match c.tag() {
            similar::ChangeTag::Insert => (a + 1, r),
            similar::ChangeTag::Delete => (a, r + 1),
            similar::ChangeTag::Equal => (a, r),
        })
}
