//! Canvas, stretches and GeoTIFF quicklooks on small rasters whose expected pixels are
//! derived by hand.

mod common;

use std::sync::Arc;

use common::{ok, png_round_trip};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use swath_geotiff::{
    BandMetadata, CogMetadata, CogOptions, PixelData, Raster, Resampling, write_cog,
};
use swath_plot::{Canvas, Error, Stretch, choose_level, quicklook, quicklook_tiff};

const NAN: f32 = f32::NAN;

/// The decoded pixels of `image` as `[r, g, b, a]`, row-major.
fn decoded(image: &swath_plot::Image) -> Vec<[u8; 4]> {
    png_round_trip(image)
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect()
}

fn grey(v: u8) -> [u8; 4] {
    [v, v, v, 255]
}

#[test]
fn grey_range_stretch_rounds_halves_up_and_hides_nan() {
    let mut c = ok(Canvas::new(4, 1, 1, 512));
    ok(c.put(0, 0, 4, 1, &[&[0.0, 1.0, 2.0, NAN]]));
    let img = ok(c.render(&Stretch::Range { min: 0.0, max: 2.0 }));
    assert_eq!((img.width, img.height), (4, 1));
    // 255 × v / 2: 0, 127.5 → 128 (half away from zero), 255; NaN transparent.
    assert_eq!(decoded(&img), [grey(0), grey(128), grey(255), [0, 0, 0, 0]]);
}

#[test]
fn percentile_stretch_matches_numpy() {
    // np.percentile([10, 0, 40, 30, 25], [2, 98]) (NaN left out) = [0.8, 39.2]:
    //   sorted [0, 10, 25, 30, 40], n = 5; p2: h = 0.02 × 4 = 0.08 → 0 + 0.08 × 10;
    //   p98: h = 3.92 → 30 + 0.92 × 10.
    // Levels round(255 × (v − 0.8) / 38.4), clamped (no value lands near a .5 tie):
    //   0 → −5.3 → 0; 10 → 61.09 → 61; 25 → 160.70 → 161; 30 → 193.91 → 194;
    //   40 → 260.3 → 255.
    let mut c = ok(Canvas::new(6, 1, 1, 512));
    ok(c.put(0, 0, 6, 1, &[&[10.0, 0.0, NAN, 40.0, 30.0, 25.0]]));
    let img = ok(c.render(&Stretch::default()));
    assert_eq!(
        decoded(&img),
        [
            grey(61),
            grey(0),
            [0, 0, 0, 0],
            grey(255),
            grey(194),
            grey(161)
        ]
    );
    // minmax: 0..40 → 10 is 63.75 → 64.
    let img = ok(c.render(&Stretch::MinMax));
    assert_eq!(img.pixel(0, 0), Some(grey(64)));
    // percentile:25,75: h = 1 → 10 and h = 3 → 30 exactly; 25 → 191.25 → 191.
    let img = ok(c.render(&ok("percentile:25,75".parse())));
    assert_eq!(img.pixel(5, 0), Some(grey(191)));
    assert_eq!(img.pixel(0, 0), Some(grey(0)));
}

#[test]
fn rgb_bands_keep_their_order_and_a_constant_band_is_mid_grey() {
    let mut c = ok(Canvas::new(2, 1, 3, 512));
    let (r, g, b): (&[f32], &[f32], &[f32]) = (&[0.0, 10.0], &[5.0, 5.0], &[10.0, 0.0]);
    ok(c.put(0, 0, 2, 1, &[r, g, b]));
    let img = ok(c.render(&Stretch::MinMax));
    assert_eq!(decoded(&img), [[0, 128, 255, 255], [255, 128, 0, 255]]);
    // NaN in one band only hides the pixel, and the other bands' bounds ignore it.
    let mut c = ok(Canvas::new(3, 1, 3, 512));
    let (r, g, b): (&[f32], &[f32], &[f32]) =
        (&[0.0, 10.0, 99.0], &[0.0, 1.0, 2.0], &[1.0, 0.0, NAN]);
    ok(c.put(0, 0, 3, 1, &[r, g, b]));
    let img = ok(c.render(&Stretch::MinMax));
    assert_eq!(
        decoded(&img),
        [[0, 0, 255, 255], [255, 255, 0, 255], [0, 0, 0, 0]]
    );
}

#[test]
fn a_band_without_valid_pixels_is_transparent() {
    let mut c = ok(Canvas::new(2, 2, 1, 512));
    ok(c.put(0, 0, 2, 2, &[&[NAN; 4]]));
    let img = ok(c.render(&Stretch::default()));
    assert!(decoded(&img).iter().all(|p| *p == [0, 0, 0, 0]));
    // Cells never pasted are missing too.
    let c = ok(Canvas::new(3, 3, 1, 512));
    let img = ok(c.render(&Stretch::MinMax));
    assert!(img.rgba.iter().all(|&v| v == 0));
}

/// The 10×10 raster v(x, y) = 10y + x.
fn ten_by_ten(x: i64, y: i64) -> f32 {
    (10 * y + x) as f32
}

#[test]
fn canvas_samples_every_stride_pixels() {
    // Longest side 10, max 4 → stride ⌈10/4⌉ = 3, output ⌈10/3⌉ = 4 a side; output
    // (ox, oy) is full pixel (3ox, 3oy).
    let mut c = ok(Canvas::new(10, 10, 1, 4));
    assert_eq!((c.stride(), c.width(), c.height()), (3, 4, 4));
    let all: Vec<f32> = (0..100).map(|i| ten_by_ten(i % 10, i / 10)).collect();
    ok(c.put(0, 0, 10, 10, &[&all]));
    assert_eq!(c.get(0, 1, 1), Some(33.0));
    assert_eq!(c.get(0, 3, 3), Some(99.0));
    assert_eq!(c.get(0, 2, 0), Some(6.0));
    assert_eq!(c.get(0, 4, 0), None);
    // A 10×3 raster: stride 3, output 4×1.
    let c = ok(Canvas::new(10, 3, 3, 4));
    assert_eq!((c.width(), c.height(), c.bands()), (4, 1, 3));
    // Fitting rasters are not upsampled: stride 1.
    let c = ok(Canvas::new(5, 2, 1, 512));
    assert_eq!((c.stride(), c.width(), c.height()), (1, 5, 2));
}

#[test]
fn blocks_in_any_order_and_overhanging_the_edges() {
    // 4×4 blocks starting at (−2, −2): they overhang the raster on every side.
    let mut origins: Vec<(i64, i64)> = (0..4)
        .flat_map(|by| (0..4).map(move |bx| (bx * 4 - 2, by * 4 - 2)))
        .collect();
    origins.reverse();
    origins.swap(3, 11);
    let mut c = ok(Canvas::new(10, 10, 1, 4));
    for (x0, y0) in origins {
        let block: Vec<f32> = (0..16)
            .map(|i| {
                let (x, y) = (x0 + i % 4, y0 + i / 4);
                // Outside the raster: values that must never be sampled.
                if (0..10).contains(&x) && (0..10).contains(&y) {
                    ten_by_ten(x, y)
                } else {
                    -1.0
                }
            })
            .collect();
        ok(c.put(x0, y0, 4, 4, &[&block]));
    }
    // Entirely outside: ignored.
    ok(c.put(-100, 3, 4, 1, &[&[-1.0; 4]]));
    ok(c.put(10, 10, 1, 1, &[&[-1.0]]));
    ok(c.put(i64::MAX - 1, i64::MIN, 1, 1, &[&[-1.0]]));
    for oy in 0..4 {
        for ox in 0..4 {
            let want = ten_by_ten(3 * i64::from(ox), 3 * i64::from(oy));
            assert_eq!(c.get(0, ox, oy), Some(want), "cell ({ox}, {oy})");
        }
    }
}

#[test]
fn canvas_refuses_bad_arguments() {
    assert!(matches!(
        Canvas::new(4, 4, 2, 8),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Canvas::new(4, 4, 4, 8),
        Err(Error::InvalidArgument(_))
    ));
    for (w, h, max) in [
        (0, 4, 8),
        (4, 0, 8),
        (4, 4, 0),
        (4, 4, 8193),
        (1 << 31, 4, 8),
    ] {
        assert!(
            matches!(Canvas::new(w, h, 1, max), Err(Error::LimitExceeded { .. })),
            "{w}×{h} max {max}"
        );
    }
    let mut c = ok(Canvas::new(4, 4, 3, 8));
    let e = c.put(0, 0, 2, 2, &[&[0.0; 4]]).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("invalid argument: the canvas has 3 bands, the block 1")
    );
    let (a, b): (&[f32], &[f32]) = (&[0.0; 4], &[0.0; 3]);
    assert!(c.put(0, 0, 2, 2, &[a, b, a]).is_err());
    assert!(c.put(0, 0, usize::MAX, 2, &[a, a, a]).is_err());
    assert!(c.render(&Stretch::Range { min: 1.0, max: 0.0 }).is_err());
}

/// A COG of `bands` u16 bands, 64×48, v(b, x, y) = 1000b + 100y + x + 1 except
/// v(0, 0, 0) = 0, the nodata value; 16-pixel tiles, nearest overviews
/// 64×48 → 32×24 → 16×12.
fn write_test_cog(dir: &std::path::Path, name: &str, bands: usize) -> Path {
    write_cog_with(dir, name, bands, Vec::new())
}

/// [`write_test_cog`] with per-band GDAL metadata.
fn write_cog_with(
    dir: &std::path::Path,
    name: &str,
    bands: usize,
    band_meta: Vec<BandMetadata>,
) -> Path {
    let (w, h) = (64usize, 48usize);
    let mut v = Vec::with_capacity(w * h * bands);
    for b in 0..bands {
        for y in 0..h {
            for x in 0..w {
                v.push((1000 * b + 100 * y + x + 1) as u16);
            }
        }
    }
    v[0] = 0;
    let raster = ok(Raster::new(w, h, bands, PixelData::U16(v)));
    let meta = CogMetadata {
        nodata: Some(0.0),
        bands: band_meta,
        ..CogMetadata::default()
    };
    let options = CogOptions {
        block_size: 16,
        resampling: Resampling::Nearest,
        ..CogOptions::default()
    };
    let bytes = ok(write_cog(&raster, &meta, &options));
    ok(std::fs::write(dir.join(name), bytes));
    Path::from(name)
}

fn local_store(dir: &std::path::Path) -> Arc<dyn object_store::ObjectStore> {
    Arc::new(ok(LocalFileSystem::new_with_prefix(dir)))
}

#[tokio::test]
async fn quicklook_of_a_cog_reads_the_right_overview() {
    let dir = ok(tempfile::tempdir());
    let path = write_test_cog(dir.path(), "grey.tif", 1);
    let store = local_store(dir.path());
    let tiff = ok(swath_geotiff::open(Arc::clone(&store), path.clone()).await);
    let sizes: Vec<(u64, u64)> =
        tiff.levels().iter().map(|l| (l.width, l.height)).collect();
    assert_eq!(sizes, [(64, 48), (32, 24), (16, 12)]);
    // The smallest level whose longest side reaches max_size; full resolution when
    // none does.
    for (max, level) in [(16, 2), (17, 1), (32, 1), (33, 0), (64, 0), (1000, 0)] {
        assert_eq!(choose_level(&tiff, max), level, "max_size {max}");
    }

    // max_size 20: level 1 (32×24), stride ⌈32/20⌉ = 2, output 16×12. Output (ox, oy)
    // is level-1 pixel (2ox, 2oy), which nearest overviews took from full pixel
    // (4ox, 4oy): v = 400oy + 4ox + 1. Range 0..5100 gives round(v / 20).
    let stretch = Stretch::Range {
        min: 0.0,
        max: 5100.0,
    };
    let img =
        ok(quicklook_tiff(Arc::clone(&store), path.clone(), &[1], 20, &stretch).await);
    assert_eq!((img.width, img.height), (16, 12));
    let px = decoded(&img);
    let at = |x: usize, y: usize| px[y * 16 + x];
    assert_eq!(at(0, 0), [0, 0, 0, 0]); // nodata
    assert_eq!(at(1, 0), grey(0)); // v = 5 → 0.25
    assert_eq!(at(5, 3), grey(61)); // v = 1221 → 61.05
    assert_eq!(at(15, 11), grey(223)); // v = 4461 → 223.05
    assert_eq!(at(10, 6), grey(122)); // v = 2441 → 122.05

    // max_size 64 reads full resolution, stride 1: (63, 47) is v = 4764 → 238.2.
    let img = ok(quicklook(&tiff, &[1], 64, &stretch).await);
    assert_eq!((img.width, img.height), (64, 48));
    assert_eq!(img.pixel(63, 47), Some(grey(238)));
    // max_size 8 from level 2 (16×12), stride 2: output 8×6, (7, 5) is level-2
    // pixel (14, 10) = full (56, 40): v = 4057 → 202.85 → 203.
    let img = ok(quicklook(&tiff, &[1], 8, &stretch).await);
    assert_eq!((img.width, img.height), (8, 6));
    assert_eq!(img.pixel(7, 5), Some(grey(203)));
}

#[tokio::test]
async fn rgb_quicklook_takes_bands_in_the_order_asked() {
    let dir = ok(tempfile::tempdir());
    let path = write_test_cog(dir.path(), "rgb.tif", 3);
    let store = local_store(dir.path());
    // Bands 3, 1, 2 as R, G, B; full resolution; range 0..5100 → round(v / 20).
    // Pixel (10, 20): band b (0-based) is 1000b + 2011.
    //   R = band 3: 4011 → 200.55 → 201; G = band 1: 2011 → 100.55 → 101;
    //   B = band 2: 3011 → 150.55 → 151.
    let stretch: Stretch = ok("range:0,5100".parse());
    let img = ok(quicklook_tiff(store, path, &[3, 1, 2], 64, &stretch).await);
    let px = decoded(&img);
    assert_eq!(px[20 * 64 + 10], [201, 101, 151, 255]);
    // Nodata (0) in band 1 at (0, 0) hides the pixel even though bands 2 and 3 have
    // values there.
    assert_eq!(px[0], [0, 0, 0, 0]);
}

#[tokio::test]
async fn quicklook_refuses_bad_bands() {
    let dir = ok(tempfile::tempdir());
    let path = write_test_cog(dir.path(), "rgb.tif", 3);
    let store = local_store(dir.path());
    let tiff = ok(swath_geotiff::open(store, path).await);
    let s = Stretch::default();
    for bands in [&[][..], &[1, 2], &[1, 2, 3, 1], &[0], &[4], &[1, 2, 9]] {
        let e = quicklook(&tiff, bands, 64, &s).await.err();
        assert!(
            matches!(e, Some(Error::InvalidArgument(_))),
            "{bands:?}: {e:?}"
        );
    }
    let e = quicklook(&tiff, &[1], 0, &s).await.err();
    assert!(matches!(e, Some(Error::LimitExceeded { .. })), "{e:?}");
    let missing = quicklook_tiff(
        local_store(dir.path()),
        Path::from("missing.tif"),
        &[1],
        64,
        &s,
    )
    .await;
    assert!(matches!(missing, Err(Error::GeoTiff(_))));
}

#[tokio::test]
async fn scale_and_offset_apply_before_a_range_stretch() {
    // Stored v, physical 0.0001 v − 0.01; range −0.01..0.5 maps physical p to
    // 255 (p + 0.01) / 0.51 = 255 × 0.0001 v / 0.51 = v / 20, as in the tests above:
    // full pixel (20, 6) is v = 621 → 31.05 → 31.
    let dir = ok(tempfile::tempdir());
    let meta = BandMetadata {
        scale: Some(0.0001),
        offset: Some(-0.01),
        description: None,
    };
    let path = write_cog_with(dir.path(), "scaled.tif", 1, vec![meta]);
    let stretch: Stretch = ok("range:-0.01,0.5".parse());
    let img = ok(quicklook_tiff(local_store(dir.path()), path, &[1], 64, &stretch).await);
    assert_eq!(img.pixel(20, 6), Some(grey(31)));
}
