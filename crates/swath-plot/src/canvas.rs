//! A downsampled mosaic filled block by block, then stretched into an [`Image`].

use crate::error::{Result, check_range, invalid};
use crate::image::{Image, MAX_SIDE};
use crate::stretch::{Stretch, level};

/// The largest full-raster width or height a [`Canvas`] accepts (2^30 pixels).
pub const MAX_FULL_SIDE: u64 = 1 << 30;

/// A nearest-neighbour downsample of a raster, filled block by block in any order.
///
/// The raster of `full_width × full_height` pixels is sampled every `stride` pixels in
/// both directions, `stride = ⌈max(full_width, full_height) / max_size⌉`: output cell
/// `(ox, oy)` holds full pixel `(ox × stride, oy × stride)`, and the output is
/// `⌈full_width / stride⌉ × ⌈full_height / stride⌉`. Memory is that of the output
/// (at most `bands × max_size²` floats), never that of the full raster.
///
/// Cells no block has covered stay NaN (missing, transparent once rendered).
#[derive(Debug, Clone)]
pub struct Canvas {
    full: (u64, u64),
    stride: u64,
    width: u32,
    height: u32,
    /// One plane of `width × height` values per band, row-major.
    planes: Vec<Vec<f32>>,
}

impl Canvas {
    /// A canvas for a raster of `full_width × full_height` pixels with `bands` bands
    /// (1 for grey, 3 for RGB) whose longest output side is at most `max_size`
    /// (1..=8192).
    pub fn new(
        full_width: u64,
        full_height: u64,
        bands: usize,
        max_size: u32,
    ) -> Result<Self> {
        if bands != 1 && bands != 3 {
            return Err(invalid!(
                "a quicklook has 1 (grey) or 3 (RGB) bands, not {bands}"
            ));
        }
        check_range("raster width", full_width, 1, MAX_FULL_SIDE)?;
        check_range("raster height", full_height, 1, MAX_FULL_SIDE)?;
        check_range(
            "quicklook size",
            u64::from(max_size),
            1,
            u64::from(MAX_SIDE),
        )?;
        let stride = full_width.max(full_height).div_ceil(u64::from(max_size));
        // Both at most max_size, so within u32.
        let width = full_width.div_ceil(stride) as u32;
        let height = full_height.div_ceil(stride) as u32;
        let cells = width as usize * height as usize;
        Ok(Canvas {
            full: (full_width, full_height),
            stride,
            width,
            height,
            planes: vec![vec![f32::NAN; cells]; bands],
        })
    }

    /// Output width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Output height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Full-raster pixels per output pixel along each axis.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// Number of bands (1 or 3).
    pub fn bands(&self) -> usize {
        self.planes.len()
    }

    /// The value of `band` at output cell `(x, y)` (None outside the canvas).
    pub fn get(&self, band: usize, x: u32, y: u32) -> Option<f32> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let plane = self.planes.get(band)?;
        plane
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }

    /// Paste a block of `w × h` full-raster pixels whose top-left pixel is `(x0, y0)`:
    /// one row-major slice of `w × h` values per band, NaN for missing values.
    ///
    /// Only the pixels that fall on the sampling grid are kept; parts of the block
    /// outside the raster are ignored, so blocks may overhang its edges.
    pub fn put(
        &mut self,
        x0: i64,
        y0: i64,
        w: usize,
        h: usize,
        bands: &[&[f32]],
    ) -> Result<()> {
        if bands.len() != self.planes.len() {
            return Err(invalid!(
                "the canvas has {} bands, the block {}",
                self.planes.len(),
                bands.len()
            ));
        }
        let n = w
            .checked_mul(h)
            .ok_or_else(|| invalid!("block {w}×{h} is too large"))?;
        if let Some(b) = bands.iter().position(|b| b.len() != n) {
            return Err(invalid!(
                "block {w}×{h} needs {n} values per band, band {b} has {}",
                bands[b].len()
            ));
        }
        let Some(cols) = self.cells(x0, w, self.full.0) else {
            return Ok(());
        };
        let Some(rows) = self.cells(y0, h, self.full.1) else {
            return Ok(());
        };
        let stride = self.stride as i128;
        let out_w = self.width as usize;
        for (plane, src) in self.planes.iter_mut().zip(bands) {
            for oy in rows.clone() {
                // Within the block by construction of `rows` and `cols`.
                let sy = (oy as i128 * stride - i128::from(y0)) as usize;
                for ox in cols.clone() {
                    let sx = (ox as i128 * stride - i128::from(x0)) as usize;
                    plane[oy as usize * out_w + ox as usize] = src[sy * w + sx];
                }
            }
        }
        Ok(())
    }

    /// The output cells whose sample lies in `start..start+len` and inside `0..full`.
    fn cells(&self, start: i64, len: usize, full: u64) -> Option<std::ops::Range<u64>> {
        let lo = i128::from(start).max(0);
        let hi = (i128::from(start) + len as i128).min(i128::from(full));
        if lo >= hi {
            return None;
        }
        let stride = i128::from(self.stride);
        // First multiple of stride at or after lo, last one before hi.
        let first = (lo + stride - 1) / stride;
        let end = (hi - 1) / stride + 1;
        (first < end).then_some(first as u64..end as u64)
    }

    /// Stretch each band to 0..=255 with `stretch` and make an RGBA image.
    ///
    /// A cell is valid when every band has a finite value there; it is opaque, the
    /// others transparent black (alpha 0). Each band's bounds are computed over the
    /// valid cells only (what the image shows), independently of the other bands; see
    /// [`Stretch`] for the rounding and for constant bands. A grey band gives
    /// R = G = B. Without any valid cell the whole image is transparent.
    pub fn render(&self, stretch: &Stretch) -> Result<Image> {
        stretch.validate()?;
        let cells = self.width as usize * self.height as usize;
        let valid: Vec<bool> = (0..cells)
            .map(|i| self.planes.iter().all(|p| p[i].is_finite()))
            .collect();
        let mut bounds = Vec::with_capacity(self.planes.len());
        for plane in &self.planes {
            let mut values: Vec<f32> = plane
                .iter()
                .zip(&valid)
                .filter_map(|(&v, &ok)| ok.then_some(v))
                .collect();
            bounds.push(stretch.bounds(&mut values));
        }
        let mut rgba = vec![0u8; cells * 4];
        if bounds.iter().any(Option::is_none) {
            return Ok(Image {
                width: self.width,
                height: self.height,
                rgba,
            });
        }
        let bounds: Vec<(f64, f64)> = bounds.into_iter().flatten().collect();
        for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
            if !valid[i] {
                continue;
            }
            let mut lv = [0u8; 3];
            for (c, out) in lv.iter_mut().enumerate() {
                let b = c.min(self.planes.len() - 1);
                let (low, high) = bounds[b];
                *out = level(f64::from(self.planes[b][i]), low, high);
            }
            px.copy_from_slice(&[lv[0], lv[1], lv[2], 255]);
        }
        Ok(Image {
            width: self.width,
            height: self.height,
            rgba,
        })
    }
}
