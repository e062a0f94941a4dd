//! Benchmarks of Swath. The benchmarks themselves live in `benches/`:
//!
//! - `decode`: GeoTIFF tile decode throughput against the raw inflate rate.
