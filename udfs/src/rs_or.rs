//! `rs_or(a, b)`: pixel-wise OR of two masks.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{mask_logic, mask_meta};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_or` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"True where either mask is true. Mask tiles are UInt8: 1 true, 0 false, 255 (their nodata) missing; a nonzero pixel of another tile counts as true. Also planned for the SQL operator `OR` on tiles. Nodata: SQL's three-valued logic per pixel (true OR missing is true, false OR missing is missing)."#,
    syntax_example = "rs_or(a, b)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_mask(red, rs_or(rs_class_mask(scl, 8, 9), rs_class_mask(scl, 3)))) FROM s2 LIMIT 1;
```"#,
    argument(name = "a", description = r#"A mask tile."#),
    argument(name = "b", description = r#"A mask tile."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsOr {
    signature: Signature,
}

scalar_udf!(RsOr, "rs_or");

impl RsOr {
    const PARAMS: Params = Params::fixed(&["a", "b"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_or", fields)?;
        Ok(tile_field("rs_or", &mask_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        mask_logic(&args, &meta, false)
    }
}
