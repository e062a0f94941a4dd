//! In-memory rasters: a data type and band-sequential pixel buffers.

use std::fmt;

use crate::error::{Result, misuse};

/// The pixel data types of GeoTIFF that Earth-observation data uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Unsigned 8-bit (also 1-bit masks, unpacked to 0/1).
    U8,
    /// Signed 8-bit.
    I8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit.
    U32,
    /// Signed 32-bit.
    I32,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl DataType {
    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            DataType::U8 | DataType::I8 => 1,
            DataType::U16 | DataType::I16 => 2,
            DataType::U32 | DataType::I32 | DataType::F32 => 4,
            DataType::F64 => 8,
        }
    }

    /// The numpy/rasterio name (`uint16`, `float32`, …).
    pub fn name(self) -> &'static str {
        match self {
            DataType::U8 => "uint8",
            DataType::I8 => "int8",
            DataType::U16 => "uint16",
            DataType::I16 => "int16",
            DataType::U32 => "uint32",
            DataType::I32 => "int32",
            DataType::F32 => "float32",
            DataType::F64 => "float64",
        }
    }

    /// Whether the type is floating point.
    pub fn is_float(self) -> bool {
        matches!(self, DataType::F32 | DataType::F64)
    }

    /// The TIFF SampleFormat value (1 unsigned, 2 signed, 3 float).
    pub fn sample_format(self) -> u16 {
        match self {
            DataType::U8 | DataType::U16 | DataType::U32 => 1,
            DataType::I8 | DataType::I16 | DataType::I32 => 2,
            DataType::F32 | DataType::F64 => 3,
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Pixels of one raster, band after band, row after row (`[band][row][col]`).
#[derive(Debug, Clone, PartialEq)]
#[expect(missing_docs, reason = "one variant per data type, named after it")]
pub enum PixelData {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Apply `$body` to the typed vector inside a [`PixelData`].
macro_rules! with_pixels {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            PixelData::U8($v) => $body,
            PixelData::I8($v) => $body,
            PixelData::U16($v) => $body,
            PixelData::I16($v) => $body,
            PixelData::U32($v) => $body,
            PixelData::I32($v) => $body,
            PixelData::F32($v) => $body,
            PixelData::F64($v) => $body,
        }
    };
}
#[expect(unused_imports, reason = "for the writer and kernels")]
pub(crate) use with_pixels;

impl PixelData {
    /// The data type of the samples.
    pub fn dtype(&self) -> DataType {
        match self {
            PixelData::U8(_) => DataType::U8,
            PixelData::I8(_) => DataType::I8,
            PixelData::U16(_) => DataType::U16,
            PixelData::I16(_) => DataType::I16,
            PixelData::U32(_) => DataType::U32,
            PixelData::I32(_) => DataType::I32,
            PixelData::F32(_) => DataType::F32,
            PixelData::F64(_) => DataType::F64,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        with_pixels!(self, v => v.len())
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `i` as a double (None when out of range).
    #[expect(clippy::unnecessary_cast, reason = "the f64 arm of the generic match")]
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        with_pixels!(self, v => v.get(i).map(|&x| x as f64))
    }

    /// Build from little-endian sample bytes (the length must be a multiple of the size).
    pub fn from_le_bytes(dtype: DataType, bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(dtype.size()) {
            return Err(misuse!(
                "{} bytes is not a whole number of {dtype} samples",
                bytes.len()
            ));
        }
        macro_rules! conv {
            ($t:ty, $n:literal) => {
                bytes
                    .chunks_exact($n)
                    .map(|c| {
                        let mut a = [0u8; $n];
                        a.copy_from_slice(c);
                        <$t>::from_le_bytes(a)
                    })
                    .collect()
            };
        }
        Ok(match dtype {
            DataType::U8 => PixelData::U8(bytes.to_vec()),
            DataType::I8 => PixelData::I8(bytes.iter().map(|&b| b as i8).collect()),
            DataType::U16 => PixelData::U16(conv!(u16, 2)),
            DataType::I16 => PixelData::I16(conv!(i16, 2)),
            DataType::U32 => PixelData::U32(conv!(u32, 4)),
            DataType::I32 => PixelData::I32(conv!(i32, 4)),
            DataType::F32 => PixelData::F32(conv!(f32, 4)),
            DataType::F64 => PixelData::F64(conv!(f64, 8)),
        })
    }

    /// The samples as little-endian bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        with_pixels!(self, v => v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    /// A buffer of `len` samples of `dtype`, all equal to `fill` (cast to the type).
    pub fn filled(dtype: DataType, len: usize, fill: f64) -> Self {
        match dtype {
            DataType::U8 => PixelData::U8(vec![fill as u8; len]),
            DataType::I8 => PixelData::I8(vec![fill as i8; len]),
            DataType::U16 => PixelData::U16(vec![fill as u16; len]),
            DataType::I16 => PixelData::I16(vec![fill as i16; len]),
            DataType::U32 => PixelData::U32(vec![fill as u32; len]),
            DataType::I32 => PixelData::I32(vec![fill as i32; len]),
            DataType::F32 => PixelData::F32(vec![fill as f32; len]),
            DataType::F64 => PixelData::F64(vec![fill; len]),
        }
    }
}

/// A block of pixels: `bands` planes of `height` rows of `width` samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bands (planes).
    pub bands: usize,
    /// The samples, `[band][row][col]`.
    pub data: PixelData,
}

impl Raster {
    /// A raster over `data`; fails if the buffer does not hold `bands × height × width` samples.
    pub fn new(
        width: usize,
        height: usize,
        bands: usize,
        data: PixelData,
    ) -> Result<Self> {
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(bands))
            .ok_or_else(|| misuse!("raster {width}×{height}×{bands} is too large"))?;
        if data.len() != expected {
            return Err(misuse!(
                "raster {width}×{height}×{bands} needs {expected} samples, got {}",
                data.len()
            ));
        }
        Ok(Raster {
            width,
            height,
            bands,
            data,
        })
    }

    /// The data type.
    pub fn dtype(&self) -> DataType {
        self.data.dtype()
    }

    /// Sample at `band`, `row`, `col` as a double.
    pub fn get(&self, band: usize, row: usize, col: usize) -> Option<f64> {
        if band >= self.bands || row >= self.height || col >= self.width {
            return None;
        }
        self.data
            .get_f64((band * self.height + row) * self.width + col)
    }
}

/// A rectangle of pixels: columns `x..x+width`, rows `y..y+height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// First column.
    pub x: u64,
    /// First row.
    pub y: u64,
    /// Columns.
    pub width: u64,
    /// Rows.
    pub height: u64,
}

impl Window {
    /// The window `x..x+width`, `y..y+height`.
    pub fn new(x: u64, y: u64, width: u64, height: u64) -> Self {
        Window {
            x,
            y,
            width,
            height,
        }
    }
}
