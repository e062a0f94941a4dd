//! Broken catalogues: a clear error naming the file and field, or — when the user
//! asked to skip bad items — a skipped item and a warning. Never a panic.

use swath_catalog::{Filter, Limits, LoadOptions, OnError, Stores};

use crate::{fixture, load};

async fn error_of(rel: &str) -> String {
    load(&fixture(rel), &Filter::default())
        .await
        .expect_err(rel)
        .to_string()
}

#[tokio::test]
async fn each_bad_file_names_file_and_field() {
    let cases = [
        ("bad/broken-json.json", "invalid JSON: EOF while parsing"),
        (
            "bad/missing-id.json",
            "field `id`: required field is missing",
        ),
        (
            "bad/unknown-version.json",
            "field `stac_version`: unsupported STAC version \"0.6.0\"",
        ),
        (
            "bad/not-stac.json",
            "field `type`: required field is missing",
        ),
        (
            "bad/missing-asset-href.json",
            "field `assets.red.href`: required field is missing",
        ),
        (
            "bad/bad-datetime.json",
            "field `properties.datetime`: \"yesterday\" is not an RFC 3339 date-time",
        ),
    ];
    for (rel, expected) in cases {
        let err = error_of(rel).await;
        let file = rel.rsplit('/').next().expect("name");
        assert!(err.contains(file), "{rel}: the error names the file: {err}");
        assert!(err.contains(expected), "{rel}: {err}");
    }
}

#[tokio::test]
async fn dangling_links_and_cycles() {
    let err = error_of("bad/dangling-link/catalog.json").await;
    assert!(
        err.contains("dangling-link/catalog.json: link `item` to ")
            && err.contains("items/does-not-exist.json"),
        "{err}"
    );
    let err = error_of("bad/cycle/catalog.json").await;
    assert!(
        err.contains("cycle/child/catalog.json: link `child` to ")
            && err.contains("link cycle"),
        "{err}"
    );
    // Skipping: the load succeeds with a warning naming the link.
    let options = LoadOptions {
        on_error: OnError::Skip,
        ..LoadOptions::default()
    };
    for (rel, expected) in [
        ("bad/dangling-link/catalog.json", "does-not-exist.json"),
        ("bad/cycle/catalog.json", "link cycle"),
    ] {
        let loaded = swath_catalog::load(
            &fixture(rel),
            &Stores::local(),
            &Filter::default(),
            &options,
        )
        .await
        .expect("skips");
        assert!(loaded.items.is_empty());
        assert_eq!(loaded.warnings.len(), 1, "{rel}: {:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].message.contains(expected),
            "{:?}",
            loaded.warnings
        );
    }
}

#[tokio::test]
async fn skipping_keeps_the_good_items() {
    // A directory of items, two of them broken.
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["S2A_33UUP_20230612_0_L2A", "S2A_33UVP_20230612_0_L2A"] {
        std::fs::copy(
            fixture(&format!("earth-search/items/{name}.json")),
            dir.path().join(format!("{name}.json")),
        )
        .expect("copy");
    }
    std::fs::copy(
        fixture("bad/missing-id.json"),
        dir.path().join("missing-id.json"),
    )
    .expect("copy");
    std::fs::copy(
        fixture("bad/broken-json.json"),
        dir.path().join("broken.json"),
    )
    .expect("copy");
    let location = format!("{}/", dir.path().display());
    let err = load(&location, &Filter::default())
        .await
        .expect_err("fails by default");
    assert!(
        err.to_string().contains("broken.json")
            || err.to_string().contains("missing-id.json"),
        "{err}"
    );
    let options = LoadOptions {
        on_error: OnError::Skip,
        ..LoadOptions::default()
    };
    let loaded =
        swath_catalog::load(&location, &Stores::local(), &Filter::default(), &options)
            .await
            .expect("skips");
    assert_eq!(loaded.items.len(), 2);
    let mut warnings: Vec<String> =
        loaded.warnings.iter().map(|w| w.to_string()).collect();
    warnings.sort();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("broken.json") && warnings[0].contains("invalid JSON"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("missing-id.json") && warnings[1].contains("`id`"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn remote_links_need_a_configured_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = serde_json::json!({
        "type": "Catalog", "stac_version": "1.0.0", "id": "c", "description": "d",
        "links": [{"rel": "item", "href": "https://stac.example.com/items/a.json"}]
    });
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, catalog.to_string()).expect("write");
    let err = load(&path.to_string_lossy(), &Filter::default())
        .await
        .expect_err("refused");
    let err = err.to_string();
    assert!(
        err.contains("link `item` to https://stac.example.com/items/a.json")
            && err.contains("no object store is configured for https://stac.example.com"),
        "{err}"
    );
    // And a local catalogue is refused when only a remote store is configured.
    let err = swath_catalog::load(
        &path.to_string_lossy(),
        &Stores::new(),
        &Filter::default(),
        &LoadOptions::default(),
    )
    .await
    .expect_err("no file store");
    assert!(
        err.to_string()
            .contains("no object store is configured for file://"),
        "{err}"
    );
}

#[tokio::test]
async fn limits_and_missing_locations() {
    let options = LoadOptions {
        limits: Limits {
            max_document_bytes: 1000,
            ..Limits::default()
        },
        ..LoadOptions::default()
    };
    let err = swath_catalog::load(
        &fixture("earth-search/collection.json"),
        &Stores::local(),
        &Filter::default(),
        &options,
    )
    .await
    .expect_err("too big");
    assert!(err.to_string().contains("document size"), "{err}");
    let options = LoadOptions {
        limits: Limits {
            max_depth: 1,
            ..Limits::default()
        },
        ..LoadOptions::default()
    };
    let err = swath_catalog::load(
        &fixture("nested/catalog.json"),
        &Stores::local(),
        &Filter::default(),
        &options,
    )
    .await
    .expect_err("too deep");
    assert!(
        err.to_string().contains("link depth 2 exceeds the limit 1"),
        "{err}"
    );
    let err = error_of("no/such/catalog.json").await;
    assert!(err.contains("no/such/catalog.json"), "{err}");
    let err = load("", &Filter::default()).await.expect_err("empty");
    assert!(
        err.to_string().contains("empty catalogue location"),
        "{err}"
    );
}
