//! `rs_normalized_difference(a, b)`: the normalized difference of two tiles.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{binary, float_meta, normalized_difference};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_normalized_difference` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster index functions"),
    description = r#"The normalized difference `(a - b) / (a + b)` per pixel. Inputs are converted to physical values first (stored value × `swath:scale` + `swath:offset`). Nodata: a pixel is missing (NaN) where any input is nodata or NaN, or where the denominator is zero. Returns a Float32 tile with the inputs' shape."#,
    syntax_example = "rs_normalized_difference(a, b)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_normalized_difference(green, nir)) AS ndwi FROM s2 LIMIT 1;
```"#,
    argument(name = "a", description = r#"First tile."#),
    argument(name = "b", description = r#"Second tile (same shape)."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsNormalizedDifference {
    signature: Signature,
}

scalar_udf!(RsNormalizedDifference, "rs_normalized_difference");

impl RsNormalizedDifference {
    const PARAMS: Params = Params::fixed(&["a", "b"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_normalized_difference", fields)?;
        Ok(tile_field("rs_normalized_difference", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        binary(&args, &meta, normalized_difference)
    }
}
