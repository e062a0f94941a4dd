//! A file's header kept for later: the bytes its structure was parsed from, so a
//! later open (another process, via a persisted header index) parses it with no
//! request.

use bytes::Bytes;

use crate::error::{Result, malformed};

/// The header bytes of one file (byte order, IFDs, tile offsets and the other loaded
/// tags), its size, and the version (ETag) the store gave when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSnapshot {
    /// Size of the file in bytes.
    pub file_size: u64,
    /// The store's version of the file (an ETag), when it gave one.
    pub version: Option<String>,
    /// The used bytes, by offset, merged and sorted.
    pub chunks: Vec<(u64, Bytes)>,
}

const MAGIC: &[u8; 4] = b"SWH1";
/// The most chunks one snapshot holds.
const MAX_CHUNKS: usize = 1 << 16;
/// The most bytes one snapshot holds (tile offsets of the largest files fit).
const MAX_BYTES: usize = 256 << 20;

impl HeaderSnapshot {
    /// The header bytes in a compact binary form (the version is not included: an
    /// index stores it beside).
    pub fn encode(&self) -> Vec<u8> {
        let body: usize = self.chunks.iter().map(|(_, b)| 12 + b.len()).sum();
        let mut out = Vec::with_capacity(16 + body);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.file_size.to_le_bytes());
        out.extend_from_slice(&(self.chunks.len() as u32).to_le_bytes());
        for (at, bytes) in &self.chunks {
            out.extend_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Read [`HeaderSnapshot::encode`]'s form, checking every length and offset.
    pub fn decode(data: &[u8], version: Option<String>) -> Result<Self> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            let end = at.checked_add(n).filter(|&e| e <= data.len());
            let Some(end) = end else {
                return Err(malformed!("header snapshot is truncated"));
            };
            let s = &data[at..end];
            at = end;
            Ok(s)
        };
        if take(4)? != MAGIC {
            return Err(malformed!("not a header snapshot"));
        }
        let u64_at = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let u32_at = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or_default());
        let file_size = u64_at(take(8)?);
        let n = u32_at(take(4)?) as usize;
        if n == 0 || n > MAX_CHUNKS {
            return Err(malformed!("header snapshot holds {n} chunks"));
        }
        let mut chunks = Vec::with_capacity(n);
        let mut total = 0usize;
        let mut last_end = 0u64;
        for i in 0..n {
            let start = u64_at(take(8)?);
            let len = u32_at(take(4)?) as usize;
            total = total.saturating_add(len);
            let end = start.checked_add(len as u64);
            if total > MAX_BYTES
                || end.is_none_or(|e| e > file_size)
                || (i > 0 && start < last_end)
            {
                return Err(malformed!(
                    "header snapshot chunk {i} ({len} bytes at {start}) is out of order or \
                     outside the {file_size}-byte file"
                ));
            }
            last_end = start + len as u64;
            chunks.push((start, Bytes::copy_from_slice(take(len)?)));
        }
        if take(1).is_ok() {
            return Err(malformed!("header snapshot has trailing bytes"));
        }
        Ok(HeaderSnapshot {
            file_size,
            version,
            chunks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let s = HeaderSnapshot {
            file_size: 1000,
            version: Some("\"abc\"".into()),
            chunks: vec![
                (0, Bytes::from_static(b"II*\0")),
                (500, Bytes::from_static(b"xyz")),
            ],
        };
        let enc = s.encode();
        assert_eq!(HeaderSnapshot::decode(&enc, s.version.clone()).unwrap(), s);
        for cut in 0..enc.len() {
            assert!(
                HeaderSnapshot::decode(&enc[..cut], None).is_err(),
                "cut {cut}"
            );
        }
        let mut long = enc.clone();
        long.push(0);
        assert!(HeaderSnapshot::decode(&long, None).is_err());
        // A chunk past the end of the file.
        let bad = HeaderSnapshot {
            file_size: 10,
            ..s.clone()
        };
        assert!(HeaderSnapshot::decode(&bad.encode(), None).is_err());
        // Overlapping chunks.
        let overlap = HeaderSnapshot {
            chunks: vec![
                (0, Bytes::from_static(b"abcd")),
                (2, Bytes::from_static(b"x")),
            ],
            ..s
        };
        assert!(HeaderSnapshot::decode(&overlap.encode(), None).is_err());
    }
}
