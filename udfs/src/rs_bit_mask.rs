//! `rs_bit_mask(tile, bit, …)`: a mask of the pixels with some bit flags set.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::Signature;
use datafusion_macros::user_doc;

use crate::kernels::band_math::{mask_meta, mask_tiles};
use crate::scalar::{Args, Kind, Params, scalar_udf, tile_field};

/// SQL function `rs_bit_mask` (see its user documentation).
#[user_doc(
    doc_section(label = "Raster mask functions"),
    description = r#"A mask that is true (1) where any of the given bits (0 = least significant) is set in the quality tile's value, false (0) elsewhere. For Landsat Collection 2 `QA_PIXEL`: 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 5 snow. Nodata: nodata pixels of the quality tile are always true (masked). Returns a UInt8 mask tile; pass it to `rs_mask`."#,
    syntax_example = "rs_bit_mask(tile, bit[, bit …])",
    sql_example = r#"```sql
> SELECT rs_tile_mean(rs_mask(red, rs_bit_mask(qa_pixel, 0, 1, 3, 4))) FROM landsat LIMIT 1;
```"#,
    argument(
        name = "tile",
        description = r#"An integer quality tile (e.g. Landsat `QA_PIXEL`)."#
    ),
    argument(
        name = "bit",
        description = r#"Bit positions 0..63 to test (one or more)."#
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RsBitMask {
    signature: Signature,
}

scalar_udf!(RsBitMask, "rs_bit_mask");

impl RsBitMask {
    const PARAMS: Params = Params {
        names: &["tile", "bit"],
        kinds: &[Kind::Tile, Kind::Int],
        required: 2,
        variadic: true,
    };

    fn plan(&self, fields: &[FieldRef], _: &[Option<&ScalarValue>]) -> Result<FieldRef> {
        let meta = Self::PARAMS.same_shape("rs_bit_mask", fields)?;
        if !meta.dtype.is_integer() {
            return datafusion::common::plan_err!(
                "rs_bit_mask: argument tile must be a tile of integers, got {}",
                meta.dtype
            );
        }
        Ok(tile_field(
            "rs_bit_mask",
            &mask_meta(&meta).derived(DataType::UInt8, None),
        ))
    }

    fn invoke(&self, args: Args) -> Result<ArrayRef> {
        let meta = args.tile_meta()?;
        let mut bits = 0u64;
        for i in 1..args.len() {
            let b = args.int(i)?;
            if !(0..64).contains(&b) {
                return exec_err!("rs_bit_mask: bit must be in 0..63, got {b}");
            }
            bits |= 1 << b;
        }
        let (list, tmeta) = args.tile(0)?;
        // the stored integers (not scaled): physical values of an unscaled tile
        let unscaled = crate::tile::TileMeta {
            scale: 1.0,
            offset: 0.0,
            ..tmeta
        };
        let values = crate::tile::Tiles {
            array: list,
            meta: &unscaled,
        }
        .physical()?;
        let out = values
            .iter()
            .map(|v| u8::from(v.is_nan() || (*v as i64 as u64) & bits != 0))
            .collect();
        mask_tiles(out, &meta, &args)
    }
}
