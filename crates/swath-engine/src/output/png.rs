//! `COPY (query) TO 'out.png' STORED AS PNG`: a picture of a result.
//!
//! - **Chunk rows** (`chunk_x`, `chunk_y`, tile columns) become a quicklook of the
//!   mosaic: one tile column in grey or three as RGB (`bands 'red,green,blue'`; by
//!   default red/green/blue if the query has them, else the first tile column),
//!   stretched per band (`stretch`, default `percentile:2,98`), the longest side at
//!   most `max_size` pixels (default 1024), missing pixels transparent. Each batch's
//!   tiles (physical values) go to a spill file as they arrive; the picture is then
//!   sampled from it, so memory holds the picture and one chunk, never the mosaic.
//! - **Other rows** become a line chart: x is the `x` column (default the first;
//!   dates and timestamps give a time axis), one line per `y` column (default every
//!   other numeric column), with `title`, `width` and `height` (default 1000×500).
//!
//! `overwrite 'true'` replaces an existing file (default: an error). Rendering is
//! `swath_plot`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType as ArrowType, Float64Type, Int64Type, SchemaRef, TimeUnit,
};
use async_trait::async_trait;
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::datasource::physical_plan::FileSinkConfig;
use datafusion::datasource::sink::DataSink;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use swath_plot::{Canvas, ChartOptions, Series, Stretch, XAxis};
use swath_udfs::tile::{TileMeta, Tiles, is_tile_type};

use super::cog::Mosaic;
use super::output_factory;
use super::{OutputRoots, RasterOutput, destination};

/// Most rows a chart draws.
const MAX_CHART_ROWS: usize = 1_000_000;

/// `STORED AS PNG`, writing under `roots`.
#[derive(Debug, Default)]
pub struct PngFormatFactory {
    /// Where outputs may go.
    pub roots: OutputRoots,
}

output_factory!(PngFormatFactory, PngOutput);

/// The options of `COPY … STORED AS PNG OPTIONS (…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PngOptions {
    /// `bands`: the tile columns of a quicklook (1 or 3).
    pub bands: Vec<String>,
    /// `stretch`: see [`Stretch`]'s syntax (default `percentile:2,98`).
    pub stretch: Stretch,
    /// `max_size`: the longest side of a quicklook (default 1024).
    pub max_size: u32,
    /// `x`: the chart's x column.
    pub x: Option<String>,
    /// `y`: the chart's y columns.
    pub y: Vec<String>,
    /// `title`, `width`, `height` of a chart.
    pub chart: ChartOptions,
    /// `overwrite`: replace an existing file.
    pub overwrite: bool,
}

impl Default for PngOptions {
    fn default() -> Self {
        PngOptions {
            bands: Vec::new(),
            stretch: Stretch::Percentile {
                low: 2.0,
                high: 98.0,
            },
            max_size: 1024,
            x: None,
            y: Vec::new(),
            chart: ChartOptions::default(),
            overwrite: false,
        }
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl PngOptions {
    /// Parse COPY options (keys with or without a `format.` prefix).
    pub fn parse(options: &HashMap<String, String>) -> Result<Self> {
        let mut out = PngOptions::default();
        let plot =
            |e: swath_plot::Error| DataFusionError::Plan(format!("PNG output: {e}"));
        for (k, v) in options {
            let key = k.strip_prefix("format.").unwrap_or(k).to_ascii_lowercase();
            let number = |what: &str| -> Result<u32> {
                v.trim().parse::<u32>().map_err(|_| {
                    DataFusionError::Plan(format!(
                        "PNG output: {what} must be a whole number of pixels, got '{v}'"
                    ))
                })
            };
            match key.as_str() {
                "bands" => out.bands = list(v),
                "stretch" => out.stretch = v.parse::<Stretch>().map_err(plot)?,
                "max_size" => out.max_size = number("max_size")?,
                "x" => out.x = Some(v.trim().to_string()),
                "y" => out.y = list(v),
                "title" => out.chart.title = Some(v.clone()),
                "width" => out.chart.width = number("width")?,
                "height" => out.chart.height = number("height")?,
                "overwrite" => {
                    out.overwrite = match v.trim().to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return plan_err!(
                                "PNG output: overwrite must be true or false"
                            );
                        }
                    }
                }
                other => {
                    return plan_err!(
                        "PNG output: unknown option '{other}' (bands, stretch, max_size, x, y, title, width, height, overwrite)"
                    );
                }
            }
        }
        if !(1..=swath_plot::MAX_SIDE).contains(&out.max_size) {
            return plan_err!(
                "PNG output: max_size must be within 1..={}, got {}",
                swath_plot::MAX_SIDE,
                out.max_size
            );
        }
        Ok(out)
    }
}

/// The PNG output of one COPY.
#[derive(Debug, Default)]
pub(crate) struct PngOutput {
    options: PngOptions,
}

impl RasterOutput for PngOutput {
    const NAME: &'static str = "PNG";
    const EXT: &'static str = "png";

    fn parse(options: &HashMap<String, String>) -> Result<Self> {
        Ok(PngOutput {
            options: PngOptions::parse(options)?,
        })
    }

    fn sink(
        &self,
        input: &Arc<dyn ExecutionPlan>,
        conf: FileSinkConfig,
        _inputs: super::provenance::Inputs,
    ) -> Result<Arc<dyn DataSink>> {
        let schema = input.schema();
        let picture = if schema.fields().iter().any(|f| is_tile_type(f.data_type())) {
            Picture::Quicklook(Quicklook::plan(&schema, &self.options)?)
        } else {
            Picture::Chart(ChartPlan::plan(&schema, &self.options)?)
        };
        Ok(Arc::new(PngSink {
            config: conf,
            options: self.options.clone(),
            picture,
        }))
    }
}

#[derive(Debug, Clone)]
enum Picture {
    Quicklook(Quicklook),
    Chart(ChartPlan),
}

/// Which columns a quicklook draws.
#[derive(Debug, Clone)]
struct Quicklook {
    /// The chunk rows' layout (chunk columns, grid), checked as for COG output.
    mosaic: Mosaic,
    /// The drawn tile columns: index and description.
    bands: Vec<(usize, TileMeta)>,
}

impl Quicklook {
    fn plan(schema: &SchemaRef, options: &PngOptions) -> Result<Quicklook> {
        let mosaic = Mosaic::plan(schema, "PNG output", false)?;
        let tiles: Vec<&str> = mosaic.bands.iter().map(|b| b.1.as_str()).collect();
        let names: Vec<String> = if !options.bands.is_empty() {
            options.bands.clone()
        } else if ["red", "green", "blue"].iter().all(|b| tiles.contains(b)) {
            vec!["red".into(), "green".into(), "blue".into()]
        } else {
            tiles.iter().take(1).map(|s| s.to_string()).collect()
        };
        if names.len() != 1 && names.len() != 3 {
            return plan_err!(
                "PNG output: bands names 1 (grey) or 3 (RGB) tile columns, got {}",
                names.len()
            );
        }
        let mut bands = Vec::new();
        for name in &names {
            let Some((i, _, meta)) = mosaic.bands.iter().find(|b| &b.1 == name) else {
                return plan_err!(
                    "PNG output: '{name}' is not a tile column of the query (tile columns: {})",
                    tiles.join(", ")
                );
            };
            bands.push((*i, meta.clone()));
        }
        Ok(Quicklook { mosaic, bands })
    }
}

/// Which columns a chart draws.
#[derive(Debug, Clone)]
struct ChartPlan {
    x: usize,
    x_name: String,
    axis: XAxis,
    ys: Vec<(usize, String)>,
}

impl ChartPlan {
    fn plan(schema: &SchemaRef, options: &PngOptions) -> Result<ChartPlan> {
        let need = "PNG output of rows draws a line chart: an x column (time or number) and numeric y columns";
        let x = match &options.x {
            Some(name) => schema.index_of(name).map_err(|_| {
                DataFusionError::Plan(format!("PNG output: no column '{name}' for x"))
            })?,
            None if schema.fields().is_empty() => return plan_err!("{need}"),
            None => 0,
        };
        let axis = match schema.field(x).data_type() {
            ArrowType::Date32 | ArrowType::Date64 | ArrowType::Timestamp(..) => {
                XAxis::Time
            }
            t if t.is_numeric() => XAxis::Number,
            t => {
                return plan_err!("{need}; x column '{}' is {t}", schema.field(x).name());
            }
        };
        let ys: Vec<(usize, String)> = if options.y.is_empty() {
            schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(i, f)| *i != x && f.data_type().is_numeric())
                .map(|(i, f)| (i, f.name().clone()))
                .collect()
        } else {
            let mut out = Vec::new();
            for name in &options.y {
                match schema.index_of(name) {
                    Ok(i) if schema.field(i).data_type().is_numeric() => {
                        out.push((i, name.clone()))
                    }
                    Ok(i) => {
                        return plan_err!(
                            "PNG output: y column '{name}' is {}, not a number",
                            schema.field(i).data_type()
                        );
                    }
                    Err(_) => return plan_err!("PNG output: no column '{name}' for y"),
                }
            }
            out
        };
        if ys.is_empty() {
            return plan_err!("{need}; there is no numeric y column");
        }
        Ok(ChartPlan {
            x,
            x_name: schema.field(x).name().clone(),
            axis,
            ys,
        })
    }
}

struct PngSink {
    config: FileSinkConfig,
    options: PngOptions,
    picture: Picture,
}

impl fmt::Debug for PngSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PngSink")
            .field("path", &self.config.original_url)
            .finish()
    }
}

impl DisplayAs for PngSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.picture {
            Picture::Quicklook(_) => "quicklook",
            Picture::Chart(_) => "chart",
        };
        write!(f, "PngSink: path={}, {kind}", self.config.original_url)
    }
}

fn io(e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("PNG output: {e}"))
}

/// The x values of a column in chart units (milliseconds since the epoch for dates
/// and timestamps).
fn x_values(array: &dyn Array) -> Result<Vec<Option<f64>>> {
    let per_ms = match array.data_type() {
        ArrowType::Date32 => {
            let a = array.as_primitive::<arrow::datatypes::Date32Type>();
            return Ok((0..a.len())
                .map(|i| a.is_valid(i).then(|| f64::from(a.value(i)) * 86_400_000.0))
                .collect());
        }
        ArrowType::Date64 | ArrowType::Timestamp(TimeUnit::Millisecond, _) => 1.0,
        ArrowType::Timestamp(TimeUnit::Second, _) => 1e-3,
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => 1e3,
        ArrowType::Timestamp(TimeUnit::Nanosecond, _) => 1e6,
        _ => {
            let a = arrow::compute::cast(array, &ArrowType::Float64)?;
            let a = a.as_primitive::<Float64Type>();
            return Ok((0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i)))
                .collect());
        }
    };
    let a = arrow::compute::cast(array, &ArrowType::Int64)?;
    let a = a.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i) as f64 / per_ms))
        .collect())
}

impl PngSink {
    async fn chart(
        &self,
        plan: &ChartPlan,
        mut data: SendableRecordBatchStream,
    ) -> Result<(Vec<u8>, u64)> {
        let mut series: Vec<Series> = plan
            .ys
            .iter()
            .map(|(_, name)| Series {
                name: name.clone(),
                points: Vec::new(),
            })
            .collect();
        let mut rows = 0usize;
        while let Some(batch) = data.next().await {
            let batch = batch?;
            rows += batch.num_rows();
            if rows > MAX_CHART_ROWS {
                return exec_err!(
                    "PNG output: a chart draws at most {MAX_CHART_ROWS} rows; aggregate first"
                );
            }
            let xs = x_values(batch.column(plan.x).as_ref())?;
            for ((i, _), s) in plan.ys.iter().zip(series.iter_mut()) {
                let y = arrow::compute::cast(batch.column(*i), &ArrowType::Float64)?;
                let y = y.as_primitive::<Float64Type>();
                for (row, x) in xs.iter().enumerate() {
                    if let Some(x) = x {
                        let v = if y.is_valid(row) {
                            y.value(row)
                        } else {
                            f64::NAN
                        };
                        s.points.push((*x, v));
                    }
                }
            }
        }
        for s in &mut series {
            s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let mut options = self.options.chart.clone();
        if options.x_label.is_none() {
            options.x_label = Some(plan.x_name.clone());
        }
        let chart = swath_plot::line_chart(&series, plan.axis, &options).map_err(io)?;
        Ok((chart.image.to_png().map_err(io)?, rows as u64))
    }

    async fn quicklook(
        &self,
        q: &Quicklook,
        mut data: SendableRecordBatchStream,
    ) -> Result<(Vec<u8>, u64)> {
        let chunk_len = q.mosaic.chunk_len();
        let mut spill = tempfile::tempfile().map_err(io)?;
        let mut chunks: BTreeMap<(i64, i64), u64> = BTreeMap::new();
        let mut offset = 0u64;
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(batch) = data.next().await {
            let batch: RecordBatch = batch?;
            let keys = q.mosaic.chunk_keys(&batch, "PNG output")?;
            let physical: Vec<Vec<f32>> = q
                .bands
                .iter()
                .map(|(i, meta)| {
                    Tiles {
                        array: batch.column(*i).as_fixed_size_list(),
                        meta,
                    }
                    .physical()
                })
                .collect::<Result<_>>()?;
            for (row, key) in keys.into_iter().enumerate() {
                if chunks.contains_key(&key) {
                    return exec_err!(
                        "PNG output: more than one row for chunk ({}, {}); reduce over time first (GROUP BY chunk_x, chunk_y)",
                        key.0,
                        key.1
                    );
                }
                bytes.clear();
                for band in &physical {
                    for v in &band[row * chunk_len..(row + 1) * chunk_len] {
                        bytes.extend_from_slice(&v.to_le_bytes());
                    }
                }
                spill.write_all(&bytes).map_err(io)?;
                chunks.insert(key, offset);
                offset += bytes.len() as u64;
            }
        }
        let rows = chunks.len() as u64;
        let (Some(x0), Some(x1), Some(y0), Some(y1)) = (
            chunks.keys().map(|k| k.0).min(),
            chunks.keys().map(|k| k.0).max(),
            chunks.keys().map(|k| k.1).min(),
            chunks.keys().map(|k| k.1).max(),
        ) else {
            return exec_err!("PNG output: the query returned no chunks");
        };
        let grid = &q.mosaic.grid;
        let (cw, ch) = (i64::from(grid.chunk_width), i64::from(grid.chunk_height));
        // Chunk indexes lie within the grid (chunk_keys), so these stay small.
        let width = (((x1 + 1) * cw).min(grid.width as i64) - x0 * cw).max(1);
        let height = (((y1 + 1) * ch).min(grid.height as i64) - y0 * ch).max(1);
        let nb = q.bands.len();
        let max_size = self.options.max_size;
        let stretch = self.options.stretch;
        let (cwu, chu) = (cw as usize, ch as usize);
        let task = datafusion::common::runtime::SpawnedTask::spawn_blocking(
            move || -> Result<Vec<u8>> {
                let mut canvas =
                    Canvas::new(width as u64, height as u64, nb, max_size).map_err(io)?;
                let mut buf = vec![0u8; chunk_len * nb * 4];
                let mut values = vec![0f32; chunk_len * nb];
                for (&(cx, cy), &at) in &chunks {
                    spill.seek(SeekFrom::Start(at)).map_err(io)?;
                    spill.read_exact(&mut buf).map_err(io)?;
                    for (v, b) in values.iter_mut().zip(buf.chunks_exact(4)) {
                        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                    let bands: Vec<&[f32]> = values.chunks_exact(chunk_len).collect();
                    canvas
                        .put((cx - x0) * cw, (cy - y0) * ch, cwu, chu, &bands)
                        .map_err(io)?;
                }
                canvas.render(&stretch).map_err(io)?.to_png().map_err(io)
            },
        );
        let png = task.join().await.map_err(io)??;
        Ok((png, rows))
    }
}

#[async_trait]
impl DataSink for PngSink {
    fn schema(&self) -> &SchemaRef {
        self.config.output_schema()
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let (store, path) = destination("PNG", &self.config, context)?;
        if !self.options.overwrite && store.head(&path).await.is_ok() {
            return exec_err!(
                "PNG output: {} exists; add OPTIONS (overwrite 'true') to replace it",
                self.config.original_url
            );
        }
        let (png, rows) = match &self.picture {
            Picture::Quicklook(q) => self.quicklook(q, data).await?,
            Picture::Chart(c) => self.chart(c, data).await?,
        };
        store.put(&path, PutPayload::from(png)).await?;
        Ok(rows)
    }
}
