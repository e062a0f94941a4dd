//! `rs_mask(tile, mask)`: the tile's physical values with masked pixels missing.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{float_meta, float_tiles, mask_values};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_mask` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"The tile's physical values (stored × `swath:scale` + `swath:offset`) with the pixels where the mask is true set missing. Masks come from `rs_class_mask`, `rs_bit_mask`, `rs_dilate` or comparisons. Nodata: pixels already missing (nodata, NaN) stay missing; where the mask itself is missing the pixel becomes missing. Returns a Float32 tile with NaN for missing pixels, which every other rs_* function skips."#,
    syntax_example = "rs_mask(tile, mask)",
    sql_example = r#"```sql
> SELECT datetime, rs_tile_mean(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10))) AS ndvi
  FROM s2 WHERE chunk_x = 1 AND chunk_y = 1 ORDER BY datetime;
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
        Ok(tile_field("rs_mask", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let (mut values, _) = args.physical(0)?;
        let mask = mask_values(&args, 1)?;
        for (v, m) in values.iter_mut().zip(&mask) {
            if *m != 0 {
                *v = f32::NAN;
            }
        }
        float_tiles(values, &meta, &args)
    }
}
