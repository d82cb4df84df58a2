//! One file per subcommand, each returning an [`Exit`]; the plumbing they
//! share (finding the lab, compiling, comparing the folders) lives here,
//! what they print in `render.rs`, the reader thread in `reader.rs`.
//!
//! Invariants: the only module that prints or decides an exit code; it
//! writes files only through [`crate::output`].

pub mod build;
pub mod check;
pub mod diff;
mod reader;
pub mod render;
pub mod schema;

use crate::cli::Global;
use crate::compile::{self, Compiled};
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
    /// The lab file (`--lab`, else `lab.ncl`, else `lab.toml` here), the
    /// output folder (`--out`, else `generated/` beside the lab) and the
    /// schemas folder beside the lab.
    pub fn resolve(global: &Global) -> Result<Paths, String> {
        let lab = match &global.lab {
            Some(p) => p.clone(),
            None => ["lab.ncl", "lab.toml"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
                .ok_or("no lab.ncl or lab.toml in the current folder; pass --lab PATH")?,
        };
        let dir = lab.parent().unwrap_or(Path::new("")).to_path_buf();
        Ok(Paths {
            out: global.out.clone().unwrap_or_else(|| dir.join("generated")),
            schemas: schemas_dir(global),
            lab,
        })
    }
}

/// The schemas folder: beside the lab file, or `./schemas` without `--lab`.
pub fn schemas_dir(global: &Global) -> PathBuf {
    match &global.lab {
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
        eprintln!("error: {e}");
        Exit::Invalid
    })?;
    let color = render::color(global);
    let reader = Reader::start(&paths);
    let compiled = compile::compile(&paths.lab).map_err(|f| {
        render::failure(&paths.lab, &f, color);
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
            Err(e) => return Err(output_error(&e)),
        }
    }
    Ok(Compared {
        lab: paths.lab,
        color,
        folders,
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
pub fn output_error(e: &OutputError) -> Exit {
    eprintln!("error: {e}");
    match e {
        OutputError::Io(..) => Exit::Io,
        _ => Exit::Invalid,
    }
}
