//! `rs_ndvi(nir, red)`: the normalized difference vegetation index.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{binary, float_meta, normalized_difference};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_ndvi` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster index functions"),
    description = r#"NDVI = (nir - red) / (nir + red) per pixel. Inputs are converted to physical values first (stored value × `swath:scale` + `swath:offset`). Nodata: a pixel is missing (NaN) where any input is nodata or NaN, or where the denominator is zero. Returns a Float32 tile with the inputs' shape."#,
    syntax_example = "rs_ndvi(nir, red)",
    sql_example = r#"```sql
> SELECT datetime, rs_tile_mean(rs_ndvi(nir, red)) AS ndvi FROM s2 ORDER BY datetime;
```"#,
    argument(
        name = "nir",
        description = r#"Near-infrared tile (Sentinel-2 B08, Landsat B5)."#
    ),
    argument(name = "red", description = r#"Red tile (B04; Landsat B4)."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsNdvi {
    signature: Signature,
}

scalar_udf!(RsNdvi, "rs_ndvi");

impl RsNdvi {
    const PARAMS: Params = Params::fixed(&["nir", "red"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_ndvi", fields)?;
        Ok(tile_field("rs_ndvi", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        binary(&args, &meta, normalized_difference)
    }
}
