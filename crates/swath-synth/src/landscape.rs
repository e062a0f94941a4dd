//! The ground: a deterministic landscape as a function of position in the zone-33
//! reference frame (metres from the anchor), so overlapping granules see the same
//! ground pixel with the same values.
//!
//! - Fields: rectangular parcels in strips, the whole pattern rotated by 10°, about
//!   `W/10` (clamped to 80–400 m) across; each parcel has a land cover (winter
//!   wheat, maize, sunflower, soy, grassland, deciduous forest, bare/built) with its
//!   own phase (±12 days), amplitude and brightness.
//! - Water: a meandering river across all granules and a lake in A only.
//! - The orbit's swath edge: west of a line tilted 15° from north through A's
//!   north-west corner there is no data (a triangle of A, as at real swath edges).
//!
//! Reflectance follows from a seasonal NDVI curve per land cover: with
//! `s = 0.25 + 0.25·NDVI`, red = s(1 − NDVI)/2 and nir = s(1 + NDVI)/2; green and
//! blue follow red. Each (cover, phase, amplitude) combination is a *profile*
//! whose four reflectances are tabulated once per date.

use crate::bands::{BLUE, GREEN, NB, NIR, RED, scl};
use crate::layout::{ANCHOR_E, ANCHOR_N, Granule, REFERENCE_ZONE};
use crate::rng::{hash, unit, unit_at};
use crate::utm::Utm;

/// Land covers; `Water` is profile 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cover {
    /// Open water (SCL 6).
    Water,
    /// Winter wheat: green in spring, harvested early July, sown again in autumn.
    Wheat,
    /// Maize: peak in early August.
    Maize,
    /// Sunflower: peak in early July.
    Sunflower,
    /// Soy: peak in August.
    Soy,
    /// Grassland: green all year, greenest in late spring.
    Grass,
    /// Deciduous forest: leaf-on from late April to October.
    Forest,
    /// Bare soil or built-up (SCL 5 all year).
    Bare,
}

/// The land covers of fields, with their probabilities.
const FIELD_COVERS: [(Cover, f64); 7] = [
    (Cover::Wheat, 0.24),
    (Cover::Maize, 0.24),
    (Cover::Sunflower, 0.12),
    (Cover::Soy, 0.08),
    (Cover::Grass, 0.14),
    (Cover::Forest, 0.10),
    (Cover::Bare, 0.08),
];

/// Phase shifts −12..=12 days.
const PHASES: usize = 25;
/// Amplitude levels 0.85, 0.90, 0.95, 1.00.
const AMPS: usize = 4;

/// Number of profiles: water + covers × phases × amplitudes.
pub(crate) const PROFILES: usize = 1 + FIELD_COVERS.len() * PHASES * AMPS;

/// A profile's cover, phase shift (days) and amplitude.
fn profile_params(profile: usize) -> (Cover, f64, f64) {
    if profile == 0 {
        return (Cover::Water, 0.0, 1.0);
    }
    let p = profile - 1;
    let cover = FIELD_COVERS[(p / (PHASES * AMPS)) % FIELD_COVERS.len()].0;
    let phase = ((p / AMPS) % PHASES) as f64 - 12.0;
    let amp = 0.85 + 0.05 * (p % AMPS) as f64;
    (cover, phase, amp)
}

fn gauss(x: f64, mu: f64, sd: f64) -> f64 {
    (-0.5 * ((x - mu) / sd).powi(2)).exp()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// NDVI of a land cover on day of year `doy` (shifted by `phase` days).
pub(crate) fn ndvi(cover: Cover, doy: f64, phase: f64, amp: f64) -> f64 {
    let d = doy - phase;
    match cover {
        Cover::Water => -0.35,
        Cover::Wheat if d < 185.0 => 0.3 + 0.57 * amp * gauss(d, 135.0, 30.0),
        Cover::Wheat if d < 290.0 => 0.17,
        Cover::Wheat => 0.17 + 0.2 * ((d - 290.0) / 75.0).min(1.0),
        Cover::Maize => 0.16 + 0.7 * amp * gauss(d, 212.0, 28.0),
        Cover::Sunflower => 0.16 + 0.62 * amp * gauss(d, 190.0, 24.0),
        Cover::Soy => 0.17 + 0.68 * amp * gauss(d, 220.0, 26.0),
        Cover::Grass => 0.45 + 0.3 * amp * gauss(d, 150.0, 60.0),
        Cover::Forest => {
            0.5 + 0.38 * amp * logistic((d - 110.0) / 8.0) * logistic((290.0 - d) / 10.0)
        }
        Cover::Bare => 0.08 + 0.06 * amp * gauss(d, 160.0, 40.0),
    }
}

/// A profile's surface reflectance on one date and its SCL land class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spectrum {
    /// Reflectance per band (order of [`crate::bands::BANDS`]).
    pub refl: [f32; NB],
    /// SCL class: vegetation, not vegetated or water.
    pub class: u8,
}

/// The spectra of every profile on day of year `doy`.
pub(crate) fn spectra(doy: u32) -> Vec<Spectrum> {
    let doy = f64::from(doy);
    (0..PROFILES)
        .map(|p| {
            let (cover, phase, amp) = profile_params(p);
            let mut refl = [0f32; NB];
            if cover == Cover::Water {
                // Clear water; a little greener in summer (algae).
                let summer = gauss(doy, 200.0, 45.0);
                refl[BLUE] = 0.055;
                refl[GREEN] = (0.045 + 0.012 * summer) as f32;
                refl[RED] = 0.025;
                refl[NIR] = 0.012;
                return Spectrum {
                    refl,
                    class: scl::WATER,
                };
            }
            let v = ndvi(cover, doy, phase, amp);
            let s = 0.25 + 0.25 * v;
            let red = s * (1.0 - v) / 2.0;
            refl[RED] = red as f32;
            refl[NIR] = (s * (1.0 + v) / 2.0) as f32;
            refl[GREEN] = (0.5 * red + 0.03 + 0.04 * v) as f32;
            refl[BLUE] = (0.6 * red + 0.02) as f32;
            let class = if cover == Cover::Forest || v >= 0.4 {
                scl::VEGETATION
            } else {
                scl::NOT_VEGETATED
            };
            Spectrum { refl, class }
        })
        .collect()
}

/// The landscape of one seed and granule width.
#[derive(Debug, Clone)]
pub(crate) struct World {
    seed: u64,
    /// Granule width (m).
    w: f64,
    /// Field strip height (m); columns are 1.4 times as wide.
    field: f64,
    cos_t: f64,
    sin_t: f64,
    river_phase: (f64, f64),
    lake_phase: f64,
}

/// Salts that separate the uses of the seed.
mod salt {
    pub const STRIP: u64 = 0x5354_5249;
    pub const COLUMN: u64 = 0x434f_4c55;
    pub const FIELD: u64 = 0x4649_454c;
    pub const TEXTURE: u64 = 0x5445_5854;
    pub const SHAPES: u64 = 0x5348_4150;
}

impl World {
    /// The landscape for `seed` and granule width `w` metres.
    pub(crate) fn new(seed: u64, w: f64) -> Self {
        let two_pi = 2.0 * std::f64::consts::PI;
        let theta = 10f64.to_radians();
        World {
            seed,
            w,
            field: (w / 10.0).clamp(80.0, 400.0),
            cos_t: theta.cos(),
            sin_t: theta.sin(),
            river_phase: (
                two_pi * unit_at(seed ^ salt::SHAPES, &[1]),
                two_pi * unit_at(seed ^ salt::SHAPES, &[2]),
            ),
            lake_phase: two_pi * unit_at(seed ^ salt::SHAPES, &[3]),
        }
    }

    /// Index of the interval holding `x` among boundaries `k·step + jitter(k)`
    /// (jitter within ±step/4, so the answer is floor(x/step) or a neighbour).
    fn interval(&self, x: f64, step: f64, boundary_seed: u64, line: i64) -> i64 {
        let bound = |k: i64| {
            k as f64 * step + (unit_at(boundary_seed, &[line, k]) - 0.5) * 0.5 * step
        };
        let k = (x / step).floor() as i64;
        if x < bound(k) {
            k - 1
        } else if x >= bound(k + 1) {
            k + 1
        } else {
            k
        }
    }

    /// The field (strip, column) at a point (metres from the anchor, zone 33).
    fn field_at(&self, u: f64, v: f64) -> (i64, i64) {
        let p = u * self.cos_t + v * self.sin_t;
        let q = -u * self.sin_t + v * self.cos_t;
        let strip = self.interval(q, self.field, self.seed ^ salt::STRIP, 0);
        let width = 1.4 * self.field;
        let shift = unit_at(self.seed ^ salt::COLUMN, &[strip, -1]) * width;
        let column = self.interval(p - shift, width, self.seed ^ salt::COLUMN, strip);
        (strip, column)
    }

    /// Whether a point is water: the river or the lake.
    fn is_water(&self, u: f64, v: f64) -> bool {
        let w = self.w;
        let two_pi = 2.0 * std::f64::consts::PI;
        let centre = -0.22 * w
            + 0.07 * w * (two_pi * u / (0.8 * w) + self.river_phase.0).sin()
            + 0.02 * w * (two_pi * u / (0.23 * w) + self.river_phase.1).sin();
        if (v - centre).abs() < (0.012 * w).max(12.0) {
            return true;
        }
        let (dx, dy) = ((u + 0.92 * w) / (0.1 * w), (v - 0.12 * w) / (0.06 * w));
        let r = (dx * dx + dy * dy).sqrt();
        r < 1.0 + 0.15 * (3.0 * dy.atan2(dx) + self.lake_phase).sin()
    }

    /// The profile and brightness factor of the 10 m reference cell `(gi, gj)`
    /// (zone-33 easting and northing divided by 10, floored).
    pub(crate) fn cell(&self, gi: i64, gj: i64) -> (u16, f32) {
        let u = 10.0 * gi as f64 + 5.0 - ANCHOR_E;
        let v = 10.0 * gj as f64 + 5.0 - ANCHOR_N;
        let texture = 0.97 + 0.06 * unit_at(self.seed ^ salt::TEXTURE, &[gi, gj]);
        if self.is_water(u, v) {
            return (0, texture as f32);
        }
        let (strip, column) = self.field_at(u, v);
        let h = hash(self.seed ^ salt::FIELD, &[strip, column]);
        let pick = unit(h);
        let mut acc = 0.0;
        let mut cover = FIELD_COVERS.len() - 1;
        for (i, (_, p)) in FIELD_COVERS.iter().enumerate() {
            acc += p;
            if pick < acc {
                cover = i;
                break;
            }
        }
        let phase = ((h >> 8) % PHASES as u64) as usize;
        let amp = ((h >> 16) % AMPS as u64) as usize;
        let brightness = 0.88 + 0.24 * unit(mix_bits(h));
        let profile = 1 + (cover * PHASES + phase) * AMPS + amp;
        (profile as u16, (brightness * texture) as f32)
    }

    /// Whether a point is outside the orbit's swath (no data): west of the line
    /// through A's top edge at a quarter of its width, tilted 15° from north.
    pub(crate) fn is_nodata(&self, u: f64, v: f64) -> bool {
        let w = self.w;
        let edge = -w + (v - 0.375 * w) * 15f64.to_radians().tan();
        u < edge
    }
}

/// Fresh bits from a hash already used for other fields.
fn mix_bits(h: u64) -> u64 {
    crate::rng::mix(h ^ 0xa5a5_a5a5_a5a5_a5a5)
}

/// The static part of one granule: per 10 m pixel its reference cell, profile and
/// brightness; per 20 m pixel its centre in the reference frame and no-data flag.
#[derive(Debug, Clone)]
pub(crate) struct Ground {
    /// Width = height in 10 m pixels.
    pub size: usize,
    /// Reference cells `(gi, gj)` per 10 m pixel (row-major).
    pub cells: Vec<(i64, i64)>,
    /// Profile per 10 m pixel.
    pub profile: Vec<u16>,
    /// Brightness factor per 10 m pixel.
    pub factor: Vec<f32>,
    /// Centre of each 20 m pixel, metres from the anchor in zone 33.
    pub centres20: Vec<(f64, f64)>,
    /// No data (outside the swath) per 20 m pixel.
    pub nodata20: Vec<bool>,
}

impl Ground {
    /// Sample the world on a granule's grids.
    pub(crate) fn new(world: &World, g: &Granule) -> Self {
        let n = g.size;
        let half = n / 2;
        let utm = Utm::wgs84();
        // Zone-33 coordinates of a point of the granule's zone.
        let to_reference = |e: f64, nn: f64| {
            if g.zone == REFERENCE_ZONE {
                (e, nn)
            } else {
                let (lon, lat) = utm.inverse(g.zone, e, nn);
                utm.forward(REFERENCE_ZONE, lon, lat)
            }
        };
        let x0_cells = (g.x0 / 10.0).round() as i64;
        let top_cells = (g.top / 10.0).round() as i64;
        let mut cells = Vec::with_capacity(n * n);
        for row in 0..n {
            for col in 0..n {
                let cell = if g.zone == REFERENCE_ZONE {
                    (x0_cells + col as i64, top_cells - row as i64 - 1)
                } else {
                    let (e, nn) = to_reference(
                        g.x0 + 10.0 * col as f64 + 5.0,
                        g.top - 10.0 * row as f64 - 5.0,
                    );
                    ((e / 10.0).floor() as i64, (nn / 10.0).floor() as i64)
                };
                cells.push(cell);
            }
        }
        let (profile, factor) = cells.iter().map(|&(gi, gj)| world.cell(gi, gj)).unzip();
        let mut centres20 = Vec::with_capacity(half * half);
        for row in 0..half {
            for col in 0..half {
                let (e, nn) = to_reference(
                    g.x0 + 20.0 * col as f64 + 10.0,
                    g.top - 20.0 * row as f64 - 10.0,
                );
                centres20.push((e - ANCHOR_E, nn - ANCHOR_N));
            }
        }
        let nodata20 = centres20
            .iter()
            .map(|&(u, v)| world.is_nodata(u, v))
            .collect();
        Ground {
            size: n,
            cells,
            profile,
            factor,
            centres20,
            nodata20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndvi_peaks_in_summer() {
        for cover in [Cover::Maize, Cover::Sunflower, Cover::Soy, Cover::Forest] {
            let winter = ndvi(cover, 20.0, 0.0, 1.0);
            let summer = ndvi(cover, 200.0, 0.0, 1.0);
            assert!(summer > winter + 0.25, "{cover:?}: {winter} → {summer}");
            assert!(summer > 0.6, "{cover:?}");
        }
        // Wheat peaks in May and is bare after the harvest.
        assert!(ndvi(Cover::Wheat, 135.0, 0.0, 1.0) > 0.8);
        assert!(ndvi(Cover::Wheat, 220.0, 0.0, 1.0) < 0.2);
    }

    #[test]
    fn spectra_are_plausible() {
        let table = spectra(200);
        assert_eq!(table.len(), PROFILES);
        for (p, s) in table.iter().enumerate() {
            for r in s.refl {
                assert!((0.005..0.6).contains(&r), "profile {p}: {s:?}");
            }
            let v = (s.refl[NIR] - s.refl[RED]) / (s.refl[NIR] + s.refl[RED]);
            match s.class {
                scl::WATER => assert!(v < 0.0),
                scl::VEGETATION => assert!(v > 0.35, "profile {p}: {v}"),
                _ => assert!(v < 0.4),
            }
        }
    }

    #[test]
    fn the_world_has_every_cover() {
        let world = World::new(7, 2560.0);
        let mut seen = [0usize; 8];
        let x0 = ((ANCHOR_E - 3200.0) / 10.0) as i64;
        let y0 = (ANCHOR_N / 10.0) as i64;
        for j in -128..128 {
            for i in 0..320 {
                let (p, _) = world.cell(x0 + i, y0 + j);
                let cover = profile_params(usize::from(p)).0;
                seen[cover as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        let water = seen[0] as f64 / (256.0 * 320.0);
        assert!((0.01..0.15).contains(&water), "{water}");
    }
}
