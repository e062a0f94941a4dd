//! Swath's DataFusion session: datacube tables over STAC catalogues and GeoTIFFs,
//! their scans, the codecs that carry them to Ballista executors, and the session
//! builder that registers all of it in one place.
//!
//! A datacube table's row is one chunk of one observation (`chunk_x`, `chunk_y`, the
//! chunk's lon/lat footprint, item metadata, one `arrow.fixed_shape_tensor` column per
//! band) — or, with `view 'pixels'`, one pixel. See [`options::OPTIONS`] for the table
//! options and `docs/datacube.md` for the model.
//!
//! # How to add a new table option
//!
//! Add it to [`options::OPTIONS`] (name and one-line description) and parse it in
//! [`options::TableOptions::parse`]; use it in `cube::build` (grid and scenes) or
//! `cube::provider` (scan planning); cover it in `tests/datacube/`.
#![warn(missing_docs)]

pub mod batches;
pub mod codec;
pub mod cube;
pub mod factory;
pub mod geoliterals;
pub mod monitor;
pub mod options;
pub mod output;
pub mod session;
pub mod stores;
pub mod system;

pub use codec::{SwathLogicalCodec, SwathPhysicalCodec};
pub use cube::{CubeDef, CubeTable};
pub use session::{EngineConfig, Mode, context, session_state};
