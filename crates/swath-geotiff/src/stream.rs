//! Writing a COG whose full-resolution tiles arrive one at a time, in any order, with
//! memory bounded by two tile rows: tiles are encoded into a spill file as they come
//! (with their raw samples in a second one); `finish` builds each overview from the
//! level above two tile rows at a time, then writes the header, the IFDs and the tile
//! data in the COG order. The bytes equal [`crate::write_cog`]'s for the same raster.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use crate::error::{Result, misuse};
use crate::raster::{DataType, PixelData, Raster};
use crate::writer::{
    CogMetadata, CogOptions, LevelShape, Plan, check_options, downsample, encode_level,
    layout,
};

/// Where a run of bytes sits in a spill file.
#[derive(Debug, Clone, Copy)]
struct Span {
    at: u64,
    len: u64,
}

/// An append-only scratch file.
struct Spill {
    file: File,
    len: u64,
}

impl Spill {
    fn push(&mut self, bytes: &[u8]) -> Result<Span> {
        self.file.seek(SeekFrom::Start(self.len)).map_err(io)?;
        self.file.write_all(bytes).map_err(io)?;
        let span = Span {
            at: self.len,
            len: bytes.len() as u64,
        };
        self.len += span.len;
        Ok(span)
    }

    fn read(&mut self, span: Span) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; span.len as usize];
        self.file.seek(SeekFrom::Start(span.at)).map_err(io)?;
        self.file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }
}

fn io(e: std::io::Error) -> crate::Error {
    misuse!("spill file: {e}")
}

/// The most full-resolution tiles a streamed COG may have (its tile index is held in
/// memory: 16 bytes a tile).
pub const MAX_TILES: usize = 1 << 24;

/// A COG written tile by tile. See the module documentation.
pub struct StreamingCog {
    width: usize,
    height: usize,
    bands: usize,
    dtype: DataType,
    meta: CogMetadata,
    options: CogOptions,
    predictor: u16,
    encoded: Spill,
    raw: Spill,
    /// Full resolution: per tile (row-major) its raw samples.
    raw_tiles: Vec<Option<Span>>,
    /// Per level, per tile (plane, row, column order) its encoded bytes.
    tiles: Vec<Vec<Option<Span>>>,
}

impl StreamingCog {
    /// A writer of a `width × height × bands` COG of `dtype` samples; `encoded` and
    /// `raw` are empty scratch files (e.g. `tempfile::tempfile()`).
    pub fn new(
        (width, height, bands): (usize, usize, usize),
        dtype: DataType,
        meta: CogMetadata,
        options: CogOptions,
        (encoded, raw): (File, File),
    ) -> Result<StreamingCog> {
        let predictor = check_options(&options, dtype)?;
        if width == 0 || height == 0 || bands == 0 {
            return Err(misuse!("cannot write an empty raster"));
        }
        if width > u32::MAX as usize || height > u32::MAX as usize || bands > 4096 {
            return Err(misuse!(
                "raster {width}×{height}×{bands} is too large for a COG"
            ));
        }
        let bs = options.block_size as usize;
        let count = width.div_ceil(bs) * height.div_ceil(bs);
        if count > MAX_TILES {
            return Err(misuse!(
                "a {width}×{height} COG in {bs}-pixel tiles has {count} tiles, more than {MAX_TILES}"
            ));
        }
        let planes = if options.band_interleaved { bands } else { 1 };
        Ok(StreamingCog {
            width,
            height,
            bands,
            dtype,
            meta,
            options,
            predictor,
            encoded: Spill {
                file: encoded,
                len: 0,
            },
            raw: Spill { file: raw, len: 0 },
            raw_tiles: vec![None; count],
            tiles: vec![vec![None; count * planes]],
        })
    }

    fn block(&self) -> usize {
        self.options.block_size as usize
    }

    /// Tiles across and down at full resolution.
    pub fn tiles_across_down(&self) -> (usize, usize) {
        let bs = self.block();
        (self.width.div_ceil(bs), self.height.div_ceil(bs))
    }

    /// Write full-resolution tile `(tx, ty)`: a `block × block × bands` raster
    /// (band-major; pixels beyond the image edge are ignored). Writing a tile again
    /// replaces it.
    pub fn write_tile(&mut self, tx: usize, ty: usize, tile: &Raster) -> Result<()> {
        let bs = self.block();
        let (across, down) = self.tiles_across_down();
        if tx >= across || ty >= down {
            return Err(misuse!(
                "tile ({tx}, {ty}) is outside the {across}×{down} tiles"
            ));
        }
        if (tile.width, tile.height, tile.bands) != (bs, bs, self.bands) {
            return Err(misuse!(
                "tile is {}×{}×{}, expected {bs}×{bs}×{}",
                tile.width,
                tile.height,
                tile.bands,
                self.bands
            ));
        }
        if tile.dtype() != self.dtype {
            return Err(misuse!(
                "tile of {} samples, expected {}",
                tile.dtype(),
                self.dtype
            ));
        }
        self.encode_full_res(tx, ty, tile)?;
        let raw = self.raw.push(&tile.data.to_le_bytes())?;
        self.raw_tiles[ty * across + tx] = Some(raw);
        Ok(())
    }

    /// Encode a full-resolution tile, zeroing what lies beyond the image edge (as
    /// the in-memory writer pads edge tiles).
    fn encode_full_res(&mut self, tx: usize, ty: usize, tile: &Raster) -> Result<()> {
        let bs = self.block();
        let (across, down) = self.tiles_across_down();
        let (cols, rows) = (bs.min(self.width - tx * bs), bs.min(self.height - ty * bs));
        let padded;
        let tile = if cols < bs || rows < bs {
            let size = self.dtype.size();
            let mut bytes = tile.data.to_le_bytes();
            for band in 0..self.bands {
                for r in 0..bs {
                    let row = &mut bytes
                        [(band * bs + r) * bs * size..(band * bs + r + 1) * bs * size];
                    if r >= rows {
                        row.fill(0);
                    } else {
                        row[cols * size..].fill(0);
                    }
                }
            }
            padded = Raster::new(
                bs,
                bs,
                self.bands,
                PixelData::from_le_bytes(self.dtype, &bytes)?,
            )?;
            &padded
        } else {
            tile
        };
        let level = encode_level(tile, bs, self.predictor, &self.options)?;
        for (plane, bytes) in level.tiles.iter().enumerate() {
            let span = self.encoded.push(bytes)?;
            self.tiles[0][plane * across * down + ty * across + tx] = Some(span);
        }
        Ok(())
    }

    fn fill(&self) -> f64 {
        self.meta.nodata.unwrap_or(0.0)
    }

    /// Rows `[y0, y1)` of full resolution as a raster, tiles not written as nodata.
    fn full_res_rows(&mut self, y0: usize, y1: usize) -> Result<Raster> {
        let bs = self.block();
        let (across, _) = self.tiles_across_down();
        let (w, h, bands) = (self.width, y1 - y0, self.bands);
        let mut strip =
            PixelData::filled(self.dtype, w * h * bands, self.fill()).to_le_bytes();
        let size = self.dtype.size();
        for ty in y0 / bs..y1.div_ceil(bs) {
            for tx in 0..across {
                let Some(span) = self.raw_tiles[ty * across + tx] else {
                    continue;
                };
                let tile = self.raw.read(span)?;
                for band in 0..bands {
                    for r in 0..bs {
                        let y = ty * bs + r;
                        if y < y0 || y >= y1 {
                            continue;
                        }
                        let cols = bs.min(w - tx * bs);
                        let src = ((band * bs + r) * bs) * size;
                        let dst = ((band * h + (y - y0)) * w + tx * bs) * size;
                        strip[dst..dst + cols * size]
                            .copy_from_slice(&tile[src..src + cols * size]);
                    }
                }
            }
        }
        Raster::new(w, h, bands, PixelData::from_le_bytes(self.dtype, &strip)?)
    }

    /// Finish: write the whole COG to `out`; returns the bytes written.
    pub fn finish(mut self, out: &mut impl Write) -> Result<u64> {
        let bs = self.block();
        let (across, down) = self.tiles_across_down();
        // Tiles never written: nodata.
        let blank = Raster::new(
            bs,
            bs,
            self.bands,
            PixelData::filled(self.dtype, bs * bs * self.bands, self.fill()),
        )?;
        for ty in 0..down {
            for tx in 0..across {
                if self.raw_tiles[ty * across + tx].is_none() {
                    self.encode_full_res(tx, ty, &blank)?;
                }
            }
        }
        // Overviews, each from the level above, two tile rows at a time. Level k's
        // raster rows come from full resolution (k = 0) or from the raw strips kept for
        // the previous overview.
        let mut shapes = vec![(self.width, self.height)];
        let mut strips: Vec<Span> = Vec::new(); // raw rows of the last overview, per tile row
        loop {
            let (w, h) = shapes[shapes.len() - 1];
            let more = match self.options.overviews {
                Some(n) => shapes.len() <= n,
                None => w.max(h) > bs,
            };
            if !more || w.max(h) <= 1 {
                break;
            }
            let (nw, nh) = (w.div_ceil(2), h.div_ceil(2));
            let (n_across, n_down) = (nw.div_ceil(bs), nh.div_ceil(bs));
            let planes = if self.options.band_interleaved {
                self.bands
            } else {
                1
            };
            let mut level_tiles = vec![None; n_across * n_down * planes];
            let mut next_strips = Vec::with_capacity(n_down);
            for ty in 0..n_down {
                let (y0, y1) = (2 * bs * ty, (2 * bs * (ty + 1)).min(h));
                let rows = if shapes.len() == 1 {
                    self.full_res_rows(y0, y1)?
                } else {
                    // the previous overview's strips of bs rows: two make these rows
                    let mut data: Vec<u8> = Vec::new();
                    let mut height = 0;
                    for s in [2 * ty, 2 * ty + 1] {
                        if let Some(span) = strips.get(s).copied() {
                            let bytes = self.raw.read(span)?;
                            let r = Raster::new(
                                w,
                                bytes.len() / (w * self.bands * self.dtype.size()),
                                self.bands,
                                PixelData::from_le_bytes(self.dtype, &bytes)?,
                            )?;
                            data = stack_rows(&data, height, &r, self.dtype)?;
                            height += r.height;
                        }
                    }
                    Raster::new(
                        w,
                        height,
                        self.bands,
                        PixelData::from_le_bytes(self.dtype, &data)?,
                    )?
                };
                let half = downsample(&rows, self.options.resampling, self.meta.nodata)?;
                let encoded = encode_level(&half, bs, self.predictor, &self.options)?;
                // encode_level numbers this strip's tiles plane-major: plane, column
                for (j, bytes) in encoded.tiles.iter().enumerate() {
                    let (plane, tx) = (j / n_across, j % n_across);
                    let span = self.encoded.push(bytes)?;
                    level_tiles[plane * n_across * n_down + ty * n_across + tx] =
                        Some(span);
                }
                next_strips.push(self.raw.push(&half.data.to_le_bytes())?);
            }
            self.tiles.push(level_tiles);
            strips = next_strips;
            shapes.push((nw, nh));
        }
        let level_shapes: Vec<LevelShape> = shapes
            .iter()
            .zip(&self.tiles)
            .map(|(&(w, h), tiles)| LevelShape {
                width: w as u64,
                height: h as u64,
                counts: tiles.iter().map(|t| t.map_or(0, |s| s.len)).collect(),
            })
            .collect();
        let data_bytes: u64 = level_shapes.iter().flat_map(|l| &l.counts).sum();
        let bigtiff = self
            .options
            .bigtiff
            .unwrap_or(data_bytes > (4u64 << 30) - (64 << 20));
        let plan = Plan {
            dtype: self.dtype,
            bands: self.bands,
            meta: &self.meta,
            options: &self.options,
            predictor: self.predictor,
            bigtiff,
        };
        let (head, _) = layout(&level_shapes, &plan)?;
        out.write_all(&head).map_err(io)?;
        let mut written = head.len() as u64;
        for level in self.tiles.iter().rev() {
            for span in level.iter().flatten() {
                let bytes = self.encoded.read(*span)?;
                out.write_all(&bytes).map_err(io)?;
                written += bytes.len() as u64;
            }
        }
        out.flush().map_err(io)?;
        Ok(written)
    }
}

/// Band-major rows `top` (of `height` rows) followed by the rows of `r`, as bytes.
fn stack_rows(top: &[u8], height: usize, r: &Raster, dtype: DataType) -> Result<Vec<u8>> {
    if height == 0 {
        return Ok(r.data.to_le_bytes());
    }
    let size = dtype.size();
    let band_top = height * r.width * size;
    let band_bottom = r.height * r.width * size;
    let bottom = r.data.to_le_bytes();
    let mut out = Vec::with_capacity(top.len() + bottom.len());
    for band in 0..r.bands {
        out.extend_from_slice(&top[band * band_top..(band + 1) * band_top]);
        out.extend_from_slice(&bottom[band * band_bottom..(band + 1) * band_bottom]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_cog;

    fn raster(w: usize, h: usize, bands: usize) -> Raster {
        let v: Vec<u16> = (0..w * h * bands)
            .map(|i| ((i * 7919) % 5000) as u16 + if i % 13 == 0 { 0 } else { 1 })
            .collect();
        Raster::new(w, h, bands, PixelData::U16(v)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn tile_of(r: &Raster, tx: usize, ty: usize, bs: usize, fill: u16) -> Raster {
        let mut v = vec![fill; bs * bs * r.bands];
        for band in 0..r.bands {
            for row in 0..bs {
                for col in 0..bs {
                    let (x, y) = (tx * bs + col, ty * bs + row);
                    if x < r.width && y < r.height {
                        let g = r.get(band, y, x).unwrap_or(0.0) as u16;
                        v[(band * bs + row) * bs + col] = g;
                    }
                }
            }
        }
        Raster::new(bs, bs, r.bands, PixelData::U16(v)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn streamed_cog_equals_the_in_memory_writer() {
        for (w, h, bands, interleaved, resampling) in [
            (100, 70, 2, false, crate::Resampling::Nearest),
            (130, 129, 3, true, crate::Resampling::Average),
            (16, 16, 1, false, crate::Resampling::Nearest),
        ] {
            let r = raster(w, h, bands);
            let meta = CogMetadata {
                epsg: Some(32633),
                transform: Some([10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0]),
                nodata: Some(0.0),
                ..CogMetadata::default()
            };
            let options = CogOptions {
                block_size: 16,
                band_interleaved: interleaved,
                resampling,
                ..CogOptions::default()
            };
            let want = write_cog(&r, &meta, &options).unwrap_or_else(|e| panic!("{e}"));
            let spill = || tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
            let mut s = StreamingCog::new(
                (w, h, bands),
                DataType::U16,
                meta.clone(),
                options.clone(),
                (spill(), spill()),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let (across, down) = s.tiles_across_down();
            // tiles in a scrambled order
            let mut order: Vec<(usize, usize)> = (0..down)
                .flat_map(|y| (0..across).map(move |x| (x, y)))
                .collect();
            order.sort_by_key(|(x, y)| (x * 7 + y * 3) % 5);
            for (tx, ty) in order {
                s.write_tile(tx, ty, &tile_of(&r, tx, ty, 16, 0))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let mut got = Vec::new();
            s.finish(&mut got).unwrap_or_else(|e| panic!("{e}"));
            assert!(got == want, "{w}×{h}×{bands}: streamed bytes differ");
        }
    }

    #[test]
    fn missing_tiles_are_nodata_and_bad_tiles_are_refused() {
        let spill = || tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        let meta = CogMetadata {
            nodata: Some(0.0),
            ..CogMetadata::default()
        };
        let options = CogOptions {
            block_size: 16,
            ..CogOptions::default()
        };
        let mut s = StreamingCog::new(
            (40, 20, 1),
            DataType::U16,
            meta.clone(),
            options.clone(),
            (spill(), spill()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            s.write_tile(3, 0, &tile_of(&raster(16, 16, 1), 0, 0, 16, 0))
                .is_err()
        );
        assert!(
            s.write_tile(0, 0, &tile_of(&raster(16, 16, 2), 0, 0, 16, 0))
                .is_err()
        );
        let full = raster(40, 20, 1);
        s.write_tile(1, 1, &tile_of(&full, 1, 1, 16, 0))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut got = Vec::new();
        s.finish(&mut got).unwrap_or_else(|e| panic!("{e}"));
        // the same as the in-memory writer on a raster that is nodata but for that tile
        let mut v = vec![0u16; 40 * 20];
        for y in 16..20 {
            for x in 16..32 {
                v[y * 40 + x] = full.get(0, y, x).unwrap_or(0.0) as u16;
            }
        }
        let r =
            Raster::new(40, 20, 1, PixelData::U16(v)).unwrap_or_else(|e| panic!("{e}"));
        let want = write_cog(&r, &meta, &options).unwrap_or_else(|e| panic!("{e}"));
        assert!(got == want);
    }
}
