//! Calendar arithmetic for time axes: UTC dates from milliseconds since the Unix epoch,
//! by hand (proleptic Gregorian calendar, H. Hinnant's `civil_from_days`), and tick
//! positions on round dates.

/// Milliseconds in a second, minute, hour and day.
const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in milliseconds: the dates a
/// time axis can label with four-digit years.
pub(crate) const MIN_MS: f64 = -62_167_219_200_000.0;
pub(crate) const MAX_MS: f64 = 253_402_300_799_999.0;

/// Year, month (1–12) and day (1–31) of day `z` since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Day since 1970-01-01 of year `y`, month `m` (1–12), day `d`.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The spacing of ticks on a time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Every so many milliseconds (below a day), aligned on multiples since the epoch.
    Millis(i64),
    /// Days of the month 1, 1+n, 1+2n… (each month starts anew).
    Days(i64),
    /// The first of every n-th month (January, then every n months).
    Months(i64),
    /// January 1st of years divisible by n.
    Years(i64),
}

impl Step {
    /// Nominal length in milliseconds, to count ticks.
    fn nominal(self) -> f64 {
        match self {
            Step::Millis(n) => n as f64,
            Step::Days(n) => (n * DAY) as f64,
            Step::Months(n) => n as f64 * 30.436_875 * DAY as f64,
            Step::Years(n) => n as f64 * 365.2425 * DAY as f64,
        }
    }

    /// The label of a tick at `ms`: the date, with the time of day for steps below a
    /// day (and the seconds below a minute).
    pub(crate) fn label(self, ms: f64) -> String {
        let ms = ms.round() as i64;
        let day = ms.div_euclid(DAY);
        let (y, m, d) = civil_from_days(day);
        let date = format!("{y:04}-{m:02}-{d:02}");
        let t = ms.rem_euclid(DAY);
        match self {
            Step::Millis(n) if n < MINUTE => format!(
                "{date} {:02}:{:02}:{:02}",
                t / HOUR,
                t % HOUR / MINUTE,
                t % MINUTE / SECOND
            ),
            Step::Millis(_) => format!("{date} {:02}:{:02}", t / HOUR, t % HOUR / MINUTE),
            _ => date,
        }
    }
}

/// The candidate steps, finest first.
fn steps() -> impl Iterator<Item = Step> {
    let millis = [
        SECOND,
        2 * SECOND,
        5 * SECOND,
        10 * SECOND,
        15 * SECOND,
        30 * SECOND,
        MINUTE,
        2 * MINUTE,
        5 * MINUTE,
        10 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        HOUR,
        2 * HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
    ];
    let years = (0..5).flat_map(|e| [1, 2, 5].map(|k| k * 10i64.pow(e)));
    millis
        .into_iter()
        .map(Step::Millis)
        .chain([1, 2, 5, 10, 15].map(Step::Days))
        .chain([1, 2, 3, 6].map(Step::Months))
        .chain(years.map(Step::Years))
}

/// The finest step that puts at most `max_ticks` ticks on `start..=end` (ms).
pub(crate) fn choose_step(start: f64, end: f64, max_ticks: usize) -> Step {
    let span = (end - start).abs();
    let max_ticks = max_ticks.max(1) as f64;
    steps()
        .find(|s| span / s.nominal() <= max_ticks)
        .unwrap_or(Step::Years(100_000))
}

/// Tick positions (ms) of `step` within `start..=end`; both lie within
/// [`MIN_MS`]..=[`MAX_MS`].
pub(crate) fn ticks(start: f64, end: f64, step: Step) -> Vec<f64> {
    let (lo, hi) = (start.floor() as i64, end.ceil() as i64);
    let inside = |t: i64| t >= lo && t <= hi;
    let mut out = Vec::new();
    match step {
        Step::Millis(n) => {
            let mut t = lo.div_euclid(n) * n;
            while t <= hi {
                if inside(t) {
                    out.push(t as f64);
                }
                t += n;
            }
        }
        Step::Days(n) => {
            for day in lo.div_euclid(DAY)..=hi.div_euclid(DAY) {
                let (_, _, d) = civil_from_days(day);
                let on_grid = n == 1 || ((d - 1) % n == 0 && d + n <= 32);
                if on_grid && inside(day * DAY) {
                    out.push((day * DAY) as f64);
                }
            }
        }
        Step::Months(n) => {
            let (y0, m0, _) = civil_from_days(lo.div_euclid(DAY));
            let (y1, m1, _) = civil_from_days(hi.div_euclid(DAY));
            for k in (y0 * 12 + m0 - 1)..=(y1 * 12 + m1 - 1) {
                let (y, m) = (k.div_euclid(12), k.rem_euclid(12) + 1);
                let t = days_from_civil(y, m, 1) * DAY;
                if (m - 1) % n == 0 && inside(t) {
                    out.push(t as f64);
                }
            }
        }
        Step::Years(n) => {
            let (y0, _, _) = civil_from_days(lo.div_euclid(DAY));
            let (y1, _, _) = civil_from_days(hi.div_euclid(DAY));
            let mut y = y0.div_euclid(n) * n;
            while y <= y1 {
                let t = days_from_civil(y, 1, 1) * DAY;
                if inside(t) {
                    out.push(t as f64);
                }
                y += n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_days() {
        // 1970-01-01 is day 0; 2000-03-01 is day 11017; 2024-02-29 is day 19782;
        // 1969-12-31 is day -1 (`date -u -d @$((19782*86400))` and friends).
        for (day, ymd) in [
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (11_017, (2000, 3, 1)),
            (19_782, (2024, 2, 29)),
            (-719_528, (0, 1, 1)),
        ] {
            assert_eq!(civil_from_days(day), ymd, "day {day}");
            assert_eq!(days_from_civil(ymd.0, ymd.1, ymd.2), day);
        }
        assert_eq!(Step::Days(1).label(19_782.0 * DAY as f64), "2024-02-29");
        assert_eq!(
            Step::Millis(HOUR).label(19_782.0 * DAY as f64 + 13.5 * HOUR as f64),
            "2024-02-29 13:30"
        );
        assert_eq!(MIN_MS, (days_from_civil(0, 1, 1) * DAY) as f64);
        assert_eq!(MAX_MS, (days_from_civil(10_000, 1, 1) * DAY - 1) as f64);
    }

    #[test]
    fn ticks_fall_on_round_dates() {
        let day = |y, m, d| (days_from_civil(y, m, d) * DAY) as f64;
        // A year of data, at most 8 ticks: every 2 months.
        let (start, end) = (day(2023, 1, 10), day(2023, 12, 20));
        let step = choose_step(start, end, 8);
        assert_eq!(step, Step::Months(2));
        let labels: Vec<String> = ticks(start, end, step)
            .into_iter()
            .map(|t| step.label(t))
            .collect();
        assert_eq!(
            labels,
            [
                "2023-03-01",
                "2023-05-01",
                "2023-07-01",
                "2023-09-01",
                "2023-11-01"
            ]
        );
        // Ten years, at most 6 ticks: every 2 years.
        let step = choose_step(day(2015, 6, 1), day(2025, 6, 1), 6);
        assert_eq!(step, Step::Years(2));
        // A month, at most 4 ticks: days 1, 11, 21.
        let (start, end) = (day(2024, 3, 1), day(2024, 3, 31));
        let step = choose_step(start, end, 4);
        assert_eq!(step, Step::Days(10));
        let got = ticks(start, end, step);
        assert_eq!(got, [day(2024, 3, 1), day(2024, 3, 11), day(2024, 3, 21)]);
    }
}
