//! Quicklooks of GeoTIFFs and COGs: the right overview, read block by block.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;
use swath_geotiff::{GeoTiff, PixelData, Raster, Window};

use crate::canvas::Canvas;
use crate::error::{Result, invalid};
use crate::image::Image;
use crate::stretch::Stretch;

/// The most bytes of samples one window read of a quicklook asks for.
const WINDOW_BYTES: u64 = 64 << 20;

/// The level a quicklook of `tiff` reads for `max_size`: the smallest one (full
/// resolution or overview) whose longest side is at least `max_size`, or the full
/// resolution when even that is smaller.
pub fn choose_level(tiff: &GeoTiff, max_size: u32) -> usize {
    tiff.levels()
        .iter()
        .rposition(|im| im.width.max(im.height) >= u64::from(max_size))
        .unwrap_or(0)
}

/// Open `path` in `store` and make its quicklook (see [`quicklook`]).
pub async fn quicklook_tiff(
    store: Arc<dyn ObjectStore>,
    path: Path,
    bands: &[usize],
    max_size: u32,
    stretch: &Stretch,
) -> Result<Image> {
    let tiff = swath_geotiff::open(store, path).await?;
    quicklook(&tiff, bands, max_size, stretch).await
}

/// A quicklook of an open GeoTIFF: bands `bands` (1-based; one for grey, three for
/// RGB) of level [`choose_level`], downsampled with a [`Canvas`] so the longest side
/// is at most `max_size`, then stretched.
///
/// Samples equal to the file's nodata value, and pixels its mask marks invalid, are
/// missing (transparent). GDAL scale and offset, when the file has them, are applied
/// first, so a [`Stretch::Range`] is in physical units. Only the blocks holding a
/// sampled pixel are fetched, a few at a time; decoding runs on the calling task.
pub async fn quicklook(
    tiff: &GeoTiff,
    bands: &[usize],
    max_size: u32,
    stretch: &Stretch,
) -> Result<Image> {
    stretch.validate()?;
    if bands.len() != 1 && bands.len() != 3 {
        return Err(invalid!(
            "a quicklook takes 1 band (grey) or 3 (RGB), got {}",
            bands.len()
        ));
    }
    if let Some(&b) = bands.iter().find(|&&b| b == 0 || b > tiff.bands()) {
        return Err(invalid!(
            "band {b} does not exist: bands are numbered 1 to {}",
            tiff.bands()
        ));
    }
    let level = choose_level(tiff, max_size);
    let im = tiff
        .levels()
        .get(level)
        .ok_or_else(|| invalid!("the file has no level {level}"))?;
    let mut canvas = Canvas::new(im.width, im.height, bands.len(), max_size)?;
    let stride = canvas.stride();
    let nodata = tiff.nodata();
    let meta = &tiff.metadata().bands;
    let scale: Vec<(f64, f64)> = bands
        .iter()
        .map(|&b| {
            let m = meta.get(b - 1);
            (
                m.and_then(|m| m.scale).unwrap_or(1.0),
                m.and_then(|m| m.offset).unwrap_or(0.0),
            )
        })
        .collect();

    // Windows: one block row high, as many blocks wide as fit in WINDOW_BYTES; rows
    // and columns of blocks that hold no sampled pixel are skipped.
    let (bw, bh) = (im.block_width, im.block_height);
    let pixel_bytes = (im.samples_per_pixel * im.dtype.size()) as u64;
    let blocks_per_window = (WINDOW_BYTES / (bw * bh * pixel_bytes).max(1)).max(1);
    let holds_sample =
        |start: u64, len: u64| start.next_multiple_of(stride) < start + len;
    let (across, down) = im.block_grid();
    for by in 0..down {
        let y = by * bh;
        let h = bh.min(im.height - y);
        if !holds_sample(y, h) {
            continue;
        }
        let mut bx = 0;
        while bx < across {
            // The next run of blocks that hold samples, at most blocks_per_window long.
            while bx < across && !holds_sample(bx * bw, bw.min(im.width - bx * bw)) {
                bx += 1;
            }
            if bx == across {
                break;
            }
            let mut end = bx;
            while end < across
                && end - bx < blocks_per_window
                && holds_sample(end * bw, bw.min(im.width - end * bw))
            {
                end += 1;
            }
            let x = bx * bw;
            let w = (end * bw).min(im.width) - x;
            let window = Window::new(x, y, w, h);
            let raster = tiff.read_window(level, window).await?;
            let mask = tiff.read_mask_window(level, window).await?;
            let mut planes = Vec::with_capacity(bands.len());
            for (&b, &(scale, offset)) in bands.iter().zip(&scale) {
                let mut plane = band_f32(&raster, b - 1, nodata, scale, offset)?;
                if let Some(PixelData::U8(m)) = mask.as_ref().map(|m| &m.data) {
                    for (v, &ok) in plane.iter_mut().zip(m) {
                        if ok == 0 {
                            *v = f32::NAN;
                        }
                    }
                }
                planes.push(plane);
            }
            let slices: Vec<&[f32]> = planes.iter().map(Vec::as_slice).collect();
            // Offsets within a TIFF's dimension limits, far below i64::MAX.
            canvas.put(x as i64, y as i64, w as usize, h as usize, &slices)?;
            bx = end;
        }
    }
    canvas.render(stretch)
}

/// Band `band` (0-based) of `raster` as f32, nodata as NaN, scaled and offset.
fn band_f32(
    raster: &Raster,
    band: usize,
    nodata: Option<f64>,
    scale: f64,
    offset: f64,
) -> Result<Vec<f32>> {
    let n = raster.width * raster.height;
    let range = band * n..(band + 1) * n;
    let convert = |v: f64| -> f32 {
        if nodata.is_some_and(|nd| v == nd) || v.is_nan() {
            f32::NAN
        } else {
            (v * scale + offset) as f32
        }
    };
    macro_rules! plane {
        ($v:expr) => {
            $v.get(range.clone()).map(|s| {
                s.iter()
                    .map(|&x| convert(f64::from(x)))
                    .collect::<Vec<f32>>()
            })
        };
    }
    let plane = match &raster.data {
        PixelData::U8(v) => plane!(v),
        PixelData::I8(v) => plane!(v),
        PixelData::U16(v) => plane!(v),
        PixelData::I16(v) => plane!(v),
        PixelData::U32(v) => plane!(v),
        PixelData::I32(v) => plane!(v),
        PixelData::F32(v) => plane!(v),
        PixelData::F64(v) => plane!(v),
    };
    plane.ok_or_else(|| invalid!("the window read has no band {}", band + 1))
}
