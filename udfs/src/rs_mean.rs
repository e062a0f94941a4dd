//! `rs_mean(tile)`: the per-pixel mean of a group of tiles.

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{MomentsAccumulator, MomentsOutput, aggregate_udf, tile_metas};
use crate::scalar::{Kind, Params};

/// SQL function `rs_mean` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the mean of the group's valid observations. Values are physical (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN observations are skipped per pixel; a pixel without any valid observation is missing (NaN). Memory: 24 bytes per pixel, independent of the number of observations. Returns a Float32 tile."#,
    syntax_example = "rs_mean(tile)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_mean(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10))) FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsMean {
    signature: Signature,
}

aggregate_udf!(RsMean, "rs_mean");

impl RsMean {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_mean", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_mean: expected a tile".into())
        })?;
        Ok(std::sync::Arc::new(meta.physical().field("rs_mean", true)))
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_mean", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_mean: expected a tile".into())
        })?;
        Ok(MomentsAccumulator::state_fields("rs_mean", &meta))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metas = tile_metas("rs_mean", &Self::PARAMS, args.expr_fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_mean: expected a tile".into())
        })?;
        Ok(Box::new(MomentsAccumulator::new(meta, MomentsOutput::Mean)))
    }
}
