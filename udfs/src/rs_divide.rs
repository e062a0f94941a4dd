//! `rs_divide(a, b)`: the pixel-wise quotient.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{binary, float_meta};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_divide` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster band math functions"),
    description = r#"`a / b` per pixel. Operands are tiles (converted to physical values: stored × `swath:scale` + `swath:offset`) or numbers; at least one is a tile, tiles share one shape. Also planned for the SQL operator `/` when an operand is a tile. Nodata: a pixel is missing (NaN) where an operand is missing. Returns a Float32 tile. Division by zero gives a missing pixel."#,
    syntax_example = "rs_divide(a, b)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_divide(nir - red, nir + red)) AS named, rs_tile_mean((nir - red) / (nir + red)) AS with_operator FROM s2 LIMIT 1;
```"#,
    argument(name = "a", description = r#"A tile or a number."#),
    argument(name = "b", description = r#"A tile or a number."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsDivide {
    signature: Signature,
}

scalar_udf!(RsDivide, "rs_divide");

impl RsDivide {
    const PARAMS: Params =
        Params::fixed(&["a", "b"], &[Kind::TileOrNumber, Kind::TileOrNumber]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_divide", fields)?;
        Ok(tile_field("rs_divide", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        binary(&args, &meta, |a, b| if b == 0.0 { f32::NAN } else { a / b })
    }
}
