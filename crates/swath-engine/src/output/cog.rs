//! `COPY (query) TO 'out.tif' STORED AS COG`: the chunk rows of a query (`chunk_x`,
//! `chunk_y`, one or more tile columns) become one georeferenced, multi-band
//! Cloud-Optimized GeoTIFF on the table's grid, one band per tile column (named after
//! it), covering the chunks the query returned. Written streaming: each batch's tiles
//! go to a spill file as they arrive, then `swath_geotiff::StreamingCog` builds the
//! file (overviews two tile rows at a time) and it is uploaded to the object store,
//! with its provenance as a STAC item beside it (`out.tif` → `out.json`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use super::output_factory;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType as ArrowType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    SchemaRef, UInt8Type, UInt16Type, UInt32Type,
};
use async_trait::async_trait;
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::datasource::physical_plan::FileSinkConfig;
use datafusion::datasource::sink::DataSink;
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use swath_geotiff::codec::Compression;
use swath_geotiff::{
    BandMetadata, CogMetadata, CogOptions, DataType, PixelData, Raster, Resampling,
    StreamingCog,
};
use swath_udfs::kernels::point::TileGrid;

use crate::output::provenance::{Inputs, RasterInfo, sibling_json, stac_item};
use crate::output::{OutputRoots, RasterOutput, destination};
use swath_udfs::tile::{TileMeta, Tiles, is_tile_type};

/// `STORED AS COG`, writing under `roots`.
#[derive(Debug, Default)]
pub struct CogFormatFactory {
    /// Where outputs may go.
    pub roots: OutputRoots,
}

output_factory!(CogFormatFactory, CogOutput);

/// The options of `COPY … STORED AS COG OPTIONS (…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CogWriteOptions {
    /// `compression`: deflate (default), zstd, lzw or none.
    pub compression: Compression,
    /// `level`: compression level (DEFLATE 1–9, ZSTD 1–22; default 6).
    pub level: i32,
    /// `overviews`: how many overview levels (default: halve until one tile).
    pub overviews: Option<usize>,
    /// `resampling`: overview resampling, nearest (default) or average.
    pub resampling: Resampling,
    /// `overwrite`: replace an existing file (default false).
    pub overwrite: bool,
}

impl Default for CogWriteOptions {
    fn default() -> Self {
        CogWriteOptions {
            compression: Compression::Deflate,
            level: 6,
            overviews: None,
            resampling: Resampling::Nearest,
            overwrite: false,
        }
    }
}

impl CogWriteOptions {
    /// Parse COPY options (keys with or without a `format.` prefix).
    pub fn parse(options: &HashMap<String, String>) -> Result<Self> {
        let mut out = CogWriteOptions::default();
        for (k, v) in options {
            let key = k.strip_prefix("format.").unwrap_or(k).to_ascii_lowercase();
            let value = v.trim().to_ascii_lowercase();
            match key.as_str() {
                "compression" => {
                    out.compression = match value.as_str() {
                        "deflate" => Compression::Deflate,
                        "zstd" => Compression::Zstd,
                        "lzw" => Compression::Lzw,
                        "none" => Compression::None,
                        _ => {
                            return plan_err!(
                                "COG option compression: expected deflate, zstd, lzw or none, got '{v}'"
                            );
                        }
                    }
                }
                "level" => {
                    out.level = value.parse().map_err(|_| {
                        DataFusionError::Plan(format!(
                            "COG option level: not a number: '{v}'"
                        ))
                    })?
                }
                "overviews" => {
                    out.overviews = Some(value.parse().map_err(|_| {
                        DataFusionError::Plan(format!(
                            "COG option overviews: not a number: '{v}'"
                        ))
                    })?)
                }
                "resampling" => {
                    out.resampling = match value.as_str() {
                        "nearest" => Resampling::Nearest,
                        "average" => Resampling::Average,
                        _ => {
                            return plan_err!(
                                "COG option resampling: expected nearest or average, got '{v}'"
                            );
                        }
                    }
                }
                "overwrite" => {
                    out.overwrite = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return plan_err!(
                                "COG option overwrite: expected true or false"
                            );
                        }
                    }
                }
                _ => {
                    return plan_err!(
                        "unknown COG option '{k}' (compression, level, overviews, resampling, overwrite)"
                    );
                }
            }
        }
        Ok(out)
    }
}

/// The COG output (writing only; read GeoTIFFs with `STORED AS GEOTIFF`).
#[derive(Debug, Default)]
pub struct CogOutput {
    options: CogWriteOptions,
}

impl RasterOutput for CogOutput {
    const NAME: &'static str = "COG";
    const EXT: &'static str = "tif";

    fn parse(options: &HashMap<String, String>) -> Result<Self> {
        Ok(CogOutput {
            options: CogWriteOptions::parse(options)?,
        })
    }

    fn sink(
        &self,
        input: &Arc<dyn ExecutionPlan>,
        conf: FileSinkConfig,
        inputs: Inputs,
    ) -> Result<Arc<dyn DataSink>> {
        Ok(Arc::new(CogSink {
            config: conf,
            options: self.options.clone(),
            mosaic: Mosaic::plan(&input.schema(), "COG output", true)?,
            inputs,
        }))
    }
}

/// What a query's schema says about the mosaic to write.
#[derive(Debug, Clone)]
pub(crate) struct Mosaic {
    pub(crate) chunk_x: usize,
    pub(crate) chunk_y: usize,
    /// Tile columns: index, name, description.
    pub(crate) bands: Vec<(usize, String, TileMeta)>,
    pub(crate) grid: TileGrid,
    /// EPSG code (COG output; 0 otherwise).
    pub(crate) epsg: u32,
    /// The one sample type of a COG (the first band's otherwise).
    pub(crate) dtype: DataType,
    /// The COG's nodata (the first band's).
    pub(crate) nodata: Option<f64>,
}

impl Mosaic {
    /// Check a query's schema for `what` ("COG output", "Zarr output"); a COG also
    /// needs one sample type, square chunks of a multiple of 16 and an EPSG CRS.
    pub(crate) fn plan(schema: &SchemaRef, what: &str, cog: bool) -> Result<Mosaic> {
        let need = format!(
            "{what} needs chunk rows: chunk_x, chunk_y and tile columns, \
             one row per chunk (e.g. GROUP BY chunk_x, chunk_y)"
        );
        let index = |name: &str| {
            schema
                .index_of(name)
                .ok()
                .filter(|i| schema.field(*i).data_type().is_integer())
        };
        let (Some(chunk_x), Some(chunk_y)) = (index("chunk_x"), index("chunk_y")) else {
            return plan_err!("{need}; chunk_x or chunk_y is missing");
        };
        let mut bands = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if is_tile_type(f.data_type()) {
                let meta = TileMeta::from_field(what, f.name(), f)?;
                bands.push((i, f.name().clone(), meta));
            }
        }
        let Some((_, first_name, first)) = bands.first().cloned() else {
            return plan_err!("{need}; there is no tile column");
        };
        for (_, name, m) in &bands[1..] {
            first.same_shape(what, &first_name, m, name)?;
            if cog && m.dtype != first.dtype {
                return plan_err!(
                    "COG output: tile columns of different pixel types ({first_name} is {}, {name} is {}); a COG has one sample type — cast, or use rs_scale",
                    first.dtype,
                    m.dtype
                );
            }
        }
        let Some(grid) = bands
            .iter()
            .find_map(|(_, _, m)| TileGrid::from_metadata(&m.extra))
        else {
            return plan_err!(
                "{what}: the tile columns carry no grid (swath:grid); select band columns of a datacube table or rs_* results of them"
            );
        };
        if (grid.chunk_width as usize, grid.chunk_height as usize)
            != (first.cols, first.rows)
        {
            return plan_err!(
                "{what}: tiles are {}×{} but the grid's chunks are {}×{}",
                first.rows,
                first.cols,
                grid.chunk_height,
                grid.chunk_width
            );
        }
        if cog
            && (grid.chunk_width != grid.chunk_height
                || grid.chunk_width % 16 != 0
                || grid.chunk_width > 4096)
        {
            return plan_err!(
                "COG output needs square chunks of a multiple of 16 pixels up to 4096 (the COG tiles), got {}×{}; set the table's chunk_size",
                grid.chunk_width,
                grid.chunk_height
            );
        }
        let epsg = grid
            .crs
            .strip_prefix("EPSG:")
            .and_then(|c| c.parse::<u32>().ok());
        let epsg = match (epsg, cog) {
            (Some(e), _) => e,
            (None, false) => 0,
            (None, true) => {
                return plan_err!(
                    "COG output needs an EPSG CRS, the grid's is {}",
                    grid.crs
                );
            }
        };
        let dtype = match first.dtype {
            ArrowType::UInt8 => DataType::U8,
            ArrowType::Int8 => DataType::I8,
            ArrowType::UInt16 => DataType::U16,
            ArrowType::Int16 => DataType::I16,
            ArrowType::UInt32 => DataType::U32,
            ArrowType::Int32 => DataType::I32,
            ArrowType::Float32 => DataType::F32,
            ArrowType::Float64 => DataType::F64,
            ref other => {
                return plan_err!("COG output: pixel type {other} is not supported");
            }
        };
        let nodata = first.nodata.or(dtype.is_float().then_some(f64::NAN));
        Ok(Mosaic {
            chunk_x,
            chunk_y,
            bands,
            grid,
            epsg,
            dtype,
            nodata,
        })
    }

    pub(crate) fn chunk_len(&self) -> usize {
        self.grid.chunk_width as usize * self.grid.chunk_height as usize
    }

    /// The `(chunk_x, chunk_y)` of every row of `batch`: an error names a row without
    /// them, or a chunk outside the table's grid (so later arithmetic on the indexes
    /// stays within the grid, whatever numbers a query computed).
    pub(crate) fn chunk_keys(
        &self,
        batch: &RecordBatch,
        what: &str,
    ) -> Result<Vec<(i64, i64)>> {
        let cx = arrow::compute::cast(batch.column(self.chunk_x), &ArrowType::Int64)?;
        let cy = arrow::compute::cast(batch.column(self.chunk_y), &ArrowType::Int64)?;
        let (cx, cy) = (
            cx.as_primitive::<arrow::datatypes::Int64Type>(),
            cy.as_primitive::<arrow::datatypes::Int64Type>(),
        );
        let nx = self.grid.width.div_ceil(u64::from(self.grid.chunk_width));
        let ny = self.grid.height.div_ceil(u64::from(self.grid.chunk_height));
        (0..batch.num_rows())
            .map(|row| {
                if cx.is_null(row) || cy.is_null(row) {
                    return exec_err!("{what}: a row without chunk_x / chunk_y");
                }
                let (x, y) = (cx.value(row), cy.value(row));
                let inside = |v: i64, n: u64| u64::try_from(v).is_ok_and(|v| v < n);
                if !inside(x, nx) || !inside(y, ny) {
                    return exec_err!(
                        "{what}: chunk ({x}, {y}) is outside the table's grid ({nx}×{ny} chunks)"
                    );
                }
                Ok((x, y))
            })
            .collect()
    }
}

/// Writes the mosaic. See the module documentation.
struct CogSink {
    config: FileSinkConfig,
    options: CogWriteOptions,
    mosaic: Mosaic,
    inputs: Inputs,
}

/// Where and how big the written mosaic is.
struct Written {
    transform: [f64; 6],
    shape: (u64, u64),
}

impl fmt::Debug for CogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CogSink")
            .field("path", &self.config.original_url)
            .finish()
    }
}

impl DisplayAs for CogSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bands: Vec<&str> = self.mosaic.bands.iter().map(|b| b.1.as_str()).collect();
        write!(
            f,
            "CogSink: path={}, bands=[{}], grid={} chunk={}",
            self.config.original_url,
            bands.join(", "),
            self.mosaic.grid.crs,
            self.mosaic.grid.chunk_width
        )
    }
}

fn io(e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("COG output: {e}"))
}

/// Chunks received so far: their raw tiles in a spill file.
struct Received {
    spill: File,
    len: u64,
    chunks: BTreeMap<(i64, i64), (u64, u64)>,
}

/// Feeds the running statement's live quicklook (the dashboard) from the chunk
/// rows a COG output receives: red, green and blue when the output has them,
/// else its first band.
struct LiveFeed {
    query: Arc<crate::monitor::Query>,
    /// Indexes into the mosaic's bands.
    bands: Vec<usize>,
}

impl LiveFeed {
    fn new(query: Arc<crate::monitor::Query>, m: &Mosaic) -> Option<LiveFeed> {
        if m.bands.is_empty() {
            return None;
        }
        let position = |c: &str| {
            m.bands
                .iter()
                .position(|(_, n, _)| n.eq_ignore_ascii_case(c))
        };
        let bands = ["red", "green", "blue"]
            .iter()
            .map(|c| position(c))
            .collect::<Option<Vec<usize>>>()
            .unwrap_or_else(|| vec![0]);
        query
            .start_quicklook(m.grid.width, m.grid.height, bands.len())
            .then_some(LiveFeed { query, bands })
    }

    fn feed(&self, m: &Mosaic, batch: &RecordBatch) {
        let Ok(keys) = m.chunk_keys(batch, "COG output") else {
            return;
        };
        let physical: Option<Vec<Vec<f32>>> = self
            .bands
            .iter()
            .map(|&b| {
                let (col, _, meta) = &m.bands[b];
                Tiles {
                    array: batch.column(*col).as_fixed_size_list(),
                    meta,
                }
                .physical()
                .ok()
            })
            .collect();
        let Some(physical) = physical else { return };
        let len = m.chunk_len();
        let (cw, ch) = (m.grid.chunk_width as usize, m.grid.chunk_height as usize);
        for (row, (cx, cy)) in keys.into_iter().enumerate() {
            let bands: Option<Vec<&[f32]>> = physical
                .iter()
                .map(|p| p.get(row * len..(row + 1) * len))
                .collect();
            if let Some(bands) = bands {
                self.query.quicklook_chunk(
                    cx * cw as i64,
                    cy * ch as i64,
                    cw,
                    ch,
                    &bands,
                );
            }
        }
    }
}

impl Received {
    fn add(&mut self, mosaic: &Mosaic, batch: &RecordBatch) -> Result<()> {
        let keys = mosaic.chunk_keys(batch, "COG output")?;
        let len = mosaic.chunk_len();
        let size = mosaic.dtype.size();
        let mut bytes = Vec::with_capacity(len * size * mosaic.bands.len());
        for (row, key) in keys.into_iter().enumerate() {
            if self.chunks.contains_key(&key) {
                return exec_err!(
                    "COG output: more than one row for chunk ({}, {}); reduce over time first (GROUP BY chunk_x, chunk_y)",
                    key.0,
                    key.1
                );
            }
            bytes.clear();
            for (col, _, meta) in &mosaic.bands {
                let list = batch.column(*col).as_fixed_size_list();
                let nodata = mosaic.nodata.unwrap_or(0.0);
                tile_bytes(list, row, len, meta, nodata, &mut bytes)?;
            }
            self.spill.seek(SeekFrom::Start(self.len)).map_err(io)?;
            self.spill.write_all(&bytes).map_err(io)?;
            self.chunks.insert(key, (self.len, bytes.len() as u64));
            self.len += bytes.len() as u64;
        }
        Ok(())
    }
}

/// The little-endian samples of row `row` of a tile column (nodata where the row or a
/// pixel is null), appended to `out`.
pub(crate) fn tile_bytes(
    list: &arrow::array::FixedSizeListArray,
    row: usize,
    len: usize,
    meta: &TileMeta,
    nodata: f64,
    out: &mut Vec<u8>,
) -> Result<()> {
    let values: ArrayRef = list.value(row);
    let null_row = list.is_null(row);
    macro_rules! put {
        ($t:ty) => {{
            let a = values.as_primitive::<$t>();
            let fill = arrow::compute::cast(
                &arrow::array::Float64Array::from(vec![nodata]),
                &meta.dtype,
            )?;
            let fill = fill.as_primitive::<$t>().value(0);
            for i in 0..len {
                let v = if null_row || a.is_null(i) {
                    fill
                } else {
                    a.value(i)
                };
                out.extend_from_slice(&v.to_le_bytes());
            }
        }};
    }
    match meta.dtype {
        ArrowType::UInt8 => put!(UInt8Type),
        ArrowType::Int8 => put!(Int8Type),
        ArrowType::UInt16 => put!(UInt16Type),
        ArrowType::Int16 => put!(Int16Type),
        ArrowType::UInt32 => put!(UInt32Type),
        ArrowType::Int32 => put!(Int32Type),
        ArrowType::Float32 => put!(Float32Type),
        ArrowType::Float64 => put!(Float64Type),
        ref other => return exec_err!("COG output: pixel type {other} is not supported"),
    }
    Ok(())
}

impl CogSink {
    /// Build the COG from the received chunks into a local file.
    fn build(&self, mut received: Received, out: &mut File) -> Result<Written> {
        let m = &self.mosaic;
        let (Some(&(x0, _)), Some(&(x1, _))) = (
            received.chunks.keys().min_by_key(|k| k.0),
            received.chunks.keys().max_by_key(|k| k.0),
        ) else {
            return exec_err!("COG output: the query returned no chunks");
        };
        let y0 = received.chunks.keys().map(|k| k.1).min().unwrap_or(0);
        let y1 = received.chunks.keys().map(|k| k.1).max().unwrap_or(0);
        let bs = m.grid.chunk_width as i64;
        let clip = |c1: i64, size: u64| ((c1 + 1) * bs).min(size as i64);
        let width = clip(x1, m.grid.width) - x0 * bs;
        let height = clip(y1, m.grid.height) - y0 * bs;
        if width <= 0 || height <= 0 {
            return exec_err!("COG output: the chunks lie outside the table's grid");
        }
        let t = m.grid.transform;
        let (ox, oy) = ((x0 * bs) as f64, (y0 * bs) as f64);
        let transform = [
            t[0],
            t[1],
            t[2] + t[0] * ox + t[1] * oy,
            t[3],
            t[4],
            t[5] + t[3] * ox + t[4] * oy,
        ];
        let meta = CogMetadata {
            epsg: Some(m.epsg),
            transform: Some(transform),
            nodata: m.nodata,
            bands: m
                .bands
                .iter()
                .map(|(_, name, tm)| BandMetadata {
                    description: Some(name.clone()),
                    scale: (tm.scale != 1.0).then_some(tm.scale),
                    offset: (tm.offset != 0.0).then_some(tm.offset),
                })
                .collect(),
            ..CogMetadata::default()
        };
        let options = CogOptions {
            block_size: m.grid.chunk_width,
            compression: self.options.compression,
            level: self.options.level,
            overviews: self.options.overviews,
            resampling: self.options.resampling,
            ..CogOptions::default()
        };
        let spill = || tempfile::tempfile().map_err(io);
        let mut cog = StreamingCog::new(
            (width as usize, height as usize, m.bands.len()),
            m.dtype,
            meta,
            options,
            (spill()?, spill()?),
        )
        .map_err(io)?;
        let bsu = bs as usize;
        for (&(cx, cy), &(at, len)) in &received.chunks {
            if cx * bs >= m.grid.width as i64 + x0 * bs || cy * bs >= m.grid.height as i64
            {
                continue;
            }
            let mut buf = vec![0u8; len as usize];
            received.spill.seek(SeekFrom::Start(at)).map_err(io)?;
            received.spill.read_exact(&mut buf).map_err(io)?;
            let data = PixelData::from_le_bytes(m.dtype, &buf).map_err(io)?;
            let tile = Raster::new(bsu, bsu, m.bands.len(), data).map_err(io)?;
            cog.write_tile((cx - x0) as usize, (cy - y0) as usize, &tile)
                .map_err(io)?;
        }
        cog.finish(out).map_err(io)?;
        Ok(Written {
            transform,
            shape: (width as u64, height as u64),
        })
    }
}

#[async_trait]
impl DataSink for CogSink {
    fn schema(&self) -> &SchemaRef {
        self.config.output_schema()
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let (store, path) = destination("COG", &self.config, context)?;
        if !self.options.overwrite && store.head(&path).await.is_ok() {
            return exec_err!(
                "COG output: {} exists; add OPTIONS (overwrite 'true') to replace it",
                self.config.original_url
            );
        }
        // Working memory while the file is built: two tile rows of the mosaic (typed,
        // and as bytes) and the halved rows (as f64 and typed), per overview level.
        let m = &self.mosaic;
        let reservation = MemoryConsumer::new("CogSink").register(context.memory_pool());
        let mut received = Received {
            spill: tempfile::tempfile().map_err(io)?,
            len: 0,
            chunks: BTreeMap::new(),
        };
        let live = crate::monitor::current()
            .filter(|_| crate::monitor::global().quicklooks())
            .and_then(|q| LiveFeed::new(q, m));
        while let Some(batch) = data.next().await {
            let batch = batch?;
            received.add(m, &batch)?;
            if let Some(live) = &live {
                live.feed(m, &batch);
            }
        }
        let row_bytes = m.grid.width as usize * m.bands.len() * (2 * m.dtype.size() + 4);
        reservation.try_grow(2 * m.grid.chunk_height as usize * row_bytes)?;
        let rows = received.chunks.len() as u64;
        let sink = CogSink {
            config: self.config.clone(),
            options: self.options.clone(),
            mosaic: self.mosaic.clone(),
            inputs: Inputs::default(),
        };
        let mut file = tempfile::tempfile().map_err(io)?;
        let task = SpawnedTask::spawn_blocking(move || -> Result<(File, Written)> {
            let written = sink.build(received, &mut file)?;
            Ok((file, written))
        });
        let (mut file, written) = task.join().await.map_err(io)??;
        reservation.free();
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut writer =
            object_store::buffered::BufWriter::new(Arc::clone(&store), path.clone());
        let mut buf = vec![0u8; 8 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            tokio::io::AsyncWriteExt::write_all(&mut writer, &buf[..n])
                .await
                .map_err(io)?;
        }
        tokio::io::AsyncWriteExt::shutdown(&mut writer)
            .await
            .map_err(io)?;
        // The STAC item beside it.
        let name = path.filename().unwrap_or("output.tif").to_string();
        let stem = name
            .strip_suffix(".tif")
            .or_else(|| name.strip_suffix(".tiff"))
            .unwrap_or(&name)
            .to_string();
        let raster = RasterInfo {
            id: stem.clone(),
            href: format!("./{name}"),
            media_type: "image/tiff; application=geotiff; profile=cloud-optimized".into(),
            crs: m.grid.crs.clone(),
            transform: written.transform,
            shape: written.shape,
            bands: m
                .bands
                .iter()
                .map(|(_, n, _)| (n.clone(), m.dtype.name().to_string(), m.nodata))
                .collect(),
        };
        let item = stac_item(&raster, &self.inputs);
        let item_path = sibling_json(&path);
        let body = serde_json::to_vec_pretty(&item).map_err(io)?;
        store.put(&item_path, body.into()).await?;
        Ok(rows)
    }
}
