//! Filters prune before any pixel is read; only projected bands and the COG tiles a
//! chunk needs are fetched.

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use datafusion::physical_plan::collect;

use crate::table::find_scan;
use crate::{context, create, def, sql, tiny};

/// A chunk in the middle of the first item's window (it has pixels).
fn data_chunk(d: &swath_engine::CubeDef) -> (i32, i32) {
    let w = d.scenes[0].window;
    let col = (w[0] + w[2]) / 2;
    let row = (w[1] + w[3]) / 2;
    (
        (col / i64::from(d.grid.chunk_width)) as i32,
        (row / i64::from(d.grid.chunk_height)) as i32,
    )
}

async fn explain(ctx: &datafusion::prelude::SessionContext, q: &str) -> String {
    let rows = sql(ctx, &format!("EXPLAIN {q}")).await;
    arrow::util::pretty::pretty_format_batches(&rows)
        .expect("format")
        .to_string()
}

fn find_pixel_scan(
    plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> Option<&swath_engine::cube::PixelScanExec> {
    let any: &dyn std::any::Any = plan.as_ref();
    if let Some(s) = any.downcast_ref::<swath_engine::cube::PixelScanExec>() {
        return Some(s);
    }
    plan.children().into_iter().find_map(find_pixel_scan)
}

fn count(rows: &[arrow::array::RecordBatch]) -> i64 {
    rows[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn time_and_property_filters_prune_observations() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let d = def(&ctx, "s2").await;
    let n = d.observations.len();
    // The third observation's time splits the table.
    let third = d.scenes[d.observations[2].scenes[0]]
        .datetime
        .expect("datetime");
    let t = chrono::DateTime::from_timestamp_micros(third)
        .expect("time")
        .to_rfc3339();
    let q = format!("SELECT count(*) FROM s2 WHERE datetime < '{t}'");
    let text = explain(&ctx, &q).await;
    assert!(text.contains(&format!("observations=2/{n}")), "{text}");
    let all = count(&sql(&ctx, "SELECT count(*) FROM s2").await);
    let before = count(&sql(&ctx, &q).await);
    assert!(before > 0 && before < all);

    // A property filter: the same rows as filtering without pushdown would give.
    let q = "SELECT count(*) FROM s2 WHERE cloud_cover < 30";
    let pruned = count(&sql(&ctx, q).await);
    let manual = sql(&ctx, "SELECT cloud_cover FROM s2").await;
    let want: i64 = manual
        .iter()
        .map(|b| {
            let c = b.column(0).as_primitive::<arrow::datatypes::Float64Type>();
            c.iter().filter(|v| v.is_some_and(|v| v < 30.0)).count() as i64
        })
        .sum();
    assert_eq!(pruned, want);
    let kept = d
        .observations
        .iter()
        .filter(|o| {
            d.scenes[o.scenes[0]].props[0]
                .as_f64()
                .is_some_and(|c| c < 30.0)
        })
        .count();
    let text = explain(&ctx, q).await;
    assert!(text.contains(&format!("observations={kept}/{n}")), "{text}");
}

#[tokio::test]
async fn spatial_filters_prune_chunks() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let d = def(&ctx, "s2").await;
    // A small box around the centre of a chunk in the middle of the first item.
    let (cx, cy) = data_chunk(&d);
    let grid = d.grid.grid().expect("grid");
    let fp =
        swath_grid::footprint_lonlat(&grid, d.grid.chunk_window(cx, cy), 2).expect("fp");
    let c = geo::Centroid::centroid(&fp).expect("centroid");
    let (x, y) = (c.x(), c.y());
    let wkt = format!(
        "POLYGON(({} {}, {} {}, {} {}, {} {}, {} {}))",
        x - 1e-4,
        y - 1e-4,
        x + 1e-4,
        y - 1e-4,
        x + 1e-4,
        y + 1e-4,
        x - 1e-4,
        y + 1e-4,
        x - 1e-4,
        y - 1e-4
    );
    let q = format!(
        "SELECT chunk_x, chunk_y, count(*) FROM s2 \
         WHERE st_intersects(footprint, st_geomfromtext('{wkt}')) GROUP BY chunk_x, chunk_y"
    );
    let text = explain(&ctx, &q).await;
    assert!(text.contains("chunks=1,"), "{text}");
    let rows = sql(&ctx, &q).await;
    let n: usize = rows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 1);
    let x = rows[0]
        .column(0)
        .as_primitive::<arrow::datatypes::Int32Type>()
        .value(0);
    let y = rows[0]
        .column(1)
        .as_primitive::<arrow::datatypes::Int32Type>()
        .value(0);
    assert_eq!((x, y), (cx, cy));
    // chunk_x / chunk_y predicates prune too.
    let q = format!("SELECT red FROM s2 WHERE chunk_x = {cx} AND chunk_y = {cy}");
    let text = explain(&ctx, &q).await;
    assert!(text.contains("chunks=1,"), "{text}");
}

/// Only the projected band's files are read, and a one-chunk query fetches a small
/// part of them.
#[tokio::test]
async fn only_projected_bands_and_needed_tiles_are_fetched() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let metric = |plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>,
                  name: &str| {
        find_scan(plan)
            .and_then(datafusion::physical_plan::ExecutionPlan::metrics)
            .and_then(|m| m.sum_by_name(name))
            .map_or(0, |v| v.as_usize())
    };
    let run = |q: String| {
        let ctx = ctx.clone();
        async move {
            let plan = ctx
                .sql(&q)
                .await
                .expect("plan")
                .create_physical_plan()
                .await
                .expect("physical");
            collect(Arc::clone(&plan), ctx.task_ctx())
                .await
                .expect("run");
            plan
        }
    };
    let one = run("SELECT red FROM s2".into()).await;
    let three = run("SELECT red, nir, scl FROM s2".into()).await;
    let red_bytes = metric(&one, "bytes_fetched");
    let all_bytes = metric(&three, "bytes_fetched");
    assert!(red_bytes > 0);
    assert!(all_bytes > red_bytes * 2, "{all_bytes} vs {red_bytes}");
    let (cx, cy) = data_chunk(&*def(&ctx, "s2").await);
    let chunk = run(format!(
        "SELECT red FROM s2 WHERE chunk_x = {cx} AND chunk_y = {cy}"
    ))
    .await;
    let chunk_bytes = metric(&chunk, "bytes_fetched");
    assert!(
        chunk_bytes > 0 && chunk_bytes < red_bytes / 2,
        "{chunk_bytes} vs {red_bytes}"
    );
    // No band read for a count.
    let counted = run("SELECT count(*) FROM s2".into()).await;
    assert_eq!(metric(&counted, "bytes_fetched"), 0);
}

#[tokio::test]
async fn coarser_resolution_reads_overviews() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "full", &cat.collection, "bands 'red'").await;
    create(
        &ctx,
        "coarse",
        &cat.collection,
        "bands 'red', resolution '40'",
    )
    .await;
    let d = def(&ctx, "coarse").await;
    assert_eq!(d.grid.resolution(), (40.0, 40.0));
    let bytes = |q: &'static str| {
        let ctx = ctx.clone();
        async move {
            let plan = ctx
                .sql(q)
                .await
                .expect("plan")
                .create_physical_plan()
                .await
                .expect("phys");
            collect(Arc::clone(&plan), ctx.task_ctx())
                .await
                .expect("run");
            find_scan(&plan)
                .and_then(datafusion::physical_plan::ExecutionPlan::metrics)
                .and_then(|m| m.sum_by_name("bytes_fetched"))
                .map_or(0, |v| v.as_usize())
        }
    };
    let full = bytes("SELECT red FROM full").await;
    let coarse = bytes("SELECT red FROM coarse").await;
    assert!(coarse * 4 < full, "overview read: {coarse} vs full {full}");
}

/// Pixel view: lon/lat (and x/y) bounds prune chunks before any pixel is read, and
/// the result is what the unpruned filter gives.
#[tokio::test]
async fn lon_lat_bounds_prune_pixel_view_chunks() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "px", &cat.collection, "bands 'red', view 'pixels'").await;
    let d = def(&ctx, "px").await;
    let (cx, cy) = data_chunk(&d);
    let grid = d.grid.grid().expect("grid");
    let fp =
        swath_grid::footprint_lonlat(&grid, d.grid.chunk_window(cx, cy), 2).expect("fp");
    let c = geo::Centroid::centroid(&fp).expect("centroid");
    let (x, y) = (c.x(), c.y());
    let q = format!(
        "SELECT count(*), count(red) FROM px WHERE lon BETWEEN {} AND {} AND lat BETWEEN {} AND {}",
        x - 1.5e-4,
        x + 1.5e-4,
        y - 1.5e-4,
        y + 1.5e-4
    );
    let text = explain(&ctx, &q).await;
    assert!(text.contains("chunks=1,"), "{text}");
    let pruned = sql(&ctx, &q).await;
    // The same filter over a subquery the scan cannot see through reads every chunk.
    let unpruned = sql(
        &ctx,
        &format!(
            "SELECT count(*), count(red) FROM (SELECT lon + 0 AS lon, lat + 0 AS lat, red FROM px) \
             WHERE lon BETWEEN {} AND {} AND lat BETWEEN {} AND {}",
            x - 1.5e-4,
            x + 1.5e-4,
            y - 1.5e-4,
            y + 1.5e-4
        ),
    )
    .await;
    assert_eq!(count(&pruned), count(&unpruned));
    assert!(count(&pruned) > 0, "the box holds pixels");
    // The box is applied to the chunk's coordinates before rows are made: the scan
    // emits only the pixels inside it.
    assert!(text.contains("lon∈["), "{text}");
    let df = ctx.sql(&q).await.expect("plan");
    let plan = df.create_physical_plan().await.expect("physical plan");
    collect(Arc::clone(&plan), ctx.task_ctx())
        .await
        .expect("run");
    use datafusion::physical_plan::ExecutionPlan;
    let scan = find_pixel_scan(&plan).expect("pixel scan");
    let rows_of = |m: Option<datafusion::physical_plan::metrics::MetricsSet>| {
        m.and_then(|m| m.output_rows()).expect("output rows")
    };
    // Its metrics include the chunk scan's (chunk rows read).
    let chunk_rows = rows_of(scan.chunk_scan().metrics());
    let emitted = rows_of(scan.metrics()) - chunk_rows;
    assert!(chunk_rows > 0);
    assert_eq!(emitted as i64, count(&pruned));
    // One-sided and x/y ranges, literal on the left, against the unpushed form.
    let cx0 = d.grid.transform[2]
        + d.grid.transform[0] * (d.scenes[0].window[0] as f64 + 100.0);
    for (pushed, opaque) in [
        (
            format!("{x} <= lon AND lat > {y}"),
            format!("{x} <= lon + 0 AND lat + 0 > {y}"),
        ),
        (
            format!("x < {cx0} AND x >= {} AND y <= 1e12", cx0 - 300.0),
            format!(
                "x + 0 < {cx0} AND x + 0 >= {} AND y + 0 <= 1e12",
                cx0 - 300.0
            ),
        ),
    ] {
        let q = |w: &str| format!("SELECT count(*), count(red) FROM px WHERE {w}");
        let a = sql(&ctx, &q(&pushed)).await;
        let b = sql(&ctx, &q(&opaque)).await;
        assert_eq!(count(&a), count(&b), "{pushed}");
        assert!(count(&a) > 0, "{pushed} keeps pixels");
    }
    let text = explain(&ctx, "SELECT count(*) FROM px WHERE x < 0").await;
    assert!(text.contains("chunks=0,"), "{text}");
}
