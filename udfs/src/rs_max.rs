//! `rs_max(tile)`: the per-pixel largest value of a group of tiles.

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{ExtremeAccumulator, aggregate_udf, tile_metas};
use crate::scalar::{Kind, Params};

/// SQL function `rs_max` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the largest of the group's valid observations. Values are physical (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN observations are skipped per pixel; a pixel without any valid observation is missing (NaN). Memory: 4 bytes per pixel. Returns a Float32 tile."#,
    syntax_example = "rs_max(tile)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_max(rs_ndvi(nir, red)) FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsMax {
    signature: Signature,
}

aggregate_udf!(RsMax, "rs_max");

impl RsMax {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_max", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_max: expected a tile".into())
        })?;
        Ok(std::sync::Arc::new(meta.physical().field("rs_max", true)))
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_max", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_max: expected a tile".into())
        })?;
        Ok(ExtremeAccumulator::state_fields("rs_max", &meta))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metas = tile_metas("rs_max", &Self::PARAMS, args.expr_fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_max: expected a tile".into())
        })?;
        Ok(Box::new(ExtremeAccumulator::new(meta, true)))
    }
}
