//! The pixel view: the chunk scan's rows exploded to one row per pixel, with the
//! pixel's centre in grid coordinates (`x`, `y`) and in degrees (`lon`, `lat`), and
//! band values as scalars (nodata → NULL). Pixels outside the grid (chunk padding)
//! are left out; every pixel of an observation's chunks inside the grid is a row.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float64Array, RecordBatch,
    RecordBatchOptions, UInt32Array, new_null_array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, exec_datafusion_err, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use swath_grid::{Crs, Transformer};

use super::exec::{CubeScanExec, ScanSpec};
use super::model::CubeDef;
use super::provider::plan;
use super::schema;

/// What a pixel scan is made of; what the codec serialises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PixelSpec {
    /// The chunk scan it explodes (item columns, chunk_x, chunk_y, needed bands).
    pub chunks: ScanSpec,
    /// Columns of the pixel schema, in output order.
    pub projection: Vec<usize>,
}

/// The scan of a datacube table's pixel view.
#[derive(Debug)]
pub struct PixelScanExec {
    spec: Arc<PixelSpec>,
    inner: Arc<CubeScanExec>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl PixelScanExec {
    /// Plan a pixel scan.
    pub fn plan(
        state: &dyn Session,
        def: &Arc<CubeDef>,
        conjuncts: &[Expr],
        projection: Option<&Vec<usize>>,
        partitions: usize,
    ) -> Result<Self> {
        let pixel = schema::pixel_schema(def);
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..pixel.fields().len()).collect());
        let n_item = schema::ITEM_COLUMNS.len() + def.props.len();
        let first_band_px = n_item + 6;
        let first_band_chunk = n_item + schema::CHUNK_COLUMNS.len();
        let mut inner: Vec<usize> = (0..n_item + 2).collect();
        for &c in &projection {
            if let Some(b) = c.checked_sub(first_band_px) {
                inner.push(first_band_chunk + b);
            }
        }
        let chunks = plan(state, def, conjuncts, inner, partitions)?;
        Self::try_new(PixelSpec { chunks, projection })
    }

    /// A pixel scan doing `spec`.
    pub fn try_new(spec: PixelSpec) -> Result<Self> {
        let inner = Arc::new(CubeScanExec::try_new(spec.chunks.clone())?);
        let full = schema::pixel_schema(&spec.chunks.def);
        let schema = Arc::new(full.project(&spec.projection)?);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(spec.chunks.partitions.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(PixelScanExec {
            spec: Arc::new(spec),
            inner,
            schema,
            properties,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    /// What the scan does.
    pub fn spec(&self) -> &PixelSpec {
        &self.spec
    }

    /// The chunk scan it reads from (its metrics count the chunk rows read).
    pub fn chunk_scan(&self) -> &CubeScanExec {
        &self.inner
    }
}

impl DisplayAs for PixelScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let px = self.spec.chunks.def.grid.chunk_pixels();
        write!(
            f,
            "PixelScanExec: pixels≤{} of ",
            self.spec.chunks.summary.rows * px
        )?;
        self.inner.fmt_as(t, f)
    }
}

impl ExecutionPlan for PixelScanExec {
    fn name(&self) -> &str {
        "PixelScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            internal_err!("PixelScanExec has no children")
        }
    }

    fn metrics(&self) -> Option<MetricsSet> {
        let mut m = self.metrics.clone_inner();
        if let Some(inner) = self.inner.metrics() {
            for metric in inner.iter() {
                m.push(Arc::clone(metric));
            }
        }
        Some(m)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let chunks = self.inner.execute(partition, context)?;
        let def = Arc::clone(&self.spec.chunks.def);
        let projection = self.spec.projection.clone();
        let schema = Arc::clone(&self.schema);
        let wgs = Transformer::new(
            &Crs::parse(&def.grid.crs).map_err(|e| exec_datafusion_err!("{e}"))?,
            &Crs::wgs84(),
        )
        .map_err(|e| exec_datafusion_err!("{e}"))?;
        let explode = Arc::new(Exploder {
            def,
            projection,
            schema: Arc::clone(&schema),
            wgs,
            last: std::sync::Mutex::new(None),
        });
        let stream = chunks
            .map(move |batch| {
                let batch = batch?;
                let mut out = Vec::with_capacity(batch.num_rows());
                for r in 0..batch.num_rows() {
                    out.push(explode.row(&batch, r));
                }
                Ok::<_, datafusion::error::DataFusionError>(futures::stream::iter(out))
            })
            .map(|r| match r {
                Ok(s) => s.boxed(),
                Err(e) => futures::stream::iter(vec![Err(e)]).boxed(),
            })
            .flatten()
            .boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

struct Exploder {
    def: Arc<CubeDef>,
    projection: Vec<usize>,
    schema: SchemaRef,
    wgs: Transformer,
    /// The coordinate columns of the last chunk: rows arrive ordered by chunk, then
    /// time, so every observation of a chunk reuses them (projecting each pixel to
    /// lon/lat once per chunk, not once per observation).
    last: std::sync::Mutex<Option<((i32, i32), Coords)>>,
}

/// A chunk's in-grid pixel offsets and coordinate columns.
#[derive(Clone)]
struct Coords {
    offsets: Arc<UInt32Array>,
    x: ArrayRef,
    y: ArrayRef,
    lonlat: Option<(ArrayRef, ArrayRef)>,
}

impl Exploder {
    /// The pixel rows of chunk row `r` of `batch`.
    fn row(&self, batch: &RecordBatch, r: usize) -> Result<RecordBatch> {
        let def = &self.def;
        let n_item = schema::ITEM_COLUMNS.len() + def.props.len();
        let cx = batch
            .column(n_item)
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(r);
        let cy = batch
            .column(n_item + 1)
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(r);
        let want = |c: usize| self.projection.contains(&c);
        let coords = self.coords(cx, cy, want(n_item + 4) || want(n_item + 5))?;
        let n = coords.offsets.len();
        let pixel = schema::pixel_schema(def);
        let mut columns: Vec<Option<ArrayRef>> = vec![None; pixel.fields().len()];
        let repeat = UInt32Array::from(vec![r as u32; n]);
        for (c, column) in columns.iter_mut().enumerate().take(n_item + 2) {
            if want(c) {
                *column = Some(take(batch.column(c), &repeat, None)?);
            }
        }
        if let Some((lon, lat)) = &coords.lonlat {
            columns[n_item + 4] = Some(Arc::clone(lon));
            columns[n_item + 5] = Some(Arc::clone(lat));
        }
        columns[n_item + 2] = Some(Arc::clone(&coords.x));
        columns[n_item + 3] = Some(Arc::clone(&coords.y));
        // Bands: the inner scan's band columns follow chunk_y, in projection order.
        let first_band_px = n_item + 6;
        let mut inner_col = n_item + 2;
        let idx = coords.offsets.as_ref();
        for &c in &self.projection {
            let Some(bi) = c.checked_sub(first_band_px) else {
                continue;
            };
            let band = &def.bands[bi];
            let list = batch
                .column(inner_col)
                .as_any()
                .downcast_ref::<FixedSizeListArray>()
                .ok_or_else(|| {
                    exec_datafusion_err!("band {} is not a tensor", band.name)
                })?;
            inner_col += 1;
            let tile = list.value(r);
            let values = take(&tile, idx, None)?;
            columns[c] = Some(null_nodata(&values, band.nodata)?);
        }
        let picked: Vec<ArrayRef> = self
            .projection
            .iter()
            .map(|&c| {
                columns[c]
                    .clone()
                    .unwrap_or_else(|| new_null_array(pixel.field(c).data_type(), n))
            })
            .collect();
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            picked,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?)
    }
}

/// `values` with nodata (and NaN) as NULL.
impl Exploder {
    /// The coordinates of chunk (`cx`, `cy`), from the last call when it was the same
    /// chunk (with lon/lat if `lonlat`).
    fn coords(&self, cx: i32, cy: i32, lonlat: bool) -> Result<Coords> {
        if let Ok(last) = self.last.lock()
            && let Some((key, coords)) = last.as_ref()
            && *key == (cx, cy)
            && (coords.lonlat.is_some() || !lonlat)
        {
            return Ok(coords.clone());
        }
        let g = &self.def.grid;
        let w = g.chunk_window(cx, cy);
        let cols = (g.width as i64 - w.col).clamp(0, w.width as i64) as usize;
        let rows = (g.height as i64 - w.row).clamp(0, w.height as i64) as usize;
        let n = cols * rows;
        // Offsets of the in-grid pixels in the tile.
        let cw = g.chunk_width as usize;
        let offsets: Vec<u32> = (0..rows)
            .flat_map(|row| (0..cols).map(move |col| (row * cw + col) as u32))
            .collect();
        let [a, b, c0, d, e, f0] = g.transform;
        let mut xs = Vec::with_capacity(n);
        let mut ys = Vec::with_capacity(n);
        for &o in &offsets {
            let col = (w.col + (o as usize % cw) as i64) as f64 + 0.5;
            let row = (w.row + (o as usize / cw) as i64) as f64 + 0.5;
            xs.push(c0 + a * col + b * row);
            ys.push(f0 + d * col + e * row);
        }
        let lonlat = if lonlat {
            let mut lon = xs.clone();
            let mut lat = ys.clone();
            self.wgs
                .transform_points(&mut lon, &mut lat)
                .map_err(|e| exec_datafusion_err!("{e}"))?;
            Some((
                Arc::new(Float64Array::from(lon)) as ArrayRef,
                Arc::new(Float64Array::from(lat)) as ArrayRef,
            ))
        } else {
            None
        };
        let coords = Coords {
            offsets: Arc::new(UInt32Array::from(offsets)),
            x: Arc::new(Float64Array::from(xs)),
            y: Arc::new(Float64Array::from(ys)),
            lonlat,
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some(((cx, cy), coords.clone()));
        }
        Ok(coords)
    }
}

fn null_nodata(values: &ArrayRef, nodata: f64) -> Result<ArrayRef> {
    let as_f64 = cast(values, &arrow::datatypes::DataType::Float64)?;
    let f = as_f64.as_primitive::<arrow::datatypes::Float64Type>();
    let valid: Vec<bool> = f
        .iter()
        .map(|v| v.is_some_and(|v| !v.is_nan() && v != nodata))
        .collect();
    let nulls = arrow::buffer::NullBuffer::from(valid);
    let data = values.to_data().into_builder().nulls(Some(nulls)).build()?;
    Ok(arrow::array::make_array(data))
}
