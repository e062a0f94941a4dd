//! `rs_evi(nir, red, blue)`: the enhanced vegetation index.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{float_meta, nary};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_evi` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster index functions"),
    description = r#"EVI = 2.5 (nir - red) / (nir + 6 red - 7.5 blue + 1) per pixel, on reflectance. Inputs are converted to physical values first (stored value × `swath:scale` + `swath:offset`). Nodata: a pixel is missing (NaN) where any input is nodata or NaN, or where the denominator is zero. Returns a Float32 tile with the inputs' shape."#,
    syntax_example = "rs_evi(nir, red, blue)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_evi(nir, red, blue)) FROM s2 LIMIT 1;
```"#,
    argument(name = "nir", description = r#"Near-infrared tile (Sentinel-2 B08)."#),
    argument(name = "red", description = r#"Red tile (B04)."#),
    argument(name = "blue", description = r#"Blue tile (B02)."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsEvi {
    signature: Signature,
}

scalar_udf!(RsEvi, "rs_evi");

impl RsEvi {
    const PARAMS: Params = Params::fixed(
        &["nir", "red", "blue"],
        &[Kind::Tile, Kind::Tile, Kind::Tile],
    );

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_evi", fields)?;
        Ok(tile_field("rs_evi", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        nary(&args, &meta, |v| {
            let d = v[0] + 6.0 * v[1] - 7.5 * v[2] + 1.0;
            if d == 0.0 {
                f32::NAN
            } else {
                2.5 * (v[0] - v[1]) / d
            }
        })
    }
}
