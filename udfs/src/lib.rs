//! Swath's raster functions: the `rs_*` family of DataFusion functions over tiles
//! (`arrow.fixed_shape_tensor` columns, `FixedSizeList<T>[h·w]`).
//!
//! - Band math and indices, tile → Float32 tile: `rs_ndvi`, `rs_evi`, `rs_add`, …;
//!   SQL operators on tile columns plan as these ([`planner::TileOperatorPlanner`]).
//! - Masks, tile → UInt8 mask tile: `rs_class_mask`, `rs_bit_mask`, `rs_dilate`, and
//!   `rs_mask` to apply one.
//! - Tile statistics, tile → number: `rs_tile_count`, `rs_tile_mean`, ….
//! - Temporal reducers, many tiles → one tile per group: `rs_median`, `rs_geomedian`, ….
//!
//! Conventions: tiles carry `swath:nodata`, `swath:scale` and `swath:offset` in their
//! field metadata. Functions that compute new values work on physical values (stored ×
//! scale + offset) and return Float32 tiles with NaN for missing pixels; masks are
//! UInt8 tiles (0 false, 1 true, 255 missing); `rs_first` keeps the stored values.
//! Results are self-describing without field metadata (NaN, the mask convention),
//! because serialised physical plans (Ballista) keep the types of function results
//! but not their field metadata.
//!
//! How to add a function: a file named after it (`rs_example.rs`) with one struct,
//! `#[user_doc]` (description ending with its nodata behaviour, syntax, SQL example,
//! arguments) and the `scalar_udf!` wiring (or an `AggregateUDFImpl`); its loop in
//! `kernels/` when it is shared; one line in `register.rs`; its SQL in an `.slt` suite
//! under `tests/slt/` and its numbers checked against numpy in `tests/functions/`.

#![warn(missing_docs)]

pub mod aggregate;
pub mod kernels;
pub mod planner;
pub mod reference;
pub mod register;
pub mod scalar;
pub mod tile;

pub mod rs_add;
pub mod rs_and;
pub mod rs_bcmad;
pub mod rs_bit_mask;
pub mod rs_class_mask;
pub mod rs_count;
pub mod rs_dilate;
pub mod rs_divide;
pub mod rs_emad;
pub mod rs_eq;
pub mod rs_evi;
pub mod rs_first;
pub mod rs_ge;
pub mod rs_geomedian;
pub mod rs_geomedian_mads;
pub mod rs_gt;
pub mod rs_le;
pub mod rs_lt;
pub mod rs_mask;
pub mod rs_max;
pub mod rs_mean;
pub mod rs_median;
pub mod rs_min;
pub mod rs_multiply;
pub mod rs_nbr;
pub mod rs_ndvi;
pub mod rs_ndwi;
pub mod rs_ne;
pub mod rs_normalized_difference;
pub mod rs_not;
pub mod rs_or;
pub mod rs_percentile;
pub mod rs_savi;
pub mod rs_scale;
pub mod rs_smad;
pub mod rs_std;
pub mod rs_subtract;
pub mod rs_tile_count;
pub mod rs_tile_max;
pub mod rs_tile_mean;
pub mod rs_tile_min;
pub mod rs_tile_std;
pub mod rs_tile_sum;
pub mod rs_value;
pub mod rs_value_xy;
pub mod rs_where;

pub use planner::TileOperatorPlanner;
pub use register::{aggregate_functions, scalar_functions};
