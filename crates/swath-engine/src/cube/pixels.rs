//! The pixel view: the chunk scan's rows exploded to one row per pixel, with the
//! pixel's centre in grid coordinates (`x`, `y`) and in degrees (`lon`, `lat`), and
//! band values as scalars (nodata → NULL). Pixels outside the grid (chunk padding)
//! are left out; every pixel of an observation's chunks inside the grid is a row,
//! unless range filters on `x`, `y`, `lon` or `lat` rule it out: those are applied
//! to a chunk's coordinates once, before its observations are exploded into rows.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float64Array, RecordBatch,
    RecordBatchOptions, UInt32Array, new_null_array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, exec_datafusion_err, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Operator};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
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
    /// Ranges of the pixel coordinates the query's filters imply; pixels outside
    /// them are never made into rows.
    #[serde(default)]
    pub bounds: PixelBounds,
}

/// Inclusive ranges on a pixel's coordinates, implied by range filters (`BETWEEN`,
/// `<`, `<=`, `>`, `>=`, `=` against numbers). They keep a superset of what the
/// filters keep (which are evaluated again on the rows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PixelBounds {
    /// Grid x of the pixel centre.
    pub x: Range,
    /// Grid y of the pixel centre.
    pub y: Range,
    /// Longitude of the pixel centre.
    pub lon: Range,
    /// Latitude of the pixel centre.
    pub lat: Range,
}

/// A closed interval, open-ended where a side is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Smallest value kept.
    pub lo: Option<f64>,
    /// Largest value kept.
    pub hi: Option<f64>,
}

impl Range {
    /// Whether the range restricts anything.
    pub fn is_bounded(&self) -> bool {
        self.lo.is_some() || self.hi.is_some()
    }

    /// Whether `v` is in the range, comparing as Arrow's kernels do (IEEE total
    /// order: NaN above every number), so nothing a filter keeps is dropped.
    pub fn contains(&self, v: f64) -> bool {
        use std::cmp::Ordering::Less;
        self.lo.is_none_or(|lo| v.total_cmp(&lo) != Less)
            && self.hi.is_none_or(|hi| hi.total_cmp(&v) != Less)
    }

    fn raise_lo(&mut self, v: f64) {
        self.lo = Some(self.lo.map_or(v, |lo| lo.max(v)));
    }

    fn lower_hi(&mut self, v: f64) {
        self.hi = Some(self.hi.map_or(v, |hi| hi.min(v)));
    }
}

impl PixelBounds {
    /// The ranges implied by `conjuncts` (unqualified column names); a conjunct of
    /// another form implies nothing.
    pub fn of(conjuncts: &[Expr]) -> PixelBounds {
        let mut b = PixelBounds::default();
        for c in conjuncts {
            match c {
                Expr::Between(between) if !between.negated => {
                    if let (Some(r), Some(lo), Some(hi)) = (
                        b.range_of(&between.expr),
                        number(&between.low),
                        number(&between.high),
                    ) {
                        r.raise_lo(lo);
                        r.lower_hi(hi);
                    }
                }
                Expr::BinaryExpr(e) => {
                    let (col, op, v) = match (number(&e.left), number(&e.right)) {
                        (None, Some(v)) => (&e.left, e.op, v),
                        (Some(v), None) => match e.op.swap() {
                            Some(op) => (&e.right, op, v),
                            None => continue,
                        },
                        _ => continue,
                    };
                    let Some(r) = b.range_of(col) else { continue };
                    match op {
                        Operator::Gt | Operator::GtEq => r.raise_lo(v),
                        Operator::Lt | Operator::LtEq => r.lower_hi(v),
                        Operator::Eq => {
                            r.raise_lo(v);
                            r.lower_hi(v);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        b
    }

    fn range_of(&mut self, e: &Expr) -> Option<&mut Range> {
        match e {
            Expr::Column(c) => match c.name.as_str() {
                "x" => Some(&mut self.x),
                "y" => Some(&mut self.y),
                "lon" => Some(&mut self.lon),
                "lat" => Some(&mut self.lat),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether any range restricts anything.
    pub fn is_bounded(&self) -> bool {
        [self.x, self.y, self.lon, self.lat]
            .iter()
            .any(Range::is_bounded)
    }

    fn needs_lonlat(&self) -> bool {
        self.lon.is_bounded() || self.lat.is_bounded()
    }
}

/// A numeric literal (possibly cast) as `f64`; NaN and non-numbers give `None`.
fn number(e: &Expr) -> Option<f64> {
    let v = match e {
        Expr::Literal(v, _) => v.clone(),
        Expr::Cast(c) => match c.expr.as_ref() {
            Expr::Literal(v, _) => v.cast_to(c.field.data_type()).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    if !v.data_type().is_numeric() || v.is_null() {
        return None;
    }
    match v.cast_to(&arrow::datatypes::DataType::Float64).ok()? {
        ScalarValue::Float64(Some(f)) if !f.is_nan() => Some(f),
        _ => None,
    }
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
        known: &super::provider::KnownHeaders,
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
        let chunks = plan(state, def, conjuncts, inner, partitions, known)?;
        let bounds = PixelBounds::of(conjuncts);
        Self::try_new(PixelSpec {
            chunks,
            projection,
            bounds,
        })
    }

    /// A pixel scan doing `spec`.
    pub fn try_new(spec: PixelSpec) -> Result<Self> {
        let slices = super::exec::all_slices(spec.chunks.partitions.len())?;
        Self::with_slices(spec, slices)
    }

    /// A pixel scan doing `spec` over the chunk lists `slices` names (see
    /// [`CubeScanExec`]: the child a cluster scheduler restricts per task).
    pub fn with_slices(spec: PixelSpec, slices: Arc<dyn ExecutionPlan>) -> Result<Self> {
        let inner = Arc::new(CubeScanExec::with_slices(spec.chunks.clone(), slices)?);
        let full = schema::pixel_schema(&spec.chunks.def);
        let schema = Arc::new(full.project(&spec.projection)?);
        let n = inner.properties().output_partitioning().partition_count();
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(n.max(1)),
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
            "PixelScanExec: pixels≤{} ",
            self.spec.chunks.summary.rows * px
        )?;
        let b = &self.spec.bounds;
        for (name, r) in [("x", b.x), ("y", b.y), ("lon", b.lon), ("lat", b.lat)] {
            if r.is_bounded() {
                let side =
                    |v: Option<f64>| v.map_or("…".to_string(), |v| v.to_string());
                write!(f, "{name}∈[{}, {}] ", side(r.lo), side(r.hi))?;
            }
        }
        write!(f, "of ")?;
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
        vec![self.inner.slices()]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
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
            Ok([slices]) => Ok(Arc::new(PixelScanExec::with_slices(
                self.spec.as_ref().clone(),
                slices,
            )?)),
            Err(_) => internal_err!("PixelScanExec has one child"),
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
        let output_rows = MetricBuilder::new(&self.metrics).output_rows(partition);
        let def = Arc::clone(&self.spec.chunks.def);
        let projection = self.spec.projection.clone();
        let schema = Arc::clone(&self.schema);
        let grid_crs =
            Crs::parse(&def.grid.crs).map_err(|e| exec_datafusion_err!("{e}"))?;
        let wgs = Transformer::new(&grid_crs, &Crs::wgs84())
            .map_err(|e| exec_datafusion_err!("{e}"))?;
        let near = lonlat_box_in_grid(&self.spec.bounds, &grid_crs, &def.grid.transform);
        let explode = Arc::new(Exploder {
            def,
            bounds: self.spec.bounds.clone(),
            near,
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
                    match explode.row(&batch, r) {
                        Ok(rows) if rows.num_rows() == 0 => {}
                        Ok(rows) => {
                            output_rows.add(rows.num_rows());
                            out.push(Ok(rows));
                        }
                        Err(e) => out.push(Err(e)),
                    }
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
    bounds: PixelBounds,
    /// `[xmin, xmax, ymin, ymax]` in the grid's CRS holding every point of the
    /// lon/lat box, when both are bounded: pixels outside it are not projected.
    near: Option<[f64; 4]>,
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
        if n == 0 {
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
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

impl Exploder {
    /// The coordinates of chunk (`cx`, `cy`)'s in-grid pixels within the bounds,
    /// from the last call when it was the same chunk (with lon/lat if `lonlat`).
    fn coords(&self, cx: i32, cy: i32, lonlat: bool) -> Result<Coords> {
        let lonlat = lonlat || self.bounds.needs_lonlat();
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
        let mut offsets: Vec<u32> = (0..rows)
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
        let near = |x: f64, y: f64| {
            self.near
                .is_none_or(|[x0, x1, y0, y1]| x >= x0 && x <= x1 && y >= y0 && y <= y1)
        };
        let mut keep: Vec<bool> = xs
            .iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                self.bounds.x.contains(x) && self.bounds.y.contains(y) && near(x, y)
            })
            .collect();
        let mut lonlat = if lonlat {
            // Only the pixels still kept are projected (the others are dropped).
            let idx: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
            let mut lon: Vec<f64> = idx.iter().map(|&i| xs[i]).collect();
            let mut lat: Vec<f64> = idx.iter().map(|&i| ys[i]).collect();
            self.wgs
                .transform_points(&mut lon, &mut lat)
                .map_err(|e| exec_datafusion_err!("{e}"))?;
            let (mut lon_all, mut lat_all) = (vec![f64::NAN; n], vec![f64::NAN; n]);
            for (j, &i) in idx.iter().enumerate() {
                (lon_all[i], lat_all[i]) = (lon[j], lat[j]);
                keep[i] =
                    self.bounds.lon.contains(lon[j]) && self.bounds.lat.contains(lat[j]);
            }
            Some((lon_all, lat_all))
        } else {
            None
        };
        if keep.iter().any(|k| !k) {
            let retain = |v: &mut Vec<f64>| {
                let mut k = keep.iter();
                v.retain(|_| k.next().copied().unwrap_or(false));
            };
            retain(&mut xs);
            retain(&mut ys);
            if let Some((lon, lat)) = lonlat.as_mut() {
                retain(lon);
                retain(lat);
            }
            let mut k = keep.iter_mut();
            offsets.retain(|_| k.next().is_some_and(|k| *k));
        }
        let coords = Coords {
            offsets: Arc::new(UInt32Array::from(offsets)),
            x: Arc::new(Float64Array::from(xs)),
            y: Arc::new(Float64Array::from(ys)),
            lonlat: lonlat.map(|(lon, lat)| {
                (
                    Arc::new(Float64Array::from(lon)) as ArrayRef,
                    Arc::new(Float64Array::from(lat)) as ArrayRef,
                )
            }),
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some(((cx, cy), coords.clone()));
        }
        Ok(coords)
    }
}

/// A rectangle of the grid's CRS holding the lon/lat box of `bounds` (both lon and
/// lat bounded on both sides): the box's outline, 64 points an edge, projected, with
/// a margin of 1 % of its size plus two pixels for the curvature between points.
/// `None` when the box is not bounded or does not project.
fn lonlat_box_in_grid(
    bounds: &PixelBounds,
    grid_crs: &Crs,
    transform: &[f64; 6],
) -> Option<[f64; 4]> {
    let (Some(w), Some(e), Some(s), Some(n)) =
        (bounds.lon.lo, bounds.lon.hi, bounds.lat.lo, bounds.lat.hi)
    else {
        return None;
    };
    if !(w <= e && s <= n && w >= -180.0 && e <= 180.0 && s >= -90.0 && n <= 90.0) {
        return None;
    }
    let to_grid = Transformer::new(&Crs::wgs84(), grid_crs).ok()?;
    let steps = 64;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (lon, lat) = (w + (e - w) * t, s + (n - s) * t);
        for (x, y) in [(lon, s), (lon, n), (w, lat), (e, lat)] {
            xs.push(x);
            ys.push(y);
        }
    }
    to_grid.transform_points(&mut xs, &mut ys).ok()?;
    if xs.iter().chain(&ys).any(|v| !v.is_finite()) {
        return None;
    }
    let fold = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            })
    };
    let ((x0, x1), (y0, y1)) = (fold(&xs), fold(&ys));
    let pixel = transform[0]
        .abs()
        .max(transform[4].abs())
        .max(transform[1].abs());
    let margin = 0.01 * (x1 - x0).max(y1 - y0) + 2.0 * pixel;
    Some([x0 - margin, x1 + margin, y0 - margin, y1 + margin])
}

/// `values` with nodata (and NaN) as NULL.
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

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;

    #[test]
    fn bounds_of_range_filters() {
        let b = PixelBounds::of(&[
            col("lon").between(lit(10.5), lit(11.0)),
            lit(46.0).lt_eq(col("lat")),
            col("lat").lt(lit(47)),
            col("x").eq(lit(500_020.0)),
            col("y").gt(lit(1.0)),
            col("y").gt_eq(lit(3.0)),
            // Not ranges of a coordinate: ignored.
            col("red").gt(lit(3)),
            (col("x") + lit(1.0)).lt(lit(0.0)),
            col("lon").not_between(lit(0.0), lit(1.0)),
            col("lat").lt(lit(f64::NAN)),
        ]);
        let r = |lo, hi| Range { lo, hi };
        assert_eq!(b.lon, r(Some(10.5), Some(11.0)));
        assert_eq!(b.lat, r(Some(46.0), Some(47.0)));
        assert_eq!(b.x, r(Some(500_020.0), Some(500_020.0)));
        assert_eq!(b.y, r(Some(3.0), None));
        assert!(!PixelBounds::of(&[col("red").gt(lit(3))]).is_bounded());
    }

    #[test]
    fn the_lonlat_box_in_the_grid_holds_every_point_of_the_box() {
        let utm = Crs::parse("EPSG:32633").expect("crs");
        let r = |lo, hi| Range {
            lo: Some(lo),
            hi: Some(hi),
        };
        let to_grid = Transformer::new(&Crs::wgs84(), &utm).expect("transformer");
        // A small box and one of several degrees (curved edges in UTM).
        for (w, e, s, n) in [(15.05, 15.08, 45.09, 45.12), (12.0, 19.0, 40.0, 50.0)] {
            let b = PixelBounds {
                lon: r(w, e),
                lat: r(s, n),
                ..PixelBounds::default()
            };
            let t = [10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0];
            let [x0, x1, y0, y1] = lonlat_box_in_grid(&b, &utm, &t).expect("box");
            for i in 0..=40 {
                for j in 0..=40 {
                    let lon = w + (e - w) * i as f64 / 40.0;
                    let lat = s + (n - s) * j as f64 / 40.0;
                    let (x, y) = to_grid.transform_xy(lon, lat).expect("point");
                    assert!(x >= x0 && x <= x1 && y >= y0 && y <= y1, "({lon}, {lat})");
                }
            }
            // Not much larger than the box: the margin is 1 % plus two pixels.
            let (xa, _) = to_grid.transform_xy(w, s).expect("corner");
            let (xb, _) = to_grid.transform_xy(e, s).expect("corner");
            assert!((x1 - x0) < 1.2 * (xb - xa).abs().max(1.0) + 100.0);
        }
        // Open or impossible boxes: no rectangle.
        let open = PixelBounds {
            lon: Range {
                lo: Some(15.0),
                hi: None,
            },
            lat: r(45.0, 46.0),
            ..PixelBounds::default()
        };
        let t = [10.0, 0.0, 0.0, 0.0, -10.0, 0.0];
        assert!(lonlat_box_in_grid(&open, &utm, &t).is_none());
        let bad = PixelBounds {
            lon: r(15.0, 16.0),
            lat: r(95.0, 96.0),
            ..PixelBounds::default()
        };
        assert!(lonlat_box_in_grid(&bad, &utm, &t).is_none());
    }

    #[test]
    fn range_compares_as_arrow_does() {
        let above = Range {
            lo: Some(1.0),
            hi: None,
        };
        // Arrow orders NaN above every number: `lon >= 1` keeps NaN, `lon <= 1` not.
        assert!(above.contains(f64::NAN) && above.contains(1.0) && !above.contains(0.5));
        let below = Range {
            lo: None,
            hi: Some(1.0),
        };
        assert!(
            !below.contains(f64::NAN) && below.contains(1.0) && below.contains(-1e300)
        );
    }
}
