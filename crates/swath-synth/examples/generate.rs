//! Generate a synthetic catalogue and report how long it took.
//!
//! ```text
//! cargo run --profile fast -p swath-synth --example generate -- demo /tmp/swath-demo
//! ```
//!
//! The first argument is a preset (`tiny`, `small`, `demo`), the second the
//! directory (regenerated from scratch, even if a stamp matches).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use swath_synth::{SynthSpec, generate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, dir) = match args.as_slice() {
        [preset, dir] => {
            let spec = match preset.as_str() {
                "tiny" => SynthSpec::tiny(),
                "small" => SynthSpec::small(),
                "demo" => SynthSpec::demo(),
                other => {
                    eprintln!("unknown preset {other:?}: use tiny, small or demo");
                    return ExitCode::FAILURE;
                }
            };
            (spec, PathBuf::from(dir))
        }
        _ => {
            eprintln!("usage: generate <tiny|small|demo> DIR");
            return ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    match generate(&dir, &spec) {
        Ok(catalog) => {
            let elapsed = start.elapsed();
            let bytes: u64 = catalog
                .items
                .iter()
                .flat_map(|i| swath_synth::DATA_ASSETS.iter().map(move |a| (i, *a)))
                .filter_map(|(i, a)| std::fs::metadata(catalog.asset_path(i, a)).ok())
                .map(|m| m.len())
                .sum();
            println!(
                "{} items ({} granules × {} dates, {}×{} px) in {:.2} s, {:.1} MB of COGs, in {}",
                catalog.items.len(),
                catalog.items.len() / spec.dates as usize,
                spec.dates,
                spec.size,
                spec.size,
                elapsed.as_secs_f64(),
                bytes as f64 / 1e6,
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
