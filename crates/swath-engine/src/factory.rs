//! `CREATE EXTERNAL TABLE … STORED AS STAC | GEOTIFF`: the table factories.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::catalog::{Session, TableProviderFactory};
use datafusion::common::{DataFusionError, Result, plan_datafusion_err, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::logical_expr::CreateExternalTable;
use object_store::ObjectStore;
use swath_catalog::{Bbox, Filter, LoadOptions, SourceKind, Stores, TimeRange};
use url::Url;

use crate::cube::build::{
    SourceBand, SourceItem, api_layout, build, open_tiff, populate, stac_sources,
};
use crate::cube::model::AssetRef;
use crate::cube::{CubeDef, CubeTable};
use crate::options::TableOptions;

/// The most GeoTIFF files one table takes.
pub const MAX_FILES: usize = 100_000;

fn store_for(
    state: &dyn Session,
) -> impl Fn(&Url) -> Result<Arc<dyn ObjectStore>> + Sync {
    let runtime = Arc::clone(state.runtime_env());
    move |url: &Url| crate::stores::store(&runtime, url)
}

/// The catalogue's stores: any URL, each store made on demand by the session's
/// registry.
fn stores(state: &dyn Session) -> Stores {
    Stores::with_resolver(crate::stores::resolver(Arc::clone(state.runtime_env())))
}

/// The location and parsed options of a `CREATE EXTERNAL TABLE` for a datacube.
fn request(cmd: &CreateExternalTable) -> Result<(String, TableOptions)> {
    if !cmd.schema.fields().is_empty() {
        return plan_err!(
            "datacube tables take their columns from the catalogue; \
             leave out the column list"
        );
    }
    let [location] = cmd.locations.as_slice() else {
        return plan_err!("a datacube table takes one LOCATION");
    };
    Ok((location.clone(), TableOptions::parse(&cmd.options)?))
}

/// The location as a URL, its store configured with the table's store options.
fn location_url(
    state: &dyn Session,
    location: &str,
    options: &TableOptions,
) -> Result<Url> {
    let url =
        swath_catalog::location_url(location).map_err(|e| plan_datafusion_err!("{e}"))?;
    crate::stores::check_read(state, [&url])?;
    let store = crate::stores::table_store_options(state, &options.store);
    crate::stores::configure(state, [&url], &store)?;
    Ok(url)
}

fn table(def: CubeDef) -> Arc<dyn TableProvider> {
    Arc::new(CubeTable::new(Arc::new(def)))
}

/// Parse an RFC 3339 instant, a date, or a `start/end` interval (`..` open).
pub fn parse_time_range(s: &str) -> Result<TimeRange> {
    let instant = |part: &str, end: bool| -> Result<Option<DateTime<Utc>>> {
        let part = part.trim();
        if part.is_empty() || part == ".." {
            return Ok(None);
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(part) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(part, "%Y-%m-%d") {
            let t = if end {
                d.and_hms_micro_opt(23, 59, 59, 999_999)
            } else {
                d.and_hms_opt(0, 0, 0)
            };
            return Ok(t.map(|t| t.and_utc()));
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(part, "%Y-%m-%dT%H:%M:%S") {
            return Ok(Some(t.and_utc()));
        }
        plan_err!("option datetime: {part:?} is not an RFC 3339 time or a date")
    };
    match s.split_once('/') {
        Some((a, b)) => Ok(TimeRange {
            start: instant(a, false)?,
            end: instant(b, true)?,
        }),
        None => Ok(TimeRange {
            start: instant(s, false)?,
            end: instant(s, true)?,
        }),
    }
}

/// `STORED AS STAC`: a STAC catalogue, collection, item collection, directory, glob,
/// stac-geoparquet file or STAC API.
#[derive(Debug, Default)]
pub struct StacTableFactory;

#[async_trait]
impl TableProviderFactory for StacTableFactory {
    async fn create(
        &self,
        state: &dyn Session,
        cmd: &CreateExternalTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let (location, options) = request(cmd)?;
        Ok(table(stac_table(state, &location, options).await?))
    }
}

/// The filter a table's options set (`collections`, `datetime`, `bbox`).
pub fn options_filter(options: &TableOptions) -> Result<Filter> {
    let mut filter = Filter {
        collections: options.collections.clone(),
        ..Filter::default()
    };
    if let Some(t) = &options.datetime {
        filter.time = Some(parse_time_range(t)?);
    }
    if let Some([w, s, e, n]) = options.bbox {
        filter.bbox = Some(Bbox {
            west: w,
            south: s,
            east: e,
            north: n,
        });
    }
    Ok(filter)
}

/// A catalogue error, with the credentials hint of its store.
fn catalogue_error(
    state: &dyn Session,
    location: &str,
    url: &Url,
    e: swath_catalog::Error,
) -> DataFusionError {
    let message = format!("catalogue {location}: {e}");
    DataFusionError::Plan(crate::stores::explain(Some(state.config()), url, message))
}

/// Resolve a STAC table.
pub async fn stac_table(
    state: &dyn Session,
    location: &str,
    options: TableOptions,
) -> Result<CubeDef> {
    let url = location_url(state, location, &options)?;
    if SourceKind::detect(&url) == SourceKind::Api {
        return api_table(state, location, &url, options).await;
    }
    let stores = stores(state);
    let filter = options_filter(&options)?;
    let loaded = swath_catalog::load(location, &stores, &filter, &LoadOptions::default())
        .await
        .map_err(|e| catalogue_error(state, location, &url, e))?;
    // The table's store options hold for its assets' stores too.
    let hrefs = loaded
        .items
        .iter()
        .flat_map(|i| i.assets.iter().map(|a| &a.href));
    let hrefs: Vec<&Url> = hrefs.collect();
    crate::stores::check_read(state, hrefs.iter().copied())?;
    let store = crate::stores::table_store_options(state, &options.store);
    crate::stores::configure(state, hrefs, &store)?;
    let (names, sources) = if loaded.items.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let given = options.crs.is_some() && options.resolution.is_some();
        stac_sources(&loaded.items, &options.bands, &stores, true, given).await?
    };
    if loaded.items.is_empty() && !options.bands.is_empty() {
        // An empty catalogue (after the table's filters) is an empty table, with
        // the requested bands as columns.
        return empty_table(location, options);
    }
    load_header_index(state, &url, &options).await?;
    build(location, options, names, sources, &store_for(state)).await
}

/// A table over a STAC API: one search for a sample item (bands, types, CRS,
/// resolution); the items themselves are searched by each query, with its
/// filters (`CubeTable::scan`).
async fn api_table(
    state: &dyn Session,
    location: &str,
    url: &Url,
    options: TableOptions,
) -> Result<CubeDef> {
    let stores = stores(state);
    let filter = options_filter(&options)?;
    let sample_options = LoadOptions {
        kind: Some(SourceKind::Api),
        api: swath_catalog::ApiOptions {
            page_size: 10,
            max_items: Some(1),
            ..swath_catalog::ApiOptions::default()
        },
        ..LoadOptions::default()
    };
    let sample = swath_catalog::load(location, &stores, &filter, &sample_options)
        .await
        .map_err(|e| catalogue_error(state, location, url, e))?;
    let Some(first) = sample.items.first() else {
        if options.bands.is_empty() {
            return plan_err!(
                "catalogue {location}: the API has no item matching the table's options; \
                 name the table's `bands` to make an empty table"
            );
        }
        return empty_table(location, options);
    };
    let hrefs = first.assets.iter().map(|a| &a.href);
    let hrefs: Vec<&Url> = hrefs.collect();
    crate::stores::check_read(state, hrefs.iter().copied())?;
    let store = crate::stores::table_store_options(state, &options.store);
    crate::stores::configure(state, hrefs, &store)?;
    let mut options = options;
    if options.bands.is_empty() {
        // The sample's data bands, by asset key: what each scan resolves.
        options.bands = first
            .assets
            .iter()
            .filter(|a| a.is_raster_data())
            .map(|a| a.key.clone())
            .collect();
    }
    let given = options.crs.is_some() && options.resolution.is_some();
    let (names, sources) =
        stac_sources(&sample.items[..1], &options.bands, &stores, true, given).await?;
    // The grid covers the table's bbox, else its collection's extent.
    let region = match (options.bbox, options.collections.as_slice()) {
        (Some(b), _) => b,
        (None, [one]) => {
            match swath_catalog::collection_bbox(url, one, &LoadOptions::default()).await
            {
                Ok(Some(b)) => [b.west, b.south, b.east, b.north],
                Ok(None) => WORLD,
                Err(e) => {
                    log::info!(
                        "collection {one}: no extent ({e}); the grid covers the world"
                    );
                    WORLD
                }
            }
        }
        (None, _) => WORLD,
    };
    load_header_index(state, url, &options).await?;
    api_layout(location, options, names, sources, region, &store_for(state)).await
}

/// The whole world in lon/lat.
const WORLD: [f64; 4] = [-180.0, -90.0, 180.0, 90.0];

/// A STAC API table's definition for one scan: the items its search finds,
/// placed on the table's grid. The search is the table's options' filter and
/// `pushed` (from the query's WHERE), sent to `POST /search`.
pub async fn search_scenes(
    state: &dyn Session,
    table: &CubeDef,
    pushed: Filter,
) -> Result<CubeDef> {
    let url = swath_catalog::location_url(&table.location)
        .map_err(|e| plan_datafusion_err!("{e}"))?;
    let stores = stores(state);
    let options = LoadOptions {
        kind: Some(SourceKind::Api),
        ..LoadOptions::default()
    };
    let sent = pushed
        .to_search_body(options.api.page_size)
        .map(|mut body| {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("limit");
            }
            body.to_string()
        })
        .map_err(|e| plan_datafusion_err!("{e}"))?;
    let loaded = swath_catalog::load(&table.location, &stores, &pushed, &options)
        .await
        .map_err(|e| catalogue_error(state, &table.location, &url, e))?;
    let hrefs = loaded
        .items
        .iter()
        .flat_map(|i| i.assets.iter().map(|a| &a.href));
    let hrefs: Vec<&Url> = hrefs.collect();
    crate::stores::check_read(state, hrefs.iter().copied())?;
    let store = crate::stores::table_store_options(state, &table.options.store);
    crate::stores::configure(state, hrefs, &store)?;
    let requested: Vec<String> =
        table.bands.iter().map(|b| b.requested.clone()).collect();
    let (_, sources) =
        stac_sources(&loaded.items, &requested, &stores, false, true).await?;
    let mut def = populate(table, sources)?;
    def.search = Some(crate::cube::model::ApiSearch {
        sent: Some(sent),
        documents: loaded.stats.documents,
        items_read: loaded.stats.items_read,
    });
    Ok(def)
}

/// Load the table's header index (the `header_index` option, or the sidecar beside
/// a local catalogue) into the session's header cache.
async fn load_header_index(
    state: &dyn Session,
    url: &Url,
    options: &TableOptions,
) -> Result<()> {
    let Some(cache) = state
        .config()
        .get_extension::<crate::cube::read::HeaderCache>()
    else {
        return Ok(());
    };
    let (index, named) = match &options.header_index {
        Some(given) => (
            swath_catalog::location_url(given)
                .map_err(|e| plan_datafusion_err!("{e}"))?,
            true,
        ),
        None => match crate::cube::index::sidecar(url) {
            Some(side) => (side, false),
            None => return Ok(()),
        },
    };
    match crate::cube::index::load(state.runtime_env(), &index).await? {
        Some(entries) => {
            log::info!("header index {index}: {} headers", entries.len());
            cache.add_snapshots(entries);
            Ok(())
        }
        None if named => plan_err!(
            "option header_index: no index at {index}; build one with `swath index {url}`"
        ),
        None => Ok(()),
    }
}

fn empty_table(location: &str, options: TableOptions) -> Result<CubeDef> {
    use crate::cube::model::{BandDef, TableGrid};
    let (cw, ch) = options.chunk_size.unwrap_or((512, 512));
    let bands = options
        .bands
        .iter()
        .map(|b| BandDef {
            name: swath_catalog::column_name(b),
            requested: b.clone(),
            dtype: swath_geotiff::DataType::F32,
            nodata: f64::NAN,
            scale: None,
            offset: None,
        })
        .collect();
    let res = options.resolution.unwrap_or(1.0);
    Ok(CubeDef {
        location: location.to_string(),
        grid: TableGrid {
            crs: options.crs.clone().unwrap_or_else(|| "EPSG:4326".into()),
            transform: [res, 0.0, 0.0, 0.0, -res, 0.0],
            width: 0,
            height: 0,
            chunk_width: cw,
            chunk_height: ch,
        },
        options,
        bands,
        props: Vec::new(),
        scenes: Vec::new(),
        observations: Vec::new(),
        search: None,
    })
}

/// `STORED AS GEOTIFF`: GeoTIFF files (a file, a directory, or a glob); each file is
/// an item whose id is its name and whose time comes from a date in the name
/// (`YYYYMMDD`, `YYYY-MM-DD`, optionally with `THHMMSS`).
#[derive(Debug, Default)]
pub struct GeoTiffTableFactory;

#[async_trait]
impl TableProviderFactory for GeoTiffTableFactory {
    async fn create(
        &self,
        state: &dyn Session,
        cmd: &CreateExternalTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let (location, options) = request(cmd)?;
        Ok(table(geotiff_table(state, &location, options).await?))
    }
}

/// Resolve a GeoTIFF table.
pub async fn geotiff_table(
    state: &dyn Session,
    location: &str,
    options: TableOptions,
) -> Result<CubeDef> {
    let url = location_url(state, location, &options)?;
    let store = store_for(state)(&url)?;
    let files = list_tiffs(&store, &url).await?;
    if files.is_empty() {
        return plan_err!("{location}: no GeoTIFF files found");
    }
    let mut sources = Vec::with_capacity(files.len());
    let mut names: Option<Vec<String>> = None;
    for file in files {
        let tiff = open_tiff(Arc::clone(&store), &file).await?;
        let geo = tiff.georeference();
        let Some(epsg) = geo.epsg else {
            return plan_err!(
                "{file}: no EPSG code in its GeoKeys; Swath projects EPSG CRSs only"
            );
        };
        let Some(transform) = geo.transform else {
            return plan_err!("{file}: not georeferenced (no transform)");
        };
        // Band names: the `bands` option in file order, else GDAL descriptions,
        // else band_1 … band_n.
        let n = tiff.bands();
        let described: Vec<Option<String>> = (0..n)
            .map(|i| {
                tiff.metadata()
                    .bands
                    .get(i)
                    .and_then(|b| b.description.clone())
                    .filter(|d| !d.is_empty())
            })
            .collect();
        let file_names: Vec<String> = (0..n)
            .map(|i| match (options.bands.get(i), &described[i]) {
                (Some(b), _) => swath_catalog::column_name(b),
                (None, Some(d)) => swath_catalog::column_name(d),
                (None, None) => format!("band_{}", i + 1),
            })
            .collect();
        if !options.bands.is_empty() && options.bands.len() > n {
            return plan_err!(
                "option bands names {} bands, {file} has {n}",
                options.bands.len()
            );
        }
        let names = names.get_or_insert_with(|| file_names.clone());
        if *names != file_names {
            return plan_err!(
                "{file}: bands {file_names:?} differ from the first file's {names:?}"
            );
        }
        let stem = file
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default()
            .to_string();
        let id = stem
            .rsplit_once('.')
            .map_or(stem.clone(), |(a, _)| a.to_string());
        let datetime = date_in_name(&id);
        let bands = (0..n)
            .map(|i| {
                let meta = tiff.metadata().bands.get(i);
                Some(SourceBand {
                    asset: AssetRef {
                        href: file.to_string(),
                        band_index: i,
                        crs: format!("EPSG:{epsg}"),
                        transform,
                        width: tiff.width(),
                        height: tiff.height(),
                        nodata: tiff.nodata(),
                        grid_from_header: false,
                    },
                    dtype: Some(tiff.dtype()),
                    scale: meta.and_then(|m| m.scale),
                    offset: meta.and_then(|m| m.offset),
                    block: tiff.image().tiled.then(|| {
                        let im = tiff.image();
                        (im.block_width as u32, im.block_height as u32)
                    }),
                })
            })
            .collect();
        sources.push(SourceItem {
            id,
            collection: None,
            datetime,
            solar_day: datetime.map(|d| d.date_naive()),
            properties: serde_json::Map::new(),
            bands,
        });
    }
    sources.sort_by(|a, b| (a.datetime, &a.id).cmp(&(b.datetime, &b.id)));
    let names = names.unwrap_or_default();
    let mut options = options;
    options.bands = names.clone();
    build(location, options, names, sources, &store_for(state)).await
}

/// A date (and time) in a file name: `20240517`, `2024-05-17`, `20240517T101559`.
pub fn date_in_name(name: &str) -> Option<DateTime<Utc>> {
    let bytes = name.as_bytes();
    for start in 0..bytes.len() {
        let rest = &name[start..];
        if !rest.starts_with(['1', '2']) {
            continue;
        }
        if start > 0 && bytes[start - 1].is_ascii_digit() {
            continue;
        }
        for (fmt, len) in [("%Y%m%dT%H%M%S", 15), ("%Y-%m-%dT%H:%M:%S", 19)] {
            if let Some(s) = rest.get(..len)
                && let Ok(t) = NaiveDateTime::parse_from_str(s, fmt)
            {
                return Some(t.and_utc());
            }
        }
        for (fmt, len) in [("%Y%m%d", 8), ("%Y-%m-%d", 10)] {
            if let Some(s) = rest.get(..len)
                && !rest[len..].starts_with(|c: char| c.is_ascii_digit())
                && let Ok(d) = NaiveDate::parse_from_str(s, fmt)
            {
                return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            }
        }
    }
    None
}

/// The `.tif`/`.tiff` files a location names: one file, a directory, or a glob.
async fn list_tiffs(store: &Arc<dyn ObjectStore>, url: &Url) -> Result<Vec<Url>> {
    use futures::TryStreamExt;
    let path = url.path();
    let is_tiff = |p: &str| {
        let p = p.to_ascii_lowercase();
        p.ends_with(".tif") || p.ends_with(".tiff")
    };
    let glob_at = path.find(['*', '?', '[']);
    if glob_at.is_none() && is_tiff(path) {
        return Ok(vec![url.clone()]);
    }
    let (prefix, pattern) = match glob_at {
        Some(i) => {
            let dir_end = path[..i].rfind('/').map_or(0, |d| d + 1);
            (&path[..dir_end], Some(path))
        }
        None => (path, None),
    };
    let decoded = percent_decode(prefix);
    let matcher = match pattern {
        Some(p) => Some(
            glob::Pattern::new(&percent_decode(p))
                .map_err(|e| plan_datafusion_err!("{url}: bad glob: {e}"))?,
        ),
        None => None,
    };
    let prefix_path = object_store::path::Path::from_url_path(&decoded)
        .map_err(|e| plan_datafusion_err!("{url}: {e}"))?;
    let metas: Vec<_> = store
        .list(Some(&prefix_path))
        .try_collect()
        .await
        .map_err(|e| plan_datafusion_err!("{url}: {e}"))?;
    let mut out = Vec::new();
    for m in metas {
        let full = format!("/{}", m.location);
        if !is_tiff(&full) {
            continue;
        }
        if let Some(p) = &matcher
            && !p.matches(&full)
        {
            continue;
        }
        let mut u = url.clone();
        u.set_path(&full);
        out.push(u);
        if out.len() > MAX_FILES {
            return plan_err!("{url}: more than {MAX_FILES} GeoTIFF files");
        }
    }
    out.sort();
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_file_names() {
        let d = |s: &str| date_in_name(s).map(|t| t.to_rfc3339());
        assert_eq!(
            d("S2_20240517_B04").as_deref(),
            Some("2024-05-17T00:00:00+00:00")
        );
        assert_eq!(
            d("x_2024-05-17").as_deref(),
            Some("2024-05-17T00:00:00+00:00")
        );
        assert_eq!(
            d("T33_20240517T101559_B04").as_deref(),
            Some("2024-05-17T10:15:59+00:00")
        );
        assert_eq!(d("tile_123456789"), None);
        assert_eq!(d("dem"), None);
    }

    #[test]
    fn time_ranges() {
        let r = parse_time_range("2024-01-01/2024-06-30").expect("range");
        assert_eq!(
            r.start.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-01-01T00:00:00+00:00")
        );
        assert!(
            r.end
                .is_some_and(|t| t.to_rfc3339().starts_with("2024-06-30T23:59:59"))
        );
        let open = parse_time_range("../2024-06-30").expect("open start");
        assert!(open.start.is_none());
        assert!(parse_time_range("last tuesday").is_err());
    }
}
