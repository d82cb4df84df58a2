//! One file per subcommand, each returning an [`Exit`]; the plumbing they
//! share (finding the lab, compiling, comparing the folders) lives here,
//! what they print in `render.rs`, the reader thread in `reader.rs`.
//!
//! Invariants: the only module that prints or decides an exit code; it
//! writes files only through [`crate::output`].

pub mod build;
pub mod check;
pub mod completions;
pub mod diff;
mod git;
pub mod init;
mod reader;
pub mod render;
pub mod report;
pub mod schema;

use crate::cli::Global;
use crate::compile::{self, Compiled};
use crate::diag::{Code, Severity};
use crate::output::{Changes, OutputError, Target};
use reader::Reader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How a command ends, as documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done; for `check`, everything is current.
    Ok,
    /// `check` found generated files that differ from what build would write.
    Differs,
    /// The lab is invalid, or the output folder is not labc's to write.
    Invalid,
    /// A file could not be read or written.
    Io,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::Differs => 1,
            Exit::Invalid => 2,
            Exit::Io => 3,
        })
    }
}

/// Where a command reads and writes, resolved once.
pub struct Paths {
    pub lab: PathBuf,
    pub out: PathBuf,
    pub schemas: PathBuf,
}

impl Paths {
    /// The lab file (`--lab`, else [`find_lab`] from the current folder),
    /// the output folder (`--out`, else `generated/` beside the lab) and the
    /// schemas folder beside the lab. Paths the user typed stay relative to
    /// where they typed them.
    pub fn resolve(global: &Global) -> Result<Paths, String> {
        let lab = match &global.lab {
            Some(p) => p.clone(),
            None => find_lab(Path::new("."))?,
        };
        let dir = lab.parent().unwrap_or(Path::new("")).to_path_buf();
        Ok(Paths {
            out: global.out.clone().unwrap_or_else(|| dir.join("generated")),
            schemas: dir.join("schemas"),
            lab,
        })
    }
}

/// Looks for `lab.ncl` or `lab.toml` in `start` and its parents, as git
/// looks for `.git`: it stops at the first folder holding a lab, or at the
/// repository root (a folder with `.git`). Both files in one folder is an
/// error: which one is the lab would be a guess.
pub fn find_lab(start: &Path) -> Result<PathBuf, String> {
    let mut dir = start.to_path_buf();
    loop {
        let found: Vec<PathBuf> = ["lab.ncl", "lab.toml"]
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [one] => return Ok(tidy(one)),
            [ncl, toml] => {
                return Err(format!(
                    "both {} and {} are here; pass --lab with the one to use",
                    tidy(ncl).display(),
                    tidy(toml).display()
                ));
            }
            _ => {}
        }
        let parent = dir.join("..");
        let at_root = dir.join(".git").exists()
            || std::fs::canonicalize(&dir).ok() == std::fs::canonicalize(&parent).ok();
        if at_root {
            return Err(
                "no lab.ncl or lab.toml in this folder or its parents (up to the repository root); pass --lab PATH".into(),
            );
        }
        dir = parent;
    }
}

/// `./lab.ncl` → `lab.ncl`, `./../lab.ncl` → `../lab.ncl`: the shortest
/// way to name a found file relative to where the user is.
fn tidy(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The schemas folder `labc schema` writes: `--out`, else beside the lab
/// (found as build finds it), else `./schemas`.
pub fn schemas_dir(global: &Global) -> PathBuf {
    if let Some(out) = &global.out {
        return out.clone();
    }
    let lab = global.lab.clone().or_else(|| find_lab(Path::new(".")).ok());
    match lab {
        Some(lab) => lab.parent().unwrap_or(Path::new("")).join("schemas"),
        None => PathBuf::from("schemas"),
    }
}

/// What build, check and diff share once compiled: each folder (the output,
/// then schemas/) with what bringing it up to date would change.
pub struct Compared {
    pub lab: PathBuf,
    pub color: bool,
    pub folders: Vec<(Target, Changes)>,
}

/// Compiles the lab (while the reader thread takes the folders' snapshots)
/// and compares both folders with what they must hold. Both are compared
/// before anything is written, so a refused folder leaves the other
/// untouched too. On failure the report is printed and the exit returned.
pub fn compare(global: &Global) -> Result<Compared, Exit> {
    let paths = Paths::resolve(global).map_err(|e| {
        render::problem(global, Severity::Error, Code::NoLab, &e, None, &[]);
        Exit::Invalid
    })?;
    let color = render::color(global);
    let reader = Reader::start(&paths);
    let compiled = compile_on_big_stack(&paths.lab).map_err(|f| {
        render::failure(global, &paths.lab, &f, color);
        match f {
            compile::Failed::Io(_) => Exit::Io,
            compile::Failed::Invalid(_) => Exit::Invalid,
        }
    })?;
    let snapshots = reader.finish();
    let mut folders = Vec::new();
    for (target, snapshot) in targets(&paths, compiled).into_iter().zip(snapshots) {
        match snapshot.and_then(|s| target.changes_from(s)) {
            Ok(changes) => folders.push((target, changes)),
            Err(e) => return Err(output_error(global, &e)),
        }
    }
    Ok(Compared {
        lab: paths.lab,
        color,
        folders,
    })
}

/// Stack of the thread that compiles: Nickel's passes recurse once per
/// level of a lab's syntax, which `load` bounds; this is the room that bound
/// was measured against (a debug build needs ~9 MiB at the bound; the main
/// thread has 8 MiB). Reserved, not used: pages are touched only as needed.
const COMPILE_STACK: usize = 64 << 20;

/// [`compile::compile`], on a thread with [`COMPILE_STACK`] (or on this
/// one if no thread can be had, as before).
fn compile_on_big_stack(lab: &Path) -> Result<Compiled, compile::Failed> {
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("compile".into())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(scope, || compile::compile(lab))
        {
            Ok(handle) => match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => compile::compile(lab),
        }
    })
}

/// The two folders labc keeps: the output and the schemas.
/// Takes the compiled files by value: they move into the target, uncopied.
fn targets(paths: &Paths, compiled: Compiled) -> [Target; 2] {
    let src = &compiled.lab.source;
    [
        Target {
            dir: paths.out.clone(),
            files: compiled.files,
            manifest_header: format!(
                "# Files labc generated from {src}. labc deletes only files listed here.\n# Do not edit: run `labc build`.\n"
            ),
        },
        schema_target(&paths.schemas),
    ]
}

/// The schemas folder: `labc schema` writes it, build and check keep it current.
pub fn schema_target(dir: &Path) -> Target {
    Target {
        dir: dir.to_path_buf(),
        files: crate::schema::files(),
        manifest_header: "# Files `labc schema` generated from labc's Rust types.\n# Do not edit: run `labc schema`.\n".to_string(),
    }
}

/// Prints a refused or failed write and says how the command ends.
pub fn output_error(global: &Global, e: &OutputError) -> Exit {
    let (code, file, exit) = match e {
        OutputError::Io(path, _) => (Code::Io, Some(path.as_path()), Exit::Io),
        OutputError::Foreign(dir) => (Code::OutputRefused, Some(dir.as_path()), Exit::Invalid),
        OutputError::UnsafePath(_) => (Code::OutputRefused, None, Exit::Invalid),
        OutputError::Exists(path) => (Code::OutputRefused, Some(path.as_path()), Exit::Invalid),
    };
    render::problem(global, Severity::Error, code, &e.to_string(), file, &[]);
    exit
}
