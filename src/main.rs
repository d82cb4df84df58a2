//! The `labc` binary: everything happens in [`labc::run`].

// Nickel's evaluation and labc's emitters allocate and free many small
// values; mimalloc does that in a fraction of glibc's instructions.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, by its place in mimalloc v3's `mimalloc.h`
/// (the bindings do not name it; `tests::options_are_mimallocs` checks it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Return freed pages to the system at once rather than after a second:
    // a labc run is shorter than that, and memory one thread frees (Nickel's
    // values, the reader's files) is otherwise still counted while the next
    // phase allocates anew (peak at 1,000 apps: 44 MiB -> 33 MiB).
    // SAFETY: sets one integer option; mimalloc reads it at each purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    labc::run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mi_option_arena_eager_commit` in `mimalloc.h`.
    const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

    /// The option numbers are mimalloc's: the purge delay defaults to
    /// 1000 ms, and arena eager commit is 0 as `.cargo/config.toml`
    /// compiles it.
    #[test]
    fn options_are_mimallocs() {
        // SAFETY: reads integer options.
        let (delay, eager) = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
                libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT),
            )
        };
        assert_eq!((delay, eager), (1000, 0));
    }
}
