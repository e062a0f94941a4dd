//! Command-line arguments and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Swath: SQL over satellite raster datacubes.
///
/// With no command, an interactive SQL shell; `-c SQL` and `-f FILE` run statements
/// and exit.
#[derive(Debug, Parser)]
#[command(name = "swath", version, about)]
pub struct Cli {
    /// Shell options.
    #[command(flatten)]
    pub shell: crate::shell::ShellArgs,
    /// What to do (default: the SQL shell).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a GeoTIFF as gdalinfo / rio info do.
    Info(crate::info::InfoArgs),
    /// Make a year of Sentinel-2-like scenes and run the five canonical workloads.
    Demo(crate::demo::DemoArgs),
    /// Write a PNG picture of a GeoTIFF / COG (grey or RGB, stretched).
    Quicklook(crate::quicklook::QuicklookArgs),
    /// Keep the COG headers of a catalogue's assets in a header index, so later
    /// queries open them with no request.
    Index(crate::index::IndexArgs),
    /// Run a cluster scheduler (Apache Ballista) with Swath's functions and tables.
    Scheduler(crate::cluster::SchedulerArgs),
    /// Run a cluster executor that registers with a scheduler.
    Executor(crate::cluster::ExecutorArgs),
    /// Write a synthetic Sentinel-2-like STAC catalogue to a directory or a bucket.
    Synth(crate::synth::SynthArgs),
    /// Serve Arrow Flight SQL (ADBC, JDBC, notebooks, BI tools) over the engine or
    /// a cluster.
    Serve(crate::serve::ServeArgs),
}

/// Parse the process arguments, run the command, and map errors to exit status 1 with
/// one line on stderr (130 when a query was cancelled with Ctrl-C).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    let workers = match cli.shell.threads.filter(|n| *n > 0) {
        Some(n) => {
            builder.worker_threads(n);
            n
        }
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // Tile decoding and file reads run on the blocking pool. Tokio's default allows
    // 512 threads, each keeping its own allocator pages for the tiles it decoded: two
    // per worker keep the cores busy and W2's peak RSS near 400 MB instead of 550
    // (BENCHMARKS.md).
    builder.max_blocking_threads(2 * workers);
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("swath: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Info(args)) => crate::info::run(&args).await,
            Some(Command::Demo(args)) => crate::demo::run(&args, &cli.shell).await,
            Some(Command::Quicklook(args)) => crate::quicklook::run(&args).await,
            Some(Command::Index(args)) => crate::index::run(&args).await,
            Some(Command::Scheduler(args)) => crate::cluster::scheduler(&args).await,
            Some(Command::Executor(args)) => crate::cluster::executor(&args).await,
            Some(Command::Synth(args)) => crate::synth::run(&args).await,
            Some(Command::Serve(args)) => crate::serve::run(&args).await,
            None => crate::shell::run(&cli.shell).await,
        }
    });
    // Queries may leave blocking reads behind on cancellation; do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {}", crate::shell::one_line(&message));
            if message.ends_with("query cancelled") {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
