//! `rs_not(mask)`: pixel-wise negation of a mask.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{MASK_MISSING, mask_meta, mask_tiles, mask_values};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_not` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"True where the mask is false. Mask tiles are UInt8: 1 true, 0 false, 255 (their nodata) missing; a nonzero pixel of another tile counts as true. Also planned for the SQL operator `NOT` on tiles. Nodata: SQL's three-valued logic per pixel (NOT missing is missing)."#,
    syntax_example = "rs_not(mask)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_mask(red, rs_not(rs_class_mask(scl, 4, 5)))) FROM s2 LIMIT 1;
```"#,
    argument(name = "mask", description = r#"A mask tile."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsNot {
    signature: Signature,
}

scalar_udf!(RsNot, "rs_not");

impl RsNot {
    const PARAMS: Params = Params::fixed(&["mask"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_not", fields)?;
        Ok(tile_field("rs_not", &mask_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let out = mask_values(&args, 0)?
            .iter()
            .map(|x| match *x {
                0 => 1,
                MASK_MISSING => MASK_MISSING,
                _ => 0,
            })
            .collect();
        mask_tiles(out, &meta, &args)
    }
}
