//! A catalogue of 10,000 item files, loaded with concurrent reads and filtered.
//! The expected matches are computed from the generator's parameters, not by
//! the reader.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use swath_catalog::{Bbox, Filter, Op, Predicate, TimeRange};

use crate::load;

const N: usize = 10_000;

struct Gen {
    datetime: DateTime<Utc>,
    cloud: f64,
    lon: f64,
    lat: f64,
}

fn params(i: usize) -> Gen {
    let start = DateTime::parse_from_rfc3339("2023-01-01T10:00:00Z")
        .expect("t")
        .to_utc();
    Gen {
        datetime: start + TimeDelta::minutes((i * 52) as i64),
        cloud: ((i * 37) % 100) as f64,
        lon: 5.0 + (i % 100) as f64 * 0.2,
        lat: 40.0 + ((i / 100) % 50) as f64 * 0.2,
    }
}

fn write_catalogue(dir: &std::path::Path) {
    let mut links = vec![json!({"rel": "root", "href": "./collection.json"})];
    for i in 0..N {
        let g = params(i);
        let sub = format!("items/{:03}", i / 100);
        std::fs::create_dir_all(dir.join(&sub)).expect("mkdir");
        let id = format!("item-{i:05}");
        let (w, s, e, n) = (g.lon, g.lat, g.lon + 0.15, g.lat + 0.15);
        let item = json!({
            "type": "Feature", "stac_version": "1.0.0", "id": id, "collection": "synthetic",
            "bbox": [w, s, e, n],
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
            "properties": {
                "datetime": g.datetime.to_rfc3339(),
                "eo:cloud_cover": g.cloud,
                "platform": if i.is_multiple_of(2) { "sentinel-2a" } else { "sentinel-2b" },
                "proj:epsg": 32633
            },
            "links": [{"rel": "collection", "href": "../../collection.json"}],
            "assets": {
                "red": {"href": "./B04.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized", "roles": ["data"],
                        "eo:bands": [{"name": "B04", "common_name": "red"}],
                        "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}],
                        "proj:shape": [10980, 10980], "proj:transform": [10, 0, 300000, 0, -10, 5400000]}
            }
        });
        std::fs::write(dir.join(format!("{sub}/{id}.json")), item.to_string())
            .expect("write");
        links.push(json!({"rel": "item", "href": format!("./{sub}/{id}.json")}));
    }
    let collection = json!({
        "type": "Collection", "stac_version": "1.0.0", "id": "synthetic", "description": "10k items",
        "license": "CC-BY-4.0",
        "extent": {"spatial": {"bbox": [[5, 40, 25, 50]]}, "temporal": {"interval": [["2023-01-01T00:00:00Z", null]]}},
        "links": links
    });
    std::fs::write(dir.join("collection.json"), collection.to_string()).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_item_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_catalogue(dir.path());
    let t = |s: &str| DateTime::parse_from_rfc3339(s).expect("t").to_utc();
    let range = TimeRange {
        start: Some(t("2023-04-01T00:00:00Z")),
        end: Some(t("2023-06-30T23:59:59Z")),
    };
    let query = Bbox::from_slice(&[10.0, 42.0, 16.0, 48.0]).expect("bbox");
    let filter = Filter {
        time: Some(range),
        bbox: Some(query),
        predicates: vec![Predicate::new("eo:cloud_cover", Op::Lt, 30)],
        ..Filter::default()
    };
    let expected: Vec<String> = (0..N)
        .filter(|&i| {
            let g = params(i);
            let in_time = range.start.is_none_or(|s| g.datetime >= s)
                && range.end.is_none_or(|e| g.datetime <= e);
            let in_space = g.lon <= 16.0
                && g.lon + 0.15 >= 10.0
                && g.lat <= 48.0
                && g.lat + 0.15 >= 42.0;
            in_time && in_space && g.cloud < 30.0
        })
        .map(|i| format!("item-{i:05}"))
        .collect();
    assert!(
        expected.len() > 10 && expected.len() < 1000,
        "{}",
        expected.len()
    );

    let started = Instant::now();
    let loaded = load(
        &dir.path().join("collection.json").to_string_lossy(),
        &filter,
    )
    .await
    .expect("loads");
    let elapsed = started.elapsed();
    eprintln!(
        "10,000 item files via links: {} documents, {} matched, {:.2} s",
        loaded.stats.documents,
        loaded.items.len(),
        elapsed.as_secs_f64()
    );
    assert_eq!(loaded.stats.documents, N + 1);
    assert_eq!(loaded.stats.items_read, N);
    let mut got: Vec<String> = loaded.items.iter().map(|i| i.id.clone()).collect();
    got.sort();
    assert_eq!(got, expected);
    // In time order.
    assert!(
        loaded
            .items
            .windows(2)
            .all(|w| w[0].datetime <= w[1].datetime)
    );

    // The same files as a directory of items.
    let started = Instant::now();
    let loaded = load(&format!("{}/items/", dir.path().display()), &filter)
        .await
        .expect("loads");
    eprintln!(
        "10,000 item files as a directory: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut got: Vec<String> = loaded.items.iter().map(|i| i.id.clone()).collect();
    got.sort();
    assert_eq!(got, expected);
}
