//! Statistics of the valid pixels of one tile (per row of a column).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array};
use datafusion::common::Result;

use crate::scalar::Args;

/// `f(stats)` of each row's tile of argument 0, as Float64 (NULL for NULL tiles).
pub fn per_tile(args: &Args, f: impl Fn(&Stats) -> Option<f64>) -> Result<ArrayRef> {
    let stats = row_stats(args)?;
    let out: Float64Array = stats.iter().map(|s| s.as_ref().and_then(&f)).collect();
    Ok(Arc::new(out))
}

/// The valid-pixel count of each row's tile of argument 0 (NULL for NULL tiles).
pub fn per_tile_count(args: &Args) -> Result<ArrayRef> {
    let stats = row_stats(args)?;
    let out: Int64Array = stats.iter().map(|s| s.map(|s| s.count as i64)).collect();
    Ok(Arc::new(out))
}

fn row_stats(args: &Args) -> Result<Vec<Option<Stats>>> {
    let (values, meta) = args.physical(0)?;
    let (list, _) = args.tile(0)?;
    let len = meta.len().max(1);
    Ok(values
        .chunks(len)
        .enumerate()
        .map(|(row, v)| (!list.is_null(row)).then(|| Stats::of(v)))
        .collect())
}

/// Count, sum, min, max and sum of squared deviations of the valid (non-NaN)
/// values of a slice; sums in `f64` (Welford's update for the deviations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Valid values.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Smallest valid value (+inf when none).
    pub min: f64,
    /// Largest valid value (−inf when none).
    pub max: f64,
    /// Running mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Stats {
    /// The statistics of `values`, NaN skipped.
    pub fn of(values: &[f32]) -> Stats {
        let mut s = Stats {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
        };
        for v in values {
            if v.is_nan() {
                continue;
            }
            let x = f64::from(*v);
            s.count += 1;
            s.sum += x;
            s.min = s.min.min(x);
            s.max = s.max.max(x);
            let d = x - s.mean;
            s.mean += d / s.count as f64;
            s.m2 += d * (x - s.mean);
        }
        s
    }

    /// The mean, None without valid values.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.sum / self.count as f64)
    }

    /// The population standard deviation (ddof 0), None without valid values.
    pub fn std(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.m2 / self.count as f64).max(0.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_by_hand() {
        // valid 1, 2, 4 → mean 7/3, population variance ((4/3)²+(1/3)²+(5/3)²)/3 = 14/9
        let s = Stats::of(&[1.0, f32::NAN, 2.0, 4.0]);
        assert_eq!(s.count, 3);
        assert_eq!(s.sum, 7.0);
        assert_eq!((s.min, s.max), (1.0, 4.0));
        assert!((s.mean().unwrap_or(0.0) - 7.0 / 3.0).abs() < 1e-12);
        assert!((s.std().unwrap_or(0.0) - (14.0f64 / 9.0).sqrt()).abs() < 1e-12);
        let none = Stats::of(&[f32::NAN; 4]);
        assert_eq!((none.count, none.mean(), none.std()), (0, None, None));
    }
}
