//! Which source pixels a destination window needs: GDAL's
//! `GDALWarpOperation::ComputeSourceWindow`, and the resampling scale its warp kernel
//! derives from that window (`GDALWarpKernel::PerformWarp`, GDAL 3.10).

use super::mapper::Mapper;
use crate::grid::PixelWindow;

/// GDAL's `DEFAULT_STEP_COUNT`: points sampled per edge of the destination window.
const STEP_COUNT: usize = 21;

/// The source window of a destination window, with GDAL's "raw" (unclamped by the
/// kernel margin) extent, from which the kernel scale is derived.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SourceWindow {
    /// The source pixels to read, inside the source raster.
    pub window: PixelWindow,
    /// `dfSrcXSizeRaw`: the width in source pixels the destination window maps to.
    pub raw_width: f64,
    /// `dfSrcYSizeRaw`.
    pub raw_height: f64,
}

/// Extremes of the transformed sample points and how many failed.
struct Extent {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
    samples: usize,
    failed: usize,
}

impl Extent {
    fn new() -> Extent {
        Extent {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
            samples: 0,
            failed: 0,
        }
    }

    fn add(&mut self, mapper: &Mapper, px: f64, py: f64) {
        self.samples += 1;
        match mapper.exact_one(px, py) {
            Some((x, y)) => {
                self.min_x = self.min_x.min(x);
                self.min_y = self.min_y.min(y);
                self.max_x = self.max_x.max(x);
                self.max_y = self.max_y.max(y);
            }
            None => self.failed += 1,
        }
    }
}

/// Sample the outline of the destination window (`all`: every pixel corner along the
/// edges; otherwise 21 points per edge).
fn sample_edges(mapper: &Mapper, dst: PixelWindow, all: bool) -> Extent {
    let (x0, y0) = (dst.col as f64, dst.row as f64);
    let (w, h) = (dst.width as f64, dst.height as f64);
    let mut e = Extent::new();
    if all {
        for i in 0..=dst.width {
            e.add(mapper, x0 + i as f64, y0);
            e.add(mapper, x0 + i as f64, y0 + h);
        }
        for j in 1..dst.height {
            e.add(mapper, x0, y0 + j as f64);
            e.add(mapper, x0 + w, y0 + j as f64);
        }
    } else {
        let step = 1.0 / (STEP_COUNT - 1) as f64;
        let mut ratio = 0.0;
        while ratio <= 1.0 + step * 0.5 {
            e.add(mapper, ratio * w + x0, y0);
            e.add(mapper, ratio * w + x0, y0 + h);
            e.add(mapper, x0, ratio * h + y0);
            e.add(mapper, w + x0, ratio * h + y0);
            ratio += step;
        }
    }
    e
}

/// Sample a (21+2)² grid over the destination window, including points half a pixel
/// inside each edge (GDAL uses the window width for both half-pixel offsets).
fn sample_grid(mapper: &Mapper, dst: PixelWindow) -> Extent {
    let (x0, y0) = (dst.col as f64, dst.row as f64);
    let (w, h) = (dst.width as f64, dst.height as f64);
    let step = 1.0 / (STEP_COUNT - 1) as f64;
    let ratio = |i: usize| {
        if i == 0 {
            0.5 / w
        } else if i <= STEP_COUNT {
            (i - 1) as f64 * step
        } else {
            1.0 - 0.5 / w
        }
    };
    let mut e = Extent::new();
    for iy in 0..STEP_COUNT + 2 {
        for ix in 0..STEP_COUNT + 2 {
            e.add(mapper, ratio(ix) * w + x0, ratio(iy) * h + y0);
        }
    }
    e
}

/// GDAL's `roundIfCloseEnough`: snap to an integer within 1e-6.
fn round_if_close(v: f64) -> f64 {
    let r = v.round();
    if (r - v).abs() < 1e-6 { r } else { v }
}

/// The source window needed by `dst` (see `GDALWarpOperation::ComputeSourceWindow`),
/// or `None` when the destination window does not touch the source raster or cannot
/// be mapped onto it. `filter_radius` is 0 for nearest and 1 for bilinear;
/// `translation` drops the kernel margin for whole-pixel translations.
pub(crate) fn compute_source_window(
    mapper: &Mapper,
    dst: PixelWindow,
    src_width: u64,
    src_height: u64,
    filter_radius: i64,
    translation: bool,
) -> Option<SourceWindow> {
    // If a corner of the destination window fails to map, sample every edge pixel.
    let (x0, y0) = (dst.col as f64, dst.row as f64);
    let (x1, y1) = (x0 + dst.width as f64, y0 + dst.height as f64);
    let all = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
        .iter()
        .any(|&(x, y)| mapper.exact_one(x, y).is_none());
    // Sampling every edge pixel of a huge window would be slow; 21 steps then.
    let all = all && dst.width.saturating_add(dst.height) <= 1 << 16;
    let mut e = sample_edges(mapper, dst, all);
    let mut grid_retry_failed = false;
    if e.failed > 0 {
        e = sample_grid(mapper, dst);
        grid_retry_failed = e.failed > 0;
    }
    if e.samples < 5 || e.failed > e.samples - 5 {
        return None;
    }
    let (sw, sh) = (src_width as f64, src_height as f64);
    if e.min_x > sw || e.max_x < 0.0 || e.min_y > sh || e.max_y < 0.0 {
        return None;
    }
    let (min_x, min_y) = (round_if_close(e.min_x), round_if_close(e.min_y));
    let (max_x, max_y) = (round_if_close(e.max_x), round_if_close(e.max_y));

    let res = if translation { 0 } else { filter_radius };
    let scale_x = (dst.width as f64 / (max_x - min_x)).max(1e-3);
    let scale_y = (dst.height as f64 / (max_y - min_y)).max(1e-3);
    let radius = |scale: f64| {
        if scale < 0.95 {
            (res as f64 / scale).ceil() as i64
        } else {
            res
        }
    };
    let extra = if grid_retry_failed { 10 } else { 0 };
    let (rx, ry) = (radius(scale_x) + extra, radius(scale_y) + extra);

    let axis = |min: f64, max: f64, size: i64, r: i64| -> (i64, i64, f64) {
        let min_clamped = min.max(0.0) as i64;
        let max_clamped = max.ceil().min(size as f64) as i64;
        let raw = ((size - min_clamped) as f64).min(max - min).max(0.0);
        if (max_clamped - min_clamped) as f64 > 0.9 * size as f64 {
            (0, size, raw)
        } else {
            let off = (min_clamped - r).min(size).max(0);
            let len = (size - off).min(max_clamped - off + r).max(0);
            (off, len, raw)
        }
    };
    let src_w = i64::try_from(src_width).ok()?;
    let src_h = i64::try_from(src_height).ok()?;
    let (xoff, xsize, raw_width) = axis(min_x, max_x, src_w, rx);
    let (yoff, ysize, raw_height) = axis(min_y, max_y, src_h, ry);
    if xsize <= 0 || ysize <= 0 {
        return None;
    }
    Some(SourceWindow {
        window: PixelWindow::new(xoff, yoff, xsize as u64, ysize as u64),
        raw_width,
        raw_height,
    })
}

/// The resampling scale of one axis as GDAL 3.10's warp kernel computes it from the
/// chunk sizes (destination pixels per source pixel; below 1 when downsampling),
/// snapped to the reciprocal of an integer when within 0.05 of one.
pub(crate) fn kernel_scale(dst_size: u64, src_size: u64, raw: f64) -> f64 {
    let (dst, src) = (dst_size as f64, src_size as f64);
    let extra = src - raw;
    let mut scale = dst / (src - extra);
    if src >= dst && src <= dst + extra {
        scale = 1.0;
    }
    if scale < 1.0 {
        let reciprocal = 1.0 / scale;
        let n = (reciprocal + 0.5) as i64;
        if (reciprocal - n as f64).abs() < 0.05 {
            scale = 1.0 / n as f64;
        }
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{inv_geotransform, to_gdal};

    fn affine_mapper(src: [f64; 6], dst: [f64; 6]) -> Mapper {
        Mapper {
            dst_gt: to_gdal(&dst),
            src_inv: inv_geotransform(&to_gdal(&src)).unwrap(),
            reproject: None,
        }
    }

    #[test]
    fn same_grid_window() {
        let t = [10.0, 0.0, 0.0, 0.0, -10.0, 0.0];
        let m = affine_mapper(t, t);
        let w = compute_source_window(
            &m,
            PixelWindow::new(10, 20, 30, 40),
            1000,
            1000,
            1,
            false,
        )
        .unwrap();
        // Bilinear margin of one pixel on each side.
        assert_eq!(w.window, PixelWindow::new(9, 19, 32, 42));
        assert_eq!((w.raw_width, w.raw_height), (30.0, 40.0));
        let w = compute_source_window(
            &m,
            PixelWindow::new(10, 20, 30, 40),
            1000,
            1000,
            1,
            true,
        )
        .unwrap();
        assert_eq!(w.window, PixelWindow::new(10, 20, 30, 40));
        // Outside the source.
        assert!(
            compute_source_window(
                &m,
                PixelWindow::new(2000, 0, 10, 10),
                1000,
                1000,
                0,
                false
            )
            .is_none()
        );
        // Clipped at the source edge, and covering >90% of the width uses all of it.
        let w = compute_source_window(
            &m,
            PixelWindow::new(-5, 0, 20, 10),
            100,
            100,
            0,
            false,
        )
        .unwrap();
        assert_eq!(w.window, PixelWindow::new(0, 0, 15, 10));
        let w =
            compute_source_window(&m, PixelWindow::new(3, 0, 93, 10), 100, 100, 0, false)
                .unwrap();
        assert_eq!(w.window, PixelWindow::new(0, 0, 100, 10));
    }

    #[test]
    fn downsampling_window_and_scale() {
        let src = [10.0, 0.0, 0.0, 0.0, -10.0, 0.0];
        let dst = [20.0, 0.0, 0.0, 0.0, -20.0, 0.0];
        let m = affine_mapper(src, dst);
        let w = compute_source_window(
            &m,
            PixelWindow::new(10, 10, 50, 50),
            1000,
            1000,
            1,
            false,
        )
        .unwrap();
        // Scale 0.5 < 0.95: the margin grows to ceil(1 / 0.5) = 2 source pixels.
        assert_eq!(w.window, PixelWindow::new(18, 18, 104, 104));
        assert_eq!(kernel_scale(50, 104, w.raw_width), 0.5);
        assert_eq!(kernel_scale(50, 52, 50.0), 1.0);
        assert_eq!(kernel_scale(50, 150, 149.0), 1.0 / 3.0);
        assert!((kernel_scale(100, 110, 107.0) - 100.0 / 107.0).abs() < 1e-15);
    }
}
