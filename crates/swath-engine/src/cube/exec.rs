//! `CubeScanExec`: the physical scan of a datacube table.
//!
//! Its work is fixed when it is planned: per partition, a list of chunk positions,
//! each with the observations that touch it in time order. Chunks go to partitions
//! by DataFusion's own repartitioning hash of `(chunk_x, chunk_y)`, so the scan can
//! declare `Hash([chunk_x, chunk_y])` partitioning truthfully, and within a partition
//! rows come ordered by `(chunk_y, chunk_x, datetime)`: a `GROUP BY chunk_x, chunk_y`
//! needs no shuffle and aggregates one chunk's time stack at a time.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, RecordBatch, RecordBatchOptions, UInt8Array, UInt16Array, UInt32Array,
};
use arrow::compute::SortOptions;
use arrow::datatypes::{Field, SchemaRef};
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{
    DataFusionError, Result, Statistics, exec_err, internal_err, stats::Precision,
};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{
    EquivalenceProperties, Partitioning, PhysicalExpr, PhysicalSortExpr,
};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use swath_geotiff::PixelData;
use swath_grid::PixelWindow;

use super::model::{ApiSearch, BandDef, CubeDef};
use super::read::{ReadMetrics, Reader};
use super::schema;
use crate::options::OnError;

/// One chunk position and the observations (indices) that touch it, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkTask {
    /// Chunk column.
    pub cx: i32,
    /// Chunk row.
    pub cy: i32,
    /// Observations, in time order.
    pub observations: Vec<u32>,
}

/// What the planner found, for `EXPLAIN`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// Items (scenes) in the table.
    pub items_total: usize,
    /// Items some row reads.
    pub items: usize,
    /// Observations in the table.
    pub observations_total: usize,
    /// Observations left after filters.
    pub observations: usize,
    /// Chunk positions left after filters.
    pub chunks: usize,
    /// Rows (chunk × observation) the scan emits.
    pub rows: usize,
    /// Estimated decoded source bytes to read.
    pub bytes: u64,
    /// (chunk, item, band) reads planned.
    #[serde(default)]
    pub reads: usize,
    /// Of those, reads of files whose header is known (open, or in a header
    /// index): their tiles are counted from the header, with no request.
    #[serde(default)]
    pub reads_known: usize,
    /// Stored tiles those reads fetch.
    #[serde(default)]
    pub tiles: usize,
    /// Range requests those reads make (near tiles merged).
    #[serde(default)]
    pub requests: usize,
    /// Bytes those requests fetch.
    #[serde(default)]
    pub fetch_bytes: u64,
}

/// Everything a `CubeScanExec` is made of; what the codec serialises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSpec {
    /// The table.
    pub def: Arc<CubeDef>,
    /// Columns of the table's chunk schema, in output order.
    pub projection: Vec<usize>,
    /// Per partition, its chunks in `(chunk_y, chunk_x)` order.
    pub partitions: Vec<Vec<ChunkTask>>,
    /// Planning counts.
    pub summary: ScanSummary,
}

/// The scan of a datacube table's chunk view.
///
/// Its one child is a small in-memory plan whose partition `i` holds one row: the
/// index of the scan partition (its list of chunks) that partition `i` reads. A
/// cluster scheduler that gives a task only some partitions of a stage rewrites
/// that child (as it does any in-memory or file scan), so each task reads exactly
/// its own chunks; embedded, partition `i` reads chunk list `i`.
#[derive(Debug)]
pub struct CubeScanExec {
    spec: Arc<ScanSpec>,
    slices: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// The schema of a scan's partition slices: the chunk list each partition reads.
fn slice_schema() -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(vec![Field::new(
        "scan_partition",
        arrow::datatypes::DataType::UInt32,
        false,
    )]))
}

/// Partition `i` of it holds `i`: every chunk list of the scan, in order.
pub fn all_slices(partitions: usize) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = slice_schema();
    let parts = (0..partitions.max(1))
        .map(|i| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(arrow::array::UInt32Array::from(vec![i as u32])) as ArrayRef
                ],
            )
            .map(|b| vec![b])
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let exec: Arc<dyn ExecutionPlan> =
        datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
            &parts, schema, None,
        )?;
    Ok(exec)
}

impl CubeScanExec {
    /// A scan doing `spec`, every partition its own chunk list.
    pub fn try_new(spec: ScanSpec) -> Result<Self> {
        let slices = all_slices(spec.partitions.len())?;
        Self::with_slices(spec, slices)
    }

    /// A scan doing `spec` whose partition `i` reads the chunk list named by
    /// partition `i` of `slices`.
    pub fn with_slices(spec: ScanSpec, slices: Arc<dyn ExecutionPlan>) -> Result<Self> {
        if slices.schema() != slice_schema() {
            return internal_err!(
                "CubeScanExec: its child is not a partition slice list"
            );
        }
        let full = schema::chunk_schema(&spec.def);
        let schema = Arc::new(full.project(&spec.projection)?);
        let n = slices.properties().output_partitioning().partition_count();
        let properties = Arc::new(properties(&schema, n));
        Ok(CubeScanExec {
            spec: Arc::new(spec),
            slices,
            schema,
            properties,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    /// What the scan does.
    pub fn spec(&self) -> &ScanSpec {
        &self.spec
    }

    /// The partition slice list (its child).
    pub fn slices(&self) -> &Arc<dyn ExecutionPlan> {
        &self.slices
    }
}

/// Hash partitioning on (chunk_x, chunk_y) and `(chunk_y, chunk_x, datetime)` order,
/// for the columns the projection keeps.
fn properties(schema: &SchemaRef, partitions: usize) -> PlanProperties {
    let col = |name: &str| -> Option<Arc<dyn PhysicalExpr>> {
        schema
            .index_of(name)
            .ok()
            .map(|i| Arc::new(Column::new(name, i)) as Arc<dyn PhysicalExpr>)
    };
    let asc = SortOptions {
        descending: false,
        nulls_first: true,
    };
    let (eq, partitioning) = match (col("chunk_x"), col("chunk_y")) {
        (Some(x), Some(y)) => {
            let mut ordering = vec![
                PhysicalSortExpr::new(Arc::clone(&y), asc),
                PhysicalSortExpr::new(Arc::clone(&x), asc),
            ];
            if let Some(t) = col("datetime") {
                ordering.push(PhysicalSortExpr::new(t, asc));
            }
            (
                EquivalenceProperties::new_with_orderings(Arc::clone(schema), [ordering]),
                Partitioning::Hash(vec![x, y], partitions.max(1)),
            )
        }
        _ => (
            EquivalenceProperties::new(Arc::clone(schema)),
            Partitioning::UnknownPartitioning(partitions.max(1)),
        ),
    };
    PlanProperties::new(
        eq,
        partitioning,
        EmissionType::Incremental,
        Boundedness::Bounded,
    )
}

impl DisplayAs for CubeScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let s = &self.spec.summary;
        let def = &self.spec.def;
        let bands: Vec<&str> = self
            .spec
            .projection
            .iter()
            .filter_map(|&i| band_of(def, i).map(|b| b.name.as_str()))
            .collect();
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => write!(
                f,
                "CubeScanExec: location={}, grid={} {}x{} px, chunk={}x{}, bands=[{}], \
                 items={}/{}, observations={}/{}, chunks={}, rows={}, bytes≈{}",
                swath_store::redact_location(&def.location),
                def.grid.crs,
                def.grid.width,
                def.grid.height,
                def.grid.chunk_width,
                def.grid.chunk_height,
                bands.join(", "),
                s.items,
                s.items_total,
                s.observations,
                s.observations_total,
                s.chunks,
                s.rows,
                human_bytes(s.bytes),
            )
            .and_then(|()| {
                if s.reads_known == 0 {
                    return Ok(());
                }
                write!(
                    f,
                    ", fetch={} in {} requests for {} tiles ({}/{} reads from known headers)",
                    human_bytes(s.fetch_bytes),
                    s.requests,
                    s.tiles,
                    s.reads_known,
                    s.reads
                )
            })
            .and_then(|()| match &def.search {
                Some(ApiSearch {
                    sent: Some(sent),
                    documents,
                    items_read,
                }) => write!(
                    f,
                    ", search={sent} ({items_read} items in {documents} documents)"
                ),
                _ => Ok(()),
            }),
            DisplayFormatType::TreeRender => write!(
                f,
                "items={}\nobservations={}\nchunks={}\nbytes≈{}",
                s.items,
                s.observations,
                s.chunks,
                human_bytes(s.bytes)
            ),
        }
    }
}

/// `12.3 MiB` style.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The band a chunk-schema column index is, if it is one.
fn band_of(def: &CubeDef, column: usize) -> Option<&BandDef> {
    let first_band =
        schema::ITEM_COLUMNS.len() + def.props.len() + schema::CHUNK_COLUMNS.len();
    column
        .checked_sub(first_band)
        .and_then(|i| def.bands.get(i))
}

impl ExecutionPlan for CubeScanExec {
    fn name(&self) -> &str {
        "CubeScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.slices]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        // Each slice names one chunk list: never spread over other partitions.
        vec![false]
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
        match <[_; 1]>::try_from(children) {
            Ok([slices]) => Ok(Arc::new(CubeScanExec::with_slices(
                self.spec.as_ref().clone(),
                slices,
            )?)),
            Err(_) => internal_err!("CubeScanExec has one child"),
        }
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        let whole = self.properties.output_partitioning().partition_count()
            == self.spec.partitions.len();
        let stats = match partition {
            None if whole => Statistics::new_unknown(&self.schema)
                .with_num_rows(Precision::Exact(self.spec.summary.rows)),
            Some(p) if whole => {
                let rows =
                    self.spec.partitions.get(p).map_or(0, |tasks| {
                        tasks.iter().map(|t| t.observations.len()).sum()
                    });
                Statistics::new_unknown(&self.schema)
                    .with_num_rows(Precision::Exact(rows))
            }
            // A task's share of the scan: which chunk lists is known when it runs.
            _ => Statistics::new_unknown(&self.schema),
        };
        Ok(Arc::new(stats))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        use futures::TryStreamExt;
        let slices = self.slices.execute(partition, Arc::clone(&context))?;
        let scan = ScanPartition {
            spec: Arc::clone(&self.spec),
            schema: Arc::clone(&self.schema),
            metrics: self.metrics.clone(),
        };
        let stream = futures::stream::once(async move {
            let batches: Vec<RecordBatch> = slices.try_collect().await?;
            let list = batches
                .iter()
                .find(|b| b.num_rows() > 0)
                .and_then(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<arrow::array::UInt32Array>()
                        .map(|a| a.value(0) as usize)
                })
                .ok_or_else(|| {
                    datafusion::common::internal_datafusion_err!(
                        "CubeScanExec: partition {partition} has no chunk list"
                    )
                })?;
            scan.stream(list, partition, context)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// What one partition of a scan needs to read its chunk list.
struct ScanPartition {
    spec: Arc<ScanSpec>,
    schema: SchemaRef,
    metrics: ExecutionPlanMetricsSet,
}

impl ScanPartition {
    /// Read chunk list `list` of the scan as output partition `partition`.
    fn stream(
        &self,
        list: usize,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(tasks) = self.spec.partitions.get(list) else {
            return exec_err!(
                "CubeScanExec: chunk list {list} asked, the scan has {}",
                self.spec.partitions.len()
            );
        };
        let def = Arc::clone(&self.spec.def);
        let reader = Arc::new(Reader::new(
            &context,
            def.grid.grid()?,
            def.options.resampling,
        ));
        let metrics = ReadMetrics {
            requests: MetricBuilder::new(&self.metrics)
                .counter("range_requests", partition),
            bytes: MetricBuilder::new(&self.metrics).counter("bytes_fetched", partition),
            headers: MetricBuilder::new(&self.metrics)
                .counter("headers_opened", partition),
            headers_indexed: MetricBuilder::new(&self.metrics)
                .counter("headers_indexed", partition),
            failed_assets: MetricBuilder::new(&self.metrics)
                .counter("assets_failed", partition),
            decode_time: MetricBuilder::new(&self.metrics)
                .subset_time("decode_warp_time", partition),
        };
        let output_rows = MetricBuilder::new(&self.metrics).output_rows(partition);
        let reservation = Arc::new(
            MemoryConsumer::new(format!("CubeScanExec[{partition}]"))
                .register(context.memory_pool()),
        );
        let rows: Vec<(i32, i32, u32)> = tasks
            .iter()
            .flat_map(|t| t.observations.iter().map(move |&o| (t.cx, t.cy, o)))
            .collect();
        let batch_rows = def.options.batch_rows.max(1);
        let state = Arc::new(StreamState {
            def,
            projection: self.spec.projection.clone(),
            schema: Arc::clone(&self.schema),
            reader,
            metrics,
            reservation,
        });
        let batches: Vec<Vec<(i32, i32, u32)>> =
            rows.chunks(batch_rows).map(<[_]>::to_vec).collect();
        // Read ahead: the next batch is read (its requests in flight, its tiles
        // decoding) while the consumer works on this one; each batch is a task of
        // its own, so it progresses without being polled, and is cancelled with the
        // stream. One batch more is held (and reserved) per partition.
        let stream = futures::stream::iter(batches)
            .map(move |rows| {
                let state = Arc::clone(&state);
                SpawnedTask::spawn(async move { state.batch(&rows).await })
            })
            .buffered(READ_AHEAD)
            .map(move |joined| {
                let batch =
                    joined.map_err(|e| DataFusionError::External(Box::new(e)))??;
                output_rows.add(batch.num_rows());
                Ok(batch)
            })
            .boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// Batches of a scan partition being read at once (this one and the next).
const READ_AHEAD: usize = 2;

struct StreamState {
    def: Arc<CubeDef>,
    projection: Vec<usize>,
    schema: SchemaRef,
    reader: Arc<Reader>,
    metrics: ReadMetrics,
    reservation: Arc<MemoryReservation>,
}

impl StreamState {
    async fn batch(&self, rows: &[(i32, i32, u32)]) -> Result<RecordBatch> {
        let def = &self.def;
        let n_item = schema::ITEM_COLUMNS.len() + def.props.len();
        let first_band = n_item + schema::CHUNK_COLUMNS.len();
        let want =
            |lo: usize, hi: usize| self.projection.iter().any(|&c| c >= lo && c < hi);
        let mut columns: Vec<Option<ArrayRef>> = vec![None; first_band + def.bands.len()];
        if want(0, n_item) {
            let obs: Vec<usize> = rows.iter().map(|&(_, _, o)| o as usize).collect();
            for (i, c) in schema::item_columns(def, &obs).into_iter().enumerate() {
                columns[i] = Some(c);
            }
        }
        if want(n_item, first_band) {
            let grid = def.grid.grid()?;
            let chunks: Vec<(i32, i32)> = rows.iter().map(|&(x, y, _)| (x, y)).collect();
            let mut wkbs = Vec::with_capacity(rows.len());
            let mut last: Option<((i32, i32), Vec<u8>)> = None;
            for &(cx, cy) in &chunks {
                let wkb = match &last {
                    Some((k, w)) if *k == (cx, cy) => w.clone(),
                    _ => footprint_wkb(&grid, def.grid.chunk_window(cx, cy))?,
                };
                last = Some(((cx, cy), wkb.clone()));
                wkbs.push(wkb);
            }
            for (i, c) in schema::chunk_columns(&chunks, &wkbs)?
                .into_iter()
                .enumerate()
            {
                columns[n_item + i] = Some(c);
            }
        }
        // Band tiles: reserve the output, then read every band of every row.
        let bands: Vec<usize> = self
            .projection
            .iter()
            .filter_map(|&c| c.checked_sub(first_band))
            .collect();
        let pixels = def.grid.chunk_pixels();
        let out_bytes: usize = bands
            .iter()
            .map(|&b| pixels * def.bands[b].dtype.size() * rows.len())
            .sum();
        self.reservation.try_grow(out_bytes)?;
        let result = self.read_bands(rows, &bands).await;
        let arrays = match result {
            Ok(a) => a,
            Err(e) => {
                self.reservation.shrink(out_bytes);
                return Err(e);
            }
        };
        for (&b, array) in bands.iter().zip(arrays) {
            columns[first_band + b] = Some(array);
        }
        self.reservation.shrink(out_bytes);
        let picked: Vec<ArrayRef> = self
            .projection
            .iter()
            .map(|&c| columns[c].clone())
            .collect::<Option<_>>()
            .ok_or_else(|| {
                datafusion::common::internal_datafusion_err!("column not built")
            })?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            picked,
            &options,
        )?)
    }

    async fn read_bands(
        &self,
        rows: &[(i32, i32, u32)],
        bands: &[usize],
    ) -> Result<Vec<ArrayRef>> {
        // Every band of every row at once: over a remote store the requests of one
        // batch are in flight together, not one band after another.
        futures::future::try_join_all(bands.iter().map(|&b| async move {
            let band = &self.def.bands[b];
            let tiles = futures::future::try_join_all(
                rows.iter()
                    .map(|&(cx, cy, o)| self.read_tile(cx, cy, o as usize, b)),
            )
            .await?;
            tensor_column(band, self.def.grid.chunk_pixels(), tiles)
        }))
        .await
    }

    /// One band of one observation on one chunk, scenes fused in priority order.
    async fn read_tile(
        &self,
        cx: i32,
        cy: i32,
        obs: usize,
        band: usize,
    ) -> Result<PixelData> {
        let def = &self.def;
        let b = &def.bands[band];
        let window = def.grid.chunk_window(cx, cy);
        let mut tile = PixelData::filled(b.dtype, def.grid.chunk_pixels(), b.nodata);
        for &s in &def.observations[obs].scenes {
            let scene = &def.scenes[s];
            if !overlaps(scene.window, window) {
                continue;
            }
            let Some(asset) = &scene.assets[band] else {
                continue;
            };
            // Source pixels reserved while they are decoded and warped.
            let src_bytes = def.grid.chunk_pixels() * b.dtype.size() * 2;
            self.reservation.try_grow(src_bytes)?;
            let before = (def.options.on_error == OnError::Nodata).then(|| tile.clone());
            let result = self
                .reader
                .read_into(asset, b, window, tile, &self.metrics)
                .await;
            self.reservation.shrink(src_bytes);
            tile = match result {
                Ok(t) => t,
                Err(e) if before.is_some() => {
                    self.metrics.failed_assets.add(1);
                    log::warn!(
                        "item {}: band {} reads as nodata: {e}",
                        scene.item_id,
                        b.name
                    );
                    before.unwrap_or_else(|| {
                        PixelData::filled(b.dtype, def.grid.chunk_pixels(), b.nodata)
                    })
                }
                Err(e) => {
                    return exec_err!(
                        "item {}: band {}: {e} (table option on_error 'nodata' reads \
                         failing assets as nodata)",
                        scene.item_id,
                        b.name
                    );
                }
            };
        }
        Ok(tile)
    }
}

fn overlaps(w: [i64; 4], c: PixelWindow) -> bool {
    w[0] < c.col + c.width as i64
        && c.col < w[2]
        && w[1] < c.row + c.height as i64
        && c.row < w[3]
}

/// The chunk's outline in lon/lat as WKB.
pub fn footprint_wkb(grid: &swath_grid::Grid, window: PixelWindow) -> Result<Vec<u8>> {
    let polygon = swath_grid::footprint_lonlat(grid, window, 8)
        .map_err(|e| datafusion::common::DataFusionError::Execution(e.to_string()))?;
    let mut buf = Vec::new();
    wkb::writer::write_geometry(
        &mut buf,
        &polygon,
        &wkb::writer::WriteOptions::default(),
    )
    .map_err(|e| datafusion::common::DataFusionError::Execution(e.to_string()))?;
    Ok(buf)
}

/// Tiles of one band as a fixed-shape tensor column.
fn tensor_column(
    band: &BandDef,
    pixels: usize,
    tiles: Vec<PixelData>,
) -> Result<ArrayRef> {
    macro_rules! build {
        ($variant:ident, $array:ty) => {{
            let mut values = Vec::with_capacity(pixels * tiles.len());
            for t in tiles {
                match t {
                    PixelData::$variant(v) => values.extend_from_slice(&v),
                    _ => {
                        return internal_err!(
                            "tile of band {} has the wrong type",
                            band.name
                        );
                    }
                }
            }
            Arc::new(<$array>::from(values)) as ArrayRef
        }};
    }
    let values = match band.dtype {
        swath_geotiff::DataType::U8 => build!(U8, UInt8Array),
        swath_geotiff::DataType::I8 => build!(I8, Int8Array),
        swath_geotiff::DataType::U16 => build!(U16, UInt16Array),
        swath_geotiff::DataType::I16 => build!(I16, Int16Array),
        swath_geotiff::DataType::U32 => build!(U32, UInt32Array),
        swath_geotiff::DataType::I32 => build!(I32, Int32Array),
        swath_geotiff::DataType::F32 => build!(F32, Float32Array),
        swath_geotiff::DataType::F64 => build!(F64, Float64Array),
    };
    let item = Arc::new(Field::new("item", schema::arrow_type(band.dtype), true));
    Ok(Arc::new(FixedSizeListArray::try_new(
        item,
        pixels as i32,
        values,
        None,
    )?))
}
