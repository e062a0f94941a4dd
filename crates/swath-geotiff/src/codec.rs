//! Tile and strip codecs: lossless decompression, JPEG and WEBP decoding, the TIFF
//! predictors, and compression for the writer.
//!
//! Every input byte here comes from a file and is treated as hostile: decoders never
//! produce (or allocate for) more than the caller's expected size plus one byte, and
//! malformed data is an error, never a panic.

use std::io::{Cursor, Read, Write};

use image_webp::{DecodingError, WebPDecoder};
use weezl::{BitOrder, LzwError, LzwStatus};
use zune_jpeg::JpegDecoder;
use zune_jpeg::errors::DecodeErrors;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::error::{Error, Result};

/// TIFF Compression tag values we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression (tag value 1).
    None,
    /// TIFF-flavoured LZW (tag value 5).
    Lzw,
    /// DEFLATE in a zlib stream (tag value 8, or the obsolete 32946).
    Deflate,
    /// Macintosh PackBits run-length encoding (tag value 32773).
    PackBits,
    /// New-style JPEG (tag value 7).
    Jpeg,
    /// Zstandard (tag value 50000).
    Zstd,
    /// WebP (tag value 50001).
    Webp,
}

impl Compression {
    /// From the Compression tag; other codes are `Unsupported`, named when known.
    pub fn from_tag(code: u16) -> Result<Self> {
        Ok(match code {
            1 => Self::None,
            5 => Self::Lzw,
            8 | 32946 => Self::Deflate,
            32773 => Self::PackBits,
            7 => Self::Jpeg,
            50000 => Self::Zstd,
            50001 => Self::Webp,
            other => {
                return Err(Error::Unsupported(match scheme_name(other) {
                    Some(name) => format!("compression {other} ({name})"),
                    None => format!("compression {other}"),
                }));
            }
        })
    }

    /// The tag value written for this compression (DEFLATE writes 8).
    pub fn tag(self) -> u16 {
        match self {
            Self::None => 1,
            Self::Lzw => 5,
            Self::Deflate => 8,
            Self::PackBits => 32773,
            Self::Jpeg => 7,
            Self::Zstd => 50000,
            Self::Webp => 50001,
        }
    }

    /// Lower-case name as GDAL/rasterio report it, `None` for no compression.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Lzw => Some("lzw"),
            Self::Deflate => Some("deflate"),
            Self::PackBits => Some("packbits"),
            Self::Jpeg => Some("jpeg"),
            Self::Zstd => Some("zstd"),
            Self::Webp => Some("webp"),
        }
    }
}

/// The scheme behind a Compression code we do not decode, for error messages.
fn scheme_name(code: u16) -> Option<&'static str> {
    Some(match code {
        2 => "CCITT modified Huffman RLE",
        3 => "CCITT Group 3 fax",
        4 => "CCITT Group 4 fax",
        6 => "old-style JPEG",
        9 => "JBIG (ITU-T T.85)",
        10 => "JBIG2 (ITU-T T.43)",
        32766 => "NeXT 2-bit RLE",
        32771 => "CCITT RLE, word-aligned",
        32809 => "ThunderScan",
        32895 => "IT8 CT with padding",
        32896 => "IT8 linework RLE",
        32897 => "IT8 monochrome picture",
        32898 => "IT8 binary line art",
        32908 => "Pixar film",
        32909 => "PixarLog",
        32947 => "Kodak DCS",
        34661 => "JBIG",
        34676 => "SGI LogLuv",
        34677 => "SGI LogLuv 24-bit",
        34712 => "JPEG 2000",
        34887 => "LERC",
        34892 => "lossy JPEG (DNG)",
        34925 => "LZMA",
        50002 => "JPEG XL",
        52546 => "JPEG XL (DNG 1.7)",
        _ => return None,
    })
}

/// Decompress one tile/strip of a lossless codec into exactly `expected` bytes.
///
/// Decoding stops after `expected + 1` bytes: more output than `expected` is `Malformed`,
/// and so is less, unless `allow_short` (the last strip of a stripped image; pass the
/// full strip size as `expected`), when the bytes produced are returned for the caller to
/// pad. Uncompressed input longer than `expected` is cut to size, as libtiff does.
pub fn decompress(
    compression: Compression,
    data: &[u8],
    expected: usize,
    allow_short: bool,
) -> Result<Vec<u8>> {
    let (name, decode): (&str, BlockDecoder) = match compression {
        Compression::None => return copy_uncompressed(data, expected, allow_short),
        Compression::Lzw => ("LZW", lzw_decode),
        Compression::Deflate => ("DEFLATE", inflate),
        Compression::PackBits => ("PackBits", packbits_decode),
        Compression::Zstd => ("ZSTD", zstd_decode),
        Compression::Jpeg | Compression::Webp => {
            return Err(Error::Misuse(format!(
                "{compression:?} blocks are decoded with decode_jpeg/decode_webp, \
                 not decompress"
            )));
        }
    };
    let capacity = expected.checked_add(1).ok_or_else(|| {
        Error::Misuse(format!("expected block size {expected} is too large"))
    })?;
    // Zeroed allocations are lazily mapped, so the spare byte costs nothing.
    let mut out = vec![0u8; capacity];
    let produced = decode(data, &mut out)?;
    if produced > expected {
        return Err(Error::Malformed(format!(
            "{name} data decompresses to more than {expected} bytes"
        )));
    }
    if produced < expected && !allow_short {
        return Err(Error::Malformed(format!(
            "{name} data decompresses to {produced} bytes, expected {expected}"
        )));
    }
    out.truncate(produced);
    Ok(out)
}

/// A lossless decoder: writes into its output slice, returns the bytes written.
type BlockDecoder = fn(&[u8], &mut [u8]) -> Result<usize>;

/// Compression 1: the block itself, cut to `expected` bytes.
fn copy_uncompressed(data: &[u8], expected: usize, allow_short: bool) -> Result<Vec<u8>> {
    match data.get(..expected) {
        Some(block) => Ok(block.to_vec()),
        None if allow_short => Ok(data.to_vec()),
        None => Err(Error::Malformed(format!(
            "uncompressed block holds {} bytes, expected {expected}",
            data.len()
        ))),
    }
}

/// LZW, MSB-first with TIFF's early code-width switch; old-style LSB-first streams
/// (libtiff's compatibility mode, starting 0x00 0x01) decode as GIF-style LZW.
///
/// Returns the bytes written into `out`. Many writers end a stream without an end code,
/// so running out of input is not an error here; the caller compares sizes.
fn lzw_decode(data: &[u8], out: &mut [u8]) -> Result<usize> {
    let old_style = matches!(data, [0, second, ..] if second & 1 == 1);
    let config = if old_style {
        weezl::decode::Configuration::new(BitOrder::Lsb, 8)
    } else {
        weezl::decode::Configuration::with_tiff_size_switch(BitOrder::Msb, 8)
    };
    let mut decoder = config.with_yield_on_full_buffer(true).build();
    // One byte of `out` is the overflow sentinel; the block proper is the rest.
    let block_len = out.len().saturating_sub(1);
    let mut input = data;
    let mut written = 0usize;
    while let Some(dst) = out.get_mut(written..).filter(|dst| !dst.is_empty()) {
        let result = decoder.decode_bytes(input, dst);
        written += result.consumed_out;
        input = input.get(result.consumed_in..).unwrap_or_default();
        match result.status {
            Ok(LzwStatus::Done | LzwStatus::NoProgress) => break,
            Ok(LzwStatus::Ok) => {
                if result.consumed_in == 0 && result.consumed_out == 0 {
                    break;
                }
            }
            // Bits after a complete block are never read by libtiff: ignore them too.
            Err(LzwError::InvalidCode) if written >= block_len => break,
            Err(err) => return Err(Error::Malformed(format!("LZW stream: {err}"))),
        }
    }
    Ok(written)
}

/// Whether `data` starts with a valid zlib header (RFC 1950) for DEFLATE.
fn has_zlib_header(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => {
            cmf & 0x0F == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// DEFLATE: a zlib stream, or raw deflate from writers that omit the zlib header.
///
/// Returns the bytes written into `out`; a stream cut short after its data is tolerated
/// (as libtiff stops once it has its bytes), the caller compares sizes.
fn inflate(data: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut inflater = flate2::Decompress::new(has_zlib_header(data));
    let mut read = 0usize;
    let mut written = 0usize;
    loop {
        let input = data.get(read..).unwrap_or_default();
        let Some(output) = out.get_mut(written..).filter(|output| !output.is_empty())
        else {
            break;
        };
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress(input, output, flate2::FlushDecompress::Finish)
            .map_err(|err| Error::Malformed(format!("DEFLATE stream: {err}")))?;
        let consumed =
            usize::try_from(inflater.total_in() - in_before).unwrap_or(usize::MAX);
        let produced =
            usize::try_from(inflater.total_out() - out_before).unwrap_or(usize::MAX);
        read = read.saturating_add(consumed);
        written = written.saturating_add(produced);
        match status {
            flate2::Status::StreamEnd => break,
            flate2::Status::Ok | flate2::Status::BufError => {
                if consumed == 0 && produced == 0 {
                    break;
                }
            }
        }
    }
    Ok(written.min(out.len()))
}

/// Zstandard, one or more frames, read into `out` only (a frame's declared content size
/// is never used to size anything).
fn zstd_decode(data: &[u8], out: &mut [u8]) -> Result<usize> {
    let zstd_error =
        |err: std::io::Error| Error::Malformed(format!("ZSTD stream: {err}"));
    let mut decoder =
        zstd::stream::read::Decoder::with_buffer(data).map_err(zstd_error)?;
    let mut written = 0usize;
    while let Some(dst) = out.get_mut(written..).filter(|dst| !dst.is_empty()) {
        match decoder.read(dst) {
            Ok(0) => break,
            Ok(n) => written = written.saturating_add(n),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            // An incomplete frame: keep what it produced, the caller compares sizes.
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(err) => return Err(zstd_error(err)),
        }
    }
    Ok(written.min(out.len()))
}

/// PackBits: header byte n in 0..=127 copies n+1 literal bytes, -1..=-127 repeats the
/// next byte 1-n times, -128 is a no-op.
///
/// Returns the bytes written into `out`, or `out.len()` when a run does not fit (the
/// caller reports the overflow). A run cut short by the end of the input ends decoding,
/// as in libtiff.
fn packbits_decode(data: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut input = data.iter();
    let mut written = 0usize;
    while let Some(&header) = input.next() {
        let header = header as i8;
        if header == -128 {
            continue;
        }
        // n + 1 literal bytes, or 1 - n repeats: |n| + 1 either way.
        let run = usize::from(header.unsigned_abs()) + 1;
        let Some(dst) = out.get_mut(written..written.saturating_add(run)) else {
            return Ok(out.len());
        };
        if header >= 0 {
            let rest = input.as_slice();
            let Some(literal) = rest.get(..run) else {
                break;
            };
            dst.copy_from_slice(literal);
            input = rest.get(run..).unwrap_or_default().iter();
        } else {
            let Some(&byte) = input.next() else { break };
            dst.fill(byte);
        }
        written += run;
    }
    Ok(written)
}

/// Photometric interpretation relevant to JPEG decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegColor {
    /// One grey component (Photometric MinIsBlack).
    Gray,
    /// Y, Cb, Cr components, decoded to R, G, B (Photometric YCbCr).
    YCbCr,
    /// Components that are stored as is, never colour-converted (Photometric RGB, and
    /// 4-component data).
    Rgb,
}

/// Decode one JPEG tile/strip (TIFF compression 7) into `width*height*samples` bytes.
///
/// `tables` is the JPEGTables tag, merged in front of the tile's stream. `Gray` takes 1
/// sample, `YCbCr` 3 (output RGB), `Rgb` 3 or 4 (components returned as stored: any Adobe
/// APP14 colour-transform marker is ignored, as libtiff ignores it). The stream must be
/// exactly `width` pixels wide and at most `height` rows high: a shorter one (a last
/// strip) is zero-padded at the bottom, anything larger is `Malformed` and never decoded.
/// 12-bit and other non-8-bit JPEG is `Unsupported`.
pub fn decode_jpeg(
    data: &[u8],
    tables: Option<&[u8]>,
    color: JpegColor,
    width: usize,
    height: usize,
    samples: usize,
) -> Result<Vec<u8>> {
    // Output colour space equal to zune-jpeg's input colour space (YCbCr for 3
    // components, CMYK for 4, with APP14 removed) means a plain copy of the components.
    let out_colorspace = match (color, samples) {
        (JpegColor::Gray | JpegColor::Rgb, 1) => ColorSpace::Luma,
        (JpegColor::YCbCr, 3) => ColorSpace::RGB,
        (JpegColor::Rgb, 3) => ColorSpace::YCbCr,
        (JpegColor::Rgb, 4) => ColorSpace::CMYK,
        _ => {
            return Err(Error::Unsupported(format!(
                "JPEG with {samples} samples per pixel as {color:?}"
            )));
        }
    };
    let out_len = block_len(width, height, samples)?;
    let (stream, frame) = assemble_jpeg(data, tables)?;
    if frame.precision != 8 {
        return Err(Error::Unsupported(format!(
            "{}-bit JPEG (only 8-bit JPEG is supported)",
            frame.precision
        )));
    }
    if frame.finer_later_component {
        return Err(Error::Unsupported(
            "JPEG with a component sampled more finely than the first".into(),
        ));
    }
    if frame.width != width || frame.height > height || frame.height == 0 {
        return Err(Error::Malformed(format!(
            "JPEG stream is {}x{} pixels, expected {width}x{height}",
            frame.width, frame.height
        )));
    }
    if frame.components != samples {
        return Err(Error::Malformed(format!(
            "JPEG stream has {} components, expected {samples}",
            frame.components
        )));
    }
    let options = DecoderOptions::default()
        .set_max_width(width)
        .set_max_height(height)
        .set_strict_mode(true)
        .jpeg_set_out_colorspace(out_colorspace);
    guard("JPEG", || {
        let mut decoder = JpegDecoder::new_with_options(stream.as_slice(), options);
        decoder.decode_headers().map_err(jpeg_error)?;
        let info = decoder
            .info()
            .ok_or_else(|| Error::Malformed("JPEG stream: no frame header".into()))?;
        let (w, h) = (usize::from(info.width), usize::from(info.height));
        let decoded = decoder
            .get_output_colorspace()
            .unwrap_or(ColorSpace::Unknown);
        if w != width || h > height || decoded.num_components() != samples {
            return Err(Error::Malformed(format!(
                "JPEG stream decodes to {w}x{h} pixels of {} samples, expected \
                 {width}x{height} of {samples}",
                decoded.num_components()
            )));
        }
        let mut out = vec![0u8; out_len];
        // Writes the first w*h*samples bytes; rows past a short stream stay zero.
        decoder.decode_into(&mut out).map_err(jpeg_error)?;
        Ok(out)
    })
}

/// Run a third-party decoder, turning a panic on hostile data into `Malformed`.
///
/// zune-jpeg 0.4.21 asserts on some malformed streams (in its upsampler, and debug
/// assertions in its bit reader), so decoders are not trusted never to panic; their
/// state is dropped after one. (The panic hook still reports the panic.)
fn guard<T>(what: &str, decode: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|_| {
        Err(Error::Malformed(format!(
            "{what} stream: the decoder failed on malformed data"
        )))
    })
}

/// `width * height * samples`, or an error if zero or overflowing.
fn block_len(width: usize, height: usize, samples: usize) -> Result<usize> {
    let len = width
        .checked_mul(height)
        .and_then(|pixels| pixels.checked_mul(samples))
        .ok_or_else(|| {
            Error::Misuse(format!(
                "a {width}x{height} block of {samples} samples is too large"
            ))
        })?;
    if len == 0 {
        return Err(Error::Misuse(format!(
            "empty {width}x{height} block of {samples} samples"
        )));
    }
    Ok(len)
}

/// A zune-jpeg error as ours.
fn jpeg_error(err: DecodeErrors) -> Error {
    match err {
        DecodeErrors::Unsupported(scheme) => {
            Error::Unsupported(format!("JPEG: {scheme:?}"))
        }
        other => Error::Malformed(format!("JPEG stream: {other:?}")),
    }
}

/// What a JPEG start-of-frame segment declares.
#[derive(Debug, Clone, Copy)]
struct JpegFrame {
    precision: u8,
    width: usize,
    height: usize,
    components: usize,
    /// Whether a later component is sampled more finely than the first (which zune-jpeg
    /// cannot upsample).
    finer_later_component: bool,
}

/// The tile's JPEG stream with the JPEGTables segments merged in after its SOI and any
/// APP14 (Adobe) segment removed, and its frame header.
fn assemble_jpeg(data: &[u8], tables: Option<&[u8]>) -> Result<(Vec<u8>, JpegFrame)> {
    const SOI: [u8; 2] = [0xFF, 0xD8];
    let capacity = data.len().saturating_add(tables.map_or(0, <[u8]>::len));
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&SOI);
    let mut frame = None;
    if let Some(tables) = tables {
        let body = tables.strip_prefix(&SOI).ok_or_else(|| {
            Error::Malformed("JPEGTables does not start with a JPEG SOI marker".into())
        })?;
        copy_jpeg_segments(body, &mut out, &mut frame, false)?;
    }
    let body = data.strip_prefix(&SOI).ok_or_else(|| {
        Error::Malformed("JPEG tile does not start with a JPEG SOI marker".into())
    })?;
    copy_jpeg_segments(body, &mut out, &mut frame, true)?;
    let frame = frame
        .ok_or_else(|| Error::Malformed("JPEG stream has no frame header".into()))?;
    Ok((out, frame))
}

/// Copy the marker segments of `src` (after its SOI) to `out`, dropping APP14 and
/// noting the frame header. Tables end at EOI (or the end of the data); an image ends
/// at its first SOS, after which everything is copied verbatim.
fn copy_jpeg_segments(
    src: &[u8],
    out: &mut Vec<u8>,
    frame: &mut Option<JpegFrame>,
    image: bool,
) -> Result<()> {
    let what = if image { "JPEG tile" } else { "JPEGTables" };
    let ended_early = || Error::Malformed(format!("{what} ends before its image data"));
    let mut rest = src;
    loop {
        // Stray bytes before a marker are skipped, as libjpeg does (with a warning), and
        // any number of 0xFF fill bytes may precede a marker code.
        let Some(start) = rest.iter().position(|&byte| byte == 0xFF) else {
            return if image { Err(ended_early()) } else { Ok(()) };
        };
        let after = skip_fill_bytes(rest.get(start..).unwrap_or_default());
        let Some((&marker, after)) = after.split_first() else {
            return if image { Err(ended_early()) } else { Ok(()) };
        };
        match marker {
            // EOI: the end of the tables; an image must not end before its scan.
            0xD9 => return if image { Err(ended_early()) } else { Ok(()) },
            0xD8 => return Err(Error::Malformed(format!("{what}: a second SOI marker"))),
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                rest = after;
                continue;
            }
            _ => {}
        }
        let (segment, after) = match after {
            [hi, lo, ..] => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                if len < 2 {
                    return Err(Error::Malformed(format!(
                        "{what}: segment 0xFF{marker:02X} has length {len}"
                    )));
                }
                match (after.get(..len), after.get(len..)) {
                    (Some(segment), Some(after)) => (segment, after),
                    _ => {
                        return Err(Error::Malformed(format!(
                            "{what}: segment 0xFF{marker:02X} runs past the end"
                        )));
                    }
                }
            }
            _ => return Err(ended_early()),
        };
        // SOF0..SOF15, apart from DHT (C4), JPG (C8) and DAC (CC).
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            if frame.is_some() {
                return Err(Error::Malformed(format!("{what}: two frame headers")));
            }
            let [_, _, precision, h0, h1, w0, w1, components, ..] = *segment else {
                return Err(Error::Malformed(format!("{what}: short frame header")));
            };
            // Component specifications: id, sampling factors (H << 4 | V), table.
            let specs = segment.get(8..).unwrap_or_default().chunks_exact(3);
            let mut sampling = specs
                .filter_map(|spec| spec.get(1))
                .map(|&factors| (factors >> 4, factors & 0x0F));
            let (first_h, first_v) = sampling.next().unwrap_or((0, 0));
            let finer_later_component = sampling.any(|(h, v)| h > first_h || v > first_v);
            *frame = Some(JpegFrame {
                precision,
                width: usize::from(u16::from_be_bytes([w0, w1])),
                height: usize::from(u16::from_be_bytes([h0, h1])),
                components: usize::from(components),
                finer_later_component,
            });
        }
        if marker != 0xEE {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(segment);
        }
        rest = after;
        if marker == 0xDA {
            if !image {
                return Err(Error::Malformed("JPEGTables holds image data".into()));
            }
            out.extend_from_slice(rest);
            return Ok(());
        }
    }
}

/// `data` without its leading 0xFF fill bytes.
fn skip_fill_bytes(data: &[u8]) -> &[u8] {
    let fill = data.iter().take_while(|&&b| b == 0xFF).count();
    data.get(fill..).unwrap_or_default()
}

/// Decode one WEBP tile (TIFF compression 50001) into `width*height*samples` u8 samples.
///
/// 3 samples are RGB, 4 RGBA: alpha is dropped, or set to 255 when the image has none.
///
/// The image must be exactly `width` pixels wide and at most `height` rows high: a
/// shorter one (a last strip) is zero-padded at the bottom, a larger one is `Malformed`
/// and never decoded. Animated WEBP is `Unsupported`.
pub fn decode_webp(
    data: &[u8],
    width: usize,
    height: usize,
    samples: usize,
) -> Result<Vec<u8>> {
    if !matches!(samples, 3 | 4) {
        return Err(Error::Unsupported(format!(
            "WEBP with {samples} samples per pixel"
        )));
    }
    let out_len = block_len(width, height, samples)?;
    guard("WEBP", || {
        let mut decoder = WebPDecoder::new(Cursor::new(data)).map_err(webp_error)?;
        decoder.set_memory_limit(out_len);
        if decoder.is_animated() {
            return Err(Error::Unsupported("animated WEBP".into()));
        }
        let (w, h) = decoder.dimensions();
        let (w, h) = (
            usize::try_from(w).unwrap_or(usize::MAX),
            usize::try_from(h).unwrap_or(usize::MAX),
        );
        if w != width || h > height || h == 0 {
            return Err(Error::Malformed(format!(
                "WEBP image is {w}x{h} pixels, expected {width}x{height}"
            )));
        }
        let stream_samples = if decoder.has_alpha() { 4 } else { 3 };
        let decoded_len = block_len(w, h, stream_samples)?;
        let mut out = vec![0u8; out_len];
        if stream_samples == samples {
            let dst = out
                .get_mut(..decoded_len)
                .ok_or_else(|| Error::Misuse("WEBP output buffer too small".into()))?;
            decoder.read_image(dst).map_err(webp_error)?;
            return Ok(out);
        }
        let mut decoded = vec![0u8; decoded_len];
        decoder.read_image(&mut decoded).map_err(webp_error)?;
        let pixels = out.chunks_exact_mut(samples);
        if samples == 3 {
            for (dst, src) in pixels.zip(decoded.chunks_exact(4)) {
                if let ([r, g, b], [sr, sg, sb, _]) = (dst, src) {
                    (*r, *g, *b) = (*sr, *sg, *sb);
                }
            }
        } else {
            for (dst, src) in pixels.zip(decoded.chunks_exact(3)) {
                if let ([r, g, b, a], [sr, sg, sb]) = (dst, src) {
                    (*r, *g, *b, *a) = (*sr, *sg, *sb, 255);
                }
            }
        }
        Ok(out)
    })
}

/// An image-webp error as ours.
fn webp_error(err: DecodingError) -> Error {
    match err {
        DecodingError::UnsupportedFeature(feature) => {
            Error::Unsupported(format!("WEBP: {feature}"))
        }
        other => Error::Malformed(format!("WEBP stream: {other}")),
    }
}

/// Check a block's shape for a predictor; returns the bytes per row.
fn row_bytes(
    len: usize,
    row_samples: usize,
    samples_per_pixel: usize,
    bytes_per_sample: usize,
) -> Result<usize> {
    if !matches!(bytes_per_sample, 1 | 2 | 4 | 8) {
        return Err(Error::Unsupported(format!(
            "predictor on {}-bit samples",
            bytes_per_sample.saturating_mul(8)
        )));
    }
    if samples_per_pixel == 0
        || row_samples == 0
        || !row_samples.is_multiple_of(samples_per_pixel)
    {
        return Err(Error::Misuse(format!(
            "rows of {row_samples} samples are not whole pixels of {samples_per_pixel} \
             samples"
        )));
    }
    let row_bytes = row_samples.checked_mul(bytes_per_sample).ok_or_else(|| {
        Error::Misuse(format!("rows of {row_samples} samples are too long"))
    })?;
    if !len.is_multiple_of(row_bytes) {
        return Err(Error::Misuse(format!(
            "a block of {len} bytes is not a whole number of {row_bytes}-byte rows"
        )));
    }
    Ok(row_bytes)
}

/// Horizontal accumulation and differencing of one row of little-endian samples.
macro_rules! horizontal {
    ($accumulate:ident, $difference:ident, $t:ty) => {
        /// Undo horizontal differencing on one row of little-endian samples.
        fn $accumulate(row: &mut [u8], samples_per_pixel: usize) {
            let (samples, _) = row.as_chunks_mut::<{ size_of::<$t>() }>();
            if samples_per_pixel == 1 {
                let mut sum: $t = 0;
                for sample in samples {
                    sum = sum.wrapping_add(<$t>::from_le_bytes(*sample));
                    *sample = sum.to_le_bytes();
                }
                return;
            }
            let mut pixels = samples.chunks_exact_mut(samples_per_pixel);
            let Some(mut previous) = pixels.next() else {
                return;
            };
            for pixel in pixels {
                for (sample, left) in pixel.iter_mut().zip(previous.iter()) {
                    let value = <$t>::from_le_bytes(*sample);
                    *sample =
                        value.wrapping_add(<$t>::from_le_bytes(*left)).to_le_bytes();
                }
                previous = pixel;
            }
        }

        /// Apply horizontal differencing on one row of little-endian samples.
        fn $difference(row: &mut [u8], samples_per_pixel: usize) {
            let (samples, _) = row.as_chunks_mut::<{ size_of::<$t>() }>();
            // Right to left, so each pixel's left neighbour is still the original.
            let mut pixels = samples.chunks_exact_mut(samples_per_pixel).rev();
            let Some(mut current) = pixels.next() else {
                return;
            };
            for left in pixels {
                for (sample, left) in current.iter_mut().zip(left.iter()) {
                    let value = <$t>::from_le_bytes(*sample);
                    *sample =
                        value.wrapping_sub(<$t>::from_le_bytes(*left)).to_le_bytes();
                }
                current = left;
            }
        }
    };
}

horizontal!(accumulate_u8, difference_u8, u8);
horizontal!(accumulate_u16, difference_u16, u16);
horizontal!(accumulate_u32, difference_u32, u32);
horizontal!(accumulate_u64, difference_u64, u64);

/// A predictor step on one row, given the samples per pixel.
type RowFn = fn(&mut [u8], usize);

/// The row accumulator and differencer for samples of `bytes_per_sample` bytes.
fn horizontal_fns(bytes_per_sample: usize) -> (RowFn, RowFn) {
    match bytes_per_sample {
        1 => (accumulate_u8, difference_u8),
        2 => (accumulate_u16, difference_u16),
        4 => (accumulate_u32, difference_u32),
        _ => (accumulate_u64, difference_u64),
    }
}

/// Undo horizontal differencing (Predictor=2) in place, output in little-endian order.
///
/// `data` (in the file's byte order) must be whole rows of `row_samples` samples of
/// `bytes_per_sample` (1, 2, 4 or 8) bytes; differences run between samples
/// `samples_per_pixel` apart, wrapping at the sample's width.
pub fn undo_horizontal(
    data: &mut [u8],
    row_samples: usize,
    samples_per_pixel: usize,
    bytes_per_sample: usize,
    big_endian: bool,
) -> Result<()> {
    let row_len =
        row_bytes(data.len(), row_samples, samples_per_pixel, bytes_per_sample)?;
    to_little_endian(data, bytes_per_sample, big_endian);
    let (accumulate, _) = horizontal_fns(bytes_per_sample);
    for row in data.chunks_exact_mut(row_len) {
        accumulate(row, samples_per_pixel);
    }
    Ok(())
}

/// Apply horizontal differencing (Predictor=2) in place on little-endian samples.
pub fn apply_horizontal(
    data: &mut [u8],
    row_samples: usize,
    samples_per_pixel: usize,
    bytes_per_sample: usize,
) -> Result<()> {
    let row_len =
        row_bytes(data.len(), row_samples, samples_per_pixel, bytes_per_sample)?;
    let (_, difference) = horizontal_fns(bytes_per_sample);
    for row in data.chunks_exact_mut(row_len) {
        difference(row, samples_per_pixel);
    }
    Ok(())
}

/// Undo the floating-point predictor (Predictor=3) in place, output little-endian floats.
///
/// Each row holds byte planes, most significant first, then byte-wise horizontal
/// differencing with a stride of `samples_per_pixel` bytes. As in libtiff's `fpAcc`,
/// the planes run from the most significant byte whatever the file's byte order, so
/// `big_endian` does not change the result.
pub fn undo_float(
    data: &mut [u8],
    row_samples: usize,
    samples_per_pixel: usize,
    bytes_per_sample: usize,
    big_endian: bool,
) -> Result<()> {
    let _ = big_endian;
    let row_len =
        row_bytes(data.len(), row_samples, samples_per_pixel, bytes_per_sample)?;
    let mut planes = vec![0u8; row_len];
    for row in data.chunks_exact_mut(row_len) {
        accumulate_u8(row, samples_per_pixel);
        planes.copy_from_slice(row);
        // Plane k holds byte k of every sample, most significant first.
        for (k, plane) in planes.chunks_exact(row_samples).enumerate() {
            let le_index = bytes_per_sample - 1 - k;
            for (sample, &byte) in row.chunks_exact_mut(bytes_per_sample).zip(plane) {
                if let Some(slot) = sample.get_mut(le_index) {
                    *slot = byte;
                }
            }
        }
    }
    Ok(())
}

/// Apply the floating-point predictor (Predictor=3) in place on little-endian floats.
pub fn apply_float(
    data: &mut [u8],
    row_samples: usize,
    samples_per_pixel: usize,
    bytes_per_sample: usize,
) -> Result<()> {
    let row_len =
        row_bytes(data.len(), row_samples, samples_per_pixel, bytes_per_sample)?;
    let mut planes = vec![0u8; row_len];
    for row in data.chunks_exact_mut(row_len) {
        for (k, plane) in planes.chunks_exact_mut(row_samples).enumerate() {
            let le_index = bytes_per_sample - 1 - k;
            for (byte, sample) in plane.iter_mut().zip(row.chunks_exact(bytes_per_sample))
            {
                *byte = sample.get(le_index).copied().unwrap_or_default();
            }
        }
        row.copy_from_slice(&planes);
        difference_u8(row, samples_per_pixel);
    }
    Ok(())
}

/// Convert big-endian samples to little-endian in place (no-op for 1-byte samples or LE).
pub fn to_little_endian(data: &mut [u8], bytes_per_sample: usize, big_endian: bool) {
    if !big_endian {
        return;
    }
    match bytes_per_sample {
        0 | 1 => {}
        2 => swap_bytes::<2>(data),
        4 => swap_bytes::<4>(data),
        8 => swap_bytes::<8>(data),
        n => data.chunks_exact_mut(n).for_each(<[u8]>::reverse),
    }
}

/// Reverse the bytes of each `N`-byte sample.
fn swap_bytes<const N: usize>(data: &mut [u8]) {
    let (samples, _) = data.as_chunks_mut::<N>();
    for sample in samples {
        sample.reverse();
    }
}

/// Compress one block for writing: None, Deflate, Zstd or Lzw; others are `Unsupported`.
///
/// `level` is 1-9 for DEFLATE (a zlib stream) and 1-22 for ZSTD (`Misuse` otherwise),
/// and ignored by None and LZW.
pub fn compress(compression: Compression, data: &[u8], level: i32) -> Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(data.to_vec()),
        Compression::Deflate => {
            let level = u32::try_from(level)
                .ok()
                .filter(|level| (1..=9).contains(level))
                .ok_or_else(|| {
                    Error::Misuse(format!("DEFLATE level {level} is not in 1..=9"))
                })?;
            let buffer = Vec::with_capacity(data.len() / 2 + 64);
            let mut encoder =
                flate2::write::ZlibEncoder::new(buffer, flate2::Compression::new(level));
            encoder
                .write_all(data)
                .and_then(|()| encoder.finish())
                .map_err(|err| {
                    Error::Misuse(format!("DEFLATE compression failed: {err}"))
                })
        }
        Compression::Zstd => {
            if !(1..=22).contains(&level) {
                return Err(Error::Misuse(format!(
                    "ZSTD level {level} is not in 1..=22"
                )));
            }
            zstd::bulk::compress(data, level)
                .map_err(|err| Error::Misuse(format!("ZSTD compression failed: {err}")))
        }
        Compression::Lzw => {
            weezl::encode::Encoder::with_tiff_size_switch(BitOrder::Msb, 8)
                .encode(data)
                .map_err(|err| Error::Misuse(format!("LZW compression failed: {err}")))
        }
        Compression::PackBits | Compression::Jpeg | Compression::Webp => {
            Err(Error::Unsupported(format!(
                "writing {} is not supported",
                compression.name().unwrap_or("this compression")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift64*).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    /// Compressible test data: runs, ramps and noise.
    fn sample_data(len: usize) -> Vec<u8> {
        let noisy = noise(len, 7);
        (0..len)
            .map(|i| match (i / 97) % 3 {
                0 => 42,
                1 => (i % 251) as u8,
                _ => noisy[i],
            })
            .collect()
    }

    fn malformed(result: Result<Vec<u8>>) -> String {
        match result {
            Err(Error::Malformed(message)) => message,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    const LOSSLESS: [(Compression, i32); 4] = [
        (Compression::None, 0),
        (Compression::Lzw, 0),
        (Compression::Deflate, 6),
        (Compression::Zstd, 9),
    ];

    // ---- Compression tag ----

    #[test]
    fn compression_tags_round_trip() {
        for compression in [
            Compression::None,
            Compression::Lzw,
            Compression::Deflate,
            Compression::PackBits,
            Compression::Jpeg,
            Compression::Zstd,
            Compression::Webp,
        ] {
            assert_eq!(
                Compression::from_tag(compression.tag()).unwrap(),
                compression
            );
        }
        assert_eq!(Compression::from_tag(32946).unwrap(), Compression::Deflate);
        assert_eq!(Compression::Deflate.tag(), 8);
        assert_eq!(Compression::None.name(), None);
        assert_eq!(Compression::Lzw.name(), Some("lzw"));
        assert_eq!(Compression::Deflate.name(), Some("deflate"));
        assert_eq!(Compression::PackBits.name(), Some("packbits"));
        assert_eq!(Compression::Jpeg.name(), Some("jpeg"));
        assert_eq!(Compression::Zstd.name(), Some("zstd"));
        assert_eq!(Compression::Webp.name(), Some("webp"));
    }

    #[test]
    fn unknown_compressions_are_unsupported_and_named() {
        for (code, name) in [
            (6, "old-style JPEG"),
            (34887, "LERC"),
            (34712, "JPEG 2000"),
            (34925, "LZMA"),
            (4, "CCITT Group 4 fax"),
        ] {
            match Compression::from_tag(code) {
                Err(Error::Unsupported(message)) => {
                    assert!(message.contains(&code.to_string()), "{message}");
                    assert!(message.contains(name), "{message}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        match Compression::from_tag(12345) {
            Err(Error::Unsupported(message)) => assert_eq!(message, "compression 12345"),
            other => panic!("{other:?}"),
        }
    }

    // ---- lossless codecs ----

    #[test]
    fn lossless_round_trips() {
        for len in [0, 1, 2, 100, 4096, 100_000] {
            let data = sample_data(len);
            for (compression, level) in LOSSLESS {
                let packed = compress(compression, &data, level).unwrap();
                let unpacked = decompress(compression, &packed, len, false).unwrap();
                assert!(unpacked == data, "{compression:?} {len}");
            }
            let packed = packbits_encode(&data);
            assert_eq!(
                decompress(Compression::PackBits, &packed, len, false).unwrap(),
                data
            );
        }
    }

    #[test]
    fn compression_levels() {
        let data = sample_data(10_000);
        for level in [1, 9] {
            let packed = compress(Compression::Deflate, &data, level).unwrap();
            assert_eq!(
                decompress(Compression::Deflate, &packed, 10_000, false).unwrap(),
                data
            );
        }
        for level in [1, 22] {
            let packed = compress(Compression::Zstd, &data, level).unwrap();
            assert_eq!(
                decompress(Compression::Zstd, &packed, 10_000, false).unwrap(),
                data
            );
        }
        for (compression, level) in [
            (Compression::Deflate, 0),
            (Compression::Deflate, 10),
            (Compression::Zstd, 0),
            (Compression::Zstd, 23),
        ] {
            assert!(matches!(
                compress(compression, &data, level),
                Err(Error::Misuse(_))
            ));
        }
        for compression in [Compression::PackBits, Compression::Jpeg, Compression::Webp] {
            match compress(compression, &data, 1) {
                Err(Error::Unsupported(message)) => {
                    assert!(message.starts_with("writing "), "{message}");
                    assert!(message.ends_with(" is not supported"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn jpeg_and_webp_are_not_decompressed() {
        for compression in [Compression::Jpeg, Compression::Webp] {
            assert!(matches!(
                decompress(compression, &[1, 2], 2, false),
                Err(Error::Misuse(_))
            ));
        }
    }

    #[test]
    fn uncompressed_blocks() {
        let data = [1u8, 2, 3, 4, 5];
        assert_eq!(
            decompress(Compression::None, &data, 3, false).unwrap(),
            [1, 2, 3]
        );
        assert_eq!(
            decompress(Compression::None, &data, 5, false).unwrap(),
            data
        );
        let message = malformed(decompress(Compression::None, &data, 8, false));
        assert!(message.contains("5 bytes, expected 8"), "{message}");
        assert_eq!(decompress(Compression::None, &data, 8, true).unwrap(), data);
    }

    #[test]
    fn short_output_is_an_error_unless_allowed() {
        let data = sample_data(50);
        for (compression, level) in LOSSLESS.into_iter().skip(1) {
            let packed = compress(compression, &data, level).unwrap();
            let message = malformed(decompress(compression, &packed, 100, false));
            assert!(
                message.contains("50 bytes, expected 100"),
                "{compression:?}: {message}"
            );
            assert_eq!(decompress(compression, &packed, 100, true).unwrap(), data);
        }
        let packed = packbits_encode(&data);
        let message = malformed(decompress(Compression::PackBits, &packed, 100, false));
        assert!(message.contains("50 bytes, expected 100"), "{message}");
        assert_eq!(
            decompress(Compression::PackBits, &packed, 100, true).unwrap(),
            data
        );
    }

    #[test]
    fn long_output_is_an_error() {
        let data = sample_data(101);
        for (compression, level) in LOSSLESS.into_iter().skip(1) {
            let packed = compress(compression, &data, level).unwrap();
            let message = malformed(decompress(compression, &packed, 100, false));
            assert!(
                message.contains("more than 100 bytes"),
                "{compression:?}: {message}"
            );
            let message = malformed(decompress(compression, &packed, 100, true));
            assert!(
                message.contains("more than 100 bytes"),
                "{compression:?}: {message}"
            );
        }
        let message = malformed(decompress(
            Compression::PackBits,
            &packbits_encode(&data),
            100,
            true,
        ));
        assert!(message.contains("more than 100 bytes"), "{message}");
    }

    #[test]
    fn bombs_stop_at_the_expected_size() {
        let zeros = vec![0u8; 10 << 20];
        for (compression, level) in LOSSLESS.into_iter().skip(1) {
            let packed = compress(compression, &zeros, level).unwrap();
            assert!(packed.len() < 1 << 20, "{compression:?} {}", packed.len());
            let start = std::time::Instant::now();
            let message = malformed(decompress(compression, &packed, 100, false));
            assert!(
                message.contains("more than 100 bytes"),
                "{compression:?}: {message}"
            );
            assert!(
                start.elapsed().as_millis() < 500,
                "{compression:?} {:?}",
                start.elapsed()
            );
        }
        // 40 000 repeat runs of 128 bytes each.
        let packed: Vec<u8> = [0x81u8, 0].repeat(40_000);
        let message = malformed(decompress(Compression::PackBits, &packed, 100, false));
        assert!(message.contains("more than 100 bytes"), "{message}");
    }

    #[test]
    fn deflate_without_zlib_header() {
        let data = sample_data(5000);
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        encoder.write_all(&data).unwrap();
        let raw = encoder.finish().unwrap();
        assert!(!has_zlib_header(&raw));
        assert_eq!(
            decompress(Compression::Deflate, &raw, 5000, false).unwrap(),
            data
        );
    }

    #[test]
    fn deflate_errors_name_the_stream() {
        // A zlib header, then a block with the reserved type 3.
        let message = malformed(decompress(
            Compression::Deflate,
            &[0x78, 0x9C, 0x07, 0],
            10,
            false,
        ));
        assert!(message.starts_with("DEFLATE stream: "), "{message}");
    }

    #[test]
    fn deflate_missing_checksum_is_tolerated() {
        let data = sample_data(1000);
        let packed = compress(Compression::Deflate, &data, 6).unwrap();
        let cut = packed.get(..packed.len() - 4).unwrap();
        assert_eq!(
            decompress(Compression::Deflate, cut, 1000, false).unwrap(),
            data
        );
    }

    /// MSB-first bit packing of (code, width) pairs, padded with zero bits.
    fn msb_codes(codes: &[(u32, u32)]) -> Vec<u8> {
        let mut bits = BitWriter::default();
        for &(code, width) in codes {
            bits.msb(code, width);
        }
        bits.finish(false)
    }

    #[test]
    fn lzw_without_end_code() {
        let ended = msb_codes(&[(256, 9), (65, 9), (66, 9), (257, 9)]);
        assert_eq!(
            decompress(Compression::Lzw, &ended, 2, false).unwrap(),
            b"AB"
        );
        let open = msb_codes(&[(256, 9), (65, 9), (66, 9)]);
        assert_eq!(
            decompress(Compression::Lzw, &open, 2, false).unwrap(),
            b"AB"
        );
        let message = malformed(decompress(Compression::Lzw, &open, 3, false));
        assert!(message.contains("2 bytes, expected 3"), "{message}");
        // Garbage after a complete block is never read.
        let trailing = msb_codes(&[(256, 9), (65, 9), (66, 9), (500, 9)]);
        assert_eq!(
            decompress(Compression::Lzw, &trailing, 2, false).unwrap(),
            b"AB"
        );
    }

    #[test]
    fn lzw_invalid_code() {
        let bad = msb_codes(&[(256, 9), (65, 9), (400, 9), (257, 9)]);
        let message = malformed(decompress(Compression::Lzw, &bad, 10, false));
        assert!(message.starts_with("LZW stream: "), "{message}");
    }

    #[test]
    fn old_style_lzw() {
        let data = sample_data(3000);
        let packed = weezl::encode::Encoder::new(BitOrder::Lsb, 8)
            .encode(&data)
            .unwrap();
        assert_eq!(packed.get(..2).map(|b| (b[0], b[1] & 1)), Some((0, 1)));
        assert_eq!(
            decompress(Compression::Lzw, &packed, 3000, false).unwrap(),
            data
        );
    }

    #[test]
    fn zstd_multiple_frames() {
        let (a, b) = (sample_data(300), noise(200, 3));
        let mut packed = compress(Compression::Zstd, &a, 3).unwrap();
        packed.extend(compress(Compression::Zstd, &b, 3).unwrap());
        let both = [a, b].concat();
        assert_eq!(
            decompress(Compression::Zstd, &packed, 500, false).unwrap(),
            both
        );
    }

    #[test]
    fn zstd_errors_name_the_stream() {
        let message =
            malformed(decompress(Compression::Zstd, b"not zstd at all", 10, false));
        assert!(message.starts_with("ZSTD stream: "), "{message}");
    }

    #[test]
    fn truncated_and_garbage_streams_never_panic() {
        let data = sample_data(2000);
        let streams = [
            (
                Compression::Lzw,
                compress(Compression::Lzw, &data, 0).unwrap(),
            ),
            (
                Compression::Deflate,
                compress(Compression::Deflate, &data, 6).unwrap(),
            ),
            (
                Compression::Zstd,
                compress(Compression::Zstd, &data, 3).unwrap(),
            ),
            (Compression::PackBits, packbits_encode(&data)),
        ];
        for (compression, packed) in &streams {
            // Truncated halfway: an error.
            let half = packed.get(..packed.len() / 2).unwrap();
            assert!(
                decompress(*compression, half, 2000, false).is_err(),
                "{compression:?}"
            );
            // Every prefix, and every byte corrupted: Ok or Err, never a panic, never
            // more than asked.
            for cut in 0..packed.len() {
                let prefix = packed.get(..cut).unwrap();
                if let Ok(out) = decompress(*compression, prefix, 2000, true) {
                    assert!(out.len() <= 2000);
                }
            }
            for position in (0..packed.len()).step_by(3) {
                for value in [0x00, 0xFF, 0x80, 0x5A] {
                    let mut corrupt = packed.clone();
                    corrupt[position] = value;
                    if let Ok(out) = decompress(*compression, &corrupt, 2000, true) {
                        assert!(out.len() <= 2000);
                    }
                }
            }
            // Garbage.
            for seed in 0..20 {
                let garbage = noise(300, seed);
                if let Ok(out) = decompress(*compression, &garbage, 2000, true) {
                    assert!(out.len() <= 2000);
                }
            }
        }
        for (compression, _) in LOSSLESS.into_iter().skip(1) {
            assert!(decompress(compression, &noise(300, 99), 2000, false).is_err());
        }
    }

    // ---- PackBits ----

    /// A simple PackBits encoder: repeat runs of 3+ bytes, literal runs otherwise.
    fn packbits_encode(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut literal_start = 0;
        let flush = |out: &mut Vec<u8>, literal: &[u8]| {
            for chunk in literal.chunks(128) {
                out.push((chunk.len() - 1) as u8);
                out.extend_from_slice(chunk);
            }
        };
        while i < data.len() {
            let run = data[i..]
                .iter()
                .take(128)
                .take_while(|&&b| b == data[i])
                .count();
            if run >= 3 {
                flush(&mut out, &data[literal_start..i]);
                out.push((1 - run as i32) as i8 as u8);
                out.push(data[i]);
                i += run;
                literal_start = i;
            } else {
                i += 1;
            }
        }
        flush(&mut out, &data[literal_start..]);
        out
    }

    #[test]
    fn packbits_spec_example() {
        let packed = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22,
            0xF7, 0xAA,
        ];
        let unpacked = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A,
            0x22, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        assert_eq!(
            decompress(Compression::PackBits, &packed, 24, false).unwrap(),
            unpacked
        );
        let message = malformed(decompress(Compression::PackBits, &packed, 23, false));
        assert!(message.contains("more than 23 bytes"), "{message}");
        let message = malformed(decompress(Compression::PackBits, &packed, 25, false));
        assert!(message.contains("24 bytes, expected 25"), "{message}");
    }

    #[test]
    fn packbits_edge_cases() {
        // -128 is a no-op; literal of 128 bytes; repeat of 128 bytes.
        let mut packed = vec![0x80, 0x7F];
        packed.extend(0..128u8);
        packed.extend([0x80, 0x81, 7, 0x80]);
        let mut expected: Vec<u8> = (0..128).collect();
        expected.extend([7; 128]);
        assert_eq!(
            decompress(Compression::PackBits, &packed, 256, false).unwrap(),
            expected
        );
        // A literal run cut short ends decoding.
        let cut = [0x01, 9, 4, 0x04, 1, 2];
        assert_eq!(
            decompress(Compression::PackBits, &cut, 7, true).unwrap(),
            [9, 4]
        );
        assert!(decompress(Compression::PackBits, &cut, 7, false).is_err());
        // A repeat without its byte, too.
        assert_eq!(
            decompress(Compression::PackBits, &[0x00, 5, 0xFF], 3, true).unwrap(),
            [5]
        );
        assert_eq!(
            decompress(Compression::PackBits, &[], 0, false).unwrap(),
            Vec::<u8>::new()
        );
    }

    // ---- predictors ----

    /// Samples of `bytes` bytes from `seed`, as u64 values.
    fn sample_values(count: usize, bytes: usize, seed: u64) -> Vec<u64> {
        noise(count * 8, seed)
            .chunks_exact(8)
            .map(|chunk| {
                let value = u64::from_le_bytes(chunk.try_into().unwrap());
                if bytes == 8 {
                    value
                } else {
                    value & ((1 << (8 * bytes)) - 1)
                }
            })
            .collect()
    }

    fn le_bytes(values: &[u64], bytes: usize) -> Vec<u8> {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes()[..bytes].to_vec())
            .collect()
    }

    #[test]
    fn horizontal_predictor_by_hand() {
        let mut bytes = vec![10u8, 5, 250, 6];
        undo_horizontal(&mut bytes, 4, 1, 1, false).unwrap();
        assert_eq!(bytes, [10, 15, 9, 15]);
        apply_horizontal(&mut bytes, 4, 1, 1).unwrap();
        assert_eq!(bytes, [10, 5, 250, 6]);

        // Two RGB pixels of u16, and a wrap-around.
        let mut rgb = le_bytes(&[1, 2, 3, 3, 3, 3], 2);
        undo_horizontal(&mut rgb, 6, 3, 2, false).unwrap();
        assert_eq!(rgb, le_bytes(&[1, 2, 3, 4, 5, 6], 2));
        let mut wrap = le_bytes(&[0xFFFF, 2], 2);
        undo_horizontal(&mut wrap, 2, 1, 2, false).unwrap();
        assert_eq!(wrap, le_bytes(&[0xFFFF, 1], 2));

        // Big-endian u16: two rows of 2 samples each.
        let mut be = vec![0x01, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x03];
        undo_horizontal(&mut be, 2, 1, 2, true).unwrap();
        assert_eq!(be, le_bytes(&[0x0100, 0x0101, 0xFFFF, 0x0002], 2));
    }

    #[test]
    fn horizontal_predictor_round_trips() {
        for bytes in [1, 2, 4, 8] {
            for spp in [1, 3] {
                let (width, rows) = (7, 5);
                let row_samples = width * spp;
                let values =
                    sample_values(row_samples * rows, bytes, (bytes * 10 + spp) as u64);
                let original = le_bytes(&values, bytes);
                let mut predicted = original.clone();
                apply_horizontal(&mut predicted, row_samples, spp, bytes).unwrap();
                assert_ne!(predicted, original);
                for (compression, level) in LOSSLESS {
                    let packed = compress(compression, &predicted, level).unwrap();
                    let mut block =
                        decompress(compression, &packed, original.len(), false).unwrap();
                    undo_horizontal(&mut block, row_samples, spp, bytes, false).unwrap();
                    assert!(block == original, "{compression:?} {bytes} {spp}");
                }
            }
        }
    }

    #[test]
    fn horizontal_predictor_big_endian() {
        for bytes in [1, 2, 4, 8] {
            for spp in [1, 3] {
                let (width, rows) = (6, 4);
                let row_samples = width * spp;
                let values = sample_values(row_samples * rows, bytes, 99 + bytes as u64);
                let mask = if bytes == 8 {
                    u64::MAX
                } else {
                    (1 << (8 * bytes)) - 1
                };
                // Differences per the TIFF spec, written big-endian.
                let mut file = Vec::new();
                for row in values.chunks_exact(row_samples) {
                    for (i, &value) in row.iter().enumerate() {
                        let left = if i >= spp { row[i - spp] } else { 0 };
                        let difference = value.wrapping_sub(left) & mask;
                        file.extend_from_slice(&difference.to_be_bytes()[8 - bytes..]);
                    }
                }
                undo_horizontal(&mut file, row_samples, spp, bytes, true).unwrap();
                assert_eq!(file, le_bytes(&values, bytes), "{bytes} {spp}");
            }
        }
    }

    /// libtiff's `fpDiff` (tif_predict.c) on a little-endian host, transcribed.
    fn libtiff_fp_diff(row: &mut [u8], stride: usize, bps: usize) {
        let cc = row.len();
        let wc = cc / bps;
        let mut tmp = vec![0u8; cc];
        for count in 0..wc {
            for byte in 0..bps {
                tmp[(bps - byte - 1) * wc + count] = row[bps * count + byte];
            }
        }
        row.copy_from_slice(&tmp);
        let mut i = cc - 1;
        while i >= stride {
            row[i] = row[i].wrapping_sub(row[i - stride]);
            i -= 1;
        }
    }

    #[test]
    fn float_predictor_by_hand() {
        // 1.0f32 = 3F800000, 2.0f32 = 40000000: planes 3F 40 | 80 00 | 00 00 | 00 00,
        // then byte differences.
        let mut block = vec![0x3F, 0x01, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00];
        let expected: Vec<u8> =
            [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut be = block.clone();
        undo_float(&mut block, 2, 1, 4, false).unwrap();
        assert_eq!(block, expected);
        undo_float(&mut be, 2, 1, 4, true).unwrap();
        assert_eq!(be, expected);
        apply_float(&mut block, 2, 1, 4).unwrap();
        assert_eq!(block, [0x3F, 0x01, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn float_predictor_matches_libtiff() {
        for bytes in [1, 2, 4, 8] {
            for spp in [1, 3] {
                let (width, rows) = (9, 4);
                let row_samples = width * spp;
                let original = match bytes {
                    4 => (0..row_samples * rows)
                        .flat_map(|i| ((i as f32 - 7.25) * 1.37e3).to_le_bytes())
                        .collect(),
                    8 => (0..row_samples * rows)
                        .flat_map(|i| ((i as f64).sin() * 1e-3).to_le_bytes())
                        .collect(),
                    _ => noise(row_samples * rows * bytes, 5),
                };
                let mut reference = original.clone();
                for row in reference.chunks_exact_mut(row_samples * bytes) {
                    libtiff_fp_diff(row, spp, bytes);
                }
                let mut applied = original.clone();
                apply_float(&mut applied, row_samples, spp, bytes).unwrap();
                assert_eq!(applied, reference, "{bytes} {spp}");
                // The same predicted bytes whatever the file's byte order.
                for big_endian in [false, true] {
                    let mut block = reference.clone();
                    undo_float(&mut block, row_samples, spp, bytes, big_endian).unwrap();
                    assert_eq!(block, original, "{bytes} {spp} {big_endian}");
                }
                for (compression, level) in LOSSLESS {
                    let packed = compress(compression, &applied, level).unwrap();
                    let mut block =
                        decompress(compression, &packed, original.len(), false).unwrap();
                    undo_float(&mut block, row_samples, spp, bytes, false).unwrap();
                    assert!(block == original, "{compression:?} {bytes} {spp}");
                }
            }
        }
    }

    #[test]
    fn predictor_shape_errors() {
        let mut data = vec![0u8; 24];
        for bytes in [0, 3, 16] {
            assert!(matches!(
                undo_horizontal(&mut data, 4, 1, bytes, false),
                Err(Error::Unsupported(_))
            ));
            assert!(matches!(
                undo_float(&mut data, 4, 1, bytes, false),
                Err(Error::Unsupported(_))
            ));
        }
        // 24 bytes are not whole rows of 5 u16 samples; 4 samples not whole RGB pixels.
        assert!(matches!(
            undo_horizontal(&mut data, 5, 1, 2, false),
            Err(Error::Misuse(_))
        ));
        assert!(matches!(
            undo_float(&mut data, 4, 3, 2, false),
            Err(Error::Misuse(_))
        ));
        assert!(matches!(
            apply_horizontal(&mut data, 6, 0, 2),
            Err(Error::Misuse(_))
        ));
        assert!(matches!(
            apply_float(&mut data, 0, 1, 2),
            Err(Error::Misuse(_))
        ));
        // Empty blocks are fine.
        assert!(undo_horizontal(&mut [], 4, 1, 2, true).is_ok());
    }

    #[test]
    fn byte_swapping() {
        let mut data = vec![1, 2, 3, 4, 5, 6, 7, 8];
        to_little_endian(&mut data, 2, false);
        assert_eq!(data, [1, 2, 3, 4, 5, 6, 7, 8]);
        to_little_endian(&mut data, 1, true);
        assert_eq!(data, [1, 2, 3, 4, 5, 6, 7, 8]);
        to_little_endian(&mut data, 2, true);
        assert_eq!(data, [2, 1, 4, 3, 6, 5, 8, 7]);
        to_little_endian(&mut data, 2, true);
        to_little_endian(&mut data, 4, true);
        assert_eq!(data, [4, 3, 2, 1, 8, 7, 6, 5]);
        to_little_endian(&mut data, 4, true);
        to_little_endian(&mut data, 8, true);
        assert_eq!(data, [8, 7, 6, 5, 4, 3, 2, 1]);
        let mut odd = vec![1, 2, 3, 4, 5, 6, 7];
        to_little_endian(&mut odd, 3, true);
        assert_eq!(odd, [3, 2, 1, 6, 5, 4, 7]);
    }

    // ---- JPEG ----

    /// Bits for hand-made entropy-coded streams.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        acc: u64,
        count: u32,
    }

    impl BitWriter {
        /// Append `width` bits of `value`, most significant first.
        fn msb(&mut self, value: u32, width: u32) {
            for bit in (0..width).rev() {
                self.acc = (self.acc << 1) | u64::from((value >> bit) & 1);
                self.count += 1;
                if self.count == 8 {
                    self.bytes.push(self.acc as u8);
                    self.acc = 0;
                    self.count = 0;
                }
            }
        }

        /// Append `width` bits of `value`, least significant first (WEBP).
        fn lsb(&mut self, value: u32, width: u32) {
            for bit in 0..width {
                self.acc |= u64::from((value >> bit) & 1) << self.count;
                self.count += 1;
                if self.count == 8 {
                    self.bytes.push(self.acc as u8);
                    self.acc = 0;
                    self.count = 0;
                }
            }
        }

        /// The bytes, the last one padded with ones (JPEG) or zeros.
        fn finish(mut self, ones: bool) -> Vec<u8> {
            if self.count > 0 {
                let pad = 8 - self.count;
                if ones {
                    self.msb((1 << pad) - 1, pad);
                } else {
                    self.msb(0, pad);
                }
            }
            self.bytes
        }
    }

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// DQT (all ones) and DHT segments: DC categories 0-11 as 4-bit codes, AC only EOB.
    fn jpeg_tables() -> Vec<u8> {
        let mut out = segment(0xDB, &[[0u8].as_slice(), &[1; 64]].concat());
        let mut dc = vec![0x00];
        dc.extend([0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        dc.extend(0..12u8);
        out.extend(segment(0xC4, &dc));
        let mut ac = vec![0x10];
        ac.extend([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        ac.push(0x00);
        out.extend(segment(0xC4, &ac));
        out
    }

    /// SOF0, SOS and the scan of a baseline image whose MCUs are flat: `blocks[m][c]` is
    /// the value of component c in MCU m (raster order). The first component has
    /// sampling factors `sampling` (H << 4 | V), the others 1x1.
    fn jpeg_frame(
        width: u16,
        height: u16,
        precision: u8,
        sampling: u8,
        blocks: &[Vec<u8>],
    ) -> Vec<u8> {
        let components = blocks[0].len();
        let mut sof = vec![precision];
        sof.extend(height.to_be_bytes());
        sof.extend(width.to_be_bytes());
        sof.push(components as u8);
        let mut sos = vec![components as u8];
        for c in 0..components {
            sof.extend([c as u8 + 1, if c == 0 { sampling } else { 0x11 }, 0]);
            sos.extend([c as u8 + 1, 0x00]);
        }
        sos.extend([0, 63, 0]);
        let mut bits = BitWriter::default();
        let mut predictions = vec![0i32; components];
        for block in blocks {
            for (c, &value) in block.iter().enumerate() {
                let repeats = if c == 0 {
                    (sampling >> 4) * (sampling & 0x0F)
                } else {
                    1
                };
                for _ in 0..repeats {
                    let dc = (i32::from(value) - 128) * 8;
                    let difference = dc - predictions[c];
                    predictions[c] = dc;
                    let category = 32 - difference.unsigned_abs().leading_zeros();
                    bits.msb(category, 4);
                    let extra = if difference >= 0 {
                        difference
                    } else {
                        difference + (1 << category) - 1
                    };
                    bits.msb(extra as u32, category);
                    bits.msb(0, 1); // EOB
                }
            }
        }
        let mut scan = Vec::new();
        for byte in bits.finish(true) {
            scan.push(byte);
            if byte == 0xFF {
                scan.push(0);
            }
        }
        let mut out = segment(0xC0, &sof);
        out.extend(segment(0xDA, &sos));
        out.extend(scan);
        out
    }

    /// A complete JPEG stream.
    fn jpeg(width: u16, height: u16, blocks: &[Vec<u8>]) -> Vec<u8> {
        [
            &[0xFF, 0xD8][..],
            &jpeg_tables(),
            &jpeg_frame(width, height, 8, 0x11, blocks),
            &[0xFF, 0xD9],
        ]
        .concat()
    }

    /// The expected interleaved output of flat blocks.
    fn flat_pixels(width: usize, height: usize, blocks: &[Vec<u8>]) -> Vec<u8> {
        let blocks_across = width / 8;
        let mut out = Vec::new();
        for y in 0..height {
            for x in 0..width {
                out.extend(&blocks[(y / 8) * blocks_across + x / 8]);
            }
        }
        out
    }

    fn two_rgb_blocks() -> Vec<Vec<u8>> {
        vec![vec![200, 100, 50], vec![10, 20, 30]]
    }

    #[test]
    fn jpeg_rgb_components_are_not_converted() {
        let blocks = two_rgb_blocks();
        let stream = jpeg(16, 8, &blocks);
        let pixels = decode_jpeg(&stream, None, JpegColor::Rgb, 16, 8, 3).unwrap();
        assert_eq!(pixels, flat_pixels(16, 8, &blocks));
    }

    #[test]
    fn jpeg_ycbcr_is_converted_to_rgb() {
        let blocks = two_rgb_blocks();
        let stream = jpeg(16, 8, &blocks);
        let pixels = decode_jpeg(&stream, None, JpegColor::YCbCr, 16, 8, 3).unwrap();
        let ycbcr = flat_pixels(16, 8, &blocks);
        for (rgb, ycc) in pixels.chunks_exact(3).zip(ycbcr.chunks_exact(3)) {
            let (y, cb, cr) = (
                f64::from(ycc[0]),
                f64::from(ycc[1]) - 128.0,
                f64::from(ycc[2]) - 128.0,
            );
            let expected = [
                y + 1.402 * cr,
                y - 0.344136 * cb - 0.714136 * cr,
                y + 1.772 * cb,
            ];
            for (&got, want) in rgb.iter().zip(expected) {
                let want = want.round().clamp(0.0, 255.0);
                assert!(
                    (f64::from(got) - want).abs() <= 2.0,
                    "{rgb:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn jpeg_gray_and_four_components() {
        let blocks = vec![vec![7], vec![250], vec![128], vec![0]];
        let stream = jpeg(16, 16, &blocks);
        let pixels = decode_jpeg(&stream, None, JpegColor::Gray, 16, 16, 1).unwrap();
        assert_eq!(pixels, flat_pixels(16, 16, &blocks));

        let blocks = vec![vec![1, 2, 3, 4]];
        let stream = jpeg(8, 8, &blocks);
        let pixels = decode_jpeg(&stream, None, JpegColor::Rgb, 8, 8, 4).unwrap();
        assert_eq!(pixels, flat_pixels(8, 8, &blocks));
    }

    #[test]
    fn jpeg_subsampled_chroma() {
        // 2x2 and 2x1 luma sampling, as GDAL writes YCbCr JPEG; flat MCUs of one colour.
        for sampling in [0x22, 0x21] {
            let mcu = vec![90, 140, 160];
            let stream = [
                &[0xFF, 0xD8][..],
                &jpeg_tables(),
                &jpeg_frame(
                    32,
                    16,
                    8,
                    sampling,
                    &vec![mcu.clone(); 4 / (sampling & 0x0F) as usize],
                ),
                &[0xFF, 0xD9],
            ]
            .concat();
            let raw = decode_jpeg(&stream, None, JpegColor::Rgb, 32, 16, 3).unwrap();
            assert_eq!(raw, mcu.repeat(32 * 16), "{sampling:#x}");
            let rgb = decode_jpeg(&stream, None, JpegColor::YCbCr, 32, 16, 3).unwrap();
            // Y 90, Cb 140, Cr 160: R 134.9, G 63.0, B 111.3.
            for pixel in rgb.chunks_exact(3) {
                for (got, want) in pixel.iter().zip([135, 63, 111]) {
                    assert!(got.abs_diff(want) <= 1, "{sampling:#x}: {pixel:?}");
                }
            }
        }
    }

    #[test]
    fn jpeg_tables_are_merged() {
        let blocks = two_rgb_blocks();
        let tables = [&[0xFF, 0xD8][..], &jpeg_tables(), &[0xFF, 0xD9]].concat();
        let tile = [
            &[0xFF, 0xD8][..],
            &jpeg_frame(16, 8, 8, 0x11, &blocks),
            &[0xFF, 0xD9],
        ]
        .concat();
        let pixels = decode_jpeg(&tile, Some(&tables), JpegColor::Rgb, 16, 8, 3).unwrap();
        assert_eq!(pixels, flat_pixels(16, 8, &blocks));
        // Without the tables the tile cannot be decoded.
        assert!(decode_jpeg(&tile, None, JpegColor::Rgb, 16, 8, 3).is_err());
        // Tables that are not a JPEG stream.
        assert!(matches!(
            decode_jpeg(&tile, Some(&[1, 2, 3]), JpegColor::Rgb, 16, 8, 3),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn jpeg_adobe_marker_is_ignored() {
        let blocks = two_rgb_blocks();
        for transform in [0, 1, 2] {
            let mut app14 = b"Adobe".to_vec();
            app14.extend([0, 100, 0, 0, 0, 0, transform]);
            let stream = [
                &[0xFF, 0xD8][..],
                &segment(0xEE, &app14),
                &jpeg_tables(),
                &jpeg_frame(16, 8, 8, 0x11, &blocks),
                &[0xFF, 0xD9],
            ]
            .concat();
            let pixels = decode_jpeg(&stream, None, JpegColor::Rgb, 16, 8, 3).unwrap();
            assert_eq!(pixels, flat_pixels(16, 8, &blocks), "transform {transform}");
        }
    }

    #[test]
    fn jpeg_stray_bytes_and_fill_bytes_between_segments() {
        let blocks = two_rgb_blocks();
        let stream = [
            &[0xFF, 0xD8, 0x00, 0x12][..],
            &jpeg_tables(),
            &[0xFF, 0xFF],
            &jpeg_frame(16, 8, 8, 0x11, &blocks),
            &[0xFF, 0xD9],
        ]
        .concat();
        let pixels = decode_jpeg(&stream, None, JpegColor::Rgb, 16, 8, 3).unwrap();
        assert_eq!(pixels, flat_pixels(16, 8, &blocks));
    }

    #[test]
    fn jpeg_short_strip_is_padded() {
        let blocks = two_rgb_blocks();
        let stream = jpeg(16, 8, &blocks);
        let pixels = decode_jpeg(&stream, None, JpegColor::Rgb, 16, 10, 3).unwrap();
        let mut expected = flat_pixels(16, 8, &blocks);
        expected.resize(16 * 10 * 3, 0);
        assert_eq!(pixels, expected);
    }

    #[test]
    fn jpeg_larger_than_asked_is_malformed() {
        let blocks = vec![vec![1, 2, 3]; 4];
        let stream = jpeg(16, 16, &blocks);
        for (width, height) in [(8, 8), (16, 8), (8, 16), (24, 16)] {
            let message =
                malformed(decode_jpeg(&stream, None, JpegColor::Rgb, width, height, 3));
            assert!(message.contains("16x16"), "{message}");
        }
        // A hostile header declaring 65535x65535 pixels.
        let huge = jpeg(65535, 65535, &blocks);
        assert!(matches!(
            decode_jpeg(&huge, None, JpegColor::Rgb, 256, 256, 3),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn jpeg_shape_errors() {
        let stream = jpeg(16, 8, &two_rgb_blocks());
        // Components and samples disagree.
        assert!(matches!(
            decode_jpeg(&stream, None, JpegColor::Rgb, 16, 8, 4),
            Err(Error::Malformed(_))
        ));
        // Combinations that make no sense.
        assert!(matches!(
            decode_jpeg(&stream, None, JpegColor::Gray, 16, 8, 3),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            decode_jpeg(&stream, None, JpegColor::YCbCr, 16, 8, 1),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            decode_jpeg(&stream, None, JpegColor::Rgb, 0, 8, 3),
            Err(Error::Misuse(_))
        ));
        assert!(matches!(
            decode_jpeg(&stream, None, JpegColor::Rgb, usize::MAX, 8, 3),
            Err(Error::Misuse(_))
        ));
    }

    #[test]
    fn jpeg_chroma_finer_than_luma_is_unsupported() {
        // zune-jpeg 0.4 panics on these (an assertion in its upsampler).
        let mut stream = jpeg(16, 8, &two_rgb_blocks());
        let sof = stream.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        stream[sof + 10 + 3 + 1] = 0x22; // the second component's sampling factors
        assert!(matches!(
            decode_jpeg(&stream, None, JpegColor::YCbCr, 16, 8, 3),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn jpeg_12_bit_is_unsupported() {
        let stream = [
            &[0xFF, 0xD8][..],
            &jpeg_tables(),
            &jpeg_frame(16, 8, 12, 0x11, &two_rgb_blocks()),
        ]
        .concat();
        match decode_jpeg(&stream, None, JpegColor::Rgb, 16, 8, 3) {
            Err(Error::Unsupported(message)) => {
                assert!(message.contains("12-bit"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jpeg_garbage_and_truncation() {
        assert!(decode_jpeg(&[], None, JpegColor::Rgb, 16, 8, 3).is_err());
        assert!(decode_jpeg(b"not a jpeg", None, JpegColor::Rgb, 16, 8, 3).is_err());
        for seed in 0..50 {
            let mut garbage = noise(200, seed);
            assert!(decode_jpeg(&garbage, None, JpegColor::YCbCr, 16, 8, 3).is_err());
            garbage[..2].copy_from_slice(&[0xFF, 0xD8]);
            assert!(decode_jpeg(&garbage, None, JpegColor::YCbCr, 16, 8, 3).is_err());
        }
        let stream = jpeg(16, 8, &two_rgb_blocks());
        // Cut anywhere before the scan data: an error.
        let sos = stream.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let scan_start =
            sos + 2 + usize::from(u16::from_be_bytes([stream[sos + 2], stream[sos + 3]]));
        for cut in 0..stream.len() {
            let result = decode_jpeg(&stream[..cut], None, JpegColor::YCbCr, 16, 8, 3);
            if cut < scan_start {
                assert!(result.is_err(), "cut at {cut}");
            }
        }
        for position in 0..stream.len() {
            for value in [0x00, 0xFF, 0x7F, 0xC2, 0x10] {
                let mut corrupt = stream.clone();
                corrupt[position] = value;
                for color in [JpegColor::YCbCr, JpegColor::Rgb] {
                    if let Ok(pixels) = decode_jpeg(&corrupt, None, color, 16, 8, 3) {
                        assert_eq!(pixels.len(), 16 * 8 * 3);
                    }
                }
            }
        }
    }

    // ---- WEBP ----

    /// A lossless WEBP image of one colour, with trivial (zero-bit) prefix codes.
    fn webp_flat(
        width: u32,
        height: u32,
        alpha_used: bool,
        [r, g, b, a]: [u8; 4],
    ) -> Vec<u8> {
        let mut bits = BitWriter::default();
        bits.lsb(0x2F, 8);
        bits.lsb(width - 1, 14);
        bits.lsb(height - 1, 14);
        bits.lsb(u32::from(alpha_used), 1);
        bits.lsb(0, 3); // version
        bits.lsb(0, 1); // no transform
        bits.lsb(0, 1); // no colour cache
        bits.lsb(0, 1); // no meta prefix codes
        for symbol in [g, r, b, a, 0] {
            bits.lsb(1, 1); // simple code
            bits.lsb(0, 1); // one symbol
            bits.lsb(1, 1); // of 8 bits
            bits.lsb(u32::from(symbol), 8);
        }
        let mut chunk = bits.finish(false);
        chunk.extend([0; 4]);
        if chunk.len() % 2 == 1 {
            chunk.push(0);
        }
        let mut out = b"RIFF".to_vec();
        out.extend(((chunk.len() + 12) as u32).to_le_bytes());
        out.extend(b"WEBPVP8L");
        out.extend((chunk.len() as u32).to_le_bytes());
        out.extend(chunk);
        out
    }

    #[test]
    fn webp_flat_images() {
        let rgba = webp_flat(5, 3, true, [10, 20, 30, 40]);
        assert_eq!(
            decode_webp(&rgba, 5, 3, 4).unwrap(),
            [10, 20, 30, 40].repeat(15)
        );
        assert_eq!(
            decode_webp(&rgba, 5, 3, 3).unwrap(),
            [10, 20, 30].repeat(15)
        );
        let rgb = webp_flat(5, 3, false, [10, 20, 30, 255]);
        assert_eq!(decode_webp(&rgb, 5, 3, 3).unwrap(), [10, 20, 30].repeat(15));
        assert_eq!(
            decode_webp(&rgb, 5, 3, 4).unwrap(),
            [10, 20, 30, 255].repeat(15)
        );
        // A short strip is padded.
        let mut padded = [10, 20, 30].repeat(15);
        padded.resize(5 * 4 * 3, 0);
        assert_eq!(decode_webp(&rgb, 5, 4, 3).unwrap(), padded);
    }

    #[test]
    fn webp_errors() {
        let image = webp_flat(16, 16, false, [1, 2, 3, 255]);
        for (width, height) in [(8, 8), (16, 8), (8, 16), (17, 16)] {
            let message = malformed(decode_webp(&image, width, height, 3));
            assert!(message.contains("16x16"), "{message}");
        }
        let huge = webp_flat(16384, 16384, false, [1, 2, 3, 255]);
        assert!(matches!(
            decode_webp(&huge, 256, 256, 3),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            decode_webp(&image, 16, 16, 1),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            decode_webp(&image, 0, 16, 3),
            Err(Error::Misuse(_))
        ));
        assert!(decode_webp(&[], 16, 16, 3).is_err());
        assert!(decode_webp(b"RIFF\x04\0\0\0WEBP", 16, 16, 3).is_err());
        for seed in 0..50 {
            assert!(decode_webp(&noise(100, seed), 16, 16, 3).is_err());
        }
        for cut in 0..image.len() {
            let _ = decode_webp(&image[..cut], 16, 16, 3);
        }
        for position in 0..image.len() {
            for value in [0x00, 0xFF, 0x80, 0x01] {
                let mut corrupt = image.clone();
                corrupt[position] = value;
                for samples in [3, 4] {
                    if let Ok(pixels) = decode_webp(&corrupt, 16, 16, samples) {
                        assert_eq!(pixels.len(), 16 * 16 * samples);
                    }
                }
            }
        }
    }
}
