//! End-to-end tests of the GeoTIFF crate against GDAL: fixtures GDAL wrote and Swath
//! reads, files Swath writes and GDAL reads and validates, and hostile files.

#![expect(clippy::expect_used, reason = "helpers in test binaries fail loudly")]

mod fixtures;
mod fuzz_regressions;
mod info;
mod malformed;
mod requests;
mod roundtrip;
