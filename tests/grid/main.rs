//! Grid and warping tests against PROJ (pyproj) and GDAL's warper (the libgdal 3.10
//! bundled with rasterio): projected coordinates, and COGs Swath writes warped by
//! Swath and by GDAL onto the same grids, pixel for pixel.

#![expect(clippy::expect_used, reason = "helpers in test binaries fail loudly")]

mod projection;
mod warp;

use std::io::Write;
use std::process::{Command, Stdio};

/// Run `tests/scripts/grid_gdal.py <cmd>` with `input` as JSON on stdin and parse the
/// JSON it prints.
pub fn reference(cmd: &str, input: &serde_json::Value) -> serde_json::Value {
    let script = swath_tests::repo_root().join("tests/scripts/grid_gdal.py");
    let mut child = Command::new(swath_tests::python())
        .arg(&script)
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("grid_gdal.py starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("grid_gdal.py reads its input");
    let out = child.wait_with_output().expect("grid_gdal.py runs");
    assert!(
        out.status.success(),
        "grid_gdal.py {cmd} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("grid_gdal.py prints JSON")
}
