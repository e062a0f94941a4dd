//! `rs_class_mask(tile, class, …)`: a mask of the pixels in some classes.

use arrow::array::ArrayRef;
use arrow::datatypes::FieldRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{mask_meta, mask_tiles};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_class_mask` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"A mask that is true (1) where the classification tile's value is one of the classes, false (0) elsewhere. For Sentinel-2 SCL the usual clouds-and-shadows set is 3 (cloud shadow), 8, 9 (cloud medium/high probability) and 10 (thin cirrus), often with 0 (no data) and 1 (saturated). Nodata: nodata pixels of the classification are always true (masked), so a mask never lets missing data through. Returns a UInt8 mask tile; pass it to `rs_mask`."#,
    syntax_example = "rs_class_mask(tile, class[, class …])",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 3, 8, 9, 10))) FROM s2 LIMIT 1;
```"#,
    argument(
        name = "tile",
        description = r#"A classification tile (e.g. Sentinel-2 `scl`)."#
    ),
    argument(
        name = "class",
        description = r#"Integer class values to mask (one or more)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsClassMask {
    signature: Signature,
}

scalar_udf!(RsClassMask, "rs_class_mask");

impl RsClassMask {
    const PARAMS: Params = Params {
        names: &["tile", "class"],
        kinds: &[Kind::Tile, Kind::Int],
        required: 2,
        variadic: true,
    };

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_class_mask", fields)?;
        Ok(tile_field(
            "rs_class_mask",
            &mask_meta(&meta).derived(arrow::datatypes::DataType::UInt8, None),
        ))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let classes = (1..args.len())
            .map(|i| args.int(i).map(|c| c as f32))
            .collect::<Result<Vec<_>>>()?;
        let (values, _) = args.physical(0)?;
        let out = values
            .iter()
            .map(|v| u8::from(v.is_nan() || classes.contains(v)))
            .collect();
        mask_tiles(out, &meta, &args)
    }
}
