//! `rs_mask(tile, mask)`: the tile with masked pixels missing.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, FixedSizeListArray, Float64Array,
    PrimitiveArray,
};
use arrow::datatypes::{
    DataType, Field, FieldRef, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::mask_values;
use crate::scalar::{Args, Kind, Params, scalar_udf};
use crate::tile::{TileMeta, Tiles, union_nulls};

/// SQL function `rs_mask` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"The tile with the pixels where the mask is true set missing, keeping its pixel type, nodata, scale and offset (so a masked `red` is still Sentinel-2 DN). Masks come from `rs_class_mask`, `rs_bit_mask`, `rs_dilate` or comparisons. Nodata: pixels already missing stay missing; where the mask itself is missing the pixel becomes missing. An integer tile needs a nodata value to mark masked pixels (float tiles use NaN when they have none)."#,
    syntax_example = "rs_mask(tile, mask)",
    sql_example = r#"```sql
> SELECT datetime, rs_tile_mean(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10))) AS ndvi
  FROM s2 WHERE chunk_x = 0 AND chunk_y = 0 ORDER BY datetime;
```"#,
    argument(name = "tile", description = r#"The tile to mask."#),
    argument(
        name = "mask",
        description = r#"A mask tile of the same shape (nonzero = masked)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsMask {
    signature: Signature,
}

scalar_udf!(RsMask, "rs_mask");

impl RsMask {
    const PARAMS: Params = Params::fixed(&["tile", "mask"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_mask", fields)?;
        let meta = with_missing_value(meta)?;
        Ok(Arc::new(meta.field("rs_mask", true)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let (list, meta) = args.tile(0)?;
        let meta = with_missing_value(meta)?;
        let mask = mask_values(&args, 1)?;
        let nodata = meta.nodata.unwrap_or(f64::NAN);
        let values = Tiles {
            array: list,
            meta: &meta,
        }
        .values();
        macro_rules! masked {
            ($t:ty) => {
                replace::<$t>(values.as_primitive::<$t>(), &mask, nodata)?
            };
        }
        let child: ArrayRef = match values.data_type() {
            DataType::UInt8 => masked!(UInt8Type),
            DataType::UInt16 => masked!(UInt16Type),
            DataType::UInt32 => masked!(UInt32Type),
            DataType::UInt64 => masked!(UInt64Type),
            DataType::Int8 => masked!(Int8Type),
            DataType::Int16 => masked!(Int16Type),
            DataType::Int32 => masked!(Int32Type),
            DataType::Int64 => masked!(Int64Type),
            DataType::Float32 => masked!(Float32Type),
            DataType::Float64 => masked!(Float64Type),
            other => return exec_err!("rs_mask: unsupported pixel type {other}"),
        };
        let (mask_list, _) = args.tile(1)?;
        let nulls = union_nulls(&[list, mask_list]);
        let item = Arc::new(Field::new("item", meta.dtype.clone(), true));
        Ok(Arc::new(FixedSizeListArray::try_new(
            item,
            meta.len() as i32,
            child,
            nulls,
        )?))
    }
}

/// The tile's description with a value for masked pixels (NaN for float tiles).
fn with_missing_value(mut meta: TileMeta) -> Result<TileMeta> {
    if meta.nodata.is_none() {
        if matches!(meta.dtype, DataType::Float32 | DataType::Float64) {
            meta.nodata = Some(f64::NAN);
        } else {
            return plan_err!(
                "rs_mask: argument tile has no nodata value to mark masked pixels; \
                 use rs_scale(tile) to mask physical values as NaN"
            );
        }
    }
    Ok(meta)
}

fn replace<T: ArrowPrimitiveType>(
    values: &PrimitiveArray<T>,
    mask: &[u8],
    nodata: f64,
) -> Result<ArrayRef> {
    let nd = arrow::compute::cast(&Float64Array::from(vec![nodata]), &T::DATA_TYPE)?;
    let nd = nd.as_primitive::<T>();
    if nd.is_null(0) {
        return exec_err!("rs_mask: nodata {nodata} does not fit {}", T::DATA_TYPE);
    }
    let nd = nd.value(0);
    let out: Vec<T::Native> = values
        .values()
        .iter()
        .zip(mask)
        .map(|(v, m)| if *m != 0 { nd } else { *v })
        .collect();
    Ok(Arc::new(PrimitiveArray::<T>::new(
        out.into(),
        values.nulls().cloned(),
    )))
}
