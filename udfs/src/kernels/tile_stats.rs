//! Statistics of the valid pixels of one tile (per row of a column).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, PrimitiveArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{Result, exec_err};

use crate::scalar::Args;
use crate::tile::{Tiles, ToF64};

/// `f(stats)` of each row's tile of argument 0, as Float64 (NULL for NULL tiles).
pub fn per_tile(args: &Args, f: impl Fn(&Stats) -> Option<f64>) -> Result<ArrayRef> {
    let stats = row_stats(args)?;
    let out: Float64Array = stats.iter().map(|s| s.as_ref().and_then(&f)).collect();
    Ok(Arc::new(out))
}

/// The valid-pixel count of each row's tile of argument 0 (NULL for NULL tiles).
pub fn per_tile_count(args: &Args) -> Result<ArrayRef> {
    let (list, meta) = args.tile(0)?;
    let values = Tiles {
        array: list,
        meta: &meta,
    }
    .values();
    let len = meta.len().max(1);
    let nodata = meta.nodata.filter(|v| !v.is_nan());
    // Counted on the stored values: a pixel is valid unless it is nodata, NaN or
    // null, whatever the scale and offset (no conversion to physical values).
    macro_rules! count {
        ($t:ty) => {
            count_valid(values.as_primitive::<$t>(), len, nodata)
        };
    }
    let counts = match values.data_type() {
        DataType::UInt8 => count!(UInt8Type),
        DataType::UInt16 => count!(UInt16Type),
        DataType::UInt32 => count!(UInt32Type),
        DataType::UInt64 => count!(UInt64Type),
        DataType::Int8 => count!(Int8Type),
        DataType::Int16 => count!(Int16Type),
        DataType::Int32 => count!(Int32Type),
        DataType::Int64 => count!(Int64Type),
        DataType::Float32 => count!(Float32Type),
        DataType::Float64 => count!(Float64Type),
        other => {
            return exec_err!("rs_tile_count: tile of unsupported pixel type {other}");
        }
    };
    let out: Int64Array = counts
        .into_iter()
        .enumerate()
        .map(|(row, n)| (!list.is_null(row)).then_some(n as i64))
        .collect();
    Ok(Arc::new(out))
}

/// Per tile of `len` values, how many are not `nodata`, NaN or null.
fn count_valid<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    len: usize,
    nodata: Option<f64>,
) -> Vec<usize>
where
    T::Native: ToF64,
{
    let raw = values.values();
    let nd = nodata.and_then(T::Native::from_f64_exact);
    let float = matches!(T::DATA_TYPE, DataType::Float32 | DataType::Float64);
    let mut counts: Vec<usize> = raw
        .chunks(len)
        .map(|tile| match (nd, float) {
            (Some(nd), false) => tile.iter().filter(|v| **v != nd).count(),
            (None, false) => tile.len(),
            (nd, true) => tile
                .iter()
                .filter(|v| !v.to_f64().is_nan() && Some(**v) != nd)
                .count(),
        })
        .collect();
    if let Some(nulls) = values.nulls() {
        for (i, valid) in nulls.iter().enumerate() {
            // A null that is not already nodata/NaN was counted.
            let v = raw[i];
            let counted = !(v.to_f64().is_nan() || Some(v) == nd);
            if !valid && counted {
                counts[i / len] -= 1;
            }
        }
    }
    counts
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
