//! One file per subcommand. Each returns the process exit code; shared
//! plumbing (finding the lab, compiling, printing) lives here.

pub mod build;
pub mod check;
pub mod diff;
pub mod schema;

use crate::cli::{Color, Global};
use crate::compile::{self, Compiled};
use crate::output::{Changes, OutputError, Snapshot, Target};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const OK: u8 = 0;
pub const DIFFERS: u8 = 1;
pub const INVALID: u8 = 2;
pub const IO: u8 = 3;

/// Where a command reads and writes, resolved once.
pub struct Paths {
    pub lab: PathBuf,
    pub out: PathBuf,
    pub schemas: PathBuf,
}

pub fn paths(global: &Global) -> Result<Paths, String> {
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
        schemas: dir.join("schemas"),
        lab,
    })
}

pub fn color(global: &Global) -> bool {
    match global.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// What build, check and diff work on: the compiled lab and what its two
/// folders (output, schemas) held before.
struct Prepared {
    paths: Paths,
    color: bool,
    compiled: Compiled,
    /// Snapshots of the output folder and of schemas/, in that order.
    snapshots: [Result<Snapshot, OutputError>; 2],
}

/// What build, check and diff all start with: find the paths, decide on
/// colour, compile, and read both folders. On failure the report is printed
/// and the exit code returned.
fn prepare(global: &Global) -> Result<Prepared, u8> {
    let paths = paths(global).map_err(|e| {
        eprintln!("error: {e}");
        INVALID
    })?;
    let color = color(global);
    let reader = Reader::start(&paths);
    let compiled = compile_or_report(&paths, color)?;
    Ok(Prepared {
        snapshots: reader.finish(),
        paths,
        color,
        compiled,
    })
}

/// What build, check and diff share once compiled: each folder (the output,
/// then schemas/) with what bringing it up to date would change.
pub struct Compared {
    pub lab: PathBuf,
    pub color: bool,
    pub folders: Vec<(Target, Changes)>,
}

/// Compiles the lab and compares both folders with what they must hold.
/// Both are compared before anything is written, so a refused folder
/// leaves the other untouched too. On failure the report is printed and
/// the exit code returned.
pub fn compare(global: &Global) -> Result<Compared, u8> {
    let Prepared {
        paths,
        color,
        compiled,
        snapshots,
    } = prepare(global)?;
    let mut folders = Vec::new();
    for (target, snapshot) in targets(&paths, compiled).into_iter().zip(snapshots) {
        match snapshot.and_then(|s| target.changes_from(s)) {
            Ok(changes) => folders.push((target, changes)),
            Err(e) => return Err(report_output_error(&e)),
        }
    }
    Ok(Compared {
        lab: paths.lab,
        color,
        folders,
    })
}

/// Below this many generated files, the folders are read after compiling,
/// on the main thread; from it on, on a second thread while Nickel
/// evaluates, which also compiles the schema check meanwhile. Measured on
/// 2 vCPUs (BENCHMARKS.md): a thread costs about 1.5 ms (its start, its
/// allocator arena, the shared core), and reading 2,800 files costs about
/// 20 ms, mostly in the kernel, which overlaps with the evaluation. 46 files
/// (the reference lab) are read in well under a millisecond, so there the
/// thread would only slow labc down.
const READ_ON_A_THREAD: usize = 250;

/// Reads the output folder and schemas/ while or after the lab compiles.
enum Reader {
    /// Both manifests read; their files are read one at a time when compared.
    Later(Box<[Result<Snapshot, OutputError>; 2]>),
    Thread(std::thread::JoinHandle<[Result<Snapshot, OutputError>; 2]>),
}

impl Reader {
    fn start(paths: &Paths) -> Reader {
        let read_both = |out: &Path, schemas: &Path| [Snapshot::read(out), Snapshot::read(schemas)];
        let snapshots = read_both(&paths.out, &paths.schemas);
        let listed: usize = snapshots
            .iter()
            .map(|s| s.as_ref().map_or(0, Snapshot::size_hint))
            .sum();
        if listed < READ_ON_A_THREAD {
            return Reader::Later(Box::new(snapshots));
        }
        let spawned = std::thread::Builder::new()
            .name("read-output".into())
            .spawn(move || {
                // Work the main thread would do after Nickel, done here:
                // this thread has time to spare.
                crate::schema::prepare();
                snapshots.map(|s| {
                    s.map(|mut s| {
                        s.digest_listed();
                        s
                    })
                })
            });
        match spawned {
            Ok(handle) => Reader::Thread(handle),
            // No thread to be had (the snapshots went with the closure):
            // read again, and the files one at a time when compared.
            Err(_) => Reader::Later(Box::new(read_both(&paths.out, &paths.schemas))),
        }
    }

    fn finish(self) -> [Result<Snapshot, OutputError>; 2] {
        match self {
            Reader::Later(m) => *m,
            Reader::Thread(handle) => match handle.join() {
                Ok(s) => s,
                Err(panic) => std::panic::resume_unwind(panic),
            },
        }
    }
}

/// Compiles the lab, printing the report and returning the exit code on failure.
pub fn compile_or_report(paths: &Paths, color: bool) -> Result<Compiled, u8> {
    compile::compile(&paths.lab, color).map_err(|f| {
        eprint!("{}", f.report);
        let n = match f.count {
            0 | 1 => "an error".to_string(),
            n => format!("{n} errors"),
        };
        eprintln!("labc: {} has {n}; nothing was written", paths.lab.display());
        INVALID
    })
}

/// The two folders labc keeps: the output and the schemas.
/// Takes the compiled files by value: they move into the target, uncopied.
pub fn targets(paths: &Paths, compiled: Compiled) -> [Target; 2] {
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

pub fn report_output_error(e: &OutputError) -> u8 {
    eprintln!("error: {e}");
    match e {
        OutputError::Io(..) => IO,
        _ => INVALID,
    }
}

/// The diff of all changes, as `git diff` would show it.
pub fn render_diff(dir: &Path, changes: &Changes, color: bool) -> String {
    let mut out = String::new();
    let prefix = |p: &str| format!("{}/{p}", dir.display().to_string().trim_end_matches('/'));
    for (p, new) in &changes.created {
        out.push_str(&paint(
            &crate::output::unified_diff(&prefix(p), "", new),
            color,
        ));
    }
    for (p, old, new) in &changes.modified {
        out.push_str(&paint(
            &crate::output::unified_diff(&prefix(p), old, new),
            color,
        ));
    }
    for (p, old) in &changes.deleted {
        out.push_str(&paint(
            &crate::output::unified_diff(&prefix(p), old, ""),
            color,
        ));
    }
    out
}

fn paint(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    diff.lines()
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                ""
            };
            if code.is_empty() {
                format!("{l}\n")
            } else {
                format!("\x1b[{code}m{l}\x1b[0m\n")
            }
        })
        .collect()
}
