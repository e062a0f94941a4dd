//! Remote data over HTTP: a catalogue and its COGs served by a real HTTP server with
//! Range support on loopback (tests/scripts/http_server.py), read through the
//! session's store registry with no store registered by hand. Results equal the
//! local catalogue's; the server's request log shows what each query fetched.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use serde_json::Value;

use crate::table::find_scan;
use crate::{context, create, def, sql, sql_err};

/// The test HTTP server (tests/scripts/http_server.py); stopped when dropped.
pub struct Http(swath_tests::LoggedServer);

impl std::ops::Deref for Http {
    type Target = swath_tests::LoggedServer;
    fn deref(&self) -> &swath_tests::LoggedServer {
        &self.0
    }
}

impl Http {
    /// Serve `root` with the script's extra `args` (`--no-range`, `--fail 2`, …).
    pub fn serve(root: &Path, args: &[&str]) -> Http {
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "--root".as_ref(),
            root.as_os_str(),
            "--lifetime".as_ref(),
            "600".as_ref(),
        ];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        Http(swath_tests::LoggedServer::start("http_server.py", &all))
    }

    /// `http://127.0.0.1:port/rel`.
    pub fn url(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}/{rel}", self.port)
    }
}

fn concat(v: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&v[0].schema(), v).expect("concat")
}

fn assert_same(a: &[RecordBatch], b: &[RecordBatch], what: &str) {
    let (a, b) = (concat(a), concat(b));
    assert_eq!(a.num_rows(), b.num_rows(), "{what}: rows");
    assert!(a.num_rows() > 0, "{what}: no rows");
    for c in 0..a.num_columns() {
        assert_eq!(
            a.column(c).to_data(),
            b.column(c).to_data(),
            "{what}: column {c}"
        );
    }
}

fn tif_requests(log: &[Value]) -> Vec<&Value> {
    log.iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(".tif")))
        .collect()
}

/// A catalogue with granules large enough that a chunk is a small part of a file.
fn catalogue() -> crate::Catalog {
    let mut spec = swath_synth::SynthSpec::tiny();
    spec.size = 512;
    spec.block_size = 64;
    spec.dates = 2;
    crate::generate(&spec)
}

/// Item JSON with its `../data/…` hrefs made absolute on `base` and signed.
fn sign_hrefs(text: &str, base: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\"../data/") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find('"').expect("closing quote");
        let href = &after[..end];
        out.push('"');
        out.push_str(base);
        out.push_str(href.trim_start_matches("../"));
        out.push_str("?sig=s3cr3t\"");
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The first item's data directory (`data/<id>/`, holding `red.tif`, …).
fn first_item_dir(root: &Path) -> PathBuf {
    std::fs::read_dir(root.join("data"))
        .expect("data directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("red.tif").exists())
        .min()
        .expect("an item directory")
}

/// The error of `query` over a table at `url` (with `opts`) while the first item's
/// `red.tif` is missing; the file is put back afterwards.
async fn error_with_red_missing(
    root: &Path,
    url: &str,
    opts: &str,
    query: &str,
) -> String {
    let red = first_item_dir(root).join("red.tif");
    let saved = std::fs::read(&red).expect("red");
    std::fs::remove_file(&red).expect("remove");
    let ctx = context(1).await;
    create_url(&ctx, "t", url, opts).await;
    let err = sql_err(&ctx, query).await;
    std::fs::write(&red, saved).expect("restore");
    err
}

fn collection_name(cat: &crate::Catalog) -> String {
    cat.collection
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

async fn create_url(ctx: &SessionContext, name: &str, url: &str, opts: &str) {
    sql(
        ctx,
        &format!("CREATE EXTERNAL TABLE {name} STORED AS STAC LOCATION '{url}' OPTIONS ({opts})"),
    )
    .await;
}

/// Run `q`; its rows and the datacube scan's request counters.
async fn counted(
    ctx: &SessionContext,
    q: &str,
) -> (
    Vec<RecordBatch>,
    std::collections::HashMap<&'static str, usize>,
) {
    let plan = ctx
        .sql(q)
        .await
        .expect("plan")
        .create_physical_plan()
        .await
        .expect("physical");
    let rows = collect(Arc::clone(&plan), ctx.task_ctx())
        .await
        .expect("run");
    let scan = find_scan(&plan).expect("scan");
    let m = ExecutionPlan::metrics(scan).expect("metrics");
    let counters = ["headers_opened", "headers_indexed", "range_requests"]
        .into_iter()
        .map(|k| (k, m.sum_by_name(k).map_or(0, |v| v.as_usize())))
        .collect();
    (rows, counters)
}

const COMPOSITE: &str = "SELECT chunk_x, chunk_y, \
     rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red, \
     rs_median(rs_mask(nir, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS nir \
     FROM {t} GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x";

const SERIES: &str = "SELECT solar_day, chunk_x, chunk_y, \
     rs_tile_mean(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10))) AS ndvi, \
     rs_tile_count(red) AS valid FROM {t} ORDER BY solar_day, chunk_y, chunk_x";

#[tokio::test]
async fn tables_over_http_equal_the_local_catalogue_with_counted_requests() {
    let cat = catalogue();
    let server = Http::serve(cat.dir.path(), &[]);
    let url = server.url(&collection_name(&cat));
    let ctx = context(2).await;
    create(&ctx, "local", &cat.collection, "bands 'red,nir,scl'").await;

    // CREATE reads the catalogue's JSON and no asset: the catalogue describes the
    // grids (proj:*) and the bands (raster:bands).
    server.clear();
    create_url(&ctx, "remote", &url, "bands 'red,nir,scl', chunk_size '64'").await;
    let log = server.requests();
    assert!(!log.is_empty());
    assert!(
        tif_requests(&log).is_empty(),
        "CREATE touched an asset: {log:?}"
    );
    let (local, remote) = (def(&ctx, "local").await, def(&ctx, "remote").await);
    assert_eq!(local.grid, remote.grid);
    assert!(
        remote.scenes[0].assets[0]
            .as_ref()
            .expect("red")
            .href
            .starts_with(&server.url(""))
    );

    // Without chunk_size, a remote catalogue that describes its bands gets 512² chunks
    // (the local one reads the first header for its 64² tiles); still no asset read.
    server.clear();
    create_url(&ctx, "remote512", &url, "bands 'red'").await;
    assert!(tif_requests(&server.requests()).is_empty());
    assert_eq!(def(&ctx, "remote512").await.grid.chunk_width, 512);
    assert_eq!(local.grid.chunk_width, 64);

    // Metadata-only queries read no pixel.
    server.clear();
    let counts = sql(&ctx, "SELECT count(*) AS n, min(datetime) AS t FROM remote").await;
    let local_counts =
        sql(&ctx, "SELECT count(*) AS n, min(datetime) AS t FROM local").await;
    assert_same(&counts, &local_counts, "metadata");
    assert!(
        tif_requests(&server.requests()).is_empty(),
        "a count read pixels"
    );

    for q in [SERIES, COMPOSITE] {
        let a = sql(&ctx, &q.replace("{t}", "local")).await;
        let b = sql(&ctx, &q.replace("{t}", "remote")).await;
        assert_same(&a, &b, q);
    }

    // Requests of the composite in a new session: one header request per file (the
    // first 64 KiB), then tile ranges, all counted by the scan.
    let ctx = context(2).await;
    create_url(&ctx, "remote", &url, "bands 'red,nir,scl', chunk_size '64'").await;
    server.clear();
    let (_, m) = counted(&ctx, &COMPOSITE.replace("{t}", "remote")).await;
    let (headers, ranges) = (m["headers_opened"], m["range_requests"]);
    let log = server.requests();
    let tifs = tif_requests(&log);
    assert!(
        tifs.iter()
            .all(|r| r["method"] == "GET" && r["status"] == 206),
        "{tifs:?}"
    );
    assert_eq!(
        tifs.len(),
        headers + ranges,
        "the server saw what the scan counted"
    );
    let files: std::collections::BTreeSet<&str> = tifs
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    let prefixes: Vec<&str> = tifs
        .iter()
        .filter(|r| {
            r["range"]
                .as_str()
                .is_some_and(|g| g.starts_with("bytes=0-"))
        })
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    assert_eq!(headers, files.len(), "one header per file");
    assert_eq!(
        prefixes.len(),
        files.len(),
        "one header request per file: {prefixes:?}"
    );
    eprintln!(
        "composite over HTTP: {} files, {headers} header + {ranges} tile requests",
        files.len()
    );

    // The same query again in the same session: headers come from the session's
    // cache, only tiles are fetched.
    server.clear();
    let (_, m) = counted(&ctx, &COMPOSITE.replace("{t}", "remote")).await;
    let (headers2, ranges2) = (m["headers_opened"], m["range_requests"]);
    let log = server.requests();
    assert_eq!(headers2, 0);
    assert_eq!(ranges2, ranges);
    assert_eq!(tif_requests(&log).len(), ranges);
}

#[tokio::test]
async fn http_faults_end_in_clear_errors_or_retries() {
    let cat = swath_synth::SynthSpec::tiny();
    let cat = crate::generate(&cat);
    let name = collection_name(&cat);
    let root = cat.dir.path();
    let ctx = context(1).await;
    create(&ctx, "local", &cat.collection, "bands 'red'").await;
    let expected = sql(&ctx, "SELECT chunk_x, chunk_y, rs_first(red) AS red FROM local GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x").await;
    let query = "SELECT chunk_x, chunk_y, rs_first(red) AS red FROM t GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x";

    // 503s are retried: every file's first two requests fail.
    {
        let server = Http::serve(root, &["--fail", "2"]);
        let ctx = context(1).await;
        create_url(
            &ctx,
            "t",
            &server.url(&name),
            "bands 'red', chunk_size '32', 'http.retry_delay' '10ms'",
        )
        .await;
        let got = sql(&ctx, query).await;
        assert_same(&expected, &got, "after 503s");
        let log = server.requests();
        assert!(log.iter().any(|r| r["status"] == 503));
    }

    // A server without Range support: small files are read whole.
    {
        let server = Http::serve(root, &["--no-range"]);
        let ctx = context(1).await;
        create_url(
            &ctx,
            "t",
            &server.url(&name),
            "bands 'red', chunk_size '32'",
        )
        .await;
        let got = sql(&ctx, query).await;
        assert_same(&expected, &got, "no Range support");
        assert!(
            tif_requests(&server.requests())
                .iter()
                .all(|r| r["status"] == 200)
        );
    }

    // A token in the query string (the signed-URL pattern): refused without it, and
    // the error names the URL and which credentials were tried, never the token.
    {
        let server = Http::serve(root, &["--require-query", "sig=s3cr3t"]);
        let ctx = context(1).await;
        let err = sql_err(
            &ctx,
            &format!(
                "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '{}'",
                server.url(&name)
            ),
        )
        .await;
        assert!(
            err.contains("403") && err.contains(&server.url(&name)),
            "{err}"
        );
        assert!(err.contains("credentials tried: none"), "{err}");
        server.clear();
        create_url(
            &ctx,
            "t",
            &server.url(&name),
            "bands 'red', chunk_size '32', 'http.query' 'sig=s3cr3t'",
        )
        .await;
        let got = sql(&ctx, query).await;
        assert_same(&expected, &got, "with the token");
        let plan = sql(&ctx, &format!("EXPLAIN {query}")).await;
        let text = arrow::util::pretty::pretty_format_batches(&plan)
            .expect("text")
            .to_string();
        assert!(!text.contains("s3cr3t"), "the token is in the plan: {text}");
        let log = server.requests();
        assert!(log.iter().all(|r| r["query"] == "sig=s3cr3t"), "{log:?}");
        // The same token as a session setting; SHOW masks it.
        let ctx = context(1).await;
        sql(&ctx, "SET swath.store.http.query = 'sig=s3cr3t'").await;
        create_url(
            &ctx,
            "t",
            &server.url(&name),
            "bands 'red', chunk_size '32'",
        )
        .await;
        assert_same(&expected, &sql(&ctx, query).await, "with a session token");
        let shown = sql(
            &ctx,
            "SELECT value FROM information_schema.df_settings WHERE name = 'swath.store.http.query'",
        )
        .await;
        let shown = arrow::util::pretty::pretty_format_batches(&shown)
            .expect("text")
            .to_string();
        assert!(
            shown.contains("***") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        let err = sql_err(&ctx, "SET swath.store.ftp.user = 'x'").await;
        assert!(err.contains("not a store setting"), "{err}");
        // An error about a signed request shows the URL without the token.
        let err = error_with_red_missing(
            root,
            &server.url(&name),
            "bands 'red', chunk_size '32', 'http.query' 'sig=s3cr3t'",
            query,
        )
        .await;
        assert!(err.contains("red.tif"), "{err}");
        assert!(!err.contains("s3cr3t"), "the token is in the error: {err}");
    }

    // Signed asset hrefs (`…/red.tif?sig=…`, as the large archives hand out): each
    // request carries its href's own query; errors do not show it.
    {
        let signed = tempfile::tempdir().expect("dir");
        let server = Http::serve(
            root,
            &[
                "--require-query",
                "sig=s3cr3t",
                "--require-query-for",
                ".tif",
            ],
        );
        let base = server.url("");
        for (p, rel) in swath_tests::files_under(root) {
            if rel.ends_with(".json") {
                // Absolute, signed hrefs: `../data/<id>/red.tif` → `http://…/data/<id>/red.tif?sig=…`.
                let text = std::fs::read_to_string(&p).expect("read");
                let text = sign_hrefs(&text, &base);
                let out = signed.path().join(&rel);
                std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
                std::fs::write(out, text).expect("write");
            }
        }
        let json_server = Http::serve(signed.path(), &[]);
        let ctx = context(1).await;
        create_url(
            &ctx,
            "t",
            &json_server.url(&name),
            "bands 'red', chunk_size '32'",
        )
        .await;
        assert_same(&expected, &sql(&ctx, query).await, "signed hrefs");
        let log = server.requests();
        assert!(
            !log.is_empty()
                && log
                    .iter()
                    .all(|r| r["query"] == "sig=s3cr3t" && r["status"] == 206),
            "{log:?}"
        );
        let err = error_with_red_missing(
            root,
            &json_server.url(&name),
            "bands 'red', chunk_size '32'",
            query,
        )
        .await;
        assert!(err.contains("red.tif") && !err.contains("s3cr3t"), "{err}");
    }

    // A missing asset: the error names it.
    {
        let red = first_item_dir(root).join("red.tif");
        let server = Http::serve(root, &[]);
        let ctx = context(1).await;
        create_url(
            &ctx,
            "t",
            &server.url(&name),
            "bands 'red', chunk_size '32'",
        )
        .await;
        let saved = std::fs::read(&red).expect("red");
        std::fs::remove_file(&red).expect("remove");
        let err = sql_err(&ctx, query).await;
        std::fs::write(&red, saved).expect("restore");
        assert!(
            err.contains("red.tif") && err.contains("127.0.0.1"),
            "{err}"
        );
        assert!(err.to_lowercase().contains("not found"), "{err}");
    }

    // A server that never answers: the timeout ends the query, bounded.
    {
        let item_dir = first_item_dir(root);
        let rel = format!(
            "/data/{}/red.tif",
            item_dir.file_name().expect("name").to_string_lossy()
        );
        let server = Http::serve(root, &["--stall", &rel]);
        let ctx = context(1).await;
        create_url(
            &ctx,
            "t",
            &server.url(&name),
            "bands 'red', chunk_size '32', 'http.timeout' '1s', 'http.max_retries' '1', 'http.retry_delay' '10ms'",
        )
        .await;
        let start = Instant::now();
        let err = sql_err(&ctx, query).await;
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "took {:?}",
            start.elapsed()
        );
        assert!(err.contains("red.tif"), "{err}");
        assert!(
            err.to_lowercase().contains("timed out") || err.contains("timeout"),
            "{err}"
        );
    }

    // Nothing listens: a clear error naming the URL, quickly.
    let ctx = context(1).await;
    let start = Instant::now();
    let err = sql_err(
        &ctx,
        "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION 'http://127.0.0.1:9/collection.json' \
         OPTIONS ('http.max_retries' '1', 'http.retry_delay' '10ms')",
    )
    .await;
    assert!(err.contains("http://127.0.0.1:9/collection.json"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30));

    // An unknown scheme and an unknown store setting.
    let err = sql_err(
        &ctx,
        "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION 'ftp://127.0.0.1/c.json'",
    )
    .await;
    assert!(
        err.contains("unknown scheme") && err.contains("ftp"),
        "{err}"
    );
    let err = sql_err(
        &ctx,
        &format!("CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '{}' OPTIONS ('http.bogus' '1')", cat.collection.display()),
    )
    .await;
    assert!(
        err.contains("http.bogus") && err.contains("http.timeout"),
        "{err}"
    );
}

#[tokio::test]
async fn a_header_index_makes_repeat_queries_without_header_requests() {
    use swath_engine::cube::index;
    use swath_engine::cube::read::HeaderCache;

    let cat = catalogue();
    let server = Http::serve(cat.dir.path(), &[]);
    let url = server.url(&collection_name(&cat));
    let opts = "bands 'red,nir,scl', chunk_size '64'";
    let out = tempfile::tempdir().expect("dir");
    let index_path = out.path().join("headers.parquet");
    let index_url = url::Url::from_file_path(&index_path).expect("url");

    // First process: the query reads every header it needs; they are persisted.
    let ctx = context(2).await;
    create_url(&ctx, "remote", &url, opts).await;
    let first = sql(&ctx, &COMPOSITE.replace("{t}", "remote")).await;
    let def = def(&ctx, "remote").await;
    let hrefs: std::collections::BTreeSet<String> = def
        .scenes
        .iter()
        .flat_map(|s| s.assets.iter().flatten().map(|a| a.href.clone()))
        .collect();
    let state = ctx.state();
    let cache = state
        .config()
        .get_extension::<HeaderCache>()
        .expect("cache");
    let entries = cache.snapshots_of(hrefs.iter().map(String::as_str));
    assert_eq!(entries.len(), hrefs.len(), "every asset's header was read");
    let n = index::save(state.runtime_env(), &index_url, entries)
        .await
        .expect("save");
    assert_eq!(n, hrefs.len());

    // A new session with the index: no header request at all, the same result.
    let ctx = context(2).await;
    let with_index = format!("{opts}, header_index '{}'", index_path.display());
    create_url(&ctx, "remote", &url, &with_index).await;
    // Planning (EXPLAIN) counts the tiles from the index, with no request.
    server.clear();
    let planned = ctx
        .sql(&COMPOSITE.replace("{t}", "remote"))
        .await
        .expect("plan")
        .create_physical_plan()
        .await
        .expect("physical");
    let summary = find_scan(&planned).expect("scan").spec().summary.clone();
    assert!(server.requests().is_empty(), "planning made a request");
    assert_eq!(summary.reads_known, summary.reads);
    assert!(summary.tiles > 0 && summary.requests > 0, "{summary:?}");
    let explained = sql(
        &ctx,
        &format!("EXPLAIN {}", COMPOSITE.replace("{t}", "remote")),
    )
    .await;
    let text = arrow::util::pretty::pretty_format_batches(&explained)
        .expect("format")
        .to_string();
    assert!(
        text.contains(&format!(
            "in {} requests for {} tiles",
            summary.requests, summary.tiles
        )),
        "{text}"
    );
    server.clear();
    let (rows, m) = counted(&ctx, &COMPOSITE.replace("{t}", "remote")).await;
    // The query then makes those requests and fetches those bytes.
    let fetched: u64 = tif_requests(&server.requests())
        .iter()
        .filter_map(|r| r["range"].as_str()?.strip_prefix("bytes=")?.split_once('-'))
        .map(|(a, b)| {
            b.parse::<u64>().expect("end") + 1 - a.parse::<u64>().expect("start")
        })
        .sum();
    assert_eq!(fetched, summary.fetch_bytes);
    assert_eq!(m["range_requests"], summary.requests);
    let (opened, indexed, ranges) = (
        m["headers_opened"],
        m["headers_indexed"],
        m["range_requests"],
    );
    assert_same(&first, &rows, "from the index");
    assert_eq!(opened, 0, "no header read from the server");
    assert_eq!(indexed, hrefs.len());
    let log = server.requests();
    let tifs = tif_requests(&log);
    assert_eq!(tifs.len(), ranges, "only tile requests");
    assert!(
        tifs.iter().all(|r| !r["range"]
            .as_str()
            .is_some_and(|g| g.starts_with("bytes=0-"))),
        "a header request: {tifs:?}"
    );

    // A file changed after it was indexed: its first tile request fails its If-Match,
    // the header is read again, and the result is the changed catalogue's.
    let item_dir = first_item_dir(cat.dir.path());
    std::fs::copy(item_dir.join("nir.tif"), item_dir.join("red.tif"))
        .expect("replace red");
    let ctx = context(2).await;
    create(&ctx, "local", &cat.collection, opts).await;
    let expected = sql(&ctx, &COMPOSITE.replace("{t}", "local")).await;
    create_url(&ctx, "remote", &url, &with_index).await;
    server.clear();
    let (rows, m) = counted(&ctx, &COMPOSITE.replace("{t}", "remote")).await;
    let opened = m["headers_opened"];
    assert_same(&expected, &rows, "after the change");
    assert!(opened >= 1, "the changed file's header was read again");
    assert!(server.requests().iter().any(|r| r["status"] == 412));

    // A missing index named by the option is an error saying how to build one.
    let ctx = context(1).await;
    let err = sql_err(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '{url}' OPTIONS (header_index '{}')",
            out.path().join("none.parquet").display()
        ),
    )
    .await;
    assert!(err.contains("swath index"), "{err}");
}

/// Remove every `proj:*` field from a JSON value.
fn strip_proj(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with("proj:"));
            map.values_mut().for_each(strip_proj);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_proj),
        _ => {}
    }
}

#[tokio::test]
async fn items_without_proj_read_their_grid_only_when_a_query_reads_pixels() {
    let cat = catalogue();
    let ctx = context(2).await;
    let opts = "bands 'red', crs 'EPSG:32633', resolution '10', chunk_size '64'";
    create(
        &ctx,
        "local",
        &cat.collection,
        &format!("{opts}, anchor 'origin'"),
    )
    .await;
    // The same catalogue without any `proj:*` (older catalogues), over HTTP.
    let mut stripped = 0;
    for (path, rel) in swath_tests::files_under(cat.dir.path()) {
        if !rel.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let mut value: Value = serde_json::from_str(&text).expect("JSON");
        strip_proj(&mut value);
        std::fs::write(&path, value.to_string()).expect("write");
        stripped += 1;
    }
    assert!(stripped > 2);
    let server = Http::serve(cat.dir.path(), &[]);
    let url = server.url(&collection_name(&cat));

    // CREATE places the items by their bbox and reads no asset.
    server.clear();
    create_url(&ctx, "noproj", &url, opts).await;
    assert!(tif_requests(&server.requests()).is_empty());
    let d = def(&ctx, "noproj").await;
    assert!(
        d.scenes
            .iter()
            .all(|s| s.assets[0].as_ref().is_some_and(|a| a.grid_from_header))
    );

    // Metadata-only queries read no asset either.
    let meta = "SELECT count(DISTINCT item_id) AS items, min(datetime) AS first, \
                max(datetime) AS last FROM {t}";
    server.clear();
    let got = sql(&ctx, &meta.replace("{t}", "noproj")).await;
    assert!(tif_requests(&server.requests()).is_empty());
    assert_same(
        &got,
        &sql(&ctx, &meta.replace("{t}", "local")).await,
        "metadata",
    );

    // A query that reads pixels opens the headers for the grids; the pixels are
    // those of the catalogue that gives them.
    let pixels = "SELECT solar_day, sum(rs_tile_count(red)) AS n, sum(rs_tile_sum(red)) AS s \
                  FROM {t} GROUP BY solar_day ORDER BY solar_day";
    server.clear();
    let got = sql(&ctx, &pixels.replace("{t}", "noproj")).await;
    assert!(!tif_requests(&server.requests()).is_empty());
    assert_same(
        &got,
        &sql(&ctx, &pixels.replace("{t}", "local")).await,
        "pixels",
    );

    // With nothing to fix the grid (no proj:*, no crs/resolution options), CREATE
    // reads one header, the first item's.
    server.clear();
    create_url(&ctx, "first_header", &url, "bands 'red'").await;
    let log = server.requests();
    let files: std::collections::BTreeSet<&str> = tif_requests(&log)
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let d = def(&ctx, "first_header").await;
    assert_eq!(d.grid.resolution(), (10.0, 10.0));
    assert_eq!(d.grid.crs, "EPSG:32633");

    // The assets unreachable: that table cannot be made, and the error says how;
    // with `crs` and `resolution`, the table is made and answers metadata queries.
    drop(server);
    let server = Http::serve(
        cat.dir.path(),
        &["--require-query", "sig=none", "--require-query-for", ".tif"],
    );
    let url = server.url(&collection_name(&cat));
    let ctx = context(1).await;
    let err = sql_err(
        &ctx,
        &format!("CREATE EXTERNAL TABLE t STORED AS STAC LOCATION '{url}' OPTIONS (bands 'red')"),
    )
    .await;
    assert!(err.contains("`crs` and `resolution`"), "{err}");
    create_url(&ctx, "offline", &url, opts).await;
    create(&ctx, "here", &cat.collection, opts).await;
    let meta = "SELECT item_id, datetime, item_count, count(*) AS chunks FROM {t} \
                GROUP BY item_id, datetime, item_count ORDER BY datetime";
    assert_same(
        &sql(&ctx, &meta.replace("{t}", "offline")).await,
        &sql(&ctx, &meta.replace("{t}", "here")).await,
        "metadata with the assets unreachable",
    );
    let err = sql_err(&ctx, "SELECT sum(rs_tile_count(red)) FROM offline").await;
    assert!(err.contains("403"), "{err}");
}
