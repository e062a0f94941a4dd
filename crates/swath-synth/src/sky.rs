//! The dates and their weather: one acquisition plan per date with its time,
//! platform, ground spectra, and clouds.
//!
//! Clouds are thresholded fractal value noise (four octaves, base wavelength 0.6 W)
//! over the zone-33 reference frame, so granules of one datatake see the same
//! clouds. Each date draws a category — *clear* (0–4 % cover, often none),
//! *partial* (15–60 %) or *overcast* (80–98 %), overcast being likelier from
//! mid-November to mid-March — and the threshold is the quantile of the noise that
//! gives that cover over the whole layout. With at least three dates, at least one
//! is clear and one overcast. Cloud shadows are the clouds projected away from the
//! sun (its position computed for the date and time) from a height of 0.1 W, so
//! they are long in winter and short in summer; thin cirrus (a second, smoother
//! noise, 5–30 % of the layout) shows on three in ten of the other dates. Dates
//! alternate between Sentinel-2A and 2B; the datatake starts at 09:36:20 UTC plus
//! up to 20 s that vary by date.

use crate::landscape::{Spectrum, spectra};
use crate::rng::{SplitMix, hash, hash_from, start, unit, unit_at};
use crate::spec::SynthSpec;
use crate::time::{DAY_MS, day_of_year, days_from_civil, sun_position};

/// How cloudy a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// 0–4 % cloud.
    Clear,
    /// 15–60 % cloud.
    Partial,
    /// 80–98 % cloud.
    Overcast,
}

/// Fractal value noise and a threshold above which it is cloud.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Field {
    /// Seed of the lattice values.
    pub seed: u64,
    /// Wavelength of the first octave (m).
    pub wavelength: f64,
    /// Octaves.
    pub octaves: u32,
    /// Threshold (`+∞` for none).
    pub threshold: f64,
}

impl Field {
    /// The noise at a point, within `[0, 1]`.
    pub(crate) fn at(&self, u: f64, v: f64) -> f64 {
        let (mut sum, mut norm, mut amp, mut wl) = (0.0, 0.0, 1.0, self.wavelength);
        for k in 0..self.octaves {
            let lattice = start(self.seed.wrapping_add(u64::from(k)));
            sum += amp * value_noise(lattice, u / wl, v / wl);
            norm += amp;
            amp *= 0.5;
            wl *= 0.5;
        }
        sum / norm
    }
}

/// Smoothly interpolated lattice noise in `[0, 1]` (`lattice` = `start(seed)`).
fn value_noise(lattice: u64, x: f64, y: f64) -> f64 {
    let (fx, fy) = (x.floor(), y.floor());
    let (ix, iy) = (fx as i64, fy as i64);
    let (tx, ty) = (x - fx, y - fy);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let v00 = unit(hash_from(lattice, &[ix, iy]));
    let v10 = unit(hash_from(lattice, &[ix + 1, iy]));
    let v01 = unit(hash_from(lattice, &[ix, iy + 1]));
    let v11 = unit(hash_from(lattice, &[ix + 1, iy + 1]));
    let top = v00 + (v10 - v00) * sx;
    let bottom = v01 + (v11 - v01) * sx;
    top + (bottom - top) * sy
}

/// The weather of one date.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clouds {
    /// The category drawn.
    pub category: Category,
    /// Target cloud fraction over the layout.
    pub target: f64,
    /// Thick clouds.
    pub cloud: Field,
    /// Where a shadow's cloud is, from the shadow: metres east and north.
    pub to_cloud: (f64, f64),
    /// Thin cirrus, on some dates.
    pub cirrus: Option<Field>,
}

/// Everything about one acquisition date.
#[derive(Debug, Clone)]
pub(crate) struct DatePlan {
    /// Position among the dates.
    pub index: u32,
    /// Days since 1970-01-01.
    pub days: i64,
    /// Acquisition time of the datatake's first granule (ms since the epoch).
    pub epoch_ms: i64,
    /// `sentinel-2a` or `sentinel-2b`.
    pub platform: &'static str,
    /// Ground spectra per profile.
    pub spectra: Vec<Spectrum>,
    /// Clouds, shadows, cirrus.
    pub clouds: Clouds,
}

/// Salts separating the seed's uses.
mod salt {
    pub const TIME: u64 = 0x5449_4d45;
    pub const WEATHER: u64 = 0x5745_4154;
    pub const CLOUD: u64 = 0x434c_4f55;
    pub const CIRRUS: u64 = 0x4349_5252;
}

/// The area clouds are calibrated over: metres from the anchor (u, v) covering A,
/// B and C.
const LAYOUT_U: (f64, f64) = (-1.25, 0.85);
const LAYOUT_V: (f64, f64) = (-0.65, 0.7);

/// The threshold at which `field` covers `target` of the layout (`+∞` for none).
fn threshold_for(field: &Field, target: f64, w: f64) -> f64 {
    if target <= 0.0 {
        return f64::INFINITY;
    }
    let n = 64;
    let mut samples = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let u = w
                * (LAYOUT_U.0 + (LAYOUT_U.1 - LAYOUT_U.0) * (i as f64 + 0.5) / n as f64);
            let v = w
                * (LAYOUT_V.0 + (LAYOUT_V.1 - LAYOUT_V.0) * (j as f64 + 0.5) / n as f64);
            samples.push(field.at(u, v));
        }
    }
    samples.sort_by(f64::total_cmp);
    let k = (((1.0 - target) * samples.len() as f64) as usize).min(samples.len() - 1);
    samples[k]
}

/// The plans of all dates of a spec.
pub(crate) fn plans(spec: &SynthSpec) -> Vec<DatePlan> {
    let w = spec.width_m();
    let (y, m, d) = spec.start;
    let first = days_from_civil(y, m, d);
    let days: Vec<i64> = (0..spec.dates)
        .map(|i| first + i64::from(i) * i64::from(spec.revisit_days))
        .collect();
    // Categories, then at least one clear and one overcast date.
    let mut categories: Vec<Category> = days
        .iter()
        .enumerate()
        .map(|(i, &day)| {
            let doy = day_of_year(day);
            let winter = !(75..=320).contains(&doy);
            let (clear, partial) = if winter { (0.25, 0.35) } else { (0.5, 0.35) };
            let x = unit_at(spec.seed ^ salt::WEATHER, &[i as i64, 0]);
            if x < clear {
                Category::Clear
            } else if x < clear + partial {
                Category::Partial
            } else {
                Category::Overcast
            }
        })
        .collect();
    if categories.len() >= 3 {
        if !categories.contains(&Category::Clear) {
            categories[0] = Category::Clear;
        }
        if !categories.contains(&Category::Overcast) {
            let last = categories.len() - 1;
            categories[last] = Category::Overcast;
        }
    }
    days.iter()
        .zip(categories)
        .enumerate()
        .map(|(i, (&day, category))| {
            let index = i as u32;
            let mut rng = SplitMix::new(hash(spec.seed ^ salt::WEATHER, &[i as i64, 1]));
            let jitter = (hash(spec.seed ^ salt::TIME, &[i as i64]) % 20_000) as i64;
            let epoch_ms = day * DAY_MS + (9 * 3600 + 36 * 60 + 20) * 1000 + jitter;
            let target = match category {
                Category::Clear => {
                    let t = rng.range(0.0, 0.04);
                    if t < 0.012 { 0.0 } else { t }
                }
                Category::Partial => rng.range(0.15, 0.6),
                Category::Overcast => rng.range(0.8, 0.98),
            };
            let mut cloud = Field {
                seed: hash(spec.seed ^ salt::CLOUD, &[i as i64]),
                wavelength: 0.6 * w,
                octaves: 4,
                threshold: f64::INFINITY,
            };
            cloud.threshold = threshold_for(&cloud, target, w);
            let cirrus =
                (category != Category::Overcast && rng.next_f64() < 0.3).then(|| {
                    let mut f = Field {
                        seed: hash(spec.seed ^ salt::CIRRUS, &[i as i64]),
                        wavelength: 1.2 * w,
                        octaves: 3,
                        threshold: f64::INFINITY,
                    };
                    f.threshold = threshold_for(&f, rng.range(0.05, 0.3), w);
                    f
                });
            // The sun over the anchor: shadows fall away from it.
            let (az, el) = sun_position(epoch_ms, 18.0, 45.11);
            let length = 0.1 * w / el.max(10.0).to_radians().tan();
            let az = az.to_radians();
            DatePlan {
                index,
                days: day,
                epoch_ms,
                platform: if i % 2 == 0 {
                    "sentinel-2a"
                } else {
                    "sentinel-2b"
                },
                spectra: spectra(day_of_year(day)),
                clouds: Clouds {
                    category,
                    target,
                    cloud,
                    to_cloud: (length * az.sin(), length * az.cos()),
                    cirrus,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_hit_their_targets() {
        let w = 2560.0;
        for (seed, target) in [(1, 0.3), (2, 0.9), (3, 0.02)] {
            let mut f = Field {
                seed,
                wavelength: 0.6 * w,
                octaves: 4,
                threshold: 0.0,
            };
            f.threshold = threshold_for(&f, target, w);
            let n = 100;
            let mut covered = 0;
            for j in 0..n {
                for i in 0..n {
                    let u = w * (-1.25 + 2.1 * (f64::from(i) + 0.25) / f64::from(n));
                    let v = w * (-0.65 + 1.35 * (f64::from(j) + 0.25) / f64::from(n));
                    covered += usize::from(f.at(u, v) > f.threshold);
                }
            }
            let got = covered as f64 / f64::from(n * n);
            assert!((got - target).abs() < 0.05, "target {target}, got {got}");
        }
    }

    #[test]
    fn dates_mix_clear_and_cloudy() {
        let plans = plans(&SynthSpec::tiny());
        assert_eq!(plans.len(), 4);
        let cats: Vec<Category> = plans.iter().map(|p| p.clouds.category).collect();
        assert!(cats.contains(&Category::Clear) && cats.contains(&Category::Overcast));
        assert_eq!(plans[0].platform, "sentinel-2a");
        assert_eq!(plans[1].platform, "sentinel-2b");
        assert_eq!(plans[1].days - plans[0].days, 5);
        // A year: overcast dates are more frequent in winter.
        let year = super::plans(&SynthSpec::demo());
        let overcast = |winter: bool| {
            let dates: Vec<&DatePlan> = year
                .iter()
                .filter(|p| (75..=320).contains(&day_of_year(p.days)) != winter)
                .collect();
            let n = dates
                .iter()
                .filter(|p| p.clouds.category == Category::Overcast)
                .count();
            n as f64 / dates.len() as f64
        };
        assert!(overcast(true) > overcast(false) + 0.1);
        assert!(overcast(false) > 0.0);
    }
}
