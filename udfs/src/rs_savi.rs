//! `rs_savi(nir, red[, l])`: the soil-adjusted vegetation index.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{float_meta, float_tiles};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_savi` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster index functions"),
    description = r#"SAVI = (1 + L) (nir - red) / (nir + red + L) per pixel, on reflectance; L = 0.5 unless given. Inputs are converted to physical values first (stored value × `swath:scale` + `swath:offset`). Nodata: a pixel is missing (NaN) where any input is nodata or NaN, or where the denominator is zero. Returns a Float32 tile with the inputs' shape."#,
    syntax_example = "rs_savi(nir, red[, l])",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_savi(nir, red)) FROM s2 LIMIT 1;
```"#,
    argument(name = "nir", description = r#"Near-infrared tile (Sentinel-2 B08)."#),
    argument(name = "red", description = r#"Red tile (B04)."#),
    argument(name = "l", description = r#"Soil brightness factor L (default 0.5)."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsSavi {
    signature: Signature,
}

scalar_udf!(RsSavi, "rs_savi");

impl RsSavi {
    const PARAMS: Params = Params {
        names: &["nir", "red", "l"],
        kinds: &[Kind::Tile, Kind::Tile, Kind::Number],
        required: 2,
        variadic: false,
    };

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_savi", fields)?;
        Ok(tile_field("rs_savi", &float_meta(&meta)))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let l = if args.len() > 2 {
            args.number(2)?
        } else {
            crate::scalar::Number::Constant(0.5)
        };
        let ops = [args.physical(0)?.0, args.physical(1)?.0];
        let len = meta.len();
        let mut out = Vec::with_capacity(ops[0].len());
        for (i, (n, r)) in ops[0].iter().zip(&ops[1]).enumerate() {
            let l = l.at(i / len.max(1)) as f32;
            let d = n + r + l;
            out.push(if d == 0.0 {
                f32::NAN
            } else {
                (1.0 + l) * (n - r) / d
            });
        }
        float_tiles(out, &meta, &args)
    }
}
