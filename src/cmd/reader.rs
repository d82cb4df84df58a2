//! The reader: reads the output folder and schemas/ while (or after) the lab
//! compiles. The only place labc starts a thread; the thread only reads.

use super::Paths;
use crate::output::{OutputError, Snapshot};
use std::path::Path;

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
pub(super) enum Reader {
    /// Both manifests read; their files are read one at a time when compared.
    Later(Box<[Result<Snapshot, OutputError>; 2]>),
    Thread(std::thread::JoinHandle<[Result<Snapshot, OutputError>; 2]>),
}

impl Reader {
    pub(super) fn start(paths: &Paths) -> Reader {
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

    pub(super) fn finish(self) -> [Result<Snapshot, OutputError>; 2] {
        match self {
            Reader::Later(m) => *m,
            Reader::Thread(handle) => match handle.join() {
                Ok(s) => s,
                Err(panic) => std::panic::resume_unwind(panic),
            },
        }
    }
}
