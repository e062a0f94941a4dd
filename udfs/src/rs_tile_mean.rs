//! `rs_tile_mean(tile)`: the mean of the valid pixels of a tile.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::tile_stats::per_tile;
use crate::scalar::{Args, Kind, Params, scalar_udf, value_field};

/// SQL function `rs_tile_mean` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster tile statistics"),
    description = r#"The mean of the valid pixels of each tile. Pixels are physical values (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN pixels are skipped; a tile without valid pixels gives NULL. Returns Float64."#,
    syntax_example = "rs_tile_mean(tile)",
    sql_example = r#"```sql
> SELECT datetime, rs_tile_mean(rs_ndvi(nir, red)) AS ndvi FROM s2 WHERE chunk_x = 1 AND chunk_y = 1 ORDER BY datetime;
```"#,
    argument(
        name = "tile",
        description = r#"A tile (band column or derived tile)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsTileMean {
    signature: Signature,
}

scalar_udf!(RsTileMean, "rs_tile_mean");

impl RsTileMean {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        Self::PARAMS.same_shape("rs_tile_mean", fields)?;
        Ok(value_field("rs_tile_mean", DataType::Float64))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        per_tile(&args, |s| s.mean())
    }
}
