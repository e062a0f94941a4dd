//! How raster values map to display levels 0..=255.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, invalid};

/// How the values of a band map to 0..=255.
///
/// Every stretch picks a `low` and a `high` value per band; a value `v` becomes
/// `round(255 × (v − low) / (high − low))`, clamped to 0..=255, with halves rounded
/// away from zero (127.5 → 128). When `low == high` (a constant band) values below
/// become 0, equal values 128 (mid-grey) and values above 255.
///
/// The text form ([`FromStr`], [`fmt::Display`]) is `percentile:LOW,HIGH` (or just
/// `percentile` for 2,98), `minmax` and `range:MIN,MAX`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stretch {
    /// `low` and `high` are these percentiles (0–100) of the band's valid pixels,
    /// computed as numpy's default (`method="linear"`): the value at fractional rank
    /// `p / 100 × (n − 1)` of the sorted values, interpolated between neighbours.
    Percentile {
        /// Lower percentile, maps to 0.
        low: f64,
        /// Upper percentile, maps to 255.
        high: f64,
    },
    /// `low` and `high` are the band's smallest and largest valid values.
    MinMax,
    /// The same fixed `low` and `high` for every band.
    Range {
        /// Maps to 0.
        min: f64,
        /// Maps to 255.
        max: f64,
    },
}

impl Default for Stretch {
    /// The 2nd to 98th percentile, as most quicklook tools.
    fn default() -> Self {
        Stretch::Percentile {
            low: 2.0,
            high: 98.0,
        }
    }
}

impl Stretch {
    /// Check the parameters: percentiles within 0..=100 with `low < high`, a range of
    /// finite values with `min < max`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Stretch::Percentile { low, high } => {
                if !(0.0..=100.0).contains(&low) || !(0.0..=100.0).contains(&high) {
                    return Err(invalid!(
                        "percentiles must be within 0 and 100, got {low} and {high}"
                    ));
                }
                if low >= high {
                    return Err(invalid!(
                        "the low percentile ({low}) must be below the high one ({high})"
                    ));
                }
            }
            Stretch::MinMax => {}
            Stretch::Range { min, max } => {
                if !min.is_finite() || !max.is_finite() {
                    return Err(invalid!(
                        "a range needs finite bounds, got {min} and {max}"
                    ));
                }
                if min >= max {
                    return Err(invalid!(
                        "the range minimum ({min}) must be below its maximum ({max})"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `(low, high)` of `values` (NaN and infinities are skipped), or None when no
    /// value is finite. Reorders `values`.
    pub(crate) fn bounds(&self, values: &mut Vec<f32>) -> Option<(f64, f64)> {
        if let Stretch::Range { min, max } = *self {
            return Some((min, max));
        }
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return None;
        }
        match *self {
            Stretch::Percentile { low, high } => {
                Some((percentile(values, low), percentile(values, high)))
            }
            _ => {
                let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                Some((f64::from(lo), f64::from(hi)))
            }
        }
    }
}

/// The display level of `v` for the bounds `(low, high)` (see [`Stretch`]).
pub(crate) fn level(v: f64, low: f64, high: f64) -> u8 {
    if low == high {
        return match v.partial_cmp(&low) {
            Some(std::cmp::Ordering::Less) => 0,
            Some(std::cmp::Ordering::Greater) => 255,
            _ => 128,
        };
    }
    // In 0..=255 after the clamp, so the cast is exact.
    (255.0 * (v - low) / (high - low)).clamp(0.0, 255.0).round() as u8
}

/// numpy's `percentile(values, p)` with the default linear interpolation: the value at
/// rank `h = p / 100 × (n − 1)` is `x[⌊h⌋] + (h − ⌊h⌋) × (x[⌊h⌋ + 1] − x[⌊h⌋])` of the
/// sorted values. `values` is non-empty and finite; it is partially reordered (O(n)).
pub(crate) fn percentile(values: &mut [f32], p: f64) -> f64 {
    let n = values.len();
    let h = p / 100.0 * (n - 1) as f64;
    // h is within 0..=n-1, so the floor is a valid index.
    let k = (h.floor() as usize).min(n - 1);
    let frac = h - k as f64;
    let (_, &mut at_k, above) = values.select_nth_unstable_by(k, f32::total_cmp);
    let lo = f64::from(at_k);
    match above.iter().copied().reduce(f32::min) {
        Some(next) if frac > 0.0 => lo + frac * (f64::from(next) - lo),
        _ => lo,
    }
}

fn parse_pair(what: &str, text: &str) -> Result<(f64, f64)> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = parts[..] else {
        return Err(invalid!(
            "{what} needs two numbers separated by a comma, got {text:?}"
        ));
    };
    let num = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| invalid!("{what}: {s:?} is not a number"))
    };
    Ok((num(a)?, num(b)?))
}

impl FromStr for Stretch {
    type Err = Error;

    /// Parse `percentile`, `percentile:LOW,HIGH`, `minmax` or `range:MIN,MAX`
    /// (case-insensitive, spaces allowed around the numbers).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (kind, args) = match s.split_once(':') {
            Some((k, a)) => (k.trim().to_ascii_lowercase(), Some(a)),
            None => (s.to_ascii_lowercase(), None),
        };
        let stretch = match (kind.as_str(), args) {
            ("percentile", None) => Stretch::default(),
            ("percentile", Some(a)) => {
                let (low, high) = parse_pair("percentile", a)?;
                Stretch::Percentile { low, high }
            }
            ("minmax", None) => Stretch::MinMax,
            ("range", Some(a)) => {
                let (min, max) = parse_pair("range", a)?;
                Stretch::Range { min, max }
            }
            ("minmax", Some(_)) => {
                return Err(invalid!("minmax takes no parameters, got {s:?}"));
            }
            ("range", None) => {
                return Err(invalid!("range needs bounds, e.g. \"range:0,0.3\""));
            }
            _ => {
                return Err(invalid!(
                    "unknown stretch {s:?}; use \"percentile:2,98\", \"minmax\" or \"range:MIN,MAX\""
                ));
            }
        };
        stretch.validate()?;
        Ok(stretch)
    }
}

impl fmt::Display for Stretch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stretch::Percentile { low, high } => write!(f, "percentile:{low},{high}"),
            Stretch::MinMax => f.write_str("minmax"),
            Stretch::Range { min, max } => write!(f, "range:{min},{max}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_round_trips() {
        let cases = [
            ("percentile", Stretch::default()),
            (
                "Percentile: 1, 99.5",
                Stretch::Percentile {
                    low: 1.0,
                    high: 99.5,
                },
            ),
            ("minmax", Stretch::MinMax),
            ("range:0,0.3", Stretch::Range { min: 0.0, max: 0.3 }),
            (
                "range:-1,1",
                Stretch::Range {
                    min: -1.0,
                    max: 1.0,
                },
            ),
        ];
        for (text, want) in cases {
            let got: Stretch = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            let again: Stretch =
                got.to_string().parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(again, want);
        }
    }

    #[test]
    fn bad_text_gives_a_clear_error() {
        for (text, needle) in [
            ("percentile:98,2", "below the high"),
            ("percentile:-1,50", "within 0 and 100"),
            ("percentile:2", "two numbers"),
            ("range:0,x", "\"x\" is not a number"),
            ("range:1,1", "below its maximum"),
            ("range:nan,1", "finite"),
            ("range", "needs bounds"),
            ("minmax:1,2", "no parameters"),
            ("gamma", "unknown stretch"),
        ] {
            let err = text.parse::<Stretch>().err().map(|e| e.to_string());
            let err = err.unwrap_or_else(|| panic!("{text} parsed"));
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy: np.percentile([10, 0, 40, 30, 20], [0, 2, 25, 50, 98, 100])
        //   sorted x = [0, 10, 20, 30, 40], n = 5, h = p/100 × 4
        //   p=2:  h=0.08 → 0 + 0.08×10 = 0.8
        //   p=25: h=1    → 10
        //   p=98: h=3.92 → 30 + 0.92×10 = 39.2
        let data = [10.0f32, 0.0, 40.0, 30.0, 20.0];
        for (p, want) in [
            (0.0, 0.0),
            (2.0, 0.8),
            (25.0, 10.0),
            (50.0, 20.0),
            (98.0, 39.2),
            (100.0, 40.0),
        ] {
            let mut v = data.to_vec();
            let got = percentile(&mut v, p);
            assert!((got - want).abs() < 1e-9, "p{p}: {got} != {want}");
        }
    }

    #[test]
    fn levels_round_half_away_from_zero_and_clamp() {
        assert_eq!(level(1.0, 0.0, 2.0), 128); // 127.5
        assert_eq!(level(0.0, 0.0, 2.0), 0);
        assert_eq!(level(2.0, 0.0, 2.0), 255);
        assert_eq!(level(-5.0, 0.0, 2.0), 0);
        assert_eq!(level(9.0, 0.0, 2.0), 255);
        assert_eq!(level(3.0, 3.0, 3.0), 128);
        assert_eq!(level(2.0, 3.0, 3.0), 0);
        assert_eq!(level(4.0, 3.0, 3.0), 255);
    }
}
