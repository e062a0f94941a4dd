//! The rs_* kernels through SQL against numpy (tests/scripts/functions_expected.py):
//! per-pixel median, mean, std, percentiles, min, max, count, the geomedian and its
//! MADs, NDVI and per-tile statistics, on a seeded stack of Sentinel-2-like uint16
//! tiles with nodata everywhere it can hide. Also: multi-partition plans (partial
//! states merged), the memory pool, and Ballista.

#![expect(clippy::expect_used, reason = "helpers in test binaries fail loudly")]

mod examples;
mod memory;
mod parity;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Int32Array, RecordBatch, UInt16Array,
};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, SchemaRef, UInt32Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde_json::Value;
use swath_engine::EngineConfig;

/// The reference file: inputs and numpy's results.
pub struct Reference {
    /// Tile side.
    pub side: usize,
    /// Tiles in the stack.
    pub tiles: usize,
    /// The JSON.
    pub json: Value,
}

impl Reference {
    /// Run the script.
    pub fn compute(seed: u64, tiles: usize, side: usize) -> Reference {
        let out = Command::new(swath_tests::python())
            .arg(swath_tests::repo_root().join("tests/scripts/functions_expected.py"))
            .args([seed.to_string(), tiles.to_string(), side.to_string()])
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("json");
        Reference { side, tiles, json }
    }

    /// A reference array (null = NaN).
    pub fn values(&self, path: &[&str]) -> Vec<f64> {
        let mut v = &self.json;
        for p in path {
            v = &v[p];
        }
        v.as_array()
            .unwrap_or_else(|| panic!("{path:?} in reference"))
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect()
    }

    /// The stack as a table: `i` (observation) and one uint16 tile per band, with
    /// Sentinel-2 L2A metadata (nodata 0, scale 1e-4, offset −0.1), in `partitions`.
    pub fn table(&self, partitions: usize) -> MemTable {
        let len = self.side * self.side;
        let bands = ["blue", "green", "red", "nir"];
        let meta = HashMap::from([
            (
                "ARROW:extension:name".to_string(),
                "arrow.fixed_shape_tensor".to_string(),
            ),
            (
                "ARROW:extension:metadata".to_string(),
                format!(r#"{{"shape":[{},{}]}}"#, self.side, self.side),
            ),
            ("swath:nodata".to_string(), "0".to_string()),
            ("swath:scale".to_string(), "0.0001".to_string()),
            ("swath:offset".to_string(), "-0.1".to_string()),
        ]);
        let item = Arc::new(Field::new("item", DataType::UInt16, true));
        let mut fields = vec![Field::new("i", DataType::Int32, false)];
        for b in bands {
            fields.push(
                Field::new(
                    b,
                    DataType::FixedSizeList(Arc::clone(&item), len as i32),
                    false,
                )
                .with_metadata(meta.clone()),
            );
        }
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let per = self.tiles.div_ceil(partitions);
        let mut parts = Vec::new();
        for p in 0..partitions {
            let (t0, t1) = (p * per, ((p + 1) * per).min(self.tiles));
            if t0 >= t1 {
                continue;
            }
            let mut cols: Vec<ArrayRef> =
                vec![Arc::new(Int32Array::from_iter_values(t0 as i32..t1 as i32))];
            for b in bands {
                let dn: Vec<u16> = self.values(&["dn", b])[t0 * len..t1 * len]
                    .iter()
                    .map(|v| *v as u16)
                    .collect();
                cols.push(Arc::new(FixedSizeListArray::new(
                    Arc::clone(&item),
                    len as i32,
                    Arc::new(UInt16Array::from(dn)),
                    None,
                )));
            }
            parts.push(vec![
                RecordBatch::try_new(Arc::clone(&schema), cols).expect("batch"),
            ]);
        }
        MemTable::try_new(schema, parts).expect("memtable")
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

/// The pixels of tile column `col` of the rows of `batches`, as f64 (NaN missing).
pub fn tile_values(batches: &[RecordBatch], col: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for b in batches {
        let c = b
            .column_by_name(col)
            .unwrap_or_else(|| panic!("column {col}"));
        out.extend(tile_column(c));
    }
    out
}

/// The pixels of a tile column as f64.
pub fn tile_column(c: &ArrayRef) -> Vec<f64> {
    let list = c.as_fixed_size_list();
    let values = list.values();
    if let Some(f) = values.as_primitive_opt::<Float32Type>() {
        f.iter().map(|v| v.map_or(f64::NAN, f64::from)).collect()
    } else if let Some(u) = values.as_primitive_opt::<UInt32Type>() {
        u.iter().map(|v| v.map_or(f64::NAN, f64::from)).collect()
    } else {
        panic!("unexpected tile type {}", values.data_type())
    }
}

/// Assert `got` matches `want` to 1e-4 relative (denominator at least `floor`), NaN
/// exactly where `want` is NaN.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], floor: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() {
            assert!(g.is_nan(), "{what}[{i}]: {g}, numpy has no value");
            continue;
        }
        let tol = 1e-4 * w.abs().max(floor);
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} vs numpy {w}");
    }
}
