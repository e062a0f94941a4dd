//! Remote data: the same table over a real S3-compatible server on loopback (moto),
//! with its request log showing that only the needed COG tiles are fetched.

use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::physical_plan::{ExecutionPlan, collect};
use object_store::ObjectStoreExt;

use crate::table::find_scan;
use crate::{context, create, def, sql};

fn start(bucket: &str) -> swath_tests::LoggedServer {
    swath_tests::LoggedServer::start(
        "s3_server.py",
        &["--bucket".as_ref(), bucket.as_ref()],
    )
}

fn concat(v: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&v[0].schema(), v).expect("concat")
}

#[tokio::test]
async fn tables_over_s3_read_only_the_tiles_they_need() {
    // Granules big enough that one chunk is a small part of a file (tiny's files
    // fit in the first 64 KiB request).
    let mut spec = swath_synth::SynthSpec::tiny();
    spec.size = 512;
    spec.block_size = 64;
    spec.dates = 2;
    let cat = crate::generate(&spec);
    let server = start("cube");
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    let s3 = swath_tests::s3_client(&endpoint, "cube");
    let root = cat.dir.path();
    for (f, key) in swath_tests::files_under(root) {
        let bytes = std::fs::read(&f).expect("read");
        s3.put(&object_store::path::Path::from(key), bytes.into())
            .await
            .expect("upload");
    }

    let ctx = context(2).await;
    create(&ctx, "local", &cat.collection, "bands 'red,nir'").await;
    let opts = format!(
        "bands 'red,nir', chunk_size '64', 'aws.endpoint' '{endpoint}', 'aws.allow_http' 'true', \
         'aws.region' 'us-east-1', 'aws.access_key_id' 'test', 'aws.secret_access_key' 'test'"
    );
    let q = format!(
        "CREATE EXTERNAL TABLE remote STORED AS STAC LOCATION 's3://cube/{}' OPTIONS ({opts})",
        cat.collection.file_name().expect("name").to_string_lossy()
    );
    sql(&ctx, &q).await;
    let local = def(&ctx, "local").await;
    let remote = def(&ctx, "remote").await;
    assert_eq!(local.grid, remote.grid);
    assert!(
        remote.scenes[0].assets[0]
            .as_ref()
            .expect("red")
            .href
            .starts_with("s3://cube/")
    );

    // The same pixels as the local copy.
    let q = |t: &str| {
        format!(
            "SELECT datetime, chunk_x, chunk_y, red, nir FROM {t} ORDER BY datetime, chunk_y, chunk_x"
        )
    };
    let a = concat(&sql(&ctx, &q("local")).await);
    let b = concat(&sql(&ctx, &q("remote")).await);
    assert_eq!(a.num_rows(), b.num_rows());
    for c in 0..a.num_columns() {
        assert_eq!(a.column(c).to_data(), b.column(c).to_data(), "column {c}");
    }

    // One chunk of one band: only red files, only ranges, a small part of them.
    let w = remote.scenes[0].window;
    let cx = ((w[0] + w[2]) / 2 / i64::from(remote.grid.chunk_width)) as i32;
    let cy = ((w[1] + w[3]) / 2 / i64::from(remote.grid.chunk_height)) as i32;
    server.clear();
    let plan = ctx
        .sql(&format!(
            "SELECT red FROM remote WHERE chunk_x = {cx} AND chunk_y = {cy}"
        ))
        .await
        .expect("plan")
        .create_physical_plan()
        .await
        .expect("physical");
    let rows = collect(Arc::clone(&plan), ctx.task_ctx())
        .await
        .expect("run");
    assert!(rows.iter().map(|r| r.num_rows()).sum::<usize>() > 0);
    let log = server.requests();
    let gets: Vec<_> = log.iter().filter(|r| r["method"] == "GET").collect();
    assert!(!gets.is_empty());
    for r in &gets {
        let path = r["path"].as_str().expect("path");
        assert!(path.ends_with("/red.tif"), "only red is read: {path}");
        assert!(r["range"].is_string(), "range requests only: {r}");
        assert_eq!(r["status"], 206, "{r}");
    }
    let scan = find_scan(&plan).expect("scan");
    let metrics = ExecutionPlan::metrics(scan).expect("metrics");
    let counted = metrics
        .sum_by_name("range_requests")
        .map_or(0, |v| v.as_usize())
        + metrics
            .sum_by_name("headers_opened")
            .map_or(0, |v| v.as_usize());
    assert_eq!(gets.len(), counted, "the server saw what the scan counted");
    let size = |p: &str| {
        let rel = p.trim_start_matches("/cube/");
        std::fs::metadata(root.join(rel)).expect("size").len()
    };
    // Bytes served: a range past the end of the file is cut at the end.
    let fetched: u64 = gets
        .iter()
        .map(|r| {
            let range = r["range"].as_str().expect("range");
            let (a, b) = range
                .trim_start_matches("bytes=")
                .split_once('-')
                .expect("a-b");
            let end = b
                .parse::<u64>()
                .expect("end")
                .min(size(r["path"].as_str().expect("p")) - 1);
            end + 1 - a.parse::<u64>().expect("start")
        })
        .sum();
    let touched: std::collections::BTreeSet<&str> = gets
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    let total: u64 = touched.iter().map(|p| size(p)).sum();
    eprintln!(
        "one chunk of one band over S3: {} range GETs, {fetched} of {total} bytes of {} files",
        gets.len(),
        touched.len()
    );
    assert!(fetched * 2 < total, "fetched {fetched} of {total} bytes");

    // Outputs go to object-store URLs too: a COG and its STAC item written to S3 are
    // the file written locally.
    let mosaic = |t: &str| {
        format!(
            "SELECT chunk_x, chunk_y, rs_first(red) AS red FROM {t} GROUP BY chunk_x, chunk_y"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let local_out = dir.path().join("first.tif");
    sql(
        &ctx,
        &format!(
            "COPY ({}) TO '{}' STORED AS COG",
            mosaic("local"),
            local_out.display()
        ),
    )
    .await;
    sql(
        &ctx,
        &format!(
            "COPY ({}) TO 's3://cube/out/first.tif' STORED AS COG",
            mosaic("remote")
        ),
    )
    .await;
    let remote_bytes = s3
        .get(&object_store::path::Path::from("out/first.tif"))
        .await
        .expect("the COG is on S3")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(
        remote_bytes.as_ref(),
        std::fs::read(&local_out).expect("local").as_slice()
    );
    let item = s3
        .get(&object_store::path::Path::from("out/first.json"))
        .await
        .expect("the STAC item is on S3")
        .bytes()
        .await
        .expect("bytes");
    let item: serde_json::Value = serde_json::from_slice(&item).expect("json");
    assert_eq!(item["assets"]["data"]["href"], "./first.tif");
}

#[tokio::test]
async fn a_catalogue_on_http_with_assets_in_a_public_bucket() {
    // The shape of the large public archives: STAC JSON on an HTTP server, the COGs
    // in a bucket anyone may read, no credentials at all.
    let cat = crate::generate(&swath_synth::SynthSpec::tiny());
    let root = cat.dir.path();
    let server = swath_tests::LoggedServer::start(
        "s3_server.py",
        &[
            "--bucket".as_ref(),
            "private".as_ref(),
            "--public".as_ref(),
            "open-data".as_ref(),
        ],
    );
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    let uploader = swath_tests::s3_client(&endpoint, "open-data");
    // COGs to the bucket; JSON to a directory served over HTTP, hrefs pointing at S3.
    let served = tempfile::tempdir().expect("dir");
    for (p, rel) in swath_tests::files_under(root) {
        if rel.ends_with(".tif") {
            let bytes = std::fs::read(&p).expect("read");
            uploader
                .put(&object_store::path::Path::from(rel.as_str()), bytes.into())
                .await
                .expect("upload");
        } else if rel.ends_with(".json") {
            let text = std::fs::read_to_string(&p).expect("read");
            let text = text.replace("\"../data/", "\"s3://open-data/data/");
            let out = served.path().join(&rel);
            std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
            std::fs::write(out, text).expect("write");
        }
    }
    let http = crate::http::Http::serve(served.path(), &[]);
    let name = cat
        .collection
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let ctx = context(2).await;
    create(&ctx, "local", &cat.collection, "bands 'red,nir,scl'").await;
    let q = format!(
        "CREATE EXTERNAL TABLE remote STORED AS STAC LOCATION '{}' OPTIONS (bands 'red,nir,scl', \
         chunk_size '32', 'aws.endpoint' '{endpoint}', 'aws.region' 'us-east-1', \
         'aws.skip_signature' 'true')",
        http.url(&name)
    );
    sql(&ctx, &q).await;
    let remote = def(&ctx, "remote").await;
    assert!(
        remote.scenes[0].assets[0]
            .as_ref()
            .expect("red")
            .href
            .starts_with("s3://open-data/")
    );
    let composite = |t: &str| {
        format!(
            "SELECT chunk_x, chunk_y, rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red \
             FROM {t} GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x"
        )
    };
    let a = concat(&sql(&ctx, &composite("local")).await);
    let b = concat(&sql(&ctx, &composite("remote")).await);
    assert_eq!(a.num_rows(), b.num_rows());
    for c in 0..a.num_columns() {
        assert_eq!(a.column(c).to_data(), b.column(c).to_data(), "column {c}");
    }
    // Every COG request went to the public bucket, unsigned, and succeeded.
    let log = server.requests();
    let gets: Vec<_> = log
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"].as_str().is_some_and(|p| p.ends_with(".tif"))
        })
        .collect();
    assert!(!gets.is_empty());
    assert!(
        gets.iter().all(|r| r["status"] == 206
            && r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/open-data/"))),
        "{gets:?}"
    );
}
