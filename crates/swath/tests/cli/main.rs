//! The `swath` binary as a user runs it: exit status and what it prints (`info`
//! here; the shell and the demo in `shell`).

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

use std::path::Path;
use std::process::Command;

mod bench;
mod shell;

fn swath() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swath"))
}

/// Run `swath` with `args` and require success; returns stdout.
fn run_ok<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = swath().args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/geotiff")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn info_prints_text_and_json() {
    let out = swath()
        .args(["info", &fixture("cog_u16_deflate_p2.tif")])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Size: 150 x 110, 1 band(s) of uint16"),
        "{text}"
    );
    assert!(text.contains("CRS: EPSG:32633"), "{text}");
    assert!(text.contains("Overviews: 75x55, 37x27, 18x13"), "{text}");

    let out = swath()
        .args([
            "info",
            "--json",
            "--stats",
            &fixture("cog_u16_deflate_p2.tif"),
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["crs"], "EPSG:32633");
    assert_eq!(json["overviews"], serde_json::json!([2, 4, 8]));
    assert!(
        json["stats"][0]["valid_count"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
}

#[test]
fn info_reads_file_urls() {
    let path =
        std::fs::canonicalize(fixture("u16_deflate_p2_tiled.tif")).expect("fixture");
    let url = format!("file://{}", path.display());
    let stdout = run_ok(["info", "--json", &url]);
    let json: serde_json::Value = serde_json::from_slice(&stdout).expect("valid JSON");
    assert_eq!(json["width"], 50);
    assert_eq!(json["dtype"], "uint16");
}

#[test]
fn unreadable_files_exit_1_with_one_line() {
    for bad in ["/no/such/file.tif", env!("CARGO_MANIFEST_DIR")] {
        let out = swath().args(["info", bad]).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("Error: "), "{err}");
        assert!(out.stdout.is_empty());
    }
    let not_tiff = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = swath()
        .args(["info", &not_tiff.to_string_lossy()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a TIFF file"));
}
