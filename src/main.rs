//! logship: a per-node log shipping agent. See README.md and ../shared/SPEC.md.
//!
//! Also owns the choice of memory allocator. Records are made on an input's thread and freed on
//! the runtime's threads. With glibc's malloc that pattern either costs memory (an arena per
//! thread, each holding chunks the others freed: 7 MiB more peak RSS) or, with one arena, a
//! lock every thread fights for (12% of the CPU of the syslog input, `perf`). jemalloc with one
//! arena frees across threads through per-thread caches flushed in batches: measured 31% less
//! CPU per syslog message (2.44 -> 1.68 us) and 9% less per Docker line (0.85 -> 0.77 us) than
//! glibc with one arena, for 1-4 MiB more peak RSS (README, Performance). `_RJEM_MALLOC_CONF` in
//! the environment overrides the options below (jemalloc reads it after them), for example
//! `_RJEM_MALLOC_CONF=narenas:2`.

#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: one arena (the threads share the freed memory), dirty pages returned to
/// the kernel over about a second, no lazily-freed ("muzzy") stage. (100 ms was measured on
/// 2026-12-06: no less peak in the bench, 8% more CPU on the gzip bulk output.)
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static JEMALLOC_OPTIONS: &[u8; 47] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() {
    std::process::exit(logship::cli::main());
}
