//! `rs_geomedian_mads(band[, band …][, eps])`: the geomedian, its three MADs and the observation count, in one pass.

use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::aggregate::{StackOutput, stack_udf};

/// SQL function `rs_geomedian_mads` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster aggregate functions"),
    description = r#"Per pixel, the geometric median of the group's n-band observations with the spectral, euclidean and Bray-Curtis median absolute deviations from it and the number of valid observations, computed in one pass (odc-algo's geomedian_with_mads). Each observation is a vector of the bands' physical values; an observation counts only where all its bands are valid. The geomedian is computed per pixel by Weiszfeld iterations from the per-band mean (with the Vardi–Zhang step, as hdstats and odc-algo), until a step moves less than `eps` (default 1e-7) or after 1000 iterations. Nodata: a pixel without any valid observation is missing (NaN). Memory: holds every tile of every band of the group (4 bytes per pixel, band and observation), reserved in the query's memory pool. Returns a struct: one Float32 tile per band named after the arguments, then `smad`, `emad`, `bcmad` (Float32) and `count` (UInt32)."#,
    syntax_example = "rs_geomedian_mads(band[, band …][, eps])",
    sql_example = r#"```sql
> SELECT chunk_x, chunk_y, g['red'], g['smad'] FROM (SELECT chunk_x, chunk_y, rs_geomedian_mads(red, green, blue, nir) AS g FROM s2 GROUP BY chunk_x, chunk_y);
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
pub struct RsGeomedianMads {
    signature: Signature,
}

stack_udf!(
    RsGeomedianMads,
    "rs_geomedian_mads",
    StackOutput::GeomedianMads,
    crate::aggregate::BANDS_EPS
);
