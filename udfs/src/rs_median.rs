//! `rs_median(tile)`: the per-pixel median of a group of tiles.

use std::sync::Arc;

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{
    StackAccumulator, StackOutput, aggregate_udf, stack_return_field, stack_state_fields,
    tile_metas,
};
use crate::scalar::{Kind, Params};

/// SQL function `rs_median` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the median of the group's valid observations (for an even count the mean of the two middle values, as numpy.nanmedian), computed by selection, not sorting. Grouped by `chunk_x, chunk_y` it is a temporal median composite. Values are physical (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN observations are skipped per pixel; a pixel without any valid observation is missing (NaN) in the result. Memory: holds every tile of the group (4 bytes per pixel and observation), reserved in the query's memory pool. Returns a Float32 tile."#,
    syntax_example = "rs_median(tile)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_median(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red
  FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsMedian {
    signature: Signature,
}

aggregate_udf!(RsMedian, "rs_median");

impl RsMedian {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_median", &Self::PARAMS, fields)?;
        stack_return_field(
            "rs_median",
            StackOutput::Percentile(50.0),
            &metas,
            &fields.iter().map(|f| f.name().clone()).collect::<Vec<_>>(),
        )
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_median", &Self::PARAMS, fields)?;
        Ok(stack_state_fields("rs_median", &metas))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metas = tile_metas("rs_median", &Self::PARAMS, args.expr_fields)?;
        Ok(Box::new(StackAccumulator::new(
            metas,
            StackOutput::Percentile(50.0),
            Arc::clone(&args.return_field),
        )))
    }
}
