//! Tiles: `FixedSizeList<T>[h·w]` columns with `arrow.fixed_shape_tensor` metadata, and
//! their Swath metadata (nodata, scale, offset, grid). Conversion of a whole column to
//! physical `f32` values and back.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, FixedSizeListArray, Float32Array,
    PrimitiveArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Field, FieldRef, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{Result, exec_err, plan_err};

/// Field metadata key of Arrow extension types.
pub const EXTENSION_NAME: &str = "ARROW:extension:name";
/// Field metadata key of Arrow extension type parameters.
pub const EXTENSION_METADATA: &str = "ARROW:extension:metadata";
/// The canonical fixed-shape tensor extension.
pub const FIXED_SHAPE_TENSOR: &str = "arrow.fixed_shape_tensor";
/// Field metadata: the band's nodata value (`nan` for NaN).
pub const NODATA_KEY: &str = "swath:nodata";
/// Field metadata: the band's scale.
pub const SCALE_KEY: &str = "swath:scale";
/// Field metadata: the band's offset.
pub const OFFSET_KEY: &str = "swath:offset";
/// Element-field metadata: the tile shape, `rows,cols`.
pub const SHAPE_KEY: &str = "swath:shape";

/// What a tile column's field says about its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct TileMeta {
    /// Rows of a tile (tensor shape `[rows, cols]`).
    pub rows: usize,
    /// Columns of a tile.
    pub cols: usize,
    /// Pixel type.
    pub dtype: DataType,
    /// The value that marks a missing pixel (NaN is always missing in float tiles).
    pub nodata: Option<f64>,
    /// Physical value = stored × scale + offset.
    pub scale: f64,
    /// See `scale`.
    pub offset: f64,
    /// Other metadata (the grid, …), carried to derived tiles.
    pub extra: HashMap<String, String>,
}

/// Whether a type can be a tile's pixel type.
pub fn is_pixel_type(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Float32 | DataType::Float64)
}

/// Whether `t` is a tile column type (a fixed-size list of numbers).
pub fn is_tile_type(t: &DataType) -> bool {
    matches!(t, DataType::FixedSizeList(item, _) if is_pixel_type(item.data_type()))
}

impl TileMeta {
    /// The tile description of a field, or a plan error naming `func` and `arg`.
    pub fn from_field(func: &str, arg: &str, field: &Field) -> Result<TileMeta> {
        let DataType::FixedSizeList(item, len) = field.data_type() else {
            return plan_err!(
                "{func}: argument {arg} must be a tile (a band column), got {}",
                field.data_type()
            );
        };
        if !is_pixel_type(item.data_type()) {
            return plan_err!(
                "{func}: argument {arg} must be a tile of numbers, got {}",
                field.data_type()
            );
        }
        let len = usize::try_from(*len).unwrap_or(0);
        // Metadata on the element field (if a producer put it there) wins.
        let mut md = field.metadata().clone();
        md.extend(item.metadata().iter().map(|(k, v)| (k.clone(), v.clone())));
        let shape = md
            .get(SHAPE_KEY)
            .and_then(|s| parse_shape(&format!(r#"{{"shape":[{s}]}}"#)))
            .or_else(|| md.get(EXTENSION_METADATA).and_then(|m| parse_shape(m)));
        let (rows, cols) = match shape {
            Some((r, c)) if r * c == len => (r, c),
            _ => {
                // Without tensor metadata: a square tile if the length is a square,
                // otherwise one row.
                let side = (len as f64).sqrt().round() as usize;
                if side * side == len {
                    (side, side)
                } else {
                    (1, len)
                }
            }
        };
        let number = |k: &str| md.get(k).and_then(|v| parse_number(v));
        let mut extra = md.clone();
        for k in [
            EXTENSION_NAME,
            EXTENSION_METADATA,
            NODATA_KEY,
            SCALE_KEY,
            OFFSET_KEY,
        ] {
            extra.remove(k);
        }
        Ok(TileMeta {
            rows,
            cols,
            dtype: item.data_type().clone(),
            nodata: number(NODATA_KEY),
            scale: number(SCALE_KEY).unwrap_or(1.0),
            offset: number(OFFSET_KEY).unwrap_or(0.0),
            extra,
        })
    }

    /// Pixels per tile.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the tile has no pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether applying scale and offset changes values.
    pub fn is_scaled(&self) -> bool {
        self.scale != 1.0 || self.offset != 0.0
    }

    /// Plan error unless `other` has the same shape (naming both arguments).
    pub fn same_shape(
        &self,
        func: &str,
        a: &str,
        other: &TileMeta,
        b: &str,
    ) -> Result<()> {
        if (self.rows, self.cols) != (other.rows, other.cols) {
            return plan_err!(
                "{func}: tiles of different shapes: {a} is {}×{} but {b} is {}×{}",
                self.rows,
                self.cols,
                other.rows,
                other.cols
            );
        }
        Ok(())
    }

    /// The description of a derived tile of physical `f32` values (NaN = missing,
    /// no scale or offset) with this tile's shape and grid.
    pub fn physical(&self) -> TileMeta {
        TileMeta {
            dtype: DataType::Float32,
            nodata: Some(f64::NAN),
            scale: 1.0,
            offset: 0.0,
            ..self.clone()
        }
    }

    /// This shape and grid with another pixel type and nodata, unscaled.
    pub fn derived(&self, dtype: DataType, nodata: Option<f64>) -> TileMeta {
        TileMeta {
            dtype,
            nodata,
            scale: 1.0,
            offset: 0.0,
            ..self.clone()
        }
    }

    /// The element field of such tiles.
    pub fn item_field(&self) -> FieldRef {
        Arc::new(Field::new("item", self.dtype.clone(), true))
    }

    /// The Arrow type of a column of such tiles.
    pub fn data_type(&self) -> DataType {
        DataType::FixedSizeList(self.item_field(), self.len() as i32)
    }

    /// A field named `name` for such tiles, with tensor and Swath metadata.
    pub fn field(&self, name: &str, nullable: bool) -> Field {
        let mut md = self.extra.clone();
        md.insert(EXTENSION_NAME.into(), FIXED_SHAPE_TENSOR.into());
        md.insert(
            EXTENSION_METADATA.into(),
            format!(r#"{{"shape":[{},{}]}}"#, self.rows, self.cols),
        );
        if let Some(nd) = self.nodata {
            md.insert(NODATA_KEY.into(), format_number(nd));
        }
        if self.scale != 1.0 {
            md.insert(SCALE_KEY.into(), format_number(self.scale));
        }
        if self.offset != 0.0 {
            md.insert(OFFSET_KEY.into(), format_number(self.offset));
        }
        Field::new(name, self.data_type(), nullable).with_metadata(md)
    }
}

fn parse_shape(json: &str) -> Option<(usize, usize)> {
    // {"shape":[h,w]} (other keys ignored); a tiny parser, not worth a JSON dependency.
    let start = json.find("\"shape\"")?;
    let rest = &json[start..];
    let open = rest.find('[')?;
    let close = rest.find(']')?;
    let dims: Vec<usize> = rest
        .get(open + 1..close)?
        .split(',')
        .map(|d| d.trim().parse().ok())
        .collect::<Option<_>>()?;
    match dims.as_slice() {
        [h, w] => Some((*h, *w)),
        [n] => Some((1, *n)),
        _ => None,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    match s.trim().to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// A number as field metadata writes it (`nan` for NaN).
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        v.to_string()
    }
}

/// A tile column: the list array and what its field says.
#[derive(Debug, Clone)]
pub struct Tiles<'a> {
    /// The column.
    pub array: &'a FixedSizeListArray,
    /// Its description.
    pub meta: &'a TileMeta,
}

impl Tiles<'_> {
    /// Rows (tiles) in the column.
    pub fn rows(&self) -> usize {
        self.array.len()
    }

    /// The child values of this column's rows (the list's offset applied).
    pub fn values(&self) -> ArrayRef {
        let n = self.meta.len();
        let start = self.array.offset() * n;
        self.array.values().slice(start, self.array.len() * n)
    }

    /// All pixels as physical `f32` (scale and offset applied; NaN where the pixel is
    /// nodata, NaN, null, or its tile is null), appended to `out`.
    pub fn physical_into(&self, out: &mut Vec<f32>) -> Result<()> {
        let values = self.values();
        let start = out.len();
        let (scale, offset, nodata) =
            (self.meta.scale, self.meta.offset, self.meta.nodata);
        macro_rules! conv {
            ($t:ty) => {
                append_physical(values.as_primitive::<$t>(), scale, offset, nodata, out)
            };
        }
        match values.data_type() {
            DataType::UInt8 => conv!(UInt8Type),
            DataType::UInt16 => conv!(UInt16Type),
            DataType::UInt32 => conv!(UInt32Type),
            DataType::UInt64 => conv!(UInt64Type),
            DataType::Int8 => conv!(Int8Type),
            DataType::Int16 => conv!(Int16Type),
            DataType::Int32 => conv!(Int32Type),
            DataType::Int64 => conv!(Int64Type),
            DataType::Float32 => conv!(Float32Type),
            DataType::Float64 => conv!(Float64Type),
            other => return exec_err!("tile of unsupported pixel type {other}"),
        }
        if let Some(nulls) = self.array.nulls() {
            let n = self.meta.len();
            for (row, valid) in nulls.iter().enumerate() {
                if !valid {
                    out[start + row * n..start + (row + 1) * n].fill(f32::NAN);
                }
            }
        }
        Ok(())
    }

    /// All pixels as physical `f32`, in a new buffer.
    pub fn physical(&self) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(self.rows() * self.meta.len());
        self.physical_into(&mut out)?;
        Ok(out)
    }
}

/// Whether a stored value is missing for a tile with this nodata.
#[inline]
pub fn is_missing(v: f64, nodata: Option<f64>) -> bool {
    v.is_nan() || nodata.is_some_and(|nd| v == nd)
}

fn append_physical<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    scale: f64,
    offset: f64,
    nodata: Option<f64>,
    out: &mut Vec<f32>,
) where
    T::Native: ToF64,
{
    let raw = values.values();
    let start = out.len();
    let nd = nodata.filter(|v| !v.is_nan());
    if T::Native::EXACT_IN_F32 {
        // Branch-free f32 arithmetic the compiler vectorises (stored values up to
        // 16 bits, and f32, are exact in f32; scale and offset round to f32). A
        // nodata value the type cannot hold marks nothing.
        let nd_native = nd.and_then(T::Native::from_f64_exact);
        let (s, o) = (scale as f32, offset as f32);
        let unscaled = scale == 1.0 && offset == 0.0;
        match (nd_native, unscaled) {
            (Some(nd), true) => out.extend(raw.iter().map(|v| {
                let y = v.to_f32();
                if *v == nd { f32::NAN } else { y }
            })),
            (Some(nd), false) => out.extend(raw.iter().map(|v| {
                let y = v.to_f32() * s + o;
                if *v == nd { f32::NAN } else { y }
            })),
            (None, true) => out.extend(raw.iter().map(|v| v.to_f32())),
            (None, false) => out.extend(raw.iter().map(|v| v.to_f32() * s + o)),
        }
    } else {
        out.extend(raw.iter().map(|v| {
            let x = v.to_f64();
            if Some(x) == nd {
                f32::NAN
            } else {
                (x * scale + offset) as f32
            }
        }));
    }
    if let Some(nulls) = values.nulls() {
        for (i, valid) in nulls.iter().enumerate() {
            if !valid {
                out[start + i] = f32::NAN;
            }
        }
    }
}

/// Conversion of pixel values to floating point.
pub trait ToF64: Copy + PartialEq {
    /// Whether every value of the type is exact in `f32`.
    const EXACT_IN_F32: bool;
    /// The value as `f64`.
    fn to_f64(self) -> f64;
    /// The value as `f32`.
    fn to_f32(self) -> f32;
    /// The value of the type equal to `v`, if there is one.
    fn from_f64_exact(v: f64) -> Option<Self>;
}

macro_rules! to_f64 {
    ($($t:ty: $exact:literal),*) => {$(
        impl ToF64 for $t {
            const EXACT_IN_F32: bool = $exact;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn to_f32(self) -> f32 {
                self as f32
            }
            #[inline]
            fn from_f64_exact(v: f64) -> Option<Self> {
                let n = v as $t;
                (n as f64 == v).then_some(n)
            }
        }
    )*};
}
to_f64!(
    u8: true, u16: true, i8: true, i16: true, f32: true,
    u32: false, u64: false, i32: false, i64: false, f64: false
);

/// A column of `f32` tiles described by `meta` (a Float32 description) from a flat
/// buffer, rows null where `nulls`.
pub fn f32_tiles(
    values: Vec<f32>,
    meta: &TileMeta,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    primitive_tiles::<Float32Type>(values, meta, nulls)
}

/// A column of tiles described by `meta` (whose pixel type is `T`'s) from a flat
/// buffer of native values.
pub fn primitive_tiles<T: ArrowPrimitiveType>(
    values: Vec<T::Native>,
    meta: &TileMeta,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    let item = TileMeta {
        dtype: T::DATA_TYPE,
        ..meta.clone()
    }
    .item_field();
    let child = Arc::new(PrimitiveArray::<T>::new(values.into(), None));
    Arc::new(FixedSizeListArray::new(
        item,
        meta.len() as i32,
        child,
        nulls,
    ))
}

/// The union of the row nulls of several columns.
pub fn union_nulls(arrays: &[&FixedSizeListArray]) -> Option<NullBuffer> {
    arrays
        .iter()
        .fold(None, |acc, a| NullBuffer::union(acc.as_ref(), a.nulls()))
}

/// `f32` tiles as a flat `Float32Array` child (for kernels that read derived tiles).
pub fn f32_values(array: &FixedSizeListArray) -> Option<&Float32Array> {
    array.values().as_primitive_opt::<Float32Type>()
}

/// The field of argument `i`, or a plan error.
pub fn arg_field<'a>(
    func: &str,
    fields: &'a [FieldRef],
    i: usize,
) -> Result<&'a FieldRef> {
    match fields.get(i) {
        Some(f) => Ok(f),
        None => plan_err!("{func}: missing argument {}", i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::UInt16Array;

    fn meta(nodata: Option<f64>, scale: f64, offset: f64) -> TileMeta {
        TileMeta {
            rows: 2,
            cols: 2,
            dtype: DataType::UInt16,
            nodata,
            scale,
            offset,
            extra: HashMap::new(),
        }
    }

    #[test]
    fn metadata_round_trips_through_a_field() {
        let mut m = meta(Some(0.0), 1e-4, -0.1);
        m.extra.insert("swath:grid".into(), "{}".into());
        let f = m.field("red", false);
        let back = TileMeta::from_field("f", "red", &f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, m);
        assert!(
            TileMeta::from_field("rs_x", "a", &Field::new("a", DataType::Int32, true))
                .is_err_and(|e| e
                    .to_string()
                    .contains("rs_x: argument a must be a tile"))
        );
    }

    #[test]
    fn physical_values_scale_and_mask() {
        let m = meta(Some(0.0), 1e-4, -0.1);
        let child = Arc::new(UInt16Array::from(vec![0, 1000, 2000, 0, 5, 6, 7, 8]));
        let item = Arc::new(Field::new("item", DataType::UInt16, true));
        let nulls = NullBuffer::from(vec![true, false]);
        let a = FixedSizeListArray::new(item, 4, child, Some(nulls));
        let t = Tiles {
            array: &a,
            meta: &m,
        };
        let v = t.physical().unwrap_or_else(|e| panic!("{e}"));
        assert!(v[0].is_nan());
        assert!((v[1] - 0.0).abs() < 1e-7);
        assert!((v[2] - 0.1).abs() < 1e-7);
        assert!(v[3].is_nan());
        assert!(v[4..].iter().all(|x| x.is_nan()), "null row is missing");
        // sliced arrays read their own rows
        let s = a.slice(1, 1);
        let t = Tiles {
            array: &s,
            meta: &m,
        };
        assert_eq!(t.values().len(), 4);
    }
}
