//! `rs_bcmad(band[, band …][, eps])`: the per-pixel BCMAD from the geomedian.

use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::aggregate::{StackOutput, stack_udf};

/// SQL function `rs_bcmad` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"The Bray-Curtis median absolute deviation: per pixel, the median over valid observations x of Σ|x_b − m_b| / Σ|x_b + m_b|, the Bray-Curtis distance to the geomedian m, as odc-algo's geomedian_with_mads. Each observation is a vector of the bands' physical values; an observation counts only where all its bands are valid. The geomedian is computed per pixel by Weiszfeld iterations from the per-band mean (with the Vardi–Zhang step, as hdstats and odc-algo), until a step moves less than `eps` (default 1e-7) or after 1000 iterations. Nodata: a pixel without any valid observation is missing (NaN). Memory: holds every tile of every band of the group (4 bytes per pixel, band and observation), reserved in the query's memory pool. Returns a Float32 tile. Use `rs_geomedian_mads` to get the geomedian and all three MADs in one pass."#,
    syntax_example = "rs_bcmad(band[, band …][, eps])",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, rs_bcmad(red, green, blue, nir) FROM s2 GROUP BY chunk_x, chunk_y;
```"#,
    argument(
        name = "band",
        description = r#"Two or more band tiles of one shape (e.g. `red, green, blue, nir`), at most 16; each is converted to physical values (reflectance)."#
    ),
    argument(
        name = "eps",
        description = r#"Optional constant: stop the iterations when a step moves the estimate less than this (physical units, default 1e-7; odc-algo uses 1e-4 for float input)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsBcmad {
    signature: Signature,
}

stack_udf!(
    RsBcmad,
    "rs_bcmad",
    StackOutput::Bcmad,
    crate::aggregate::BANDS_EPS
);
