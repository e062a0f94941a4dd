//! The `OPTIONS (…)` of `CREATE EXTERNAL TABLE … STORED AS STAC | GEOTIFF`.
//!
//! DataFusion hands options over lowercased and, when the key has no dot, prefixed
//! with `format.`; both spellings are accepted here. Unknown keys are errors (a typo
//! must not be silently ignored).

use std::collections::HashMap;

use datafusion::common::{Result, plan_datafusion_err, plan_err};
use serde::{Deserialize, Serialize};
use swath_grid::Resampling;

/// The largest chunk side a table accepts, in pixels.
pub const MAX_CHUNK_SIDE: u32 = 8192;

/// Every option a datacube table understands, with its one-line description.
pub const OPTIONS: &[(&str, &str)] = &[
    (
        "bands",
        "comma-separated bands to expose, by common name or asset key (default: every data band)",
    ),
    (
        "chunk_size",
        "chunk side in pixels, `N` or `WxH` (default: the COG's internal tile size)",
    ),
    (
        "crs",
        "the table grid's CRS, e.g. `EPSG:32633` (default: the catalogue's most common CRS)",
    ),
    (
        "resolution",
        "pixel size in CRS units (default: the finest native resolution of the bands)",
    ),
    ("resampling", "`nearest` (default) or `bilinear`"),
    (
        "anchor",
        "where the chunk lattice starts: `item` (chunks line up with the first item's \
         pixels; the default for catalogues and GeoTIFFs) or `origin` (chunk edges at \
         multiples of chunk size × resolution from the CRS origin; the default for STAC \
         APIs, so a table's chunks do not depend on which item a server returns first)",
    ),
    (
        "group_by",
        "`solar_day` (default: items of a collection on one solar day fuse into one \
         observation, first valid pixel wins) or `none`",
    ),
    (
        "on_error",
        "`fail` (default): an unreadable asset fails the query; `nodata`: it reads as \
         nodata with a warning",
    ),
    (
        "properties",
        "comma-separated extra STAC properties to promote to columns (`eo:cloud_cover` \
         and `platform` always are)",
    ),
    ("collections", "comma-separated collection ids to keep"),
    (
        "datetime",
        "RFC 3339 instant or `start/end` interval to keep (also pushed down from WHERE)",
    ),
    (
        "bbox",
        "`west,south,east,north` in degrees: keep items and chunks in this box",
    ),
    (
        "view",
        "`chunks` (default: one row per chunk and observation, bands as tensors) or \
         `pixels` (one row per pixel)",
    ),
    (
        "batch_rows",
        "rows per record batch of the chunk view (default 4)",
    ),
    (
        "header_index",
        "a header index (`swath index`) to open the assets' COG headers from with no \
         request (default: `NAME.headers.parquet` beside a local `NAME.json`, if present)",
    ),
    (
        "aws.* google.* azure.* http.*",
        "object store settings for the table's catalogue and assets, over the \
         environment's (`swath_store::OPTION_KEYS`, docs/remote.md)",
    ),
];

/// What an unreadable asset does to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OnError {
    /// The query fails, naming the asset.
    #[default]
    Fail,
    /// The asset reads as nodata; a warning is logged.
    Nodata,
}

/// How observations are formed from items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GroupBy {
    /// Items of one collection on one solar day are one observation.
    #[default]
    SolarDay,
    /// Every item is its own observation.
    None,
}

/// Where a table's chunk lattice starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Anchor {
    /// At the first item's origin (on the table's CRS and resolution).
    Item,
    /// At the CRS origin: chunk edges at multiples of chunk size × resolution.
    Origin,
}

/// Which shape the table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum View {
    /// One row per chunk and observation, bands as tensors.
    #[default]
    Chunks,
    /// One row per pixel and observation, bands as scalars.
    Pixels,
}

/// The parsed options of a datacube table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableOptions {
    /// Requested bands (empty: all data bands).
    pub bands: Vec<String>,
    /// Chunk width and height, if given.
    pub chunk_size: Option<(u32, u32)>,
    /// Target CRS, if given (`EPSG:n` or a PROJ string).
    pub crs: Option<String>,
    /// Target resolution, if given.
    pub resolution: Option<f64>,
    /// Where the chunk lattice starts (`None`: the source's default).
    #[serde(default)]
    pub anchor: Option<Anchor>,
    /// Resampling for warps and resolution changes.
    #[serde(with = "resampling_serde")]
    pub resampling: Resampling,
    /// Observation grouping.
    pub group_by: GroupBy,
    /// Unreadable assets.
    pub on_error: OnError,
    /// Extra properties promoted to columns.
    pub properties: Vec<String>,
    /// Collections to keep.
    pub collections: Vec<String>,
    /// Time range to keep, as given.
    pub datetime: Option<String>,
    /// Lon/lat box to keep.
    pub bbox: Option<[f64; 4]>,
    /// Table shape.
    pub view: View,
    /// Rows per batch (chunk view).
    pub batch_rows: usize,
    /// The persisted header index to use, as given.
    #[serde(default)]
    pub header_index: Option<String>,
    /// Object store settings (`aws.*`, `google.*`, `azure.*`, `http.*`), for the
    /// session that creates the table; never serialised, printed as keys only (they
    /// may hold secrets).
    #[serde(skip)]
    pub store: swath_store::StoreOptions,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            bands: Vec::new(),
            chunk_size: None,
            crs: None,
            resolution: None,
            anchor: None,
            resampling: Resampling::Nearest,
            group_by: GroupBy::SolarDay,
            on_error: OnError::Fail,
            properties: Vec::new(),
            collections: Vec::new(),
            datetime: None,
            bbox: None,
            view: View::Chunks,
            batch_rows: 4,
            header_index: None,
            store: swath_store::StoreOptions::new(),
        }
    }
}

mod resampling_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use swath_grid::Resampling;

    pub fn serialize<S: Serializer>(r: &Resampling, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&r.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Resampling, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn chunk_size(value: &str) -> Result<(u32, u32)> {
    let parse = |s: &str| -> Result<u32> {
        let n: u32 = s.trim().parse().map_err(|_| {
            plan_datafusion_err!(
                "option chunk_size: {value:?} is not `N` or `WxH` with whole numbers"
            )
        })?;
        if n == 0 || n > MAX_CHUNK_SIDE {
            return plan_err!(
                "option chunk_size: {n} is out of range (1 to {MAX_CHUNK_SIDE} pixels)"
            );
        }
        Ok(n)
    };
    match value.split_once(['x', 'X']) {
        Some((w, h)) => Ok((parse(w)?, parse(h)?)),
        None => {
            let n = parse(value)?;
            Ok((n, n))
        }
    }
}

impl TableOptions {
    /// Parse DataFusion's option map (keys may carry the `format.` prefix).
    pub fn parse(options: &HashMap<String, String>) -> Result<Self> {
        let mut out = TableOptions::default();
        let mut keys: Vec<_> = options.iter().collect();
        keys.sort();
        for (key, value) in keys {
            let key = key.strip_prefix("format.").unwrap_or(key);
            let value = value.trim();
            match key {
                "bands" => out.bands = list(value),
                "chunk_size" => out.chunk_size = Some(chunk_size(value)?),
                "crs" => out.crs = Some(value.to_string()),
                "resolution" => {
                    let r: f64 = value.parse().map_err(|_| {
                        plan_datafusion_err!(
                            "option resolution: {value:?} is not a number"
                        )
                    })?;
                    if !(r.is_finite() && r > 0.0) {
                        return plan_err!(
                            "option resolution: {value} must be a positive number"
                        );
                    }
                    out.resolution = Some(r);
                }
                "resampling" => {
                    out.resampling = value.parse().map_err(|_| {
                        plan_datafusion_err!(
                            "option resampling: {value:?} is not `nearest` or `bilinear`"
                        )
                    })?
                }
                "anchor" => {
                    out.anchor = Some(match value.to_ascii_lowercase().as_str() {
                        "item" => Anchor::Item,
                        "origin" => Anchor::Origin,
                        _ => {
                            return plan_err!(
                                "option anchor: {value:?} is not `item` or `origin`"
                            );
                        }
                    })
                }
                "group_by" => {
                    out.group_by = match value.to_ascii_lowercase().as_str() {
                        "solar_day" => GroupBy::SolarDay,
                        "none" => GroupBy::None,
                        _ => {
                            return plan_err!(
                                "option group_by: {value:?} is not `solar_day` or `none`"
                            );
                        }
                    }
                }
                "on_error" => {
                    out.on_error = match value.to_ascii_lowercase().as_str() {
                        "fail" => OnError::Fail,
                        "nodata" => OnError::Nodata,
                        _ => {
                            return plan_err!(
                                "option on_error: {value:?} is not `fail` or `nodata`"
                            );
                        }
                    }
                }
                "properties" => out.properties = list(value),
                "collections" => out.collections = list(value),
                "datetime" => out.datetime = Some(value.to_string()),
                "bbox" => {
                    let parts: Vec<f64> = value
                        .split(',')
                        .map(|s| s.trim().parse::<f64>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| {
                            plan_datafusion_err!(
                                "option bbox: {value:?} is not `west,south,east,north`"
                            )
                        })?;
                    let [w, s, e, n] = parts[..] else {
                        return plan_err!(
                            "option bbox: {value:?} needs 4 numbers, west,south,east,north"
                        );
                    };
                    let lat_ok = s <= n
                        && (-90.0..=90.0).contains(&s)
                        && (-90.0..=90.0).contains(&n);
                    let lon_ok =
                        (-180.0..=180.0).contains(&w) && (-180.0..=180.0).contains(&e);
                    if !(lat_ok && lon_ok) {
                        return plan_err!("option bbox: {value:?} is not a lon/lat box");
                    }
                    out.bbox = Some([w, s, e, n]);
                }
                "view" => {
                    out.view = match value.to_ascii_lowercase().as_str() {
                        "chunks" => View::Chunks,
                        "pixels" => View::Pixels,
                        _ => {
                            return plan_err!(
                                "option view: {value:?} is not `chunks` or `pixels`"
                            );
                        }
                    }
                }
                "batch_rows" => {
                    let n: usize = value.parse().map_err(|_| {
                        plan_datafusion_err!(
                            "option batch_rows: {value:?} is not a number"
                        )
                    })?;
                    if n == 0 || n > 1024 {
                        return plan_err!(
                            "option batch_rows: {n} is out of range (1 to 1024)"
                        );
                    }
                    out.batch_rows = n;
                }
                "header_index" => out.header_index = Some(value.to_string()),
                other if swath_store::StoreOptions::is_store_key(other) => {
                    out.store
                        .set(other, value)
                        .map_err(|e| plan_datafusion_err!("{e}"))?;
                }
                other => {
                    let known: Vec<&str> = OPTIONS.iter().map(|(k, _)| *k).collect();
                    return plan_err!(
                        "unknown option {other:?}; datacube tables take: {}",
                        known.join(", ")
                    );
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Result<TableOptions> {
        let map = pairs
            .iter()
            .map(|(k, v)| (format!("format.{k}"), v.to_string()))
            .collect();
        TableOptions::parse(&map)
    }

    #[test]
    fn parses_every_option() {
        let o = opts(&[
            ("bands", "red, nir,scl"),
            ("chunk_size", "256x128"),
            ("crs", "EPSG:32633"),
            ("resolution", "20"),
            ("resampling", "bilinear"),
            ("group_by", "none"),
            ("on_error", "nodata"),
            ("bbox", "17.5,44.9,18.5,45.2"),
            ("view", "pixels"),
        ])
        .expect("valid");
        assert_eq!(o.bands, ["red", "nir", "scl"]);
        assert_eq!(o.chunk_size, Some((256, 128)));
        assert_eq!(o.resolution, Some(20.0));
        assert_eq!(o.resampling, Resampling::Bilinear);
        assert_eq!(o.group_by, GroupBy::None);
        assert_eq!(o.on_error, OnError::Nodata);
        assert_eq!(o.bbox, Some([17.5, 44.9, 18.5, 45.2]));
        assert_eq!(o.view, View::Pixels);
    }

    #[test]
    fn rejects_bad_values_naming_the_option() {
        for (k, v, needle) in [
            ("chunk_size", "0", "chunk_size: 0 is out of range"),
            ("chunk_size", "100000", "out of range"),
            ("chunk_size", "big", "not `N` or `WxH`"),
            ("resolution", "-3", "positive"),
            ("resampling", "cubic", "resampling"),
            ("bbox", "1,2,3", "4 numbers"),
            ("colour", "red", "unknown option \"colour\""),
        ] {
            let err = opts(&[(k, v)]).expect_err(k).to_string();
            assert!(err.contains(needle), "{k}={v}: {err}");
        }
    }
}
