//! Where the granules are: three small Sentinel-2-like granules around the UTM zone
//! 33/34 boundary (18° E) at about 45.1° N.
//!
//! Everything is placed relative to the *anchor*, the point on 18° E whose zone-33
//! northing is 5 000 000 m (45.114° N; zone-33 easting 735 976 m, rounded to
//! 735 980). With `W` the granule width (`size` × 10 m), all offsets rounded to 20 m
//! so that the 10 m and 20 m grids of A and B coincide:
//!
//! - A (EPSG:32633): x from anchor − 1.25 W, top at anchor + 3/8 W. Its centre is
//!   south of northing 5 000 000, in MGRS square 33TYK.
//! - B (EPSG:32633): A shifted by (+W/2, +W/4), same datatake (same datetime);
//!   centre north of 5 000 000, square 33TYL. A and B overlap on W/2 × 3W/4.
//! - C (EPSG:32634): centred on the point (anchor + 0.3 W, anchor + W/8) of zone 33,
//!   expressed in zone 34 (square 34TBR): it straddles 18° E and overlaps the
//!   eastern 45 % of B (not A), on a grid rotated by ~4.2° against zone 33's (the
//!   two zones' meridian convergence). It is acquired 2.617 s after A and B.

use crate::spec::SynthSpec;
use crate::utm::{Utm, mgrs_square};

/// Zone-33 easting of the anchor (18° E at northing 5 000 000), rounded to 20 m.
pub(crate) const ANCHOR_E: f64 = 735_980.0;
/// Zone-33 northing of the anchor.
pub(crate) const ANCHOR_N: f64 = 5_000_000.0;
/// The zone of the reference frame the landscape is defined in.
pub(crate) const REFERENCE_ZONE: u8 = 33;

/// One granule: a square of `size` × `size` 10 m pixels in a UTM zone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Granule {
    /// MGRS tile name (`33TYK`).
    pub name: String,
    /// UTM zone (north).
    pub zone: u8,
    /// EPSG code (326zz).
    pub epsg: u32,
    /// Easting of the left edge (m, a multiple of 20).
    pub x0: f64,
    /// Northing of the top edge (m, a multiple of 20).
    pub top: f64,
    /// Width = height in 10 m pixels.
    pub size: usize,
    /// Acquisition time after the datatake's first granule (ms).
    pub time_offset_ms: i64,
    /// Corners as (lon, lat): upper-left, lower-left, lower-right, upper-right.
    pub corners: [(f64, f64); 4],
    /// The lon/lat bounding box of the footprint.
    pub bbox: [f64; 4],
    /// The footprint's centre (lon, lat).
    pub centre: (f64, f64),
}

impl Granule {
    /// The corner-based affine transform (rasterio order) at `resolution` metres.
    pub(crate) fn transform(&self, resolution: f64) -> [f64; 6] {
        [resolution, 0.0, self.x0, 0.0, -resolution, self.top]
    }

    /// `mgrs:utm_zone`, `mgrs:latitude_band`, `mgrs:grid_square` from the name.
    pub(crate) fn mgrs_parts(&self) -> (u8, String, String) {
        let band = self.name.get(2..3).unwrap_or("").to_string();
        let square = self.name.get(3..5).unwrap_or("").to_string();
        (self.zone, band, square)
    }
}

/// Round to a multiple of 20 m.
fn round20(x: f64) -> f64 {
    (x / 20.0).round() * 20.0
}

/// The granules of a spec: A and B, and C when `second_zone`.
pub(crate) fn layout(spec: &SynthSpec) -> Vec<Granule> {
    let utm = Utm::wgs84();
    let w = spec.width_m();
    let a_x0 = ANCHOR_E + round20(-1.25 * w);
    let a_top = ANCHOR_N + round20(0.375 * w);
    let mut granules = vec![
        granule(&utm, spec, REFERENCE_ZONE, a_x0, a_top, 0),
        granule(
            &utm,
            spec,
            REFERENCE_ZONE,
            a_x0 + round20(0.5 * w),
            a_top + round20(0.25 * w),
            0,
        ),
    ];
    if spec.second_zone {
        let (lon, lat) =
            utm.inverse(REFERENCE_ZONE, ANCHOR_E + 0.3 * w, ANCHOR_N + 0.125 * w);
        let (e, n) = utm.forward(34, lon, lat);
        granules.push(granule(
            &utm,
            spec,
            34,
            round20(e - 0.5 * w),
            round20(n + 0.5 * w),
            2_617,
        ));
    }
    granules
}

fn granule(
    utm: &Utm,
    spec: &SynthSpec,
    zone: u8,
    x0: f64,
    top: f64,
    time_offset_ms: i64,
) -> Granule {
    let w = spec.width_m();
    let corner = |e: f64, n: f64| utm.inverse(zone, e, n);
    let corners = [
        corner(x0, top),
        corner(x0, top - w),
        corner(x0 + w, top - w),
        corner(x0 + w, top),
    ];
    // The bbox over densified edges (UTM edges are slightly curved in lon/lat).
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let steps = 16;
    for i in 0..=steps {
        let t = w * f64::from(i) / f64::from(steps);
        for (e, n) in [
            (x0 + t, top),
            (x0 + t, top - w),
            (x0, top - t),
            (x0 + w, top - t),
        ] {
            let (lon, lat) = corner(e, n);
            bbox = [
                bbox[0].min(lon),
                bbox[1].min(lat),
                bbox[2].max(lon),
                bbox[3].max(lat),
            ];
        }
    }
    let (ce, cn) = (x0 + 0.5 * w, top - 0.5 * w);
    let centre = corner(ce, cn);
    Granule {
        name: mgrs_square(zone, centre.1, ce, cn),
        zone,
        epsg: 32600 + u32::from(zone),
        x0,
        top,
        size: spec.size as usize,
        time_offset_ms,
        corners,
        bbox,
        centre,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_is_on_18_east() {
        let (lon, lat) = Utm::wgs84().inverse(33, ANCHOR_E, ANCHOR_N);
        assert!((lon - 18.0).abs() < 0.001, "{lon}");
        assert!((lat - 45.114).abs() < 0.001, "{lat}");
    }

    #[test]
    fn granules_overlap_as_documented() {
        for spec in [SynthSpec::tiny(), SynthSpec::small(), SynthSpec::demo()] {
            let g = layout(&spec);
            let names: Vec<&str> = g.iter().map(|g| g.name.as_str()).collect();
            assert_eq!(names, ["33TYK", "33TYL", "34TBR"]);
            let w = spec.width_m();
            for granule in &g {
                assert_eq!(granule.x0 % 20.0, 0.0);
                assert_eq!(granule.top % 20.0, 0.0);
            }
            assert_eq!(g[1].x0 - g[0].x0, w / 2.0);
            assert_eq!(g[1].top - g[0].top, w / 4.0);
            // C straddles 18° E and overlaps B in longitude.
            assert!(g[2].bbox[0] < 18.0 && g[2].bbox[2] > 18.0);
            assert!(g[2].bbox[0] < g[1].bbox[2]);
            assert!(g[2].bbox[1] < g[1].bbox[3] && g[1].bbox[1] < g[2].bbox[3]);
            // A does not reach C.
            assert!(g[0].bbox[2] < g[2].bbox[0]);
        }
    }
}
