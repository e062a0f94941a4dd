//! What queries write: `COPY (…) TO '…' STORED AS COG | ZARR` (DataFusion keeps Parquet, CSV
//! and JSON for pixel rows and scalars).

pub mod cog;
pub mod provenance;
pub mod zarr;

pub use cog::{CogFormatFactory, CogWriteOptions};
pub use provenance::with_statement;
pub use zarr::ZarrFormatFactory;
