//! Datacube tables: a raster catalogue as a table of chunks (or of pixels).

pub mod build;
pub mod exec;
pub mod index;
pub mod model;
pub mod pixels;
pub mod provider;
pub mod prune;
pub mod read;
pub mod schema;

pub use exec::{ChunkTask, CubeScanExec, ScanSpec, ScanSummary};
pub use model::{CubeDef, TableGrid};
pub use pixels::{PixelBounds, PixelScanExec, PixelSpec, Range};
pub use provider::CubeTable;
