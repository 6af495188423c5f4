//! The `hearth` binary: parse the command line and run it. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the C library's allocator: ingest and search allocate and free many small
/// buffers on many threads, where glibc's malloc spent about an eighth of the CPU (`perf`). Built
/// without transparent huge pages (`no_thp`): with them every thread's first allocation made a 2 MiB
/// page resident, and the idle server held 27 MB instead of 10 (the target is under 25). It serves
/// SQLite's C allocations too (`override`): glibc kept most of what a large commit's page cache
/// (`cache_spill`, hearth-store's `connect`) had used and freed, ~100 MB after a batched load; mimalloc
/// gives it back (BENCHMARKS.md, ingest, session 11).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = hearth_server::cli::Cli::parse();
    match hearth_server::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "hearth stopped with an error");
            let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("hearth: {e:#}\n"));
            ExitCode::FAILURE
        }
    }
}
