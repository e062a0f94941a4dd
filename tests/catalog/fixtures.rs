//! Real-shaped catalogues: Earth Search, Planetary Computer, Landsat C2 L2, STAC 1.1
//! items, the STAC spec's examples, a nested catalogue; directories and globs.

use chrono::{DateTime, Utc};
use swath_catalog::{Bbox, Crs, Filter, Op, Predicate, TimeRange};

use crate::{fixture, ids, load};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a date-time")
        .to_utc()
}

const UUP_0612: &str = "S2A_33UUP_20230612_0_L2A";
const UVP_0612: &str = "S2A_33UVP_20230612_0_L2A";
const UCV_0615: &str = "S2B_34UCV_20230615_0_L2A";
const UUP_0622: &str = "S2A_33UUP_20230622_0_L2A";

#[tokio::test]
async fn earth_search_collection() {
    let all = load(&fixture("earth-search/collection.json"), &Filter::default())
        .await
        .expect("loads");
    // Ordered by datetime: UVP is 3.3 s earlier than UUP on the 12th.
    assert_eq!(ids(&all), [UVP_0612, UUP_0612, UCV_0615, UUP_0622]);
    assert_eq!(all.stats.documents, 5);

    let uup = &all.items[1];
    assert_eq!(uup.collection.as_deref(), Some("sentinel-2-l2a"));
    assert_eq!(uup.datetime, t("2023-06-12T10:17:33.845Z"));
    let red = uup.band("red").expect("red");
    assert_eq!(red.asset_key, "red");
    assert!(
        red.href
            .as_str()
            .ends_with("/33/U/UP/2023/6/S2A_33UUP_20230612_0_L2A/B04.tif")
    );
    assert_eq!(
        (red.band.nodata, red.band.scale, red.band.offset),
        (Some(0.0), Some(0.0001), Some(-0.1))
    );
    assert_eq!(red.band.data_type.as_deref(), Some("uint16"));
    let grid = red.grid.expect("proj fields give the grid");
    assert_eq!(grid.crs, Crs::Epsg(32633));
    assert_eq!(grid.shape, [10980, 10980]);
    assert_eq!(grid.transform, [10.0, 0.0, 300000.0, 0.0, -10.0, 5400000.0]);
    // SCL by asset key in any case, at 20 m.
    let scl = uup.band("SCL").expect("scl");
    assert_eq!((scl.asset_key.as_str(), scl.name.as_str()), ("scl", "scl"));
    assert_eq!(scl.grid.expect("grid").shape, [5490, 5490]);
    assert_eq!(scl.band.scale, None);
    // Earth Search names eo:bands by common name; `nir08` is the 20 m B8A.
    assert_eq!(
        uup.band("nir08")
            .expect("nir08")
            .grid
            .expect("g")
            .resolution(),
        (20.0, 20.0)
    );
    // The 34UCV item is in the next UTM zone.
    assert_eq!(
        all.items[2].band("red").expect("red").grid.expect("g").crs,
        Crs::Epsg(32634)
    );
    // Generic properties are kept.
    assert_eq!(
        uup.property("mgrs:utm_zone").and_then(|v| v.as_u64()),
        Some(33)
    );
    // Solar day: 10:17 UTC at ~13° E is 11:09 local, the same date; both granules
    // of the 12th fall on one solar day.
    assert_eq!(all.items[0].solar_day(), uup.solar_day());
    assert_eq!(uup.solar_day().to_string(), "2023-06-12");
}

#[tokio::test]
async fn earth_search_filters() {
    let path = fixture("earth-search/collection.json");
    let cloudless = Filter {
        predicates: vec![Predicate::new("eo:cloud_cover", Op::Lt, 20)],
        ..Filter::default()
    };
    assert_eq!(
        ids(&load(&path, &cloudless).await.expect("loads")),
        [UVP_0612, UUP_0612]
    );

    // East of 18° E: only the zone-34 granule.
    let east = Filter {
        bbox: Some(Bbox::from_slice(&[18.0, 48.0, 20.0, 50.0]).expect("bbox")),
        ..Filter::default()
    };
    assert_eq!(ids(&load(&path, &east).await.expect("loads")), [UCV_0615]);

    // The overlap strip of UUP and UVP (13.64–13.80° E), from the 13th on, by platform.
    let filter = Filter {
        bbox: Some(Bbox::from_slice(&[13.7, 48.0, 13.75, 48.2]).expect("bbox")),
        time: Some(TimeRange {
            start: Some(t("2023-06-13T00:00:00Z")),
            end: None,
        }),
        predicates: vec![Predicate::new("platform", Op::Eq, "sentinel-2a")],
        ..Filter::default()
    };
    assert_eq!(ids(&load(&path, &filter).await.expect("loads")), [UUP_0622]);

    // A geometry: a triangle inside UUP west of UVP.
    let triangle = geo_triangle(12.5, 48.0);
    let filter = Filter {
        intersects: Some(triangle),
        ..Filter::default()
    };
    assert_eq!(
        ids(&load(&path, &filter).await.expect("loads")),
        [UUP_0612, UUP_0622]
    );

    // A CQL2 text filter, evaluated on each item.
    let filter = Filter::default()
        .with_cql2("\"eo:cloud_cover\" > 50 AND \"grid:code\" = 'MGRS-34UCV'")
        .expect("cql2 parses");
    assert_eq!(ids(&load(&path, &filter).await.expect("loads")), [UCV_0615]);
    // Earth Search has no `s2:mgrs_tile`: no item matches, and that is no error.
    let filter = Filter::default()
        .with_cql2("\"s2:mgrs_tile\" = '34UCV'")
        .expect("cql2 parses");
    assert!(load(&path, &filter).await.expect("loads").items.is_empty());

    // Nothing matches: an empty result, not an error.
    let none = Filter {
        time: Some(TimeRange {
            start: Some(t("2030-01-01T00:00:00Z")),
            end: None,
        }),
        ..Filter::default()
    };
    let loaded = load(&path, &none).await.expect("loads");
    assert!(loaded.items.is_empty());
    assert_eq!(loaded.stats.items_read, 4);
}

fn geo_triangle(lon: f64, lat: f64) -> geo_types::Geometry {
    geo_types::Geometry::Polygon(geo_types::Polygon::new(
        vec![(lon, lat), (lon + 0.1, lat), (lon, lat + 0.1), (lon, lat)].into(),
        vec![],
    ))
}

#[tokio::test]
async fn planetary_computer_sentinel2_search_page() {
    let loaded = load(
        &fixture("planetary-computer/search-s2-l2a.json"),
        &Filter::default(),
    )
    .await
    .expect("loads");
    assert_eq!(loaded.items.len(), 3);
    let item = loaded
        .items
        .iter()
        .find(|i| i.id.contains("T47XML"))
        .expect("47XML");
    // PC keys assets by band id; users ask by common name or by key.
    let red = item.band("red").expect("red");
    assert_eq!(red.asset_key, "B04");
    assert_eq!(item.band("b04").expect("B04").asset_key, "B04");
    assert_eq!(item.band("nir").expect("nir").asset_key, "B08");
    assert_eq!(item.band("scl").expect("SCL").asset_key, "SCL");
    // No raster:bands on PC: no nodata or scale from the catalogue.
    assert_eq!((red.band.nodata, red.band.scale), (None, None));
    let grid = red.grid.expect("grid");
    assert_eq!(grid.crs, Crs::Epsg(32647));
    assert_eq!(grid.shape, [10980, 10980]);
    assert_eq!(grid.transform[2], 399960.0);
    assert_eq!(grid.transform[5], 9100020.0);
    assert_eq!(
        item.property("platform")
            .and_then(|v| v.as_str().map(str::to_string))
            .as_deref(),
        Some("Sentinel-2B")
    );
    // The 46XES granule is in zone 46.
    let es = loaded
        .items
        .iter()
        .find(|i| i.id.contains("T46XES"))
        .expect("46XES");
    assert_eq!(
        es.band("red").expect("red").grid.expect("g").crs,
        Crs::Epsg(32646)
    );
}

#[tokio::test]
async fn planetary_computer_landsat() {
    let loaded = load(
        &fixture("planetary-computer/landsat-c2-l2.json"),
        &Filter::default(),
    )
    .await
    .expect("loads");
    assert_eq!(loaded.items.len(), 2);
    let item = &loaded.items[0];
    let red = item.band("red").expect("red");
    assert_eq!(
        (red.band.scale, red.band.offset, red.band.nodata),
        (Some(2.75e-05), Some(-0.2), Some(0.0))
    );
    assert_eq!(red.band.common_name.as_deref(), Some("red"));
    // Item-level proj:shape/transform apply to every asset.
    let grid = red.grid.expect("grid");
    assert_eq!(grid.crs, Crs::Epsg(32655));
    assert_eq!(grid.resolution(), (30.0, 30.0));
    let qa = item.band("qa_pixel").expect("qa_pixel");
    assert_eq!(qa.band.nodata, Some(1.0));
    assert!(item.property("landsat:wrs_path").is_some());
    let cloudy = Filter {
        predicates: vec![Predicate::new("landsat:cloud_cover_land", Op::Ge, 90)],
        ..Filter::default()
    };
    let loaded = load(&fixture("planetary-computer/landsat-c2-l2.json"), &cloudy)
        .await
        .expect("loads");
    assert_eq!(ids(&loaded), ["LC09_L2SP_089090_20240417_02_T1"]);
}

#[tokio::test]
async fn stac_1_1_bands_and_proj_code() {
    let loaded = load(
        &fixture("stac-1.1/S2B_33SVB_20210221_0_L2A.json"),
        &Filter::default(),
    )
    .await
    .expect("loads");
    let item = &loaded.items[0];
    assert_eq!(item.stac_version, "1.1.0");
    let red = item.band("red").expect("red");
    // The single-band B04 wins over the 3-band visual asset.
    assert_eq!(red.asset_key, "B04");
    let grid = red
        .grid
        .expect("grid from item-level proj:code/shape/transform");
    assert_eq!(grid.crs, Crs::Epsg(32633));
    // B05 carries its band fields on the asset itself.
    assert_eq!(item.band("B05").expect("B05").band.nodata, Some(0.0));

    let cdse = load(
        &fixture(
            "stac-1.1/S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914.json",
        ),
        &Filter::default(),
    )
    .await
    .expect("loads");
    let item = &cdse.items[0];
    // Asset-level nodata/scale/offset (STAC 1.1) and per-asset proj:code.
    let b04 = item.band("B04_10m").expect("by key");
    assert_eq!(
        (b04.band.nodata, b04.band.scale, b04.band.offset),
        (Some(0.0), Some(0.0001), Some(-0.1))
    );
    assert_eq!(b04.band.common_name.as_deref(), Some("red"));
    assert_eq!(b04.grid.expect("grid").crs, Crs::Epsg(32633));
    // By common name: CDSE's assets are JPEG 2000, which Swath does not read; the
    // error says so rather than picking one.
    let err = item.band("red").expect_err("jp2 only").to_string();
    assert!(err.contains("B04_10m (red) [not a GeoTIFF]"), "{err}");
}

#[tokio::test]
async fn spec_examples() {
    // The spec's catalogue: children (collections) and an item, followed recursively.
    let loaded = load(&fixture("spec-examples/catalog.json"), &Filter::default())
        .await
        .expect("loads");
    assert_eq!(ids(&loaded).len(), 2, "{:?}", ids(&loaded));
    assert!(ids(&loaded).contains(&"proj-example"));
    let collection = load(
        &fixture("spec-examples/collection.json"),
        &Filter::default(),
    )
    .await
    .expect("loads");
    assert_eq!(collection.items.len(), 3);
    // Every spec item reads on its own, 1.1.0 and 1.1.0-beta.1 alike.
    for name in [
        "simple-item",
        "core-item",
        "extended-item",
        "collectionless-item",
    ] {
        let loaded = load(
            &fixture(&format!("spec-examples/{name}.json")),
            &Filter::default(),
        )
        .await
        .expect("loads");
        assert_eq!(loaded.items.len(), 1, "{name}");
    }
}

#[tokio::test]
async fn nested_catalogue_relative_and_absolute_links() {
    let loaded = load(&fixture("nested/catalog.json"), &Filter::default())
        .await
        .expect("loads");
    assert_eq!(loaded.items.len(), 4);
    assert_eq!(loaded.stats.documents, 7);
    // Asset hrefs resolve against the item file.
    let landsat = Filter {
        collections: vec!["landsat-c2-l2".into()],
        ..Filter::default()
    };
    let only = load(&fixture("nested/catalog.json"), &landsat)
        .await
        .expect("loads");
    assert_eq!(only.items.len(), 2, "{:?}", ids(&only));
    // Items of unwanted collections are not even read.
    assert_eq!(only.stats.documents, 5);

    // The same catalogue with absolute file:// links, written here.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&crate::stac_fixtures().join("nested"), dir.path());
    let catalog_path = dir.path().join("catalog.json");
    let mut catalog: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&catalog_path).expect("read"))
            .expect("json");
    for link in catalog["links"].as_array_mut().expect("links") {
        if link["rel"] == "child" {
            let rel = link["href"]
                .as_str()
                .expect("href")
                .trim_start_matches("./")
                .to_string();
            let abs = url::Url::from_file_path(dir.path().join(rel)).expect("url");
            link["href"] = serde_json::Value::String(abs.to_string());
        }
    }
    std::fs::write(&catalog_path, serde_json::to_vec(&catalog).expect("json"))
        .expect("write");
    let absolute = load(&catalog_path.to_string_lossy(), &Filter::default())
        .await
        .expect("loads");
    assert_eq!(ids(&absolute), ids(&loaded));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn directories_and_globs_of_item_files() {
    // A directory: every item file below it (collections are passed over).
    let dir = load(&format!("{}/", fixture("earth-search")), &Filter::default())
        .await
        .expect("loads");
    assert_eq!(dir.items.len(), 4);
    let glob = load(
        &fixture("earth-search/items/S2A_*.json"),
        &Filter::default(),
    )
    .await
    .expect("loads");
    assert_eq!(ids(&glob), [UVP_0612, UUP_0612, UUP_0622]);
    let deep = load(&fixture("nested/**/item-*.json"), &Filter::default())
        .await
        .expect("loads");
    assert_eq!(deep.items.len(), 4);
    let err = load(&fixture("earth-search/items/*.tif"), &Filter::default())
        .await
        .expect_err("no match");
    assert!(err.to_string().contains("matches no .json file"), "{err}");
}

/// An item without `proj:*`: the grid comes from the COG header, read once and
/// cached; a missing asset is an error naming its href.
#[tokio::test]
async fn grid_from_the_cog_header() {
    use swath_catalog::{GridCache, Stores};
    use swath_geotiff::{CogMetadata, CogOptions, PixelData, Raster, write_cog};

    let dir = tempfile::tempdir().expect("tempdir");
    let raster =
        Raster::new(300, 200, 1, PixelData::U16(vec![7; 300 * 200])).expect("raster");
    let meta = CogMetadata {
        epsg: Some(32634),
        transform: Some([20.0, 0.0, 500000.0, 0.0, -20.0, 5600000.0]),
        nodata: Some(0.0),
        ..CogMetadata::default()
    };
    let cog = write_cog(&raster, &meta, &CogOptions::default()).expect("cog");
    std::fs::write(dir.path().join("B04.tif"), cog).expect("write");
    let item = serde_json::json!({
        "type": "Feature", "stac_version": "1.0.0", "id": "no-proj", "geometry": null,
        "properties": {"datetime": "2023-06-15T09:56:29Z"},
        "assets": {
            "B04": {"href": "./B04.tif", "type": "image/tiff; application=geotiff", "eo:bands": [{"name": "B04", "common_name": "red"}]},
            "B08": {"href": "./B08.tif", "type": "image/tiff; application=geotiff", "eo:bands": [{"name": "B08", "common_name": "nir"}]}
        }
    });
    let path = dir.path().join("item.json");
    std::fs::write(&path, item.to_string()).expect("write");
    let loaded = load(&path.to_string_lossy(), &Filter::default())
        .await
        .expect("loads");
    let item = &loaded.items[0];
    let red = item.band("red").expect("red");
    assert_eq!(red.grid, None);
    let stores = Stores::local();
    let cache = GridCache::new();
    let grid = cache.grid(&red, &stores).await.expect("header grid");
    assert_eq!(grid.crs, Crs::Epsg(32634));
    assert_eq!(grid.shape, [200, 300]);
    assert_eq!(grid.transform, [20.0, 0.0, 500000.0, 0.0, -20.0, 5600000.0]);
    assert_eq!(cache.len(), 1);
    // Cached: the file can go, the grid stays.
    std::fs::remove_file(dir.path().join("B04.tif")).expect("rm");
    assert_eq!(cache.grid(&red, &stores).await.expect("cached"), grid);
    // A missing asset: the error names it.
    let nir = item.band("nir").expect("nir");
    let err = cache
        .grid(&nir, &stores)
        .await
        .expect_err("404")
        .to_string();
    assert!(err.contains("B08.tif"), "{err}");
}
