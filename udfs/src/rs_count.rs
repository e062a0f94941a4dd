//! `rs_count(tile)`: the per-pixel count of valid observations.

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{MomentsAccumulator, MomentsOutput, aggregate_udf, tile_metas};
use crate::scalar::{Kind, Params};

/// SQL function `rs_count` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, how many of the group's observations are valid. Nodata: nodata and NaN observations are skipped per pixel; a pixel without valid observations counts 0. Memory: 24 bytes per pixel, independent of the number of observations. Returns a UInt32 tile."#,
    syntax_example = "rs_count(tile)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_count(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10))) FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsCount {
    signature: Signature,
}

aggregate_udf!(RsCount, "rs_count");

impl RsCount {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_count", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_count: expected a tile".into())
        })?;
        Ok(std::sync::Arc::new(
            meta.derived(arrow::datatypes::DataType::UInt32, None)
                .field("rs_count", true),
        ))
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_count", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_count: expected a tile".into())
        })?;
        Ok(MomentsAccumulator::state_fields("rs_count", &meta))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metas = tile_metas("rs_count", &Self::PARAMS, args.expr_fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_count: expected a tile".into())
        })?;
        Ok(Box::new(MomentsAccumulator::new(
            meta,
            MomentsOutput::Count,
        )))
    }
}
