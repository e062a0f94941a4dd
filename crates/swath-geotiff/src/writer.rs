//! Writing Cloud-Optimized GeoTIFFs.
//!
//! The layout follows GDAL's COG driver: the header, GDAL's structural-metadata "ghost"
//! area, every IFD (full resolution first, then overviews from largest to smallest) with
//! its tag values, then the tile data from the smallest overview to the full resolution,
//! each level's tiles in row-major order. A reader gets all IFDs with one small request.

use std::collections::BTreeMap;

use crate::codec::{self, Compression};
use crate::error::{Error, Result, misuse};
use crate::geo::{self, BandMetadata, RasterType, Transform};
use crate::ifd::tag;
use crate::raster::{DataType, PixelData, Raster};

/// How overview pixels are computed from the level above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resampling {
    /// Take the top-left pixel of each 2×2 block (right for class bands such as SCL).
    #[default]
    Nearest,
    /// Mean of the valid pixels of each 2×2 block (nodata and NaN skipped).
    Average,
}

/// How to write a COG.
#[derive(Debug, Clone, PartialEq)]
pub struct CogOptions {
    /// Tile width and height in pixels; a multiple of 16.
    pub block_size: u32,
    /// Compression: None, Deflate, Zstd or Lzw.
    pub compression: Compression,
    /// Compression level (DEFLATE 1–9, ZSTD 1–22).
    pub level: i32,
    /// Predictor; `None` picks 2 for integers and 3 for floats (GDAL's `PREDICTOR=YES`).
    pub predictor: Option<u16>,
    /// Number of overview levels; `None` halves until the image fits one tile.
    pub overviews: Option<usize>,
    /// Resampling for overviews.
    pub resampling: Resampling,
    /// Band-interleaved tiles (one plane per band) instead of pixel-interleaved.
    pub band_interleaved: bool,
    /// Force BigTIFF on or off; `None` uses it only when the file could exceed 4 GiB.
    pub bigtiff: Option<bool>,
}

impl Default for CogOptions {
    fn default() -> Self {
        CogOptions {
            block_size: 512,
            compression: Compression::Deflate,
            level: 6,
            predictor: None,
            overviews: None,
            resampling: Resampling::Nearest,
            band_interleaved: false,
            bigtiff: None,
        }
    }
}

/// What places the raster on the Earth and describes its bands.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CogMetadata {
    /// EPSG code of the CRS.
    pub epsg: Option<u32>,
    /// Corner-based affine transform (rasterio order).
    pub transform: Option<Transform>,
    /// Pixel-is-area (default) or pixel-is-point.
    pub raster_type: RasterType,
    /// The nodata value.
    pub nodata: Option<f64>,
    /// Per band: description, scale and offset (may be shorter than the band count).
    pub bands: Vec<BandMetadata>,
}

/// A value of an IFD entry, little-endian.
enum Field {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Long8(Vec<u64>),
    Double(Vec<f64>),
    Ascii(String),
}

impl Field {
    fn typ(&self) -> u16 {
        match self {
            Field::Short(_) => 3,
            Field::Long(_) => 4,
            Field::Long8(_) => 16,
            Field::Double(_) => 12,
            Field::Ascii(_) => 2,
        }
    }

    fn count(&self) -> u64 {
        match self {
            Field::Short(v) => v.len() as u64,
            Field::Long(v) => v.len() as u64,
            Field::Long8(v) => v.len() as u64,
            Field::Double(v) => v.len() as u64,
            Field::Ascii(s) => s.len() as u64 + 1,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Field::Short(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Field::Long(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Field::Long8(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Field::Double(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Field::Ascii(s) => s.bytes().chain([0]).collect(),
        }
    }
}

/// One encoded level: its size and compressed tiles in row-major (then plane) order.
pub(crate) struct Level {
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) tiles: Vec<Vec<u8>>,
}

/// One level's size and its tiles' byte counts, in row-major (then plane) order.
pub(crate) struct LevelShape {
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) counts: Vec<u64>,
}

impl Level {
    fn shape(&self) -> LevelShape {
        LevelShape {
            width: self.width,
            height: self.height,
            counts: self.tiles.iter().map(|t| t.len() as u64).collect(),
        }
    }
}

/// Encode `raster` as a Cloud-Optimized GeoTIFF and return the file's bytes.
pub fn write_cog(
    raster: &Raster,
    meta: &CogMetadata,
    options: &CogOptions,
) -> Result<Vec<u8>> {
    let predictor = check_options(options, raster.dtype())?;
    let bs = options.block_size;
    if raster.width == 0 || raster.height == 0 || raster.bands == 0 {
        return Err(misuse!("cannot write an empty raster"));
    }
    if raster.width > u32::MAX as usize
        || raster.height > u32::MAX as usize
        || raster.bands > usize::from(u16::MAX)
    {
        return Err(misuse!(
            "raster {}×{}×{} exceeds TIFF's dimensions",
            raster.width,
            raster.height,
            raster.bands
        ));
    }
    let expected = raster.width * raster.height * raster.bands;
    if raster.data.len() != expected {
        return Err(misuse!(
            "raster {}×{}×{} needs {expected} samples, its buffer has {}",
            raster.width,
            raster.height,
            raster.bands,
            raster.data.len()
        ));
    }
    let dtype = raster.dtype();
    let bs = bs as usize;

    // The pyramid: full resolution, then halvings.
    let mut pyramid = vec![raster.clone()];
    loop {
        let last = &pyramid[pyramid.len() - 1];
        let more = match options.overviews {
            Some(n) => pyramid.len() <= n,
            None => last.width.max(last.height) > bs,
        };
        if !more || last.width.max(last.height) <= 1 {
            break;
        }
        let next = downsample(last, options.resampling, meta.nodata)?;
        pyramid.push(next);
    }
    let levels: Vec<Level> = pyramid
        .iter()
        .map(|r| encode_level(r, bs, predictor, options))
        .collect::<Result<_>>()?;

    let data_bytes: u64 = levels
        .iter()
        .flat_map(|l| &l.tiles)
        .map(|t| t.len() as u64)
        .sum();
    let bigtiff = options
        .bigtiff
        .unwrap_or(data_bytes > (4u64 << 30) - (64 << 20));
    let plan = Plan {
        dtype,
        bands: raster.bands,
        meta,
        options,
        predictor,
        bigtiff,
    };
    let shapes: Vec<LevelShape> = levels.iter().map(Level::shape).collect();
    let (mut out, _) = layout(&shapes, &plan)?;
    for l in levels.iter().rev() {
        for t in &l.tiles {
            out.extend_from_slice(t);
        }
    }
    Ok(out)
}

/// Check the options against the sample type; the predictor to use.
pub(crate) fn check_options(options: &CogOptions, dtype: DataType) -> Result<u16> {
    let bs = options.block_size;
    if bs < 16 || !bs.is_multiple_of(16) {
        return Err(misuse!("block size {bs} is not a positive multiple of 16"));
    }
    if bs > 4096 {
        return Err(misuse!("block size {bs} is larger than 4096"));
    }
    if !matches!(
        options.compression,
        Compression::None | Compression::Deflate | Compression::Zstd | Compression::Lzw
    ) {
        return Err(misuse!(
            "writing {:?} compression is not supported",
            options.compression
        ));
    }
    let predictor = options
        .predictor
        .unwrap_or(if dtype.is_float() { 3 } else { 2 });
    let predictor = if options.compression == Compression::None {
        1
    } else {
        predictor
    };
    match (predictor, dtype.is_float()) {
        (1, _) | (2, false) | (3, true) => Ok(predictor),
        (p, _) => Err(misuse!("predictor {p} does not suit {dtype} samples")),
    }
}

pub(crate) fn encode_level(
    r: &Raster,
    bs: usize,
    predictor: u16,
    options: &CogOptions,
) -> Result<Level> {
    let bps = r.dtype().size();
    let bytes = r.data.to_le_bytes();
    let (across, down) = (r.width.div_ceil(bs), r.height.div_ceil(bs));
    let planes = if options.band_interleaved { r.bands } else { 1 };
    let spb = if options.band_interleaved { 1 } else { r.bands };
    // Tiles in file order (plane, row, column), encoded on all cores: each is
    // independent, and compression is most of the cost of writing.
    let jobs: Vec<(usize, usize, usize)> = (0..planes)
        .flat_map(|p| {
            (0..down).flat_map(move |ty| (0..across).map(move |tx| (p, ty, tx)))
        })
        .collect();
    let encode = |&(plane, ty, tx): &(usize, usize, usize)| -> Result<Vec<u8>> {
        let mut tile = vec![0u8; bs * bs * spb * bps];
        let cols = bs.min(r.width - tx * bs);
        for row in 0..bs.min(r.height - ty * bs) {
            let y = ty * bs + row;
            for b in 0..spb {
                let band = plane + b;
                let src = ((band * r.height + y) * r.width + tx * bs) * bps;
                let src = &bytes[src..src + cols * bps];
                if spb == 1 {
                    let d = row * bs * bps;
                    tile[d..d + cols * bps].copy_from_slice(src);
                } else {
                    for (c, s) in src.chunks_exact(bps).enumerate() {
                        let d = ((row * bs + c) * spb + b) * bps;
                        tile[d..d + bps].copy_from_slice(s);
                    }
                }
            }
        }
        match predictor {
            2 => codec::apply_horizontal(&mut tile, bs * spb, spb, bps)?,
            3 => codec::apply_float(&mut tile, bs * spb, spb, bps)?,
            _ => {}
        }
        codec::compress(options.compression, &tile, options.level)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    let tiles = if threads <= 1 {
        jobs.iter().map(encode).collect::<Result<Vec<_>>>()?
    } else {
        let per = jobs.len().div_ceil(threads);
        std::thread::scope(|s| {
            let parts: Vec<_> = jobs
                .chunks(per)
                .map(|part| {
                    s.spawn(|| part.iter().map(encode).collect::<Result<Vec<_>>>())
                })
                .collect();
            let mut tiles = Vec::with_capacity(jobs.len());
            for part in parts {
                let encoded = part.join().map_err(|_| {
                    Error::Misuse("a tile encoder thread panicked".into())
                })??;
                tiles.extend(encoded);
            }
            Ok::<_, Error>(tiles)
        })?
    };
    Ok(Level {
        width: r.width as u64,
        height: r.height as u64,
        tiles,
    })
}

/// Halve a raster (rounding up), 2×2 blocks to one pixel.
pub(crate) fn downsample(
    r: &Raster,
    resampling: Resampling,
    nodata: Option<f64>,
) -> Result<Raster> {
    let (w, h) = (r.width.div_ceil(2), r.height.div_ceil(2));
    let mut out = Vec::with_capacity(w * h * r.bands);
    for band in 0..r.bands {
        for y in 0..h {
            for x in 0..w {
                let v = match resampling {
                    Resampling::Nearest => r.get(band, 2 * y, 2 * x).unwrap_or(0.0),
                    Resampling::Average => {
                        let (mut sum, mut n) = (0.0, 0u32);
                        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            if let Some(v) = r.get(band, 2 * y + dy, 2 * x + dx)
                                && !v.is_nan()
                                && Some(v) != nodata
                            {
                                sum += v;
                                n += 1;
                            }
                        }
                        if n == 0 {
                            nodata.unwrap_or(if r.dtype().is_float() {
                                f64::NAN
                            } else {
                                0.0
                            })
                        } else if r.dtype().is_float() {
                            sum / f64::from(n)
                        } else {
                            (sum / f64::from(n)).round()
                        }
                    }
                };
                out.push(v);
            }
        }
    }
    let data = cast(out, r.dtype());
    Raster::new(w, h, r.bands, data)
}

fn cast(v: Vec<f64>, dtype: DataType) -> PixelData {
    match dtype {
        DataType::U8 => PixelData::U8(v.into_iter().map(|x| x as u8).collect()),
        DataType::I8 => PixelData::I8(v.into_iter().map(|x| x as i8).collect()),
        DataType::U16 => PixelData::U16(v.into_iter().map(|x| x as u16).collect()),
        DataType::I16 => PixelData::I16(v.into_iter().map(|x| x as i16).collect()),
        DataType::U32 => PixelData::U32(v.into_iter().map(|x| x as u32).collect()),
        DataType::I32 => PixelData::I32(v.into_iter().map(|x| x as i32).collect()),
        DataType::F32 => PixelData::F32(v.into_iter().map(|x| x as f32).collect()),
        DataType::F64 => PixelData::F64(v),
    }
}

fn format_nodata(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.fract() == 0.0 && v.abs() < 1e17 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

fn gdal_metadata_xml(bands: &[BandMetadata]) -> Option<String> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut items = String::new();
    for (i, b) in bands.iter().enumerate() {
        if let Some(s) = b.scale {
            items.push_str(&format!(
                "  <Item name=\"SCALE\" sample=\"{i}\" role=\"scale\">{s:?}</Item>\n"
            ));
        }
        if let Some(o) = b.offset {
            items.push_str(&format!(
                "  <Item name=\"OFFSET\" sample=\"{i}\" role=\"offset\">{o:?}</Item>\n"
            ));
        }
        if let Some(d) = &b.description {
            items.push_str(&format!(
                "  <Item name=\"DESCRIPTION\" sample=\"{i}\" role=\"description\">{}</Item>\n",
                escape(d)
            ));
        }
    }
    (!items.is_empty()).then(|| format!("<GDALMetadata>\n{items}</GDALMetadata>"))
}

/// The tags of one level's IFD, with tile offsets set to `offsets`.
fn level_tags(
    plan: &Plan<'_>,
    level: &LevelShape,
    index: usize,
    offsets: &[u64],
) -> BTreeMap<u16, Field> {
    let Plan {
        dtype,
        bands,
        meta,
        options,
        predictor,
        bigtiff,
    } = *plan;
    let bits = (dtype.size() * 8) as u16;
    let spp = bands as u16;
    let mut t = BTreeMap::new();
    if index > 0 {
        t.insert(tag::NEW_SUBFILE_TYPE, Field::Long(vec![1]));
    }
    let dim = |v: u64| {
        if v <= u64::from(u16::MAX) {
            Field::Short(vec![v as u16])
        } else {
            Field::Long(vec![v as u32])
        }
    };
    t.insert(tag::IMAGE_WIDTH, dim(level.width));
    t.insert(tag::IMAGE_LENGTH, dim(level.height));
    t.insert(tag::BITS_PER_SAMPLE, Field::Short(vec![bits; spp as usize]));
    t.insert(
        tag::COMPRESSION,
        Field::Short(vec![options.compression.tag()]),
    );
    t.insert(tag::PHOTOMETRIC, Field::Short(vec![1]));
    t.insert(tag::SAMPLES_PER_PIXEL, Field::Short(vec![spp]));
    t.insert(
        tag::PLANAR_CONFIG,
        Field::Short(vec![if options.band_interleaved { 2 } else { 1 }]),
    );
    if predictor != 1 {
        t.insert(tag::PREDICTOR, Field::Short(vec![predictor]));
    }
    t.insert(
        tag::TILE_WIDTH,
        Field::Short(vec![options.block_size as u16]),
    );
    t.insert(
        tag::TILE_LENGTH,
        Field::Short(vec![options.block_size as u16]),
    );
    let counts = level.counts.clone();
    if bigtiff {
        t.insert(tag::TILE_OFFSETS, Field::Long8(offsets.to_vec()));
        t.insert(tag::TILE_BYTE_COUNTS, Field::Long8(counts));
    } else {
        t.insert(
            tag::TILE_OFFSETS,
            Field::Long(offsets.iter().map(|&o| o as u32).collect()),
        );
        t.insert(
            tag::TILE_BYTE_COUNTS,
            Field::Long(counts.iter().map(|&c| c as u32).collect()),
        );
    }
    if spp > 1 {
        t.insert(tag::EXTRA_SAMPLES, Field::Short(vec![0; spp as usize - 1]));
    }
    t.insert(
        tag::SAMPLE_FORMAT,
        Field::Short(vec![dtype.sample_format(); spp as usize]),
    );
    if let Some(nd) = meta.nodata {
        t.insert(tag::GDAL_NODATA, Field::Ascii(format_nodata(nd)));
    }
    if index == 0 {
        if let Some(tr) = meta.transform {
            let mut tr = tr;
            if meta.raster_type == RasterType::PixelIsPoint {
                // Files store the centre of the top-left pixel for pixel-is-point.
                tr[2] += 0.5 * tr[0] + 0.5 * tr[1];
                tr[5] += 0.5 * tr[3] + 0.5 * tr[4];
            }
            if tr[1] == 0.0 && tr[3] == 0.0 && tr[4] < 0.0 {
                t.insert(
                    tag::MODEL_PIXEL_SCALE,
                    Field::Double(vec![tr[0], -tr[4], 0.0]),
                );
                t.insert(
                    tag::MODEL_TIEPOINT,
                    Field::Double(vec![0.0, 0.0, 0.0, tr[2], tr[5], 0.0]),
                );
            } else {
                t.insert(
                    tag::MODEL_TRANSFORMATION,
                    Field::Double(vec![
                        tr[0], tr[1], 0.0, tr[2], tr[3], tr[4], 0.0, tr[5], 0.0, 0.0,
                        0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
                    ]),
                );
            }
        }
        if meta.epsg.is_some() || meta.transform.is_some() {
            let geographic = meta.epsg.is_some_and(geo::is_geographic_epsg);
            let (dir, ascii) =
                geo::encode_geokeys(meta.epsg, geographic, meta.raster_type, None);
            t.insert(tag::GEO_KEY_DIRECTORY, Field::Short(dir));
            if !ascii.is_empty() {
                t.insert(tag::GEO_ASCII_PARAMS, Field::Ascii(ascii));
            }
        }
        if let Some(xml) = gdal_metadata_xml(&meta.bands) {
            t.insert(tag::GDAL_METADATA, Field::Ascii(xml));
        }
    }
    t
}

/// Serialise one IFD at `at`, its out-of-line values right behind it. Returns the bytes
/// (the next-IFD offset is patched in later) and the position of that offset field.
fn serialise_ifd(
    tags: &BTreeMap<u16, Field>,
    at: u64,
    bigtiff: bool,
    next: u64,
) -> Vec<u8> {
    let (count_size, entry_size, inline) = if bigtiff { (8, 20, 8) } else { (2, 12, 4) };
    let head = count_size + tags.len() * entry_size + inline;
    let mut out = Vec::with_capacity(head);
    let mut extra: Vec<u8> = Vec::new();
    if bigtiff {
        out.extend((tags.len() as u64).to_le_bytes());
    } else {
        out.extend((tags.len() as u16).to_le_bytes());
    }
    for (&id, field) in tags {
        let bytes = field.bytes();
        out.extend(id.to_le_bytes());
        out.extend(field.typ().to_le_bytes());
        if bigtiff {
            out.extend(field.count().to_le_bytes());
        } else {
            out.extend((field.count() as u32).to_le_bytes());
        }
        if bytes.len() <= inline {
            let mut v = bytes;
            v.resize(inline, 0);
            out.extend(v);
        } else {
            let off = at + head as u64 + extra.len() as u64;
            if bigtiff {
                out.extend(off.to_le_bytes());
            } else {
                out.extend((off as u32).to_le_bytes());
            }
            extra.extend(bytes);
            if extra.len() % 2 == 1 {
                extra.push(0);
            }
        }
    }
    if bigtiff {
        out.extend(next.to_le_bytes());
    } else {
        out.extend((next as u32).to_le_bytes());
    }
    out.extend(extra);
    out
}

/// What every IFD of one file shares.
#[derive(Clone, Copy)]
pub(crate) struct Plan<'a> {
    pub(crate) dtype: DataType,
    pub(crate) bands: usize,
    pub(crate) meta: &'a CogMetadata,
    pub(crate) options: &'a CogOptions,
    pub(crate) predictor: u16,
    pub(crate) bigtiff: bool,
}

/// The header and IFDs of a COG whose levels have these shapes, and the file offset
/// of every tile (per level); the tile data follows, smallest overview first, each
/// level's tiles in order.
pub(crate) fn layout(
    levels: &[LevelShape],
    plan: &Plan<'_>,
) -> Result<(Vec<u8>, Vec<Vec<u64>>)> {
    let bigtiff = plan.bigtiff;
    let mut header: Vec<u8> = if bigtiff {
        let mut h = b"II\x2b\x00\x08\x00\x00\x00".to_vec();
        h.extend(0u64.to_le_bytes());
        h
    } else {
        b"II\x2a\x00\x00\x00\x00\x00".to_vec()
    };
    let body = "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nKNOWN_INCOMPATIBLE_EDITION=NO\n ";
    let ghost = format!(
        "GDAL_STRUCTURAL_METADATA_SIZE={:06} bytes\n{body}",
        body.len()
    );
    header.extend(ghost.as_bytes());
    if header.len() % 2 == 1 {
        header.push(0);
    }
    let first_ifd = header.len() as u64;
    if bigtiff {
        header[8..16].copy_from_slice(&first_ifd.to_le_bytes());
    } else {
        header[4..8].copy_from_slice(&(first_ifd as u32).to_le_bytes());
    }

    // Pass 1: sizes of the IFDs with placeholder offsets (sizes do not depend on values).
    let placeholder = |l: &LevelShape| vec![0u64; l.counts.len()];
    let sizes: Vec<u64> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let tags = level_tags(plan, l, i, &placeholder(l));
            serialise_ifd(&tags, 0, bigtiff, 0).len() as u64
        })
        .collect();
    let ifd_starts: Vec<u64> = sizes
        .iter()
        .scan(first_ifd, |at, s| {
            let start = *at;
            *at += s;
            Some(start)
        })
        .collect();
    let data_start = first_ifd + sizes.iter().sum::<u64>();

    // Tile data: smallest overview first, full resolution last.
    let mut offsets: Vec<Vec<u64>> = levels.iter().map(placeholder).collect();
    let mut at = data_start;
    for (i, l) in levels.iter().enumerate().rev() {
        for (j, c) in l.counts.iter().enumerate() {
            offsets[i][j] = at;
            at += c;
        }
    }
    if !bigtiff && at > u64::from(u32::MAX) {
        return Err(misuse!(
            "the file would be {at} bytes, too large without BigTIFF"
        ));
    }

    // Pass 2: the real IFDs.
    let mut out = header;
    for (i, l) in levels.iter().enumerate() {
        let tags = level_tags(plan, l, i, &offsets[i]);
        let next = ifd_starts.get(i + 1).copied().unwrap_or(0);
        out.extend(serialise_ifd(&tags, ifd_starts[i], bigtiff, next));
    }
    debug_assert_eq!(out.len() as u64, data_start);
    Ok((out, offsets))
}
