//! `rs_and(a, b)`: pixel-wise AND of two masks.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{mask_logic, mask_meta};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_and` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"True where both masks are true. Mask tiles are UInt8: 1 true, 0 false, 255 (their nodata) missing; a nonzero pixel of another tile counts as true. Also planned for the SQL operator `AND` on tiles. Nodata: SQL's three-valued logic per pixel (false AND missing is false, true AND missing is missing)."#,
    syntax_example = "rs_and(a, b)",
    sql_example = r#"```sql
> SELECT rs_tile_count(rs_where(rs_and(nir > 0.3, red < 0.1), 1, NULL)) AS named, rs_tile_count(rs_where(nir > 0.3 AND red < 0.1, 1, NULL)) AS with_operator FROM s2 LIMIT 1;
```"#,
    argument(name = "a", description = r#"A mask tile."#),
    argument(name = "b", description = r#"A mask tile."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsAnd {
    signature: Signature,
}

scalar_udf!(RsAnd, "rs_and");

impl RsAnd {
    const PARAMS: Params = Params::fixed(&["a", "b"], &[Kind::Tile, Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_and", fields)?;
        Ok(tile_field("rs_and", &mask_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        mask_logic(&args, &meta, true)
    }
}
