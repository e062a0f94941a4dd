//! From a catalogue (or a set of GeoTIFFs) to a [`CubeDef`]: which bands, which
//! grid, where each item sits on it, and which items fuse into one observation.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::common::{DataFusionError, Result, plan_datafusion_err, plan_err};
use object_store::ObjectStore;
use swath_catalog::{Item, Stores};
use swath_geotiff::DataType;
use swath_grid::{Crs, Transformer};
use url::Url;

use super::model::{
    AssetRef, BandDef, CubeDef, Observation, PropDef, PropKind, Scene, TableGrid,
    parse_dtype,
};
use crate::options::{Anchor, GroupBy, TableOptions};

/// The largest grid side, in pixels (4·10⁶ px = 40 000 km at 10 m).
pub const MAX_GRID_SIDE: u64 = 4_000_000;

/// One band of one source item, before placement.
#[derive(Debug, Clone)]
pub struct SourceBand {
    /// Where to read it.
    pub asset: AssetRef,
    /// Sample type, if known.
    pub dtype: Option<DataType>,
    /// Scale and offset, if given.
    pub scale: Option<f64>,
    /// Offset, if given.
    pub offset: Option<f64>,
    /// Internal tile width and height, when a header already read says.
    pub block: Option<(u32, u32)>,
}

/// A source item before placement: a STAC item or a GeoTIFF file.
#[derive(Debug, Clone)]
pub struct SourceItem {
    /// Id.
    pub id: String,
    /// Collection.
    pub collection: Option<String>,
    /// Nominal time.
    pub datetime: Option<DateTime<Utc>>,
    /// Solar day.
    pub solar_day: Option<NaiveDate>,
    /// All properties.
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Per requested band (same order as the request list).
    pub bands: Vec<Option<SourceBand>>,
}

fn ext(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(e.to_string())
}

/// Resolve the bands of STAC items into [`SourceItem`]s. `requested` empty: the data
/// assets of the first item. With `require_each`, a band that no item has is an
/// error (a table's bands); without, it is missing from every item (a query's
/// search that found none with it).
///
/// An asset without `proj:*` is placed by its item's bbox, and its own grid is
/// read from its header only when a query reads its pixels. Its header is read
/// here only when nothing else can fix the table's grid: `grid_given` false (no
/// `crs` and `resolution` options) and no asset before it with `proj:*` — then
/// the first such header, once.
pub async fn stac_sources(
    items: &[Item],
    requested: &[String],
    stores: &Stores,
    require_each: bool,
    grid_given: bool,
) -> Result<(Vec<String>, Vec<SourceItem>)> {
    let requested: Vec<String> = if requested.is_empty() {
        match items.first() {
            Some(first) => first
                .assets
                .iter()
                .filter(|a| a.is_raster_data())
                .map(|a| a.key.clone())
                .collect(),
            None => Vec::new(),
        }
    } else {
        requested.to_vec()
    };
    let grids = swath_catalog::GridCache::new();
    let mut grid_known = grid_given
        || items.iter().any(|item| {
            requested
                .iter()
                .any(|want| item.band(want).is_ok_and(|s| s.grid.is_some()))
        });
    let mut out = Vec::with_capacity(items.len());
    let mut found = vec![false; requested.len()];
    for item in items {
        let mut bands = Vec::with_capacity(requested.len());
        for (i, want) in requested.iter().enumerate() {
            let Ok(source) = item.band(want) else {
                bands.push(None);
                continue;
            };
            found[i] = true;
            if source.grid.is_none()
                && grid_known
                && let Some(b) =
                    item.bbox.filter(|b| b.east > b.west && b.north > b.south)
            {
                bands.push(Some(SourceBand {
                    asset: AssetRef {
                        href: source.href.to_string(),
                        band_index: source.band_index,
                        crs: "EPSG:4326".into(),
                        transform: [
                            b.east - b.west,
                            0.0,
                            b.west,
                            0.0,
                            -(b.north - b.south),
                            b.north,
                        ],
                        width: 1,
                        height: 1,
                        nodata: source.band.nodata,
                        grid_from_header: true,
                    },
                    dtype: source.band.data_type.as_deref().and_then(parse_dtype),
                    scale: source.band.scale,
                    offset: source.band.offset,
                    block: None,
                }));
                continue;
            }
            let grid = match grids.grid(&source, stores).await {
                Ok(grid) => grid,
                Err(e) if !grid_known => {
                    return plan_err!(
                        "item {}: band {want}: the catalogue gives no grid (no proj:*) and \
                         the asset's header, read to fix the table's grid, failed: {e}; \
                         give the table `crs` and `resolution` options to make it without \
                         reading an asset",
                        item.id
                    );
                }
                Err(e) => return Err(ext(e)),
            };
            grid_known = true;
            let crs = match &grid.crs {
                swath_catalog::Crs::Epsg(code) => format!("EPSG:{code}"),
                other => {
                    return plan_err!(
                        "item {}: band {want}: CRS {other} is not an EPSG code; \
                         Swath projects EPSG CRSs only",
                        item.id
                    );
                }
            };
            bands.push(Some(SourceBand {
                asset: AssetRef {
                    href: source.href.to_string(),
                    band_index: source.band_index,
                    crs,
                    transform: grid.transform,
                    width: grid.shape[1],
                    height: grid.shape[0],
                    nodata: source.band.nodata,
                    grid_from_header: false,
                },
                dtype: source.band.data_type.as_deref().and_then(parse_dtype),
                scale: source.band.scale,
                offset: source.band.offset,
                block: None,
            }));
        }
        out.push(SourceItem {
            id: item.id.clone(),
            collection: item.collection.clone(),
            datetime: Some(item.datetime),
            solar_day: Some(item.solar_day()),
            properties: item.properties.clone(),
            bands,
        });
    }
    if let Some(i) = found.iter().position(|f| !f)
        && require_each
    {
        let available = items
            .first()
            .map(|it| it.describe_assets())
            .unwrap_or_default();
        return plan_err!(
            "no item of the catalogue has a band {:?} (the first item has: {available})",
            requested[i]
        );
    }
    let names = requested
        .iter()
        .map(|r| swath_catalog::column_name(r))
        .collect();
    Ok((names, out))
}

/// Open a GeoTIFF's header.
pub async fn open_tiff(
    store: Arc<dyn ObjectStore>,
    url: &Url,
) -> Result<swath_geotiff::GeoTiff> {
    let path = object_store::path::Path::from_url_path(url.path())
        .map_err(|e| plan_datafusion_err!("{url}: {e}"))?;
    swath_geotiff::open(store, path)
        .await
        .map_err(|e| plan_datafusion_err!("{url}: {e}"))
}

/// Choose the grid, place the scenes, form observations.
pub async fn build(
    location: &str,
    options: TableOptions,
    names: Vec<String>,
    sources: Vec<SourceItem>,
    store_for: &(dyn Fn(&Url) -> Result<Arc<dyn ObjectStore>> + Sync),
) -> Result<CubeDef> {
    let (bands, header_block) = band_defs(&options, &names, &sources, store_for).await?;
    let (crs, resolution) = target(&options, &sources)?;
    let chunk = options.chunk_size.or(header_block).unwrap_or((512, 512));

    // Footprints of the items on the target CRS, and their union (within the
    // table's bbox).
    let bounds = footprints(&sources, &crs)?;
    let mut union: Option<[f64; 4]> = None;
    for b in bounds.iter().flatten() {
        union = Some(match union {
            None => *b,
            Some(o) => [
                o[0].min(b[0]),
                o[1].min(b[1]),
                o[2].max(b[2]),
                o[3].max(b[3]),
            ],
        });
    }
    if let (Some(u), Some(bb)) = (union, options.bbox) {
        let wgs = Transformer::new(&Crs::wgs84(), &crs).map_err(ext)?;
        let tb = wgs.transform_bounds(bb, 21).map_err(ext)?;
        union = Some([
            u[0].max(tb[0]),
            u[1].max(tb[1]),
            u[2].min(tb[2]),
            u[3].min(tb[3]),
        ]);
    }
    // With only header-less assets to line up with, the CRS origin: its lattice
    // is the one most grids share.
    let headerless = sources
        .iter()
        .flat_map(|s| s.bands.iter().flatten())
        .any(|b| b.asset.grid_from_header);
    let anchor = match options.anchor {
        Some(Anchor::Origin) => Some((0.0, 0.0)),
        Some(Anchor::Item) | None => anchor(&sources, &crs, resolution)
            .or_else(|| headerless.then_some((0.0, 0.0))),
    };
    let grid = grid_over(&crs, resolution, chunk, anchor, union)?;
    let props = prop_defs(&options, &sources);
    let scenes = place(&grid, &props, sources, bounds);
    let observations = group(&scenes, options.group_by);
    Ok(CubeDef {
        location: location.to_string(),
        options,
        grid,
        bands,
        props,
        scenes,
        observations,
        search: None,
    })
}

/// A STAC API table from a sample of its items: bands, properties and a grid
/// fixed once (anchored at the CRS origin unless the `anchor` option says
/// `item`), covering `region` (lon/lat: the table's bbox, else the
/// collection's extent, else the world; for a UTM CRS, clipped to 12° either
/// side of the zone's central meridian). Scans search for their items and place
/// them with [`populate`]; chunk indexes are the same in every query.
pub async fn api_layout(
    location: &str,
    options: TableOptions,
    names: Vec<String>,
    sample: Vec<SourceItem>,
    region: [f64; 4],
    store_for: &(dyn Fn(&Url) -> Result<Arc<dyn ObjectStore>> + Sync),
) -> Result<CubeDef> {
    let (bands, header_block) = band_defs(&options, &names, &sample, store_for).await?;
    let (crs, resolution) = target(&options, &sample)?;
    let chunk = options.chunk_size.or(header_block).unwrap_or((512, 512));
    let mut region = region;
    if let Some(zone) = crs.epsg().and_then(utm_zone) {
        let central = -183.0 + 6.0 * f64::from(zone);
        region[0] = region[0].max(central - 12.0);
        region[2] = region[2].min(central + 12.0);
    }
    if !(region[0] < region[2] && region[1] < region[3]) {
        return plan_err!(
            "the table's region {region:?} is empty on {crs}; give the table a `bbox` \
             that the CRS covers"
        );
    }
    let wgs = Transformer::new(&Crs::wgs84(), &crs).map_err(ext)?;
    let extent = wgs.transform_bounds(region, 21).map_err(|e| {
        plan_datafusion_err!(
            "the table's region {region:?} cannot be projected onto {crs} ({e}); \
             give the table a `bbox` or a `crs`"
        )
    })?;
    let anchor = match options.anchor {
        Some(Anchor::Item) => anchor(&sample, &crs, resolution),
        Some(Anchor::Origin) | None => Some((0.0, 0.0)),
    };
    let grid = grid_over(&crs, resolution, chunk, anchor, Some(extent))
        .map_err(|e| plan_datafusion_err!("{e}; a STAC API table's grid covers its `bbox` option, else its collection's extent"))?;
    let props = prop_defs(&options, &sample);
    Ok(CubeDef {
        location: location.to_string(),
        options,
        grid,
        bands,
        props,
        scenes: Vec::new(),
        observations: Vec::new(),
        search: Some(super::model::ApiSearch::default()),
    })
}

/// `table` (a STAC API table) with `sources` placed on its grid.
pub fn populate(table: &CubeDef, sources: Vec<SourceItem>) -> Result<CubeDef> {
    let crs = Crs::parse(&table.grid.crs)
        .map_err(|e| plan_datafusion_err!("table CRS {}: {e}", table.grid.crs))?;
    let bounds = footprints(&sources, &crs)?;
    let scenes = place(&table.grid, &table.props, sources, bounds);
    let observations = group(&scenes, table.options.group_by);
    Ok(CubeDef {
        scenes,
        observations,
        ..table.clone()
    })
}

/// The UTM zone of an EPSG code (WGS 84 / UTM north 326zz, south 327zz).
fn utm_zone(code: u32) -> Option<u32> {
    match code {
        32601..=32660 => Some(code - 32600),
        32701..=32760 => Some(code - 32700),
        _ => None,
    }
}

/// Band definitions: type, nodata, scale/offset from the first item that has
/// them; and the internal tile size if a header read says it.
///
/// An asset's header is read only for what the catalogue does not say: its type
/// or nodata, or (for local files, where it costs no request) its internal tile
/// size as the default chunk size. A remote catalogue that describes its bands
/// (`raster:bands`) makes a table without a request to any asset.
async fn band_defs(
    options: &TableOptions,
    names: &[String],
    sources: &[SourceItem],
    store_for: &(dyn Fn(&Url) -> Result<Arc<dyn ObjectStore>> + Sync),
) -> Result<(Vec<BandDef>, Option<(u32, u32)>)> {
    let mut bands = Vec::with_capacity(names.len());
    let mut header_block: Option<(u32, u32)> = sources
        .iter()
        .flat_map(|s| s.bands.iter().flatten())
        .find_map(|b| b.block);
    for (i, name) in names.iter().enumerate() {
        let first = sources.iter().find_map(|s| s.bands[i].as_ref());
        let requested = options
            .bands
            .get(i)
            .cloned()
            .unwrap_or_else(|| name.clone());
        let Some(first) = first else {
            return plan_err!("no item has band {requested:?}");
        };
        let mut dtype = first.dtype;
        let mut nodata = first.asset.nodata;
        let local = first.asset.href.starts_with("file:");
        let want_block = header_block.is_none() && options.chunk_size.is_none() && local;
        if dtype.is_none() || nodata.is_none() || want_block {
            let url = Url::parse(&first.asset.href)
                .map_err(|e| plan_datafusion_err!("{}: {e}", first.asset.href))?;
            match open_tiff(store_for(&url)?, &url).await {
                Ok(tiff) => {
                    dtype = dtype.or(Some(tiff.dtype()));
                    nodata = nodata.or(tiff.nodata());
                    let im = tiff.image();
                    if im.tiled {
                        header_block.get_or_insert((
                            im.block_width as u32,
                            im.block_height as u32,
                        ));
                    }
                }
                Err(e) if dtype.is_some() => {
                    // The catalogue says enough; the header is only a hint.
                    log::debug!("header of {url} not read: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        let dtype = dtype.unwrap_or(DataType::F32);
        let nodata = nodata.unwrap_or(if dtype.is_float() { f64::NAN } else { 0.0 });
        bands.push(BandDef {
            name: name.clone(),
            requested,
            dtype,
            nodata,
            scale: first.scale,
            offset: first.offset,
        });
    }
    check_unique(names)?;
    Ok((bands, header_block))
}

/// The target CRS (the option, else the most common CRS of the first band) and
/// resolution (the option, else the finest of the bands on the target CRS).
fn target(options: &TableOptions, sources: &[SourceItem]) -> Result<(Crs, f64)> {
    let crs_name = match &options.crs {
        Some(c) => c.clone(),
        None => most_common_crs(sources).unwrap_or_else(|| "EPSG:4326".to_string()),
    };
    let crs = Crs::parse(&crs_name)
        .map_err(|e| plan_datafusion_err!("option crs: {crs_name:?}: {e}"))?;
    let resolution = match options.resolution {
        Some(r) => r,
        None => sources
            .iter()
            .flat_map(|s| s.bands.iter().flatten())
            .filter(|b| !b.asset.grid_from_header && same_crs(&b.asset.crs, &crs))
            .map(|b| b.asset.transform[0].hypot(b.asset.transform[3]))
            .filter(|r| *r > 0.0)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))))
            .ok_or_else(|| {
                plan_datafusion_err!(
                    "no band is on {crs}; give the table a `resolution` option"
                )
            })?,
    };
    Ok((crs, resolution))
}

/// Each item's bounds on `crs` (`None`: nothing of it projects).
fn footprints(sources: &[SourceItem], crs: &Crs) -> Result<Vec<Option<[f64; 4]>>> {
    let mut bounds: Vec<Option<[f64; 4]>> = Vec::with_capacity(sources.len());
    let mut transformers: HashMap<String, Transformer> = HashMap::new();
    for s in sources {
        let mut b: Option<[f64; 4]> = None;
        for band in s.bands.iter().flatten() {
            let a = &band.asset;
            let t = match transformers.get(&a.crs) {
                Some(t) => t,
                None => {
                    let src = Crs::parse(&a.crs)
                        .map_err(|e| plan_datafusion_err!("item {}: {e}", s.id))?;
                    let t = Transformer::new(&src, crs).map_err(|e| {
                        plan_datafusion_err!(
                            "item {}: cannot project {} onto {crs}: {e}",
                            s.id,
                            a.crs
                        )
                    })?;
                    transformers.entry(a.crs.clone()).or_insert(t)
                }
            };
            let src_bounds = grid_bounds(&a.transform, a.width, a.height);
            let tb = t
                .transform_bounds(src_bounds, 21)
                .map_err(|e| plan_datafusion_err!("item {}: {e}", s.id))?;
            if tb.iter().all(|v| v.is_finite()) {
                b = Some(match b {
                    None => tb,
                    Some(o) => [
                        o[0].min(tb[0]),
                        o[1].min(tb[1]),
                        o[2].max(tb[2]),
                        o[3].max(tb[3]),
                    ],
                });
            }
        }
        bounds.push(b);
    }
    Ok(bounds)
}

/// The origin of the first band on the target CRS at the target resolution, so
/// chunks line up with its internal tiles.
fn anchor(sources: &[SourceItem], crs: &Crs, resolution: f64) -> Option<(f64, f64)> {
    sources
        .iter()
        .flat_map(|s| s.bands.iter().flatten())
        .find(|b| {
            !b.asset.grid_from_header
                && same_crs(&b.asset.crs, crs)
                && (b.asset.transform[0] - resolution).abs() < 1e-9
        })
        .map(|b| (b.asset.transform[2], b.asset.transform[5]))
}

/// A grid anchored on `anchor` (else the extent's corner), extended by whole
/// chunks to cover `extent`.
fn grid_over(
    crs: &Crs,
    resolution: f64,
    (chunk_w, chunk_h): (u32, u32),
    anchor: Option<(f64, f64)>,
    extent: Option<[f64; 4]>,
) -> Result<TableGrid> {
    let crs_name = crs.to_string();
    Ok(match extent {
        Some(u) if u[0] < u[2] && u[1] < u[3] => {
            let (ax, ay) = anchor.unwrap_or((u[0], u[3]));
            let step_x = resolution * f64::from(chunk_w);
            let step_y = resolution * f64::from(chunk_h);
            let x0 = ax + ((u[0] - ax) / step_x).floor() * step_x;
            let y0 = ay - ((ay - u[3]) / step_y).floor() * step_y;
            let width = ((u[2] - x0) / resolution - 1e-9).ceil().max(1.0);
            let height = ((y0 - u[1]) / resolution - 1e-9).ceil().max(1.0);
            if width > MAX_GRID_SIDE as f64 || height > MAX_GRID_SIDE as f64 {
                return plan_err!(
                    "the grid would be {width}×{height} pixels at resolution {resolution} \
                     (limit {MAX_GRID_SIDE} a side); choose a coarser `resolution` or a `bbox`"
                );
            }
            TableGrid {
                crs: crs_name,
                transform: [resolution, 0.0, x0, 0.0, -resolution, y0],
                width: width as u64,
                height: height as u64,
                chunk_width: chunk_w,
                chunk_height: chunk_h,
            }
        }
        _ => TableGrid {
            crs: crs_name,
            transform: [resolution, 0.0, 0.0, 0.0, -resolution, 0.0],
            width: 0,
            height: 0,
            chunk_width: chunk_w,
            chunk_height: chunk_h,
        },
    })
}

/// Properties: `eo:cloud_cover` and `platform` always, then the requested ones
/// (typed by the first item that has a value).
fn prop_defs(options: &TableOptions, sources: &[SourceItem]) -> Vec<PropDef> {
    let mut props = vec![
        PropDef {
            column: "cloud_cover".into(),
            property: "eo:cloud_cover".into(),
            kind: PropKind::Float,
        },
        PropDef {
            column: "platform".into(),
            property: "platform".into(),
            kind: PropKind::Text,
        },
    ];
    for p in &options.properties {
        let column = swath_catalog::column_name(p.rsplit(':').next().unwrap_or(p));
        if props.iter().any(|d| d.column == column) {
            continue;
        }
        let kind = sources
            .iter()
            .find_map(|s| s.properties.get(p).filter(|v| !v.is_null()))
            .map_or(PropKind::Text, |v| match v {
                serde_json::Value::Number(_) => PropKind::Float,
                serde_json::Value::Bool(_) => PropKind::Bool,
                _ => PropKind::Text,
            });
        props.push(PropDef {
            column,
            property: p.clone(),
            kind,
        });
    }
    props
}

/// Each item's window on the grid; items off the grid are left out.
fn place(
    grid: &TableGrid,
    props: &[PropDef],
    sources: Vec<SourceItem>,
    bounds: Vec<Option<[f64; 4]>>,
) -> Vec<Scene> {
    let [a, _, c, _, e, f] = grid.transform;
    let mut scenes = Vec::new();
    for (s, b) in sources.into_iter().zip(bounds) {
        let Some(b) = b else { continue };
        let col0 = ((b[0] - c) / a).floor() as i64;
        let col1 = ((b[2] - c) / a).ceil() as i64;
        let row0 = ((b[3] - f) / e).floor() as i64;
        let row1 = ((b[1] - f) / e).ceil() as i64;
        let window = [
            col0.max(0),
            row0.max(0),
            col1.min(grid.width as i64),
            row1.min(grid.height as i64),
        ];
        if window[0] >= window[2] || window[1] >= window[3] {
            continue;
        }
        scenes.push(Scene {
            item_id: s.id,
            collection: s.collection,
            datetime: s.datetime.map(|d| d.timestamp_micros()),
            solar_day: s.solar_day.map(days_since_epoch),
            props: props
                .iter()
                .map(|p| s.properties.get(&p.property).cloned().unwrap_or_default())
                .collect(),
            window,
            assets: s.bands.into_iter().map(|b| b.map(|b| b.asset)).collect(),
        });
    }
    scenes
}

fn check_unique(names: &[String]) -> Result<()> {
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return plan_err!("band column {n:?} is requested twice");
        }
    }
    Ok(())
}

fn same_crs(name: &str, crs: &Crs) -> bool {
    Crs::parse(name).is_ok_and(|c| &c == crs)
}

fn most_common_crs(sources: &[SourceItem]) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in sources {
        if let Some(b) = s.bands.iter().flatten().find(|b| !b.asset.grid_from_header) {
            match counts.iter_mut().find(|(c, _)| *c == b.asset.crs) {
                Some((_, n)) => *n += 1,
                None => counts.push((b.asset.crs.clone(), 1)),
            }
        }
    }
    // Most items wins; a tie goes to the CRS seen first.
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(c, _)| c)
}

/// The bounds of a grid in its CRS.
pub fn grid_bounds(t: &[f64; 6], width: u64, height: u64) -> [f64; 4] {
    let (w, h) = (width as f64, height as f64);
    let corners = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)];
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (col, row) in corners {
        let x = t[2] + t[0] * col + t[1] * row;
        let y = t[5] + t[3] * col + t[4] * row;
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    b
}

/// Days since 1970-01-01.
pub fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

/// Group scenes into observations: per collection and solar day, or one each.
fn group(scenes: &[Scene], by: GroupBy) -> Vec<Observation> {
    let mut out: Vec<Observation> = Vec::new();
    let mut open: HashMap<(Option<String>, Option<i32>), usize> = HashMap::new();
    for (i, s) in scenes.iter().enumerate() {
        if by == GroupBy::SolarDay && s.solar_day.is_some() {
            let key = (s.collection.clone(), s.solar_day);
            if let Some(&o) = open.get(&key) {
                let obs: &mut Observation = &mut out[o];
                obs.scenes.push(i);
                obs.window = [
                    obs.window[0].min(s.window[0]),
                    obs.window[1].min(s.window[1]),
                    obs.window[2].max(s.window[2]),
                    obs.window[3].max(s.window[3]),
                ];
                continue;
            }
            open.insert(key, out.len());
        }
        out.push(Observation {
            scenes: vec![i],
            window: s.window,
        });
    }
    out
}
