//! The `swath` binary as a user runs it: exit status and what it prints (`info`
//! here; the shell and the demo in `shell`).

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

use std::path::Path;
use std::process::Command;

mod bench;
mod cluster;
mod dashboard;
mod deploy;
mod serve;
mod shell;

fn swath() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swath"))
}

/// Run `swath` with `args` and require success; returns stdout.
fn run_ok<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = swath().args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/geotiff")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn info_prints_text_and_json() {
    let out = swath()
        .args(["info", &fixture("cog_u16_deflate_p2.tif")])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Size: 150 x 110, 1 band(s) of uint16"),
        "{text}"
    );
    assert!(text.contains("CRS: EPSG:32633"), "{text}");
    assert!(text.contains("Overviews: 75x55, 37x27, 18x13"), "{text}");

    let out = swath()
        .args([
            "info",
            "--json",
            "--stats",
            &fixture("cog_u16_deflate_p2.tif"),
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["crs"], "EPSG:32633");
    assert_eq!(json["overviews"], serde_json::json!([2, 4, 8]));
    assert!(
        json["stats"][0]["valid_count"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
}

#[test]
fn info_reads_file_urls() {
    let path =
        std::fs::canonicalize(fixture("u16_deflate_p2_tiled.tif")).expect("fixture");
    let url = format!("file://{}", path.display());
    let stdout = run_ok(["info", "--json", &url]);
    let json: serde_json::Value = serde_json::from_slice(&stdout).expect("valid JSON");
    assert_eq!(json["width"], 50);
    assert_eq!(json["dtype"], "uint16");
}

#[test]
fn unreadable_files_exit_1_with_one_line() {
    for bad in ["/no/such/file.tif", env!("CARGO_MANIFEST_DIR")] {
        let out = swath().args(["info", bad]).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("Error: "), "{err}");
        assert!(out.stdout.is_empty());
    }
    let not_tiff = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = swath()
        .args(["info", &not_tiff.to_string_lossy()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a TIFF file"));
}

/// A test server script (`tests/scripts/…`) on 127.0.0.1, stopped when dropped.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(script: &str, args: &[&std::ffi::OsStr]) -> Server {
    use std::io::BufRead;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = Command::new(bench::python(&repo))
        .arg(repo.join("tests/scripts").join(script))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port");
    let port = line.trim().parse().expect("a port number");
    Server { child, port }
}

#[test]
fn info_reads_http_and_s3_urls() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("log.jsonl");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/geotiff");
    let local: serde_json::Value = serde_json::from_slice(&run_ok([
        "info",
        "--json",
        "--stats",
        &fixture("cog_u16_deflate_p2.tif"),
    ]))
    .expect("JSON");
    let same = |remote: &serde_json::Value| {
        for key in [
            "width",
            "height",
            "dtype",
            "crs",
            "transform",
            "overviews",
            "stats",
        ] {
            assert_eq!(remote[key], local[key], "{key}");
        }
    };

    // HTTP with Range support.
    let http = start_server(
        "http_server.py",
        &[
            "--root".as_ref(),
            root.as_os_str(),
            "--log".as_ref(),
            log.as_os_str(),
        ],
    );
    let url = format!("http://127.0.0.1:{}/cog_u16_deflate_p2.tif", http.port);
    let remote: serde_json::Value =
        serde_json::from_slice(&run_ok(["info", "--json", "--stats", &url]))
            .expect("JSON");
    same(&remote);
    let missing = format!("http://127.0.0.1:{}/nope.tif", http.port);
    let out = swath().args(["info", &missing]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope.tif") && err.to_lowercase().contains("not found"),
        "{err}"
    );

    // S3 (moto): with keys from the environment, and unsigned (AWS_NO_SIGN_REQUEST).
    let s3 = start_server(
        "s3_server.py",
        &[
            "--bucket".as_ref(),
            "geo".as_ref(),
            "--public".as_ref(),
            "open-data".as_ref(),
            "--log".as_ref(),
            dir.path().join("s3.jsonl").as_os_str(),
        ],
    );
    let endpoint = format!("http://127.0.0.1:{}", s3.port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use object_store::ObjectStoreExt;
        let bytes = std::fs::read(fixture("cog_u16_deflate_p2.tif")).expect("fixture");
        for bucket in ["geo", "open-data"] {
            let store = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_endpoint(&endpoint)
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .build()
                .expect("S3 client");
            store
                .put(
                    &object_store::path::Path::from("a/cog.tif"),
                    bytes.clone().into(),
                )
                .await
                .expect("upload");
        }
    });
    let info = |url: &str, unsigned: bool| {
        let mut cmd = swath();
        cmd.args(["info", "--json", "--stats", url])
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_REGION", "us-east-1");
        if unsigned {
            cmd.env("AWS_NO_SIGN_REQUEST", "YES");
        } else {
            cmd.env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "s3cr3t-key");
        }
        cmd.output().expect("run")
    };
    for (url, unsigned) in [
        ("s3://geo/a/cog.tif", false),
        ("s3://open-data/a/cog.tif", true),
    ] {
        let out = info(url, unsigned);
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        same(&serde_json::from_slice(&out.stdout).expect("JSON"));
    }
    // Unsigned on the private bucket: refused, and the error says which credentials
    // were tried.
    let out = info("s3://geo/a/cog.tif", true);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403") && err.contains("s3://geo/a/cog.tif"),
        "{err}"
    );
    assert!(
        err.contains("credentials tried: anonymous (AWS_NO_SIGN_REQUEST)"),
        "{err}"
    );
    let out = swath()
        .args(["info", "gopher://127.0.0.1/x.tif"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown scheme"), "{err}");
}

#[test]
fn index_writes_a_sidecar_that_tables_use() {
    let dir = tempfile::tempdir().expect("dir");
    let cat = swath_synth::generate(dir.path(), &swath_synth::SynthSpec::tiny())
        .expect("catalogue");
    let collection = cat.collection.to_string_lossy().into_owned();
    let out = run_ok(["index", &collection, "--bands", "red"]);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("Indexed "), "{text}");
    let sidecar = cat.collection.with_file_name("collection.headers.parquet");
    assert!(sidecar.exists(), "{text}");

    let sql = format!(
        "CREATE EXTERNAL TABLE s STORED AS STAC LOCATION '{collection}' OPTIONS (bands 'red');\
         EXPLAIN ANALYZE SELECT rs_tile_count(red) FROM s"
    );
    let out =
        String::from_utf8_lossy(&run_ok(["-c", &sql, "--format", "csv"])).into_owned();
    let metric = |name: &str| -> usize {
        out.split(&format!("{name}="))
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<usize>()
                    .expect("a count")
            })
            .sum()
    };
    assert!(metric("headers_indexed") > 0, "{out}");
    assert_eq!(metric("headers_opened"), 0, "{out}");

    // A remote catalogue needs -o.
    let o = swath()
        .args(["index", "http://127.0.0.1:9/collection.json"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("-o"));
}
