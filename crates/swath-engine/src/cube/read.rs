//! Reading one band tile of one observation: open the COGs (headers cached), pick
//! the overview level, fetch only the internal tiles the chunk needs, decode on the
//! blocking pool, warp onto the chunk, fuse scenes (first valid pixel wins).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, Result, exec_datafusion_err};
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::physical_plan::metrics::{Count, Time};
use datafusion::prelude::SessionConfig;
use swath_geotiff::{GeoTiff, HeaderSnapshot, PixelData, Raster, Window};
use swath_grid::{Grid, PixelWindow, Resampling, WarpPlan};
use tokio::sync::OnceCell;
use url::Url;

use super::model::{AssetRef, BandDef};

/// How many opened headers a session keeps (a header with its tile index is a few
/// kilobytes to a few hundred).
pub const HEADER_CACHE: usize = 4096;

type Slot = Arc<OnceCell<(Arc<GeoTiff>, Option<(u64, SystemTime)>)>>;

/// The COG headers (IFDs and tile offsets) a session has opened, by href, so a
/// file's header is fetched once per session, however many partitions, queries and
/// tables read it. Concurrent opens of one href wait for one request. A local
/// file's entry is dropped when its size or modification time changes (a COG
/// rewritten by `COPY … overwrite`); remote entries live as long as the session,
/// as GDAL's header cache does.
#[derive(Debug, Default)]
pub struct HeaderCache {
    slots: Mutex<HashMap<String, Slot>>,
    /// Headers from persisted indexes ([`super::index`]), opened with no request.
    snapshots: Mutex<HashMap<String, HeaderSnapshot>>,
    /// Headers opened from an index while planning, not yet counted in a scan's
    /// `headers_indexed`.
    uncounted: Mutex<std::collections::HashSet<String>>,
}

impl HeaderCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many headers are held.
    pub fn len(&self) -> usize {
        self.slots
            .lock()
            .map_or(0, |s| s.values().filter(|c| c.initialized()).count())
    }

    /// Whether no header is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Serve these headers (from a persisted index) without a request.
    pub fn add_snapshots(
        &self,
        entries: impl IntoIterator<Item = (String, HeaderSnapshot)>,
    ) {
        if let Ok(mut snaps) = self.snapshots.lock() {
            snaps.extend(entries);
        }
    }

    /// How many indexed headers are held.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.lock().map_or(0, |s| s.len())
    }

    fn snapshot_of(&self, href: &str) -> Option<HeaderSnapshot> {
        self.snapshots.lock().ok()?.get(href).cloned()
    }

    /// Forget `href`'s header and snapshot (the file changed).
    fn invalidate(&self, href: &str) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(href);
        }
        if let Ok(mut snaps) = self.snapshots.lock() {
            snaps.remove(href);
        }
    }

    /// The headers of `hrefs` this session has open, as snapshots to persist.
    pub fn snapshots_of<'a>(
        &self,
        hrefs: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(String, HeaderSnapshot)> {
        let Ok(slots) = self.slots.lock() else {
            return Vec::new();
        };
        hrefs
            .into_iter()
            .filter_map(|h| {
                let (tiff, _) = slots.get(h)?.get()?;
                Some((h.to_string(), tiff.snapshot()))
            })
            .collect()
    }

    /// The header of `href`: from the cache, else from an indexed snapshot, else
    /// read from `store` (counted in `metrics`).
    pub async fn open(
        &self,
        href: &str,
        store: impl FnOnce() -> Result<(
            Arc<dyn object_store::ObjectStore>,
            object_store::path::Path,
        )>,
        metrics: Option<&ReadMetrics>,
    ) -> Result<Arc<GeoTiff>> {
        let url = Url::parse(href).map_err(|e| exec_datafusion_err!("{href}: {e}"))?;
        let stamp = local_stamp(&url);
        let slot = self.slot(href, stamp);
        let (tiff, _) = slot
            .get_or_try_init(|| async move {
                let (store, path) = store()?;
                if let Some(snap) = self.snapshot_of(href)
                    && stamp.is_none_or(|(size, _)| size == snap.file_size)
                {
                    let reader = swath_geotiff::ObjectReader::new(
                        Arc::clone(&store),
                        path.clone(),
                    )
                    .with_if_match(snap.version.clone());
                    match GeoTiff::open_from_snapshot(
                        Arc::new(reader),
                        swath_geotiff::Limits::default(),
                        &snap,
                    )
                    .await
                    {
                        Ok(tiff) => {
                            match metrics {
                                Some(m) => m.headers_indexed.add(1),
                                None => {
                                    if let Ok(mut u) = self.uncounted.lock() {
                                        u.insert(href.to_string());
                                    }
                                }
                            }
                            return Ok((Arc::new(tiff), stamp));
                        }
                        Err(e) => log::debug!("{href}: indexed header not used: {e}"),
                    }
                }
                let tiff = swath_geotiff::open(store, path)
                    .await
                    .map_err(|e| DataFusionError::Execution(format!("{href}: {e}")))?;
                if let Some(m) = metrics {
                    m.headers.add(1);
                }
                Ok::<_, DataFusionError>((Arc::new(tiff), stamp))
            })
            .await?;
        Ok(Arc::clone(tiff))
    }

    /// Whether `href`'s header was opened from an index while planning and is not
    /// yet counted by a scan (then it is now).
    fn take_uncounted(&self, href: &str) -> bool {
        self.uncounted.lock().is_ok_and(|mut u| u.remove(href))
    }

    /// Whether `href`'s header is open or indexed (it opens with no request).
    pub fn is_known(&self, href: &str) -> bool {
        let open = self
            .slots
            .lock()
            .is_ok_and(|s| s.get(href).is_some_and(|c| c.initialized()));
        open || self.snapshots.lock().is_ok_and(|s| s.contains_key(href))
    }

    fn slot(&self, href: &str, stamp: Option<(u64, SystemTime)>) -> Slot {
        let Ok(mut slots) = self.slots.lock() else {
            return Arc::new(OnceCell::new());
        };
        if let Some(slot) = slots.get(href) {
            match slot.get() {
                Some((_, old)) if *old != stamp => {}
                _ => return Arc::clone(slot),
            }
        }
        if slots.len() >= HEADER_CACHE {
            slots.retain(|_, s| !s.initialized());
        }
        let slot = Arc::new(OnceCell::new());
        slots.insert(href.to_string(), Arc::clone(&slot));
        slot
    }
}

/// Size and modification time of a local file (`None` for remote hrefs).
fn local_stamp(url: &Url) -> Option<(u64, SystemTime)> {
    if url.scheme() != "file" {
        return None;
    }
    let meta = std::fs::metadata(url.to_file_path().ok()?).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Counters a scan reports (`EXPLAIN ANALYZE`).
#[derive(Debug, Clone)]
pub struct ReadMetrics {
    /// Range requests made for pixel data.
    pub requests: Count,
    /// Bytes fetched for pixel data.
    pub bytes: Count,
    /// Headers read from the store.
    pub headers: Count,
    /// Headers opened from a persisted index (no request).
    pub headers_indexed: Count,
    /// Assets that failed and read as nodata (`on_error 'nodata'`).
    pub failed_assets: Count,
    /// Time spent decoding and warping.
    pub decode_time: Time,
}

/// Opens GeoTIFF headers (through the session's [`HeaderCache`]) and reads band
/// tiles for one scan partition.
#[derive(Debug)]
pub struct Reader {
    runtime: Arc<RuntimeEnv>,
    config: SessionConfig,
    headers: Arc<HeaderCache>,
    resampling: Resampling,
    table_grid: Grid,
}

impl Reader {
    /// A reader resolving stores through the task's runtime, sharing the session's
    /// header cache (a private one where the session has none, as on an executor).
    pub fn new(context: &TaskContext, table_grid: Grid, resampling: Resampling) -> Self {
        let config = context.session_config().clone();
        let headers = config
            .get_extension::<HeaderCache>()
            .unwrap_or_else(|| Arc::new(HeaderCache::new()));
        Reader {
            runtime: context.runtime_env(),
            config,
            headers,
            resampling,
            table_grid,
        }
    }

    /// `message` about `url`, naming the credentials tried when access was refused.
    fn explain(&self, url: &Url, message: impl std::fmt::Display) -> DataFusionError {
        let text =
            crate::stores::explain(Some(&self.config), url, format!("{url}: {message}"));
        DataFusionError::Execution(text)
    }

    fn explain_href(&self, href: &str, e: impl std::fmt::Display) -> DataFusionError {
        match Url::parse(href) {
            Ok(url) => self.explain(&url, e),
            Err(_) => exec_datafusion_err!("{href}: {e}"),
        }
    }

    async fn open(&self, href: &str, metrics: &ReadMetrics) -> Result<Arc<GeoTiff>> {
        let url = Url::parse(href).map_err(|e| exec_datafusion_err!("{href}: {e}"))?;
        let store = || {
            let store = crate::stores::store(&self.runtime, &url)
                .map_err(|e| self.explain(&url, crate::stores::strip_plan(&e)))?;
            let path = swath_store::object_path(&url)
                .map_err(|e| exec_datafusion_err!("{e}"))?;
            Ok((store, path))
        };
        let opened = self.headers.open(href, store, Some(metrics)).await;
        if opened.is_ok() && self.headers.take_uncounted(href) {
            metrics.headers_indexed.add(1);
        }
        opened.map_err(|e| match e {
            DataFusionError::Execution(m) => DataFusionError::Execution(
                crate::stores::explain(Some(&self.config), &url, m),
            ),
            other => other,
        })
    }

    /// Warp one scene's band onto `chunk` into `tile` (only where `tile` is still
    /// nodata). Returns whether any source pixel was needed.
    pub async fn read_into(
        &self,
        asset: &AssetRef,
        band: &BandDef,
        chunk: PixelWindow,
        tile: PixelData,
        metrics: &ReadMetrics,
    ) -> Result<PixelData> {
        let (src_grid, mut tiff) = if asset.grid_from_header {
            // The catalogue gives no grid: the header's.
            let tiff = self.open(&asset.href, metrics).await?;
            (header_grid(&tiff, &asset.href)?, tiff)
        } else {
            let src_grid = asset
                .grid()
                .map_err(|e| exec_datafusion_err!("{}: {e}", asset.href))?;
            // Cheap test before opening anything: does the chunk touch the source?
            if WarpPlan::new(&src_grid, &self.table_grid, chunk, Resampling::Nearest)
                .map_err(|e| exec_datafusion_err!("{}: {e}", asset.href))?
                .is_none()
            {
                return Ok(tile);
            }
            (src_grid, self.open(&asset.href, metrics).await?)
        };
        let (level, level_grid) = self.level(&tiff, &src_grid);
        let Some(plan) =
            WarpPlan::new(&level_grid, &self.table_grid, chunk, self.resampling)
                .map_err(|e| exec_datafusion_err!("{}: {e}", asset.href))?
        else {
            return Ok(tile);
        };
        let sw = plan.src_window();
        if sw.width == 0 || sw.height == 0 {
            return Ok(tile);
        }
        let window = Window::new(sw.col as u64, sw.row as u64, sw.width, sw.height);
        let fetched = match tiff.fetch_window(level, window, false).await {
            Ok(f) => f,
            Err(swath_geotiff::Error::Store(object_store::Error::Precondition {
                ..
            })) => {
                // The file changed since its indexed header was read: read the
                // header again and fetch with the new offsets.
                log::info!(
                    "{}: changed since it was indexed; header read again",
                    asset.href
                );
                self.headers.invalidate(&asset.href);
                tiff = self.open(&asset.href, metrics).await?;
                if self.level(&tiff, &src_grid).0 != level {
                    return Err(exec_datafusion_err!(
                        "{}: the file changed while it was read",
                        asset.href
                    ));
                }
                tiff.fetch_window(level, window, false)
                    .await
                    .map_err(|e| self.explain_href(&asset.href, e))?
            }
            Err(e) => return Err(self.explain_href(&asset.href, e)),
        };
        metrics.requests.add(fetched.requests);
        metrics.bytes.add(fetched.bytes as usize);
        crate::monitor::FETCHED_BYTES.fetch_add(fetched.bytes, Ordering::Relaxed);
        let band_index = asset.band_index;
        let src_nodata = asset.nodata.or(tiff.nodata());
        let dst_nodata = band.nodata;
        let href = asset.href.clone();
        let timer = metrics.decode_time.clone();
        let task = SpawnedTask::spawn_blocking(move || -> Result<PixelData> {
            let _t = timer.timer();
            let raster = tiff
                .decode_window(&fetched)
                .map_err(|e| exec_datafusion_err!("{href}: {e}"))?;
            let mut tile = tile;
            warp_band(
                &plan, &raster, band_index, src_nodata, &mut tile, dst_nodata,
            )
            .map_err(|e| exec_datafusion_err!("{href}: {e}"))?;
            crate::monitor::DECODED_BYTES
                .fetch_add((tile.len() * tile.dtype().size()) as u64, Ordering::Relaxed);
            Ok(tile)
        });
        task.join()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
    }

    /// The overview level to read for the table's resolution, and its grid.
    fn level(&self, tiff: &GeoTiff, full: &Grid) -> (usize, Grid) {
        choose_level(tiff, full, &self.table_grid)
    }
}

/// The headers among `hrefs` that open with no request (open in this session or
/// in a loaded header index), opened.
pub async fn known_headers(
    runtime: &Arc<RuntimeEnv>,
    headers: &HeaderCache,
    hrefs: Vec<String>,
) -> HashMap<String, Arc<GeoTiff>> {
    let mut out = HashMap::new();
    for href in hrefs {
        if out.contains_key(&href) || !headers.is_known(&href) {
            continue;
        }
        let Ok(url) = Url::parse(&href) else { continue };
        let store = || {
            let store = crate::stores::store(runtime, &url)?;
            let path = swath_store::object_path(&url)
                .map_err(|e| exec_datafusion_err!("{e}"))?;
            Ok((store, path))
        };
        match headers.open(&href, store, None).await {
            Ok(tiff) => {
                out.insert(href, tiff);
            }
            Err(e) => log::debug!("{href}: known header not opened: {e}"),
        }
    }
    out
}

/// What reading one band of a file whose header is known onto a chunk of the
/// table grid fetches (at the overview level, and with the merged requests, of
/// [`Reader::read_into`]). `None` when the chunk does not touch the file.
pub fn planned_fetch(
    tiff: &GeoTiff,
    asset: &AssetRef,
    table_grid: &Grid,
    chunk: PixelWindow,
    resampling: Resampling,
) -> Option<swath_geotiff::FetchPlan> {
    let full = if asset.grid_from_header {
        header_grid(tiff, &asset.href).ok()?
    } else {
        asset.grid().ok()?
    };
    let (level, grid) = choose_level(tiff, &full, table_grid);
    let plan = WarpPlan::new(&grid, table_grid, chunk, resampling).ok()??;
    let sw = plan.src_window();
    if sw.width == 0 || sw.height == 0 {
        return None;
    }
    let window = Window::new(sw.col as u64, sw.row as u64, sw.width, sw.height);
    tiff.plan_fetch(level, window, false).ok()
}

/// The overview level of `tiff` a read onto `table_grid` uses, and its grid.
fn choose_level(tiff: &GeoTiff, full: &Grid, table_grid: &Grid) -> (usize, Grid) {
    let levels = tiff.levels();
    if levels.len() < 2 {
        return (0, full.clone());
    }
    let (tx, ty) = grid_res(table_grid);
    let (sx, sy) = grid_res(full);
    let target = (tx / sx).min(ty / sy);
    let factors: Vec<f64> = levels
        .iter()
        .skip(1)
        .map(|l| tiff.width() as f64 / l.width as f64)
        .collect();
    let level = swath_grid::overview_level(1.0, &factors, target);
    if level == 0 {
        return (0, full.clone());
    }
    let lv = &levels[level];
    let fx = full.width as f64 / lv.width as f64;
    let fy = full.height as f64 / lv.height as f64;
    let t = full.transform;
    let grid = Grid {
        crs: full.crs.clone(),
        transform: [t[0] * fx, t[1] * fy, t[2], t[3] * fx, t[4] * fy, t[5]],
        width: lv.width,
        height: lv.height,
    };
    (level, grid)
}

/// A file's grid from its GeoKeys and geotransform.
fn header_grid(tiff: &GeoTiff, href: &str) -> Result<Grid> {
    let geo = tiff.georeference();
    let (Some(epsg), Some(transform)) = (geo.epsg, geo.transform) else {
        return Err(exec_datafusion_err!(
            "{href}: the catalogue gives no grid (no proj:*) and the file is not \
             georeferenced with an EPSG code and a geotransform"
        ));
    };
    let crs = swath_grid::Crs::from_epsg(epsg)
        .map_err(|e| exec_datafusion_err!("{href}: EPSG:{epsg}: {e}"))?;
    Ok(Grid {
        crs,
        transform,
        width: tiff.width(),
        height: tiff.height(),
    })
}

fn grid_res(g: &Grid) -> (f64, f64) {
    let [a, b, _, d, e, _] = g.transform;
    (a.hypot(d), b.hypot(e))
}

/// Warp band `band` of `src` into `dst`, converting types when they differ.
fn warp_band(
    plan: &WarpPlan,
    src: &Raster,
    band: usize,
    src_nodata: Option<f64>,
    dst: &mut PixelData,
    dst_nodata: f64,
) -> std::result::Result<usize, String> {
    let plane = src.width * src.height;
    if band >= src.bands {
        return Err(format!(
            "band {} asked, the file has {}",
            band + 1,
            src.bands
        ));
    }
    let range = band * plane..(band + 1) * plane;
    macro_rules! same {
        ($($v:ident => $t:ty),*) => {
            match (&src.data, dst) {
                $((PixelData::$v(s), PixelData::$v(d)) => plan
                    .warp::<$t>(
                        &s[range],
                        src_nodata.map(|n| n as $t),
                        d,
                        Some(dst_nodata as $t),
                    )
                    .map_err(|e| e.to_string()),)*
                (s, d) => {
                    // Different sample types: convert the plane to the column's type.
                    let converted = convert(s, range, d);
                    let src = Raster::new(src.width, src.height, 1, converted)
                        .map_err(|e| e.to_string())?;
                    warp_band(plan, &src, 0, src_nodata, d, dst_nodata)
                }
            }
        };
    }
    same!(U8 => u8, I8 => i8, U16 => u16, I16 => i16, U32 => u32, I32 => i32, F32 => f32, F64 => f64)
}

fn convert(
    src: &PixelData,
    range: std::ops::Range<usize>,
    like: &PixelData,
) -> PixelData {
    let values = range.map(|i| src.get_f64(i).unwrap_or(f64::NAN));
    match like {
        PixelData::U8(_) => PixelData::U8(values.map(|v| v as u8).collect()),
        PixelData::I8(_) => PixelData::I8(values.map(|v| v as i8).collect()),
        PixelData::U16(_) => PixelData::U16(values.map(|v| v as u16).collect()),
        PixelData::I16(_) => PixelData::I16(values.map(|v| v as i16).collect()),
        PixelData::U32(_) => PixelData::U32(values.map(|v| v as u32).collect()),
        PixelData::I32(_) => PixelData::I32(values.map(|v| v as i32).collect()),
        PixelData::F32(_) => PixelData::F32(values.map(|v| v as f32).collect()),
        PixelData::F64(_) => PixelData::F64(values.collect()),
    }
}
