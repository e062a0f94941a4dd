//! Warping a source raster window onto a destination grid window, as GDAL's warper
//! (`gdalwarp`, GDAL 3.10) does it.
//!
//! A [`WarpPlan`] is made once per (source grid, destination window): it finds the
//! source pixels needed ([`WarpPlan::src_window`], GDAL's `ComputeSourceWindow`) and
//! the resampling set-up. [`WarpPlan::warp`] then fills the destination window from
//! that source window, band after band, without allocating per pixel.
//!
//! Sampling follows GDAL: the centre of each destination pixel is mapped to source
//! pixel coordinates, exactly or with GDAL's approximate transformer (per destination
//! row: first, middle and last points exact, linear in between while the error at the
//! middle is at most `error_threshold` source pixels, else split in two — gdalwarp's
//! default threshold is 0.125). Nearest takes the source pixel containing that point;
//! a destination pixel is only written if that pixel is valid (for bilinear too).
//! Bilinear uses GDAL's 4-sample formula, or — when the window's scale (destination
//! size over the source extent it maps to, GDAL 3.10's per-chunk rule) is below 0.95
//! on either axis — its triangle filter widened by 1/scale, with nodata neighbours
//! dropped and the weights renormalised. Results are bit-identical to gdalwarp when it
//! warps the same window as one chunk (`tests/grid`); the kernel scale, like GDAL's,
//! depends on the window, so a large destination must be planned window by window
//! exactly as the engine reads chunks.
//!
//! Not reproduced from GDAL: the edge-of-validity adjustments for sources whose
//! corners do not project (`GWKAdjustSrcOffsetOnEdge`), source-window refinement by
//! sampling the source (`ComputeSourceWindowStartingFromSource`) and pole/antimeridian
//! special points, the x-scale correction for antimeridian-spanning sources, and the
//! separate no-mask bilinear arithmetic GDAL uses when neither source nor destination
//! has nodata (same weights, another summation order: at most a last-bit difference).

mod kernel;
pub(crate) mod mapper;
mod window;

use std::fmt;
use std::str::FromStr;

use kernel::{Filter, SrcView, bilinear_general, bilinear4};
use mapper::Mapper;
use window::{compute_source_window, kernel_scale};

use crate::error::{Error, Result, misuse};
use crate::grid::{Grid, PixelWindow, to_gdal};
use crate::sample::Sample;

/// gdalwarp's default error threshold of the approximate transformer, in source
/// pixels.
pub const DEFAULT_ERROR_THRESHOLD: f64 = 0.125;

/// The largest destination window a plan accepts, in pixels (a sanity bound).
const MAX_WINDOW_PIXELS: u64 = 1 << 30;

/// How destination pixel values are computed from the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Resampling {
    /// The source pixel that contains the destination pixel's centre.
    #[default]
    Nearest,
    /// GDAL's bilinear interpolation (a wider triangle filter when downsampling).
    Bilinear,
}

impl FromStr for Resampling {
    type Err = Error;

    fn from_str(s: &str) -> Result<Resampling> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nearest" | "near" => Ok(Resampling::Nearest),
            "bilinear" => Ok(Resampling::Bilinear),
            other => Err(misuse!(
                "unknown resampling {other:?}: expected \"nearest\" or \"bilinear\""
            )),
        }
    }
}

impl fmt::Display for Resampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resampling::Nearest => "nearest",
            Resampling::Bilinear => "bilinear",
        })
    }
}

/// Which strategy a plan uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarpKind {
    /// Same CRS, same pixel size, whole-pixel offset: a plain copy.
    Copy,
    /// Same CRS otherwise: affine pixel-to-pixel mapping, no projection.
    Affine,
    /// Different CRSs: points are projected with `proj4rs`.
    Reproject,
}

/// How to fill one destination window from one source grid.
#[derive(Clone, Debug)]
pub struct WarpPlan {
    dst_window: PixelWindow,
    src_window: PixelWindow,
    method: Resampling,
    kind: WarpKind,
    /// For [`WarpKind::Copy`]: source pixel = destination pixel + this offset.
    copy_offset: (i64, i64),
    mapper: Mapper,
    filter: Filter,
    error_threshold: f64,
}

impl WarpPlan {
    /// Plan filling `dst_window` (pixels of `dst`, which may extend beyond it) from
    /// `src`; `Ok(None)` when the window does not touch the source raster (or cannot
    /// be mapped onto it at all). Uses gdalwarp's default error threshold;
    /// see [`WarpPlan::with_error_threshold`].
    pub fn new(
        src: &Grid,
        dst: &Grid,
        dst_window: PixelWindow,
        method: Resampling,
    ) -> Result<Option<WarpPlan>> {
        src.validate()?;
        dst.validate()?;
        if dst_window.is_empty() {
            return Err(Error::InvalidWindow(format!(
                "destination window {dst_window:?} is empty"
            )));
        }
        if dst_window.width.saturating_mul(dst_window.height) > MAX_WINDOW_PIXELS
            || dst_window.end_col() > i128::from(i64::MAX)
            || dst_window.end_row() > i128::from(i64::MAX)
        {
            return Err(Error::InvalidWindow(format!(
                "destination window {dst_window:?} is larger than {MAX_WINDOW_PIXELS} \
                 pixels"
            )));
        }
        let mapper = Mapper::new(src, dst)?;
        let copy_offset = match mapper.reproject {
            None => translation_offset(
                &to_gdal(&src.transform),
                &mapper.dst_gt,
                &mapper.src_inv,
            ),
            Some(_) => None,
        };

        if let Some((dcol, drow)) = copy_offset {
            let Some(src_window) =
                dst_window.offset(dcol, drow).and_then(|w| w.clip(src))
            else {
                return Ok(None);
            };
            return Ok(Some(WarpPlan {
                dst_window,
                src_window,
                method,
                kind: WarpKind::Copy,
                copy_offset: (dcol, drow),
                mapper,
                filter: Filter::bilinear(1.0, 1.0),
                error_threshold: DEFAULT_ERROR_THRESHOLD,
            }));
        }

        let radius = match method {
            Resampling::Nearest => 0,
            Resampling::Bilinear => 1,
        };
        let Some(sw) = compute_source_window(
            &mapper, dst_window, src.width, src.height, radius, false,
        ) else {
            return Ok(None);
        };
        let filter = Filter::bilinear(
            kernel_scale(dst_window.width, sw.window.width, sw.raw_width),
            kernel_scale(dst_window.height, sw.window.height, sw.raw_height),
        );
        let kind = if mapper.reproject.is_some() {
            WarpKind::Reproject
        } else {
            WarpKind::Affine
        };
        Ok(Some(WarpPlan {
            dst_window,
            src_window: sw.window,
            method,
            kind,
            copy_offset: (0, 0),
            mapper,
            filter,
            error_threshold: DEFAULT_ERROR_THRESHOLD,
        }))
    }

    /// Use another error threshold (source pixels) for the approximate transformer;
    /// `0.0` maps every destination pixel exactly (gdalwarp `-et 0`).
    pub fn with_error_threshold(mut self, threshold: f64) -> Result<WarpPlan> {
        if !(threshold.is_finite() && threshold >= 0.0) {
            return Err(misuse!(
                "the error threshold must be a finite number >= 0, got {threshold}"
            ));
        }
        self.error_threshold = threshold;
        Ok(self)
    }

    /// The source pixels [`WarpPlan::warp`] needs, inside the source grid and
    /// including the margin the resampling kernel reads: the caller reads exactly
    /// this window.
    pub fn src_window(&self) -> PixelWindow {
        self.src_window
    }

    /// The destination window the plan fills.
    pub fn dst_window(&self) -> PixelWindow {
        self.dst_window
    }

    /// The resampling method.
    pub fn method(&self) -> Resampling {
        self.method
    }

    /// The strategy: copy, affine or reprojection.
    pub fn kind(&self) -> WarpKind {
        self.kind
    }

    /// The error threshold of the approximate transformer (source pixels).
    pub fn error_threshold(&self) -> f64 {
        self.error_threshold
    }

    /// Fill `dst` (the destination window, row-major) from `src` (the source window
    /// [`WarpPlan::src_window`], row-major).
    ///
    /// A destination pixel is written only where the resampled value is valid (the
    /// source pixel under its centre is not `src_nodata` and not NaN, and the centre
    /// falls inside the source) and the destination pixel is still missing (equal to
    /// `dst_nodata`, or NaN; with `dst_nodata == None` every pixel counts as
    /// missing). Calling `warp` for several sources in order therefore gives "first
    /// valid pixel wins". A bilinear integer result equal to `dst_nodata` is nudged
    /// off it as GDAL does (minimum + 1, else minus 1). Returns the number of pixels
    /// written.
    pub fn warp<T: Sample>(
        &self,
        src: &[T],
        src_nodata: Option<T>,
        dst: &mut [T],
        dst_nodata: Option<T>,
    ) -> Result<usize> {
        let src_len = window_len(&self.src_window)?;
        let dst_len = window_len(&self.dst_window)?;
        if src.len() != src_len {
            return Err(misuse!(
                "the source buffer has {} values, the source window {}×{} needs {src_len}",
                src.len(),
                self.src_window.width,
                self.src_window.height
            ));
        }
        if dst.len() != dst_len {
            return Err(misuse!(
                "the destination buffer has {} values, the destination window {}×{} \
                 needs {dst_len}",
                dst.len(),
                self.dst_window.width,
                self.dst_window.height
            ));
        }
        let view = SrcView {
            data: src,
            width: usize::try_from(self.src_window.width)
                .map_err(|_| misuse!("source window too wide"))?,
            height: usize::try_from(self.src_window.height)
                .map_err(|_| misuse!("source window too high"))?,
            nodata: src_nodata,
        };
        match self.kind {
            WarpKind::Copy => Ok(self.copy(&view, dst, dst_nodata)),
            WarpKind::Affine | WarpKind::Reproject => {
                Ok(self.resample(&view, dst, dst_nodata))
            }
        }
    }

    fn copy<T: Sample>(
        &self,
        src: &SrcView<'_, T>,
        dst: &mut [T],
        dst_nodata: Option<T>,
    ) -> usize {
        let dw = self.dst_window.width as usize;
        // Source window pixel of destination pixel (0, 0).
        let c0 = self.dst_window.col as i128 + i128::from(self.copy_offset.0)
            - i128::from(self.src_window.col);
        let r0 = self.dst_window.row as i128 + i128::from(self.copy_offset.1)
            - i128::from(self.src_window.row);
        // Destination columns [lo, hi) have a source column, the same for every row.
        let lo = (-c0).clamp(0, dw as i128) as usize;
        let hi = (src.width as i128 - c0).clamp(0, dw as i128) as usize;
        if lo >= hi {
            return 0;
        }
        let s_lo = (c0 + lo as i128) as usize;
        let mut written = 0;
        for (r, row) in dst.chunks_exact_mut(dw).enumerate() {
            let sr = r0 + r as i128;
            if sr < 0 || sr >= src.height as i128 {
                continue;
            }
            let start = sr as usize * src.width + s_lo;
            let src_row = &src.data[start..start + (hi - lo)];
            for (d, &v) in row[lo..hi].iter_mut().zip(src_row) {
                // Branch-free, so the compiler vectorises it.
                let take = missing(*d, dst_nodata) & src.valid(v);
                *d = if take { v } else { *d };
                written += usize::from(take);
            }
        }
        written
    }

    fn resample<T: Sample>(
        &self,
        src: &SrcView<'_, T>,
        dst: &mut [T],
        dst_nodata: Option<T>,
    ) -> usize {
        if self.method == Resampling::Nearest && self.mapper.is_separable() {
            return self.nearest_separable(src, dst, dst_nodata);
        }
        let dw = self.dst_window.width as usize;
        let mut rows = RowBuffers::new(dw);
        dst.chunks_exact_mut(dw)
            .enumerate()
            .map(|(r, row)| self.resample_row(r, row, src, dst_nodata, &mut rows))
            .sum()
    }

    /// Map the destination pixel positions `xs`, `ys` of one row to source pixel
    /// positions (approximately, within the error threshold, or exactly).
    fn map_row(&self, xs: &mut [f64], ys: &mut [f64], ok: &mut [bool]) {
        if self.error_threshold > 0.0 {
            self.mapper.approx(self.error_threshold, xs, ys, ok);
        } else {
            self.mapper.exact(xs, ys, ok);
        }
    }

    /// Map the pixel centres of destination row `r` of the window into `buffers`;
    /// the row's y (destination pixel coordinates).
    fn map_dst_row(&self, r: usize, buffers: &mut RowBuffers) -> f64 {
        let col0 = self.dst_window.col as f64;
        let py = r as f64 + 0.5 + self.dst_window.row as f64;
        let RowBuffers { xs, ys, ok } = buffers;
        for (i, (x, y)) in xs.iter_mut().zip(ys.iter_mut()).enumerate() {
            *x = i as f64 + 0.5 + col0;
            *y = py;
        }
        self.map_row(xs, ys, ok);
        py
    }

    /// Resample destination row `r` of the window (`row`), pixel by pixel.
    fn resample_row<T: Sample>(
        &self,
        r: usize,
        row: &mut [T],
        src: &SrcView<'_, T>,
        dst_nodata: Option<T>,
        buffers: &mut RowBuffers,
    ) -> usize {
        if !row.iter().any(|&d| missing(d, dst_nodata)) {
            return 0;
        }
        let col0 = self.dst_window.col as f64;
        let four = self.filter.four_sample();
        let single = src.width == 1 || src.height == 1;
        let py = self.map_dst_row(r, buffers);
        let RowBuffers { xs, ys, ok } = buffers;
        let mut written = 0;
        for (i, d) in row.iter_mut().enumerate() {
            if !missing(*d, dst_nodata) {
                continue;
            }
            let Some((sx, sy, cell)) =
                self.src_position(i as f64 + 0.5 + col0, py, xs[i], ys[i], ok[i], src)
            else {
                continue;
            };
            let centre = src.data[cell];
            if !src.valid(centre) {
                continue;
            }
            let value = match self.method {
                Resampling::Nearest => centre,
                Resampling::Bilinear => {
                    let v = if single {
                        Some(centre.to_f64())
                    } else if four {
                        bilinear4(src, sx, sy)
                    } else {
                        bilinear_general(src, &self.filter, sx, sy)
                    };
                    let Some(v) = v else { continue };
                    let v = T::from_f64(v);
                    match dst_nodata {
                        Some(nd) => v.avoid_nodata(nd),
                        None => v,
                    }
                }
            };
            *d = value;
            written += 1;
        }
        written
    }

    /// Nearest-neighbour resampling for a separable mapping (same CRS, no rotation
    /// or shear): a destination column always reads the same source column and a
    /// row the same source row, so each is computed once per call instead of once
    /// per pixel. The result is the per-pixel path's: a pixel's source column is
    /// what `src_position` gives whenever its source row is inside the window
    /// (the approximate and exact rows agree exactly for such mappings); rows whose
    /// source row lies less than a pixel outside the window, which `src_position`
    /// recomputes exactly, take the per-pixel path.
    fn nearest_separable<T: Sample>(
        &self,
        src: &SrcView<'_, T>,
        dst: &mut [T],
        dst_nodata: Option<T>,
    ) -> usize {
        let dw = self.dst_window.width as usize;
        let col0 = self.dst_window.col as f64;
        let row0 = self.dst_window.row as f64;
        let mut buffers = RowBuffers::new(dw);
        // Source column of each destination column, from the first row's mapping.
        let py0 = self.map_dst_row(0, &mut buffers);
        let cols: Vec<Option<usize>> = (0..dw)
            .map(|i| {
                let px = i as f64 + 0.5 + col0;
                src_cell(
                    buffers.xs[i],
                    buffers.ok[i],
                    self.src_window.col,
                    src.width,
                    || self.mapper.exact_one(px, py0).map(|p| p.0),
                )
            })
            .collect();
        let (oy, sh) = (self.src_window.row as f64, src.height as f64);
        let mut written = 0;
        for (r, row) in dst.chunks_exact_mut(dw).enumerate() {
            let py = r as f64 + 0.5 + row0;
            let Some((_, y)) = self.mapper.exact_one(col0 + 0.5, py) else {
                continue;
            };
            if y.is_nan() {
                continue;
            }
            let inside = y >= oy && y + 1e-10 <= sh + oy;
            if !inside {
                let near = (y < oy && y > oy - 1.0)
                    || (y + 1e-10 > sh + oy && y < sh + oy + 1.0);
                if near {
                    written += self.resample_row(r, row, src, dst_nodata, &mut buffers);
                }
                continue;
            }
            let Some(sr) = src_cell(y, true, self.src_window.row, src.height, || None)
            else {
                continue;
            };
            let src_row = &src.data[sr * src.width..(sr + 1) * src.width];
            for (d, c) in row.iter_mut().zip(&cols) {
                if let Some(c) = *c
                    && missing(*d, dst_nodata)
                {
                    let v = src_row[c];
                    if src.valid(v) {
                        *d = v;
                        written += 1;
                    }
                }
            }
        }
        written
    }

    /// GDAL's `GWKCheckAndComputeSrcOffsets`: the source position of a destination
    /// pixel centre relative to the source window, and the index of the window pixel
    /// containing it. A position less than a pixel outside the window (possibly an
    /// artefact of the approximation) is recomputed exactly once.
    #[inline]
    fn src_position<T: Sample>(
        &self,
        px: f64,
        py: f64,
        x: f64,
        y: f64,
        ok: bool,
        src: &SrcView<'_, T>,
    ) -> Option<(f64, f64, usize)> {
        let (ox, oy) = (self.src_window.col as f64, self.src_window.row as f64);
        let (sw, sh) = (src.width as f64, src.height as f64);
        let (mut x, mut y, mut ok) = (x, y, ok);
        let mut attempt = 0;
        loop {
            if attempt == 1 {
                (x, y) = self.mapper.exact_one(px, py)?;
                ok = true;
            }
            if !ok || x.is_nan() || y.is_nan() {
                return None;
            }
            let retry = attempt == 0;
            attempt += 1;
            if x < ox {
                if retry && x > ox - 1.0 {
                    continue;
                }
                return None;
            }
            if y < oy {
                if retry && y > oy - 1.0 {
                    continue;
                }
                return None;
            }
            if x + 1e-10 > sw + ox {
                if retry && x < sw + ox + 1.0 {
                    continue;
                }
                return None;
            }
            if y + 1e-10 > sh + oy {
                if retry && y < sh + oy + 1.0 {
                    continue;
                }
                return None;
            }
            break;
        }
        let mut c = (x + 1e-10) as i64 - self.src_window.col;
        let mut r = (y + 1e-10) as i64 - self.src_window.row;
        if c == src.width as i64 {
            c -= 1;
        }
        if r == src.height as i64 {
            r -= 1;
        }
        if c < 0 || r < 0 || c >= src.width as i64 || r >= src.height as i64 {
            return None;
        }
        Some((x - ox, y - oy, r as usize * src.width + c as usize))
    }
}

/// Per-row buffers of mapped positions.
struct RowBuffers {
    xs: Vec<f64>,
    ys: Vec<f64>,
    ok: Vec<bool>,
}

impl RowBuffers {
    fn new(n: usize) -> RowBuffers {
        RowBuffers {
            xs: vec![0.0; n],
            ys: vec![0.0; n],
            ok: vec![false; n],
        }
    }
}

/// `src_position` along one axis: the window index (window origin `origin`, `size`
/// pixels) of source position `v`, recomputed once with `exact` when `v` lies less
/// than a pixel outside the window.
fn src_cell(
    v: f64,
    ok: bool,
    origin: i64,
    size: usize,
    exact: impl FnOnce() -> Option<f64>,
) -> Option<usize> {
    let (o, n) = (origin as f64, size as f64);
    let (mut v, mut ok) = (v, ok);
    let mut exact = Some(exact);
    for attempt in 0..2 {
        if attempt == 1 {
            v = (exact.take()?)()?;
            ok = true;
        }
        if !ok || v.is_nan() {
            return None;
        }
        let retry = attempt == 0;
        if v < o {
            if retry && v > o - 1.0 {
                continue;
            }
            return None;
        }
        if v + 1e-10 > n + o {
            if retry && v < n + o + 1.0 {
                continue;
            }
            return None;
        }
        break;
    }
    let mut c = (v + 1e-10) as i64 - origin;
    if c == size as i64 {
        c -= 1;
    }
    (c >= 0 && c < size as i64).then_some(c as usize)
}

/// Whether a destination pixel still needs a value.
#[inline]
fn missing<T: Sample>(v: T, nodata: Option<T>) -> bool {
    match nodata {
        None => true,
        Some(nd) => v == nd || v.is_nan(),
    }
}

fn window_len(w: &PixelWindow) -> Result<usize> {
    w.pixel_count()
        .ok_or_else(|| misuse!("window {w:?} does not fit in memory"))
}

/// The whole-pixel offset `(dcol, drow)` from destination to source pixels when the
/// two grids differ by a translation on pixel boundaries (GDAL's
/// `GDALTransformIsTranslationOnPixelBoundaries`: same pixel size and rotation, the
/// destination origin within 1e-6 pixel of a source pixel corner).
fn translation_offset(
    src_gt: &[f64; 6],
    dst_gt: &[f64; 6],
    src_inv: &[f64; 6],
) -> Option<(i64, i64)> {
    if src_gt[1] != dst_gt[1]
        || src_gt[2] != dst_gt[2]
        || src_gt[4] != dst_gt[4]
        || src_gt[5] != dst_gt[5]
    {
        return None;
    }
    let x = src_inv[0] + dst_gt[0] * src_inv[1] + dst_gt[3] * src_inv[2];
    let y = src_inv[3] + dst_gt[0] * src_inv[4] + dst_gt[3] * src_inv[5];
    let (rx, ry) = (x.round(), y.round());
    let limit = i64::MAX as f64 / 4.0;
    if (x - rx).abs() <= 1e-6
        && (y - ry).abs() <= 1e-6
        && rx.abs() < limit
        && ry.abs() < limit
    {
        Some((rx as i64, ry as i64))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
