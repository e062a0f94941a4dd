//! Bad input: each a clear error naming what and where, or the nodata policy chosen.

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;

use crate::{context, create, sql, sql_err, tiny};

async fn create_err(opts: &str) -> String {
    let cat = tiny();
    let ctx = context(1).await;
    sql_err(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '{}' OPTIONS ({opts})",
            cat.collection.display()
        ),
    )
    .await
}

#[tokio::test]
async fn a_band_the_catalogue_lacks_is_named() {
    let err = create_err("bands 'red,swir99'").await;
    assert!(err.contains("swir99"), "{err}");
    assert!(err.contains("red"), "lists what there is: {err}");
}

#[tokio::test]
async fn bad_options_are_named() {
    for (opts, needle) in [
        ("chunk_size '0'", "chunk_size"),
        ("chunk_size '100000'", "chunk_size"),
        ("colour 'red'", "unknown option"),
        ("crs 'EPSG:999999'", "999999"),
        ("resampling 'cubic'", "resampling"),
        ("bands 'red', resolution '0.0001'", "resolution"),
    ] {
        let err = create_err(opts).await;
        assert!(err.contains(needle), "{opts}: {err}");
    }
}

#[tokio::test]
async fn a_missing_catalogue_is_named() {
    let ctx = context(1).await;
    let err = sql_err(
        &ctx,
        "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '/nonexistent/catalog.json'",
    )
    .await;
    assert!(err.contains("/nonexistent/catalog.json"), "{err}");
}

#[tokio::test]
async fn filters_that_match_nothing_give_an_empty_table() {
    let cat = tiny();
    let ctx = context(2).await;
    create(
        &ctx,
        "old",
        &cat.collection,
        "bands 'red', datetime '1990-01-01/1990-12-31'",
    )
    .await;
    let rows = sql(&ctx, "SELECT count(*) FROM old").await;
    assert_eq!(rows[0].column(0).as_primitive::<Int64Type>().value(0), 0);
    create(&ctx, "s2", &cat.collection, "bands 'red'").await;
    let rows = sql(
        &ctx,
        "SELECT red FROM s2 WHERE datetime < '1990-01-01T00:00:00Z'",
    )
    .await;
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

#[tokio::test]
async fn an_unreadable_asset_fails_or_reads_as_nodata() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "strict", &cat.collection, "bands 'red'").await;
    create(
        &ctx,
        "lenient",
        &cat.collection,
        "bands 'red', on_error 'nodata'",
    )
    .await;
    let d = crate::def(&ctx, "strict").await;
    let victim = d.scenes[0].assets[0].as_ref().expect("red asset");
    let path = url::Url::parse(&victim.href)
        .expect("url")
        .to_file_path()
        .expect("file");
    std::fs::write(&path, b"II*\0garbage").expect("corrupt the COG");
    let err = sql_err(&ctx, "SELECT red FROM strict").await;
    assert!(err.contains(&d.scenes[0].item_id), "names the item: {err}");
    assert!(err.contains("red"), "names the band: {err}");
    let rows = sql(&ctx, "SELECT count(*) FROM lenient").await;
    let all = rows[0].column(0).as_primitive::<Int64Type>().value(0);
    let read = sql(&ctx, "SELECT red FROM lenient").await;
    assert_eq!(read.iter().map(|b| b.num_rows() as i64).sum::<i64>(), all);
}

#[tokio::test]
async fn a_column_list_or_two_locations_are_refused() {
    let cat = tiny();
    let ctx = context(1).await;
    let err = sql_err(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE t (a INT) STORED AS STAC LOCATION '{}'",
            cat.collection.display()
        ),
    )
    .await;
    assert!(err.contains("column list"), "{err}");
}
