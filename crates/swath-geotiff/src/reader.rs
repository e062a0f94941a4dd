//! Opening a GeoTIFF and reading windows of pixels.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::codec::{self, Compression, JpegColor};
use crate::error::{Result, check_limit, malformed, misuse, unsupported};
use crate::geo::{self, GdalMetadata, Georeference, Transform};
use crate::ifd::{self, Container, Tags, tag};
use crate::limits::Limits;
use crate::raster::{DataType, PixelData, Raster, Window};
use crate::snapshot::HeaderSnapshot;
use crate::source::RangeReader;

/// One image of a file: the full resolution, an overview, or a mask.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageInfo {
    /// Position of the image's IFD in the file's chain.
    pub ifd_index: usize,
    /// Columns.
    pub width: u64,
    /// Rows.
    pub height: u64,
    /// Samples per pixel (bands).
    pub samples_per_pixel: usize,
    /// Bits per sample (1 for bit masks).
    pub bits_per_sample: u16,
    /// The type samples are returned as.
    pub dtype: DataType,
    /// Compression of the blocks.
    pub compression: Compression,
    /// Predictor: 1 none, 2 horizontal, 3 floating point.
    pub predictor: u16,
    /// TIFF photometric interpretation.
    pub photometric: u16,
    /// Band-interleaved (planar) rather than pixel-interleaved (chunky).
    pub planar: bool,
    /// Tiled rather than stripped.
    pub tiled: bool,
    /// Width of a tile (the image width for strips).
    pub block_width: u64,
    /// Height of a tile, or rows per strip.
    pub block_height: u64,
    /// This IFD is a transparency mask.
    pub is_mask: bool,
    offsets: Vec<u64>,
    byte_counts: Vec<u64>,
    jpeg_tables: Option<Bytes>,
}

impl ImageInfo {
    fn from_tags(
        index: usize,
        t: &Tags,
        limits: &Limits,
        file_size: u64,
    ) -> Result<Self> {
        let need = |tag: u16, name: &str| {
            t.scalar(tag)?
                .ok_or_else(|| malformed!("IFD {index} has no {name} tag"))
        };
        let width = need(tag::IMAGE_WIDTH, "ImageWidth")?;
        let height = need(tag::IMAGE_LENGTH, "ImageLength")?;
        if width == 0 || height == 0 {
            return Err(malformed!(
                "IFD {index} has an empty image ({width}×{height})"
            ));
        }
        check_limit("image width", width, limits.max_dimension)?;
        check_limit("image height", height, limits.max_dimension)?;
        let spp = t.scalar(tag::SAMPLES_PER_PIXEL)?.unwrap_or(1);
        if spp == 0 {
            return Err(malformed!("IFD {index} has SamplesPerPixel 0"));
        }
        check_limit("samples per pixel", spp, limits.max_samples_per_pixel)?;
        let spp = spp as usize;
        let bits: Vec<u64> = t
            .unsigned(tag::BITS_PER_SAMPLE)?
            .map(<[u64]>::to_vec)
            .unwrap_or(vec![1]);
        let b0 = *bits
            .first()
            .ok_or_else(|| malformed!("BitsPerSample is empty"))?;
        if bits.iter().any(|&b| b != b0) {
            return Err(unsupported!("bands with different bit depths ({bits:?})"));
        }
        let format = t
            .unsigned(tag::SAMPLE_FORMAT)?
            .and_then(|f| f.first().copied())
            .unwrap_or(1);
        let dtype = match (format, b0) {
            (1 | 2 | 4, 1) => DataType::U8,
            (1 | 4, 8) => DataType::U8,
            (2, 8) => DataType::I8,
            (1 | 4, 16) => DataType::U16,
            (2, 16) => DataType::I16,
            (1 | 4, 32) => DataType::U32,
            (2, 32) => DataType::I32,
            (3, 32) => DataType::F32,
            (3, 64) => DataType::F64,
            (3, 16) => return Err(unsupported!("16-bit floating point samples")),
            (5 | 6, _) => return Err(unsupported!("complex samples")),
            (f, b) => return Err(unsupported!("{b}-bit samples of SampleFormat {f}")),
        };
        let compression =
            Compression::from_tag(t.scalar(tag::COMPRESSION)?.unwrap_or(1) as u16)?;
        let predictor = t.scalar(tag::PREDICTOR)?.unwrap_or(1) as u16;
        match (predictor, dtype.is_float()) {
            (1, _) | (2, false) | (3, true) => {}
            (2, true) => {}
            (3, false) => {
                return Err(malformed!("floating-point predictor on integer samples"));
            }
            (p, _) => return Err(unsupported!("Predictor {p}")),
        }
        if predictor != 1 && b0 == 1 {
            return Err(unsupported!("a predictor on 1-bit samples"));
        }
        let photometric = t.scalar(tag::PHOTOMETRIC)?.unwrap_or(1) as u16;
        let planar = match t.scalar(tag::PLANAR_CONFIG)?.unwrap_or(1) {
            1 => false,
            2 => spp > 1,
            p => return Err(malformed!("PlanarConfiguration {p}")),
        };
        if photometric == 6 && compression != Compression::Jpeg {
            return Err(unsupported!("YCbCr photometric without JPEG compression"));
        }
        if matches!(compression, Compression::Jpeg | Compression::Webp) && b0 != 8 {
            return Err(unsupported!(
                "{b0}-bit samples with {compression:?} compression"
            ));
        }
        ifd::check_fill_order(t)?;
        let tiled = t.get(tag::TILE_WIDTH).is_some();
        let (block_width, block_height, off_tag, count_tag) = if tiled {
            let tw = need(tag::TILE_WIDTH, "TileWidth")?;
            let th = need(tag::TILE_LENGTH, "TileLength")?;
            (tw, th, tag::TILE_OFFSETS, tag::TILE_BYTE_COUNTS)
        } else {
            let rps = t.scalar(tag::ROWS_PER_STRIP)?.unwrap_or(height).min(height);
            (width, rps, tag::STRIP_OFFSETS, tag::STRIP_BYTE_COUNTS)
        };
        if block_width == 0 || block_height == 0 {
            return Err(malformed!(
                "IFD {index} has empty blocks ({block_width}×{block_height})"
            ));
        }
        check_limit("block width", block_width, limits.max_dimension)?;
        check_limit("block height", block_height, limits.max_dimension)?;
        let block_samples = if planar { 1 } else { spp as u64 };
        let block_bytes = (block_width * block_height)
            .checked_mul(block_samples * b0.max(8) / 8)
            .ok_or_else(|| malformed!("block size overflows"))?;
        check_limit("decoded block size", block_bytes, limits.max_block_bytes)?;
        let planes = if planar { spp as u64 } else { 1 };
        let blocks = width.div_ceil(block_width) * height.div_ceil(block_height) * planes;
        check_limit("number of blocks", blocks, limits.max_blocks)?;
        let offsets = t
            .unsigned(off_tag)?
            .ok_or_else(|| malformed!("IFD {index} has no block offsets"))?;
        let counts = t
            .unsigned(count_tag)?
            .ok_or_else(|| malformed!("IFD {index} has no block byte counts"))?;
        if (offsets.len() as u64) < blocks || (counts.len() as u64) < blocks {
            return Err(malformed!(
                "IFD {index} needs {blocks} blocks but lists {} offsets and {} byte counts",
                offsets.len(),
                counts.len()
            ));
        }
        let blocks = blocks as usize;
        for (i, (&o, &c)) in offsets.iter().zip(counts).take(blocks).enumerate() {
            if c > 0 && o.checked_add(c).is_none_or(|end| end > file_size) {
                return Err(malformed!(
                    "block {i} of IFD {index} ({c} bytes at {o}) runs past the end of the file ({file_size} bytes)"
                ));
            }
            check_limit("compressed block size", c, limits.max_block_bytes)?;
        }
        let subfile = t.scalar(tag::NEW_SUBFILE_TYPE)?.unwrap_or(0);
        Ok(ImageInfo {
            ifd_index: index,
            width,
            height,
            samples_per_pixel: spp,
            bits_per_sample: b0 as u16,
            dtype,
            compression,
            predictor,
            photometric,
            planar,
            tiled,
            block_width,
            block_height,
            is_mask: subfile & 4 != 0,
            offsets: offsets[..blocks].to_vec(),
            byte_counts: counts[..blocks].to_vec(),
            jpeg_tables: t.bytes(tag::JPEG_TABLES),
        })
    }

    /// Blocks across and down one band plane.
    pub fn block_grid(&self) -> (u64, u64) {
        (
            self.width.div_ceil(self.block_width),
            self.height.div_ceil(self.block_height),
        )
    }

    /// Number of blocks (tiles or strips) in the image, all planes included.
    pub fn block_count(&self) -> usize {
        self.offsets.len()
    }

    /// The byte range of block `i` in the file (empty for a sparse block).
    pub fn block_range(&self, i: usize) -> Option<Range<u64>> {
        let (o, c) = (*self.offsets.get(i)?, *self.byte_counts.get(i)?);
        Some(o..o + c)
    }

    fn samples_per_block_pixel(&self) -> usize {
        if self.planar {
            1
        } else {
            self.samples_per_pixel
        }
    }

    /// Decode block `index` (`rows` rows of it hold pixels) to little-endian samples of
    /// `block_width × rows × samples` (1-bit samples unpacked to bytes).
    fn decode_block(
        &self,
        data: &[u8],
        rows: usize,
        big_endian: bool,
    ) -> Result<Vec<u8>> {
        let bw = self.block_width as usize;
        let spb = self.samples_per_block_pixel();
        let bps = self.dtype.size();
        let row_samples = bw * spb;
        let mut out = match self.compression {
            Compression::Jpeg => {
                let color = match (self.photometric, spb) {
                    (6, 3) => JpegColor::YCbCr,
                    (2, _) => JpegColor::Rgb,
                    (_, 1) => JpegColor::Gray,
                    (p, s) => {
                        return Err(unsupported!(
                            "JPEG with photometric {p} and {s} samples"
                        ));
                    }
                };
                let tables = self.jpeg_tables.as_deref();
                return codec::decode_jpeg(data, tables, color, bw, rows, spb);
            }
            Compression::Webp => return codec::decode_webp(data, bw, rows, spb),
            c => {
                let row_bytes = if self.bits_per_sample == 1 {
                    row_samples.div_ceil(8)
                } else {
                    row_samples * bps
                };
                let expected = row_bytes * rows;
                let mut raw = codec::decompress(c, data, expected, !self.tiled)?;
                raw.resize(expected, 0);
                if self.bits_per_sample == 1 {
                    return Ok(unpack_bits(&raw, row_samples, row_bytes, rows));
                }
                raw
            }
        };
        match self.predictor {
            2 => codec::undo_horizontal(&mut out, row_samples, spb, bps, big_endian)?,
            3 => codec::undo_float(&mut out, row_samples, spb, bps, big_endian)?,
            _ => codec::to_little_endian(&mut out, bps, big_endian),
        }
        Ok(out)
    }
}

fn unpack_bits(
    packed: &[u8],
    row_samples: usize,
    row_bytes: usize,
    rows: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(row_samples * rows);
    for row in packed.chunks_exact(row_bytes).take(rows) {
        out.extend((0..row_samples).map(|i| (row[i / 8] >> (7 - i % 8)) & 1));
    }
    out
}

/// An open GeoTIFF: its structure, georeferencing and metadata, read with one or two
/// small requests; pixels are fetched on demand by window.
#[derive(Debug, Clone)]
pub struct GeoTiff {
    reader: Arc<dyn RangeReader>,
    limits: Limits,
    container: Container,
    levels: Vec<ImageInfo>,
    masks: Vec<Option<ImageInfo>>,
    georeference: Georeference,
    nodata: Option<f64>,
    metadata: GdalMetadata,
}

/// The compressed blocks of one window, fetched and ready to decode.
#[derive(Debug, Clone)]
pub struct FetchedWindow {
    level: usize,
    mask: bool,
    window: Window,
    blocks: Vec<(usize, Bytes)>,
    /// Range requests made to fetch the blocks.
    pub requests: usize,
    /// Bytes fetched.
    pub bytes: u64,
}

/// The image of a window, the blocks it needs, and the merged ranges to fetch.
type WindowRequests<'a> = (&'a ImageInfo, Vec<usize>, Vec<Range<u64>>);

/// What fetching a window requests (see [`GeoTiff::plan_fetch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPlan {
    /// Stored blocks (tiles or strips) the window needs.
    pub blocks: usize,
    /// Their compressed bytes.
    pub stored_bytes: u64,
    /// Range requests after merging near blocks.
    pub requests: usize,
    /// Bytes those requests fetch (blocks and the gaps merged between them).
    pub fetched_bytes: u64,
}

impl GeoTiff {
    /// Open a file with the default [`Limits`].
    pub async fn open(reader: Arc<dyn RangeReader>) -> Result<Self> {
        Self::open_with_limits(reader, Limits::default()).await
    }

    /// Open a file, enforcing `limits` on everything read from it.
    pub async fn open_with_limits(
        reader: Arc<dyn RangeReader>,
        limits: Limits,
    ) -> Result<Self> {
        let container = ifd::read_container(reader.as_ref(), &limits).await?;
        Self::from_container(reader, limits, container)
    }

    /// Open a file from a [`HeaderSnapshot`] of an earlier open: no request is made
    /// unless the snapshot lacks part of the structure. Pixels are read through
    /// `reader`.
    pub async fn open_from_snapshot(
        reader: Arc<dyn RangeReader>,
        limits: Limits,
        snapshot: &HeaderSnapshot,
    ) -> Result<Self> {
        let seed = (snapshot.file_size, snapshot.chunks.clone());
        let container =
            ifd::read_container_from(reader.as_ref(), &limits, Some(seed)).await?;
        Self::from_container(reader, limits, container)
    }

    /// The header bytes of this file, to open it again later with no request.
    pub fn snapshot(&self) -> HeaderSnapshot {
        HeaderSnapshot {
            file_size: self.container.file_size,
            version: self.reader.version(),
            chunks: self.container.used.clone(),
        }
    }

    fn from_container(
        reader: Arc<dyn RangeReader>,
        limits: Limits,
        container: Container,
    ) -> Result<Self> {
        let mut images = Vec::new();
        for (i, t) in container.ifds.iter().enumerate() {
            images.push(ImageInfo::from_tags(i, t, &limits, container.file_size)?);
        }
        let (masks, mut levels): (Vec<ImageInfo>, Vec<ImageInfo>) =
            images.into_iter().partition(|im| im.is_mask);
        let Some(full) = levels.first().cloned() else {
            return Err(malformed!("file holds only masks, no image"));
        };
        // Overviews: smaller images with the same bands, largest first.
        let mut overviews: Vec<ImageInfo> = levels
            .drain(1..)
            .filter(|im| {
                im.samples_per_pixel == full.samples_per_pixel
                    && im.dtype == full.dtype
                    && im.width < full.width
            })
            .collect();
        overviews.sort_by_key(|im| std::cmp::Reverse(im.width));
        levels.extend(overviews);
        let masks = levels
            .iter()
            .map(|lv| {
                masks
                    .iter()
                    .find(|m| m.width == lv.width && m.height == lv.height)
                    .cloned()
            })
            .collect();
        let first = &container.ifds[full.ifd_index];
        let georeference = geo::georeference(first)?;
        let nodata = geo::nodata(first)?;
        let metadata = geo::gdal_metadata(first, full.samples_per_pixel)?;
        Ok(GeoTiff {
            reader,
            limits,
            container,
            levels,
            masks,
            georeference,
            nodata,
            metadata,
        })
    }

    /// The full-resolution image (level 0).
    pub fn image(&self) -> &ImageInfo {
        &self.levels[0]
    }

    /// Level 0 (full resolution) and the overviews, largest first.
    pub fn levels(&self) -> &[ImageInfo] {
        &self.levels
    }

    /// The mask image of a level, when the file has one.
    pub fn mask(&self, level: usize) -> Option<&ImageInfo> {
        self.masks.get(level)?.as_ref()
    }

    /// Width of the full-resolution image.
    pub fn width(&self) -> u64 {
        self.image().width
    }

    /// Height of the full-resolution image.
    pub fn height(&self) -> u64 {
        self.image().height
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.image().samples_per_pixel
    }

    /// Data type of the samples.
    pub fn dtype(&self) -> DataType {
        self.image().dtype
    }

    /// The nodata value (GDAL_NODATA), if any.
    pub fn nodata(&self) -> Option<f64> {
        self.nodata
    }

    /// CRS, transform and raster type.
    pub fn georeference(&self) -> &Georeference {
        &self.georeference
    }

    /// GDAL metadata: per-band scale, offset and description; dataset items.
    pub fn metadata(&self) -> &GdalMetadata {
        &self.metadata
    }

    /// Byte order, BigTIFF flag, file size and how many requests the header took.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// The transform of a level: the full-resolution transform scaled to its size.
    pub fn level_transform(&self, level: usize) -> Option<Transform> {
        let t = self.georeference.transform?;
        let lv = self.levels.get(level)?;
        let sx = self.width() as f64 / lv.width as f64;
        let sy = self.height() as f64 / lv.height as f64;
        Some([t[0] * sx, t[1] * sy, t[2], t[3] * sx, t[4] * sy, t[5]])
    }

    fn level_image(&self, level: usize, mask: bool) -> Result<&ImageInfo> {
        let lv = self.levels.get(level).ok_or_else(|| {
            misuse!(
                "level {level} asked, the file has levels 0..{}",
                self.levels.len()
            )
        })?;
        if mask {
            return self
                .mask(level)
                .ok_or_else(|| misuse!("level {level} has no mask"));
        }
        Ok(lv)
    }

    /// Read the pixels of `window` at `level` (0 = full resolution), every band.
    pub async fn read_window(&self, level: usize, window: Window) -> Result<Raster> {
        let fetched = self.fetch_window(level, window, false).await?;
        self.decode_window(&fetched)
    }

    /// Read the mask of `window` at `level` (255 valid, 0 masked), if the file has one.
    pub async fn read_mask_window(
        &self,
        level: usize,
        window: Window,
    ) -> Result<Option<Raster>> {
        if self.mask(level).is_none() {
            return Ok(None);
        }
        let fetched = self.fetch_window(level, window, true).await?;
        let mut raster = self.decode_window(&fetched)?;
        if let PixelData::U8(v) = &mut raster.data {
            // 1-bit masks unpack to 0/1; GDAL reports 0/255.
            if self.mask(level).is_some_and(|m| m.bits_per_sample == 1) {
                v.iter_mut().for_each(|x| *x = x.saturating_mul(255));
            }
        }
        Ok(Some(raster))
    }

    /// Fetch the compressed blocks that intersect `window` (of the mask when `mask`),
    /// merging nearby blocks into few concurrent range requests. Decoding is separate
    /// ([`GeoTiff::decode_window`]) so callers can run it on a CPU pool.
    pub async fn fetch_window(
        &self,
        level: usize,
        window: Window,
        mask: bool,
    ) -> Result<FetchedWindow> {
        let (im, wanted, merged) = self.window_requests(level, window, mask)?;
        let requests = merged.len();
        let fetched_bytes = merged.iter().map(|r| r.end - r.start).sum();
        let starts: Vec<u64> = merged.iter().map(|r| r.start).collect();
        let got = if merged.is_empty() {
            Vec::new()
        } else {
            self.reader.ranges(merged).await?
        };
        let chunks: Vec<(u64, Bytes)> = starts.into_iter().zip(got).collect();
        let mut blocks = Vec::with_capacity(wanted.len());
        for i in wanted {
            let Some(r) = im.block_range(i) else { continue };
            if r.is_empty() {
                continue;
            }
            let chunk = chunks
                .iter()
                .find(|(at, b)| r.start >= *at && r.end <= at + b.len() as u64)
                .ok_or_else(|| malformed!("block {i} was not delivered by the store"))?;
            let from = (r.start - chunk.0) as usize;
            blocks.push((i, chunk.1.slice(from..from + (r.end - r.start) as usize)));
        }
        Ok(FetchedWindow {
            level,
            mask,
            window,
            blocks,
            requests,
            bytes: fetched_bytes,
        })
    }

    /// What [`GeoTiff::fetch_window`] would request for a window, with no request:
    /// the stored blocks it needs, their bytes, and the merged range requests.
    pub fn plan_fetch(
        &self,
        level: usize,
        window: Window,
        mask: bool,
    ) -> Result<FetchPlan> {
        let (im, wanted, merged) = self.window_requests(level, window, mask)?;
        let stored: Vec<Range<u64>> = wanted
            .iter()
            .filter_map(|&i| im.block_range(i))
            .filter(|r| !r.is_empty())
            .collect();
        Ok(FetchPlan {
            blocks: stored.len(),
            stored_bytes: stored.iter().map(|r| r.end - r.start).sum(),
            requests: merged.len(),
            fetched_bytes: merged.iter().map(|r| r.end - r.start).sum(),
        })
    }

    /// The image, the blocks a window needs and the merged byte ranges to fetch.
    fn window_requests(
        &self,
        level: usize,
        window: Window,
        mask: bool,
    ) -> Result<WindowRequests<'_>> {
        let im = self.level_image(level, mask)?;
        if window.width == 0 || window.height == 0 {
            return Err(misuse!("window {window:?} is empty"));
        }
        if window
            .x
            .checked_add(window.width)
            .is_none_or(|e| e > im.width)
            || window
                .y
                .checked_add(window.height)
                .is_none_or(|e| e > im.height)
        {
            return Err(misuse!(
                "window {window:?} exceeds level {level} of {}×{} pixels",
                im.width,
                im.height
            ));
        }
        let bytes = window.width
            * window.height
            * im.samples_per_pixel as u64
            * im.dtype.size() as u64;
        check_limit("window size in bytes", bytes, self.limits.max_window_bytes)?;
        let wanted: Vec<usize> = blocks_in(im, window).collect();
        let ranges: Vec<Range<u64>> = wanted
            .iter()
            .filter_map(|&i| im.block_range(i))
            .filter(|r| !r.is_empty())
            .collect();
        // Each stored block is decoded whole, however little of it the window covers:
        // bound that work too (a thin window across many large blocks, all pointing
        // at the same tiny compressed block, would otherwise decode without end).
        let block_bytes = im.block_width
            * im.block_height
            * (im.samples_per_block_pixel() * im.dtype.size()) as u64;
        let decoded = (ranges.len() as u64).saturating_mul(block_bytes);
        check_limit(
            "decoded size of the window's blocks",
            decoded,
            self.limits.max_window_bytes,
        )?;
        let merged = ifd::coalesce(
            ranges,
            self.limits.coalesce_gap,
            self.limits.max_request_bytes,
        );
        Ok((im, wanted, merged))
    }

    /// Decode fetched blocks into the window's raster. Pixels of sparse blocks (no data
    /// stored) are the nodata value, or 0 without one.
    pub fn decode_window(&self, fetched: &FetchedWindow) -> Result<Raster> {
        let im = self.level_image(fetched.level, fetched.mask)?;
        let w = fetched.window;
        let (ww, wh) = (w.width as usize, w.height as usize);
        let bands = im.samples_per_pixel;
        let bps = im.dtype.size();
        let fill = if fetched.mask {
            0.0
        } else {
            self.nodata.unwrap_or(0.0)
        };
        let mut out = PixelData::filled(im.dtype, ww * wh * bands, fill).to_le_bytes();
        let (across, down) = im.block_grid();
        let per_plane = (across * down) as usize;
        let big_endian = self.container.header.big_endian;
        for (index, data) in &fetched.blocks {
            let plane = index / per_plane;
            let within = index % per_plane;
            let (bx, by) = ((within as u64 % across), (within as u64 / across));
            let (x0, y0) = (bx * im.block_width, by * im.block_height);
            let rows = im.block_height.min(im.height - y0) as usize;
            let rows_decoded = if im.tiled {
                im.block_height as usize
            } else {
                rows
            };
            let block = im.decode_block(data, rows_decoded, big_endian)?;
            let spb = im.samples_per_block_pixel();
            let bw = im.block_width as usize;
            // The intersection of block and window, in image coordinates.
            let cx0 = x0.max(w.x);
            let cx1 = (x0 + im.block_width).min(w.x + w.width).min(im.width);
            let cy0 = y0.max(w.y);
            let cy1 = (y0 + rows as u64).min(w.y + w.height);
            if cx0 >= cx1 || cy0 >= cy1 {
                continue;
            }
            let ncols = (cx1 - cx0) as usize;
            for y in cy0..cy1 {
                let src_row = (y - y0) as usize * bw * spb;
                let dst_row = (y - w.y) as usize * ww + (cx0 - w.x) as usize;
                let src_col = (cx0 - x0) as usize;
                if spb == 1 {
                    let s = (src_row + src_col) * bps;
                    let d = (plane * wh * ww + dst_row) * bps;
                    let (Some(src), Some(dst)) = (
                        block.get(s..s + ncols * bps),
                        out.get_mut(d..d + ncols * bps),
                    ) else {
                        return Err(malformed!("block {index} decoded to too few bytes"));
                    };
                    dst.copy_from_slice(src);
                } else {
                    for c in 0..ncols {
                        for b in 0..spb {
                            let s = (src_row + (src_col + c) * spb + b) * bps;
                            let d = (b * wh * ww + dst_row + c) * bps;
                            let (Some(src), Some(dst)) =
                                (block.get(s..s + bps), out.get_mut(d..d + bps))
                            else {
                                return Err(malformed!(
                                    "block {index} decoded to too few bytes"
                                ));
                            };
                            dst.copy_from_slice(src);
                        }
                    }
                }
            }
        }
        Raster::new(ww, wh, bands, PixelData::from_le_bytes(im.dtype, &out)?)
    }
}

/// Indices of the blocks of every plane that intersect `w`.
fn blocks_in(im: &ImageInfo, w: Window) -> impl Iterator<Item = usize> + '_ {
    let (across, down) = im.block_grid();
    let planes = if im.planar {
        im.samples_per_pixel as u64
    } else {
        1
    };
    let (c0, c1) = (w.x / im.block_width, (w.x + w.width - 1) / im.block_width);
    let (r0, r1) = (
        w.y / im.block_height,
        (w.y + w.height - 1) / im.block_height,
    );
    (0..planes).flat_map(move |p| {
        (r0..=r1).flat_map(move |r| {
            (c0..=c1).map(move |c| (p * across * down + r * across + c) as usize)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_unpacking() {
        // Two rows of 10 one-bit samples: each row padded to 2 bytes.
        let packed = [0b1010_0000, 0b0100_0000, 0b1111_1111, 0b1100_0000];
        let out = unpack_bits(&packed, 10, 2, 2);
        assert_eq!(
            out,
            vec![1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        );
    }
}
