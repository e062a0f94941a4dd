//! The `swath` binary's library: command-line parsing and the subcommands.
//!
//! Each subcommand lives in its own module and is a plain async function over parsed
//! arguments, so tests call it without spawning a process.
//!
//! # How to add a new subcommand
//!
//! Add a variant to `cli::Command`, a module with a `run(args) -> Result<(), String>`
//! function, and dispatch it in `cli::main`; errors are one line for the user.
#![warn(missing_docs)]

pub mod cli;
pub mod cluster;
pub mod dashboard;
pub mod demo;
pub mod index;
pub mod info;
pub mod quicklook;
pub mod serve;
pub mod shell;
pub mod store;
pub mod synth;
