//! Shared helpers for Swath's end-to-end tests: fixture paths, local readers, the
//! project's Python environment (GDAL via rasterio) and a request-counting reader.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail loudly on a broken environment"
)]

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::local::LocalFileSystem;
use swath_geotiff::{ObjectReader, RangeReader};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory of GDAL-written GeoTIFF fixtures.
pub fn geotiff_fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/geotiff")
}

/// A reader over a local file through `object_store`'s local file system.
pub fn local_reader(path: &Path) -> Arc<ObjectReader> {
    let canonical = path.canonicalize().expect("fixture path exists");
    let location = object_store::path::Path::from_filesystem_path(&canonical)
        .expect("path converts to an object_store path");
    Arc::new(ObjectReader::new(
        Arc::new(LocalFileSystem::new()),
        location,
    ))
}

/// The Python interpreter of the project's virtualenv (numpy, rasterio, rio-cogeo),
/// created on first use by `scripts/py-env`.
pub fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/py-env"))
            .output()
            .expect("scripts/py-env runs");
        assert!(
            out.status.success(),
            "scripts/py-env failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("py-env prints the python path")
                .trim(),
        )
    })
}

/// Run `tests/scripts/gdal_describe.py` on a file and parse its JSON.
pub fn gdal_describe(file: &Path, validate_cog: bool) -> serde_json::Value {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/scripts/gdal_describe.py"))
        .arg(file);
    if validate_cog {
        cmd.arg("--validate-cog");
    }
    let out = cmd.output().expect("gdal_describe.py runs");
    assert!(
        out.status.success(),
        "gdal_describe.py {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("gdal_describe.py prints JSON")
}

/// Wraps a reader and counts the range requests and bytes it serves.
#[derive(Debug)]
pub struct CountingReader<R> {
    inner: R,
    /// Requests served (a prefix counts as one, a batch of n ranges as n).
    pub requests: AtomicUsize,
    /// Bytes served.
    pub bytes: AtomicU64,
}

impl<R> CountingReader<R> {
    /// Count the requests made to `inner`.
    pub fn new(inner: R) -> Self {
        CountingReader {
            inner,
            requests: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Requests so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Bytes so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
}

impl<R: RangeReader> RangeReader for CountingReader<R> {
    fn prefix(&self, len: u64) -> BoxFuture<'_, swath_geotiff::Result<(Bytes, u64)>> {
        async move {
            let got = self.inner.prefix(len).await?;
            self.requests.fetch_add(1, Ordering::SeqCst);
            self.bytes.fetch_add(got.0.len() as u64, Ordering::SeqCst);
            Ok(got)
        }
        .boxed()
    }

    fn ranges(
        &self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, swath_geotiff::Result<Vec<Bytes>>> {
        async move {
            let n = ranges.len();
            let got = self.inner.ranges(ranges).await?;
            self.requests.fetch_add(n, Ordering::SeqCst);
            let total: u64 = got.iter().map(|b| b.len() as u64).sum();
            self.bytes.fetch_add(total, Ordering::SeqCst);
            Ok(got)
        }
        .boxed()
    }
}

/// Run `tests/scripts/<script>` with `args` in the test virtualenv and parse the JSON
/// it prints; panics with its stderr when it fails.
pub fn script_json(script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = Command::new(python())
        .arg(repo_root().join("tests/scripts").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// A test server script (`tests/scripts/NAME`) started on 127.0.0.1 with a JSON-lines
/// request log; it prints its port (or URL), and stops when this is dropped (its stdin closes
/// and the process is killed).
pub struct LoggedServer {
    child: std::process::Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its request log.
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LoggedServer {
    /// Start `tests/scripts/{script}` with `args` and `--log FILE`.
    pub fn start(script: &str, args: &[&std::ffi::OsStr]) -> LoggedServer {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("requests.jsonl");
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/scripts").join(script))
            .args(args)
            .arg("--log")
            .arg(&log)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        // A port number, or `http://127.0.0.1:PORT`.
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{script} did not start: {line:?}"));
        LoggedServer {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// The requests logged so far.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    /// Forget the requests logged so far.
    pub fn clear(&self) {
        std::fs::write(&self.log, "").expect("clear the log");
    }
}

/// Every file under `root`, as its path and its `/`-separated path relative to `root`,
/// sorted.
pub fn files_under(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((p, rel));
            }
        }
    }
    out.sort();
    out
}

/// An S3 client for `bucket` on a test server at `endpoint` (moto takes any keys).
pub fn s3_client(endpoint: &str, bucket: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .expect("S3 client")
}
