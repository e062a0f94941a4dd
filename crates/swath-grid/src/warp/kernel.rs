//! GDAL's warp kernels (`gdalwarpkernel.cpp`, GDAL 3.10) for one source window held
//! in memory: validity, the 4-sample bilinear formula and the general (scaled)
//! bilinear filter used when downsampling.

use crate::sample::Sample;

/// A source window in memory, row-major, with its nodata value.
pub(crate) struct SrcView<'a, T> {
    pub data: &'a [T],
    pub width: usize,
    pub height: usize,
    pub nodata: Option<T>,
}

impl<T: Sample> SrcView<'_, T> {
    /// Whether a value is valid: not the nodata value and not NaN.
    #[inline]
    pub fn valid(&self, v: T) -> bool {
        !v.is_nan() && self.nodata.is_none_or(|nd| v != nd)
    }

    /// The value at window pixel `(c, r)` when it is inside the window and valid.
    #[inline]
    pub fn get(&self, c: i64, r: i64) -> Option<f64> {
        if c < 0 || r < 0 || c >= self.width as i64 || r >= self.height as i64 {
            return None;
        }
        let v = *self.data.get(r as usize * self.width + c as usize)?;
        self.valid(v).then(|| v.to_f64())
    }
}

/// GDAL's bilinear filter weight.
#[inline]
fn bilinear_weight(x: f64) -> f64 {
    let a = x.abs();
    if a <= 1.0 { 1.0 - a } else { 0.0 }
}

/// `GWKBilinearResample4Sample`: bilinear interpolation at window position
/// `(sx, sy)` (pixel corners at integers) over the four nearest pixel centres; invalid
/// or out-of-window neighbours are dropped and the weights of the others renormalised.
/// `None` when the valid weight is below 1e-5.
pub(crate) fn bilinear4<T: Sample>(
    src: &SrcView<'_, T>,
    sx: f64,
    sy: f64,
) -> Option<f64> {
    let mut isx = (sx - 0.5).floor() as i64;
    let mut isy = (sy - 0.5).floor() as i64;
    let mut rx = 1.5 - (sx - isx as f64);
    let mut ry = 1.5 - (sy - isy as f64);
    if isx == -1 {
        isx = 0;
        rx = 1.0;
    }
    if isy == -1 {
        isy = 0;
        ry = 1.0;
    }
    let h = src.height as i64;
    let mut divisor = 0.0;
    let mut acc = 0.0;
    if isy >= 0 && isy < h {
        let m1 = rx * ry;
        let m2 = (1.0 - rx) * ry;
        if let Some(v) = src.get(isx, isy) {
            divisor += m1;
            acc += v * m1;
        }
        if let Some(v) = src.get(isx + 1, isy) {
            divisor += m2;
            acc += v * m2;
        }
    }
    if isy + 1 >= 0 && isy + 1 < h {
        let m1 = rx * (1.0 - ry);
        let m2 = (1.0 - rx) * (1.0 - ry);
        if let Some(v) = src.get(isx, isy + 1) {
            divisor += m1;
            acc += v * m1;
        }
        if let Some(v) = src.get(isx + 1, isy + 1) {
            divisor += m2;
            acc += v * m2;
        }
    }
    if divisor == 1.0 {
        Some(acc)
    } else if divisor < 0.00001 {
        None
    } else {
        Some(acc / divisor)
    }
}

/// The filter set-up of `GWKResample` for bilinear.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Filter {
    /// Destination pixels per source pixel along x (below 1 when downsampling).
    pub scale_x: f64,
    /// Same along y.
    pub scale_y: f64,
    /// Kernel half-width in source pixels along x.
    pub radius_x: i64,
    /// Same along y.
    pub radius_y: i64,
}

impl Filter {
    /// GDAL's set-up from the kernel scales (bilinear's filter radius is 1).
    pub fn bilinear(scale_x: f64, scale_y: f64) -> Filter {
        let radius = |s: f64| if s < 1.0 { (1.0 / s).ceil() as i64 } else { 1 };
        Filter {
            scale_x,
            scale_y,
            radius_x: radius(scale_x),
            radius_y: radius(scale_y),
        }
    }

    /// Whether GDAL 3.10 uses the 4-sample formula (both scales >= 0.95).
    pub fn four_sample(&self) -> bool {
        self.scale_x >= 0.95 && self.scale_y >= 0.95
    }
}

/// `GWKResample` with the bilinear filter: a separable triangle filter stretched by
/// 1/scale when downsampling, over the valid pixels within the radius, weights
/// renormalised. `None` when the valid weight is below 1e-6.
pub(crate) fn bilinear_general<T: Sample>(
    src: &SrcView<'_, T>,
    f: &Filter,
    sx: f64,
    sy: f64,
) -> Option<f64> {
    let isx = (sx - 0.5).floor() as i64;
    let isy = (sy - 0.5).floor() as i64;
    let dx = sx - 0.5 - isx as f64;
    let dy = sy - 0.5 - isy as f64;
    let (w, h) = (src.width as i64, src.height as i64);
    let mut j = -f.radius_y;
    let mut j_max = f.radius_y;
    if isy + j < 0 {
        j = -isy;
    }
    if isy + j_max >= h {
        j_max = h - isy - 1;
    }
    let mut i_min = -f.radius_x;
    let mut i_max = f.radius_x;
    if isx + i_min < 0 {
        i_min = -isx;
    }
    if isx + i_max >= w {
        i_max = w - isx - 1;
    }
    let weight_x = |i: i64| {
        if f.scale_x < 1.0 {
            bilinear_weight((i as f64 - dx) * f.scale_x)
        } else {
            bilinear_weight(i as f64 - dx)
        }
    };
    let mut acc = 0.0;
    let mut acc_weight = 0.0;
    while j <= j_max {
        let w1 = if f.scale_y < 1.0 {
            bilinear_weight((j as f64 - dy) * f.scale_y)
        } else {
            bilinear_weight(j as f64 - dy)
        };
        let mut row_acc = 0.0;
        let mut row_weight = 0.0;
        for i in i_min..=i_max {
            if let Some(v) = src.get(isx + i, isy + j) {
                let w2 = weight_x(i);
                row_acc += v * w2;
                row_weight += w2;
            }
        }
        acc += row_acc * w1;
        acc_weight += row_weight * w1;
        j += 1;
    }
    if acc_weight < 0.000001 {
        None
    } else if !(0.99999..=1.00001).contains(&acc_weight) {
        Some(acc / acc_weight)
    } else {
        Some(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(data: &[u16], width: usize, nodata: Option<u16>) -> SrcView<'_, u16> {
        SrcView {
            data,
            width,
            height: data.len() / width,
            nodata,
        }
    }

    #[test]
    fn bilinear4_on_a_ramp() {
        // 2×2 ramp: 0 10 / 20 30.
        let src = [0_u16, 10, 20, 30];
        let v = view(&src, 2, None);
        // At the centre of the window all four pixels weigh 1/4.
        assert_eq!(bilinear4(&v, 1.0, 1.0), Some(15.0));
        // At a pixel centre the pixel itself.
        assert_eq!(bilinear4(&v, 0.5, 0.5), Some(0.0));
        assert_eq!(bilinear4(&v, 1.5, 1.5), Some(30.0));
        // A quarter of the way: x weights 0.75/0.25, y 0.5/0.5.
        assert_eq!(
            bilinear4(&v, 0.75, 1.0),
            Some(0.25 * 10.0 * 0.5 + 0.75 * 20.0 * 0.5 + 0.25 * 30.0 * 0.5)
        );
        // Left of the first centre: only the first column counts.
        assert_eq!(bilinear4(&v, 0.25, 0.5), Some(0.0));
    }

    #[test]
    fn bilinear4_drops_nodata_and_renormalises() {
        // The 30 is nodata: the other three share its weight.
        let src = [0_u16, 10, 20, 65535];
        let v = view(&src, 2, Some(65535));
        assert_eq!(bilinear4(&v, 1.0, 1.0), Some(10.0));
        // Weights at (0.75, 0.75): 0.5625 0.1875 / 0.1875 (0.0625 dropped).
        let expect = (0.0 * 0.5625 + 10.0 * 0.1875 + 20.0 * 0.1875) / 0.9375;
        assert_eq!(bilinear4(&v, 0.75, 0.75), Some(expect));
        // All nodata: nothing.
        let src = [7_u16; 4];
        assert_eq!(bilinear4(&view(&src, 2, Some(7)), 1.0, 1.0), None);
    }

    #[test]
    fn general_filter_downsampling_by_two() {
        // 4×4 source, one destination pixel covering it: scale 0.5, radius 2.
        let src: Vec<u16> = (0..16).collect();
        let v = view(&src, 4, None);
        let f = Filter::bilinear(0.5, 0.5);
        assert_eq!((f.radius_x, f.radius_y), (2, 2));
        assert!(!f.four_sample());
        // At the centre (2, 2): weights 0.25 0.75 0.75 0.25 on each axis, sum 2 → the
        // mean of the 4×4 block.
        assert_eq!(bilinear_general(&v, &f, 2.0, 2.0), Some(7.5));
        // Scale >= 1 reduces to the plain bilinear weights.
        let f1 = Filter::bilinear(1.0, 1.0);
        assert!(f1.four_sample());
        assert_eq!(bilinear_general(&v, &f1, 1.0, 1.0), bilinear4(&v, 1.0, 1.0));
    }
}
