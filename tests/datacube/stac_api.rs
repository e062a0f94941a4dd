//! A table over a real STAC API: stac-fastapi-static, started on loopback by the
//! test over a generated collection of more than 2,000 items (the synthetic
//! catalogue's items repeated through the years, all pointing at its COGs). Each
//! query's WHERE reaches the API's `POST /search` (asserted from the server's
//! request log), pages are followed through `next` links, and the results equal
//! the same items read as a static ItemCollection.

use std::collections::BTreeSet;
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use chrono::{DateTime, TimeDelta};
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};

use crate::{context, sql, sql_err};

/// At least this many items in the API's collection.
const ITEMS: usize = 2000;

/// Days between the copies of the synthetic catalogue's dates.
const COPY_DAYS: i64 = 20;

/// The synthetic catalogue's items, repeated `COPY_DAYS` apart with their asset
/// hrefs made absolute URLs under `assets_at`: each copy's items share a cloud cover per date
/// (so the items fused into one observation agree on it). Written as one
/// ItemCollection; returns its path and the number of items.
fn write_collection(cat: &crate::Catalog, assets_at: &str, out: &Path) -> usize {
    let items_dir = cat.collection.parent().expect("dir").join("items");
    let mut originals: Vec<Value> = std::fs::read_dir(&items_dir)
        .expect("items")
        .map(|e| {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("item");
            serde_json::from_str(&text).expect("item JSON")
        })
        .collect();
    originals.sort_by_key(|i| i["id"].as_str().map(str::to_string));
    let dates: BTreeSet<String> = originals
        .iter()
        .map(|i| {
            i["properties"]["datetime"].as_str().expect("datetime")[..10].to_string()
        })
        .collect();
    let copies = ITEMS.div_ceil(originals.len());
    let mut features = Vec::with_capacity(copies * originals.len());
    for k in 0..copies {
        for original in &originals {
            let mut item = original.clone();
            let t = DateTime::parse_from_rfc3339(
                item["properties"]["datetime"].as_str().expect("datetime"),
            )
            .expect("RFC 3339")
            .to_utc();
            let day = dates
                .iter()
                .position(|d| *d == t.format("%Y-%m-%d").to_string())
                .expect("a date");
            let shifted = t + TimeDelta::days(COPY_DAYS * k as i64);
            item["id"] =
                json!(format!("{}-{k:03}", original["id"].as_str().expect("id")));
            item["properties"]["datetime"] =
                json!(shifted.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            item["properties"]["eo:cloud_cover"] =
                json!(((k * 37 + day * 11) % 100) as f64);
            item["links"] = json!([]);
            // Data assets by absolute URL on the asset server; the others
            // (thumbnails) have no file.
            let assets = item["assets"].as_object_mut().expect("assets");
            assets.retain(|_, asset| {
                let href = asset["href"].as_str().expect("href");
                let Some(rel) = href.strip_prefix("../") else {
                    return false;
                };
                if !items_dir.join(href).is_file() {
                    return false;
                }
                asset["href"] = json!(format!("{assets_at}/{rel}"));
                true
            });
            features.push(item);
        }
    }
    let n = features.len();
    let collection = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(out, collection.to_string()).expect("write items");
    n
}

/// Rows as text, one per row, sorted: tables compared whatever their order.
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| {
                    arrow::util::display::array_value_to_string(c, r).expect("display")
                })
                .collect();
            out.push(cells.join(" | "));
        }
    }
    out.sort();
    out
}

fn searches(log: &[Value]) -> Vec<&Value> {
    log.iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/search")
        .map(|r| &r["body"])
        .collect()
}

async fn explain(ctx: &SessionContext, q: &str) -> String {
    let batches = sql(ctx, &format!("EXPLAIN {q}")).await;
    rows(&batches).join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_reaches_the_search_of_a_real_stac_api() {
    let cat = crate::tiny();
    let dir = tempfile::tempdir().expect("tempdir");
    let items = dir.path().join("items.json");
    // The COGs on an HTTP server with Range support; the items on the API.
    let root = cat.collection.parent().expect("dir");
    let files = crate::http::Http::serve(root, &[]);
    let n = write_collection(&cat, files.url("").trim_end_matches('/'), &items);
    assert!(n >= ITEMS, "{n} items");
    let server = swath_tests::LoggedServer::start(
        "stac_api_server.py",
        &[
            "--backend".as_ref(),
            "static".as_ref(),
            "--lifetime".as_ref(),
            "600".as_ref(),
            "--data".as_ref(),
            items.as_os_str(),
        ],
    );
    let api = format!("http://127.0.0.1:{}", server.port);
    let ctx = context(2).await;
    let options = "collections 'sentinel-2-l2a', bands 'red', crs 'EPSG:32633', \
                   resolution '10', chunk_size '32'";
    sql(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE s STORED AS STAC LOCATION '{api}' OPTIONS ({options})"
        ),
    )
    .await;
    sql(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE l STORED AS STAC LOCATION '{}' \
             OPTIONS ({options}, anchor 'origin')",
            items.display()
        ),
    )
    .await;
    // CREATE asked for one page of a sample and the collection's extent.
    let log = server.requests();
    let sent = searches(&log);
    assert_eq!(sent.len(), 1, "{log:?}");
    assert_eq!(sent[0]["collections"], json!(["sentinel-2-l2a"]));
    assert!(
        log.iter()
            .any(|r| r["method"] == "GET" && r["path"] == "/collections/sentinel-2-l2a"),
        "{log:?}"
    );
    let sdef = crate::def(&ctx, "s").await;
    assert!(sdef.scenes.is_empty(), "the API table holds no items");

    // Time, space and a property, in one query.
    let first = chrono::NaiveDate::from_ymd_opt(2023, 6, 1).expect("date");
    let (from, to) = (first + TimeDelta::days(400), first + TimeDelta::days(1400));
    let polygon = "POLYGON((17.995 45.104, 18.004 45.104, 18.004 45.11, 17.995 45.11, 17.995 45.104))";
    let where_ = format!(
        "datetime >= '{from}' AND datetime < '{to}' AND cloud_cover < 40 \
         AND st_intersects(footprint, st_geomfromtext('{polygon}'))"
    );
    // An observation's items outside the searched box are not fetched, so the
    // rows are compared by solar day: the pixels are the same.
    let q = |t: &str| {
        format!(
            "SELECT solar_day, cloud_cover, st_astext(footprint) AS chunk, \
                    rs_tile_count(red) AS n, rs_tile_sum(red) AS total \
             FROM {t} WHERE {where_}"
        )
    };
    server.clear();
    let got = sql(&ctx, &q("s")).await;
    let log = server.requests();
    let want = sql(&ctx, &q("l")).await;
    assert_eq!(rows(&got), rows(&want));
    let days: BTreeSet<String> = rows(&got)
        .iter()
        .map(|r| r.split(" | ").next().unwrap_or_default().to_string())
        .collect();
    assert!(days.len() > 5, "{days:?}");
    let sent = searches(&log);
    assert!(!sent.is_empty(), "{log:?}");
    let body = sent[0];
    let interval = body["datetime"].as_str().expect("datetime sent");
    let (lo, hi) = interval.split_once('/').expect("an interval");
    assert!(
        lo.starts_with(&(from - TimeDelta::days(2)).to_string()),
        "{interval}"
    );
    assert!(
        hi.starts_with(&(to + TimeDelta::days(2)).to_string()),
        "{interval}"
    );
    let bbox: Vec<f64> = serde_json::from_value(body["bbox"].clone()).expect("bbox sent");
    assert!(
        bbox[0] <= 17.995 && bbox[2] >= 18.004 && bbox[1] <= 45.104 && bbox[3] >= 45.11,
        "{bbox:?}"
    );
    assert!(
        bbox[2] - bbox[0] < 1.0,
        "the box is the query's, not the world: {bbox:?}"
    );
    assert_eq!(
        body["filter"],
        json!({"op": "<", "args": [{"property": "eo:cloud_cover"}, 40.0]}),
        "{body}"
    );
    assert_eq!(body["collections"], json!(["sentinel-2-l2a"]));
    // The same query again is answered from the session's memory of searches.
    server.clear();
    assert_eq!(rows(&sql(&ctx, &q("s")).await), rows(&got));
    assert!(searches(&server.requests()).is_empty());
    // EXPLAIN shows what was sent.
    let plan = explain(&ctx, &q("s")).await;
    assert!(
        plan.contains("search={") && plan.contains("eo:cloud_cover"),
        "{plan}"
    );

    // A wide time range (metadata only): more items than a page (250), every
    // one once.
    let count = |t: &str| {
        format!(
            "SELECT item_id, count(*) AS chunks, max(item_count) AS fused \
             FROM {t} WHERE datetime BETWEEN '2024-01-01T00:00:00Z' AND '2030-12-31T00:00:00Z' \
             GROUP BY item_id"
        )
    };
    server.clear();
    let got = sql(&ctx, &count("s")).await;
    let log = server.requests();
    let want = sql(&ctx, &count("l")).await;
    assert_eq!(rows(&got), rows(&want));
    let distinct: usize = got.iter().map(RecordBatch::num_rows).sum();
    assert!(distinct > 250, "{distinct} observations");
    let sent = searches(&log);
    assert!(sent.len() >= 2, "several pages: {}", sent.len());
    assert!(sent.iter().all(|b| b["datetime"].is_string()), "{sent:?}");

    // A metadata-only count of observations per year, equal to the static one.
    let per_year = |t: &str| {
        format!(
            "SELECT date_part('year', datetime) AS y, count(DISTINCT item_id) AS items \
             FROM {t} WHERE platform = 'sentinel-2b' AND datetime >= '2025-01-01' \
             GROUP BY y"
        )
    };
    server.clear();
    let got = sql(&ctx, &per_year("s")).await;
    assert_eq!(rows(&got), rows(&sql(&ctx, &per_year("l")).await));
    let counted: i64 = got
        .iter()
        .map(|b| {
            b.column(1)
                .as_primitive::<Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum();
    assert!(counted > 0);
    let log = server.requests();
    let sent = searches(&log);
    assert!(
        sent.iter().all(|b| b["filter"]
            == json!({"op": "=", "args": [{"property": "platform"}, "sentinel-2b"]})),
        "{sent:?}"
    );

    // Filters that exclude each other: no request at all.
    server.clear();
    let none = sql(
        &ctx,
        "SELECT count(*) FROM s WHERE datetime > '2030-01-01' AND datetime < '2029-01-01'",
    )
    .await;
    assert_eq!(none[0].column(0).as_primitive::<Int64Type>().value(0), 0);
    assert!(searches(&server.requests()).is_empty());

    // Sums of pixels agree to the last bit with the static table's (the same
    // pixels, the same chunks).
    let totals = |t: &str| {
        format!(
            "SELECT sum(rs_tile_sum(red)) FROM {t} \
             WHERE datetime >= '2026-03-01' AND datetime < '2026-09-01'"
        )
    };
    let a = sql(&ctx, &totals("s")).await;
    let b = sql(&ctx, &totals("l")).await;
    let value = |v: &[RecordBatch]| v[0].column(0).as_primitive::<Float64Type>().value(0);
    assert!(value(&a) > 0.0);
    assert_eq!(value(&a), value(&b));

    // Bad SQL values are errors of the query, not of the server.
    let err = sql_err(&ctx, "SELECT count(*) FROM s WHERE datetime > 'yesterday'").await;
    assert!(
        err.contains("yesterday") || err.to_lowercase().contains("cast"),
        "{err}"
    );
    drop(server);
    // The API gone: the query that needs it says so, naming the URL.
    let err = sql_err(&ctx, "SELECT count(*) FROM s WHERE cloud_cover < 3").await;
    assert!(err.contains(&api), "{err}");
}
