//! Kernels: loops over whole buffers, free of DataFusion's function plumbing.

pub mod band_math;
pub mod masks;
pub mod point;
pub mod reduce;
pub mod tile_stats;
