//! Deterministic synthetic Sentinel-2 L2A catalogues: small STAC collections of
//! Cloud-Optimized GeoTIFFs shaped like Earth Search v1's `sentinel-2-l2a`, for
//! Swath's tests ([`SynthSpec::tiny`], [`SynthSpec::small`]), `swath demo`
//! ([`SynthSpec::demo`], a year of scenes) and benchmarks. No network, no system
//! randomness (a splitmix64 hash of seed, position and date): equal specs write
//! byte-identical files. The crate's README lists sizes and generation times.
//!
//! [`generate`] writes
//!
//! ```text
//! DIR/collection.json           the collection, linking every item
//! DIR/items/<id>.json           one item per granule and date
//! DIR/data/<id>/<band>.tif      blue, green, red, nir (10 m, uint16), scl (20 m, uint8)
//! DIR/swath-synth.json          the spec stamp (generate_if_missing reuses DIR)
//! ```
//!
//! The granules sit around the UTM zone 33/34 boundary at 18° E, 45.1° N:
//! A (33TYK, EPSG:32633), B (33TYL, EPSG:32633; A shifted east by half and north
//! by a quarter of its width, same datetime: duplicate observations of one solar
//! day in the overlap) and, with `second_zone`, C (34TBR, EPSG:32634, 2.6 s later,
//! overlapping B across the zone boundary). The pixels are a function of ground
//! position, so overlapping granules agree where they see the same ground (A and B
//! exactly; C samples the same landscape on its own grid): crop fields with their
//! own seasonal NDVI curves, forest, bare soil, a river and a lake, per-pixel noise,
//! moving clouds with shadows and edges, thin cirrus, and the no-data triangle of
//! an orbit's swath edge in A. The SCL is consistent with the bands, and each
//! item's `eo:cloud_cover` is computed from the SCL written. See the modules for
//! each part: `layout` (granules), `landscape` (ground), `sky` (dates and
//! weather), `render` (pixels), `stac` (documents), `utm` (projections).
//!
//! # How to add a new band
//!
//! 1. Add a `BandDef` entry to `bands::BANDS` (asset key = common name, Sentinel-2
//!    id, title, wavelengths) and an index constant next to `bands::RED`.
//! 2. Give it a surface reflectance in `landscape::spectra` (water and land), and
//!    its cloud and cirrus reflectance in `render::CLOUD` / `render::CIRRUS`.
//! 3. Add its key to [`DATA_ASSETS`] and to `BANDS` in the GDAL check
//!    (`tests/scripts/synth_check.py`). The items, `item_assets` and COG writing
//!    iterate over the table; a 20 m band also needs its own grid in
//!    `stac::item_json` and `render` (see `scl`).
//! 4. Bump [`FORMAT_VERSION`] so stamped catalogues are regenerated.
#![warn(missing_docs)]

mod bands;
mod landscape;
mod layout;
mod render;
mod rng;
mod sky;
mod spec;
mod stac;
mod time;
mod utm;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use swath_geotiff::{
    BandMetadata, CogMetadata, CogOptions, PixelData, Raster, Resampling, write_cog,
};

pub use spec::SynthSpec;

use crate::bands::{BANDS, OFFSET, SCALE, SCL};
use crate::landscape::{Ground, World};
use crate::layout::Granule;
use crate::sky::DatePlan;

/// The data assets of every item, in file order: four 10 m bands, then the SCL.
pub const DATA_ASSETS: [&str; 5] = ["blue", "green", "red", "nir", "scl"];

/// Version of the generated content; a stamp with another version is regenerated.
pub const FORMAT_VERSION: u32 = 1;

/// DEFLATE level of the COGs. GDAL's default is 6; level 2 writes the demo with
/// 30 % less CPU time for files 3 % larger (level 1 makes them 47 % larger), and
/// reading them costs the same.
const DEFLATE_LEVEL: i32 = 2;

/// The name of the spec stamp inside a generated directory.
pub const STAMP_FILE: &str = "swath-synth.json";

/// What went wrong while generating a catalogue.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec asks for something the generator cannot make.
    #[error("invalid synthetic catalogue spec: {0}")]
    InvalidSpec(String),
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding a COG failed.
    #[error("writing a COG: {0}")]
    GeoTiff(#[from] swath_geotiff::Error),
    /// Serialising a document failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A generator thread panicked (a bug in this crate).
    #[error("a generator thread panicked")]
    Panicked,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One generated item: what tests need to know without parsing its JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemInfo {
    /// The item id (`S2A_33TYK_20230603_0_L2A`).
    pub id: String,
    /// The MGRS granule name (`33TYK`).
    pub granule: String,
    /// EPSG code of the granule's UTM zone.
    pub epsg: u32,
    /// `datetime`, RFC 3339 (`2023-06-03T09:36:31.456000Z`).
    pub datetime: String,
    /// `platform` (`sentinel-2a` or `sentinel-2b`).
    pub platform: String,
    /// The 10 m bands' affine transform (rasterio order; the SCL's has 20 m steps).
    pub transform: [f64; 6],
    /// The 10 m bands' shape `[height, width]` (the SCL has half of each).
    pub shape: [u32; 2],
    /// The footprint's lon/lat bounding box.
    pub bbox: [f64; 4],
    /// `eo:cloud_cover`: % of valid SCL pixels in classes 8, 9, 10.
    pub cloud_cover: f64,
    /// `s2:nodata_pixel_percentage`: % of SCL pixels that are no data.
    pub nodata_percentage: f64,
}

/// A generated catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The directory it was written to.
    pub root: PathBuf,
    /// `root/collection.json`.
    pub collection: PathBuf,
    /// The spec it was generated from.
    pub spec: SynthSpec,
    /// The items, ordered by datetime then id (as the collection links them).
    pub items: Vec<ItemInfo>,
}

impl Catalog {
    /// The path of an item's JSON.
    pub fn item_path(&self, item: &ItemInfo) -> PathBuf {
        self.root.join("items").join(format!("{}.json", item.id))
    }

    /// The path of one of an item's data assets (a key of [`DATA_ASSETS`]).
    pub fn asset_path(&self, item: &ItemInfo, asset: &str) -> PathBuf {
        self.root
            .join("data")
            .join(&item.id)
            .join(format!("{asset}.tif"))
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&ItemInfo> {
        self.items.iter().find(|i| i.id == id)
    }
}

/// The stamp: the spec and the items of a complete generation.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    generator: String,
    version: String,
    format: u32,
    complete: bool,
    spec: SynthSpec,
    items: Vec<ItemInfo>,
}

impl Stamp {
    fn new(spec: &SynthSpec, items: Vec<ItemInfo>, complete: bool) -> Self {
        Stamp {
            generator: "swath-synth".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            format: FORMAT_VERSION,
            complete,
            spec: spec.clone(),
            items,
        }
    }

    fn write(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(STAMP_FILE), &serde_json::to_value(self)?)
    }
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    fs::write(path, bytes).map_err(io_err(path))
}

/// Generate the catalogue of `spec` into `dir` (created if needed).
///
/// If `dir` holds a catalogue this crate generated before (its stamp file is
/// there), its `items/`, `data/` and `collection.json` are removed first; nothing
/// else in `dir` is touched. Items are written in parallel on all cores; the output
/// does not depend on the number of threads.
pub fn generate(dir: &Path, spec: &SynthSpec) -> Result<Catalog> {
    spec.validate()?;
    prepare_dir(dir)?;
    Stamp::new(spec, Vec::new(), false).write(dir)?;

    let granules = layout::layout(spec);
    let world = World::new(spec.seed, spec.width_m());
    let plans = sky::plans(spec);
    let grounds =
        parallel_map(granules.len(), |k| Ok(Ground::new(&world, &granules[k])))?;

    let per_date = granules.len();
    let mut items = parallel_map(plans.len() * per_date, |k| {
        let (d, g) = (k / per_date, k % per_date);
        write_item(dir, spec, &granules[g], &grounds[g], &plans[d])
    })?;
    items.sort_by(|a, b| (&a.datetime, &a.id).cmp(&(&b.datetime, &b.id)));

    let collection = dir.join("collection.json");
    write_json(&collection, &stac::collection_json(spec, &items))?;
    Stamp::new(spec, items.clone(), true).write(dir)?;
    Ok(Catalog {
        root: dir.to_path_buf(),
        collection,
        spec: spec.clone(),
        items,
    })
}

/// Reuse the catalogue in `dir` if it was completely generated from an equal spec
/// by this format version; otherwise [`generate`] it. A second `swath demo` run is
/// therefore instant.
pub fn generate_if_missing(dir: &Path, spec: &SynthSpec) -> Result<Catalog> {
    spec.validate()?;
    if let Some(catalog) = existing(dir, spec) {
        return Ok(catalog);
    }
    generate(dir, spec)
}

/// The catalogue in `dir` if its stamp says it is complete and matches `spec`.
fn existing(dir: &Path, spec: &SynthSpec) -> Option<Catalog> {
    let bytes = fs::read(dir.join(STAMP_FILE)).ok()?;
    let stamp: Stamp = serde_json::from_slice(&bytes).ok()?;
    let fresh = stamp.complete
        && stamp.format == FORMAT_VERSION
        && stamp.version == env!("CARGO_PKG_VERSION")
        && stamp.spec == *spec;
    let catalog = Catalog {
        root: dir.to_path_buf(),
        collection: dir.join("collection.json"),
        spec: stamp.spec,
        items: stamp.items,
    };
    let present = catalog.collection.is_file()
        && catalog.items.iter().all(|i| {
            catalog.item_path(i).is_file()
                && DATA_ASSETS
                    .iter()
                    .all(|a| catalog.asset_path(i, a).is_file())
        });
    (fresh && present).then_some(catalog)
}

/// Create `dir`, removing what an earlier generation wrote there.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.join(STAMP_FILE).is_file() {
        for sub in ["items", "data"] {
            let path = dir.join(sub);
            if path.exists() {
                fs::remove_dir_all(&path).map_err(io_err(&path))?;
            }
        }
        for file in ["collection.json", STAMP_FILE] {
            let path = dir.join(file);
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_err(&path)(e));
                }
                _ => {}
            }
        }
    }
    for sub in ["items", "data"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path).map_err(io_err(&path))?;
    }
    Ok(())
}

/// Render, encode and write one item and its assets.
fn write_item(
    dir: &Path,
    spec: &SynthSpec,
    granule: &Granule,
    ground: &Ground,
    plan: &DatePlan,
) -> Result<ItemInfo> {
    let mut rendered = render::render(ground, plan, spec.seed);
    let id = stac::item_id(granule, plan);
    let data = dir.join("data").join(&id);
    fs::create_dir_all(&data).map_err(io_err(&data))?;
    let n = granule.size;

    let reflectance = CogOptions {
        block_size: spec.block_size,
        resampling: Resampling::Average,
        level: DEFLATE_LEVEL,
        ..CogOptions::default()
    };
    for (b, band) in BANDS.iter().enumerate() {
        let pixels = std::mem::take(&mut rendered.bands[b]);
        let raster = Raster::new(n, n, 1, PixelData::U16(pixels))?;
        let meta = CogMetadata {
            epsg: Some(granule.epsg),
            transform: Some(granule.transform(10.0)),
            nodata: Some(0.0),
            bands: vec![BandMetadata {
                scale: Some(SCALE),
                offset: Some(OFFSET),
                description: Some(band.key.to_string()),
            }],
            ..CogMetadata::default()
        };
        let path = data.join(format!("{}.tif", band.key));
        let bytes = write_cog(&raster, &meta, &reflectance)?;
        fs::write(&path, bytes).map_err(io_err(&path))?;
    }

    let half = n / 2;
    let raster = Raster::new(half, half, 1, PixelData::U8(rendered.scl.clone()))?;
    let meta = CogMetadata {
        epsg: Some(granule.epsg),
        transform: Some(granule.transform(20.0)),
        nodata: Some(0.0),
        bands: vec![BandMetadata {
            description: Some(SCL.to_string()),
            ..BandMetadata::default()
        }],
        ..CogMetadata::default()
    };
    let classes = CogOptions {
        block_size: spec.block_size,
        resampling: Resampling::Nearest,
        level: DEFLATE_LEVEL,
        ..CogOptions::default()
    };
    let path = data.join(format!("{SCL}.tif"));
    fs::write(&path, write_cog(&raster, &meta, &classes)?).map_err(io_err(&path))?;

    let item = stac::item_json(granule, plan, &rendered);
    let path = dir.join("items").join(format!("{id}.json"));
    write_json(&path, &item)?;
    Ok(ItemInfo {
        id,
        granule: granule.name.clone(),
        epsg: granule.epsg,
        datetime: stac::item_datetime(granule, plan),
        platform: plan.platform.to_string(),
        transform: granule.transform(10.0),
        shape: [n as u32, n as u32],
        bbox: granule.bbox,
        cloud_cover: stac::cloud_cover(&rendered),
        nodata_percentage: stac::nodata_percentage(&rendered),
    })
}

/// `f(0..n)` on all cores, results in index order; the first error wins.
fn parallel_map<T, F>(n: usize, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n)
        .max(1);
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut first_error = None;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= n {
                            return Ok(done);
                        }
                        match f(k) {
                            Ok(v) => done.push((k, v)),
                            Err(e) => {
                                next.store(n, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(Ok(done)) => {
                    for (k, v) in done {
                        slots[k] = Some(v);
                    }
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(Error::Panicked);
                }
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    let results: Vec<T> = slots.into_iter().flatten().collect();
    if results.len() == n {
        Ok(results)
    } else {
        Err(Error::Panicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_assets_follow_the_band_table() {
        let keys: Vec<&str> = BANDS.iter().map(|b| b.key).chain([SCL]).collect();
        assert_eq!(keys, DATA_ASSETS);
    }
}
