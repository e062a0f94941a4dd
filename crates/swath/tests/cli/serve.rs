//! `swath serve` on loopback, used by real clients (ADBC Flight SQL through the
//! `swath` Python package, pyarrow.flight): the workloads answer as the shell
//! does, tiles reach xarray pixel for pixel, the security rules hold, and 16
//! clients run at once with flat server memory (tests/scripts/flight_client.py).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::cluster::{
    Cluster, Process, W2_SUMS, assert_csv_close, catalogue, free_port_pair, query,
    raster_bytes, start, workload,
};
use super::swath;

/// `swath serve` on a free loopback port with `flags`, once it accepts
/// connections; its URI.
/// The dashboard is off unless `flags` give `--http`.
pub(crate) fn serve(dir: &Path, name: &str, flags: &[&str]) -> (Process, String, u16) {
    let port = free_port_pair();
    let bind = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--bind", &bind];
    if !flags.contains(&"--http") {
        args.extend(["--http", "off"]);
    }
    args.extend_from_slice(flags);
    let log = dir.join(format!("{name}.log"));
    let mut process = start(&args, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!(
                "swath serve exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "swath serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (process, format!("grpc://127.0.0.1:{port}"), port)
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run tests/scripts/flight_client.py `args`; its JSON report.
fn client(args: &[&str]) -> serde_json::Value {
    let text = client_text(args);
    serde_json::from_str(text.lines().last().unwrap_or_default()).expect("a JSON report")
}

/// Run tests/scripts/flight_client.py `args`; its stdout.
fn client_text(args: &[&str]) -> String {
    let py = crate::bench::python(&repo());
    let out = Command::new(&py)
        .arg(repo().join("tests/scripts/flight_client.py"))
        .args(args)
        .output()
        .expect("flight_client.py");
    assert!(
        out.status.success(),
        "flight_client.py {}:\n{}\n{}",
        args[0],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn flight_sql_clients_run_the_workloads_as_the_shell_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Two UTM zones (W5 fuses the overlap), 6 dates.
    let collection = catalogue(d, 128, 6);
    let sql_dir = d.join("sql");
    std::fs::create_dir_all(&sql_dir).expect("sql dir");
    for w in ["w1", "w2", "w3", "w4", "w5"] {
        for side in ["served", "shell"] {
            std::fs::create_dir_all(d.join(side).join(w)).expect("out");
        }
        let served = workload(w, &collection, &d.join("served").join(w));
        std::fs::write(sql_dir.join(format!("{w}.sql")), served).expect("sql");
        let shell_sql = d.join("shell").join(w).join(format!("{w}.sql"));
        std::fs::write(
            &shell_sql,
            workload(w, &collection, &d.join("shell").join(w)),
        )
        .expect("sql");
        let o = swath()
            .args(["--threads", "2", "-f"])
            .arg(&shell_sql)
            .output()
            .expect("shell");
        assert!(
            o.status.success(),
            "{w}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let root = d.display().to_string();
    let out_root = d.join("served").display().to_string();
    let (_server, uri, _) = serve(
        d,
        "serve",
        &[
            "--allow-root",
            &root,
            "--output-root",
            &out_root,
            "--threads",
            "2",
        ],
    );
    let shell_w2 = d.join("shell/w2/w2.tif").display().to_string();
    let report = client(&["workloads", &uri, &sql_dir.display().to_string(), &shell_w2]);
    for w in ["w1", "w2", "w3", "w4", "w5"] {
        assert!(report[w].as_u64().unwrap_or(0) > 0, "{w}: {report}");
        if w == "w1" || w == "w5" {
            let read = |side: &str| {
                std::fs::read_to_string(d.join(side).join(w).join(format!("{w}.csv")))
                    .expect("csv")
            };
            let (served, shell) = (read("served"), read("shell"));
            assert!(shell.lines().count() >= 4, "{w}: {shell}");
            assert_csv_close(w, &served, &shell);
        } else {
            let tif = format!("{w}.tif");
            let (a, b) = (
                raster_bytes(&d.join("served").join(w).join(&tif)),
                raster_bytes(&d.join("shell").join(w).join(&tif)),
            );
            assert_eq!((&a.0, a.1, a.2, a.3), (&b.0, b.1, b.2, b.3), "{w}: grid");
            assert!(a.4 == b.4, "{w}: the served COG differs from the shell's");
        }
    }
    assert!(
        report["w2_xarray_valid_pixels"].as_u64().unwrap_or(0) > 1000,
        "{report}"
    );
    assert!(
        report["prepared_rows"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );

    // The notebook-style example runs as written against the server.
    let py = crate::bench::python(&repo());
    let out = Command::new(&py)
        .arg(repo().join("python/examples/ndvi_composite.py"))
        .args([collection.as_str(), "--uri", uri.as_str()])
        .output()
        .expect("example");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("composite NDVI: mean"), "{text}");
    assert!(text.contains("32633"), "{text}");
}

#[test]
fn serve_refuses_what_it_must_and_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let collection = catalogue(d, 64, 3);
    let cat = Path::new(&collection)
        .parent()
        .expect("catalogue dir")
        .to_path_buf();
    let token = "alice-token-0123456789abcdef";
    std::fs::write(d.join("tokens"), format!("# users\nalice:{token}\n"))
        .expect("tokens");
    let outside = d.join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    std::fs::create_dir_all(d.join("out")).expect("out");
    let other = d.join("other/collection.json");

    // Not on loopback without tokens: refused at start.
    let o = swath()
        .args(["serve", "--bind", "0.0.0.0:0"])
        .output()
        .expect("serve");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("loopback only"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The collection and its items may be read, not its assets (data/).
    let collection_root = collection.clone();
    let items_root = cat.join("items").display().to_string();
    let tokens = d.join("tokens").display().to_string();
    let out_root = d.join("out").display().to_string();
    let flags = [
        "--tokens",
        &tokens,
        "--allow-root",
        &collection_root,
        "--allow-root",
        &items_root,
        "--output-root",
        &out_root,
        "--statement-timeout",
        "3s",
        "--memory-limit",
        "64M",
        "--threads",
        "2",
    ];
    let (_server, uri, _) = serve(d, "secure", &flags);
    let report = client(&[
        "security",
        &uri,
        token,
        &outside.display().to_string(),
        &other.display().to_string(),
        &collection,
    ]);
    let timeout = report["timeout_after_s"].as_f64().unwrap_or(f64::MAX);
    assert!((2.5..30.0).contains(&timeout), "{report}");
    assert!(
        report["cancel_drained_s"].as_f64().unwrap_or(f64::MAX) < 10.0,
        "{report}"
    );
    let log = std::fs::read_to_string(d.join("secure.log")).unwrap_or_default();
    assert!(!log.contains(token), "the token is in the server's log");

    // TLS with a self-signed certificate.
    let certs = d.join("certs");
    client(&["make-cert", &certs.display().to_string()]);
    let cert = certs.join("cert.pem").display().to_string();
    let key = certs.join("key.pem").display().to_string();
    let (_tls, uri, port) = serve(
        d,
        "tls",
        &["--tokens", &tokens, "--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(uri.ends_with(&port.to_string()));
    client(&["tls", &format!("grpc+tls://127.0.0.1:{port}"), &cert, token]);
}

#[test]
fn sixteen_clients_loop_on_w5_with_flat_server_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let collection = catalogue(d, 64, 4);
    // The expected answer, from the shell.
    let shell_out = d.join("shell");
    std::fs::create_dir_all(&shell_out).expect("out");
    let w5 = workload("w5", &collection, &shell_out);
    let w5_file = d.join("w5.sql");
    std::fs::write(&w5_file, &w5).expect("sql");
    let o = swath()
        .args(["--threads", "2", "-f"])
        .arg(&w5_file)
        .output()
        .expect("shell");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The served statements: the table, and W5's query without its COPY.
    let select = w5[w5.find("COPY (").expect("COPY") + 6..w5.rfind(") TO ").expect("TO")]
        .to_string();
    let create = w5[..w5.find(';').expect(";")].to_string();
    let sql = d.join("w5_query.sql");
    std::fs::write(&sql, format!("{create};\n{select};\n")).expect("sql");
    let root = d.display().to_string();
    let (server, uri, _) = serve(d, "many", &["--allow-root", &root, "--threads", "2"]);
    let pid = server.0.id().to_string();
    let report = client(&[
        "concurrency",
        &uri,
        &pid,
        "60",
        "16",
        &sql.display().to_string(),
        &shell_out.join("w5.csv").display().to_string(),
    ]);
    let runs: u64 = report["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r.as_u64().unwrap_or(0))
        .sum();
    assert!(runs >= 16, "{report}");
    eprintln!("{report}");
}

#[test]
fn serve_over_a_cluster_answers_as_the_embedded_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let collection = catalogue(d, 64, 4);
    let create = format!(
        "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
         OPTIONS (bands 'red,nir,scl')"
    );
    let embedded = query(None, &format!("{create}; {W2_SUMS}")).expect("embedded");
    let cluster = Cluster::start(d, &[], 2, &[]);
    let root = d.display().to_string();
    let (_server, uri, _) = serve(
        d,
        "serve",
        &["--cluster", &cluster.url, "--allow-root", &root],
    );
    let sql = d.join("w2_sums.sql");
    std::fs::write(&sql, format!("{create};\n{W2_SUMS};\n")).expect("sql");
    let text = client_text(&["query", &uri, &sql.display().to_string()]);
    let served: String = text
        .lines()
        .filter(|l| !l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(embedded.lines().count() >= 4, "{embedded}");
    assert_csv_close("w2 sums", &served, &embedded);
    // The scheduler ran it, as a job named after the server's user.
    let jobs = query(
        Some(&cluster.url),
        "SELECT count(*) AS n FROM swath.jobs WHERE status = 'successful' \
         AND name LIKE 'swath serve swath #%: SELECT chunk_x%'",
    )
    .expect("swath.jobs");
    let all =
        query(Some(&cluster.url), "SELECT name, status FROM swath.jobs").expect("jobs");
    assert_eq!(jobs.trim(), "n\n1", "{jobs}\n{all}");
}

#[test]
fn the_python_package_passes_its_tests_and_installs_from_the_checkout() {
    let py = crate::bench::python(&repo());
    let out = Command::new(&py)
        .args(["-m", "unittest", "discover", "-s"])
        .arg(repo().join("python/tests"))
        .current_dir(repo().join("python"))
        .output()
        .expect("unittest");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("OK") && err.contains("Ran "), "{err}");
    // pip builds and installs it from the checkout, offline.
    let target = tempfile::tempdir().expect("tempdir");
    let out = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "--target",
        ])
        .arg(target.path())
        .arg(repo().join("python"))
        .output()
        .expect("pip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(target.path().join("swath/__init__.py").exists());
}
