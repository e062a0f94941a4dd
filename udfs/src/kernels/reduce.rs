//! Per-pixel reducers over a stack of tiles (one slice of `len` values per tile,
//! NaN = missing): percentiles by selection, geometric median and MADs. Pixels are
//! processed in blocks, transposed so each pixel's observations are contiguous.

/// Pixels per transposed block.
const BLOCK: usize = 256;

/// Calls `f(pixel, observations)` for every pixel of a stack with each pixel's
/// observations (one per tile, NaN included) in a reused contiguous buffer.
pub fn for_each_pixel(
    stack: &[&[f32]],
    len: usize,
    mut f: impl FnMut(usize, &mut [f32]),
) {
    let tiles = stack.len();
    let mut buf = vec![0f32; BLOCK * tiles];
    let mut p0 = 0;
    while p0 < len {
        let b = BLOCK.min(len - p0);
        for (t, tile) in stack.iter().enumerate() {
            let src = &tile[p0..p0 + b];
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
    let (lo_v, hi_v) = if k <= KEYS {
        // integer keys in a stack buffer: selection with plain integer compares
        let mut keys = [0u32; KEYS];
        for (key, v) in keys.iter_mut().zip(values.iter()) {
            *key = order_key(*v);
        }
        let (_, lo_k, upper) = keys[..k].select_nth_unstable(lo);
        let hi = upper.iter().copied().min();
        (from_order_key(*lo_k), hi.map(from_order_key))
    } else {
        let (_, lo_v, upper) = values.select_nth_unstable_by(lo, f32::total_cmp);
        let hi = upper.iter().copied().reduce(f32::min);
        (*lo_v, hi)
    };
    match hi_v {
        Some(hi_v) if frac > 0.0 => {
            (f64::from(lo_v) + (f64::from(hi_v) - f64::from(lo_v)) * frac) as f32
        }
        _ => lo_v,
    }
}

/// Observations per pixel up to which selection runs on integer keys on the stack.
const KEYS: usize = 128;

/// A `u32` whose order is the total order of `f32` values.
#[inline]
fn order_key(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

/// The inverse of [`order_key`].
#[inline]
fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & 0x7fff_ffff } else { !k })
}

/// Per-pixel percentile of a stack (missing where a pixel has no valid value).
pub fn stack_percentile(stack: &[&[f32]], len: usize, q: f64) -> Vec<f32> {
    let mut out = vec![f32::NAN; len];
    for_each_pixel(stack, len, |p, obs| {
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

/// Per-pixel geomedian of `n` band stacks (each `tiles` slices of `len`), and the MADs when
/// `mads`. An observation counts only where all its bands are valid. Outputs: one
/// buffer per band, then smad, emad, bcmad (empty when not asked), then counts.
pub fn stack_geomedian(
    stacks: &[Vec<&[f32]>],
    len: usize,
    p: GeomedianParams,
    mads: bool,
) -> (Vec<Vec<f32>>, [Vec<f32>; 3], Vec<u32>) {
    let n = stacks.len();
    let tiles = stacks.first().map_or(0, Vec::len);
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
    let mut xs: Vec<f64> = Vec::with_capacity(tiles * n);
    let mut y = vec![0f64; n];
    let mut dev = [
        Vec::with_capacity(tiles),
        Vec::with_capacity(tiles),
        Vec::with_capacity(tiles),
    ];
    // Pixels in blocks, transposed to [pixel][observation][band] so each pixel's
    // observations are contiguous.
    let mut blk = vec![0f32; BLOCK * tiles * n];
    let mut p0 = 0;
    while p0 < len {
        let b = BLOCK.min(len - p0);
        for (band, s) in stacks.iter().enumerate() {
            for (t, tile) in s.iter().enumerate().take(tiles) {
                let src = &tile[p0..p0 + b];
                for (i, v) in src.iter().enumerate() {
                    blk[(i * tiles + t) * n + band] = *v;
                }
            }
        }
        for i in 0..b {
            let px = p0 + i;
            xs.clear();
            for x in blk[i * tiles * n..(i + 1) * tiles * n].chunks_exact(n) {
                if x.iter().all(|v| !v.is_nan()) {
                    xs.extend(x.iter().map(|v| f64::from(*v)));
                }
            }
            let k = xs.len() / n.max(1);
            counts[px] = k as u32;
            if k == 0 {
                continue;
            }
            geomedian_pixel(&xs, n, p, &mut y);
            for (band, v) in bands.iter_mut().zip(&y) {
                band[px] = *v as f32;
            }
            if mads {
                for d in dev.iter_mut() {
                    d.clear();
                }
                let ynorm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
                for x in xs.chunks_exact(n) {
                    let (mut dot, mut xx, mut e, mut bc_num, mut bc_den) =
                        (0.0, 0.0, 0.0, 0.0, 0.0);
                    for (xb, yb) in x.iter().zip(&y) {
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
        }
        p0 += b;
    }
    (bands, mad, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_like_floats() {
        let v = [
            -3.5f32,
            -0.0,
            0.0,
            1e-30,
            2.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for a in v {
            assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
            for b in v {
                assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
        // more observations than the key buffer: the float path agrees
        let mut many: Vec<f32> = (0..301).map(|i| ((i * 37) % 301) as f32).collect();
        assert_eq!(percentile(&mut many, 50.0), 150.0);
    }

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
        let tiles: Vec<&[f32]> = stack.chunks_exact(4).collect();
        let m = stack_percentile(&tiles, 4, 50.0);
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
    fn stack_geomedian_equals_the_per_pixel_iterations() {
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
        let per_tile: Vec<Vec<&[f32]>> =
            refs.iter().map(|s| s.chunks_exact(len).collect()).collect();
        let (bands, _, counts) =
            stack_geomedian(&per_tile, len, GeomedianParams::default(), false);
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
