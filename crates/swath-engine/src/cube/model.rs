//! What a datacube table is once its catalogue is resolved: the grid, the bands,
//! the scenes (items) and the observations (scenes fused per solar day). Plain data,
//! serialisable, so the table and its scan travel through the codecs unchanged.

use serde::{Deserialize, Serialize};
use swath_geotiff::DataType;
use swath_grid::{Crs, Grid, PixelWindow};

use crate::options::TableOptions;

/// The table's grid and its chunking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableGrid {
    /// The CRS, as `EPSG:n` or a PROJ string.
    pub crs: String,
    /// Affine transform, rasterio order.
    pub transform: [f64; 6],
    /// Columns of the whole grid.
    pub width: u64,
    /// Rows of the whole grid.
    pub height: u64,
    /// Chunk width in pixels.
    pub chunk_width: u32,
    /// Chunk height in pixels.
    pub chunk_height: u32,
}

impl TableGrid {
    /// Chunks across.
    pub fn chunks_x(&self) -> u64 {
        self.width.div_ceil(u64::from(self.chunk_width))
    }

    /// Chunks down.
    pub fn chunks_y(&self) -> u64 {
        self.height.div_ceil(u64::from(self.chunk_height))
    }

    /// The pixel window of chunk (`cx`, `cy`) (may extend past the grid's edge).
    pub fn chunk_window(&self, cx: i32, cy: i32) -> PixelWindow {
        PixelWindow {
            col: i64::from(cx) * i64::from(self.chunk_width),
            row: i64::from(cy) * i64::from(self.chunk_height),
            width: u64::from(self.chunk_width),
            height: u64::from(self.chunk_height),
        }
    }

    /// Pixels in one chunk.
    pub fn chunk_pixels(&self) -> usize {
        self.chunk_width as usize * self.chunk_height as usize
    }

    /// The grid as the warper sees it.
    pub fn grid(&self) -> datafusion::common::Result<Grid> {
        let crs = Crs::parse(&self.crs).map_err(|e| {
            datafusion::common::DataFusionError::Plan(format!(
                "table CRS {}: {e}",
                self.crs
            ))
        })?;
        Ok(Grid {
            crs,
            transform: self.transform,
            width: self.width,
            height: self.height,
        })
    }

    /// Pixel size (x, y), positive.
    pub fn resolution(&self) -> (f64, f64) {
        let [a, b, _, d, e, _] = self.transform;
        (a.hypot(d), b.hypot(e))
    }
}

/// A band column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandDef {
    /// Column name.
    pub name: String,
    /// What was asked for (common name or asset key).
    pub requested: String,
    /// Sample type of the column.
    #[serde(with = "dtype_serde")]
    pub dtype: DataType,
    /// The column's nodata value (padding and missing pixels).
    pub nodata: f64,
    /// DN → physical scale, when the catalogue gives one.
    pub scale: Option<f64>,
    /// DN → physical offset, when the catalogue gives one.
    pub offset: Option<f64>,
}

/// The Arrow type of a promoted property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropKind {
    /// Float64.
    Float,
    /// Utf8.
    Text,
    /// Boolean.
    Bool,
}

/// A STAC property promoted to a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropDef {
    /// Column name.
    pub column: String,
    /// STAC property key.
    pub property: String,
    /// Arrow type.
    pub kind: PropKind,
}

/// Where one band of one scene is read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRef {
    /// The GeoTIFF's URL.
    pub href: String,
    /// 0-based band in the file.
    pub band_index: usize,
    /// The source CRS.
    pub crs: String,
    /// The source transform.
    pub transform: [f64; 6],
    /// Source columns.
    pub width: u64,
    /// Source rows.
    pub height: u64,
    /// The source nodata value, if any.
    pub nodata: Option<f64>,
    /// The catalogue gives no grid for the asset (no `proj:*`): `crs`,
    /// `transform`, `width` and `height` describe the item's lon/lat bbox (where
    /// the item is placed) and the asset's own grid is read from its header when
    /// a query reads its pixels.
    #[serde(default)]
    pub grid_from_header: bool,
}

impl AssetRef {
    /// The source grid as the warper sees it.
    pub fn grid(&self) -> Result<Grid, swath_grid::Error> {
        Ok(Grid {
            crs: Crs::parse(&self.crs)?,
            transform: self.transform,
            width: self.width,
            height: self.height,
        })
    }
}

/// One item placed on the table grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// The item id.
    pub item_id: String,
    /// The collection, if any.
    pub collection: Option<String>,
    /// Microseconds since the epoch (UTC).
    pub datetime: Option<i64>,
    /// Days since the epoch of the solar day.
    pub solar_day: Option<i32>,
    /// Promoted property values, in the table's property order.
    pub props: Vec<serde_json::Value>,
    /// The pixels of the table grid it may cover: `[col0, row0, col1, row1)`.
    pub window: [i64; 4],
    /// Per band column: where to read it (`None`: the item lacks the band).
    pub assets: Vec<Option<AssetRef>>,
}

/// One observation: the scenes fused into one row per chunk, first valid pixel wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Scenes (indices into [`CubeDef::scenes`]) in priority order.
    pub scenes: Vec<usize>,
    /// Union of the scenes' windows.
    pub window: [i64; 4],
}

/// A resolved datacube table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CubeDef {
    /// Where the catalogue (or the GeoTIFFs) came from.
    pub location: String,
    /// The options it was made with.
    pub options: TableOptions,
    /// The grid.
    pub grid: TableGrid,
    /// Band columns.
    pub bands: Vec<BandDef>,
    /// Promoted properties.
    pub props: Vec<PropDef>,
    /// All scenes, in time order.
    pub scenes: Vec<Scene>,
    /// All observations, in time order.
    pub observations: Vec<Observation>,
    /// Set for a table over a STAC API, whose items are searched when a query
    /// runs: the table itself holds no scenes, and each scan sends its filters
    /// to `POST /search` and places what comes back on the table's fixed grid.
    #[serde(default)]
    pub search: Option<ApiSearch>,
}

/// A STAC API table's search, and what one scan's search sent and found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiSearch {
    /// The search body a scan sent (without `limit`); `None` on the table.
    pub sent: Option<String>,
    /// API pages (and conformance documents) the scan's search read.
    pub documents: usize,
    /// Items the server returned.
    pub items_read: usize,
}

impl CubeDef {
    /// Whether scans search a STAC API for their items.
    pub fn searches_at_query_time(&self) -> bool {
        self.search.as_ref().is_some_and(|s| s.sent.is_none())
    }

    /// The first scene of an observation (whose metadata the row shows).
    pub fn head(&self, obs: &Observation) -> &Scene {
        &self.scenes[obs.scenes[0]]
    }

    /// Chunk index range `[cx0, cy0, cx1, cy1)` a pixel window touches, clipped to
    /// the grid.
    pub fn chunk_range(&self, window: [i64; 4]) -> [i32; 4] {
        let g = &self.grid;
        let cw = i64::from(g.chunk_width);
        let ch = i64::from(g.chunk_height);
        let clamp = |v: i64, hi: i64| v.clamp(0, hi) as i32;
        let nx = g.chunks_x() as i64;
        let ny = g.chunks_y() as i64;
        [
            clamp(window[0].div_euclid(cw), nx),
            clamp(window[1].div_euclid(ch), ny),
            clamp((window[2] + cw - 1).div_euclid(cw), nx),
            clamp((window[3] + ch - 1).div_euclid(ch), ny),
        ]
    }
}

mod dtype_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use swath_geotiff::DataType;

    pub fn serialize<S: Serializer>(d: &DataType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(d.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DataType, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_dtype(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown data type {s:?}")))
    }
}

/// A data type from its STAC `raster:bands` / our own name.
pub fn parse_dtype(name: &str) -> Option<DataType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "uint8" | "u8" => DataType::U8,
        "int8" | "i8" => DataType::I8,
        "uint16" | "u16" => DataType::U16,
        "int16" | "i16" => DataType::I16,
        "uint32" | "u32" => DataType::U32,
        "int32" | "i32" => DataType::I32,
        "float32" | "f32" => DataType::F32,
        "float64" | "f64" => DataType::F64,
        _ => return None,
    })
}
