//! stac-geoparquet written by the two real writers (rustac and the pyarrow
//! reference implementation, stac-geoparquet) from the real-shaped fixtures, read
//! back: the same items as the JSON, and filters pushed into the scan.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{DateTime, Utc};
use swath_catalog::{Bbox, Filter, Item, Op, Predicate, TimeRange};

use crate::{fixture, load};

const INPUTS: [&str; 6] = [
    "earth-search/items/S2A_33UUP_20230612_0_L2A.json",
    "earth-search/items/S2A_33UVP_20230612_0_L2A.json",
    "earth-search/items/S2B_34UCV_20230615_0_L2A.json",
    "earth-search/items/S2A_33UUP_20230622_0_L2A.json",
    "planetary-computer/search-s2-l2a.json",
    "planetary-computer/landsat-c2-l2.json",
];

fn write(writer: &str, out: &std::path::Path, row_group_size: usize) {
    let script = swath_tests::repo_root().join("tests/scripts/make_stac_geoparquet.py");
    let output = Command::new(swath_tests::python())
        .arg(script)
        .arg(out)
        .args(INPUTS.map(fixture))
        .args([
            "--writer",
            writer,
            "--row-group-size",
            &row_group_size.to_string(),
        ])
        .output()
        .expect("the writer runs");
    assert!(
        output.status.success(),
        "{writer}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn from_json(filter: &Filter) -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    for rel in INPUTS {
        for item in load(&fixture(rel), filter).await.expect("json loads").items {
            items.insert(item.id.clone(), item);
        }
    }
    items
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("t").to_utc()
}

fn same_item(json: &Item, parquet: &Item, writer: &str) {
    let id = &json.id;
    assert_eq!(json.collection, parquet.collection, "{writer} {id}");
    // rustac stores datetime in milliseconds: equal to the ms.
    let ms = |i: &Item| i.datetime.timestamp_millis();
    assert_eq!(ms(json), ms(parquet), "{writer} {id}");
    let (a, b) = (json.bbox.expect("bbox"), parquet.bbox.expect("bbox"));
    for (x, y) in [
        (a.west, b.west),
        (a.south, b.south),
        (a.east, b.east),
        (a.north, b.north),
    ] {
        assert!((x - y).abs() < 1e-9, "{writer} {id}: bbox {a:?} vs {b:?}");
    }
    assert_eq!(
        json.geometry.is_some(),
        parquet.geometry.is_some(),
        "{writer} {id}"
    );
    for key in ["eo:cloud_cover", "platform", "proj:epsg"] {
        assert_eq!(
            json.property(key),
            parquet.property(key),
            "{writer} {id} {key}"
        );
    }
    assert_eq!(json.solar_day(), parquet.solar_day(), "{writer} {id}");
    for band in ["red", "nir08", "B04", "scl", "qa_pixel"] {
        match (json.band(band), parquet.band(band)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{writer} {id} band {band}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{writer} {id} band {band}: json {a:?} vs parquet {b:?}"),
        }
    }
}

#[tokio::test]
async fn written_by_real_writers_read_like_the_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = from_json(&Filter::default()).await;
    assert_eq!(reference.len(), 9);
    for writer in ["rustac", "stac-geoparquet"] {
        let path = dir.path().join(format!("{writer}.parquet"));
        write(writer, &path, 2);
        let loaded = load(&path.to_string_lossy(), &Filter::default())
            .await
            .expect(writer);
        assert_eq!(loaded.items.len(), reference.len(), "{writer}");
        assert_eq!(loaded.stats.row_groups, 5, "{writer}");
        for item in &loaded.items {
            let json = reference
                .get(&item.id)
                .unwrap_or_else(|| panic!("{writer}: {}", item.id));
            same_item(json, item, writer);
        }
    }
}

#[tokio::test]
async fn filters_are_pushed_into_the_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let june = TimeRange {
        start: Some(t("2023-06-01T00:00:00Z")),
        end: Some(t("2023-06-30T23:59:59Z")),
    };
    let filters = [
        Filter {
            time: Some(june),
            ..Filter::default()
        },
        Filter {
            time: Some(june),
            predicates: vec![Predicate::new("eo:cloud_cover", Op::Lt, 20)],
            ..Filter::default()
        },
        Filter {
            bbox: Some(Bbox::from_slice(&[90.0, 70.0, 110.0, 85.0]).expect("bbox")),
            ..Filter::default()
        },
        Filter {
            predicates: vec![Predicate::new("platform", Op::Eq, "landsat-9")],
            ..Filter::default()
        },
        Filter {
            collections: vec!["landsat-c2-l2".into()],
            ..Filter::default()
        },
        Filter {
            time: Some(TimeRange {
                start: Some(t("2030-01-01T00:00:00Z")),
                end: None,
            }),
            ..Filter::default()
        },
    ];
    for writer in ["rustac", "stac-geoparquet"] {
        let path = dir.path().join(format!("{writer}.parquet"));
        // One item per row group, so statistics can prune.
        write(writer, &path, 1);
        for (n, filter) in filters.iter().enumerate() {
            let want: Vec<String> = from_json(filter).await.into_keys().collect();
            let loaded = load(&path.to_string_lossy(), filter).await.expect(writer);
            let mut got: Vec<String> =
                loaded.items.iter().map(|i| i.id.clone()).collect();
            got.sort();
            assert_eq!(got, want, "{writer} filter {n}");
            let stats = &loaded.stats;
            assert_eq!(stats.row_groups, 9, "{writer} filter {n}");
            // Every item that does not match is removed before its assets are
            // decoded: by row-group statistics or by the row filter.
            assert_eq!(
                stats.row_groups_pruned + stats.rows_filtered + want.len(),
                9,
                "{writer} filter {n}: {stats:?}"
            );
            assert_eq!(
                stats.items_read,
                want.len(),
                "{writer} filter {n}: {stats:?}"
            );
        }
        // Time filters prune on the datetime statistics.
        let loaded = load(&path.to_string_lossy(), &filters[5])
            .await
            .expect(writer);
        assert_eq!(
            loaded.stats.row_groups_pruned, 9,
            "{writer}: {:?}",
            loaded.stats
        );
    }
}
