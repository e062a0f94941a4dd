//! Calendar arithmetic (proleptic Gregorian, UTC) and the sun's position, without
//! a date library: acquisition dates, RFC 3339 timestamps, day of year, and the sun
//! angles that set cloud-shadow directions and `view:sun_*`.

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Whether `(y, m, d)` names a real day.
pub(crate) fn is_valid_date(y: i32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m)
        && d >= 1
        && civil_from_days(days_from_civil(y, m, d)) == (y, m, d)
}

/// Day of the year, 1-based.
pub(crate) fn day_of_year(days: i64) -> u32 {
    let (y, _, _) = civil_from_days(days);
    (days - days_from_civil(y, 1, 1) + 1) as u32
}

/// `YYYYMMDD` of a day number (item ids).
pub(crate) fn compact_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}")
}

/// RFC 3339 UTC with microseconds, as Earth Search writes it
/// (`2023-06-12T10:17:33.845000Z`).
pub(crate) fn rfc3339(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(DAY_MS);
    let ms = epoch_ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}000Z")
}

/// The sun's azimuth (degrees clockwise from north) and elevation (degrees) at an
/// instant and place (NOAA's low-precision formulas, within ~0.1°).
pub(crate) fn sun_position(epoch_ms: i64, lon: f64, lat: f64) -> (f64, f64) {
    let days = epoch_ms.div_euclid(DAY_MS);
    let hours = epoch_ms.rem_euclid(DAY_MS) as f64 / 3_600_000.0;
    let doy = f64::from(day_of_year(days));
    let g = 2.0 * std::f64::consts::PI / 365.0 * (doy - 1.0 + (hours - 12.0) / 24.0);
    let eqtime = 229.18
        * (0.000_075 + 0.001_868 * g.cos()
            - 0.032_077 * g.sin()
            - 0.014_615 * (2.0 * g).cos()
            - 0.040_849 * (2.0 * g).sin());
    let decl = 0.006_918 - 0.399_912 * g.cos() + 0.070_257 * g.sin()
        - 0.006_758 * (2.0 * g).cos()
        + 0.000_907 * (2.0 * g).sin()
        - 0.002_697 * (3.0 * g).cos()
        + 0.001_48 * (3.0 * g).sin();
    let solar_minutes = hours * 60.0 + eqtime + 4.0 * lon;
    let ha = (solar_minutes / 4.0 - 180.0).to_radians();
    let phi = lat.to_radians();
    let sin_el = phi.sin() * decl.sin() + phi.cos() * decl.cos() * ha.cos();
    let el = sin_el.clamp(-1.0, 1.0).asin();
    let az = ha
        .sin()
        .atan2(ha.cos() * phi.sin() - decl.tan() * phi.cos())
        .to_degrees()
        + 180.0;
    (az.rem_euclid(360.0), el.to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2023, 6, 12), 19_520);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        for z in -1000..30_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(day_of_year(days_from_civil(2024, 12, 31)), 366);
        assert_eq!(day_of_year(days_from_civil(2023, 1, 1)), 1);
        assert!(is_valid_date(2024, 2, 29));
        assert!(!is_valid_date(2023, 2, 29));
        assert!(!is_valid_date(2023, 13, 1));
        assert!(!is_valid_date(2023, 4, 0));
    }

    #[test]
    fn timestamps_look_like_earth_search() {
        let t =
            days_from_civil(2023, 6, 12) * DAY_MS + 10 * 3_600_000 + 17 * 60_000 + 33_845;
        assert_eq!(rfc3339(t), "2023-06-12T10:17:33.845000Z");
        assert_eq!(compact_date(days_from_civil(2023, 6, 12)), "20230612");
    }

    #[test]
    fn sun_matches_a_published_item() {
        // Earth Search S2A_33UUP_20230612_0_L2A: 10:17:33.845 UTC, granule centre
        // about 13.05° E 48.24° N; view:sun_azimuth 154.19, view:sun_elevation 63.00.
        let t =
            days_from_civil(2023, 6, 12) * DAY_MS + 10 * 3_600_000 + 17 * 60_000 + 33_845;
        let (az, el) = sun_position(t, 13.05, 48.24);
        assert!((az - 154.19).abs() < 1.0, "azimuth {az}");
        assert!((el - 63.00).abs() < 0.5, "elevation {el}");
    }
}
