//! `rs_ndwi(green, nir)`: the normalized difference water index (McFeeters).

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{binary, float_meta, normalized_difference};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_ndwi` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster index functions"),
    description = r#"NDWI = (green - nir) / (green + nir) per pixel. Inputs are converted to physical values first (stored value × `swath:scale` + `swath:offset`). Nodata: a pixel is missing (NaN) where any input is nodata or NaN, or where the denominator is zero. Returns a Float32 tile with the inputs' shape."#,
    syntax_example = "rs_ndwi(green, nir)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_ndwi(green, nir)) FROM s2 LIMIT 1;
```"#,
    argument(name = "green", description = r#"Green tile (Sentinel-2 B03)."#),
    argument(name = "nir", description = r#"Near-infrared tile (B08)."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsNdwi {
    signature: Signature,
}

scalar_udf!(RsNdwi, "rs_ndwi");

impl RsNdwi {
    const PARAMS: Params = Params::fixed(&["green", "nir"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_ndwi", fields)?;
        Ok(tile_field("rs_ndwi", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        binary(&args, &meta, normalized_difference)
    }
}
