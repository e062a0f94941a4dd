//! `COPY (…) TO '…' STORED AS ZARR`: xarray + rioxarray open the store with the grid's
//! CRS, transform and pixel-centre coordinates, and the query's pixels.

use arrow::array::AsArray;
use arrow::datatypes::{Float32Type, Int32Type};
use serde_json::Value;

use crate::{context, create, sql, sql_err, tiny};

fn xarray(path: &std::path::Path) -> Value {
    swath_tests::script_json("zarr_check.py", &[path.as_os_str()])
}

#[tokio::test]
async fn a_median_composite_opens_in_xarray_with_coordinates_and_crs() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let q = "SELECT chunk_x, chunk_y, \
             rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red, \
             rs_first(scl) AS scl FROM s2 GROUP BY chunk_x, chunk_y";
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("median.zarr");
    sql(
        &ctx,
        &format!("COPY ({q}) TO '{}' STORED AS ZARR", out.display()),
    )
    .await;
    let x = xarray(&out);
    assert_eq!(x["variables"], serde_json::json!(["red", "scl"]));
    assert_eq!(x["dims"]["red"], serde_json::json!(["y", "x"]));
    assert_eq!(x["crs"], 32633);
    assert_eq!(x["dtypes"]["scl"], "uint8");
    let t: Vec<f64> = x["transform"]
        .as_array()
        .expect("t")
        .iter()
        .map(|v| v.as_f64().expect("f"))
        .collect();
    let xs: Vec<f64> = x["x"]
        .as_array()
        .expect("x")
        .iter()
        .map(|v| v.as_f64().expect("f"))
        .collect();
    let ys: Vec<f64> = x["y"]
        .as_array()
        .expect("y")
        .iter()
        .map(|v| v.as_f64().expect("f"))
        .collect();
    // pixel centres of the grid
    assert_eq!(xs[0], t[2] + 0.5 * t[0]);
    assert_eq!(ys[1], t[5] + 1.5 * t[4]);
    let (w, h) = (xs.len(), ys.len());
    // every pixel of every chunk row equals the query's
    let batches = sql(&ctx, q).await;
    let red = x["data"]["red"].as_array().expect("red");
    let mut compared = 0;
    for b in &batches {
        let cx = b
            .column_by_name("chunk_x")
            .expect("cx")
            .as_primitive::<Int32Type>();
        let cy = b
            .column_by_name("chunk_y")
            .expect("cy")
            .as_primitive::<Int32Type>();
        let tiles = b.column_by_name("red").expect("red").as_fixed_size_list();
        for r in 0..b.num_rows() {
            let tile = tiles.value(r);
            let tile = tile.as_primitive::<Float32Type>();
            for i in 0..1024 {
                let (px, py) = (
                    cx.value(r) as usize * 32 + i % 32,
                    cy.value(r) as usize * 32 + i / 32,
                );
                if px >= w || py >= h {
                    continue;
                }
                let want = tile.value(i);
                match red[py * w + px].as_f64() {
                    None => {
                        assert!(want.is_nan(), "({px}, {py}): xarray NaN, query {want}")
                    }
                    Some(v) => assert_eq!(v as f32, want, "({px}, {py})"),
                }
                compared += 1;
            }
        }
    }
    assert!(compared > 5000, "{compared}");
    // provenance beside the store
    let item: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("median.json")).expect("item"),
    )
    .expect("json");
    assert_eq!(item["assets"]["data"]["href"], "./median.zarr");
    assert_eq!(item["properties"]["proj:code"], "EPSG:32633");
    assert_eq!(
        item["properties"]["swath:inputs"]["items"]
            .as_array()
            .map(Vec::len),
        Some(12)
    );
    // existing stores are kept
    let err = sql_err(
        &ctx,
        &format!("COPY ({q}) TO '{}' STORED AS ZARR", out.display()),
    )
    .await;
    assert!(err.contains("exists"), "{err}");
}
