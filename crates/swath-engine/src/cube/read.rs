//! Reading one band tile of one observation: open the COGs (headers cached), pick
//! the overview level, fetch only the internal tiles the chunk needs, decode on the
//! blocking pool, warp onto the chunk, fuse scenes (first valid pixel wins).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, Result, exec_datafusion_err};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::physical_plan::metrics::{Count, Time};
use swath_geotiff::{GeoTiff, PixelData, Raster, Window};
use swath_grid::{Grid, PixelWindow, Resampling, WarpPlan};
use url::Url;

use super::model::{AssetRef, BandDef};

/// How many opened headers a scan keeps.
const HEADER_CACHE: usize = 256;

/// Counters a scan reports (`EXPLAIN ANALYZE`).
#[derive(Debug, Clone)]
pub struct ReadMetrics {
    /// Range requests made for pixel data.
    pub requests: Count,
    /// Bytes fetched for pixel data.
    pub bytes: Count,
    /// Headers opened.
    pub headers: Count,
    /// Assets that failed and read as nodata (`on_error 'nodata'`).
    pub failed_assets: Count,
    /// Time spent decoding and warping.
    pub decode_time: Time,
}

/// Opens and caches GeoTIFF headers for one scan.
#[derive(Debug)]
pub struct Reader {
    runtime: Arc<RuntimeEnv>,
    tiffs: Mutex<HashMap<String, Arc<GeoTiff>>>,
    resampling: Resampling,
    table_grid: Grid,
}

impl Reader {
    /// A reader resolving stores through `runtime`.
    pub fn new(
        runtime: Arc<RuntimeEnv>,
        table_grid: Grid,
        resampling: Resampling,
    ) -> Self {
        Reader {
            runtime,
            tiffs: Mutex::new(HashMap::new()),
            resampling,
            table_grid,
        }
    }

    async fn open(&self, href: &str, metrics: &ReadMetrics) -> Result<Arc<GeoTiff>> {
        if let Some(t) = self.tiffs.lock().ok().and_then(|m| m.get(href).cloned()) {
            return Ok(t);
        }
        let url = Url::parse(href).map_err(|e| exec_datafusion_err!("{href}: {e}"))?;
        let store_url = ObjectStoreUrl::parse(&url[..url::Position::BeforePath])?;
        let store = self.runtime.object_store(store_url)?;
        let path = object_store::path::Path::from_url_path(url.path())
            .map_err(|e| exec_datafusion_err!("{href}: {e}"))?;
        let tiff = Arc::new(
            swath_geotiff::open(store, path)
                .await
                .map_err(|e| exec_datafusion_err!("{href}: {e}"))?,
        );
        metrics.headers.add(1);
        if let Ok(mut m) = self.tiffs.lock() {
            if m.len() >= HEADER_CACHE {
                m.clear();
            }
            m.insert(href.to_string(), Arc::clone(&tiff));
        }
        Ok(tiff)
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
        let tiff = self.open(&asset.href, metrics).await?;
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
        let fetched = tiff
            .fetch_window(level, window, false)
            .await
            .map_err(|e| exec_datafusion_err!("{}: {e}", asset.href))?;
        metrics.requests.add(fetched.requests);
        metrics.bytes.add(fetched.bytes as usize);
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
            Ok(tile)
        });
        task.join()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
    }

    /// The overview level to read for the table's resolution, and its grid.
    fn level(&self, tiff: &GeoTiff, full: &Grid) -> (usize, Grid) {
        let levels = tiff.levels();
        if levels.len() < 2 {
            return (0, full.clone());
        }
        let (tx, ty) = grid_res(&self.table_grid);
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
