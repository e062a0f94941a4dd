//! Rendering one granule on one date: the sky over each 20 m pixel (cloud, shadow,
//! cirrus, cloud edge, clear, or outside the swath), then the 10 m bands (ground
//! spectra × brightness + noise, seen through that sky), then the 20 m SCL.
//!
//! The sky is decided per 20 m pixel and shared by its 2×2 10 m pixels, so the
//! SCL is consistent with the bands: a 20 m pixel is cloud exactly where its four
//! 10 m pixels are cloud-bright, and no data exactly where they are 0. Its land
//! class (vegetation, not vegetated, water) is the majority of the four 10 m
//! classes (ties go to the first in row order).

use crate::bands::{NB, scl, to_dn};
use crate::landscape::Ground;
use crate::rng::{hash_from, start};
use crate::sky::DatePlan;

/// Reflectance of thick cloud per band.
const CLOUD: [f32; NB] = [0.48, 0.46, 0.44, 0.45];
/// Added reflectance of thin cirrus at full strength.
const CIRRUS: [f32; NB] = [0.07, 0.06, 0.05, 0.04];
/// Half-width of the per-pixel noise (reflectance).
const NOISE: f32 = 0.004;
/// Salt of the pixel noise.
const NOISE_SALT: u64 = 0x4e4f_4953;

/// What lies between the sun, a 20 m pixel and the sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sky {
    /// Outside the swath.
    Nodata,
    /// Nothing.
    Clear,
    /// The semi-transparent edge of a cloud (opacity); not flagged as cloud unless
    /// thick enough to be "unclassified".
    Edge(f32),
    /// Cloud, medium probability (opacity 0.70–0.85).
    Medium(f32),
    /// Cloud, high probability (opacity 0.85–0.97).
    High(f32),
    /// In a cloud's shadow.
    Shadow,
    /// Thin cirrus (strength 0.5–1).
    Cirrus(f32),
}

fn sky_at(plan: &DatePlan, u: f64, v: f64, nodata: bool) -> Sky {
    if nodata {
        return Sky::Nodata;
    }
    let clouds = &plan.clouds;
    let t = clouds.cloud.threshold;
    let mut edge = None;
    if t.is_finite() {
        let d = clouds.cloud.at(u, v);
        if d > t + 0.06 {
            return Sky::High((0.85 + (d - t - 0.06) * 2.0).min(0.97) as f32);
        }
        if d > t {
            return Sky::Medium((0.7 + (d - t) / 0.06 * 0.15) as f32);
        }
        let (du, dv) = clouds.to_cloud;
        if clouds.cloud.at(u + du, v + dv) > t + 0.02 {
            return Sky::Shadow;
        }
        if d > t - 0.05 {
            edge = Some((0.3 * (d - (t - 0.05)) / 0.05) as f32);
        }
    }
    if let Some(cirrus) = &clouds.cirrus {
        let d = cirrus.at(u, v);
        if d > cirrus.threshold {
            return Sky::Cirrus((0.5 + (d - cirrus.threshold) * 5.0).min(1.0) as f32);
        }
    }
    edge.map_or(Sky::Clear, Sky::Edge)
}

/// The reflectance of band `b` seen through `sky` over ground reflectance `g`.
#[inline]
fn through(sky: Sky, g: f32, b: usize) -> f32 {
    match sky {
        Sky::Nodata | Sky::Clear => g,
        Sky::Edge(a) | Sky::Medium(a) | Sky::High(a) => g * (1.0 - a) + CLOUD[b] * a,
        Sky::Shadow => g * 0.3 + 0.004,
        Sky::Cirrus(s) => g * (1.0 - 0.15 * s) + CIRRUS[b] * s,
    }
}

/// The pixels of one granule on one date.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    /// Width = height of the 10 m bands.
    pub size: usize,
    /// The 10 m bands (DN), in the order of [`crate::bands::BANDS`].
    pub bands: Vec<Vec<u16>>,
    /// The 20 m scene classification.
    pub scl: Vec<u8>,
    /// SCL pixel counts per class 0..=11.
    pub counts: [u64; 12],
}

impl Rendered {
    /// Percentage of valid (SCL ≠ 0) pixels in `classes`.
    pub(crate) fn percent(&self, classes: &[u8]) -> f64 {
        let valid: u64 = self.counts[1..].iter().sum();
        if valid == 0 {
            return 0.0;
        }
        let n: u64 = classes.iter().map(|&c| self.counts[usize::from(c)]).sum();
        100.0 * n as f64 / valid as f64
    }

    /// `eo:cloud_cover`: the percentage of valid pixels that are cloud (medium or
    /// high probability) or thin cirrus.
    pub(crate) fn cloud_cover(&self) -> f64 {
        self.percent(&[scl::CLOUD_MEDIUM, scl::CLOUD_HIGH, scl::CIRRUS])
    }

    /// Percentage of all SCL pixels that are no data.
    pub(crate) fn nodata_percent(&self) -> f64 {
        let all: u64 = self.counts.iter().sum();
        100.0 * self.counts[0] as f64 / all.max(1) as f64
    }
}

/// Render a granule's ground on one date.
pub(crate) fn render(ground: &Ground, plan: &DatePlan, seed: u64) -> Rendered {
    let n = ground.size;
    let half = n / 2;
    let sky: Vec<Sky> = ground
        .centres20
        .iter()
        .zip(&ground.nodata20)
        .map(|(&(u, v), &nodata)| sky_at(plan, u, v, nodata))
        .collect();
    let mut bands = vec![vec![0u16; n * n]; NB];
    let mut land = vec![scl::NODATA; n * n];
    let noise = start(seed ^ NOISE_SALT);
    let date = i64::from(plan.index);
    for row in 0..n {
        let sky_row = &sky[(row / 2) * half..(row / 2 + 1) * half];
        for col in 0..n {
            let s = sky_row[col / 2];
            if s == Sky::Nodata {
                continue;
            }
            let p = row * n + col;
            let spectrum = &plan.spectra[usize::from(ground.profile[p])];
            let factor = ground.factor[p];
            let (gi, gj) = ground.cells[p];
            let h = hash_from(noise, &[gi, gj, date]);
            for (b, band) in bands.iter_mut().enumerate() {
                let bits = ((h >> (16 * b)) & 0xffff) as f32 / 65535.0;
                let g = spectrum.refl[b] * factor + (2.0 * bits - 1.0) * NOISE;
                band[p] = to_dn(through(s, g, b));
            }
            land[p] = spectrum.class;
        }
    }
    let mut scl_px = vec![scl::NODATA; half * half];
    let mut counts = [0u64; 12];
    for (q, (out, &s)) in scl_px.iter_mut().zip(&sky).enumerate() {
        let (row, col) = (2 * (q / half), 2 * (q % half));
        *out = match s {
            Sky::Nodata => scl::NODATA,
            Sky::High(_) => scl::CLOUD_HIGH,
            Sky::Medium(_) => scl::CLOUD_MEDIUM,
            Sky::Shadow => scl::SHADOW,
            Sky::Cirrus(_) => scl::CIRRUS,
            Sky::Edge(a) if a > 0.15 => scl::UNCLASSIFIED,
            Sky::Edge(_) | Sky::Clear => {
                let c = [
                    land[row * n + col],
                    land[row * n + col + 1],
                    land[(row + 1) * n + col],
                    land[(row + 1) * n + col + 1],
                ];
                majority(c)
            }
        };
        counts[usize::from(*out)] += 1;
    }
    Rendered {
        size: n,
        bands,
        scl: scl_px,
        counts,
    }
}

/// The most frequent of four classes; ties go to the first in order.
fn majority(c: [u8; 4]) -> u8 {
    let mut best = (c[0], 0);
    for x in c {
        let k = c.iter().filter(|&&y| y == x).count();
        if k > best.1 {
            best = (x, k);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bands::{BLUE, NIR, RED};
    use crate::landscape::World;
    use crate::layout::layout;
    use crate::sky::plans;
    use crate::spec::SynthSpec;

    fn scene(
        spec: &SynthSpec,
    ) -> (Vec<crate::layout::Granule>, Vec<Ground>, Vec<DatePlan>) {
        let granules = layout(spec);
        let world = World::new(spec.seed, spec.width_m());
        let grounds = granules.iter().map(|g| Ground::new(&world, g)).collect();
        (granules, grounds, plans(spec))
    }

    #[test]
    fn a_and_b_agree_where_they_overlap() {
        let spec = SynthSpec::tiny();
        let (g, grounds, plans) = scene(&spec);
        let n = spec.size as usize;
        // B's origin in A's pixels.
        let dx = ((g[1].x0 - g[0].x0) / 10.0) as usize;
        let dy = ((g[1].top - g[0].top) / 10.0) as usize;
        for plan in &plans {
            let a = render(&grounds[0], plan, spec.seed);
            let b = render(&grounds[1], plan, spec.seed);
            // A's rows y ↔ B's rows y + dy; A's columns x ↔ B's x − dx.
            for y in 0..n - dy {
                for x in dx..n {
                    for band in 0..NB {
                        assert_eq!(
                            a.bands[band][y * n + x],
                            b.bands[band][(y + dy) * n + x - dx]
                        );
                    }
                }
            }
            let h = n / 2;
            for y in 0..h - dy / 2 {
                for x in dx / 2..h {
                    assert_eq!(a.scl[y * h + x], b.scl[(y + dy / 2) * h + x - dx / 2]);
                }
            }
        }
    }

    #[test]
    fn the_scl_matches_the_bands() {
        let spec = SynthSpec::tiny();
        let (_, grounds, plans) = scene(&spec);
        let n = spec.size as usize;
        let h = n / 2;
        let refl = |dn: u16| f64::from(dn) * 1e-4 - 0.1;
        let mut seen = [0u64; 12];
        for plan in &plans {
            for ground in &grounds {
                let r = render(ground, plan, spec.seed);
                assert_eq!(r.counts.iter().sum::<u64>(), (h * h) as u64);
                for q in 0..h * h {
                    let class = r.scl[q];
                    seen[usize::from(class)] += 1;
                    let (row, col) = (2 * (q / h), 2 * (q % h));
                    if class == scl::WATER {
                        // At least two of the four 10 m pixels are water (dark in NIR,
                        // even under a cloud's faint edge).
                        let dark =
                            [row * n + col, row * n + col + 1, (row + 1) * n + col]
                                .into_iter()
                                .chain([(row + 1) * n + col + 1])
                                .filter(|&p| refl(r.bands[NIR][p]) < 0.09)
                                .count();
                        assert!(dark >= 2, "{dark}");
                    }
                    for p in [
                        row * n + col,
                        row * n + col + 1,
                        (row + 1) * n + col,
                        (row + 1) * n + col + 1,
                    ] {
                        let (blue, red, nir) =
                            (r.bands[BLUE][p], r.bands[RED][p], r.bands[NIR][p]);
                        match class {
                            scl::NODATA => {
                                assert_eq!(r.bands.iter().map(|b| b[p]).max(), Some(0))
                            }
                            scl::CLOUD_MEDIUM | scl::CLOUD_HIGH => {
                                assert!(
                                    r.bands
                                        .iter()
                                        .all(|b| (0.25..=0.55).contains(&refl(b[p])))
                                );
                            }
                            scl::WATER => assert!(nir > 0),
                            scl::VEGETATION | scl::NOT_VEGETATED => {
                                assert!(refl(blue) < 0.2 && red > 0 && nir > 0);
                            }
                            _ => assert!(blue > 0),
                        }
                    }
                }
            }
        }
        // Every class the generator makes occurs in the tiny catalogue.
        for class in [0, 3, 4, 5, 6, 7, 8, 9, 10] {
            assert!(seen[class] > 0, "class {class}: {seen:?}");
        }
    }
}
