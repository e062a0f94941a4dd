//! `rs_scale(tile)`: stored values to physical values.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{float_meta, float_tiles};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_scale` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster band math functions"),
    description = r#"Applies the tile's scale and offset (`swath:scale`, `swath:offset`, from STAC `raster:bands`): physical = stored × scale + offset, e.g. Sentinel-2 L2A reflectance = DN × 1e-4 − 0.1. Nodata: nodata and NaN pixels become NaN. Returns a Float32 tile without scale or offset."#,
    syntax_example = "rs_scale(tile)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_scale(red)) AS reflectance FROM s2 LIMIT 1;
```"#,
    argument(name = "tile", description = r#"A tile."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsScale {
    signature: Signature,
}

scalar_udf!(RsScale, "rs_scale");

impl RsScale {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_scale", fields)?;
        Ok(tile_field("rs_scale", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let (values, _) = args.physical(0)?;
        float_tiles(values, &meta, &args)
    }
}
