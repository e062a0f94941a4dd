//! What queries write: `COPY (…) TO '…' STORED AS COG` (DataFusion keeps Parquet, CSV
//! and JSON for pixel rows and scalars).

pub mod cog;

pub use cog::{CogFormatFactory, CogWriteOptions};
