//! `rs_median(tile)`: the per-pixel median of a group of tiles.

use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::aggregate::{StackOutput, stack_udf};

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

stack_udf!(
    RsMedian,
    "rs_median",
    StackOutput::Percentile(50.0),
    crate::scalar::Params::fixed(&["tile"], &[crate::scalar::Kind::Tile])
);
