//! Every file in `tests/fixtures/geotiff-malformed/` (inputs found by the `read_geotiff`
//! fuzz target in `fuzz/`, minimized, and hand-made hostile files) is read the way the
//! fuzz target reads it and must end in a typed error: never a panic.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use swath_geotiff::{BytesReader, Error, GeoTiff, Limits, Window};

/// How many `.tif` files the directory holds: an emptied or renamed directory fails.
const COMMITTED: usize = 7;

/// The fuzz target's limits (`fuzz/fuzz_targets/read_geotiff.rs`).
fn limits() -> Limits {
    Limits {
        max_window_bytes: 64 << 20,
        max_block_bytes: 16 << 20,
        ..Default::default()
    }
}

/// Open the file and read every level (the full window and a 3×3 window at the
/// bottom-right corner) and every level's mask, as the fuzz target does; return every
/// error met on the way.
async fn exercise(bytes: Bytes) -> Vec<Error> {
    let mut errors = Vec::new();
    let tiff =
        match GeoTiff::open_with_limits(Arc::new(BytesReader(bytes)), limits()).await {
            Ok(tiff) => tiff,
            Err(e) => return vec![e],
        };
    for level in 0..tiff.levels().len() {
        let (w, h) = {
            let lv = &tiff.levels()[level];
            (lv.width, lv.height)
        };
        let corner =
            Window::new(w.saturating_sub(3), h.saturating_sub(3), w.min(3), h.min(3));
        for window in [Window::new(0, 0, w, h), corner] {
            if let Err(e) = tiff.read_window(level, window).await {
                errors.push(e);
            }
            if let Err(e) = tiff.read_mask_window(level, window).await {
                errors.push(e);
            }
        }
    }
    errors
}

fn malformed_files() -> Vec<PathBuf> {
    let dir = swath_tests::repo_root().join("tests/fixtures/geotiff-malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/geotiff-malformed exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tif"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn fuzz_found_and_hostile_files_end_in_typed_errors() {
    let files = malformed_files();
    assert!(
        files.len() >= COMMITTED,
        "tests/fixtures/geotiff-malformed holds {} .tif files, expected at least {COMMITTED}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let bytes = Bytes::from(std::fs::read(path).expect("fixture is readable"));
        // A task of its own, so a panic is reported per file instead of ending the test.
        match tokio::spawn(exercise(bytes)).await {
            Ok(errors) if errors.is_empty() => {
                failures.push(format!("{name}: opened and read without an error"));
            }
            Ok(errors) => {
                let kinds: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {e}", e.kind()))
                    .collect();
                println!("{name}: {}", kinds.join("; "));
            }
            Err(join) if join.is_panic() => failures.push(format!("{name}: panicked")),
            Err(join) => failures.push(format!("{name}: task failed: {join}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
