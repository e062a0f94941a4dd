//! `rs_value(tile, chunk_x, chunk_y, lon, lat)`: the pixel value at a lon/lat point.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::scalar::{Args, Kind, Params, scalar_udf, value_field};

/// SQL function `rs_value` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster tile statistics"),
    description = r#"The value of the pixel that contains the point (lon, lat in degrees, WGS84), for rows whose chunk holds it: point extraction, e.g. a time series at a site. The tile must carry its table's grid (`swath:grid` field metadata): band columns of datacube tables do, and so do tiles derived from them in an embedded session. Nodata: NULL where the point is not in the row's chunk, or the pixel is nodata or NaN. Returns Float64 (the physical value: stored × scale + offset)."#,
    syntax_example = "rs_value(tile, chunk_x, chunk_y, lon, lat)",
    sql_example = r#"```sql
> SELECT datetime, rs_value(red, chunk_x, chunk_y, 17.999, 45.114) AS red
  FROM s2 WHERE rs_value(red, chunk_x, chunk_y, 17.999, 45.114) IS NOT NULL ORDER BY datetime;
```"#,
    argument(name = "tile", description = r#"A band tile of a datacube table."#),
    argument(name = "chunk_x", description = r#"The row's `chunk_x`."#),
    argument(name = "chunk_y", description = r#"The row's `chunk_y`."#),
    argument(name = "lon", description = r#"Longitude in degrees."#),
    argument(name = "lat", description = r#"Latitude in degrees."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsValue {
    signature: Signature,
}

scalar_udf!(RsValue, "rs_value");

impl RsValue {
    const PARAMS: Params = Params::fixed(
        &["tile", "chunk_x", "chunk_y", "lon", "lat"],
        &[
            Kind::Tile,
            Kind::Number,
            Kind::Number,
            Kind::Number,
            Kind::Number,
        ],
    );

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        Self::PARAMS.same_shape("rs_value", fields)?;
        Ok(value_field("rs_value", DataType::Float64))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        crate::kernels::point::extract(&args, "rs_value", true)
    }
}
