//! Generating catalogues: determinism, layout, spec stamps, timing.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use swath_synth::{
    Catalog, DATA_ASSETS, Error, STAMP_FILE, SynthSpec, generate, generate_if_missing,
};

/// Every file under `dir`, by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("readable file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn tiny(dir: &Path) -> Catalog {
    let start = Instant::now();
    let catalog = generate(dir, &SynthSpec::tiny()).expect("generates");
    eprintln!("tiny spec generated in {:?}", start.elapsed());
    catalog
}

#[test]
fn equal_specs_write_identical_bytes() {
    let (a, b) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let ca = tiny(a.path());
    let cb = tiny(b.path());
    assert_eq!(ca.items, cb.items);
    let (fa, fb) = (files(a.path()), files(b.path()));
    // collection + stamp + 12 items + 12 × 5 COGs.
    assert_eq!(fa.len(), 2 + 12 + 60);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(fb[path] == *bytes, "{} differs", path.display());
    }
}

#[test]
fn another_seed_changes_pixels_not_places() {
    let (a, b) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let ca = tiny(a.path());
    let spec = SynthSpec {
        seed: 99,
        ..SynthSpec::tiny()
    };
    let cb = generate(b.path(), &spec).expect("generates");
    for (x, y) in ca.items.iter().zip(&cb.items) {
        assert_eq!((&x.id, x.transform, x.epsg), (&y.id, y.transform, y.epsg));
    }
    let red = |c: &Catalog| std::fs::read(c.asset_path(&c.items[0], "red")).expect("red");
    assert_ne!(red(&ca), red(&cb));
}

#[test]
fn tiny_layout_is_as_documented() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = tiny(dir.path());
    assert_eq!(catalog.items.len(), 12);
    let dates: Vec<&str> = catalog
        .items
        .iter()
        .map(|i| &i.datetime[..10])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        dates,
        ["2023-06-01", "2023-06-06", "2023-06-11", "2023-06-16"]
    );
    for (d, date) in dates.iter().enumerate() {
        let of_date: Vec<_> = catalog
            .items
            .iter()
            .filter(|i| i.datetime.starts_with(date))
            .collect();
        // A and B share the datetime (ordered by id), C is 2.617 s later.
        let (a, b, c) = (of_date[0], of_date[1], of_date[2]);
        assert_eq!((a.granule.as_str(), a.epsg), ("33TYK", 32633));
        assert_eq!((b.granule.as_str(), b.epsg), ("33TYL", 32633));
        assert_eq!((c.granule.as_str(), c.epsg), ("34TBR", 32634));
        assert_eq!(a.datetime, b.datetime);
        assert!(c.datetime > a.datetime);
        let platform = if d % 2 == 0 {
            "sentinel-2a"
        } else {
            "sentinel-2b"
        };
        let code = if d % 2 == 0 { "S2A" } else { "S2B" };
        for item in [a, b, c] {
            assert_eq!(item.platform, platform);
            assert_eq!(
                item.id,
                format!("{code}_{}_{}_0_L2A", item.granule, date.replace('-', ""))
            );
            assert_eq!(item.shape, [64, 64]);
            assert!((0.0..=100.0).contains(&item.cloud_cover));
        }
        // W = 640 m: A at anchor − 1.25 W, top anchor + 3/8 W; B shifted (W/2, W/4).
        assert_eq!(a.transform, [10.0, 0.0, 735_180.0, 0.0, -10.0, 5_000_240.0]);
        assert_eq!(b.transform, [10.0, 0.0, 735_500.0, 0.0, -10.0, 5_000_400.0]);
        // The swath edge cuts A only.
        assert!(a.nodata_percentage > 5.0 && a.nodata_percentage < 20.0);
        assert_eq!((b.nodata_percentage, c.nodata_percentage), (0.0, 0.0));
        for item in [a, b, c] {
            for asset in DATA_ASSETS {
                assert!(catalog.asset_path(item, asset).is_file());
            }
            assert!(catalog.item_path(item).is_file());
        }
    }
    // Some dates nearly clear, some mostly cloudy.
    let covers: Vec<f64> = catalog.items.iter().map(|i| i.cloud_cover).collect();
    assert!(covers.iter().any(|&c| c < 5.0), "{covers:?}");
    assert!(covers.iter().any(|&c| c > 70.0), "{covers:?}");
}

#[test]
fn stamps_reuse_a_catalogue_and_a_new_spec_replaces_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = generate_if_missing(dir.path(), &SynthSpec::tiny()).expect("generates");
    let red = first.asset_path(&first.items[0], "red");
    let written = std::fs::metadata(&red)
        .expect("red")
        .modified()
        .expect("mtime");
    assert!(dir.path().join(STAMP_FILE).is_file());

    let start = Instant::now();
    let again = generate_if_missing(dir.path(), &SynthSpec::tiny()).expect("reuses");
    eprintln!("reusing the tiny catalogue took {:?}", start.elapsed());
    assert_eq!(again, first);
    let kept = std::fs::metadata(&red)
        .expect("red")
        .modified()
        .expect("mtime");
    assert_eq!(written, kept, "the catalogue was rewritten");

    // Another spec: regenerated, and the old items are gone.
    let spec = SynthSpec {
        dates: 2,
        second_zone: false,
        ..SynthSpec::tiny()
    };
    let other = generate_if_missing(dir.path(), &spec).expect("regenerates");
    assert_eq!(other.items.len(), 4);
    let items = std::fs::read_dir(dir.path().join("items"))
        .expect("items")
        .count();
    let data = std::fs::read_dir(dir.path().join("data"))
        .expect("data")
        .count();
    assert_eq!((items, data), (4, 4));

    // A missing file makes the stamp stale.
    std::fs::remove_file(other.asset_path(&other.items[1], "scl")).expect("rm");
    let repaired = generate_if_missing(dir.path(), &spec).expect("regenerates");
    assert!(repaired.asset_path(&repaired.items[1], "scl").is_file());
}

#[test]
fn impossible_specs_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = SynthSpec {
        block_size: 20,
        ..SynthSpec::tiny()
    };
    let err = generate(dir.path(), &spec).expect_err("refused");
    assert!(matches!(err, Error::InvalidSpec(_)), "{err}");
    assert!(err.to_string().contains("block_size 20"), "{err}");
}
