//! `WarpPlan` against GDAL's warper (gdalwarp library, GDAL 3.10): a COG Swath writes
//! in EPSG:32633 near the zone 33/34 boundary (18°E, 45°N), with a textured pattern
//! and nodata holes, warped by both onto the same grids — another UTM zone at 10 m
//! and 20 m, the same CRS at a non-whole-pixel offset and at a whole-pixel one.
//!
//! Nearest must give identical pixels (exact transformer against gdalwarp `-et 0`,
//! approximate transformer against gdalwarp's default `-et 0.125`). Bilinear must
//! agree on which pixels are valid and be within one unit (integers) or 1e-3 (floats):
//! both compute the same weights, but from coordinates that differ by ~1e-9 pixel
//! (proj4rs against PROJ), which can flip an integer rounding at an exact half. In
//! practice integers come out identical and floats within one ulp. Swath's source
//! window must also be the one GDAL reads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use swath_geotiff::{
    BytesReader, CogMetadata, CogOptions, GeoTiff, PixelData, Raster, Window, write_cog,
};
use swath_grid::{
    Crs, Grid, PixelWindow, Resampling, Sample, WarpKind, WarpPlan,
    gdalwarp_overview_ratio, overview_level, overview_level_for_ratio,
};

use crate::reference;

const SRC_EPSG: u32 = 32633;
const SRC_SIZE: usize = 1100;
/// 11 km × 11 km at 10 m, from 17.93°E to 18.08°E around 45.1°N.
const SRC_TRANSFORM: [f64; 6] = [10.0, 0.0, 731_000.0, 0.0, -10.0, 5_004_000.0];

/// Whether pixel `(c, r)` of the source is nodata: scattered pixels, a block and thin
/// diagonal stripes.
fn is_hole(c: usize, r: usize) -> bool {
    (c * c + 3 * r).is_multiple_of(211)
        || ((600..640).contains(&c) && (400..470).contains(&r))
        || (c + 2 * r) % 997 < 3
}

/// A textured value between 100 and 2100: a hash for pixel-scale texture plus
/// blocky gradients.
fn texture(c: usize, r: usize) -> u32 {
    let hash = (c * 7919 + r * 104_729) % 1013;
    let blocks = ((c / 7 + r / 5) % 50) * 20;
    (100 + hash + blocks) as u32
}

/// The pixel types under test, with their nodata value and tolerance.
trait TestType: Sample {
    const DTYPE: &'static str;
    /// Allowed bilinear difference from GDAL.
    const BILINEAR_TOLERANCE: f64;
    fn cell(c: usize, r: usize) -> Self;
    fn nodata() -> Self;
    fn pixel_data(v: Vec<Self>) -> PixelData;
    fn from_pixel_data(p: PixelData) -> Vec<Self>;
    fn from_le(bytes: &[u8]) -> Vec<Self>;
    fn missing(self) -> bool {
        self == Self::nodata() || self.is_nan()
    }
}

impl TestType for u16 {
    const DTYPE: &'static str = "uint16";
    const BILINEAR_TOLERANCE: f64 = 1.0;
    fn cell(c: usize, r: usize) -> u16 {
        if is_hole(c, r) {
            0
        } else {
            texture(c, r) as u16
        }
    }
    fn nodata() -> u16 {
        0
    }
    fn pixel_data(v: Vec<u16>) -> PixelData {
        PixelData::U16(v)
    }
    fn from_pixel_data(p: PixelData) -> Vec<u16> {
        match p {
            PixelData::U16(v) => v,
            other => panic!("expected U16 pixels, got {:?}", other.dtype()),
        }
    }
    fn from_le(bytes: &[u8]) -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    }
}

impl TestType for u8 {
    const DTYPE: &'static str = "uint8";
    const BILINEAR_TOLERANCE: f64 = 1.0;
    fn cell(c: usize, r: usize) -> u8 {
        if is_hole(c, r) {
            0
        } else {
            (texture(c, r) % 250 + 1) as u8
        }
    }
    fn nodata() -> u8 {
        0
    }
    fn pixel_data(v: Vec<u8>) -> PixelData {
        PixelData::U8(v)
    }
    fn from_pixel_data(p: PixelData) -> Vec<u8> {
        match p {
            PixelData::U8(v) => v,
            other => panic!("expected U8 pixels, got {:?}", other.dtype()),
        }
    }
    fn from_le(bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }
}

impl TestType for f32 {
    const DTYPE: &'static str = "float32";
    const BILINEAR_TOLERANCE: f64 = 1e-3;
    fn cell(c: usize, r: usize) -> f32 {
        if is_hole(c, r) {
            f32::NAN
        } else {
            texture(c, r) as f32 / 7.0
        }
    }
    fn nodata() -> f32 {
        f32::NAN
    }
    fn pixel_data(v: Vec<f32>) -> PixelData {
        PixelData::F32(v)
    }
    fn from_pixel_data(p: PixelData) -> Vec<f32> {
        match p {
            PixelData::F32(v) => v,
            other => panic!("expected F32 pixels, got {:?}", other.dtype()),
        }
    }
    fn from_le(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

fn nodata_json<T: TestType>() -> Value {
    let v = T::nodata().to_f64();
    if v.is_nan() { json!("nan") } else { json!(v) }
}

/// The source COG (written by Swath) and its pixels.
struct Source<T> {
    grid: Grid,
    path: PathBuf,
    cog: Bytes,
    data: Vec<T>,
}

impl<T: TestType> Source<T> {
    /// Read a window of the COG with Swath's reader, as the engine does with a
    /// plan's source window, and check it against the pixels written.
    fn read_window(&self, w: PixelWindow) -> Vec<T> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let raster = runtime.block_on(async {
            let tiff = GeoTiff::open(Arc::new(BytesReader(self.cog.clone())))
                .await
                .expect("the COG opens");
            let window = Window::new(w.col as u64, w.row as u64, w.width, w.height);
            tiff.read_window(0, window).await.expect("the window reads")
        });
        let pixels = T::from_pixel_data(raster.data);
        let expected: Vec<T> = (w.row..w.row + w.height as i64)
            .flat_map(|r| {
                let start = r as usize * SRC_SIZE + w.col as usize;
                self.data[start..start + w.width as usize].iter().copied()
            })
            .collect();
        let same = pixels.len() == expected.len()
            && pixels
                .iter()
                .zip(&expected)
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
        assert!(same, "the COG window {w:?} reads back as written");
        pixels
    }
}

fn write_source<T: TestType>(dir: &Path) -> Source<T> {
    let data: Vec<T> = (0..SRC_SIZE * SRC_SIZE)
        .map(|i| T::cell(i % SRC_SIZE, i / SRC_SIZE))
        .collect();
    let raster = Raster::new(SRC_SIZE, SRC_SIZE, 1, T::pixel_data(data.clone()))
        .expect("raster has the right size");
    let meta = CogMetadata {
        epsg: Some(SRC_EPSG),
        transform: Some(SRC_TRANSFORM),
        nodata: Some(T::nodata().to_f64()),
        ..Default::default()
    };
    let cog =
        Bytes::from(write_cog(&raster, &meta, &CogOptions::default()).expect("COG"));
    let path = dir.join(format!("src_{}.tif", T::DTYPE));
    std::fs::write(&path, &cog).expect("COG file is written");
    let grid = Grid::new(
        Crs::from_epsg(SRC_EPSG).expect("source CRS"),
        SRC_TRANSFORM,
        SRC_SIZE as u64,
        SRC_SIZE as u64,
    )
    .expect("source grid");
    Source {
        grid,
        path,
        cog,
        data,
    }
}

fn utm(epsg: u32, res: f64, x0: f64, y0: f64, size: u64) -> Grid {
    Grid::new(
        Crs::from_epsg(epsg).expect("CRS"),
        [res, 0.0, x0, 0.0, -res, y0],
        size,
        size,
    )
    .expect("grid")
}

/// Zone 34 at 10 m, 512 × 512: inside the source except a sliver on the right, where
/// the source's (rotated) edge crosses the window.
fn zone34_10m() -> Grid {
    utm(32634, 10.0, 265_000.0, 5_001_000.0, 512)
}

/// Zone 34 at 20 m, 256 × 256, its top rows beyond the source's top edge.
fn zone34_20m() -> Grid {
    utm(32634, 20.0, 262_000.0, 5_004_200.0, 256)
}

struct Job {
    name: &'static str,
    dst: Grid,
    method: Resampling,
    threshold: f64,
}

impl Job {
    fn new(name: &'static str, dst: Grid, method: Resampling, threshold: f64) -> Job {
        Job {
            name,
            dst,
            method,
            threshold,
        }
    }
}

/// What one comparison found.
#[derive(Debug)]
struct Stats {
    valid: usize,
    validity_mismatches: usize,
    differing: usize,
    max_diff: f64,
    elapsed: Duration,
    kind: WarpKind,
}

/// Warp every job with GDAL (one Python run), then with Swath, and compare.
fn run<T: TestType>(dir: &Path, src: &Source<T>, jobs: &[Job]) -> Vec<Stats> {
    let specs: Vec<Value> = jobs
        .iter()
        .map(|job| {
            json!({
                "src": src.path,
                "out": dir.join(format!("{}.bin", job.name)),
                "dst_epsg": job.dst.crs.epsg().expect("EPSG destination"),
                "dst_transform": job.dst.transform,
                "width": job.dst.width,
                "height": job.dst.height,
                "dtype": T::DTYPE,
                "resampling": job.method.to_string(),
                "error_threshold": job.threshold,
                "src_nodata": nodata_json::<T>(),
                "dst_nodata": nodata_json::<T>(),
                "overview": "NONE",
            })
        })
        .collect();
    let results = reference("warp", &json!({ "jobs": specs }));
    let results = results["jobs"].as_array().expect("one result per job");
    jobs.iter()
        .zip(results)
        .map(|(job, result)| compare(dir, src, job, result))
        .collect()
}

fn compare<T: TestType>(dir: &Path, src: &Source<T>, job: &Job, gdal: &Value) -> Stats {
    let bytes =
        std::fs::read(dir.join(format!("{}.bin", job.name))).expect("GDAL output");
    let expected = T::from_le(&bytes);
    let plan = WarpPlan::new(&src.grid, &job.dst, job.dst.full_window(), job.method)
        .expect("plan")
        .expect("the destination overlaps the source")
        .with_error_threshold(job.threshold)
        .expect("threshold");

    // GDAL warps the whole grid as one chunk; its source window is the one the plan
    // asks the caller to read (the copy path reads only what it copies).
    let windows = gdal["kernel_windows"].as_array().expect("kernel windows");
    assert_eq!(
        windows.len(),
        1,
        "{}: GDAL used {} chunks",
        job.name,
        windows.len()
    );
    let w: Vec<i64> = windows[0]
        .as_array()
        .expect("window")
        .iter()
        .map(|v| v.as_i64().expect("integer"))
        .collect();
    let gdal_window = PixelWindow::new(w[0], w[1], w[2] as u64, w[3] as u64);
    if plan.kind() != WarpKind::Copy {
        assert_eq!(
            plan.src_window(),
            gdal_window,
            "{}: source window",
            job.name
        );
    }

    let window = src.read_window(plan.src_window());
    let mut ours = vec![T::nodata(); expected.len()];
    let start = Instant::now();
    let written = plan
        .warp(&window, Some(T::nodata()), &mut ours, Some(T::nodata()))
        .expect("warp");
    let elapsed = start.elapsed();

    let mut stats = Stats {
        valid: 0,
        validity_mismatches: 0,
        differing: 0,
        max_diff: 0.0,
        elapsed,
        kind: plan.kind(),
    };
    let width = job.dst.width as usize;
    for (i, (&a, &b)) in ours.iter().zip(&expected).enumerate() {
        match (a.missing(), b.missing()) {
            (true, true) => {}
            (false, false) => {
                stats.valid += 1;
                let d = (a.to_f64() - b.to_f64()).abs();
                if d > 0.0 {
                    stats.differing += 1;
                    stats.max_diff = stats.max_diff.max(d);
                }
            }
            _ => {
                if stats.validity_mismatches < 5 {
                    eprintln!(
                        "{}: pixel ({}, {}) swath {a:?} GDAL {b:?}",
                        job.name,
                        i % width,
                        i / width
                    );
                }
                stats.validity_mismatches += 1;
            }
        }
    }
    let ours_valid = ours.iter().filter(|v| !v.missing()).count();
    assert_eq!(written, ours_valid, "{}: pixels written", job.name);
    eprintln!(
        "{:<28} {:?} {:>7} valid, {} validity mismatches, {} differ (max {:.3e}), \
         swath {:.1} ms",
        job.name,
        stats.kind,
        stats.valid,
        stats.validity_mismatches,
        stats.differing,
        stats.max_diff,
        stats.elapsed.as_secs_f64() * 1e3
    );
    let missing_fraction = 1.0 - stats.valid as f64 / expected.len() as f64;
    assert!(
        stats.valid > 0 && missing_fraction < 0.5,
        "{}: only {} valid pixels",
        job.name,
        stats.valid
    );
    assert_eq!(stats.validity_mismatches, 0, "{}: {stats:?}", job.name);
    match job.method {
        Resampling::Nearest => assert_eq!(stats.differing, 0, "{}: {stats:?}", job.name),
        Resampling::Bilinear => assert!(
            stats.max_diff <= T::BILINEAR_TOLERANCE,
            "{}: {stats:?}",
            job.name
        ),
    }
    stats
}

const NEAREST: Resampling = Resampling::Nearest;
const BILINEAR: Resampling = Resampling::Bilinear;
const APPROX: f64 = 0.125;
const EXACT: f64 = 0.0;

#[test]
fn cross_zone_u16_matches_gdal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = write_source::<u16>(dir.path());
    let jobs = [
        Job::new("z34_10m_nearest_exact", zone34_10m(), NEAREST, EXACT),
        Job::new("z34_10m_nearest_approx", zone34_10m(), NEAREST, APPROX),
        Job::new("z34_10m_bilinear_exact", zone34_10m(), BILINEAR, EXACT),
        Job::new("z34_10m_bilinear_approx", zone34_10m(), BILINEAR, APPROX),
        Job::new("z34_20m_nearest_approx", zone34_20m(), NEAREST, APPROX),
        Job::new("z34_20m_bilinear_approx", zone34_20m(), BILINEAR, APPROX),
        Job::new("z34_20m_bilinear_exact", zone34_20m(), BILINEAR, EXACT),
    ];
    let stats = run(dir.path(), &src, &jobs);
    assert!(stats.iter().all(|s| s.kind == WarpKind::Reproject));

    // The engine plans one chunk at a time: exact nearest over four 256 × 256
    // windows (offsets the whole-grid case never exercises) gives GDAL's whole-grid
    // result.
    let gdal = <u16 as TestType>::from_le(
        &std::fs::read(dir.path().join("z34_10m_nearest_exact.bin"))
            .expect("GDAL output"),
    );
    let dst = zone34_10m();
    for (col, row) in [(0, 0), (256, 0), (0, 256), (256, 256)] {
        let window = PixelWindow::new(col, row, 256, 256);
        let plan = WarpPlan::new(&src.grid, &dst, window, NEAREST)
            .expect("plan")
            .expect("overlaps")
            .with_error_threshold(EXACT)
            .expect("threshold");
        let mut ours = vec![0_u16; 256 * 256];
        plan.warp(
            &src.read_window(plan.src_window()),
            Some(0),
            &mut ours,
            Some(0),
        )
        .expect("warp");
        for r in 0..256 {
            let start = (row as usize + r) * 512 + col as usize;
            assert_eq!(
                ours[r * 256..(r + 1) * 256],
                gdal[start..start + 256],
                "window {window:?}, row {r}"
            );
        }
    }
}

#[test]
fn same_crs_u16_matches_gdal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = write_source::<u16>(dir.path());
    // 0.3 pixel right and 0.6 pixel down of a source pixel corner; runs past the
    // source's right edge.
    let offset = utm(32633, 10.0, 731_000.0 + 7003.0, 5_004_000.0 - 2006.0, 512);
    // Whole-pixel offset: a copy.
    let aligned = utm(32633, 10.0, 731_000.0 + 3000.0, 5_004_000.0 - 1000.0, 512);
    // 20 m with an offset: the scaled bilinear filter.
    let coarse = utm(32633, 20.0, 731_000.0 + 1003.0, 5_004_000.0 - 2506.0, 256);
    let jobs = [
        Job::new("z33_offset_nearest", offset.clone(), NEAREST, APPROX),
        Job::new("z33_offset_nearest_exact", offset.clone(), NEAREST, EXACT),
        Job::new("z33_offset_bilinear", offset, BILINEAR, APPROX),
        Job::new("z33_aligned_nearest", aligned.clone(), NEAREST, APPROX),
        Job::new("z33_aligned_bilinear", aligned, BILINEAR, APPROX),
        Job::new("z33_20m_nearest", coarse.clone(), NEAREST, APPROX),
        Job::new("z33_20m_bilinear", coarse, BILINEAR, APPROX),
    ];
    let stats = run(dir.path(), &src, &jobs);
    let kinds: Vec<WarpKind> = stats.iter().map(|s| s.kind).collect();
    use WarpKind::{Affine, Copy};
    assert_eq!(kinds, [Affine, Affine, Affine, Copy, Copy, Affine, Affine]);
}

#[test]
fn cross_zone_u8_matches_gdal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = write_source::<u8>(dir.path());
    run(
        dir.path(),
        &src,
        &[
            Job::new("u8_nearest", zone34_10m(), NEAREST, APPROX),
            Job::new("u8_bilinear", zone34_10m(), BILINEAR, APPROX),
            Job::new("u8_20m_bilinear", zone34_20m(), BILINEAR, APPROX),
        ],
    );
}

#[test]
fn cross_zone_f32_nan_nodata_matches_gdal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = write_source::<f32>(dir.path());
    run(
        dir.path(),
        &src,
        &[
            Job::new("f32_nearest", zone34_10m(), NEAREST, APPROX),
            Job::new("f32_bilinear", zone34_10m(), BILINEAR, APPROX),
            Job::new("f32_20m_bilinear", zone34_20m(), BILINEAR, APPROX),
        ],
    );
}

/// gdalwarp's `-ovr AUTO` reads the overview Swath's rule names: its output equals
/// the output of warping that level explicitly. Across UTM zones gdalwarp measures
/// the source extent of the rotated destination, so a 19 m target reads the ×2
/// overview there but not in the source's own zone.
#[test]
fn overview_choice_matches_gdalwarp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = write_source::<u16>(dir.path());
    let mut targets = Vec::new();
    for res in [12.0, 19.0, 21.0, 30.0, 39.0, 41.0, 60.0] {
        let size = (4000.0 / res) as u64;
        targets.push(utm(32634, res, 262_000.0, 5_002_000.0, size));
        if [19.0, 21.0, 39.0, 41.0].contains(&res) {
            targets.push(utm(32633, res, 733_000.0, 5_002_000.0, size));
        }
    }
    let choices = ["AUTO", "NONE", "0", "1"];
    let mut specs = Vec::new();
    for (t, dst) in targets.iter().enumerate() {
        for choice in choices {
            specs.push(json!({
                "src": src.path,
                "out": dir.path().join(format!("ovr_{t}_{choice}.bin")),
                "dst_epsg": dst.crs.epsg().expect("EPSG"),
                "dst_transform": dst.transform,
                "width": dst.width,
                "height": dst.height,
                "dtype": "uint16",
                "resampling": "nearest",
                "error_threshold": APPROX,
                "src_nodata": 0,
                "dst_nodata": 0,
                "overview": choice,
            }));
        }
    }
    let results = reference("warp", &json!({ "jobs": specs }));
    let factors: Vec<f64> = results["jobs"][0]["overviews"]
        .as_array()
        .expect("overview factors")
        .iter()
        .map(|v| v.as_f64().expect("factor"))
        .collect();
    assert_eq!(factors, [2.0, 4.0]);
    for (t, dst) in targets.iter().enumerate() {
        let read = |choice: &str| {
            std::fs::read(dir.path().join(format!("ovr_{t}_{choice}.bin")))
                .expect("output")
        };
        let auto = read("AUTO");
        let matching: Vec<usize> = choices[1..]
            .iter()
            .enumerate()
            .filter(|(_, c)| read(c) == auto)
            .map(|(level, _)| level)
            .collect();
        let res = dst.resolution().0;
        let label = format!("{} m in {}", res, dst.crs);
        assert_eq!(
            matching.len(),
            1,
            "{label}: AUTO matches levels {matching:?}"
        );
        let ratio = gdalwarp_overview_ratio(&src.grid, dst)
            .expect("ratio")
            .expect("the grids overlap");
        let ours = overview_level_for_ratio(ratio, &factors);
        eprintln!(
            "{label}: ratio {ratio:.3}, gdalwarp reads level {}, swath {ours}",
            matching[0]
        );
        assert_eq!(ours, matching[0], "{label}");
        if dst.crs == src.grid.crs {
            assert_eq!(overview_level(10.0, &factors, res), matching[0], "{label}");
        }
    }
}
