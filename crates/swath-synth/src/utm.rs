//! UTM (northern hemisphere, WGS 84) both ways with Krüger's series to sixth order
//! in the third flattening (Karney 2011, "Transverse Mercator with an accuracy of a
//! few nanometers"), and MGRS 100 km square names. Accurate to well under a
//! millimetre within a zone, far below the 1 m the footprints need.

/// WGS 84 semi-major axis (m).
const A: f64 = 6_378_137.0;
/// WGS 84 flattening.
const F: f64 = 1.0 / 298.257_223_563;
/// UTM scale factor on the central meridian.
const K0: f64 = 0.9996;
/// UTM false easting (m).
const FALSE_EASTING: f64 = 500_000.0;

/// The series coefficients of the WGS 84 ellipsoid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Utm {
    /// Rectifying radius times k0.
    ka: f64,
    /// First eccentricity.
    e: f64,
    /// Forward coefficients α1..α6.
    alpha: [f64; 6],
    /// Inverse coefficients β1..β6.
    beta: [f64; 6],
}

impl Utm {
    /// The WGS 84 coefficients.
    pub(crate) fn wgs84() -> Self {
        let n = F / (2.0 - F);
        let (n2, n3) = (n * n, n * n * n);
        let (n4, n5, n6) = (n2 * n2, n2 * n3, n3 * n3);
        let rect = A / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0
                - 127.0 * n5 / 288.0
                + 7891.0 * n6 / 37800.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0 + 281.0 * n5 / 630.0
                - 1_983_433.0 * n6 / 1_935_360.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0
                + 15061.0 * n5 / 26880.0
                + 167_603.0 * n6 / 181_440.0,
            49561.0 * n4 / 161_280.0 - 179.0 * n5 / 168.0
                + 6_601_661.0 * n6 / 7_257_600.0,
            34729.0 * n5 / 80640.0 - 3_418_889.0 * n6 / 1_995_840.0,
            212_378_941.0 * n6 / 319_334_400.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0 - 81.0 * n5 / 512.0
                + 96199.0 * n6 / 604_800.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0 + 46.0 * n5 / 105.0
                - 1_118_711.0 * n6 / 3_870_720.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0 - 209.0 * n5 / 4480.0
                + 5569.0 * n6 / 90720.0,
            4397.0 * n4 / 161_280.0 - 11.0 * n5 / 504.0 - 830_251.0 * n6 / 7_257_600.0,
            4583.0 * n5 / 161_280.0 - 108_847.0 * n6 / 3_991_680.0,
            20_648_693.0 * n6 / 638_668_800.0,
        ];
        Utm {
            ka: K0 * rect,
            e: (F * (2.0 - F)).sqrt(),
            alpha,
            beta,
        }
    }

    /// Longitude and latitude (degrees) to easting and northing in `zone` (north).
    pub(crate) fn forward(&self, zone: u8, lon: f64, lat: f64) -> (f64, f64) {
        let lam = (lon - central_meridian(zone)).to_radians();
        let phi = lat.to_radians();
        let sin_phi = phi.sin();
        // Conformal latitude as its tangent.
        let t = (sin_phi.atanh() - self.e * (self.e * sin_phi).atanh()).sinh();
        let xi_p = t.atan2(lam.cos());
        let eta_p = (lam.sin() / (1.0 + t * t).sqrt()).atanh();
        let (mut xi, mut eta) = (xi_p, eta_p);
        for (j, a) in self.alpha.iter().enumerate() {
            let k = 2.0 * (j + 1) as f64;
            xi += a * (k * xi_p).sin() * (k * eta_p).cosh();
            eta += a * (k * xi_p).cos() * (k * eta_p).sinh();
        }
        (FALSE_EASTING + self.ka * eta, self.ka * xi)
    }

    /// Easting and northing in `zone` (north) to longitude and latitude (degrees).
    pub(crate) fn inverse(&self, zone: u8, easting: f64, northing: f64) -> (f64, f64) {
        let xi = northing / self.ka;
        let eta = (easting - FALSE_EASTING) / self.ka;
        let (mut xi_p, mut eta_p) = (xi, eta);
        for (j, b) in self.beta.iter().enumerate() {
            let k = 2.0 * (j + 1) as f64;
            xi_p -= b * (k * xi).sin() * (k * eta).cosh();
            eta_p -= b * (k * xi).cos() * (k * eta).sinh();
        }
        let lam = eta_p.sinh().atan2(xi_p.cos());
        // Tangent of the conformal latitude, then Newton for the geodetic one.
        let tau_p = xi_p.sin() / (eta_p.sinh().powi(2) + xi_p.cos().powi(2)).sqrt();
        let e2 = self.e * self.e;
        let mut tau = tau_p;
        for _ in 0..8 {
            let sigma =
                (self.e * (self.e * tau / (1.0 + tau * tau).sqrt()).atanh()).sinh();
            let tau_i =
                tau * (1.0 + sigma * sigma).sqrt() - sigma * (1.0 + tau * tau).sqrt();
            let d = (tau_p - tau_i) / (1.0 + tau_i * tau_i).sqrt()
                * (1.0 + (1.0 - e2) * tau * tau)
                / ((1.0 - e2) * (1.0 + tau * tau).sqrt());
            tau += d;
            if d.abs() < 1e-14 {
                break;
            }
        }
        (
            central_meridian(zone) + lam.to_degrees(),
            tau.atan().to_degrees(),
        )
    }
}

/// The central meridian of a UTM zone (degrees).
pub(crate) fn central_meridian(zone: u8) -> f64 {
    f64::from(zone) * 6.0 - 183.0
}

/// The MGRS name of the 100 km square holding a point: zone, latitude band and the
/// two square letters (`33TYK`). Northern hemisphere, 8° latitude bands C–X.
pub(crate) fn mgrs_square(zone: u8, lat: f64, easting: f64, northing: f64) -> String {
    const BANDS: &[u8] = b"CDEFGHJKLMNPQRSTUVWX";
    const ROWS: &[u8] = b"ABCDEFGHJKLMNPQRSTUV";
    let band = BANDS[(((lat + 80.0) / 8.0).floor().clamp(0.0, 19.0)) as usize] as char;
    let columns: &[u8] = match zone % 3 {
        1 => b"ABCDEFGH",
        2 => b"JKLMNPQR",
        _ => b"STUVWXYZ",
    };
    let col = ((easting / 100_000.0).floor() as i64 - 1).clamp(0, 7) as usize;
    let row_offset = if zone.is_multiple_of(2) { 5 } else { 0 };
    let row =
        ((northing / 100_000.0).floor() as i64 + row_offset).rem_euclid(20) as usize;
    format!("{zone}{band}{}{}", columns[col] as char, ROWS[row] as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (zone, easting, northing, lon, lat) computed by PROJ 9 (pyproj 3.7,
    /// `Transformer.from_crs(326zz, 4326)`), plus one corner published in an Earth
    /// Search item (tests/fixtures/stac/earth-search: 33UUP's (300000, 5400000) is
    /// 12.280641502434047° E 48.720914867879124° N there, 2e-9° from PROJ).
    const PAIRS: &[(u8, f64, f64, f64, f64)] = &[
        (
            33,
            736_000.0,
            5_000_000.0,
            18.000_304_506_176,
            45.114_049_882_525,
        ),
        (
            33,
            600_000.0,
            5_000_040.0,
            16.272_040_967_763,
            45.146_752_855_093,
        ),
        (
            33,
            300_000.0,
            5_400_000.0,
            12.280_641_504_785,
            48.720_914_868_993,
        ),
        (
            33,
            263_000.0,
            4_990_000.0,
            11.991_723_296_779,
            45.023_821_620_770,
        ),
        (33, 500_000.0, 4_982_950.400_227, 15.0, 45.0),
        (33, 736_446.026_101, 4_987_329.504_699, 18.0, 45.0),
        (33, 297_434.213_544, 5_286_488.741_379, 12.3, 47.7),
        (34, 264_023.985_012, 5_000_000.0, 18.0, 45.114_057_888_932),
    ];

    #[test]
    fn inverse_matches_proj() {
        let utm = Utm::wgs84();
        for &(zone, e, n, lon, lat) in PAIRS {
            let (x, y) = utm.inverse(zone, e, n);
            assert!((x - lon).abs() < 1e-9, "lon {x} vs {lon} at {e} {n}");
            assert!((y - lat).abs() < 1e-9, "lat {y} vs {lat} at {e} {n}");
        }
        let (lon, lat) = utm.inverse(33, 300_000.0, 5_400_000.0);
        assert!((lon - 12.280_641_502_434_047).abs() < 1e-8);
        assert!((lat - 48.720_914_867_879_124).abs() < 1e-8);
    }

    #[test]
    fn forward_matches_proj() {
        let utm = Utm::wgs84();
        for &(zone, e, n, lon, lat) in PAIRS {
            let (x, y) = utm.forward(zone, lon, lat);
            assert!((x - e).abs() < 1e-3, "easting {x} vs {e}");
            assert!((y - n).abs() < 1e-3, "northing {y} vs {n}");
        }
    }

    #[test]
    fn round_trip_across_a_zone() {
        let utm = Utm::wgs84();
        for i in 0..50 {
            let e = 200_000.0 + 12_345.6 * f64::from(i);
            let n = 4_000_000.0 + 55_555.5 * f64::from(i);
            let (lon, lat) = utm.inverse(33, e, n);
            let (x, y) = utm.forward(33, lon, lat);
            assert!((x - e).abs() < 1e-6 && (y - n).abs() < 1e-6, "{e} {n}");
        }
    }

    #[test]
    fn mgrs_squares() {
        // Tiles of the Earth Search fixtures and around 18° E 45° N.
        assert_eq!(mgrs_square(33, 48.2, 350_000.0, 5_350_000.0), "33UUP");
        assert_eq!(mgrs_square(33, 48.2, 450_000.0, 5_350_000.0), "33UVP");
        assert_eq!(mgrs_square(34, 49.1, 350_000.0, 5_450_000.0), "34UCV");
        assert_eq!(mgrs_square(33, 45.1, 730_000.0, 4_999_000.0), "33TYK");
        assert_eq!(mgrs_square(33, 45.1, 730_000.0, 5_001_000.0), "33TYL");
        assert_eq!(mgrs_square(34, 45.1, 266_000.0, 5_001_000.0), "34TBR");
    }
}
