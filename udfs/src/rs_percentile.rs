//! `rs_percentile(tile, p)`: the per-pixel percentile of a group of tiles.

use std::sync::Arc;

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{
    StackAccumulator, StackOutput, aggregate_udf, percentile_argument,
    stack_return_field, stack_state_fields, tile_metas,
};
use crate::scalar::{Kind, Params};

/// SQL function `rs_percentile` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the `p`-th percentile (0 to 100) of the group's valid observations, with numpy's default linear interpolation between closest ranks (numpy.nanpercentile); by selection, not sorting. `p` must be a constant in [0, 100]. Values are physical (stored × `swath:scale` + `swath:offset`). Nodata: nodata and NaN observations are skipped per pixel; a pixel without any valid observation is missing (NaN) in the result. Memory: holds every tile of the group (4 bytes per pixel and observation), reserved in the query's memory pool. Returns a Float32 tile."#,
    syntax_example = "rs_percentile(tile, p)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_percentile(rs_ndvi(nir, red), 90) AS ndvi_p90 FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    ),
    argument(name = "p", description = r#"Percentile, a constant from 0 to 100."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsPercentile {
    signature: Signature,
}

aggregate_udf!(RsPercentile, "rs_percentile");

impl RsPercentile {
    const PARAMS: Params = Params::fixed(&["tile", "p"], &[Kind::Tile, Kind::Number]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_percentile", &Self::PARAMS, fields)?;
        stack_return_field(
            "rs_percentile",
            StackOutput::Percentile(0.0),
            &metas,
            &fields.iter().map(|f| f.name().clone()).collect::<Vec<_>>(),
        )
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_percentile", &Self::PARAMS, fields)?;
        Ok(stack_state_fields("rs_percentile", &metas))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metas = tile_metas("rs_percentile", &Self::PARAMS, args.expr_fields)?;
        let q = percentile_argument(args)?;
        Ok(Box::new(StackAccumulator::new(
            metas,
            StackOutput::Percentile(q),
            Arc::clone(&args.return_field),
        )))
    }
}
