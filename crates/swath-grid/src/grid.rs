//! Grids (CRS + affine transform + size), pixel windows and footprints.

use geo_types::{Coord, LineString, Polygon};

use crate::crs::{Crs, Transformer};
use crate::error::{Error, Result};

/// An affine transform in rasterio order `[a, b, c, d, e, f]`:
/// `x = c + a*col + b*row`, `y = f + d*col + e*row`, where `(col, row)` is the
/// top-left corner of a pixel (pixel-is-area).
pub type Transform = [f64; 6];

/// GDAL's geotransform order `[c, a, b, f, d, e]` of a rasterio-order transform.
pub(crate) fn to_gdal(t: &Transform) -> [f64; 6] {
    [t[2], t[0], t[1], t[5], t[3], t[4]]
}

/// The inverse of a GDAL-order geotransform, computed as `GDALInvGeoTransform` does
/// (exact reciprocals for north-up transforms); `None` when it is not invertible.
pub(crate) fn inv_geotransform(gt: &[f64; 6]) -> Option<[f64; 6]> {
    if gt[2] == 0.0 && gt[4] == 0.0 && gt[1] != 0.0 && gt[5] != 0.0 {
        return Some([
            -gt[0] / gt[1],
            1.0 / gt[1],
            0.0,
            -gt[3] / gt[5],
            0.0,
            1.0 / gt[5],
        ]);
    }
    let det = gt[1] * gt[5] - gt[2] * gt[4];
    let magnitude = gt[1]
        .abs()
        .max(gt[2].abs())
        .max(gt[4].abs().max(gt[5].abs()));
    if det.is_nan() || det.abs() <= 1e-10 * magnitude * magnitude {
        return None;
    }
    let inv_det = 1.0 / det;
    Some([
        (gt[2] * gt[3] - gt[0] * gt[5]) * inv_det,
        gt[5] * inv_det,
        -gt[2] * inv_det,
        (-gt[1] * gt[3] + gt[0] * gt[4]) * inv_det,
        -gt[4] * inv_det,
        gt[1] * inv_det,
    ])
}

/// Apply a GDAL-order geotransform as `GDALApplyGeoTransform` does.
#[inline]
pub(crate) fn apply_gt(gt: &[f64; 6], px: f64, py: f64) -> (f64, f64) {
    (
        gt[0] + px * gt[1] + py * gt[2],
        gt[3] + px * gt[4] + py * gt[5],
    )
}

/// A raster grid: where each pixel of a `width` × `height` raster lies in `crs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// The coordinate reference system of the transform's output.
    pub crs: Crs,
    /// Pixel corner to CRS coordinates (rasterio order).
    pub transform: Transform,
    /// Number of columns.
    pub width: u64,
    /// Number of rows.
    pub height: u64,
}

impl Grid {
    /// A grid, checked: the transform must be finite and invertible and the size
    /// non-zero and below 2³¹ pixels per side.
    pub fn new(crs: Crs, transform: Transform, width: u64, height: u64) -> Result<Grid> {
        let grid = Grid {
            crs,
            transform,
            width,
            height,
        };
        grid.validate()?;
        Ok(grid)
    }

    /// Check the invariants [`Grid::new`] enforces (the fields are public).
    pub fn validate(&self) -> Result<()> {
        if !self.transform.iter().all(|v| v.is_finite()) {
            return Err(Error::InvalidGrid(format!(
                "transform {:?} is not finite",
                self.transform
            )));
        }
        if inv_geotransform(&to_gdal(&self.transform)).is_none() {
            return Err(Error::InvalidGrid(format!(
                "transform {:?} is not invertible",
                self.transform
            )));
        }
        const MAX_SIDE: u64 = i32::MAX as u64;
        if self.width == 0
            || self.height == 0
            || self.width > MAX_SIDE
            || self.height > MAX_SIDE
        {
            return Err(Error::InvalidGrid(format!(
                "size {}×{} must be between 1 and {MAX_SIDE} per side",
                self.width, self.height
            )));
        }
        Ok(())
    }

    /// Pixel size `(x, y)` in CRS units, both positive (the length of one column and
    /// one row step, so rotated grids are handled).
    pub fn resolution(&self) -> (f64, f64) {
        let [a, b, _, d, e, _] = self.transform;
        (a.hypot(d), b.hypot(e))
    }

    /// The CRS coordinates of the pixel-space point `(col, row)` (corner-based, so
    /// `(0.5, 0.5)` is the centre of the first pixel).
    pub fn pixel_to_xy(&self, col: f64, row: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.transform;
        (c + a * col + b * row, f + d * col + e * row)
    }

    /// The pixel-space position `(col, row)` of CRS coordinates; `None` if the
    /// transform is not invertible.
    pub fn xy_to_pixel(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let inv = inv_geotransform(&to_gdal(&self.transform))?;
        Some(apply_gt(&inv, x, y))
    }

    /// The CRS coordinates of the centre of pixel `(col, row)`.
    pub fn pixel_center(&self, col: i64, row: i64) -> (f64, f64) {
        self.pixel_to_xy(col as f64 + 0.5, row as f64 + 0.5)
    }

    /// The bounding box `[minx, miny, maxx, maxy]` of the whole grid in its CRS.
    pub fn bounds(&self) -> [f64; 4] {
        self.window_bounds(self.full_window())
    }

    /// The bounding box `[minx, miny, maxx, maxy]` of a window in the grid's CRS
    /// (the window may extend beyond the grid).
    pub fn window_bounds(&self, w: PixelWindow) -> [f64; 4] {
        let (c0, r0) = (w.col as f64, w.row as f64);
        let (c1, r1) = (c0 + w.width as f64, r0 + w.height as f64);
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (c, r) in [(c0, r0), (c1, r0), (c1, r1), (c0, r1)] {
            let (x, y) = self.pixel_to_xy(c, r);
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        }
        b
    }

    /// The window covering the whole grid.
    pub fn full_window(&self) -> PixelWindow {
        PixelWindow::new(0, 0, self.width, self.height)
    }
}

/// A rectangle of pixels on a grid; it may extend beyond the grid (negative offsets,
/// sizes past the edge), as edge chunks of a datacube do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PixelWindow {
    /// First column (may be negative).
    pub col: i64,
    /// First row (may be negative).
    pub row: i64,
    /// Number of columns.
    pub width: u64,
    /// Number of rows.
    pub height: u64,
}

impl PixelWindow {
    /// A window of `width` × `height` pixels whose top-left pixel is `(col, row)`.
    pub fn new(col: i64, row: i64, width: u64, height: u64) -> PixelWindow {
        PixelWindow {
            col,
            row,
            width,
            height,
        }
    }

    /// Whether the window has no pixels.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// The number of pixels, when it fits a `usize`.
    pub fn pixel_count(&self) -> Option<usize> {
        usize::try_from(self.width)
            .ok()?
            .checked_mul(usize::try_from(self.height).ok()?)
    }

    /// One past the last column (exact, no overflow).
    pub fn end_col(&self) -> i128 {
        i128::from(self.col) + i128::from(self.width)
    }

    /// One past the last row (exact, no overflow).
    pub fn end_row(&self) -> i128 {
        i128::from(self.row) + i128::from(self.height)
    }

    /// Whether pixel `(col, row)` is inside the window.
    pub fn contains(&self, col: i64, row: i64) -> bool {
        col >= self.col
            && row >= self.row
            && i128::from(col) < self.end_col()
            && i128::from(row) < self.end_row()
    }

    /// The pixels common to both windows; `None` when they do not overlap.
    pub fn intersect(&self, other: &PixelWindow) -> Option<PixelWindow> {
        let c0 = self.col.max(other.col);
        let r0 = self.row.max(other.row);
        let c1 = self.end_col().min(other.end_col());
        let r1 = self.end_row().min(other.end_row());
        if c1 <= i128::from(c0) || r1 <= i128::from(r0) {
            return None;
        }
        Some(PixelWindow {
            col: c0,
            row: r0,
            width: u64::try_from(c1 - i128::from(c0)).ok()?,
            height: u64::try_from(r1 - i128::from(r0)).ok()?,
        })
    }

    /// The part of the window inside `grid`; `None` when it lies outside.
    pub fn clip(&self, grid: &Grid) -> Option<PixelWindow> {
        self.intersect(&grid.full_window())
    }

    /// The window moved by `(dcol, drow)`; `None` on overflow.
    pub fn offset(&self, dcol: i64, drow: i64) -> Option<PixelWindow> {
        Some(PixelWindow {
            col: self.col.checked_add(dcol)?,
            row: self.row.checked_add(drow)?,
            ..*self
        })
    }
}

/// The outline of `window` on `grid` as a WGS84 longitude/latitude polygon, with
/// `densify` extra points on each edge between the corners (so curved edges of a
/// reprojected window stay close to the truth). The ring runs counter-clockwise for a
/// north-up grid and is closed.
pub fn footprint_lonlat(
    grid: &Grid,
    window: PixelWindow,
    densify: usize,
) -> Result<Polygon<f64>> {
    if window.is_empty() {
        return Err(Error::InvalidWindow(format!("window {window:?} is empty")));
    }
    if densify > 100_000 {
        return Err(Error::Misuse(format!(
            "densify {densify} is unreasonably large"
        )));
    }
    let to_ll = Transformer::new(&grid.crs, &Crs::wgs84())?;
    let (c0, r0) = (window.col as f64, window.row as f64);
    let (c1, r1) = (c0 + window.width as f64, r0 + window.height as f64);
    // Top-left, bottom-left, bottom-right, top-right: counter-clockwise on the map.
    let corners = [(c0, r0), (c0, r1), (c1, r1), (c1, r0)];
    let steps = densify + 1;
    let mut coords = Vec::with_capacity(4 * steps + 1);
    for k in 0..4 {
        let (pc0, pr0) = corners[k];
        let (pc1, pr1) = corners[(k + 1) % 4];
        for i in 0..steps {
            let t = i as f64 / steps as f64;
            let (x, y) = grid.pixel_to_xy(pc0 + (pc1 - pc0) * t, pr0 + (pr1 - pr0) * t);
            let (lon, lat) = to_ll.transform_xy(x, y).ok_or_else(|| {
                Error::Projection(format!(
                    "the footprint point ({x}, {y}) of window {window:?} cannot be \
                     transformed from {} to WGS84",
                    grid.crs
                ))
            })?;
            coords.push(Coord { x: lon, y: lat });
        }
    }
    if let Some(&first) = coords.first() {
        coords.push(first);
    }
    Ok(Polygon::new(LineString::new(coords), vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utm_grid() -> Grid {
        Grid::new(
            Crs::from_epsg(32633).unwrap(),
            [10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0],
            100,
            50,
        )
        .unwrap()
    }

    #[test]
    fn grid_geometry() {
        let g = utm_grid();
        assert_eq!(g.resolution(), (10.0, 10.0));
        assert_eq!(g.bounds(), [500_000.0, 4_999_500.0, 501_000.0, 5_000_000.0]);
        assert_eq!(g.pixel_center(0, 0), (500_005.0, 4_999_995.0));
        assert_eq!(g.pixel_center(-1, 2), (499_995.0, 4_999_975.0));
        assert_eq!(g.xy_to_pixel(500_015.0, 4_999_985.0), Some((1.5, 1.5)));
    }

    #[test]
    fn grid_rejects_bad_transforms() {
        let crs = Crs::from_epsg(32633).unwrap();
        assert!(Grid::new(crs.clone(), [0.0, 0.0, 0.0, 0.0, -10.0, 0.0], 1, 1).is_err());
        assert!(
            Grid::new(crs.clone(), [10.0, 0.0, f64::NAN, 0.0, -10.0, 0.0], 1, 1).is_err()
        );
        assert!(Grid::new(crs.clone(), [10.0, 0.0, 0.0, 0.0, -10.0, 0.0], 0, 1).is_err());
        assert!(Grid::new(crs, [10.0, 0.0, 0.0, 0.0, -10.0, 0.0], 1 << 40, 1).is_err());
    }

    #[test]
    fn windows() {
        let g = utm_grid();
        let w = PixelWindow::new(-10, 40, 30, 30);
        assert_eq!(w.clip(&g), Some(PixelWindow::new(0, 40, 20, 10)));
        assert_eq!(PixelWindow::new(100, 0, 5, 5).clip(&g), None);
        assert_eq!(PixelWindow::new(0, 0, 0, 5).clip(&g), None);
        assert!(w.contains(-10, 69) && !w.contains(20, 40));
        let a = PixelWindow::new(i64::MAX - 1, 0, u64::MAX, 1);
        assert_eq!(a.end_col(), i128::from(i64::MAX) - 1 + i128::from(u64::MAX));
        assert_eq!(a.intersect(&PixelWindow::new(0, 0, 1, 1)), None);
        assert_eq!(PixelWindow::new(1, 0, 1, 1).offset(i64::MAX, 0), None);
        assert_eq!(w.pixel_count(), Some(900));
    }

    #[test]
    fn footprint_is_closed_and_ccw() {
        let g = utm_grid();
        let p = footprint_lonlat(&g, PixelWindow::new(0, 0, 100, 50), 3).unwrap();
        let ring = &p.exterior().0;
        assert_eq!(ring.len(), 4 * 4 + 1);
        assert_eq!(ring.first(), ring.last());
        // Signed area (shoelace) is positive for counter-clockwise rings.
        let area: f64 = ring
            .windows(2)
            .map(|s| s[0].x * s[1].y - s[1].x * s[0].y)
            .sum();
        assert!(area > 0.0);
        // The top-left corner is on the central meridian of zone 33.
        assert!((ring[0].x - 15.0).abs() < 1e-9, "{:?}", ring[0]);
        assert!(footprint_lonlat(&g, PixelWindow::new(0, 0, 0, 1), 0).is_err());
    }

    #[test]
    fn inverse_geotransform() {
        let gt = [100.0, 2.0, 0.5, 200.0, 0.25, -3.0];
        let inv = inv_geotransform(&gt).unwrap();
        let (x, y) = apply_gt(&gt, 7.0, 11.0);
        let (c, r) = apply_gt(&inv, x, y);
        assert!((c - 7.0).abs() < 1e-12 && (r - 11.0).abs() < 1e-12);
        assert!(inv_geotransform(&[0.0, 1.0, 2.0, 0.0, 2.0, 4.0]).is_none());
    }
}
