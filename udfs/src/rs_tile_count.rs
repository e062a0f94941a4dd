//! `rs_tile_count(tile)`: the number of valid pixels of a tile.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::tile_stats::per_tile_count;
use crate::scalar::{Args, Kind, Params, scalar_udf, value_field};

/// SQL function `rs_tile_count` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster tile statistics"),
    description = r#"The number of valid pixels of each tile. Pixels are physical values (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN pixels are skipped; a NULL tile gives NULL. Returns Int64."#,
    syntax_example = "rs_tile_count(tile)",
    sql_example = r#"```sql
> SELECT datetime, sum(rs_tile_count(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10)))) AS clear FROM s2 GROUP BY datetime;
```"#,
    argument(
        name = "tile",
        description = r#"A tile (band column or derived tile)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsTileCount {
    signature: Signature,
}

scalar_udf!(RsTileCount, "rs_tile_count");

impl RsTileCount {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        Self::PARAMS.same_shape("rs_tile_count", fields)?;
        Ok(value_field("rs_tile_count", DataType::Int64))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        per_tile_count(&args)
    }
}
