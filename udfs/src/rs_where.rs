//! `rs_where(condition, a, b)`: pixel-wise selection between two operands.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{
    MASK_MISSING, Operand, float_meta, float_tiles, mask_values,
};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_where` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster band math functions"),
    description = r#"Per pixel, `a` where the condition tile is true (nonzero) and `b` where it is false (0), like SQL `CASE WHEN` per pixel. `a` and `b` are tiles (physical values) or numbers. Nodata: a pixel is missing (NaN) where the condition is missing, or where the chosen operand is missing. Returns a Float32 tile."#,
    syntax_example = "rs_where(condition, a, b)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_where(rs_ndvi(nir, red) > 0.5, 1, 0)) AS dense_share FROM s2 LIMIT 1;
```"#,
    argument(
        name = "condition",
        description = r#"A mask tile (a comparison such as `nir > 0.3`, or a mask function)."#
    ),
    argument(
        name = "a",
        description = r#"Tile or number used where the condition is true."#
    ),
    argument(
        name = "b",
        description = r#"Tile or number used where the condition is false."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsWhere {
    signature: Signature,
}

scalar_udf!(RsWhere, "rs_where");

impl RsWhere {
    const PARAMS: Params = Params::fixed(
        &["condition", "a", "b"],
        &[Kind::Tile, Kind::TileOrNumber, Kind::TileOrNumber],
    );

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_where", fields)?;
        Ok(tile_field("rs_where", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let cond = mask_values(&args, 0)?;
        let ops = Operand::all(&args)?;
        let len = meta.len();
        let out = cond
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (row, p) = (i / len.max(1), i % len.max(1));
                match *c {
                    MASK_MISSING => f32::NAN,
                    0 => ops[2].at(row, len, p),
                    _ => ops[1].at(row, len, p),
                }
            })
            .collect();
        float_tiles(out, &meta, &args)
    }
}
