//! GeoTIFF and Cloud-Optimized GeoTIFF reading and writing, GDAL-free, over `object_store`.
//!
//! Reading ([`GeoTiff`]) covers what Earth-observation data uses: classic TIFF and
//! BigTIFF in either byte order; tiled and stripped; pixel- and band-interleaved;
//! DEFLATE, LZW, ZSTD, PackBits, JPEG (YCbCr included) and WEBP; predictors 2 and 3;
//! 8- to 64-bit integer and float samples and 1-bit masks; GeoTIFF georeferencing,
//! GDAL's nodata and scale/offset metadata, internal overviews and masks.
//!
//! Opening a file costs one range request for a COG (the first [`Limits::header_prefetch`]
//! bytes hold every IFD) and at most a few for other layouts. A window read fetches only
//! the blocks that intersect it, merging neighbours into few concurrent requests; decoding
//! is a separate, synchronous step ([`GeoTiff::decode_window`]).
//!
//! Writing ([`write_cog`]) produces tiled COGs with overviews, GeoKeys, nodata and band
//! metadata that GDAL reads and validates.
//!
//! Nothing from a file is trusted: sizes are checked against the file size and the
//! [`Limits`], and every failure is a typed [`Error`] (malformed, unsupported, misuse,
//! limit), never a panic.
//!
//! # How to add a new compression
//!
//! Add the variant to [`codec::Compression`] with its tag value, decode it in
//! `codec::decompress` (bounded by the expected block size) or, for an image codec, in its
//! own `decode_*` function called from `ImageInfo::decode_block`; add a GDAL-written fixture
//! to `tests/fixtures/geotiff` (see `tests/scripts/make_geotiff_fixtures.py`).
#![warn(missing_docs)]

pub mod codec;
mod error;
pub mod geo;
pub mod ifd;
mod limits;
mod raster;
mod reader;
mod snapshot;
mod source;
mod stream;
mod writer;

use std::sync::Arc;

pub use error::{Error, Result};
pub use geo::{
    BandMetadata, GdalMetadata, Georeference, ModelType, RasterType, Transform,
};
pub use limits::Limits;
pub use raster::{DataType, PixelData, Raster, Window};
pub use reader::{FetchPlan, FetchedWindow, GeoTiff, ImageInfo};
pub use snapshot::HeaderSnapshot;
pub use source::{BytesReader, ObjectReader, RangeReader};
pub use stream::StreamingCog;
pub use writer::{CogMetadata, CogOptions, Resampling, write_cog};

/// Open `path` in `store` with the default limits.
pub async fn open(
    store: Arc<dyn object_store::ObjectStore>,
    path: object_store::path::Path,
) -> Result<GeoTiff> {
    GeoTiff::open(Arc::new(ObjectReader::new(store, path))).await
}
