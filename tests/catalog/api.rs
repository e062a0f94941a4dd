//! STAC API search against real servers on loopback, started by the test:
//! `rustac serve` (paging through POST `next` links; no filter extension, so
//! predicates are applied on our side) and stac-fastapi-static (CQL2 filtering on
//! the server). Expected items come from the generator's parameters.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use swath_catalog::{
    ApiOptions, Bbox, Filter, LoadOptions, Loaded, Op, Predicate, SourceKind, Stores,
    TimeRange,
};

/// A STAC API server process; stopped on drop (its stdin closes).
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(backend: &str, data: &std::path::Path) -> Server {
        let script = swath_tests::repo_root().join("tests/scripts/stac_api_server.py");
        let port_file = data.with_extension("port");
        let mut child = Command::new(swath_tests::python())
            .arg(script)
            .args(["--backend", backend, "--lifetime", "300", "--port-file"])
            .arg(&port_file)
            .arg("--data")
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server wrapper starts");
        // The wrapper prints the URL once the server answers (it gives up by itself
        // after 60 s, closing stdout).
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the URL");
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "{backend} did not start: {url:?}"
        );
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Params {
    collection: &'static str,
    datetime: DateTime<Utc>,
    cloud: f64,
    platform: &'static str,
    bbox: [f64; 4],
}

const N: usize = 40;

fn params(i: usize) -> Params {
    let start = DateTime::parse_from_rfc3339("2023-01-05T10:00:00Z")
        .expect("t")
        .to_utc();
    let (lon, lat) = (14.0 + (i % 8) as f64, 48.0 + ((i / 8) % 4) as f64);
    Params {
        collection: if i % 4 == 3 {
            "landsat-c2-l2"
        } else {
            "sentinel-2-l2a"
        },
        datetime: start + TimeDelta::days(9 * i as i64),
        cloud: ((i * 23) % 100) as f64,
        platform: if i.is_multiple_of(2) {
            "sentinel-2a"
        } else {
            "sentinel-2b"
        },
        bbox: [lon, lat, lon + 0.9, lat + 0.9],
    }
}

fn write_items(path: &std::path::Path) {
    let features: Vec<Value> = (0..N)
        .map(|i| {
            let p = params(i);
            let [w, s, e, n] = p.bbox;
            json!({
                "type": "Feature", "stac_version": "1.0.0", "id": format!("item-{i:02}"),
                "collection": p.collection, "bbox": p.bbox,
                "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
                "properties": {"datetime": p.datetime.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                               "eo:cloud_cover": p.cloud, "platform": p.platform},
                "links": [],
                "assets": {"red": {"href": format!("https://data.example.com/{i}/B04.tif"),
                                   "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                                   "roles": ["data"], "eo:bands": [{"name": "B04", "common_name": "red"}]}}
            })
        })
        .collect();
    let collection = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(path, collection.to_string()).expect("write items");
}

fn expected(keep: impl Fn(&Params) -> bool) -> BTreeSet<String> {
    (0..N)
        .filter(|&i| keep(&params(i)))
        .map(|i| format!("item-{i:02}"))
        .collect()
}

fn got(loaded: &Loaded) -> BTreeSet<String> {
    loaded.items.iter().map(|i| i.id.clone()).collect()
}

async fn search(
    url: &str,
    filter: &Filter,
    page_size: u32,
) -> swath_catalog::Result<Loaded> {
    let options = LoadOptions {
        kind: Some(SourceKind::Api),
        api: ApiOptions {
            page_size,
            ..ApiOptions::default()
        },
        ..LoadOptions::default()
    };
    swath_catalog::load(url, &Stores::new(), filter, &options).await
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("t").to_utc()
}

fn overlaps(b: [f64; 4], q: [f64; 4]) -> bool {
    b[0] <= q[2] && q[0] <= b[2] && b[1] <= q[3] && q[1] <= b[3]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustac_serve_paging_and_client_side_predicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("items.json");
    write_items(&data);
    let server = Server::start("rustac", &data);

    // collections + bbox + datetime, 3 items a page: several pages, POST `next` links.
    let q = [15.5, 48.5, 18.2, 50.2];
    let (start, end) = (t("2023-02-01T00:00:00Z"), t("2023-10-01T00:00:00Z"));
    let filter = Filter {
        collections: vec!["sentinel-2-l2a".into()],
        bbox: Some(Bbox::from_slice(&q).expect("bbox")),
        time: Some(TimeRange {
            start: Some(start),
            end: Some(end),
        }),
        ..Filter::default()
    };
    let want = expected(|p| {
        p.collection == "sentinel-2-l2a"
            && overlaps(p.bbox, q)
            && p.datetime >= start
            && p.datetime <= end
    });
    assert!(want.len() > 3, "{want:?}");
    let loaded = search(&server.url, &filter, 3).await.expect("search");
    assert_eq!(got(&loaded), want);
    assert!(
        loaded.stats.documents >= want.len().div_ceil(3),
        "{:?}",
        loaded.stats
    );
    // The server applied the search: it sent only what matched.
    assert_eq!(loaded.stats.items_read, want.len());

    // Property predicates: rustac does not declare the filter extension, so the
    // client leaves `filter` out of the search and applies it to what comes back.
    let filter = Filter {
        predicates: vec![
            Predicate::new("eo:cloud_cover", Op::Lt, 30),
            Predicate::new("platform", Op::Eq, "sentinel-2a"),
        ],
        ..Filter::default()
    };
    let want = expected(|p| p.cloud < 30.0 && p.platform == "sentinel-2a");
    let loaded = search(&format!("{}/search", server.url), &filter, 7)
        .await
        .expect("search");
    assert_eq!(got(&loaded), want);
    assert_eq!(loaded.stats.items_read, N);

    // intersects: a triangle around (16.5, 49.5).
    let triangle = geo_types::Geometry::Polygon(geo_types::Polygon::new(
        vec![(16.3, 49.3), (16.7, 49.3), (16.5, 49.7), (16.3, 49.3)].into(),
        vec![],
    ));
    let filter = Filter {
        intersects: Some(triangle),
        ..Filter::default()
    };
    let want = expected(|p| overlaps(p.bbox, [16.3, 49.3, 16.7, 49.7]));
    let loaded = search(&server.url, &filter, 5).await.expect("search");
    assert_eq!(got(&loaded), want);

    // A wrong path: the HTTP status and the URL in one message.
    let err = search(&format!("{}/nope/", server.url), &Filter::default(), 5)
        .await
        .expect_err("404");
    let err = err.to_string();
    assert!(err.contains("/nope/search") && err.contains("404"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stac_fastapi_filters_with_cql2_on_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("items.json");
    write_items(&data);
    let server = Server::start("static", &data);
    let filter = Filter {
        collections: vec!["sentinel-2-l2a".into()],
        predicates: vec![
            Predicate::new("eo:cloud_cover", Op::Lt, 50),
            Predicate::new("platform", Op::Eq, "sentinel-2a"),
        ],
        ..Filter::default()
    };
    let want = expected(|p| {
        p.collection == "sentinel-2-l2a" && p.cloud < 50.0 && p.platform == "sentinel-2a"
    });
    assert!(want.len() > 4, "{want:?}");
    let loaded = search(&server.url, &filter, 4).await.expect("search");
    assert_eq!(got(&loaded), want);
    // The server filtered: only matching items crossed the wire, over several pages.
    assert_eq!(loaded.stats.items_read, want.len());
    assert!(loaded.stats.documents > 2, "{:?}", loaded.stats);

    // A CQL2 text filter is sent as CQL2-JSON.
    let filter = Filter::default()
        .with_cql2("\"eo:cloud_cover\" >= 60 AND platform = 'sentinel-2b'")
        .expect("cql2");
    let want = expected(|p| p.cloud >= 60.0 && p.platform == "sentinel-2b");
    let loaded = search(&server.url, &filter, 100).await.expect("search");
    assert_eq!(got(&loaded), want);
    assert_eq!(loaded.stats.items_read, want.len());
}

/// A loopback endpoint that fails twice with 503 (the second time with
/// `Retry-After: 0`), then serves one page: the client retries and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_transient_failures() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let page = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature", "stac_version": "1.0.0", "id": "only", "geometry": null,
        "properties": {"datetime": "2023-01-01T00:00:00Z"}, "assets": {}
    }], "links": []})
    .to_string();
    let server = std::thread::spawn(move || {
        let mut requests = 0;
        for (n, stream) in listener.incoming().take(3).enumerate() {
            let mut stream = stream.expect("connection");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            requests += 1;
            let response = match n {
                0 => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy".to_string(),
                1 => "HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy".to_string(),
                _ => format!("HTTP/1.1 200 OK\r\ncontent-type: application/geo+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}", page.len()),
            };
            stream.write_all(response.as_bytes()).expect("write");
        }
        requests
    });
    let options = LoadOptions {
        kind: Some(SourceKind::Api),
        api: ApiOptions {
            initial_backoff: Duration::from_millis(20),
            ..ApiOptions::default()
        },
        ..LoadOptions::default()
    };
    let url = format!("http://127.0.0.1:{port}/search");
    let loaded = swath_catalog::load(&url, &Stores::new(), &Filter::default(), &options)
        .await
        .expect("succeeds on the third attempt");
    assert_eq!(loaded.items.len(), 1);
    assert_eq!(server.join().expect("server thread"), 3);

    // Nothing listens: connection refused, retried, then a clear error.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let options = LoadOptions {
        kind: Some(SourceKind::Api),
        api: ApiOptions {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            ..ApiOptions::default()
        },
        ..LoadOptions::default()
    };
    let url = format!("http://127.0.0.1:{port}/search");
    let err = swath_catalog::load(&url, &Stores::new(), &Filter::default(), &options)
        .await
        .expect_err("refused");
    let err = err.to_string();
    assert!(
        err.contains(&url) && err.contains("after 3 attempt(s)"),
        "{err}"
    );
}
