//! The memory the aggregates hold is reserved in DataFusion's pool: a median over a
//! group larger than the memory limit fails with "Resources exhausted", while a mean
//! (fixed memory per pixel) over the same rows fits.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{FixedSizeListArray, RecordBatch, UInt16Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use swath_engine::EngineConfig;

use crate::sql;

fn stack(tiles: usize, side: usize) -> MemTable {
    let len = side * side;
    let meta = HashMap::from([
        (
            "ARROW:extension:name".to_string(),
            "arrow.fixed_shape_tensor".to_string(),
        ),
        (
            "ARROW:extension:metadata".to_string(),
            format!(r#"{{"shape":[{side},{side}]}}"#),
        ),
        ("swath:nodata".to_string(), "0".to_string()),
    ]);
    let item = Arc::new(Field::new("item", DataType::UInt16, true));
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "red",
            DataType::FixedSizeList(Arc::clone(&item), len as i32),
            false,
        )
        .with_metadata(meta),
    ]));
    let batches = (0..tiles)
        .map(|t| {
            let v: Vec<u16> = (0..len)
                .map(|p| ((p * 31 + t * 17) % 5000) as u16)
                .collect();
            let col = FixedSizeListArray::new(
                Arc::clone(&item),
                len as i32,
                Arc::new(UInt16Array::from(v)),
                None,
            );
            RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(col)]).expect("batch")
        })
        .collect();
    MemTable::try_new(schema, vec![batches]).expect("memtable")
}

#[tokio::test]
async fn a_median_over_the_memory_limit_fails_and_a_mean_fits() {
    // 40 tiles of 128×128: the median holds 40 × 16384 × 4 B = 2.5 MiB; the mean 24 B
    // per pixel = 384 KiB.
    let ctx = swath_engine::context(&EngineConfig {
        target_partitions: Some(1),
        memory_limit: Some(1024 * 1024),
        ..EngineConfig::default()
    })
    .await
    .expect("context");
    ctx.register_table("obs", Arc::new(stack(40, 128)))
        .expect("register");
    let err = ctx
        .sql("SELECT rs_median(red) FROM obs")
        .await
        .expect("plans")
        .collect()
        .await
        .expect_err("over the limit");
    let msg = err.to_string();
    assert!(msg.contains("Resources exhausted"), "{msg}");
    assert!(msg.contains("AggregateStream"), "{msg}");
    let b = sql(&ctx, "SELECT rs_tile_count(rs_mean(red)) AS n FROM obs").await;
    let n = b[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .expect("i64");
    assert_eq!(n.value(0), 128 * 128, "every pixel has a mean");
}
