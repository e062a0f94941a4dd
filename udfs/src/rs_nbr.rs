//! `rs_nbr(nir, swir22)`: the normalized burn ratio.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{binary, float_meta, normalized_difference};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_nbr` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster index functions"),
    description = r#"NBR = (nir - swir22) / (nir + swir22) per pixel. Inputs are converted to physical values first (stored value × `swath:scale` + `swath:offset`). Nodata: a pixel is missing (NaN) where any input is nodata or NaN, or where the denominator is zero. Returns a Float32 tile with the inputs' shape."#,
    syntax_example = "rs_nbr(nir, swir22)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_nbr(nir, swir22)) FROM s2 LIMIT 1;
```"#,
    argument(name = "nir", description = r#"Near-infrared tile (Sentinel-2 B08)."#),
    argument(name = "swir22", description = r#"Short-wave infrared tile (B12)."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsNbr {
    signature: Signature,
}

scalar_udf!(RsNbr, "rs_nbr");

impl RsNbr {
    const PARAMS: Params = Params::fixed(&["nir", "swir22"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_nbr", fields)?;
        Ok(tile_field("rs_nbr", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        binary(&args, &meta, normalized_difference)
    }
}
