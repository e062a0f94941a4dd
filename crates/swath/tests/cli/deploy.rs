//! deploy/ kept honest: the Dockerfile, docker-compose.yml and the Kubernetes
//! manifests are parsed (tests/scripts/deploy_roles.py, PyYAML) and the commands
//! and flags they give each role are started as local processes on 127.0.0.1,
//! with moto as the S3-compatible store. Only values that name the deployment's
//! network change (host names, ports, the work directory); every flag is kept.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{Process, free_port_pair};

/// One role of deploy/ (see tests/scripts/deploy_roles.py).
#[derive(Debug, Clone)]
struct Role {
    name: String,
    args: Vec<String>,
    env: HashMap<String, String>,
    replicas: u64,
    probe: Option<serde_json::Value>,
}

fn roles(v: &serde_json::Value) -> Vec<Role> {
    v.as_array()
        .expect("roles")
        .iter()
        .map(|r| Role {
            name: r["name"].as_str().expect("name").to_string(),
            args: r["args"]
                .as_array()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("arg").to_string())
                .collect(),
            env: r["env"]
                .as_object()
                .expect("env")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            replicas: r["replicas"].as_u64().unwrap_or(1),
            probe: r.get("probe").filter(|p| !p.is_null()).cloned(),
        })
        .collect()
}

/// The deployment's network made local: `HOST:PORT` values → 127.0.0.1 and a
/// port of this run, `--external-host` values → 127.0.0.1, `/work` → `work`.
fn localize(args: &[String], ports: &HashMap<u16, u16>, work: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let flag = if i > 0 { args[i - 1].as_str() } else { "" };
        let value = if flag == "--external-host" {
            "127.0.0.1".to_string()
        } else if flag == "--work-dir" {
            work.display().to_string()
        } else if let Some((_, port)) = arg.rsplit_once(':')
            && let Ok(port) = port.parse::<u16>()
            && !arg.contains("//")
        {
            format!("127.0.0.1:{}", ports.get(&port).expect("a mapped port"))
        } else {
            arg.clone()
        };
        out.push(value);
    }
    out
}

/// The port a `HOST:PORT` flag value names.
fn port_of(args: &[String], flag: &str) -> u16 {
    let i = args.iter().position(|a| a == flag).expect(flag);
    args[i + 1]
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a port")
}

/// A role's process: `swath ARGS` with its environment; the S3 settings point at
/// the test's store.
fn spawn(role: &Role, args: &[String], s3: &[(String, String)], log: &Path) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swath"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        // Nothing from the test's own environment reaches the role's store.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    for (k, v) in &role.env {
        if k.starts_with("secret:") {
            // A Secret holding the S3 settings (deploy/k8s/executor.yaml).
            cmd.envs(s3.iter().map(|(k, v)| (k, v)));
        } else if k == "AWS_ENDPOINT_URL" {
            let endpoint = &s3
                .iter()
                .find(|(k, _)| k == "AWS_ENDPOINT_URL")
                .expect("s3")
                .1;
            cmd.env(k, endpoint);
        } else if !v.starts_with("from:") {
            cmd.env(k, v);
        }
    }
    Process(cmd.spawn().expect("start a role"))
}

/// `GET path` on 127.0.0.1:port: the status code.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A role's readiness probe passes within a bounded wait.
fn wait_ready(probe: &serde_json::Value, ports: &HashMap<u16, u16>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = if let Some(path) = probe["http"].as_str() {
            let port = ports[&(probe["port"].as_u64().expect("port") as u16)];
            http_status(port, path) == Some(200)
        } else {
            let port = probe["tcp"].as_u64().expect("tcp port") as u16;
            std::net::TcpStream::connect(("127.0.0.1", ports[&port])).is_ok()
        };
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "probe {probe} never passed");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The client: `swath [--cluster URL] --format csv -c SQL` with the S3 settings.
fn client(
    cluster: Option<&str>,
    s3: &[(String, String)],
    sql: &str,
) -> Result<String, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swath"));
    if let Some(url) = cluster {
        cmd.args(["--cluster", url]);
    }
    let out = cmd
        .args(["--format", "csv", "-c", sql])
        .envs(s3.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("client");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Start `scheduler` and `executors` (each replica), wait until they answer, and
/// check what a user of the deployment does: a table over the S3 catalogue,
/// results equal to the embedded engine's, COPY into the output root only, and
/// the executors in `swath.executors`.
fn run_cluster(
    dir: &Path,
    label: &str,
    scheduler: &Role,
    executors: &Role,
    s3: &[(String, String)],
) {
    let sched_port = port_of(&scheduler.args, "--bind");
    let mut ports = HashMap::from([(sched_port, free_port_pair())]);
    let work = dir.join(format!("{label}-work"));
    std::fs::create_dir_all(&work).expect("work");
    let args = localize(&scheduler.args, &ports, &work);
    let _scheduler = spawn(
        scheduler,
        &args,
        s3,
        &dir.join(format!("{label}-scheduler.log")),
    );
    if let Some(probe) = &scheduler.probe {
        wait_ready(probe, &ports);
    }
    let url = format!("df://127.0.0.1:{}", ports[&sched_port]);
    let exec_port = port_of(&executors.args, "--bind");
    let mut running = Vec::new();
    for i in 0..executors.replicas {
        // Each replica its own ports (pods have their own addresses).
        let mine = free_port_pair();
        ports.insert(exec_port, mine);
        ports.insert(exec_port + 1, mine + 1);
        let work = dir.join(format!("{label}-work-{i}"));
        std::fs::create_dir_all(&work).expect("work");
        let args = localize(&executors.args, &ports, &work);
        running.push(spawn(
            executors,
            &args,
            s3,
            &dir.join(format!("{label}-executor{i}.log")),
        ));
        if let Some(probe) = &executors.probe {
            wait_ready(probe, &ports);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let expected = executors.replicas.to_string();
    loop {
        match client(Some(&url), s3, "SELECT count(*) AS n FROM swath.executors") {
            Ok(out) if out.lines().nth(1) == Some(expected.as_str()) => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "{label}: executors never registered: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    let create = "CREATE EXTERNAL TABLE s2 STORED AS STAC \
                  LOCATION 's3://swath/demo/collection.json' \
                  OPTIONS (bands 'red,nir,scl', chunk_size '256');";
    let sql = format!(
        "{create} SELECT chunk_x, chunk_y, count(*) AS obs, sum(rs_tile_count(red)) AS valid, \
         sum(rs_tile_sum(rs_mask(nir, rs_class_mask(scl, 0, 3, 8, 9, 10)))) AS nir \
         FROM s2 GROUP BY chunk_x, chunk_y ORDER BY chunk_y, chunk_x"
    );
    let on_cluster =
        client(Some(&url), s3, &sql).unwrap_or_else(|e| panic!("{label}: {e}"));
    let embedded = client(None, s3, &sql).expect("embedded");
    assert!(embedded.lines().count() > 4, "{embedded}");
    assert_eq!(on_cluster, embedded, "{label}");
    // The slots each executor was given.
    let slots = executors.args[executors
        .args
        .iter()
        .position(|a| a == "--concurrent-tasks")
        .expect("--concurrent-tasks")
        + 1]
    .clone();
    let listed = client(
        Some(&url),
        s3,
        "SELECT count(*) AS n, min(slots) AS lo, max(slots) AS hi FROM swath.executors",
    )
    .expect("swath.executors");
    assert_eq!(
        listed.lines().nth(1),
        Some(format!("{expected},{slots},{slots}").as_str()),
        "{listed}"
    );
    // COPY writes under the deployment's output root, and nowhere else.
    let composite = "SELECT chunk_x, chunk_y, rs_median(rs_mask(red, \
                     rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red FROM s2 GROUP BY chunk_x, chunk_y";
    client(
        Some(&url),
        s3,
        &format!(
            "{create} COPY ({composite}) TO 's3://swath/out/{label}.tif' STORED AS COG"
        ),
    )
    .unwrap_or_else(|e| panic!("{label}: COPY: {e}"));
    let err = client(
        Some(&url),
        s3,
        &format!("{create} COPY ({composite}) TO 's3://swath/elsewhere/{label}.tif' STORED AS COG"),
    )
    .expect_err("outside the output root");
    assert!(
        err.contains("outside the allowed output locations"),
        "{err}"
    );
    let info = Command::new(env!("CARGO_BIN_EXE_swath"))
        .args(["info", "--json", &format!("s3://swath/out/{label}.tif")])
        .envs(s3.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("info");
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    assert!(json["width"].as_u64().unwrap_or(0) >= 512, "{json}");
}

#[test]
fn deploy_files_start_a_working_cluster() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let deploy = repo.join("deploy");
    let py = crate::bench::python(&repo);
    let out = Command::new(&py)
        .arg(repo.join("tests/scripts/deploy_roles.py"))
        .arg(&deploy)
        .output()
        .expect("deploy_roles.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");

    // The image: built in one stage, run from a slim one as a non-root user, the
    // `swath` binary as its entry point, built with a profile the workspace has.
    let docker = &parsed["dockerfile"];
    assert!(docker["stages"].as_u64() >= Some(2), "{docker}");
    let user = docker["final_user"]
        .as_str()
        .expect("a USER in the last stage");
    assert!(user != "root" && user != "0", "{user}");
    assert_eq!(docker["entrypoint"], serde_json::json!(["swath"]));
    let build = docker["build"][0].as_str().expect("a cargo build");
    assert!(
        build.contains("-p swath") && build.contains("--locked"),
        "{build}"
    );
    let profile = build
        .split_whitespace()
        .skip_while(|w| *w != "--profile")
        .nth(1)
        .expect("--profile");
    let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains(&format!("[profile.{profile}]")),
        "{profile}"
    );
    let ignore =
        std::fs::read_to_string(repo.join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target"));

    let dir = tempfile::tempdir().expect("dir");
    let s3_server = crate::start_server(
        "s3_server.py",
        &[
            "--bucket".as_ref(),
            "swath".as_ref(),
            "--log".as_ref(),
            dir.path().join("s3.jsonl").as_os_str(),
        ],
    );
    let endpoint = format!("http://127.0.0.1:{}", s3_server.port);
    let compose = roles(&parsed["compose"]);
    let role = |rs: &[Role], name: &str| -> Role {
        rs.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("role {name}"))
            .clone()
    };
    // The client's S3 settings: the compose file's, with the test's endpoint.
    let catalogue = role(&compose, "catalogue");
    let mut s3: Vec<(String, String)> = catalogue
        .env
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "AWS_ENDPOINT_URL" {
                    endpoint.clone()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    s3.sort();

    // compose: the catalogue job writes the catalogue into the bucket.
    let args = localize(&catalogue.args, &HashMap::new(), dir.path());
    let mut job = spawn(&catalogue, &args, &s3, &dir.path().join("catalogue.log"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = job.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the catalogue job hangs"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(dir.path().join("catalogue.log")).unwrap_or_default()
    );

    // compose: a scheduler and its two executors, as listed.
    let scheduler = role(&compose, "scheduler");
    let executors: Vec<&Role> =
        compose.iter().filter(|r| r.args[0] == "executor").collect();
    assert_eq!(executors.len(), 2);
    for e in &executors {
        assert_eq!(
            e.args[e
                .args
                .iter()
                .position(|a| a == "--scheduler")
                .expect("--scheduler")
                + 1],
            format!("scheduler:{}", port_of(&scheduler.args, "--bind"))
        );
    }
    // Both executors share one command but for their names and ports.
    let mut executor = executors[0].clone();
    executor.replicas = 2;
    run_cluster(dir.path(), "compose", &scheduler, &executor, &s3);

    // Kubernetes: the scheduler's Service names the port it binds; executors reach
    // it by the Service's name; they have resource requests and limits.
    let k8s = roles(&parsed["k8s"]);
    let scheduler = role(&k8s, "swath-scheduler");
    let executor = role(&k8s, "swath-executor");
    let service = parsed["k8s_services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "swath-scheduler")
        .expect("a swath-scheduler Service");
    let port = port_of(&scheduler.args, "--bind");
    assert_eq!(service["ports"][0].as_u64(), Some(u64::from(port)));
    assert_eq!(
        executor.args[executor
            .args
            .iter()
            .position(|a| a == "--scheduler")
            .expect("--scheduler")
            + 1],
        format!("swath-scheduler:{port}")
    );
    let resources = parsed["k8s"]
        .as_array()
        .expect("k8s")
        .iter()
        .find(|r| r["name"] == "swath-executor")
        .map(|r| r["resources"].clone())
        .expect("resources");
    assert!(
        resources["requests"]["memory"].is_string()
            && resources["limits"]["memory"].is_string()
    );
    assert!(scheduler.probe.is_some() && executor.probe.is_some());
    assert!(executor.replicas >= 2);
    run_cluster(dir.path(), "k8s", &scheduler, &executor, &s3);
}
