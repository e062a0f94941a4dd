//! `COPY (…) TO '…' STORED AS COG`: the file GDAL reads back has the query's pixels on
//! the table's grid, validates as a COG, and bad requests fail at planning.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int32Type};
use serde_json::Value;
use swath_engine::EngineConfig;

use swath_synth::SynthSpec;

use crate::{context, create, generate, sql, sql_err, tiny};

fn gdal(path: &std::path::Path) -> Value {
    swath_tests::script_json("cog_check.py", &[path.as_os_str()])
}

const MEDIAN: &str = "SELECT chunk_x, chunk_y, \
    rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red, \
    rs_median(rs_mask(nir, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS nir \
    FROM s2 GROUP BY chunk_x, chunk_y";

/// The query's tiles placed on a mosaic: (width, height, x0, y0, per band pixels).
pub(crate) fn mosaic(
    batches: &[RecordBatch],
    bands: &[&str],
    chunk: usize,
) -> (usize, usize, Vec<Vec<f32>>) {
    let mut rows = Vec::new();
    for b in batches {
        let cx = b
            .column_by_name("chunk_x")
            .expect("chunk_x")
            .as_primitive::<Int32Type>();
        let cy = b
            .column_by_name("chunk_y")
            .expect("chunk_y")
            .as_primitive::<Int32Type>();
        for r in 0..b.num_rows() {
            let tiles: Vec<Vec<f32>> = bands
                .iter()
                .map(|name| {
                    let l = b.column_by_name(name).expect("band").as_fixed_size_list();
                    l.value(r).as_primitive::<Float32Type>().values().to_vec()
                })
                .collect();
            rows.push((cx.value(r) as usize, cy.value(r) as usize, tiles));
        }
    }
    let x0 = rows.iter().map(|r| r.0).min().expect("rows");
    let y0 = rows.iter().map(|r| r.1).min().expect("rows");
    let w = (rows.iter().map(|r| r.0).max().expect("rows") - x0 + 1) * chunk;
    let h = (rows.iter().map(|r| r.1).max().expect("rows") - y0 + 1) * chunk;
    let mut out = vec![vec![f32::NAN; w * h]; bands.len()];
    for (cx, cy, tiles) in rows {
        for (band, t) in tiles.iter().enumerate() {
            for (i, v) in t.iter().enumerate() {
                let (x, y) =
                    ((cx - x0) * chunk + i % chunk, (cy - y0) * chunk + i / chunk);
                out[band][y * w + x] = *v;
            }
        }
    }
    (w, h, out)
}

#[tokio::test]
async fn a_median_composite_round_trips_through_gdal_as_a_valid_cog() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("median.tif");
    let copy = format!("COPY ({MEDIAN}) TO '{}' STORED AS COG", out.display());
    let n = swath_engine::output::with_statement(&copy, sql(&ctx, &copy)).await;
    let written = n[0]
        .column(0)
        .as_primitive::<arrow::datatypes::UInt64Type>()
        .value(0);
    let want = sql(&ctx, MEDIAN).await;
    assert_eq!(
        written as usize,
        want.iter().map(|b| b.num_rows()).sum::<usize>()
    );
    let g = gdal(&out);
    assert_eq!(g["cog_valid"], Value::Bool(true), "{}", g["cog_errors"]);
    assert_eq!(g["epsg"], 32633);
    assert_eq!(g["count"], 2);
    assert_eq!(g["dtype"], "float32");
    assert_eq!(g["nodata_is_nan"], Value::Bool(true));
    assert_eq!(g["descriptions"], serde_json::json!(["red", "nir"]));
    assert!(
        !g["overviews"].as_array().expect("overviews").is_empty(),
        "{}",
        g["overviews"]
    );
    let (w, h, bands) = mosaic(&want, &["red", "nir"], 32);
    let (gw, gh) = (
        g["width"].as_u64().expect("w") as usize,
        g["height"].as_u64().expect("h") as usize,
    );
    assert!(
        gw <= w && gh <= h && gw + 32 > w && gh + 32 > h,
        "{gw}×{gh} vs {w}×{h}"
    );
    let mut valid = 0;
    for (band, pixels) in bands.iter().enumerate() {
        let got = g["bands"][band].as_array().expect("band");
        for y in 0..gh {
            for x in 0..gw {
                let want = pixels[y * w + x];
                let got = got[y * gw + x].as_f64().map(|v| v as f32);
                match got {
                    None => assert!(
                        want.is_nan(),
                        "band {band} ({x}, {y}): GDAL nodata, query {want}"
                    ),
                    Some(v) => {
                        assert_eq!(v, want, "band {band} ({x}, {y})");
                        valid += 1;
                    }
                }
            }
        }
    }
    assert!(valid > 1000, "only {valid} valid pixels");
    // the transform is the grid's, moved to the first chunk
    let t: Vec<f64> = g["transform"]
        .as_array()
        .expect("t")
        .iter()
        .map(|v| v.as_f64().expect("f"))
        .collect();
    assert_eq!((t[0], t[1], t[3], t[4]), (10.0, 0.0, 0.0, -10.0));
    // provenance: a STAC item beside the file
    let item: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("median.json")).expect("item"),
    )
    .expect("json");
    let p = &item["properties"];
    assert_eq!(item["id"], "median");
    assert_eq!(item["assets"]["data"]["href"], "./median.tif");
    assert_eq!(p["swath:sql"], Value::String(copy.clone()));
    assert_eq!(p["proj:code"], "EPSG:32633");
    assert_eq!(p["proj:shape"], serde_json::json!([gh, gw]));
    assert_eq!(p["proj:transform"], g["transform"]);
    assert_eq!(
        p["swath:inputs"]["collections"],
        serde_json::json!(["sentinel-2-l2a"])
    );
    // the 12 items of the 4 fused observations
    assert_eq!(
        p["swath:inputs"]["items"].as_array().expect("items").len(),
        12
    );
    assert_eq!(
        p["start_datetime"].as_str().map(|s| &s[..10]),
        Some("2023-06-01")
    );
    assert!(
        p["swath:plan"]
            .as_str()
            .expect("plan")
            .contains("CubeScanExec")
    );
    assert_eq!(item["bbox"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn existing_files_are_kept_unless_overwrite_is_asked() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("first.tif");
    let copy = format!(
        "COPY (SELECT chunk_x, chunk_y, rs_first(red) AS red FROM s2 GROUP BY chunk_x, chunk_y) TO '{}' STORED AS COG",
        out.display()
    );
    sql(&ctx, &copy).await;
    let before = std::fs::read(&out).expect("file");
    let err = sql_err(&ctx, &copy).await;
    assert!(err.contains("exists") && err.contains("overwrite"), "{err}");
    assert_eq!(
        std::fs::read(&out).expect("file"),
        before,
        "the file is untouched"
    );
    sql(
        &ctx,
        &format!("{copy} OPTIONS (overwrite 'true', compression 'zstd')"),
    )
    .await;
    let g = gdal(&out);
    assert_eq!(g["cog_valid"], Value::Bool(true), "{}", g["cog_errors"]);
    assert_eq!(g["dtype"], "uint16");
    assert_eq!(g["nodata"], 0.0);
}

#[tokio::test]
async fn requests_that_are_not_a_mosaic_fail_at_planning() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.tif");
    let out = out.display();
    for (query, expect) in [
        ("SELECT red FROM s2", "chunk_x or chunk_y is missing"),
        (
            "SELECT chunk_x, chunk_y, datetime FROM s2",
            "there is no tile column",
        ),
        (
            "SELECT chunk_x, chunk_y, red, rs_ndvi(nir, red) AS ndvi FROM s2",
            "different pixel types",
        ),
        (
            "SELECT chunk_x, chunk_y, red FROM s2",
            "more than one row for chunk",
        ),
    ] {
        let err =
            sql_err(&ctx, &format!("COPY ({query}) TO '{out}' STORED AS COG")).await;
        assert!(err.contains(expect), "{query}: {err}");
    }
    let err = sql_err(&ctx, &format!("COPY (SELECT chunk_x, chunk_y, red FROM s2) TO '{out}' STORED AS COG OPTIONS (quality 'x')")).await;
    assert!(err.contains("unknown COG option"), "{err}");
}

#[tokio::test]
async fn a_mosaic_larger_than_the_memory_limit_is_written() {
    // A 4-band mosaic of the small catalogue in 16-pixel chunks is larger than the
    // pool: chunks stream to the file and the overviews are built two tile rows at a
    // time, under the limit (the sink reserves that working memory in the pool).
    let cat = generate(&SynthSpec::small());
    let limit = 1024 * 1024;
    let ctx = swath_engine::context(&EngineConfig {
        target_partitions: Some(1),
        memory_limit: Some(limit),
        ..EngineConfig::default()
    })
    .await
    .expect("context");
    create(
        &ctx,
        "s2",
        &cat.collection,
        "bands 'blue,green,red,nir', chunk_size '16'",
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("big.tif");
    let q = "SELECT chunk_x, chunk_y, rs_first(blue) AS blue, rs_first(green) AS green, \
             rs_first(red) AS red, rs_first(nir) AS nir FROM s2 GROUP BY chunk_x, chunk_y";
    sql(
        &ctx,
        &format!("COPY ({q}) TO '{}' STORED AS COG", out.display()),
    )
    .await;
    let g = gdal(&out);
    let bytes =
        g["width"].as_u64().expect("w") * g["height"].as_u64().expect("h") * 4 * 2;
    assert!(
        bytes as usize > limit,
        "mosaic {bytes} B vs limit {limit} B"
    );
    assert_eq!(g["cog_valid"], Value::Bool(true), "{}", g["cog_errors"]);
    assert_eq!(g["count"], 4);
    // and the limit is real: a quarter of it fails cleanly
    let small = swath_engine::context(&EngineConfig {
        target_partitions: Some(1),
        memory_limit: Some(limit / 4),
        ..EngineConfig::default()
    })
    .await
    .expect("context");
    create(
        &small,
        "s2",
        &cat.collection,
        "bands 'blue,green,red,nir', chunk_size '16'",
    )
    .await;
    let err = sql_err(
        &small,
        &format!(
            "COPY ({q}) TO '{}' STORED AS COG",
            dir.path().join("b.tif").display()
        ),
    )
    .await;
    assert!(err.contains("Resources exhausted"), "{err}");
}

#[tokio::test]
async fn outputs_outside_the_allowed_locations_are_refused() {
    let cat = tiny();
    let dir = tempfile::tempdir().expect("tempdir");
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).expect("mkdir");
    let ctx = swath_engine::context(&EngineConfig {
        target_partitions: Some(1),
        output_roots: vec![allowed.display().to_string()],
        ..EngineConfig::default()
    })
    .await
    .expect("context");
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let q =
        "SELECT chunk_x, chunk_y, rs_first(red) AS red FROM s2 GROUP BY chunk_x, chunk_y";
    for (path, format) in [
        (dir.path().join("elsewhere.tif"), "COG"),
        (allowed.join("../escape.tif"), "COG"),
        (dir.path().join("elsewhere.zarr"), "ZARR"),
    ] {
        let err = sql_err(
            &ctx,
            &format!("COPY ({q}) TO '{}' STORED AS {format}", path.display()),
        )
        .await;
        assert!(
            err.contains("outside the allowed output locations"),
            "{}: {err}",
            path.display()
        );
        assert!(!path.exists(), "{} was written", path.display());
    }
    sql(
        &ctx,
        &format!(
            "COPY ({q}) TO '{}' STORED AS COG",
            allowed.join("ok.tif").display()
        ),
    )
    .await;
    assert!(allowed.join("ok.tif").exists());
}
