//! Destination pixel → source pixel coordinates: the exact mapping (GDAL's
//! `GDALGenImgProjTransform`) and GDAL's linear approximation of it
//! (`GDALApproxTransform`), reproduced step for step so that the same points are
//! interpolated and the same ones are computed exactly.

use crate::crs::Transformer;
use crate::error::{Error, Result};
use crate::grid::{Grid, apply_gt, inv_geotransform, to_gdal};

/// Maps destination pixel coordinates (corner-based, so `+0.5` is a pixel centre) to
/// source pixel coordinates.
#[derive(Clone, Debug)]
pub(crate) struct Mapper {
    /// Destination pixel → destination CRS (GDAL order).
    pub dst_gt: [f64; 6],
    /// Source CRS → source pixel (GDAL order).
    pub src_inv: [f64; 6],
    /// Destination CRS → source CRS; `None` when both grids share a CRS.
    pub reproject: Option<Transformer>,
}

impl Mapper {
    /// The mapping from pixels of `dst` to pixels of `src`.
    pub fn new(src: &Grid, dst: &Grid) -> Result<Mapper> {
        let src_inv = inv_geotransform(&to_gdal(&src.transform)).ok_or_else(|| {
            Error::InvalidGrid(format!("transform {:?} is not invertible", src.transform))
        })?;
        let reproject = if src.crs == dst.crs {
            None
        } else {
            Some(Transformer::new(&dst.crs, &src.crs)?)
        };
        Ok(Mapper {
            dst_gt: to_gdal(&dst.transform),
            src_inv,
            reproject,
        })
    }

    /// Whether source x depends on destination x only, and y on y only (same CRS,
    /// no rotation or shear in either grid).
    pub fn is_separable(&self) -> bool {
        self.reproject.is_none()
            && self.dst_gt[2] == 0.0
            && self.dst_gt[4] == 0.0
            && self.src_inv[2] == 0.0
            && self.src_inv[4] == 0.0
    }

    /// The exact source pixel position of one destination pixel position.
    #[inline]
    pub fn exact_one(&self, px: f64, py: f64) -> Option<(f64, f64)> {
        let (gx, gy) = apply_gt(&self.dst_gt, px, py);
        let (sx, sy) = match &self.reproject {
            None => (gx, gy),
            Some(t) => t.transform_xy(gx, gy)?,
        };
        let (x, y) = apply_gt(&self.src_inv, sx, sy);
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }

    /// Map every point exactly; failed points get `ok = false` and NaN coordinates.
    pub fn exact(&self, xs: &mut [f64], ys: &mut [f64], ok: &mut [bool]) {
        if let Some(t) = &self.reproject
            && xs.len() > 1
        {
            // One proj4rs call for the whole run; per point only if some point fails.
            let mut pts: Vec<(f64, f64, f64)> = xs
                .iter()
                .zip(ys.iter())
                .map(|(&x, &y)| {
                    let (gx, gy) = apply_gt(&self.dst_gt, x, y);
                    (gx, gy, 0.0)
                })
                .collect();
            if pts.iter().all(|p| p.0.is_finite() && p.1.is_finite())
                && t.transform_batch(&mut pts)
            {
                for (((x, y), ok), p) in xs
                    .iter_mut()
                    .zip(ys.iter_mut())
                    .zip(ok.iter_mut())
                    .zip(&pts)
                {
                    let (a, b) = apply_gt(&self.src_inv, p.0, p.1);
                    *ok = a.is_finite() && b.is_finite();
                    (*x, *y) = if *ok { (a, b) } else { (f64::NAN, f64::NAN) };
                }
                return;
            }
        }
        for ((x, y), ok) in xs.iter_mut().zip(ys.iter_mut()).zip(ok.iter_mut()) {
            match self.exact_one(*x, *y) {
                Some((a, b)) => {
                    (*x, *y, *ok) = (a, b, true);
                }
                None => {
                    (*x, *y, *ok) = (f64::NAN, f64::NAN, false);
                }
            }
        }
    }

    /// GDAL's approximate transformer over one run of points (a destination row):
    /// transform the first, middle and last points exactly; if linear interpolation
    /// between first and last misses the middle by no more than `max_error` source
    /// pixels (|dx| + |dy|), interpolate every point, otherwise split the run in two
    /// and recurse. Runs of five points or fewer, runs that are not along one row,
    /// and `max_error == 0` are transformed exactly.
    pub fn approx(
        &self,
        max_error: f64,
        xs: &mut [f64],
        ys: &mut [f64],
        ok: &mut [bool],
    ) {
        let n = xs.len();
        if n == 0 {
            return;
        }
        let mid = (n - 1) / 2;
        if ys[0] != ys[n - 1]
            || ys[0] != ys[mid]
            || xs[0] == xs[n - 1]
            || xs[0] == xs[mid]
            || max_error == 0.0
            || n <= 5
        {
            self.exact(xs, ys, ok);
            return;
        }
        let sme = [
            self.exact_one(xs[0], ys[0]),
            self.exact_one(xs[mid], ys[mid]),
            self.exact_one(xs[n - 1], ys[n - 1]),
        ];
        match sme {
            [Some(s), Some(m), Some(e)] => {
                self.approx_internal(max_error, xs, ys, ok, [s, m, e])
            }
            _ => self.exact(xs, ys, ok),
        }
    }

    /// `GDALApproxTransformInternal`: `sme` holds the exact images of the start,
    /// middle and end points of the run.
    fn approx_internal(
        &self,
        max_error: f64,
        x: &mut [f64],
        y: &mut [f64],
        ok: &mut [bool],
        sme: [(f64, f64); 3],
    ) {
        let n = x.len();
        // Callers guarantee n > 5, hence mid >= 2.
        let mid = (n - 1) / 2;
        let span = x[n - 1] - x[0];
        let delta_x = (sme[2].0 - sme[0].0) / span;
        let delta_y = (sme[2].1 - sme[0].1) / span;
        let error = ((sme[0].0 + delta_x * (x[mid] - x[0])) - sme[1].0).abs()
            + ((sme[0].1 + delta_y * (x[mid] - x[0])) - sme[1].1).abs();

        if error > max_error {
            let ia = (mid - 1) / 2;
            let ib = mid - 1;
            let ic = mid + (n - mid - 1) / 2;
            let base_half1 = mid <= 5
                || y[0] != y[mid - 1]
                || y[0] != y[ia]
                || x[0] == x[mid - 1]
                || x[0] == x[ia];
            let base_half2 = n - mid <= 5
                || y[mid] != y[n - 1]
                || y[mid] != y[ic]
                || x[mid] == x[n - 1]
                || x[mid] == x[ic];

            // The exact images of the new middle and end points; `None` stands for a
            // failed transformation, and both halves computed exactly count as a
            // failure as in GDAL (the fallback below then does exactly that).
            let mut m: [Option<(f64, f64)>; 3] = [None; 3];
            let success = if !base_half1 && !base_half2 {
                m = [
                    self.exact_one(x[ia], y[ia]),
                    self.exact_one(x[ib], y[ib]),
                    self.exact_one(x[ic], y[ic]),
                ];
                m.iter().all(Option::is_some)
            } else if !base_half1 {
                m[0] = self.exact_one(x[ia], y[ia]);
                m[1] = self.exact_one(x[ib], y[ib]);
                m[0].is_some() && m[1].is_some()
            } else if !base_half2 {
                m[2] = self.exact_one(x[ic], y[ic]);
                m[2].is_some()
            } else {
                false
            };

            if !success {
                self.exact(&mut x[1..mid], &mut y[1..mid], &mut ok[1..mid]);
                self.exact(
                    &mut x[mid + 1..n - 1],
                    &mut y[mid + 1..n - 1],
                    &mut ok[mid + 1..n - 1],
                );
                for (i, s) in [(0, sme[0]), (mid, sme[1]), (n - 1, sme[2])] {
                    (x[i], y[i], ok[i]) = (s.0, s.1, true);
                }
                return;
            }

            match (base_half1, m[0], m[1]) {
                (false, Some(m0), Some(m1)) => self.approx_internal(
                    max_error,
                    &mut x[..mid],
                    &mut y[..mid],
                    &mut ok[..mid],
                    [sme[0], m0, m1],
                ),
                _ => {
                    self.exact(&mut x[1..mid], &mut y[1..mid], &mut ok[1..mid]);
                    (x[0], y[0], ok[0]) = (sme[0].0, sme[0].1, true);
                }
            }
            match (base_half2, m[2]) {
                (false, Some(m2)) => self.approx_internal(
                    max_error,
                    &mut x[mid..],
                    &mut y[mid..],
                    &mut ok[mid..],
                    [sme[1], m2, sme[2]],
                ),
                _ => {
                    self.exact(
                        &mut x[mid + 1..n - 1],
                        &mut y[mid + 1..n - 1],
                        &mut ok[mid + 1..n - 1],
                    );
                    (x[mid], y[mid], ok[mid]) = (sme[1].0, sme[1].1, true);
                    (x[n - 1], y[n - 1], ok[n - 1]) = (sme[2].0, sme[2].1, true);
                }
            }
            return;
        }

        // Interpolate, last point first so that x[0] is read until the end.
        for i in (0..n).rev() {
            let dist = x[i] - x[0];
            x[i] = sme[0].0 + delta_x * dist;
            y[i] = sme[0].1 + delta_y * dist;
            ok[i] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::Crs;
    use crate::grid::{inv_geotransform, to_gdal};

    fn mapper() -> Mapper {
        let src = to_gdal(&[10.0, 0.0, 600_000.0, 0.0, -10.0, 5_000_000.0]);
        Mapper {
            dst_gt: to_gdal(&[10.0, 0.0, 360_000.0, 0.0, -10.0, 5_000_000.0]),
            src_inv: inv_geotransform(&src).unwrap(),
            reproject: Some(
                Transformer::new(
                    &Crs::from_epsg(32634).unwrap(),
                    &Crs::from_epsg(32633).unwrap(),
                )
                .unwrap(),
            ),
        }
    }

    fn row(n: usize) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        (
            (0..n).map(|i| i as f64 + 0.5).collect(),
            vec![0.5; n],
            vec![false; n],
        )
    }

    #[test]
    fn approx_stays_within_threshold() {
        let m = mapper();
        for n in [1, 5, 6, 7, 64, 511, 512, 4000] {
            let (mut ex, mut ey, mut eok) = row(n);
            m.exact(&mut ex, &mut ey, &mut eok);
            for t in [0.0, 0.01, 0.125, 1.0] {
                let (mut ax, mut ay, mut aok) = row(n);
                m.approx(t, &mut ax, &mut ay, &mut aok);
                assert!(aok.iter().all(|&b| b));
                for i in 0..n {
                    let err = (ax[i] - ex[i]).abs() + (ay[i] - ey[i]).abs();
                    // GDAL bounds the error at the tested middle points only; on a
                    // smooth mapping the rest stays within a small multiple of it.
                    assert!(err <= 2.0 * t + 1e-9, "n={n} t={t} i={i} err={err}");
                    if t == 0.0 {
                        assert_eq!((ax[i], ay[i]), (ex[i], ey[i]));
                    }
                }
            }
        }
    }

    #[test]
    fn failed_points_are_flagged() {
        // Destination pixels north of the pole cannot be projected.
        let mut m = mapper();
        m.dst_gt = to_gdal(&[0.1, 0.0, 10.0, 0.0, -0.1, 100.0]);
        m.reproject = Some(
            Transformer::new(&Crs::wgs84(), &Crs::from_epsg(32633).unwrap()).unwrap(),
        );
        let (mut x, mut y, mut ok) = row(64);
        m.approx(0.125, &mut x, &mut y, &mut ok);
        assert!(ok.iter().all(|&b| !b));
        assert!(x.iter().all(|v| v.is_nan()));
    }
}
