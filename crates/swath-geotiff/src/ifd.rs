//! The TIFF container: header, the IFD chain and tag values.
//!
//! Reading is bounded: the IFD chain is followed at most [`Limits::max_ifds`] times and
//! never revisits an offset, every tag value must lie inside the file and below
//! [`Limits::max_tag_bytes`], and only the tags this crate uses are fetched.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use bytes::Bytes;

use crate::error::{Result, check_limit, malformed, unsupported};
use crate::limits::Limits;
use crate::source::RangeReader;

/// Tag numbers this crate reads or writes.
#[expect(missing_docs, reason = "the names are the TIFF and GeoTIFF tag names")]
pub mod tag {
    pub const NEW_SUBFILE_TYPE: u16 = 254;
    pub const IMAGE_WIDTH: u16 = 256;
    pub const IMAGE_LENGTH: u16 = 257;
    pub const BITS_PER_SAMPLE: u16 = 258;
    pub const COMPRESSION: u16 = 259;
    pub const PHOTOMETRIC: u16 = 262;
    pub const FILL_ORDER: u16 = 266;
    pub const STRIP_OFFSETS: u16 = 273;
    pub const SAMPLES_PER_PIXEL: u16 = 277;
    pub const ROWS_PER_STRIP: u16 = 278;
    pub const STRIP_BYTE_COUNTS: u16 = 279;
    pub const PLANAR_CONFIG: u16 = 284;
    pub const PREDICTOR: u16 = 317;
    pub const TILE_WIDTH: u16 = 322;
    pub const TILE_LENGTH: u16 = 323;
    pub const TILE_OFFSETS: u16 = 324;
    pub const TILE_BYTE_COUNTS: u16 = 325;
    pub const EXTRA_SAMPLES: u16 = 338;
    pub const SAMPLE_FORMAT: u16 = 339;
    pub const JPEG_TABLES: u16 = 347;
    pub const YCBCR_SUBSAMPLING: u16 = 530;
    pub const MODEL_PIXEL_SCALE: u16 = 33550;
    pub const MODEL_TIEPOINT: u16 = 33922;
    pub const MODEL_TRANSFORMATION: u16 = 34264;
    pub const GEO_KEY_DIRECTORY: u16 = 34735;
    pub const GEO_DOUBLE_PARAMS: u16 = 34736;
    pub const GEO_ASCII_PARAMS: u16 = 34737;
    pub const GDAL_METADATA: u16 = 42112;
    pub const GDAL_NODATA: u16 = 42113;
}

/// The tags whose values are loaded; others are skipped without being fetched.
const LOADED: &[u16] = &[
    tag::NEW_SUBFILE_TYPE,
    tag::IMAGE_WIDTH,
    tag::IMAGE_LENGTH,
    tag::BITS_PER_SAMPLE,
    tag::COMPRESSION,
    tag::PHOTOMETRIC,
    tag::FILL_ORDER,
    tag::STRIP_OFFSETS,
    tag::SAMPLES_PER_PIXEL,
    tag::ROWS_PER_STRIP,
    tag::STRIP_BYTE_COUNTS,
    tag::PLANAR_CONFIG,
    tag::PREDICTOR,
    tag::TILE_WIDTH,
    tag::TILE_LENGTH,
    tag::TILE_OFFSETS,
    tag::TILE_BYTE_COUNTS,
    tag::EXTRA_SAMPLES,
    tag::SAMPLE_FORMAT,
    tag::JPEG_TABLES,
    tag::YCBCR_SUBSAMPLING,
    tag::MODEL_PIXEL_SCALE,
    tag::MODEL_TIEPOINT,
    tag::MODEL_TRANSFORMATION,
    tag::GEO_KEY_DIRECTORY,
    tag::GEO_DOUBLE_PARAMS,
    tag::GEO_ASCII_PARAMS,
    tag::GDAL_METADATA,
    tag::GDAL_NODATA,
];

/// Byte order and flavour of a TIFF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Motorola (big-endian) byte order.
    pub big_endian: bool,
    /// BigTIFF (64-bit offsets).
    pub bigtiff: bool,
    /// Offset of the first IFD.
    pub first_ifd: u64,
}

/// A decoded tag value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// BYTE, SHORT, LONG, LONG8, IFD, IFD8.
    Unsigned(Vec<u64>),
    /// SBYTE, SSHORT, SLONG, SLONG8.
    Signed(Vec<i64>),
    /// FLOAT, DOUBLE, RATIONAL, SRATIONAL.
    Float(Vec<f64>),
    /// ASCII, without the trailing NULs.
    Ascii(String),
    /// UNDEFINED.
    Bytes(Bytes),
}

/// The loaded tags of one IFD.
#[derive(Debug, Clone, Default)]
pub struct Tags {
    /// File offset of the IFD.
    pub offset: u64,
    values: BTreeMap<u16, Value>,
}

impl Tags {
    /// The raw value of a tag.
    pub fn get(&self, tag: u16) -> Option<&Value> {
        self.values.get(&tag)
    }

    /// An unsigned integer array tag.
    pub fn unsigned(&self, tag: u16) -> Result<Option<&[u64]>> {
        match self.values.get(&tag) {
            None => Ok(None),
            Some(Value::Unsigned(v)) => Ok(Some(v)),
            Some(other) => Err(malformed!(
                "tag {tag} should be unsigned, found {}",
                kind(other)
            )),
        }
    }

    /// The first value of an unsigned integer tag.
    pub fn scalar(&self, tag: u16) -> Result<Option<u64>> {
        match self.unsigned(tag)? {
            None => Ok(None),
            Some([first, ..]) => Ok(Some(*first)),
            Some([]) => Err(malformed!("tag {tag} has no value")),
        }
    }

    /// A floating-point (or integer) array tag as doubles.
    pub fn floats(&self, tag: u16) -> Result<Option<Vec<f64>>> {
        match self.values.get(&tag) {
            None => Ok(None),
            Some(Value::Float(v)) => Ok(Some(v.clone())),
            Some(Value::Unsigned(v)) => Ok(Some(v.iter().map(|&x| x as f64).collect())),
            Some(Value::Signed(v)) => Ok(Some(v.iter().map(|&x| x as f64).collect())),
            Some(other) => Err(malformed!(
                "tag {tag} should be numeric, found {}",
                kind(other)
            )),
        }
    }

    /// An ASCII tag.
    pub fn ascii(&self, tag: u16) -> Option<&str> {
        match self.values.get(&tag) {
            Some(Value::Ascii(s)) => Some(s),
            _ => None,
        }
    }

    /// A byte-string tag (UNDEFINED or BYTE).
    pub fn bytes(&self, tag: u16) -> Option<Bytes> {
        match self.values.get(&tag) {
            Some(Value::Bytes(b)) => Some(b.clone()),
            Some(Value::Unsigned(v)) => Some(v.iter().map(|&x| x as u8).collect()),
            _ => None,
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Unsigned(_) => "unsigned integers",
        Value::Signed(_) => "signed integers",
        Value::Float(_) => "floats",
        Value::Ascii(_) => "text",
        Value::Bytes(_) => "bytes",
    }
}

/// The parsed structure of a file: its header and the loaded tags of every IFD.
#[derive(Debug, Clone)]
pub struct Container {
    /// Byte order and flavour.
    pub header: Header,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// The IFDs in file order.
    pub ifds: Vec<Tags>,
    /// How many range requests reading the structure took (the prefix included).
    pub requests: usize,
    /// The bytes the structure was parsed from (header, IFDs, out-of-line values of
    /// the loaded tags), merged: enough to parse it again with no request.
    pub used: Vec<(u64, Bytes)>,
}

/// One IFD entry before its value is decoded.
struct Entry {
    tag: u16,
    typ: u16,
    count: u64,
    /// Where the value is: inline (inside the entry) or at an offset.
    at: u64,
    len: u64,
}

/// The bytes known so far: the prefix and any ranges fetched after it.
struct Known {
    chunks: Vec<(u64, Bytes)>,
}

impl Known {
    /// A copy of `r`, assembled from the chunks that hold it.
    fn copy(&self, r: Range<u64>) -> Option<Bytes> {
        let mut out = Vec::with_capacity(usize::try_from(r.end - r.start).ok()?);
        let mut pos = r.start;
        while pos < r.end {
            let (at, bytes) = self
                .chunks
                .iter()
                .find(|(at, b)| *at <= pos && pos < at + b.len() as u64)?;
            let from = usize::try_from(pos - at).ok()?;
            let take = usize::try_from(r.end - pos).ok()?.min(bytes.len() - from);
            out.extend_from_slice(&bytes[from..from + take]);
            pos += take as u64;
        }
        Some(out.into())
    }

    fn get(&self, start: u64, len: u64) -> Option<&[u8]> {
        let end = start.checked_add(len)?;
        self.chunks.iter().find_map(|(at, bytes)| {
            let stop = at + bytes.len() as u64;
            if start >= *at && end <= stop {
                let from = (start - at) as usize;
                bytes.get(from..from + len as usize)
            } else {
                None
            }
        })
    }
}

/// Little helpers for reading numbers in the file's byte order.
#[derive(Clone, Copy)]
struct Endian(bool);

impl Endian {
    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.0 {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.0 {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
    fn u64(self, b: &[u8]) -> u64 {
        let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
        if self.0 {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }
}

fn type_size(typ: u16) -> Option<u64> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return None,
    })
}

/// Parse the 8- or 16-byte header.
pub fn parse_header(b: &[u8]) -> Result<Header> {
    if b.len() < 8 {
        return Err(malformed!(
            "file is {} bytes, too short for a TIFF header",
            b.len()
        ));
    }
    let big_endian = match &b[..2] {
        b"II" => false,
        b"MM" => true,
        other => {
            return Err(malformed!("not a TIFF file (starts with {:02x?})", other));
        }
    };
    let e = Endian(big_endian);
    match e.u16(&b[2..4]) {
        42 => Ok(Header {
            big_endian,
            bigtiff: false,
            first_ifd: u64::from(e.u32(&b[4..8])),
        }),
        43 => {
            if b.len() < 16 {
                return Err(malformed!("BigTIFF header truncated"));
            }
            let (size, zero) = (e.u16(&b[4..6]), e.u16(&b[6..8]));
            if size != 8 || zero != 0 {
                return Err(malformed!(
                    "BigTIFF header has offset size {size}, expected 8"
                ));
            }
            Ok(Header {
                big_endian,
                bigtiff: true,
                first_ifd: e.u64(&b[8..16]),
            })
        }
        v => Err(malformed!("TIFF version is {v}, expected 42 or 43")),
    }
}

/// Read the header and every IFD of a file, fetching only what is needed.
pub async fn read_container(
    reader: &dyn RangeReader,
    limits: &Limits,
) -> Result<Container> {
    read_container_from(reader, limits, None).await
}

/// [`read_container`], starting from bytes already known (`seed`: the file size and
/// the [`Container::used`] bytes of an earlier read) instead of the prefix request;
/// anything the seed lacks is fetched.
pub async fn read_container_from(
    reader: &dyn RangeReader,
    limits: &Limits,
    seed: Option<(u64, Vec<(u64, Bytes)>)>,
) -> Result<Container> {
    let (chunks, file_size, mut requests) = match seed {
        Some((size, chunks)) => (chunks, size, 0),
        None => {
            let (prefix, size) = reader.prefix(limits.header_prefetch).await?;
            (vec![(0, prefix)], size, 1)
        }
    };
    let first = chunks
        .iter()
        .find(|(at, _)| *at == 0)
        .map(|(_, b)| b.clone())
        .unwrap_or_default();
    let header = parse_header(&first)?;
    let e = Endian(header.big_endian);
    let mut known = Known { chunks };
    let header_len = if header.bigtiff { 16 } else { 8 };
    let mut used: Vec<Range<u64>> = Vec::new();
    used.push(0..header_len);
    let (count_size, entry_size, offset_size) = if header.bigtiff {
        (8u64, 20u64, 8u64)
    } else {
        (2, 12, 4)
    };

    // Walk the chain; each IFD's entries must be in hand before the next offset is known.
    let mut seen = HashSet::new();
    // Every loaded value is decoded, a number to 8 bytes: bound the decoded size of all
    // of them, or entries of many IFDs pointing at one large value would decode it
    // thousands of times. Four times the per-tag limit leaves room for the block
    // offsets and byte counts of the largest image the limits allow, with overviews
    // and masks.
    let mut decoded_tag_bytes = 0u64;
    let mut raw_ifds: Vec<(u64, Vec<Entry>)> = Vec::new();
    let mut next = header.first_ifd;
    while next != 0 {
        if !seen.insert(next) {
            return Err(malformed!("IFD chain loops back to offset {next}"));
        }
        check_limit(
            "number of IFDs",
            raw_ifds.len() as u64 + 1,
            limits.max_ifds as u64,
        )?;
        if next
            .checked_add(count_size)
            .is_none_or(|end| end > file_size)
        {
            return Err(malformed!(
                "IFD offset {next} lies beyond the end of the file ({file_size} bytes)"
            ));
        }
        if known.get(next, count_size).is_none() {
            let want = limits.header_prefetch.min(file_size - next);
            let got = reader
                .ranges(std::iter::once(next..next + want).collect())
                .await?;
            requests += 1;
            known.chunks.extend(got.into_iter().map(|b| (next, b)));
        }
        let Some(count_bytes) = known.get(next, count_size) else {
            return Err(malformed!("IFD at {next} is truncated"));
        };
        let n = if header.bigtiff {
            e.u64(count_bytes)
        } else {
            u64::from(e.u16(count_bytes))
        };
        check_limit("entries in one IFD", n, limits.max_ifd_entries)?;
        let body = n * entry_size + offset_size;
        let body_start = next + count_size;
        if body_start
            .checked_add(body)
            .is_none_or(|end| end > file_size)
        {
            return Err(malformed!(
                "IFD at {next} with {n} entries runs past the end of the file"
            ));
        }
        if known.get(body_start, body).is_none() {
            let got = reader
                .ranges(std::iter::once(body_start..body_start + body).collect())
                .await?;
            requests += 1;
            known
                .chunks
                .extend(got.into_iter().map(|b| (body_start, b)));
        }
        let Some(body_bytes) = known.get(body_start, body) else {
            return Err(malformed!("IFD at {next} is truncated"));
        };
        used.push(next..body_start + body);
        let mut entries = Vec::new();
        for i in 0..n as usize {
            let raw = &body_bytes[i * entry_size as usize..(i + 1) * entry_size as usize];
            let tag = e.u16(&raw[0..2]);
            if !LOADED.contains(&tag) {
                continue;
            }
            let typ = e.u16(&raw[2..4]);
            let Some(size) = type_size(typ) else {
                return Err(malformed!(
                    "tag {tag} in IFD at {next} has unknown type {typ}"
                ));
            };
            let count = if header.bigtiff {
                e.u64(&raw[4..12])
            } else {
                u64::from(e.u32(&raw[4..8]))
            };
            let Some(len) = count.checked_mul(size) else {
                return Err(malformed!("tag {tag} declares {count} values"));
            };
            check_limit(&format!("size of tag {tag}"), len, limits.max_tag_bytes)?;
            let decoded = if matches!(typ, 2 | 7) {
                len
            } else {
                count.saturating_mul(8)
            };
            decoded_tag_bytes = decoded_tag_bytes.saturating_add(decoded);
            check_limit(
                "decoded size of all tag values",
                decoded_tag_bytes,
                limits.max_tag_bytes.saturating_mul(4),
            )?;
            let value_field =
                body_start + i as u64 * entry_size + if header.bigtiff { 12 } else { 8 };
            let at = if len <= offset_size {
                value_field
            } else {
                let raw_off = &raw[entry_size as usize - offset_size as usize..];
                let off = if header.bigtiff {
                    e.u64(raw_off)
                } else {
                    u64::from(e.u32(raw_off))
                };
                if off.checked_add(len).is_none_or(|end| end > file_size) {
                    return Err(malformed!(
                        "tag {tag} value ({len} bytes at offset {off}) runs past the end of the file ({file_size} bytes)"
                    ));
                }
                off
            };
            if len > 0 {
                used.push(at..at + len);
            }
            entries.push(Entry {
                tag,
                typ,
                count,
                at,
                len,
            });
        }
        let next_field = &body_bytes[(n * entry_size) as usize..];
        next = if header.bigtiff {
            e.u64(next_field)
        } else {
            u64::from(e.u32(next_field))
        };
        raw_ifds.push((body_start - count_size, entries));
    }
    if raw_ifds.is_empty() {
        return Err(malformed!("file has no image (first IFD offset is 0)"));
    }

    // Fetch every out-of-line value not yet in hand in one batch of merged ranges.
    let missing: Vec<Range<u64>> = raw_ifds
        .iter()
        .flat_map(|(_, entries)| entries.iter())
        .filter(|en| en.len > 0 && known.get(en.at, en.len).is_none())
        .map(|en| en.at..en.at + en.len)
        .collect();
    if !missing.is_empty() {
        let merged = coalesce(missing, limits.coalesce_gap, limits.max_request_bytes);
        let starts: Vec<u64> = merged.iter().map(|r| r.start).collect();
        let got = reader.ranges(merged).await?;
        requests += 1;
        known.chunks.extend(starts.into_iter().zip(got));
    }

    let mut ifds = Vec::with_capacity(raw_ifds.len());
    for (offset, entries) in raw_ifds {
        let mut values = BTreeMap::new();
        for en in entries {
            let Some(bytes) = known.get(en.at, en.len) else {
                return Err(malformed!("value of tag {} could not be read", en.tag));
            };
            values.insert(en.tag, decode_value(e, en.typ, en.count, bytes));
        }
        ifds.push(Tags { offset, values });
    }
    // Copies of the used bytes (a header is kilobytes; the prefix buffer is 64 KiB).
    let used = coalesce(used, 0, u64::MAX)
        .into_iter()
        .filter_map(|r| Some((r.start, known.copy(r)?)))
        .collect();
    Ok(Container {
        header,
        file_size,
        ifds,
        requests,
        used,
    })
}

fn decode_value(e: Endian, typ: u16, count: u64, b: &[u8]) -> Value {
    let n = count as usize;
    match typ {
        1 => Value::Unsigned(b.iter().map(|&x| u64::from(x)).collect()),
        2 => {
            let text = String::from_utf8_lossy(b);
            Value::Ascii(text.trim_end_matches('\0').to_string())
        }
        3 => Value::Unsigned(
            b.chunks_exact(2)
                .take(n)
                .map(|c| u64::from(e.u16(c)))
                .collect(),
        ),
        4 | 13 => Value::Unsigned(
            b.chunks_exact(4)
                .take(n)
                .map(|c| u64::from(e.u32(c)))
                .collect(),
        ),
        16 | 18 => Value::Unsigned(b.chunks_exact(8).take(n).map(|c| e.u64(c)).collect()),
        6 => Value::Signed(b.iter().map(|&x| i64::from(x as i8)).collect()),
        8 => Value::Signed(
            b.chunks_exact(2)
                .map(|c| i64::from(e.u16(c) as i16))
                .collect(),
        ),
        9 => Value::Signed(
            b.chunks_exact(4)
                .map(|c| i64::from(e.u32(c) as i32))
                .collect(),
        ),
        17 => Value::Signed(b.chunks_exact(8).map(|c| e.u64(c) as i64).collect()),
        11 => Value::Float(
            b.chunks_exact(4)
                .map(|c| f64::from(f32::from_bits(e.u32(c))))
                .collect(),
        ),
        12 => Value::Float(
            b.chunks_exact(8)
                .map(|c| f64::from_bits(e.u64(c)))
                .collect(),
        ),
        5 => Value::Float(
            b.chunks_exact(8)
                .map(|c| f64::from(e.u32(&c[..4])) / f64::from(e.u32(&c[4..])))
                .collect(),
        ),
        10 => Value::Float(
            b.chunks_exact(8)
                .map(|c| {
                    f64::from(e.u32(&c[..4]) as i32) / f64::from(e.u32(&c[4..]) as i32)
                })
                .collect(),
        ),
        _ => Value::Bytes(Bytes::copy_from_slice(b)),
    }
}

/// Merge ranges whose gap is at most `gap` bytes into requests of at most `max_len`
/// bytes (a single range longer than `max_len` stays whole). The result is sorted.
pub fn coalesce(mut ranges: Vec<Range<u64>>, gap: u64, max_len: u64) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last)
                if r.start <= last.end.saturating_add(gap)
                    && r.end.max(last.end) - last.start <= max_len =>
            {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

/// Reject files that need a feature before any pixel is read.
pub fn check_fill_order(tags: &Tags) -> Result<()> {
    match tags.scalar(tag::FILL_ORDER)? {
        None | Some(1) => Ok(()),
        Some(v) => Err(unsupported!("FillOrder {v} (bit-reversed bytes)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_merges_close_ranges_and_respects_max() {
        let merged = coalesce(vec![100..200, 0..10, 15..20, 1000..1100], 10, 1 << 20);
        assert_eq!(merged, vec![0..20, 100..200, 1000..1100]);
        let capped = coalesce(vec![0..60, 60..120, 120..180], 0, 100);
        assert_eq!(capped, vec![0..60, 60..120, 120..180]);
        let overlapping = coalesce(vec![0..50, 10..20, 40..70], 0, 1000);
        assert_eq!(overlapping, vec![0..70]);
    }

    #[test]
    fn header_kinds() {
        assert_eq!(
            parse_header(b"II*\0\x08\0\0\0").unwrap(),
            Header {
                big_endian: false,
                bigtiff: false,
                first_ifd: 8
            }
        );
        assert_eq!(
            parse_header(b"MM\0*\0\0\0\x08").unwrap(),
            Header {
                big_endian: true,
                bigtiff: false,
                first_ifd: 8
            }
        );
        let big = b"II+\0\x08\0\0\0\x10\0\0\0\0\0\0\0";
        assert_eq!(
            parse_header(big).unwrap(),
            Header {
                big_endian: false,
                bigtiff: true,
                first_ifd: 16
            }
        );
        assert!(matches!(
            parse_header(b"PK\x03\x04xxxx"),
            Err(crate::Error::Malformed(_))
        ));
        assert!(matches!(
            parse_header(b"II*"),
            Err(crate::Error::Malformed(_))
        ));
        assert!(matches!(
            parse_header(b"II\x2b\0\x04\0\0\0"),
            Err(crate::Error::Malformed(_))
        ));
    }
}
