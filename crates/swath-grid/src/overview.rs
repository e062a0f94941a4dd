//! Choosing the overview level to read for a coarser target, as gdalwarp does.

use crate::error::Result;
use crate::grid::Grid;
use crate::warp::mapper::Mapper;

/// The overview level gdalwarp reads for a target of resolution `target_res` on a
/// source of resolution `full_res` (same CRS, or resolutions already expressed in
/// one unit): [`overview_level_for_ratio`] of `target_res / full_res`.
///
/// Between different CRSs gdalwarp does not compare resolutions but measures how
/// many source pixels a destination pixel spans, rotation included; use
/// [`gdalwarp_overview_ratio`] for that.
pub fn overview_level(full_res: f64, overview_factors: &[f64], target_res: f64) -> usize {
    if !(full_res.is_finite() && full_res > 0.0) {
        return 0;
    }
    overview_level_for_ratio(target_res / full_res, overview_factors)
}

/// The overview level gdalwarp (`-ovr AUTO`, GDAL 3.10) reads when a destination
/// pixel spans `ratio` source pixels: `0` is the full resolution, `k` the `k`-th
/// overview, whose decimation factor (full-resolution width / overview width) is
/// `overview_factors[k - 1]`; factors are in increasing order, as overviews are
/// stored.
///
/// The rule: nothing is done unless `ratio > 1`; otherwise walk the levels from full
/// resolution and stop at the first whose factor is below `ratio` while the next
/// level's factor is above it, or whose factor is within 0.1 of `ratio`; if none
/// stops the walk, the last overview is used. The chosen level is thus never coarser
/// than the target: with ×2 and ×4 overviews, ratios 2.0, 3.0 and 3.95 read ×2,
/// 1.99 reads the full resolution and 4.1 reads ×4.
///
/// A non-finite ratio gives `0`.
pub fn overview_level_for_ratio(ratio: f64, overview_factors: &[f64]) -> usize {
    if !(ratio.is_finite() && ratio > 1.0) || overview_factors.is_empty() {
        return 0;
    }
    let factor = |level: usize| {
        if level == 0 {
            1.0
        } else {
            overview_factors[level - 1]
        }
    };
    // `level` is GDAL's `iOvr + 1`: 0 = full resolution.
    let mut level = 0;
    while level < overview_factors.len() {
        let here = factor(level);
        let next = factor(level + 1);
        if here < ratio && next > ratio {
            break;
        }
        if (here - ratio).abs() < 0.1 {
            break;
        }
        level += 1;
    }
    level
}

/// How many source pixels a pixel of `dst` spans, measured as gdalwarp does for an
/// existing destination: a 10 × 10 grid of pixel corners spread over `dst` is mapped
/// into `src`, and the ratio is the smaller of (source x extent / destination width)
/// and (source y extent / destination height). A destination rotated against the
/// source thus counts as coarser than its resolution alone says. `None` when no
/// point maps. Feed it to [`overview_level_for_ratio`].
pub fn gdalwarp_overview_ratio(src: &Grid, dst: &Grid) -> Result<Option<f64>> {
    src.validate()?;
    dst.validate()?;
    let mapper = Mapper::new(src, dst)?;
    const N: u32 = 10;
    let (w, h) = (dst.width as f64, dst.height as f64);
    let (mut min_x, mut max_x) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut min_y, mut max_y) = (f64::INFINITY, f64::NEG_INFINITY);
    for ix in 0..N {
        for iy in 0..N {
            let px = w * f64::from(ix) / f64::from(N - 1);
            let py = h * f64::from(iy) / f64::from(N - 1);
            if let Some((x, y)) = mapper.exact_one(px, py) {
                min_x = min_x.min(x);
                max_x = max_x.max(x);
                min_y = min_y.min(y);
                max_y = max_y.max(y);
            }
        }
    }
    if !min_x.is_finite() {
        return Ok(None);
    }
    let rx = if max_x > min_x {
        (max_x - min_x) / w
    } else {
        0.0
    };
    let ry = if max_y > min_y {
        (max_y - min_y) / h
    } else {
        0.0
    };
    Ok(Some(rx.min(ry)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::Crs;

    #[test]
    fn gdalwarp_rule() {
        let f = [2.0, 4.0, 8.0];
        assert_eq!(overview_level(10.0, &f, 10.0), 0);
        assert_eq!(overview_level(10.0, &f, 5.0), 0);
        assert_eq!(overview_level(10.0, &f, 15.0), 0);
        assert_eq!(overview_level(10.0, &f, 19.95), 0);
        assert_eq!(overview_level(10.0, &f, 20.0), 1);
        assert_eq!(overview_level(10.0, &f, 20.5), 1);
        assert_eq!(overview_level(10.0, &f, 30.0), 1);
        assert_eq!(overview_level(10.0, &f, 39.5), 1);
        assert_eq!(overview_level(10.0, &f, 41.0), 2);
        assert_eq!(overview_level(10.0, &f, 80.0), 3);
        assert_eq!(overview_level(10.0, &f, 1000.0), 3);
        assert_eq!(overview_level(10.0, &[], 1000.0), 0);
        assert_eq!(overview_level(0.0, &f, 1000.0), 0);
        assert_eq!(overview_level(10.0, &f, f64::NAN), 0);
        assert_eq!(overview_level_for_ratio(2.05, &f), 1);
    }

    #[test]
    fn ratio_of_aligned_and_rotated_grids() {
        let utm33 = Crs::from_epsg(32633).unwrap();
        let src = Grid::new(utm33.clone(), [10.0, 0.0, 0.0, 0.0, -10.0, 0.0], 100, 100)
            .unwrap();
        let dst = Grid::new(utm33, [30.0, 0.0, 0.0, 0.0, -30.0, 0.0], 10, 10).unwrap();
        let r = gdalwarp_overview_ratio(&src, &dst).unwrap().unwrap();
        assert!((r - 3.0).abs() < 1e-12, "{r}");
        // A grid rotated by 45° spans √2 more source pixels per pixel.
        let c = std::f64::consts::FRAC_1_SQRT_2 * 30.0;
        let rotated = Grid {
            transform: [c, c, 0.0, c, -c, 0.0],
            ..dst
        };
        let r = gdalwarp_overview_ratio(&src, &rotated).unwrap().unwrap();
        assert!((r - 3.0 * 2.0_f64.sqrt()).abs() < 1e-9, "{r}");
    }
}
