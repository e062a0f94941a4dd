//! End-to-end tests of the GeoTIFF crate against GDAL: fixtures GDAL wrote and Swath
//! reads, files Swath writes and GDAL reads and validates, and hostile files.

mod fixtures;
mod malformed;
mod requests;
mod roundtrip;
