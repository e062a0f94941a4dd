//! `rs_dilate(mask, radius)`: grow a mask by a disk.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{mask_meta, mask_tiles, mask_values};
use crate::kernels::masks::dilate;
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// The largest dilation radius, in pixels.
pub const MAX_RADIUS: i64 = 256;

/// SQL function `rs_dilate` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"Grows the true pixels of a mask by a disk of `radius` pixels (dy² + dx² ≤ radius², as `skimage.morphology.disk` and odc-algo's mask clean-up use), because cloud edges are under-detected. The dilation stays within the tile: a cloud just across a chunk edge does not grow into this chunk. Nodata: missing mask pixels (255) count as true. Returns a UInt8 mask tile of 0 and 1."#,
    syntax_example = "rs_dilate(mask, radius)",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_mask(red, rs_dilate(rs_class_mask(scl, 3, 8, 9, 10), 3))) FROM s2 LIMIT 1;
```"#,
    argument(name = "mask", description = r#"A mask tile."#),
    argument(name = "radius", description = r#"Disk radius in pixels, 0 to 256."#)
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsDilate {
    signature: Signature,
}

scalar_udf!(RsDilate, "rs_dilate");

impl RsDilate {
    const PARAMS: Params = Params::fixed(&["mask", "radius"], &[Kind::Tile, Kind::Int]);

    fn plan(
        &self,
        fields: &[FieldRef],
        scalars: &[Option<&ScalarValue>],
    ) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_dilate", fields)?;
        if let Some(Some(r)) = scalars.get(1) {
            check_radius((*r).clone().cast_to(&DataType::Int64)?)?;
        }
        Ok(tile_field(
            "rs_dilate",
            &mask_meta(&meta).derived(DataType::UInt8, None),
        ))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let radius = args.int(1)?;
        check_radius(ScalarValue::Int64(Some(radius)))?;
        let mask = mask_values(&args, 0)?;
        let len = meta.len().max(1);
        let mut out = Vec::with_capacity(mask.len());
        for tile in mask.chunks(len) {
            out.extend(dilate(tile, meta.rows, meta.cols, radius as usize));
        }
        mask_tiles(out, &meta, &args)
    }
}

fn check_radius(r: ScalarValue) -> Result<()> {
    match r {
        ScalarValue::Int64(Some(r)) if (0..=MAX_RADIUS).contains(&r) => Ok(()),
        ScalarValue::Int64(Some(r)) => {
            exec_err!("rs_dilate: radius must be in 0..={MAX_RADIUS} pixels, got {r}")
        }
        _ => exec_err!("rs_dilate: radius must not be NULL"),
    }
}
