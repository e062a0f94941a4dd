//! `rs_gt(a, b)`: the pixel-wise comparison `a > b`.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{compare, mask_meta};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_gt` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster band math functions"),
    description = r#"`a > b` per pixel. Operands are tiles (physical values) or numbers; at least one is a tile. Also planned for the SQL operator `>` when an operand is a tile. Returns a mask tile (UInt8): 1 where true, 0 where false, 255 (its nodata) where an operand is missing."#,
    syntax_example = "rs_gt(a, b)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_where(rs_gt(nir, 0.3), 1, 0)) AS named, rs_tile_mean(rs_where(nir > 0.3, 1, 0)) AS with_operator FROM s2 LIMIT 1;
```"#,
    argument(name = "a", description = r#"A tile or a number."#),
    argument(name = "b", description = r#"A tile or a number."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsGt {
    signature: Signature,
}

scalar_udf!(RsGt, "rs_gt");

impl RsGt {
    const PARAMS: Params =
        Params::fixed(&["a", "b"], &[Kind::TileOrNumber, Kind::TileOrNumber]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_gt", fields)?;
        Ok(tile_field("rs_gt", &mask_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        compare(&args, &meta, |a, b| a > b)
    }
}
