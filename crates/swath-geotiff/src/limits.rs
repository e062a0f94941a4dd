//! Bounds on what a file may ask the reader to do.

/// Limits enforced while reading: a hostile header cannot make the reader allocate,
/// fetch or loop beyond these. The defaults suit real Earth-observation data
/// (a Sentinel-2 band is 10980², a Landsat scene about 8000²).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest image width or height in pixels.
    pub max_dimension: u64,
    /// Most tiles (or strips) in one image, per band plane.
    pub max_blocks: u64,
    /// Most IFDs followed in the chain (full resolution, overviews, masks).
    pub max_ifds: usize,
    /// Most entries in one IFD.
    pub max_ifd_entries: u64,
    /// Largest value of one tag in bytes (tile offset arrays, JPEG tables, metadata);
    /// all loaded tag values of a file together may decode to at most four times this.
    pub max_tag_bytes: u64,
    /// Largest decoded size of one tile or strip in bytes.
    pub max_block_bytes: u64,
    /// Largest decoded size of one window read in bytes: both the window itself and
    /// the whole blocks decoded to fill it.
    pub max_window_bytes: u64,
    /// Most samples per pixel.
    pub max_samples_per_pixel: u64,
    /// Bytes fetched by the first request, which usually holds every IFD of a COG.
    pub header_prefetch: u64,
    /// Gap in bytes below which two block reads are merged into one request.
    pub coalesce_gap: u64,
    /// Largest merged request in bytes.
    pub max_request_bytes: u64,
    /// Requests in flight at once for one window read.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dimension: 1 << 20,
            max_blocks: 1 << 22,
            max_ifds: 64,
            max_ifd_entries: 4096,
            max_tag_bytes: 64 << 20,
            max_block_bytes: 256 << 20,
            max_window_bytes: 2 << 30,
            max_samples_per_pixel: 1024,
            header_prefetch: 64 << 10,
            coalesce_gap: 64 << 10,
            max_request_bytes: 16 << 20,
            concurrency: 8,
        }
    }
}
