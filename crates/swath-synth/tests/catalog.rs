//! The generated catalogue read back by Swath's STAC reader.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use swath_catalog::{Bbox, Crs, Filter, LoadOptions, Loaded, Op, Predicate, Stores};
use swath_synth::{Catalog, SynthSpec, generate};

async fn load(catalog: &Catalog, filter: &Filter) -> Loaded {
    let location = catalog.collection.to_string_lossy().into_owned();
    swath_catalog::load(&location, &Stores::local(), filter, &LoadOptions::default())
        .await
        .expect("the catalogue loads")
}

fn ids(loaded: &Loaded) -> Vec<&str> {
    loaded.items.iter().map(|i| i.id.as_str()).collect()
}

#[tokio::test]
async fn swath_catalog_reads_every_item_and_band() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = generate(dir.path(), &SynthSpec::tiny()).expect("generates");
    let loaded = load(&catalog, &Filter::default()).await;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let expected: Vec<&str> = catalog.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids(&loaded), expected);

    for (item, info) in loaded.items.iter().zip(&catalog.items) {
        assert_eq!(item.collection.as_deref(), Some("sentinel-2-l2a"));
        assert_eq!(
            item.datetime.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            info.datetime
        );
        assert_eq!(
            item.property("platform")
                .and_then(|v| v.as_str().map(String::from)),
            Some(info.platform.clone())
        );
        assert_eq!(
            item.property("eo:cloud_cover").and_then(|v| v.as_f64()),
            Some(info.cloud_cover)
        );
        assert_eq!(
            item.property("s2:mgrs_tile")
                .and_then(|v| v.as_str().map(String::from)),
            Some(info.granule.clone())
        );
        for name in ["blue", "green", "red", "nir"] {
            let band = item.band(name).expect("a 10 m band");
            assert_eq!(band.asset_key, name);
            let path = band.href.to_file_path().expect("a file URL");
            assert_eq!(
                path,
                catalog
                    .asset_path(info, name)
                    .canonicalize()
                    .expect("exists")
            );
            assert_eq!(
                (band.band.nodata, band.band.scale, band.band.offset),
                (Some(0.0), Some(0.0001), Some(-0.1))
            );
            assert_eq!(band.band.data_type.as_deref(), Some("uint16"));
            assert_eq!(band.band.common_name.as_deref(), Some(name));
            let grid = band.grid.expect("proj fields give the grid");
            assert_eq!(grid.crs, Crs::Epsg(info.epsg));
            assert_eq!(grid.transform, info.transform);
            assert_eq!(grid.shape, [64, 64]);
        }
        let scl = item.band("SCL").expect("scl by asset key, any case");
        assert_eq!(scl.asset_key, "scl");
        assert_eq!((scl.band.nodata, scl.band.scale), (Some(0.0), None));
        assert_eq!(scl.band.data_type.as_deref(), Some("uint8"));
        let grid = scl.grid.expect("grid");
        assert_eq!(grid.shape, [32, 32]);
        assert_eq!(grid.resolution(), (20.0, 20.0));
        assert_eq!(grid.transform[2], info.transform[2]);
        assert_eq!(grid.transform[5], info.transform[5]);
        // The thumbnail is an asset but not raster data.
        let thumbnail = item.asset("thumbnail").expect("a thumbnail asset");
        assert!(!thumbnail.is_raster_data());
        assert!(
            item.band("B04").is_err(),
            "Earth Search names bands by common name"
        );
    }

    // A and B of one date are one solar day; the loader keeps them both.
    let (a, b) = (&loaded.items[0], &loaded.items[1]);
    assert_eq!(a.datetime, b.datetime);
    assert_eq!(a.solar_day(), b.solar_day());
    assert_eq!(a.solar_day().to_string(), "2023-06-01");
}

#[tokio::test]
async fn filters_select_by_cloud_cover_place_and_platform() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = generate(dir.path(), &SynthSpec::tiny()).expect("generates");

    let clear = Filter {
        predicates: vec![Predicate::new("eo:cloud_cover", Op::Lt, 10)],
        ..Filter::default()
    };
    let want: Vec<&str> = catalog
        .items
        .iter()
        .filter(|i| i.cloud_cover < 10.0)
        .map(|i| i.id.as_str())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&load(&catalog, &clear).await), want);

    // East of C's western edge + a margin: zone 34 only.
    let c = catalog
        .items
        .iter()
        .find(|i| i.epsg == 32634)
        .expect("a zone-34 item");
    let east = Filter {
        bbox: Some(
            Bbox::from_slice(&[c.bbox[2] - 0.001, c.bbox[1], c.bbox[2], c.bbox[3]])
                .expect("bbox"),
        ),
        ..Filter::default()
    };
    let loaded = load(&catalog, &east).await;
    assert_eq!(loaded.items.len(), 4);
    assert!(loaded.items.iter().all(|i| i.id.contains("_34TBR_")));

    let s2b = Filter::default()
        .with_cql2("platform = 'sentinel-2b' AND \"s2:mgrs_tile\" = '33TYK'")
        .expect("cql2 parses");
    let loaded = load(&catalog, &s2b).await;
    assert_eq!(
        ids(&loaded),
        ["S2B_33TYK_20230606_0_L2A", "S2B_33TYK_20230616_0_L2A"]
    );
}
