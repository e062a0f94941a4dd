//! Grids, chunk windows, projections and warping for Swath, in pure Rust.
//!
//! A datacube table has a target [`Grid`] (CRS, affine transform, size); its rows are
//! fixed-size [`PixelWindow`]s of that grid. This crate answers the geometric
//! questions the engine asks while reading:
//!
//! - [`Crs`] and [`Transformer`]: coordinate systems from EPSG codes (the
//!   `crs-definitions` table) or PROJ strings, projected with `proj4rs`; geographic
//!   coordinates are longitude/latitude in degrees at this API.
//! - [`Grid`], [`PixelWindow`], [`footprint_lonlat`]: where a chunk lies, in its CRS
//!   and as a WGS84 polygon for spatial predicates.
//! - [`WarpPlan`]: which source pixels a destination chunk needs (the window to read
//!   from a COG) and how to resample them onto the chunk — GDAL's warper (3.10)
//!   reproduced: same sample positions, approximate transformer, nearest and
//!   bilinear kernels, nodata handling. Same-CRS whole-pixel offsets are a plain
//!   copy; other same-CRS cases never call `proj4rs`.
//! - [`overview_level`], [`gdalwarp_overview_ratio`]: which COG overview gdalwarp
//!   would read for a coarser target.
//!
//! Accuracy: `proj4rs` implements UTM with the same Poder/Engsager extended
//! transverse Mercator (6th order) as PROJ; against PROJ 9.5 (pyproj) UTM, Web
//! Mercator and forward LAEA agree to a few nanometres, inverse LAEA (EPSG:3035 to
//! lon/lat) to 1.2 mm at the edges of Europe, where proj4rs's authalic-latitude series
//! is shorter than PROJ's (`tests/grid` measures all of it).
//!
//! Nothing here panics on input: bad CRS strings, unknown EPSG codes, degenerate
//! grids, empty windows and buffers of the wrong size are typed [`Error`]s, and points
//! that cannot be projected become NaN.
//!
//! # How to add a new resampling method
//!
//! Add the variant to [`Resampling`] (with its `FromStr`/`Display` names), give it a
//! kernel radius in `WarpPlan::new` (it widens the source window), implement the
//! kernel next to `bilinear4` in `warp/kernel.rs` following GDAL's
//! `gdalwarpkernel.cpp`, dispatch to it in `WarpPlan::resample`, and add a GDAL parity
//! case to `tests/grid` (`tests/scripts/grid_warp.py` passes the method to gdalwarp).
#![warn(missing_docs)]

mod crs;
mod error;
mod grid;
mod overview;
mod sample;
mod warp;

pub use crs::{Crs, Transformer};
pub use error::{Error, Result};
pub use grid::{Grid, PixelWindow, Transform, footprint_lonlat};
pub use overview::{gdalwarp_overview_ratio, overview_level, overview_level_for_ratio};
pub use sample::Sample;
pub use warp::{DEFAULT_ERROR_THRESHOLD, Resampling, WarpKind, WarpPlan};
