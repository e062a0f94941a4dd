//! Pixels against GDAL: every observation's band counts and sums, per chunk and in
//! all, from the chunk view and the pixel view, equal what GDAL's warp of the same
//! files gives (tests/scripts/datacube_expected.py).

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    Float64Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt8Type, UInt16Type,
};
use swath_engine::CubeDef;

use crate::{context, create, def, expected, sql, tiny};

/// Per datetime (µs): per band (count of valid pixels inside the grid, sum).
type Sums = BTreeMap<i64, Vec<(u64, f64)>>;

/// Accumulate the chunk view's tiles in Rust (pixels inside the grid only).
fn chunk_sums(def: &CubeDef, batches: &[RecordBatch], bands: &[&str]) -> Sums {
    let mut out = Sums::new();
    let g = &def.grid;
    for b in batches {
        let t = b
            .column_by_name("datetime")
            .expect("datetime")
            .as_primitive::<TimestampMicrosecondType>();
        let cx = b
            .column_by_name("chunk_x")
            .expect("cx")
            .as_primitive::<Int32Type>();
        let cy = b
            .column_by_name("chunk_y")
            .expect("cy")
            .as_primitive::<Int32Type>();
        for r in 0..b.num_rows() {
            let entry = out
                .entry(t.value(r))
                .or_insert_with(|| vec![(0, 0.0); bands.len()]);
            let w = g.chunk_window(cx.value(r), cy.value(r));
            for (k, band) in bands.iter().enumerate() {
                let bd = def.bands.iter().find(|d| d.name == *band).expect("band");
                let tile = b
                    .column_by_name(band)
                    .expect("band")
                    .as_fixed_size_list()
                    .value(r);
                let values: Vec<f64> = match tile.data_type() {
                    arrow::datatypes::DataType::UInt16 => tile
                        .as_primitive::<UInt16Type>()
                        .values()
                        .iter()
                        .map(|v| f64::from(*v))
                        .collect(),
                    arrow::datatypes::DataType::UInt8 => tile
                        .as_primitive::<UInt8Type>()
                        .values()
                        .iter()
                        .map(|v| f64::from(*v))
                        .collect(),
                    other => panic!("unexpected {other}"),
                };
                for (i, v) in values.iter().enumerate() {
                    let col = w.col + (i % g.chunk_width as usize) as i64;
                    let row = w.row + (i / g.chunk_width as usize) as i64;
                    if col >= g.width as i64 || row >= g.height as i64 || *v == bd.nodata
                    {
                        continue;
                    }
                    entry[k].0 += 1;
                    entry[k].1 += v;
                }
            }
        }
    }
    out
}

fn expected_sums(exp: &serde_json::Value, bands: &[&str]) -> Sums {
    let mut out = Sums::new();
    for o in exp.as_array().expect("list") {
        let t = chrono::DateTime::parse_from_rfc3339(o["datetime"].as_str().expect("dt"))
            .expect("rfc3339")
            .timestamp_micros();
        let v = bands
            .iter()
            .map(|b| {
                let e = &o["bands"][b];
                (
                    e["count"].as_u64().expect("count"),
                    e["sum"].as_f64().expect("sum"),
                )
            })
            .collect();
        out.insert(t, v);
    }
    out
}

fn assert_sums_equal(got: &Sums, want: &Sums, what: &str) {
    // Observations GDAL sees with no valid pixel have no rows in the table.
    let want: Sums = want
        .iter()
        .filter(|(_, v)| v.iter().any(|(n, _)| *n > 0))
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let got: Sums = got
        .iter()
        .filter(|(_, v)| v.iter().any(|(n, _)| *n > 0))
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: observations"
    );
    for (t, w) in &want {
        assert_eq!(&got[t], w, "{what}: observation at {t}");
    }
}

#[tokio::test]
async fn nearest_warp_and_fusion_match_gdal_pixel_for_pixel() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    create(
        &ctx,
        "px",
        &cat.collection,
        "bands 'red,nir,scl', view 'pixels'",
    )
    .await;
    let d = def(&ctx, "s2").await;
    let exp = expected(&cat.collection, &d, &[0, 3, 8, 9, 10], None);
    let bands = ["red", "nir", "scl"];
    let want = expected_sums(&exp, &bands);

    // Chunk view, accumulated in Rust.
    let rows = sql(
        &ctx,
        "SELECT datetime, chunk_x, chunk_y, red, nir, scl FROM s2",
    )
    .await;
    assert_sums_equal(&chunk_sums(&d, &rows, &bands), &want, "chunk view");

    // Pixel view, in SQL.
    let rows = sql(
        &ctx,
        "SELECT datetime, count(red), sum(CAST(red AS DOUBLE)), count(nir), \
         sum(CAST(nir AS DOUBLE)), count(scl), sum(CAST(scl AS DOUBLE)) \
         FROM px GROUP BY datetime ORDER BY datetime",
    )
    .await;
    let mut got = Sums::new();
    for b in &rows {
        let t = b.column(0).as_primitive::<TimestampMicrosecondType>();
        for r in 0..b.num_rows() {
            let v = (0..3)
                .map(|k| {
                    let n =
                        b.column(1 + 2 * k).as_primitive::<Int64Type>().value(r) as u64;
                    let s = b.column(2 + 2 * k).as_primitive::<Float64Type>();
                    (n, if s.is_null(r) { 0.0 } else { s.value(r) })
                })
                .collect();
            got.insert(t.value(r), v);
        }
    }
    assert_sums_equal(&got, &want, "pixel view");

    // Canonical workload 1 in plain SQL: masked NDVI per observation.
    let rows = sql(
        &ctx,
        "SELECT datetime, count(*) AS n, sum(ndvi) AS s FROM ( \
           SELECT datetime, ((nir * 1e-4 - 0.1) - (red * 1e-4 - 0.1)) \
                          / ((nir * 1e-4 - 0.1) + (red * 1e-4 - 0.1)) AS ndvi \
           FROM px WHERE scl NOT IN (0, 3, 8, 9, 10)) \
         WHERE ndvi IS NOT NULL GROUP BY datetime ORDER BY datetime",
    )
    .await;
    let mut ndvi = BTreeMap::new();
    for b in &rows {
        let t = b.column(0).as_primitive::<TimestampMicrosecondType>();
        let n = b.column(1).as_primitive::<Int64Type>();
        let s = b.column(2).as_primitive::<Float64Type>();
        for r in 0..b.num_rows() {
            ndvi.insert(t.value(r), (n.value(r) as u64, s.value(r)));
        }
    }
    let mut compared = 0;
    for o in exp.as_array().expect("list") {
        let t = chrono::DateTime::parse_from_rfc3339(o["datetime"].as_str().expect("dt"))
            .expect("rfc3339")
            .timestamp_micros();
        let n = o["ndvi"]["count"].as_u64().expect("count");
        let s = o["ndvi"]["sum"].as_f64().expect("sum");
        if n == 0 {
            assert!(!ndvi.contains_key(&t), "no valid pixel at {t}");
            continue;
        }
        let (gn, gs) = ndvi[&t];
        assert_eq!(gn, n, "valid NDVI pixels at {t}");
        assert!(
            (gs - s).abs() <= 1e-9 * s.abs().max(1.0),
            "NDVI sum at {t}: {gs} vs {s}"
        );
        compared += 1;
    }
    assert!(compared >= 2, "at least two observations have clear pixels");
}

#[tokio::test]
async fn bilinear_warp_is_close_to_gdal() {
    let cat = tiny();
    let ctx = context(2).await;
    create(
        &ctx,
        "s2",
        &cat.collection,
        "bands 'red', resampling 'bilinear'",
    )
    .await;
    let d = def(&ctx, "s2").await;
    let exp = expected(&cat.collection, &d, &[], None);
    let want = expected_sums(&exp, &["red"]);
    let rows = sql(&ctx, "SELECT datetime, chunk_x, chunk_y, red FROM s2").await;
    let got = chunk_sums(&d, &rows, &["red"]);
    let mut compared = 0;
    for (t, w) in &want {
        let (wn, ws) = w[0];
        if wn == 0 {
            continue;
        }
        let (gn, gs) = got.get(t).map_or((0, 0.0), |v| v[0]);
        // Edge pixels next to nodata may differ; the bulk must agree.
        let dn = (gn as f64 - wn as f64).abs() / wn as f64;
        assert!(dn < 0.01, "valid pixels at {t}: {gn} vs {wn}");
        let mean_diff = (gs / gn as f64 - ws / wn as f64).abs();
        assert!(
            mean_diff < 1.0,
            "mean DN at {t}: {} vs {}",
            gs / gn as f64,
            ws / wn as f64
        );
        compared += 1;
    }
    assert!(compared > 0);
}

#[tokio::test]
async fn pixel_view_and_chunk_view_agree() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    create(&ctx, "px", &cat.collection, "bands 'red', view 'pixels'").await;
    // Rows per chunk and observation: the pixel view has a row for every in-grid
    // pixel of each chunk row of the chunk view.
    let d = def(&ctx, "s2").await;
    let chunks = sql(&ctx, "SELECT chunk_x, chunk_y, datetime FROM s2").await;
    let mut pixels_expected = 0i64;
    for b in &chunks {
        let cx = b.column(0).as_primitive::<Int32Type>();
        let cy = b.column(1).as_primitive::<Int32Type>();
        for r in 0..b.num_rows() {
            let w = d.grid.chunk_window(cx.value(r), cy.value(r));
            let cols = (d.grid.width as i64 - w.col).min(w.width as i64);
            let rows = (d.grid.height as i64 - w.row).min(w.height as i64);
            pixels_expected += cols * rows;
        }
    }
    let rows = sql(&ctx, "SELECT count(*) FROM px").await;
    assert_eq!(
        rows[0].column(0).as_primitive::<Int64Type>().value(0),
        pixels_expected
    );
    let per_item = sql(
        &ctx,
        "SELECT item_id, count(red) FROM px GROUP BY item_id ORDER BY item_id",
    )
    .await;
    assert!(!per_item.is_empty());
}
