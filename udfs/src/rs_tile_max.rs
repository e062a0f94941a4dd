//! `rs_tile_max(tile)`: the largest valid pixel of a tile.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::tile_stats::per_tile;
use crate::scalar::{Args, Kind, Params, scalar_udf, value_field};

/// SQL function `rs_tile_max` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster tile statistics"),
    description = r#"The largest valid pixel value of each tile. Pixels are physical values (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN pixels are skipped; a tile without valid pixels gives NULL. Returns Float64."#,
    syntax_example = "rs_tile_max(tile)",
    sql_example = r#"```sql
> SELECT rs_tile_max(red) FROM s2 LIMIT 1;
```"#,
    argument(
        name = "tile",
        description = r#"A tile (band column or derived tile)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsTileMax {
    signature: Signature,
}

scalar_udf!(RsTileMax, "rs_tile_max");

impl RsTileMax {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        Self::PARAMS.same_shape("rs_tile_max", fields)?;
        Ok(value_field("rs_tile_max", DataType::Float64))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        per_tile(&args, |s| (s.count > 0).then_some(s.max))
    }
}
