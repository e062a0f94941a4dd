//! The table itself: grid choice, schema, rows, partitions and ordering.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int32Type, TimestampMicrosecondType};
use datafusion::physical_plan::{ExecutionPlan, collect_partitioned};
use swath_engine::cube::CubeScanExec;

use crate::{context, create, def, sql, tiny};

#[tokio::test]
async fn grid_is_the_most_common_crs_at_native_resolution_aligned_to_tiles() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let d = def(&ctx, "s2").await;
    let spec = swath_synth::SynthSpec::tiny();
    // Two granules in zone 33, one in zone 34: the table is on zone 33, at the 10 m
    // of red/nir (scl is 20 m), chunked like the COGs' internal tiles.
    assert_eq!(d.grid.crs, "EPSG:32633");
    assert_eq!(d.grid.resolution(), (10.0, 10.0));
    assert_eq!(d.grid.chunk_width, spec.block_size);
    assert_eq!(d.grid.chunk_height, spec.block_size);
    // Chunks line up with the first zone-33 item's tiles: its origin is a whole
    // number of chunks from the grid's origin.
    let first = d
        .scenes
        .iter()
        .find_map(|s| s.assets[0].as_ref().filter(|a| a.crs == "EPSG:32633"))
        .expect("a zone-33 item");
    let step = 10.0 * f64::from(spec.block_size);
    let dx = (first.transform[2] - d.grid.transform[2]) / step;
    let dy = (d.grid.transform[5] - first.transform[5]) / step;
    assert!(dx >= 0.0 && (dx - dx.round()).abs() < 1e-9, "dx {dx}");
    assert!(dy >= 0.0 && (dy - dy.round()).abs() < 1e-9, "dy {dy}");
    // Every item lies inside the grid (the zone-34 one after projection).
    assert_eq!(
        d.scenes.len(),
        d.scenes
            .iter()
            .filter(|s| s.window[2] > s.window[0])
            .count()
    );
}

#[tokio::test]
async fn schema_has_metadata_placement_and_one_tensor_per_band() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let d = def(&ctx, "s2").await;
    let schema = ctx
        .table("s2")
        .await
        .expect("table")
        .schema()
        .as_arrow()
        .clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "item_id",
            "collection",
            "datetime",
            "solar_day",
            "item_count",
            "cloud_cover",
            "platform",
            "chunk_x",
            "chunk_y",
            "footprint",
            "red",
            "nir",
            "scl"
        ]
    );
    let (cw, ch) = (d.grid.chunk_width as i32, d.grid.chunk_height as i32);
    for (band, item_type) in [("red", DataType::UInt16), ("scl", DataType::UInt8)] {
        let f = schema.field_with_name(band).expect("band column");
        match f.data_type() {
            DataType::FixedSizeList(item, n) => {
                assert_eq!(*n, cw * ch);
                assert_eq!(item.data_type(), &item_type);
            }
            other => panic!("{band} is {other}"),
        }
        let meta = f.metadata();
        assert_eq!(meta["ARROW:extension:name"], "arrow.fixed_shape_tensor");
        assert_eq!(
            meta["ARROW:extension:metadata"],
            format!(r#"{{"shape":[{ch},{cw}]}}"#)
        );
        assert_eq!(meta["swath:nodata"], "0");
    }
    assert_eq!(
        schema.field_with_name("red").expect("red").metadata()["swath:scale"],
        "0.0001"
    );
    assert_eq!(
        schema.field_with_name("footprint").expect("fp").metadata()["ARROW:extension:name"],
        "geoarrow.wkb"
    );
}

#[tokio::test]
async fn solar_day_fusion_merges_duplicate_items() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "fused", &cat.collection, "bands 'red'").await;
    create(
        &ctx,
        "each",
        &cat.collection,
        "bands 'red', group_by 'none'",
    )
    .await;
    let fused = def(&ctx, "fused").await;
    let each = def(&ctx, "each").await;
    assert_eq!(each.observations.len(), each.scenes.len());
    assert!(fused.observations.len() < each.observations.len());
    // Fused observations hold the items of one collection and solar day.
    for o in &fused.observations {
        let days: Vec<_> = o
            .scenes
            .iter()
            .map(|&s| fused.scenes[s].solar_day)
            .collect();
        assert!(days.windows(2).all(|w| w[0] == w[1]));
    }
    let rows = sql(&ctx, "SELECT max(item_count) AS m FROM fused").await;
    let m = rows[0].column(0).as_primitive::<Int32Type>().value(0);
    assert!(m >= 2, "some observation fuses two items, got {m}");
}

/// Each partition emits its chunks in (chunk_y, chunk_x) order and, per chunk, its
/// observations in time order; chunks are partitioned by DataFusion's hash.
#[tokio::test]
async fn partitions_are_spatial_and_time_ordered() {
    let cat = tiny();
    let ctx = context(3).await;
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let df = ctx
        .sql("SELECT chunk_x, chunk_y, datetime FROM s2")
        .await
        .expect("plan");
    let plan = df.create_physical_plan().await.expect("physical plan");
    let scan = find_scan(&plan).expect("a CubeScanExec");
    assert_eq!(scan.properties().output_partitioning().partition_count(), 3);
    let parts = collect_partitioned(Arc::clone(&plan), ctx.task_ctx())
        .await
        .expect("run");
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    for batches in parts {
        let mut keys = Vec::new();
        for b in &batches {
            let x = b.column(0).as_primitive::<Int32Type>();
            let y = b.column(1).as_primitive::<Int32Type>();
            let t = b.column(2).as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                keys.push((y.value(i), x.value(i), t.value(i)));
            }
        }
        assert!(
            keys.windows(2).all(|w| w[0] <= w[1]),
            "ordered within a partition"
        );
        for k in &keys {
            // A chunk position belongs to one partition only.
            seen.insert((k.0, k.1));
        }
        total += keys.len();
    }
    let rows = sql(&ctx, "SELECT count(*) FROM s2").await;
    assert_eq!(
        total as i64,
        rows[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0)
    );
    assert!(!seen.is_empty());

    // GROUP BY chunk streams: no shuffle, aggregate in sorted mode.
    let explain = sql(
        &ctx,
        "EXPLAIN SELECT chunk_x, chunk_y, count(*), min(datetime) FROM s2 GROUP BY chunk_x, chunk_y",
    )
    .await;
    let text = arrow::util::pretty::pretty_format_batches(&explain)
        .expect("format")
        .to_string();
    assert!(!text.contains("RepartitionExec"), "{text}");
    assert!(text.contains("ordering_mode=Sorted"), "{text}");
}

/// The first CubeScanExec in a plan.
pub fn find_scan(plan: &Arc<dyn ExecutionPlan>) -> Option<&CubeScanExec> {
    let any: &dyn std::any::Any = plan.as_ref();
    if let Some(s) = any.downcast_ref::<CubeScanExec>() {
        return Some(s);
    }
    plan.children().into_iter().find_map(find_scan)
}

#[tokio::test]
async fn explain_shows_items_chunks_and_bytes() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir'").await;
    let rows = sql(&ctx, "EXPLAIN SELECT red FROM s2").await;
    let text = arrow::util::pretty::pretty_format_batches(&rows)
        .expect("format")
        .to_string();
    assert!(text.contains("CubeScanExec"), "{text}");
    assert!(text.contains("items="), "{text}");
    assert!(text.contains("chunks="), "{text}");
    assert!(text.contains("bytes≈"), "{text}");
    assert!(
        text.contains("bands=[red]"),
        "only the projected band: {text}"
    );
}

#[tokio::test]
async fn tiles_are_contiguous_fixed_size_lists() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let d = def(&ctx, "s2").await;
    let rows = sql(&ctx, "SELECT red FROM s2").await;
    for b in rows {
        let list = b.column(0).as_fixed_size_list();
        assert_eq!(list.values().len(), list.len() * d.grid.chunk_pixels());
        assert_eq!(list.null_count(), 0);
    }
}

/// `STORED AS GEOTIFF` over the same files gives the same grid and pixels as the
/// STAC table (times come from the dates in the file names).
#[tokio::test]
async fn geotiff_tables_read_the_same_pixels_as_the_stac_table() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let d = def(&ctx, "s2").await;
    let dir = tempfile::tempdir().expect("tempdir");
    for s in &d.scenes {
        let src = url::Url::parse(&s.assets[0].as_ref().expect("red").href)
            .expect("url")
            .to_file_path()
            .expect("path");
        std::fs::copy(&src, dir.path().join(format!("{}.tif", s.item_id))).expect("copy");
    }
    sql(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE tifs STORED AS GEOTIFF LOCATION '{}/*.tif' \
             OPTIONS (bands 'red')",
            dir.path().display()
        ),
    )
    .await;
    let t = def(&ctx, "tifs").await;
    assert_eq!(t.grid, d.grid);
    assert_eq!(t.scenes.len(), d.scenes.len());
    let q = |table: &str| {
        format!(
            "SELECT solar_day, item_count, chunk_x, chunk_y, red FROM {table} \
             ORDER BY solar_day, chunk_y, chunk_x"
        )
    };
    let a = sql(&ctx, &q("s2")).await;
    let b = sql(&ctx, &q("tifs")).await;
    let concat = |v: &[arrow::array::RecordBatch]| {
        arrow::compute::concat_batches(&v[0].schema(), v).expect("concat")
    };
    let (a, b) = (concat(&a), concat(&b));
    assert!(a.num_rows() > 0);
    assert_eq!(a.num_rows(), b.num_rows());
    for c in 0..a.num_columns() {
        assert_eq!(a.column(c).to_data(), b.column(c).to_data(), "column {c}");
    }
    // A file without a date in its name has no time.
    let rows = sql(&ctx, "SELECT count(*) FROM tifs WHERE datetime IS NULL").await;
    assert_eq!(
        rows[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0),
        0
    );
}
