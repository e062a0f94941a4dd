//! `rs_std(tile)`: the per-pixel standard deviation of a group of tiles.

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{MomentsAccumulator, MomentsOutput, aggregate_udf, tile_metas};
use crate::scalar::{Kind, Params};

/// SQL function `rs_std` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the population standard deviation (ddof = 0, as numpy.nanstd) of the group's valid observations, by Welford's update and Chan's merge in float64. Values are physical (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN observations are skipped per pixel; a pixel without any valid observation is missing (NaN). Memory: 24 bytes per pixel, independent of the number of observations. Returns a Float32 tile."#,
    syntax_example = "rs_std(tile)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_std(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10))) FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsStd {
    signature: Signature,
}

aggregate_udf!(RsStd, "rs_std");

impl RsStd {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_std", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_std: expected a tile".into())
        })?;
        Ok(std::sync::Arc::new(meta.physical().field("rs_std", true)))
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_std", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_std: expected a tile".into())
        })?;
        Ok(MomentsAccumulator::state_fields("rs_std", &meta))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metas = tile_metas("rs_std", &Self::PARAMS, args.expr_fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_std: expected a tile".into())
        })?;
        Ok(Box::new(MomentsAccumulator::new(meta, MomentsOutput::Std)))
    }
}
