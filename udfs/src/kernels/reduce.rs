//! Per-pixel reducers over a stack of tiles (`tiles × len` values, tile-major, NaN =
//! missing): percentiles by selection, geometric median and MADs. Pixels are
//! processed in blocks, transposed so each pixel's observations are contiguous.

/// Pixels per transposed block.
const BLOCK: usize = 256;

/// Calls `f(pixel, observations)` for every pixel of a stack with each pixel's
/// observations (one per tile, NaN included) in a reused contiguous buffer.
pub fn for_each_pixel(
    stack: &[f32],
    tiles: usize,
    len: usize,
    mut f: impl FnMut(usize, &mut [f32]),
) {
    let mut buf = vec![0f32; BLOCK * tiles];
    let mut p0 = 0;
    while p0 < len {
        let b = BLOCK.min(len - p0);
        for t in 0..tiles {
            let src = &stack[t * len + p0..t * len + p0 + b];
            for (i, v) in src.iter().enumerate() {
                buf[i * tiles + t] = *v;
            }
        }
        for i in 0..b {
            f(p0 + i, &mut buf[i * tiles..(i + 1) * tiles]);
        }
        p0 += b;
    }
}

/// Moves the non-NaN values to the front; their count.
#[inline]
pub fn compact_valid(values: &mut [f32]) -> usize {
    let mut k = 0;
    for i in 0..values.len() {
        if !values[i].is_nan() {
            values[k] = values[i];
            k += 1;
        }
    }
    k
}

/// The `q`-th percentile (0..=100) of `values` (all valid), with numpy's default
/// linear interpolation between closest ranks; NaN when empty. Reorders `values`
/// (selection, not sorting).
pub fn percentile(values: &mut [f32], q: f64) -> f32 {
    let k = values.len();
    if k == 0 {
        return f32::NAN;
    }
    let rank = q / 100.0 * (k - 1) as f64;
    let lo = (rank.floor() as usize).min(k - 1);
    let frac = rank - lo as f64;
    let (_, lo_v, upper) = values.select_nth_unstable_by(lo, f32::total_cmp);
    let lo_v = *lo_v;
    if frac == 0.0 || upper.is_empty() {
        return lo_v;
    }
    let hi_v = upper.iter().copied().fold(f32::INFINITY, f32::min);
    (f64::from(lo_v) + (f64::from(hi_v) - f64::from(lo_v)) * frac) as f32
}

/// Per-pixel percentile of a stack (missing where a pixel has no valid value).
pub fn stack_percentile(stack: &[f32], tiles: usize, len: usize, q: f64) -> Vec<f32> {
    let mut out = vec![f32::NAN; len];
    for_each_pixel(stack, tiles, len, |p, obs| {
        let k = compact_valid(obs);
        out[p] = percentile(&mut obs[..k], q);
    });
    out
}

/// Settings of the Weiszfeld iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeomedianParams {
    /// Stop when a step moves the estimate less than this (physical units).
    pub eps: f64,
    /// Stop after this many iterations.
    pub max_iters: usize,
}

impl Default for GeomedianParams {
    fn default() -> Self {
        GeomedianParams {
            eps: 1e-7,
            max_iters: 1000,
        }
    }
}

/// The geometric median of `k` observations of `n` bands (`xs`, observation-major)
/// into `y`: Weiszfeld iterations from the per-band mean with the Vardi–Zhang step
/// when the estimate sits on an observation (as hdstats does). Returns the
/// iterations used.
pub fn geomedian_pixel(xs: &[f64], n: usize, p: GeomedianParams, y: &mut [f64]) -> usize {
    let k = xs.len() / n.max(1);
    if k == 0 || n > MAX_BANDS || y.len() != n {
        y.fill(f64::NAN);
        return 0;
    }
    y.fill(0.0);
    for x in xs.chunks_exact(n) {
        for (yb, xb) in y.iter_mut().zip(x) {
            *yb += xb;
        }
    }
    for yb in y.iter_mut() {
        *yb /= k as f64;
    }
    let mut num = [0f64; MAX_BANDS];
    let mut y1 = [0f64; MAX_BANDS];
    let mut iters = 0;
    while iters < p.max_iters {
        iters += 1;
        num[..n].fill(0.0);
        let (mut dinv_sum, mut zeros) = (0.0, 0usize);
        for x in xs.chunks_exact(n) {
            let d = x
                .iter()
                .zip(y.iter())
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
            if d > 0.0 {
                let w = 1.0 / d.sqrt();
                dinv_sum += w;
                for (s, xb) in num[..n].iter_mut().zip(x) {
                    *s += w * xb;
                }
            } else {
                zeros += 1;
            }
        }
        if dinv_sum == 0.0 {
            break; // every observation equals the estimate
        }
        for b in 0..n {
            y1[b] = num[b] / dinv_sum;
        }
        if zeros > 0 {
            // Vardi–Zhang: R = (T − y)·Σ 1/d, move towards T by max(0, 1 − zeros/|R|)
            let r = (0..n)
                .map(|b| ((y1[b] - y[b]) * dinv_sum).powi(2))
                .sum::<f64>()
                .sqrt();
            let rinv = if r == 0.0 { 0.0 } else { zeros as f64 / r };
            for b in 0..n {
                y1[b] = (1.0 - rinv).max(0.0) * y1[b] + rinv.min(1.0) * y[b];
            }
        }
        let step = (0..n).map(|b| (y1[b] - y[b]).powi(2)).sum::<f64>().sqrt();
        y.copy_from_slice(&y1[..n]);
        if step < p.eps {
            break;
        }
    }
    iters
}

/// The most bands a geomedian takes.
pub const MAX_BANDS: usize = 16;

/// Geomedian and MADs of one pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelGeomedian {
    /// The geomedian, per band.
    pub median: Vec<f32>,
    /// Spectral MAD.
    pub smad: f32,
    /// Euclidean MAD.
    pub emad: f32,
    /// Bray-Curtis MAD.
    pub bcmad: f32,
    /// Valid observations (all bands valid).
    pub count: u32,
}

/// Pixels per block of the geomedian (structure of arrays, one lane per pixel).
const GM_BLOCK: usize = 64;

/// Weiszfeld iterations (as [`geomedian_pixel`]) for a block of `b` pixels at once,
/// vectorised across pixels: `x[(t * n + band) * b + i]` (0 where invalid),
/// `valid[t * b + i]` (1 or 0). Writes `y[band * b + i]`; a pixel without valid
/// observations gets NaN. Each pixel stops on its own criterion, so the result is
/// the per-pixel one; finished pixels ride along in the vector loops.
pub fn geomedian_block(
    x: &[f64],
    valid: &[f64],
    (n, tiles, b): (usize, usize, usize),
    p: GeomedianParams,
    y: &mut [f64],
) {
    let mut k = vec![0f64; b];
    for t in 0..tiles {
        for (ki, v) in k.iter_mut().zip(&valid[t * b..(t + 1) * b]) {
            *ki += v;
        }
    }
    y[..n * b].fill(0.0);
    for t in 0..tiles {
        for band in 0..n {
            let xr = &x[(t * n + band) * b..(t * n + band + 1) * b];
            for (yi, xi) in y[band * b..(band + 1) * b].iter_mut().zip(xr) {
                *yi += xi;
            }
        }
    }
    let mut active: Vec<bool> = k.iter().map(|c| *c > 0.0).collect();
    for band in 0..n {
        for (i, yi) in y[band * b..(band + 1) * b].iter_mut().enumerate() {
            *yi = if active[i] { *yi / k[i] } else { f64::NAN };
        }
    }
    let (mut num, mut den, mut zeros) = (vec![0f64; n * b], vec![0f64; b], vec![0f64; b]);
    let (mut d2, mut w) = (vec![0f64; b], vec![0f64; b]);
    let mut y1 = [0f64; MAX_BANDS];
    for _ in 0..p.max_iters {
        if !active.iter().any(|a| *a) {
            break;
        }
        num.fill(0.0);
        den.fill(0.0);
        zeros.fill(0.0);
        for t in 0..tiles {
            d2.fill(0.0);
            for band in 0..n {
                let xr = &x[(t * n + band) * b..(t * n + band + 1) * b];
                let yr = &y[band * b..(band + 1) * b];
                for ((d, xi), yi) in d2.iter_mut().zip(xr).zip(yr) {
                    let e = xi - yi;
                    *d += e * e;
                }
            }
            let vr = &valid[t * b..(t + 1) * b];
            for i in 0..b {
                let (has, pos) = (vr[i] > 0.0, d2[i] > 0.0);
                // a missing pixel's d2 is NaN (y is NaN): `pos` is false, `has` too
                w[i] = if has && pos { 1.0 / d2[i].sqrt() } else { 0.0 };
                zeros[i] += if has && !pos { 1.0 } else { 0.0 };
                den[i] += w[i];
            }
            for band in 0..n {
                let xr = &x[(t * n + band) * b..(t * n + band + 1) * b];
                for ((s, wi), xi) in
                    num[band * b..(band + 1) * b].iter_mut().zip(&w).zip(xr)
                {
                    *s += wi * xi;
                }
            }
        }
        for i in 0..b {
            if !active[i] {
                continue;
            }
            if den[i] == 0.0 {
                active[i] = false; // every observation equals the estimate
                continue;
            }
            for band in 0..n {
                y1[band] = num[band * b + i] / den[i];
            }
            if zeros[i] > 0.0 {
                let r = (0..n)
                    .map(|band| ((y1[band] - y[band * b + i]) * den[i]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let rinv = if r == 0.0 { 0.0 } else { zeros[i] / r };
                for band in 0..n {
                    y1[band] = (1.0 - rinv).max(0.0) * y1[band]
                        + rinv.min(1.0) * y[band * b + i];
                }
            }
            let mut step = 0.0;
            for band in 0..n {
                step += (y1[band] - y[band * b + i]).powi(2);
                y[band * b + i] = y1[band];
            }
            if step.sqrt() < p.eps {
                active[i] = false;
            }
        }
    }
}

/// Per-pixel geomedian of `n` band stacks (each `tiles × len`), and the MADs when
/// `mads`. An observation counts only where all its bands are valid. Outputs: one
/// buffer per band, then smad, emad, bcmad (empty when not asked), then counts.
pub fn stack_geomedian(
    stacks: &[&[f32]],
    tiles: usize,
    len: usize,
    p: GeomedianParams,
    mads: bool,
) -> (Vec<Vec<f32>>, [Vec<f32>; 3], Vec<u32>) {
    let n = stacks.len();
    let mut bands = vec![vec![f32::NAN; len]; n];
    let mut mad = if mads {
        [
            vec![f32::NAN; len],
            vec![f32::NAN; len],
            vec![f32::NAN; len],
        ]
    } else {
        [Vec::new(), Vec::new(), Vec::new()]
    };
    let mut counts = vec![0u32; len];
    if n == 0 || n > MAX_BANDS {
        return (bands, mad, counts);
    }
    let mut x = vec![0f64; tiles * n * GM_BLOCK];
    let mut valid = vec![0f64; tiles * GM_BLOCK];
    let mut y = vec![0f64; n * GM_BLOCK];
    let mut dev = [
        Vec::with_capacity(tiles),
        Vec::with_capacity(tiles),
        Vec::with_capacity(tiles),
    ];
    let mut p0 = 0;
    while p0 < len {
        let b = GM_BLOCK.min(len - p0);
        // structure of arrays: [observation][band][pixel], invalid observations 0
        valid[..tiles * b].fill(1.0);
        for (band, s) in stacks.iter().enumerate() {
            for t in 0..tiles {
                let src = &s[t * len + p0..t * len + p0 + b];
                let dst = &mut x[(t * n + band) * b..(t * n + band + 1) * b];
                for ((d, v), ok) in
                    dst.iter_mut().zip(src).zip(&mut valid[t * b..(t + 1) * b])
                {
                    *d = f64::from(*v);
                    if v.is_nan() {
                        *ok = 0.0;
                    }
                }
            }
        }
        for t in 0..tiles {
            for band in 0..n {
                for i in 0..b {
                    if valid[t * b + i] == 0.0 {
                        x[(t * n + band) * b + i] = 0.0;
                    }
                }
            }
        }
        geomedian_block(
            &x[..tiles * n * b],
            &valid[..tiles * b],
            (n, tiles, b),
            p,
            &mut y,
        );
        for i in 0..b {
            let px = p0 + i;
            let k = (0..tiles).filter(|t| valid[t * b + i] > 0.0).count();
            counts[px] = k as u32;
            if k == 0 {
                continue;
            }
            for (band, out) in bands.iter_mut().enumerate() {
                out[px] = y[band * b + i] as f32;
            }
            if !mads {
                continue;
            }
            for d in dev.iter_mut() {
                d.clear();
            }
            let ynorm = (0..n)
                .map(|band| y[band * b + i].powi(2))
                .sum::<f64>()
                .sqrt();
            for t in (0..tiles).filter(|t| valid[t * b + i] > 0.0) {
                let (mut dot, mut xx, mut e, mut bc_num, mut bc_den) =
                    (0.0, 0.0, 0.0, 0.0, 0.0);
                for band in 0..n {
                    let (xb, yb) = (x[(t * n + band) * b + i], y[band * b + i]);
                    dot += xb * yb;
                    xx += xb * xb;
                    e += (xb - yb) * (xb - yb);
                    bc_num += (xb - yb).abs();
                    bc_den += (xb + yb).abs();
                }
                let norms = xx.sqrt() * ynorm;
                if norms > 0.0 {
                    dev[0].push((1.0 - dot / norms) as f32);
                }
                dev[1].push(e.sqrt() as f32);
                if bc_den > 0.0 {
                    dev[2].push((bc_num / bc_den) as f32);
                }
            }
            for (m, d) in mad.iter_mut().zip(dev.iter_mut()) {
                m[px] = percentile(d, 50.0);
            }
        }
        p0 += b;
    }
    (bands, mad, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_by_hand() {
        // numpy.percentile([1, 2, 3, 4], q): 25 → 1.75, 50 → 2.5, 100 → 4, 0 → 1
        for (q, want) in [(25.0, 1.75), (50.0, 2.5), (100.0, 4.0), (0.0, 1.0)] {
            let mut v = [4.0, 1.0, 3.0, 2.0];
            assert_eq!(percentile(&mut v, q), want, "q={q}");
        }
        let mut odd = [5.0, 1.0, 3.0];
        assert_eq!(percentile(&mut odd, 50.0), 3.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }

    #[test]
    fn stack_median_skips_missing_and_keeps_empty_pixels_missing() {
        // 3 tiles of 2×2 (4 pixels); pixel 3 never valid
        let nan = f32::NAN;
        let stack = [
            1.0, 5.0, nan, nan, //
            2.0, nan, nan, nan, //
            4.0, 7.0, 9.0, nan,
        ];
        let m = stack_percentile(&stack, 3, 4, 50.0);
        assert_eq!(&m[..3], &[2.0, 6.0, 9.0]);
        assert!(m[3].is_nan());
    }

    #[test]
    fn geomedian_of_a_triangle_by_hand() {
        // Equilateral-ish: the geomedian of (0,0), (2,0), (1, √3) is the Fermat point
        // (1, 1/√3), where all angles are 120°.
        let xs = [0.0, 0.0, 2.0, 0.0, 1.0, 3f64.sqrt()];
        let mut y = [0.0; 2];
        geomedian_pixel(&xs, 2, GeomedianParams::default(), &mut y);
        assert!(
            (y[0] - 1.0).abs() < 1e-6 && (y[1] - 1.0 / 3f64.sqrt()).abs() < 1e-6,
            "{y:?}"
        );
        // Three of four observations at the origin: the geomedian is the origin, an
        // observation itself (the Vardi–Zhang step reaches it).
        let xs = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        geomedian_pixel(&xs, 2, GeomedianParams::default(), &mut y);
        assert!(
            y[0].abs() < 1e-6 && y[1].abs() < 1e-6,
            "majority point wins: {y:?}"
        );
    }

    #[test]
    fn block_geomedian_equals_the_per_pixel_iterations() {
        // pseudo-random 3-band stacks with missing observations and ties
        let (tiles, len, n) = (9, 100, 3);
        let mut seed = 42u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let stacks: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                (0..tiles * len)
                    .map(|_| match next() % 7 {
                        0 => f32::NAN,
                        1 => 0.25,
                        r => 0.1 * r as f32 + (next() % 100) as f32 * 1e-3,
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = stacks.iter().map(Vec::as_slice).collect();
        let (bands, _, counts) =
            stack_geomedian(&refs, tiles, len, GeomedianParams::default(), false);
        let mut y = vec![0f64; n];
        for px in 0..len {
            let xs: Vec<f64> = (0..tiles)
                .filter(|t| refs.iter().all(|s| !s[t * len + px].is_nan()))
                .flat_map(|t| refs.iter().map(move |s| f64::from(s[t * len + px])))
                .collect();
            assert_eq!(counts[px] as usize, xs.len() / n);
            geomedian_pixel(&xs, n, GeomedianParams::default(), &mut y);
            for band in 0..n {
                let (got, want) = (bands[band][px], y[band] as f32);
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "pixel {px} band {band}: {got} vs {want}"
                );
            }
        }
    }
}
