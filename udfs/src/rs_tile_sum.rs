//! `rs_tile_sum(tile)`: the sum of the valid pixels of a tile.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::tile_stats::per_tile;
use crate::scalar::{Args, Kind, Params, scalar_udf, value_field};

/// SQL function `rs_tile_sum` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster tile statistics"),
    description = r#"The sum of the valid pixels of each tile (0 pixels: NULL). Pixels are physical values (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN pixels are skipped; a tile without valid pixels gives NULL. Returns Float64."#,
    syntax_example = "rs_tile_sum(tile)",
    sql_example = r#"```sql
> SELECT datetime, sum(rs_tile_sum(rs_ndvi(nir, red))) / sum(rs_tile_count(rs_ndvi(nir, red))) AS ndvi FROM s2 GROUP BY datetime ORDER BY datetime;
```"#,
    argument(
        name = "tile",
        description = r#"A tile (band column or derived tile)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsTileSum {
    signature: Signature,
}

scalar_udf!(RsTileSum, "rs_tile_sum");

impl RsTileSum {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        Self::PARAMS.same_shape("rs_tile_sum", fields)?;
        Ok(value_field("rs_tile_sum", DataType::Float64))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        per_tile(&args, |s| (s.count > 0).then_some(s.sum))
    }
}
