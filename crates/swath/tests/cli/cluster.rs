//! A cluster of real processes on loopback: `swath scheduler` and two `swath
//! executor`s started by the test, queried with `swath --cluster`; the results
//! equal the embedded engine's.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::swath;

/// A child process killed when dropped.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1 whose successor is free too.
pub(crate) fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = a.local_addr().expect("addr").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two free ports in a row");
}

pub(crate) fn start(args: &[&str], log: &std::path::Path) -> Process {
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_swath"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start");
    Process(child)
}

/// `swath [--cluster URL] --format csv -c SQL`: stdout, or the error text.
pub(crate) fn query(cluster: Option<&str>, sql: &str) -> Result<String, String> {
    let mut cmd = swath();
    if let Some(url) = cluster {
        cmd.args(["--cluster", url]);
    }
    let out = cmd
        .args(["--threads", "2", "--format", "csv", "-c", sql])
        .output()
        .expect("run");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A scheduler and executors on 127.0.0.1, started by a test; every process is
/// killed when this is dropped.
pub(crate) struct Cluster {
    /// The scheduler's `HOST:PORT`.
    scheduler: String,
    /// `df://HOST:PORT`.
    pub(crate) url: String,
    /// Executors (`None` once a test killed one) and their work directories.
    executors: Vec<Option<Process>>,
    work_dirs: Vec<std::path::PathBuf>,
    dir: std::path::PathBuf,
    /// The scheduler (`None` once a test killed it).
    scheduler_process: Option<Process>,
}

impl Cluster {
    /// A scheduler with `flags`, logging into `dir`, and `n` one-slot executors
    /// heartbeating every second, with `executor_flags`; returns once the cluster
    /// answers a query.
    pub(crate) fn start(
        dir: &std::path::Path,
        flags: &[&str],
        n: usize,
        executor_flags: &[&str],
    ) -> Cluster {
        let scheduler = format!("127.0.0.1:{}", free_port_pair());
        let mut args = vec!["scheduler", "--bind", &scheduler];
        args.extend_from_slice(flags);
        let process = start(&args, &dir.join("scheduler.log"));
        let mut cluster = Cluster {
            url: format!("df://{scheduler}"),
            scheduler,
            executors: Vec::new(),
            work_dirs: Vec::new(),
            dir: dir.to_path_buf(),
            scheduler_process: Some(process),
        };
        for _ in 0..n {
            cluster.add_executor(executor_flags);
        }
        // Bounded wait for the cluster to answer.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match query(Some(&cluster.url), "SELECT 41 + 1 AS answer") {
                Ok(out) if out.contains("42") => break,
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "the cluster did not answer: {other:?}\nscheduler: {}",
                        std::fs::read_to_string(dir.join("scheduler.log"))
                            .unwrap_or_default()
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        cluster
    }

    /// One more one-slot executor, with `flags`.
    /// The scheduler's `HOST:PORT`.
    pub(crate) fn scheduler_addr(&self) -> &str {
        &self.scheduler
    }

    fn add_executor(&mut self, flags: &[&str]) {
        let i = self.executors.len();
        let bind = format!("127.0.0.1:{}", free_port_pair());
        let work = self.dir.join(format!("work{i}"));
        std::fs::create_dir_all(&work).expect("work dir");
        let work_arg = work.display().to_string();
        let mut args = vec![
            "executor",
            "--scheduler",
            &self.scheduler,
            "--bind",
            &bind,
            "--concurrent-tasks",
            "1",
            "--heartbeat",
            "1",
            "--work-dir",
            &work_arg,
        ];
        args.extend_from_slice(flags);
        let process = start(&args, &self.dir.join(format!("executor{i}.log")));
        self.executors.push(Some(process));
        self.work_dirs.push(work);
    }
}

/// W2's masked medians of red and nir per chunk, summed per tile (a query with
/// a shuffle whose result is small enough to compare as text).
pub(crate) const W2_SUMS: &str = "SELECT chunk_x, chunk_y, \
     rs_tile_sum(rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10)))) AS red, \
     rs_tile_sum(rs_median(rs_mask(nir, rs_class_mask(scl, 0, 3, 8, 9, 10)))) AS nir \
     FROM s2 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x";

/// A synthetic catalogue of `size`-pixel granules over `dates` dates.
pub(crate) fn catalogue(dir: &std::path::Path, size: u32, dates: u32) -> String {
    let mut spec = swath_synth::SynthSpec::tiny();
    spec.size = size;
    spec.block_size = 64.min(size);
    spec.dates = dates;
    let cat = swath_synth::generate(&dir.join("cat"), &spec).expect("catalogue");
    cat.collection.display().to_string()
}

#[test]
fn scheduler_and_two_executors_answer_as_the_embedded_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collection = catalogue(dir.path(), 64, 4);
    // COPY on this cluster may write under `out/` only (the scheduler's rule).
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let out_arg = out.display().to_string();
    let mut cluster = Cluster::start(
        dir.path(),
        &["--executor-timeout", "10", "--output-root", &out_arg],
        2,
        &[],
    );
    let url = cluster.url.clone();

    let create = format!(
        "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
         OPTIONS (bands 'red,nir,scl', chunk_size '32');"
    );
    let queries = [
        // Metadata and a shuffle on chunk position.
        "SELECT chunk_x, chunk_y, count(*) AS obs, sum(rs_tile_count(red)) AS valid, \
         sum(rs_tile_sum(red)) AS total FROM s2 GROUP BY chunk_x, chunk_y \
         ORDER BY chunk_y, chunk_x",
        // A temporal reducer (a UDAF) across executors: W2's masked median.
        "SELECT chunk_x, chunk_y, \
         rs_tile_mean(rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10)))) AS red \
         FROM s2 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x",
        // W1's NDVI time series.
        "SELECT solar_day, \
         round(avg(rs_tile_mean(rs_mask(rs_ndvi(nir, red), \
         rs_class_mask(scl, 0, 3, 8, 9, 10)))), 9) AS ndvi \
         FROM s2 GROUP BY solar_day ORDER BY solar_day",
    ];
    for q in queries {
        let sql = format!("{create} {q}");
        let embedded = query(None, &sql).expect("embedded");
        let cluster = query(Some(&url), &sql).unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(embedded.lines().count() > 2, "{embedded}");
        assert_eq!(cluster, embedded, "{q}");
    }

    // The plan is the cluster's: a distributed query, not a local one.
    let plan = query(
        Some(&url),
        &format!("{create} EXPLAIN SELECT count(*) FROM s2"),
    )
    .expect("explain");
    assert!(
        plan.contains("distributed_plan") && plan.contains("ShuffleWriterExec"),
        "{plan}"
    );

    // COPY … STORED AS COG on the cluster: the executor that writes it gets the
    // sink through the codec; the pixels equal the embedded engine's file.
    let composite = "SELECT chunk_x, chunk_y, \
         rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red \
         FROM s2 GROUP BY chunk_x, chunk_y";
    let mut files = Vec::new();
    for (name, cluster) in [("cluster", Some(url.as_str())), ("embedded", None)] {
        let file = out.join(format!("{name}.tif"));
        let sql = format!(
            "{create} COPY ({composite}) TO '{}' STORED AS COG",
            file.display()
        );
        query(cluster, &sql).unwrap_or_else(|e| panic!("COPY ({name}): {e}"));
        files.push(file);
    }
    let outside = format!(
        "{create} COPY ({composite}) TO '{}' STORED AS COG",
        dir.path().join("outside.tif").display()
    );
    let err = query(Some(&url), &outside).expect_err("outside the output roots");
    assert!(
        err.contains("outside the allowed output locations"),
        "{err}"
    );
    assert!(!dir.path().join("outside.tif").exists());
    let (cluster_pixels, embedded_pixels) =
        (raster_bytes(&files[0]), raster_bytes(&files[1]));
    assert!(cluster_pixels.1 > 32 && cluster_pixels.2 > 32);
    // Grid, size and bands equal; then bit for bit (NaN is nodata, so compare
    // bytes, not floats).
    assert_eq!(
        (
            &cluster_pixels.0,
            cluster_pixels.1,
            cluster_pixels.2,
            cluster_pixels.3
        ),
        (
            &embedded_pixels.0,
            embedded_pixels.1,
            embedded_pixels.2,
            embedded_pixels.3
        )
    );
    assert!(
        cluster_pixels.4 == embedded_pixels.4,
        "the cluster's COG differs from the embedded one"
    );
    let valid = embedded_pixels
        .4
        .chunks_exact(4)
        .filter(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_nan())
        .count();
    assert!(valid > 1000, "{valid} valid pixels");

    // PNG and Zarr on the cluster: the same bytes, file for file.
    let rgb = "SELECT chunk_x, chunk_y, rs_median(red) AS red, rs_median(nir) AS nir, \
               rs_mean(red) AS mean FROM s2 GROUP BY chunk_x, chunk_y";
    for format in ["PNG", "ZARR"] {
        let mut outputs = Vec::new();
        for (name, cluster) in [("cluster", Some(url.as_str())), ("embedded", None)] {
            let path = out.join(format!("{name}.{}", format.to_lowercase()));
            let sql = format!(
                "{create} COPY ({rgb}) TO '{}' STORED AS {format}",
                path.display()
            );
            query(cluster, &sql)
                .unwrap_or_else(|e| panic!("COPY {format} ({name}): {e}"));
            outputs.push(path);
        }
        let contents = |root: &std::path::Path| {
            let mut files: Vec<_> = if root.is_dir() {
                files_in(root)
            } else {
                vec![root.to_path_buf()]
            };
            files.sort();
            files
                .iter()
                .map(|f| {
                    (
                        f.strip_prefix(root).expect("under root").to_path_buf(),
                        std::fs::read(f).expect("read"),
                    )
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (contents(&outputs[0]), contents(&outputs[1]));
        assert!(!b.is_empty() && b.iter().all(|(_, bytes)| !bytes.is_empty()));
        assert_eq!(
            a.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            b.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            "{format}"
        );
        assert!(
            a == b,
            "{format}: the cluster's output differs from the embedded one"
        );
    }

    // An executor stopped with SIGTERM leaves; the other one still answers.
    let mut first = cluster.executors[0].take().expect("executor 0");
    let pid = first.0.id().to_string();
    // The shell's `kill` builtin: no procps needed.
    let status = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.0.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the executor did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let sql = format!("{create} {}", queries[0]);
    assert_eq!(
        query(Some(&url), &sql).expect("one executor"),
        query(None, &sql).expect("embedded")
    );
}

/// Every file under `dir`.
fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn an_executor_killed_mid_query_does_not_lose_the_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collection = catalogue(dir.path(), 256, 6);
    let mut cluster = Cluster::start(dir.path(), &["--executor-timeout", "6"], 2, &[]);
    let url = cluster.url.clone();

    // W2's masked median composite and W4's geomedian, in 8 scan partitions
    // (tasks) over 2 one-slot executors.
    let create = format!(
        "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
         OPTIONS (bands 'blue,green,red,nir,scl', chunk_size '64');"
    );
    let w2 = format!("{create} {W2_SUMS}");
    let w4 = format!(
        "{create} SELECT chunk_x, chunk_y, rs_tile_sum(g['red']) AS red, \
         rs_tile_sum(g['smad']) AS smad, rs_tile_sum(g['bcmad']) AS bcmad \
         FROM (SELECT chunk_x, chunk_y, rs_geomedian_mads(blue, green, red, nir) AS g \
         FROM (SELECT chunk_x, chunk_y, rs_mask(blue, c) AS blue, rs_mask(green, c) AS green, \
         rs_mask(red, c) AS red, rs_mask(nir, c) AS nir \
         FROM (SELECT *, rs_class_mask(scl, 0, 3, 8, 9, 10) AS c FROM s2)) \
         GROUP BY chunk_x, chunk_y) ORDER BY chunk_y, chunk_x"
    );
    let w2_embedded = query(None, &w2).expect("embedded W2");
    let w4_embedded = query(None, &w4).expect("embedded W4");
    assert!(w2_embedded.lines().count() > 10, "{w2_embedded}");
    assert!(w4_embedded.lines().count() > 10, "{w4_embedded}");

    // For each of W2 and W4, two moments: an executor SIGKILLed once it has
    // finished its first task of the query (written its first shuffle output),
    // then another after its third; a fresh executor replaces each victim.
    // Which executor runs which task is the scheduler's choice, so the victim is
    // whichever live executor first finishes its `nth` task of the query.
    let rounds = [
        (&w2, &w2_embedded, 1usize),
        (&w2, &w2_embedded, 3),
        (&w4, &w4_embedded, 1),
        (&w4, &w4_embedded, 3),
    ];
    let mut seen_running = false;
    for (round, (sql, embedded, nth)) in rounds.into_iter().enumerate() {
        if round > 0 {
            cluster.add_executor(&[]);
        }
        let live: Vec<usize> = (0..cluster.executors.len())
            .filter(|&i| cluster.executors[i].is_some())
            .collect();
        assert_eq!(live.len(), 2);
        let before: std::collections::HashSet<_> = live
            .iter()
            .flat_map(|&i| files_in(&cluster.work_dirs[i]))
            .collect();
        let mut client = Command::new("timeout")
            .arg("300")
            .arg(env!("CARGO_BIN_EXE_swath"))
            .args([
                "--cluster",
                &url,
                "--threads",
                "8",
                "--format",
                "csv",
                "-c",
                sql,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(120);
        let victim = loop {
            let done = |i: usize| {
                files_in(&cluster.work_dirs[i])
                    .iter()
                    .filter(|f| !before.contains(*f))
                    .count()
            };
            if let Some(&v) = live.iter().find(|&&i| done(i) >= nth) {
                break v;
            }
            assert!(
                Instant::now() < deadline,
                "no executor finished {nth} task(s) in round {round}"
            );
            // While it runs, the system tables show it (read by another client,
            // with no task slot free).
            if !seen_running
                && let Ok(jobs) = query(
                    Some(&url),
                    "SELECT tasks_running, tasks FROM swath.jobs WHERE status = 'running'",
                )
                && let Some(row) = jobs.lines().nth(1)
            {
                let n: Vec<u32> = row.split(',').filter_map(|v| v.parse().ok()).collect();
                let busy = query(
                    Some(&url),
                    "SELECT sum(running_tasks) AS busy FROM swath.executors",
                )
                .expect("swath.executors");
                if n.len() == 2
                    && n[0] >= 1
                    && n[1] >= 8
                    && busy.lines().nth(1) != Some("0")
                {
                    seen_running = true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            client.try_wait().expect("client").is_none(),
            "the query ended before executor {victim} could be killed mid-query"
        );
        // SIGKILL (what `Child::kill` sends on Unix).
        let mut killed = cluster.executors[victim].take().expect("the victim");
        killed.0.kill().expect("SIGKILL");
        drop(killed);
        let out = client.wait_with_output().expect("client ends");
        assert!(
            out.status.success(),
            "the query failed after executor {victim} was lost: {}\nscheduler: {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.path().join("scheduler.log")).unwrap_or_default()
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            *embedded,
            "round {round}"
        );
    }
    assert!(
        seen_running,
        "swath.jobs / swath.executors never showed the running query"
    );
}

#[test]
fn a_query_over_the_memory_limit_and_a_client_gone_end_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collection = catalogue(dir.path(), 256, 6);
    // One executor with 1 MiB for its tasks: one batch of 256² chunks of three
    // bands needs more.
    let mut cluster = Cluster::start(
        dir.path(),
        &["--executor-timeout", "6"],
        1,
        &["--memory-limit", "1M"],
    );
    let url = cluster.url.clone();
    let executor = |c: &mut Cluster| {
        c.executors[0]
            .as_mut()
            .expect("executor")
            .0
            .try_wait()
            .expect("executor")
            .is_none()
    };
    let create = format!(
        "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
         OPTIONS (bands 'red,nir,scl', chunk_size '256');"
    );
    let heavy = format!("{create} {W2_SUMS}");

    // Over the limit: an error that says so, in bounded time; the executor lives.
    let started = Instant::now();
    let err = query(Some(&url), &heavy).expect_err("over the memory limit");
    assert!(
        err.contains("Resources exhausted") || err.to_lowercase().contains("memory"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    assert!(executor(&mut cluster), "the executor died");

    // A client gone mid-query: the cluster goes on answering others.
    let mut client = Command::new(env!("CARGO_BIN_EXE_swath"))
        .args(["--cluster", &url, "--threads", "8", "--format", "csv", "-c"])
        .arg(format!(
            "{create} SELECT count(*), sum(rs_tile_sum(red)) FROM s2"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("client");
    std::thread::sleep(Duration::from_millis(300));
    client.kill().expect("kill the client");
    let _ = client.wait();
    let after = query(
        Some(&url),
        &format!("{create} SELECT count(*) AS n FROM s2 WHERE chunk_x = 0"),
    )
    .expect("the cluster answers after a client left");
    let embedded = query(
        None,
        &format!("{create} SELECT count(*) AS n FROM s2 WHERE chunk_x = 0"),
    )
    .expect("embedded");
    assert_eq!(after, embedded);
    assert!(executor(&mut cluster), "the executor died");
}

/// The middle quarter of a collection's lon/lat extent (as benches/compare/run.py).
fn middle_box(collection: &str) -> [f64; 4] {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(collection).expect("collection"))
            .expect("json");
    let b: Vec<f64> = json["extent"]["spatial"]["bbox"][0]
        .as_array()
        .expect("bbox")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    [
        b[0] + w * 0.375,
        b[1] + h * 0.375,
        b[0] + w * 0.625,
        b[1] + h * 0.625,
    ]
}

/// benches/compare/sql/`w`.sql for `collection`, writing into `out`.
pub(crate) fn workload(w: &str, collection: &str, out: &std::path::Path) -> String {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sql = std::fs::read_to_string(repo.join(format!("benches/compare/sql/{w}.sql")))
        .expect("workload");
    let [west, south, east, north] = middle_box(collection);
    sql.replace("{collection}", collection)
        .replace("{out}", &out.display().to_string())
        .replace("{west}", &west.to_string())
        .replace("{south}", &south.to_string())
        .replace("{east}", &east.to_string())
        .replace("{north}", &north.to_string())
}

/// Every band of a GeoTIFF: its grid and its pixels as bytes.
pub(crate) fn raster_bytes(
    path: &std::path::Path,
) -> (String, usize, usize, usize, Vec<u8>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store: std::sync::Arc<dyn object_store::ObjectStore> =
            std::sync::Arc::new(object_store::local::LocalFileSystem::new());
        let location =
            object_store::path::Path::from_filesystem_path(path).expect("path");
        let tiff = swath_geotiff::open(store, location).await.expect("open");
        let window = swath_geotiff::Window::new(0, 0, tiff.width(), tiff.height());
        let raster = tiff.read_window(0, window).await.expect("read");
        (
            format!("{:?}", tiff.georeference().transform),
            raster.width as usize,
            raster.height as usize,
            raster.bands as usize,
            raster.data.to_le_bytes(),
        )
    })
}

/// CSV rows; numbers compared to 1e-12 relative (sums of floats may be added
/// in another order across partitions), the rest exactly.
pub(crate) fn assert_csv_close(w: &str, cluster: &str, embedded: &str) {
    let (a, b): (Vec<&str>, Vec<&str>) =
        (cluster.lines().collect(), embedded.lines().collect());
    assert_eq!(a.len(), b.len(), "{w}:\n{cluster}\n---\n{embedded}");
    for (x, y) in a.iter().zip(&b) {
        let (xs, ys): (Vec<&str>, Vec<&str>) =
            (x.split(',').collect(), y.split(',').collect());
        assert_eq!(xs.len(), ys.len(), "{w}: {x} / {y}");
        for (p, q) in xs.iter().zip(&ys) {
            match (p.parse::<f64>(), q.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!(
                    (p - q).abs() <= 1e-12 * p.abs().max(q.abs()).max(1e-300),
                    "{w}: {x} / {y}"
                ),
                _ => assert_eq!(p, q, "{w}: {x} / {y}"),
            }
        }
    }
}

#[test]
fn the_five_workloads_on_a_cluster_equal_the_embedded_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two UTM zones (W5 fuses the overlap), 6 dates.
    let collection = catalogue(dir.path(), 128, 6);
    let mut cluster = Cluster::start(dir.path(), &["--executor-timeout", "10"], 2, &[]);
    let url = cluster.url.clone();
    for w in ["w1", "w2", "w3", "w4", "w5"] {
        let mut outputs = Vec::new();
        for side in ["cluster", "embedded"] {
            let out = dir.path().join(side).join(w);
            std::fs::create_dir_all(&out).expect("out");
            let file = out.join(format!("{w}.sql"));
            std::fs::write(&file, workload(w, &collection, &out)).expect("sql");
            let mut cmd = swath();
            if side == "cluster" {
                cmd.args(["--cluster", &url]);
            }
            let o = cmd
                .args(["--threads", "4", "-f"])
                .arg(&file)
                .output()
                .expect("run");
            assert!(
                o.status.success(),
                "{w} ({side}): {}",
                String::from_utf8_lossy(&o.stderr)
            );
            outputs.push(out);
        }
        if w == "w1" || w == "w5" {
            let read = |d: &std::path::Path| {
                std::fs::read_to_string(d.join(format!("{w}.csv"))).expect("csv")
            };
            let (a, b) = (read(&outputs[0]), read(&outputs[1]));
            assert!(b.lines().count() >= 4, "{w}: {b}");
            assert_csv_close(w, &a, &b);
        } else {
            let (a, b) = (
                raster_bytes(&outputs[0].join(format!("{w}.tif"))),
                raster_bytes(&outputs[1].join(format!("{w}.tif"))),
            );
            assert_eq!((&a.0, a.1, a.2, a.3), (&b.0, b.1, b.2, b.3), "{w}: grid");
            assert!(a.1 * a.2 >= 64 * 64, "{w}: {}×{}", a.1, a.2);
            // Pixel for pixel, bit for bit (NaN is nodata: bytes, not floats).
            assert!(
                a.4 == b.4,
                "{w}: the cluster's COG differs from the embedded one"
            );
            // The provenance item beside each COG records the statement, also
            // when the output was planned on the scheduler.
            for out in &outputs {
                let item: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(out.join(format!("{w}.json")))
                        .expect("provenance item"),
                )
                .expect("json");
                let sql = item["properties"]["swath:sql"].as_str().unwrap_or_default();
                assert!(
                    sql.starts_with("COPY (") && sql.contains(&format!("{w}.tif")),
                    "{w} ({}): swath:sql is {sql:?}",
                    out.display()
                );
            }
        }
    }
    // The shell named every job; the scheduler ran them all to success.
    let jobs = query(
        Some(&url),
        "SELECT count(*) AS jobs, sum(CASE WHEN status = 'successful' AND stages_done = stages \
         THEN 1 ELSE 0 END) AS done FROM swath.jobs WHERE name LIKE 'swath %: COPY%'",
    )
    .expect("swath.jobs");
    assert_eq!(jobs.trim(), "jobs,done\n5,5", "{jobs}");
    cluster.executors.clear();
}

#[test]
fn a_scheduler_restart_fails_running_queries_and_the_cluster_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collection = catalogue(dir.path(), 256, 6);
    let flags = ["--executor-timeout", "6"];
    let mut cluster = Cluster::start(dir.path(), &flags, 1, &[]);
    let url = cluster.url.clone();
    let sql = format!(
        "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
         OPTIONS (bands 'red,nir,scl', chunk_size '64'); {W2_SUMS}"
    );
    let before: std::collections::HashSet<_> =
        files_in(&cluster.work_dirs[0]).into_iter().collect();
    let client = Command::new("timeout")
        .arg("300")
        .arg(env!("CARGO_BIN_EXE_swath"))
        .args(["--cluster", &url, "--format", "csv", "-c", &sql])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client");
    // Mid-query: the executor has finished a task.
    let deadline = Instant::now() + Duration::from_secs(120);
    while files_in(&cluster.work_dirs[0])
        .iter()
        .all(|f| before.contains(f))
    {
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The scheduler dies (SIGKILL: its state is in memory and is lost).
    drop(cluster.scheduler_process.take());
    let killed = Instant::now();
    let out = client.wait_with_output().expect("client ends");
    // The client does not hang: it ends with an error that names the scheduler.
    assert!(killed.elapsed() < Duration::from_secs(120));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_ne!(out.status.code(), Some(124), "the client hung: {err}");
    assert!(!err.trim().is_empty());
    eprintln!("client error after the scheduler was lost: {err}");
    // A scheduler started again on the same address: the executor, still
    // heartbeating, registers with it and queries run again.
    let args = [
        "scheduler",
        "--bind",
        cluster.scheduler.as_str(),
        flags[0],
        flags[1],
    ];
    cluster.scheduler_process = Some(start(&args, &dir.path().join("scheduler2.log")));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match query(Some(&url), "SELECT count(*) AS n FROM swath.executors") {
            Ok(out) if out.lines().nth(1) == Some("1") => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "the executor never came back: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    assert_eq!(
        query(Some(&url), &sql).expect("after the restart"),
        query(None, &sql).expect("embedded")
    );
}
