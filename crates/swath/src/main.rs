//! The `swath` command: parses arguments and hands over to the library.

use std::process::ExitCode;

/// mimalloc: batch buffers of many megabytes are reused instead of being mapped and
/// unmapped (with a page fault per page) on every batch, as glibc's malloc does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    swath::cli::main()
}
