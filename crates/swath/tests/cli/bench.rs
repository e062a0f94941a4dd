//! benches/compare at its smallest size: every workload runs with Swath and with the
//! Python stack (odc-stac, xarray, dask, odc-algo) on a GDAL-written catalogue, and the
//! results agree. Times are not checked here (benches/compare/run.py reports them).

use std::path::Path;
use std::process::Command;

use crate::shell::BIN;

/// The test virtualenv's python (scripts/py-env makes or updates it).
pub(crate) fn python(repo: &Path) -> String {
    let o = Command::new("bash")
        .arg(repo.join("scripts/py-env"))
        .output()
        .expect("scripts/py-env");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .expect("a python path")
        .to_string()
}

#[test]
fn the_workloads_agree_with_the_python_stack() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("dir");
    let json = dir.path().join("results.json");
    let o = Command::new(python(&repo))
        .arg(repo.join("benches/compare/run.py"))
        .args([
            "--size", "512", "--scenes", "6", "--runs", "1", "--swath", BIN,
        ])
        .arg("--catalogs")
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run.py");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("results"))
            .expect("json");
    let rows = results["results"].as_array().expect("rows");
    assert_eq!(rows.len(), 5, "{out}");
    for row in rows {
        let w = row["workload"].as_str().expect("workload");
        let max = row["max_abs_diff"].as_f64().expect("max");
        let p99 = row["p99_abs_diff"].as_f64().expect("p99");
        let compared = row["compared"].as_u64().expect("compared");
        let one_side = row["one_side_only"].as_u64().expect("one side");
        assert!(compared > 0, "{w}: nothing compared\n{out}");
        match w {
            // NDVI series, median composite, observation counts: the same numbers.
            "w1" | "w2" | "w5" => {
                assert!(max <= 1e-6 && one_side == 0, "{w}: {row}");
            }
            // Mean and std: equal where both have a value. A pixel with a single clear
            // observation has std 0 in Swath (numpy's nanstd) and NaN in xarray.
            "w3" => assert!(max <= 1e-6 && one_side * 20 < compared, "{w}: {row}"),
            // Geomedian: to 1e-3 where it is unique. With two observations (or
            // collinear ones) every point between them is a geometric median, and the
            // two implementations pick different ones, so the maximum is not bounded.
            "w4" => assert!(p99 <= 1e-3 && one_side * 20 < compared, "{w}: {row}"),
            other => panic!("unexpected workload {other}"),
        }
    }
}
