//! The dashboard of `swath serve --http` in headless Chromium (Debian's chromium
//! driven by selenium through chromium-driver) and through its JSON API:
//! W2's progress on the page, a statement's plan and items, cancel from the page,
//! the API agreeing with `swath.queries`, and its security rules
//! (tests/scripts/dashboard_browser.py).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::cluster::{Process, catalogue, free_port_pair, workload};
use super::serve::{repo, serve};
use super::swath;

const ALICE: &str = "alice-token-0123456789abcdef";
const BOB: &str = "bob-token-0123456789abcdef00";

/// `swath serve` with tokens for alice and bob and the dashboard on a free
/// port, reading and writing under `dir`: the server, its Flight SQL URI, the
/// dashboard's base URL.
fn dashboard_server(dir: &Path, flags: &[&str]) -> (Process, String, String) {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("alice:{ALICE}\nbob:{BOB}\n")).expect("tokens");
    let port = free_port_pair();
    let http = format!("127.0.0.1:{port}");
    let root = dir.display().to_string();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out");
    let out = out.display().to_string();
    let tokens = tokens.display().to_string();
    let mut all = vec![
        "--http",
        &http,
        "--tokens",
        &tokens,
        "--allow-root",
        &root,
        "--output-root",
        &out,
    ];
    all.extend_from_slice(flags);
    let (server, uri, _) = serve(dir, "serve", &all);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the dashboard did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, uri, format!("http://{http}"))
}

/// Run tests/scripts/dashboard_browser.py `args`; its JSON report.
fn script(args: &[&str]) -> serde_json::Value {
    let py = crate::bench::python(&repo());
    let out = Command::new(&py)
        .arg(repo().join("tests/scripts/dashboard_browser.py"))
        .args(args)
        .output()
        .expect("dashboard_browser.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dashboard_browser.py {}: {}\n{stdout}",
        args[0],
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .expect("a JSON report")
}

#[test]
fn the_page_shows_w2_progress_its_plan_and_cancels_in_a_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let collection = catalogue(d, 512, 12);
    let (_server, uri, base) = dashboard_server(d, &["--threads", "2"]);
    let w2 = d.join("w2.sql");
    std::fs::write(&w2, workload("w2", &collection, &d.join("out"))).expect("w2.sql");
    // Screenshots stay after the test, beside the build's other test output.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&shots).expect("screenshots dir");
    for old in [
        "dashboard.png",
        "dashboard-query.png",
        "dashboard-cancelled.png",
    ] {
        let _ = std::fs::remove_file(shots.join(old));
    }
    let report = script(&[
        "browser",
        &base,
        &uri,
        "alice",
        ALICE,
        &w2.display().to_string(),
        &shots.display().to_string(),
    ]);
    // The progress the page showed: running values, then done at 1.
    let seen = report["w2_progress"].as_array().expect("progress");
    assert!(seen.len() >= 3, "{report}");
    assert_eq!(seen.last(), Some(&serde_json::json!(["done", 1.0])));
    assert!(report["items"].as_u64().unwrap_or(0) > 0, "{report}");
    assert!(report["held_bytes"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["pool_after_cancel"], "empty", "{report}");
    for shot in [
        "dashboard.png",
        "dashboard-query.png",
        "dashboard-cancelled.png",
    ] {
        let png = std::fs::read(shots.join(shot)).expect("screenshot");
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{shot}: {} bytes",
            png.len()
        );
    }
    // The COG W2 wrote is whole.
    assert!(
        std::fs::metadata(d.join("out/w2.tif")).is_ok_and(|m| m.len() > 0),
        "w2.tif"
    );
}

#[test]
fn the_api_agrees_with_swath_queries_and_keeps_its_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let collection = catalogue(d, 128, 4);
    let (_server, uri, base) = dashboard_server(d, &[]);
    let sql = d.join("agree.sql");
    std::fs::write(
        &sql,
        format!(
            "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
             OPTIONS (bands 'red,nir,scl');\n{};\nSELECT 1 AS one;\n",
            super::cluster::W2_SUMS
        ),
    )
    .expect("sql");
    let report = script(&[
        "agree",
        &base,
        &uri,
        "alice",
        ALICE,
        &sql.display().to_string(),
    ]);
    assert!(report["compared"].as_u64().unwrap_or(0) >= 3, "{report}");
    let report = script(&["security", &base, &uri, "alice", ALICE, "bob", BOB]);
    assert_eq!(report["cancel"], "owner only", "{report}");
    assert_eq!(report["secrets"], "masked", "{report}");

    // Without tokens, the dashboard listens on loopback only.
    let out = swath()
        .args(["serve", "--bind", "127.0.0.1:0", "--http", "0.0.0.0:0"])
        .output()
        .expect("serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--http") && err.contains("loopback"), "{err}");

    // The shell records its statements too.
    let out = swath()
        .args([
            "-c",
            "SELECT 41 + 1 AS answer; SELECT state, sql, rows_out FROM swath.queries \
             WHERE sql LIKE 'SELECT 41%'",
        ])
        .output()
        .expect("shell");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l.contains("done")
            && l.contains("SELECT 41 + 1")
            && l.contains('1')),
        "{text}"
    );
}

/// `GET` (or `POST` with the cancel header) `url`: status and JSON body.
fn http(method: &str, url: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let request = match method {
            "POST" => client.post(url).header("X-Swath-Request", "1"),
            _ => client.get(url),
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    })
}

#[test]
fn the_scheduler_serves_the_dashboard_of_its_jobs_and_cancels_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Big enough tiles that one executor slot takes a while over it.
    let out = swath()
        .args([
            "synth",
            &d.join("cat").display().to_string(),
            "--size",
            "1024",
            "--dates",
            "12",
        ])
        .output()
        .expect("synth");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let collection = d.join("cat/collection.json").display().to_string();
    let port = free_port_pair();
    let http_addr = format!("127.0.0.1:{port}");
    let cluster = super::cluster::Cluster::start(
        d,
        &["--http", &http_addr],
        1,
        &["--memory-limit", "2G"],
    );
    let base = format!("http://{http_addr}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the scheduler's dashboard did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, page) = http("GET", &format!("{base}/"));
    assert_eq!(status, 200);
    assert!(
        page.as_str()
            .is_some_and(|p| p.contains("<title>Swath dashboard")),
        "{page}"
    );
    let (_, executors) = http("GET", &format!("{base}/api/executors"));
    assert_eq!(executors["mode"], "cluster", "{executors}");
    assert_eq!(
        executors["executors"].as_array().map(Vec::len),
        Some(1),
        "{executors}"
    );

    // A finished job's page: its stages with their plans and the metrics its
    // tasks reported.
    let create = format!(
        "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' \
         OPTIONS (bands 'red,nir,scl')"
    );
    let counted = super::cluster::query(
        Some(&cluster.url),
        &format!(
            "{create}; SELECT sum(rs_tile_count(red)) AS n FROM s2 WHERE chunk_x = 0"
        ),
    )
    .expect("a small job");
    assert!(counted.lines().count() == 2, "{counted}");
    let (_, body) = http("GET", &format!("{base}/api/queries"));
    let done = body["queries"]
        .as_array()
        .and_then(|qs| {
            qs.iter()
                .find(|q| {
                    q["sql"]
                        .as_str()
                        .is_some_and(|s| s.contains("rs_tile_count"))
                })
                .cloned()
        })
        .expect("the small job");
    assert_eq!(
        (&done["state"], &done["fraction"]),
        (&"done".into(), &1.0.into()),
        "{done}"
    );
    let id = done["id"].as_str().expect("id");
    let (status, page) = http("GET", &format!("{base}/api/queries/{id}"));
    assert_eq!(status, 200, "{page}");
    let stages = page["operators"]["children"].as_array().expect("stages");
    assert!(!stages.is_empty(), "{page}");
    assert!(
        stages
            .iter()
            .all(|s| s["name"].as_str().is_some_and(|n| n.starts_with("Stage "))),
        "{page}"
    );
    let scan = find_operator(&page["operators"], "CubeScanExec").expect("a scan");
    let rows = scan["metrics"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m[0] == "output_rows"))
        .and_then(|m| m[1].as_str())
        .expect("output_rows");
    assert!(rows != "0", "{scan}");

    // A job from the shell: shown running with its tasks, cancelled from the
    // dashboard, the shell's call ends with the cancel.
    let sql = format!("{create}; {}", super::cluster::W2_SUMS);
    let shell = std::process::Command::new(env!("CARGO_BIN_EXE_swath"))
        .args(["--cluster", &cluster.url, "--format", "csv", "-c", &sql])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("shell");
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let (_, body) = http("GET", &format!("{base}/api/queries"));
        let running = body["queries"].as_array().and_then(|qs| {
            qs.iter()
                .find(|q| q["state"] == "running" && q["tasks_total"].as_u64() > Some(0))
                .cloned()
        });
        if let Some(job) = running {
            break job;
        }
        assert!(Instant::now() < deadline, "no running job seen: {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(job["origin"], "shell", "{job}");
    assert!(
        job["sql"]
            .as_str()
            .is_some_and(|s| s.starts_with("SELECT chunk_x")),
        "{job}"
    );
    let id = job["id"].as_str().expect("job id").to_string();
    let (status, body) = http("GET", &format!("{base}/api/queries/{id}"));
    assert_eq!((status, &body["id"]), (200, &job["id"]), "{body}");
    let (status, body) = http("POST", &format!("{base}/api/queries/{id}/cancel"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cancelled"], true, "{body}");
    let out = shell.wait_with_output().expect("shell");
    assert!(!out.status.success(), "the cancelled statement succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Cancelled"), "{err}");
    let (_, body) = http("GET", &format!("{base}/api/queries/{id}"));
    assert_eq!(body["state"], "failed", "{body}");
    assert_eq!(body["error"], "Cancelled", "{body}");
    let (status, _) = http("POST", &format!("{base}/api/queries/{id}/cancel"));
    assert_eq!(status, 409);
    let (status, _) = http("POST", &format!("{base}/api/queries/no%2Fsuch/cancel"));
    assert_eq!(status, 404);

    // The executor reported its memory limit, what it fetched and decoded while
    // the jobs ran, and (a report a second) its throughput.
    let deadline = Instant::now() + Duration::from_secs(20);
    let executor = loop {
        let (_, executors) = http("GET", &format!("{base}/api/executors"));
        let executor = executors["executors"][0].clone();
        if executor["throughput"]
            .as_array()
            .is_some_and(|t| t.len() >= 2)
        {
            break executor;
        }
        assert!(
            Instant::now() < deadline,
            "no throughput samples: {executors}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(executor["memory_limit_bytes"], 2u64 << 30, "{executor}");
    assert!(
        executor["fetched_bytes"].as_u64() > Some(0)
            && executor["decoded_bytes"].as_u64() > Some(0),
        "{executor}"
    );
    // An executor the scheduler does not know cannot report.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://{}/api/swath/executor-report", cluster.scheduler_addr()))
            .header("content-type", "application/json")
            .body(r#"{"host":"10.9.9.9","port":1,"fetched_bytes":1,"decoded_bytes":1,"memory_limit_bytes":null}"#)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .expect("report")
    });
    assert_eq!(status, 404);

    // Not on loopback without tokens: refused.
    let out = swath()
        .args(["scheduler", "--bind", "127.0.0.1:0", "--http", "0.0.0.0:0"])
        .output()
        .expect("scheduler");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--http") && err.contains("loopback"), "{err}");
}

/// The first operator of a plan tree (the dashboard's JSON) whose name starts
/// with `name`.
fn find_operator<'a>(
    op: &'a serde_json::Value,
    name: &str,
) -> Option<&'a serde_json::Value> {
    if op["name"].as_str().is_some_and(|n| n.starts_with(name)) {
        return Some(op);
    }
    op["children"]
        .as_array()?
        .iter()
        .find_map(|c| find_operator(c, name))
}
