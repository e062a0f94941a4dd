//! GDAL's view of a generated catalogue: `tests/scripts/synth_check.py` reads every
//! COG with rasterio, validates it with rio-cogeo, compares georeferencing with the
//! items, footprints with pyproj, recomputes cloud cover from the SCL, and compares
//! overlapping granules.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use swath_synth::{SynthSpec, generate};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's Python (numpy, rasterio with GDAL, rio-cogeo, pyproj).
fn python() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/py-env"))
        .output()
        .expect("scripts/py-env runs");
    assert!(
        out.status.success(),
        "scripts/py-env failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(stdout.lines().last().expect("a python path").trim())
}

fn check(dir: &Path) -> Value {
    let out = Command::new(python())
        .arg(repo_root().join("tests/scripts/synth_check.py"))
        .arg(dir)
        .output()
        .expect("synth_check.py runs");
    assert!(
        out.status.success(),
        "synth_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("synth_check.py prints JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

#[test]
fn gdal_reads_valid_cogs_that_match_the_items() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = generate(dir.path(), &SynthSpec::tiny()).expect("generates");
    let report = check(dir.path());
    eprintln!("{report:#}");

    assert_eq!(report["items"], 12);
    assert_eq!(report["assets"], 60);
    assert_eq!(report["problems"], Value::Array(vec![]));
    assert!(f(&report["max_footprint_error_deg"]) < 1e-6);
    assert!(f(&report["max_bbox_error_deg"]) < 1e-6);
    // eo:cloud_cover is rounded to 4 decimals.
    assert!(f(&report["max_cloud_cover_error"]) <= 5.1e-5);
    for item in &catalog.items {
        let recomputed = f(&report["cloud_cover"][&item.id]);
        assert!(
            (recomputed - item.cloud_cover).abs() <= 5.1e-5,
            "{}",
            item.id
        );
    }

    // A and B: one overlap per date, same datetime, identical pixels (W/2 × 3W/4).
    let same = report["same_zone_overlaps"].as_array().expect("pairs");
    assert_eq!(same.len(), 4);
    for pair in same {
        assert_eq!(pair["same_datetime"], true, "{pair}");
        assert_eq!(pair["pixels"], 32 * 48, "{pair}");
        assert_eq!(pair["identical"], true, "{pair}");
    }

    // C against A (no overlap) and B (overlap across the zone boundary): where
    // both are clear, C warped onto B's grid shows the same landscape.
    let cross = report["cross_zone_overlaps"].as_array().expect("pairs");
    assert_eq!(cross.len(), 8);
    let mut compared = 0;
    for pair in cross {
        let a = pair["a"].as_str().expect("id");
        let n = pair["clear_pixels"].as_u64().expect("count");
        if a.contains("_33TYK_") {
            assert_eq!(n, 0, "{pair}");
        } else if n > 300 {
            compared += 1;
            assert!(f(&pair["ndvi_corr"]) > 0.9, "{pair}");
            assert!(f(&pair["scl_agreement"]) > 0.9, "{pair}");
        }
    }
    assert!(compared >= 1, "no clear date to compare B and C on");
}
