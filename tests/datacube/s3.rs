//! Remote data: the same table over a real S3-compatible server on loopback (moto),
//! with its request log showing that only the needed COG tiles are fetched.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::physical_plan::{ExecutionPlan, collect};
use object_store::ObjectStoreExt;
use object_store::aws::AmazonS3Builder;

use crate::table::find_scan;
use crate::{context, create, def, sql};

struct Server {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bucket: &str) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("requests.jsonl");
    let mut child = Command::new(swath_tests::python())
        .arg(swath_tests::repo_root().join("tests/scripts/s3_server.py"))
        .args(["--bucket", bucket, "--log"])
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the S3 server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port");
    let port = line.trim().parse().expect("a port number");
    Server {
        child,
        port,
        log,
        _dir: dir,
    }
}

fn requests(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
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
    let s3 = AmazonS3Builder::new()
        .with_bucket_name("cube")
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .expect("S3 client");
    let root = cat.dir.path();
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    for f in &files {
        let key = f
            .strip_prefix(root)
            .expect("inside")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(f).expect("read");
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
    std::fs::write(&server.log, "").expect("clear the log");
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
    let log = requests(&server.log);
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
