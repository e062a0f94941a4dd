//! RGBA images and their PNG encoding.
//!
//! The encoder is written here rather than taken from the `png` crate: that crate turns
//! on default features of `crc32fast` and `simd-adler32`, which the workspace builds
//! without, and a changed feature set rebuilds everything above them (DataFusion
//! included). DEFLATE and the CRC come from `flate2`, already a dependency.

use std::io::Write;

use flate2::Crc;
use flate2::write::ZlibEncoder;

use crate::error::{Result, check_range, invalid};

/// The largest width or height of an [`Image`] this crate makes.
pub const MAX_SIDE: u32 = 8192;

/// An RGBA8 image: `height` rows of `width` pixels, 4 bytes each, top row first,
/// alpha not premultiplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width × height × 4` bytes: R, G, B, A of each pixel, row-major.
    pub rgba: Vec<u8>,
}

impl Image {
    /// The pixel at column `x`, row `y` as `[r, g, b, a]` (None outside the image).
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.rgba.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// Encode as a PNG (8-bit RGBA, non-interlaced, adaptive per-row filters, zlib
    /// level 6).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        check_range("image width", u64::from(self.width), 1, u64::from(MAX_SIDE))?;
        check_range(
            "image height",
            u64::from(self.height),
            1,
            u64::from(MAX_SIDE),
        )?;
        let row = self.width as usize * 4;
        if self.rgba.len() != row * self.height as usize {
            return Err(invalid!(
                "a {}×{} RGBA image needs {} bytes, the buffer has {}",
                self.width,
                self.height,
                row * self.height as usize,
                self.rgba.len()
            ));
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend(self.width.to_be_bytes());
        ihdr.extend(self.height.to_be_bytes());
        // bit depth 8, colour type 6 (RGBA), deflate, adaptive filtering, no interlace
        ihdr.extend([8, 6, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);

        let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        let zero = vec![0u8; row];
        let mut filtered = vec![0u8; row + 1];
        for (y, cur) in self.rgba.chunks_exact(row).enumerate() {
            let prev = match y {
                0 => &zero[..],
                _ => &self.rgba[(y - 1) * row..y * row],
            };
            filter_row(cur, prev, &mut filtered);
            z.write_all(&filtered)?;
        }
        let data = z.finish()?;
        // IDAT chunks of at most 1 MiB, as most encoders write them.
        for part in data.chunks(1 << 20) {
            chunk(&mut out, b"IDAT", part);
        }
        chunk(&mut out, b"IEND", &[]);
        Ok(out)
    }
}

/// Append a PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Callers pass at most 1 MiB.
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(crc.sum().to_be_bytes());
}

/// Filter one row into `out` (filter byte first) with the PNG filter whose output has
/// the smallest sum of absolute values, read as signed bytes (the heuristic the PNG
/// specification recommends and libpng uses).
fn filter_row(cur: &[u8], prev: &[u8], out: &mut [u8]) {
    const BPP: usize = 4;
    let mut best = (u64::MAX, 0u8);
    let mut trial = vec![0u8; cur.len()];
    for kind in 0..=4u8 {
        for i in 0..cur.len() {
            let a = if i >= BPP { cur[i - BPP] } else { 0 };
            let b = prev[i];
            let c = if i >= BPP { prev[i - BPP] } else { 0 };
            let predicted = match kind {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                _ => paeth(a, b, c),
            };
            trial[i] = cur[i].wrapping_sub(predicted);
        }
        let cost: u64 = trial
            .iter()
            .map(|&v| u64::from((v as i8).unsigned_abs()))
            .sum();
        if cost < best.0 {
            best = (cost, kind);
            out[0] = kind;
            out[1..].copy_from_slice(&trial);
        }
    }
}

/// The Paeth predictor of the PNG specification.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let p = ia + ib - ic;
    let (pa, pb, pc) = ((p - ia).abs(), (p - ib).abs(), (p - ic).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paeth_follows_the_specification() {
        // p = a + b - c; the closest of a, b, c wins, ties in the order a, b, c.
        assert_eq!(paeth(10, 20, 15), 15); // p = 15: |p-c| = 0
        assert_eq!(paeth(10, 20, 10), 20); // p = 20: b
        assert_eq!(paeth(20, 10, 10), 20); // p = 20: a
        assert_eq!(paeth(5, 5, 5), 5);
    }

    #[test]
    fn wrong_buffer_length_is_an_error() {
        let img = Image {
            width: 2,
            height: 2,
            rgba: vec![0; 15],
        };
        assert!(img.to_png().is_err());
    }
}
