//! Command-line arguments and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Swath: SQL over satellite raster datacubes.
#[derive(Debug, Parser)]
#[command(name = "swath", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a GeoTIFF as gdalinfo / rio info do.
    Info(crate::info::InfoArgs),
    /// Build a small deterministic demo raster locally and describe it.
    Demo(crate::demo::DemoArgs),
}

/// Parse the process arguments, run the command, and map errors to exit status 1 with
/// one line on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("swath: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Info(args)) => crate::info::run(&args).await,
            Some(Command::Demo(args)) => crate::demo::run(&args).await,
            None => Err(
                "the interactive SQL shell is not available yet; run `swath --help` \
                         for the commands this build has"
                    .to_string(),
            ),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("swath: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
