//! `rs_first(tile)`: the per-pixel first valid value of a group of tiles (fusion, mosaics).

use arrow::datatypes::FieldRef;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, Signature};
use datafusion_macros::user_doc;

use crate::aggregate::{FirstAccumulator, aggregate_udf, tile_metas};
use crate::scalar::{Kind, Params};

/// SQL function `rs_first` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the first valid observation in input order: fusion of overlapping scenes (first valid pixel wins, as odc-stac's solar-day grouping) and mosaics. The datacube scan delivers a chunk's rows in `datetime` order, so grouped by `chunk_x, chunk_y` it takes the earliest valid pixel; in a multi-stage plan the order between partial results is not defined. An `ORDER BY` inside the call is refused rather than ignored: order the input instead (a subquery with ORDER BY). Keeps the stored values: pixel type, nodata, scale and offset are the input's. Nodata: nodata and NaN observations are skipped; a pixel never valid stays nodata. Memory: 8 bytes per pixel."#,
    syntax_example = "rs_first(tile)",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_first(rs_mask(red, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS red FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "tile",
        description = r#"A tile column (a band or a derived tile such as a masked band)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsFirst {
    signature: Signature,
}

aggregate_udf!(RsFirst, "rs_first");

impl RsFirst {
    const PARAMS: Params = Params::fixed(&["tile"], &[Kind::Tile]);

    fn plan(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        let metas = tile_metas("rs_first", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_first: expected a tile".into())
        })?;
        Ok(std::sync::Arc::new(
            crate::aggregate::first_output(&meta).field("rs_first", true),
        ))
    }

    fn state(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        let metas = tile_metas("rs_first", &Self::PARAMS, fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_first: expected a tile".into())
        })?;
        Ok(FirstAccumulator::state_fields("rs_first", &meta))
    }

    fn make(&self, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if !args.order_bys.is_empty() {
            return datafusion::common::plan_err!(
                "rs_first: ORDER BY inside the call is not supported; order the input \
                 (the datacube scan delivers a chunk's rows in datetime order)"
            );
        }
        let metas = tile_metas("rs_first", &Self::PARAMS, args.expr_fields)?;
        let meta = metas.into_iter().next().ok_or_else(|| {
            datafusion::common::DataFusionError::Plan("rs_first: expected a tile".into())
        })?;
        Ok(Box::new(FirstAccumulator::new(meta)))
    }
}
