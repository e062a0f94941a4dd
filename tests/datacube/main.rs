//! Datacube tables end to end: `CREATE EXTERNAL TABLE … STORED AS STAC | GEOTIFF` over
//! a synthetic Sentinel-2-like catalogue the tests write (swath-synth: COGs in two UTM
//! zones, overlapping granules on one day, clouds in SCL), checked against GDAL's
//! warp of the same files (tests/scripts/datacube_expected.py) and against each other
//! (chunk view, pixel view, embedded and Ballista).

#![expect(clippy::expect_used, reason = "helpers in test binaries fail loudly")]

mod bad_input;
mod ballista;
mod cog;
mod http;
mod memory;
mod parity;
mod png;
mod pushdown;
mod s3;
mod slt;
mod stac_api;
mod table;
mod zarr;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use swath_engine::{CubeDef, CubeTable, EngineConfig};
use swath_synth::SynthSpec;
use tempfile::TempDir;

/// A generated catalogue in a temporary directory.
pub struct Catalog {
    /// Keeps the directory alive.
    pub dir: TempDir,
    /// The collection.json.
    pub collection: PathBuf,
}

/// Generate the tiny synthetic catalogue.
pub fn tiny() -> Catalog {
    generate(&SynthSpec::tiny())
}

/// Generate a catalogue for `spec`.
pub fn generate(spec: &SynthSpec) -> Catalog {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = swath_synth::generate(dir.path(), spec).expect("synthetic catalogue");
    Catalog {
        collection: cat.collection,
        dir,
    }
}

/// An embedded context with `partitions` target partitions.
pub async fn context(partitions: usize) -> SessionContext {
    swath_engine::context(&EngineConfig {
        target_partitions: Some(partitions),
        ..EngineConfig::default()
    })
    .await
    .expect("context")
}

/// Run SQL and collect the batches.
pub async fn sql(ctx: &SessionContext, q: &str) -> Vec<RecordBatch> {
    ctx.sql(q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// Run SQL expected to fail and return the error text.
pub async fn sql_err(ctx: &SessionContext, q: &str) -> String {
    match ctx.sql(q).await {
        Err(e) => e.to_string(),
        Ok(df) => match df.collect().await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{q}: succeeded, an error was expected"),
        },
    }
}

/// `CREATE EXTERNAL TABLE name STORED AS STAC LOCATION 'loc' OPTIONS (opts)`.
pub async fn create(ctx: &SessionContext, name: &str, location: &Path, opts: &str) {
    let options = if opts.is_empty() {
        String::new()
    } else {
        format!(" OPTIONS ({opts})")
    };
    let q = format!(
        "CREATE EXTERNAL TABLE {name} STORED AS STAC LOCATION '{}'{options}",
        location.display()
    );
    sql(ctx, &q).await;
}

/// The resolved definition of a table.
pub async fn def(ctx: &SessionContext, name: &str) -> Arc<CubeDef> {
    let provider = ctx.table_provider(name).await.expect("table exists");
    Arc::clone(
        CubeTable::from_provider(provider.as_ref())
            .expect("a datacube table")
            .def(),
    )
}

/// Expected values from GDAL + numpy for a table (see datacube_expected.py).
pub fn expected(
    collection: &Path,
    def: &CubeDef,
    mask_classes: &[u8],
    window: Option<[i64; 4]>,
) -> serde_json::Value {
    let bands: Vec<&str> = def.bands.iter().map(|b| b.requested.as_str()).collect();
    let nodata: serde_json::Map<String, serde_json::Value> = def
        .bands
        .iter()
        .map(|b| (b.requested.clone(), serde_json::json!(b.nodata)))
        .collect();
    let spec = serde_json::json!({
        "catalog": collection,
        "bands": bands,
        "grid": def.grid,
        "resampling": def.options.resampling.to_string(),
        "group_by": match def.options.group_by {
            swath_engine::options::GroupBy::SolarDay => "solar_day",
            swath_engine::options::GroupBy::None => "none",
        },
        "nodata": nodata,
        "mask_band": "scl",
        "mask_classes": mask_classes,
        "window": window,
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).expect("write spec");
    let out = Command::new(swath_tests::python())
        .arg(swath_tests::repo_root().join("tests/scripts/datacube_expected.py"))
        .arg(&path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "datacube_expected.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("expected JSON")
}
