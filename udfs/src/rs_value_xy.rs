//! `rs_value_xy(tile, chunk_x, chunk_y, x, y)`: the pixel value at a point in the grid CRS.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::scalar::{Args, Kind, Params, scalar_udf, value_field};

/// SQL function `rs_value_xy` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster tile statistics"),
    description = r#"The value of the pixel that contains the point (x, y in the table grid's CRS, e.g. UTM metres), for rows whose chunk holds it. The tile must carry its table's grid (`swath:grid` field metadata): band columns of datacube tables do, and so do tiles derived from them in an embedded session. Nodata: NULL where the point is not in the row's chunk, or the pixel is nodata or NaN. Returns Float64 (the physical value: stored × scale + offset)."#,
    syntax_example = "rs_value_xy(tile, chunk_x, chunk_y, x, y)",
    sql_example = r#"```sql
> SELECT datetime, rs_value_xy(red, chunk_x, chunk_y, 735900.0, 5000050.0) AS red
  FROM s2 WHERE rs_value_xy(red, chunk_x, chunk_y, 735900.0, 5000050.0) IS NOT NULL ORDER BY datetime;
```"#,
    argument(name = "tile", description = r#"A band tile of a datacube table."#),
    argument(name = "chunk_x", description = r#"The row's `chunk_x`."#),
    argument(name = "chunk_y", description = r#"The row's `chunk_y`."#),
    argument(name = "x", description = r#"Easting in the grid CRS."#),
    argument(name = "y", description = r#"Northing in the grid CRS."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsValueXy {
    signature: Signature,
}

scalar_udf!(RsValueXy, "rs_value_xy");

impl RsValueXy {
    const PARAMS: Params = Params::fixed(
        &["tile", "chunk_x", "chunk_y", "x", "y"],
        &[
            Kind::Tile,
            Kind::Number,
            Kind::Number,
            Kind::Number,
            Kind::Number,
        ],
    );

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        Self::PARAMS.same_shape("rs_value_xy", fields)?;
        Ok(value_field("rs_value_xy", DataType::Float64))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        crate::kernels::point::extract(&args, "rs_value_xy", false)
    }
}
