//! Pixel-wise kernels over whole columns: operands are tiles (physical `f32`, NaN =
//! missing) or numbers (one per row); loops run over the contiguous child buffers.

use arrow::array::ArrayRef;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, UInt8Type};
use datafusion::common::Result;

use crate::scalar::{Args, Number};
use crate::tile::{TileMeta, Tiles, f32_tiles, primitive_tiles, union_nulls};

/// The value of a missing pixel in a mask tile (0 = keep, 1 = masked).
pub const MASK_MISSING: u8 = 255;

/// One operand of a pixel-wise function.
pub enum Operand {
    /// A tile column's physical values, `len` per row.
    Tile(Vec<f32>),
    /// A number per row.
    Number(Number),
}

impl Operand {
    /// The operands of `args` (tiles as physical values).
    pub fn all(args: &Args) -> Result<Vec<Operand>> {
        (0..args.len())
            .map(|i| {
                if args.is_tile(i) {
                    Ok(Operand::Tile(args.physical(i)?.0))
                } else {
                    Ok(Operand::Number(args.number(i)?))
                }
            })
            .collect()
    }

    /// The value of pixel `p` of row `row` (`len` pixels per tile).
    #[inline]
    pub fn at(&self, row: usize, len: usize, p: usize) -> f32 {
        match self {
            Operand::Tile(v) => v[row * len + p],
            Operand::Number(n) => n.at(row) as f32,
        }
    }

    /// The pixels of row `row` as a slice, when a tile.
    #[inline]
    pub fn row(&self, row: usize, len: usize) -> Option<&[f32]> {
        match self {
            Operand::Tile(v) => v.get(row * len..(row + 1) * len),
            Operand::Number(_) => None,
        }
    }
}

/// The row nulls shared by the tile arguments.
pub fn tile_nulls(args: &Args) -> Result<Option<arrow::buffer::NullBuffer>> {
    let mut lists = Vec::new();
    for i in 0..args.len() {
        if args.is_tile(i) {
            lists.push(args.tile(i)?.0.clone());
        }
    }
    Ok(union_nulls(&lists.iter().collect::<Vec<_>>()))
}

/// `f(a, b)` per pixel over two operands; a float tile.
pub fn binary(
    args: &Args,
    meta: &TileMeta,
    f: impl Fn(f32, f32) -> f32,
) -> Result<ArrayRef> {
    let ops = Operand::all(args)?;
    let (len, rows) = (meta.len(), args.rows);
    let mut out = Vec::with_capacity(rows * len);
    for r in 0..rows {
        match (ops[0].row(r, len), ops[1].row(r, len)) {
            (Some(a), Some(b)) => out.extend(a.iter().zip(b).map(|(x, y)| f(*x, *y))),
            (Some(a), None) => {
                let y = ops[1].at(r, len, 0);
                out.extend(a.iter().map(|x| f(*x, y)));
            }
            (None, Some(b)) => {
                let x = ops[0].at(r, len, 0);
                out.extend(b.iter().map(|y| f(x, *y)));
            }
            (None, None) => {
                let v = f(ops[0].at(r, len, 0), ops[1].at(r, len, 0));
                out.extend(std::iter::repeat_n(v, len));
            }
        }
    }
    Ok(f32_tiles(out, meta, tile_nulls(args)?))
}

/// `f(values)` per pixel over any number of operands; a float tile.
pub fn nary(args: &Args, meta: &TileMeta, f: impl Fn(&[f32]) -> f32) -> Result<ArrayRef> {
    let ops = Operand::all(args)?;
    let (len, rows) = (meta.len(), args.rows);
    let mut out = Vec::with_capacity(rows * len);
    let mut v = vec![0f32; ops.len()];
    for r in 0..rows {
        for p in 0..len {
            for (slot, op) in v.iter_mut().zip(&ops) {
                *slot = op.at(r, len, p);
            }
            out.push(f(&v));
        }
    }
    Ok(f32_tiles(out, meta, tile_nulls(args)?))
}

/// A comparison per pixel: a mask tile of 1 (true), 0 (false) or
/// [`MASK_MISSING`] where an operand is missing.
pub fn compare(
    args: &Args,
    meta: &TileMeta,
    f: impl Fn(f32, f32) -> bool,
) -> Result<ArrayRef> {
    let ops = Operand::all(args)?;
    let (len, rows) = (meta.len(), args.rows);
    let mut out = Vec::with_capacity(rows * len);
    for r in 0..rows {
        for p in 0..len {
            let (a, b) = (ops[0].at(r, len, p), ops[1].at(r, len, p));
            out.push(if a.is_nan() || b.is_nan() {
                MASK_MISSING
            } else {
                u8::from(f(a, b))
            });
        }
    }
    Ok(primitive_tiles::<UInt8Type>(out, meta, tile_nulls(args)?))
}

/// A mask tile's pixels from argument `i`: 0 (false), 1 (true) or [`MASK_MISSING`].
/// UInt8 tiles follow the mask convention whatever their metadata says (0 false, 255
/// missing, any other value true), so masks stay masks where a plan drops field
/// metadata; other tiles are true where nonzero and missing where nodata or NaN.
pub fn mask_values(args: &Args, i: usize) -> Result<Vec<u8>> {
    let (list, meta) = args.tile(i)?;
    if meta.dtype == DataType::UInt8 {
        let raw = Tiles {
            array: list,
            meta: &meta,
        }
        .values();
        let raw = raw.as_primitive::<UInt8Type>();
        let mut out: Vec<u8> = raw
            .values()
            .iter()
            .map(|v| match *v {
                0 => 0,
                MASK_MISSING => MASK_MISSING,
                _ => 1,
            })
            .collect();
        if let Some(nulls) = raw.nulls() {
            for (o, valid) in out.iter_mut().zip(nulls.iter()) {
                if !valid {
                    *o = MASK_MISSING;
                }
            }
        }
        if let Some(nulls) = list.nulls() {
            let n = meta.len();
            for (row, valid) in nulls.iter().enumerate() {
                if !valid {
                    out[row * n..(row + 1) * n].fill(MASK_MISSING);
                }
            }
        }
        return Ok(out);
    }
    let (values, _) = args.physical(i)?;
    Ok(values
        .iter()
        .map(|v| {
            if v.is_nan() {
                MASK_MISSING
            } else {
                u8::from(*v != 0.0)
            }
        })
        .collect())
}

/// SQL's three-valued AND (`and`) or OR of two mask arguments, per pixel: the
/// dominant value (0 for AND, 1 for OR) wins over missing, missing wins over the other.
pub fn mask_logic(args: &Args, meta: &TileMeta, and: bool) -> Result<ArrayRef> {
    let (a, b) = (mask_values(args, 0)?, mask_values(args, 1)?);
    let (dominant, other) = if and { (0, 1) } else { (1, 0) };
    let out = a
        .iter()
        .zip(&b)
        .map(|(x, y)| {
            if *x == dominant || *y == dominant {
                dominant
            } else if *x == MASK_MISSING || *y == MASK_MISSING {
                MASK_MISSING
            } else {
                other
            }
        })
        .collect();
    mask_tiles(out, meta, args)
}

/// The description of a mask tile shaped like `meta`.
pub fn mask_meta(meta: &TileMeta) -> TileMeta {
    meta.derived(
        arrow::datatypes::DataType::UInt8,
        Some(f64::from(MASK_MISSING)),
    )
}

/// The description of a float tile shaped like `meta`.
pub fn float_meta(meta: &TileMeta) -> TileMeta {
    meta.physical()
}

/// Float tiles from physical values (for functions that compute them directly).
pub fn float_tiles(values: Vec<f32>, meta: &TileMeta, args: &Args) -> Result<ArrayRef> {
    Ok(f32_tiles(values, meta, tile_nulls(args)?))
}

/// Mask tiles from values.
pub fn mask_tiles(values: Vec<u8>, meta: &TileMeta, args: &Args) -> Result<ArrayRef> {
    Ok(primitive_tiles::<UInt8Type>(
        values,
        meta,
        tile_nulls(args)?,
    ))
}

/// Normalized difference `(a − b) / (a + b)`; missing where either is missing or the
/// sum is zero.
#[inline]
pub fn normalized_difference(a: f32, b: f32) -> f32 {
    let s = a + b;
    if s == 0.0 { f32::NAN } else { (a - b) / s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_difference_by_hand() {
        assert_eq!(normalized_difference(3.0, 1.0), 0.5);
        assert!(normalized_difference(0.0, 0.0).is_nan());
        assert!(normalized_difference(f32::NAN, 0.1).is_nan());
        assert_eq!(normalized_difference(1.0, 3.0), -0.5);
    }
}
