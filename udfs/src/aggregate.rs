//! What the aggregate `rs_*` functions share: per-pixel accumulators over the tiles
//! of a group (a chunk position, when grouped by `chunk_x, chunk_y`), their states for
//! multi-phase plans, and the memory they report to DataFusion's pool (`size()`, which
//! the aggregation reserves, so a group larger than the memory limit fails cleanly).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float64Array, ListArray, StructArray,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Float32Type, Float64Type, UInt32Type,
};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::Accumulator;

use crate::kernels::reduce::{GeomedianParams, stack_geomedian, stack_percentile};
use crate::tile::{TileMeta, Tiles, f32_tiles, primitive_tiles};

/// A one-row tile column as a scalar.
fn tile_scalar(array: ArrayRef) -> Result<ScalarValue> {
    ScalarValue::try_from_array(&array, 0)
}

/// Physical values of the non-null rows of a tile column, appended to `out`; the
/// number of tiles appended.
fn append_tiles(array: &ArrayRef, meta: &TileMeta, out: &mut Vec<f32>) -> Result<usize> {
    let Some(list) = array.as_fixed_size_list_opt() else {
        return exec_err!("expected a tile column, got {}", array.data_type());
    };
    if list.null_count() == 0 {
        Tiles { array: list, meta }.physical_into(out)?;
        return Ok(list.len());
    }
    let mut n = 0;
    for r in 0..list.len() {
        if list.is_valid(r) {
            let row = list.slice(r, 1);
            Tiles { array: &row, meta }.physical_into(out)?;
            n += 1;
        }
    }
    Ok(n)
}

/// What a stack of tiles reduces to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StackOutput {
    /// Per-pixel percentile (0..=100) of one band.
    Percentile(f64),
    /// Per-pixel geomedian of all bands: a struct of one tile per band.
    Geomedian,
    /// Spectral MAD from the geomedian.
    Smad,
    /// Euclidean MAD from the geomedian.
    Emad,
    /// Bray-Curtis MAD from the geomedian.
    Bcmad,
    /// Geomedian bands, the three MADs and the count of valid observations.
    GeomedianMads,
}

/// The return field of a stack reduction over tiles `metas` named `names`.
pub fn stack_return_field(
    func: &str,
    out: StackOutput,
    metas: &[TileMeta],
    names: &[String],
) -> Result<FieldRef> {
    let Some(first) = metas.first() else {
        return datafusion::common::plan_err!("{func}: expected at least one tile");
    };
    let float = first.physical();
    let multi = !matches!(out, StackOutput::Percentile(_));
    if multi && metas.len() > crate::kernels::reduce::MAX_BANDS {
        return datafusion::common::plan_err!(
            "{func}: at most {} bands, got {}",
            crate::kernels::reduce::MAX_BANDS,
            metas.len()
        );
    }
    let field = match out {
        StackOutput::Percentile(_)
        | StackOutput::Smad
        | StackOutput::Emad
        | StackOutput::Bcmad => float.field(func, true),
        StackOutput::Geomedian | StackOutput::GeomedianMads => {
            let mut fields: Vec<Field> =
                names.iter().map(|n| float.field(n, true)).collect();
            if out == StackOutput::GeomedianMads {
                for n in ["smad", "emad", "bcmad"] {
                    fields.push(float.field(n, true));
                }
                fields.push(first.derived(DataType::UInt32, None).field("count", true));
            }
            Field::new(func, DataType::Struct(Fields::from(fields)), true)
        }
    };
    Ok(Arc::new(field))
}

/// The state fields of a stack accumulator: one list of tiles per band.
pub fn stack_state_fields(func: &str, metas: &[TileMeta]) -> Vec<FieldRef> {
    metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let item = Field::new("item", m.physical().data_type(), true);
            Arc::new(Field::new(
                format!("{func}[stack{i}]"),
                DataType::List(Arc::new(item)),
                true,
            ))
        })
        .collect()
}

/// Keeps every observation of every band of a group, then reduces per pixel.
///
/// Tiles are kept as slices of the input's buffers when they already are physical
/// `f32` (the output of `rs_mask`, band math, …): no copy, no growing buffer. Other
/// tiles are converted once per input column.
#[derive(Debug)]
pub struct StackAccumulator {
    metas: Vec<TileMeta>,
    geomedian: GeomedianParams,
    /// Per band, one buffer of `len` physical values per kept observation.
    stacks: Vec<Vec<ScalarBuffer<f32>>>,
    tiles: usize,
    out: StackOutput,
    return_field: FieldRef,
}

impl StackAccumulator {
    /// An empty accumulator.
    pub fn new(metas: Vec<TileMeta>, out: StackOutput, return_field: FieldRef) -> Self {
        let stacks = vec![Vec::new(); metas.len()];
        StackAccumulator {
            metas,
            geomedian: GeomedianParams::default(),
            stacks,
            tiles: 0,
            out,
            return_field,
        }
    }

    /// Stop the geomedian's iterations at steps below `eps` (default 1e-7).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.geomedian.eps = eps;
        self
    }

    fn len(&self) -> usize {
        self.metas.first().map_or(0, TileMeta::len)
    }

    fn push_rows(&mut self, values: &[ArrayRef]) -> Result<()> {
        // An observation is kept only when every band's tile is present.
        let rows = values.first().map_or(0, |a| a.len());
        let len = self.len();
        let columns: Vec<ScalarBuffer<f32>> = values
            .iter()
            .zip(&self.metas)
            .map(|(v, m)| physical_buffer(v, m))
            .collect::<Result<_>>()?;
        for r in 0..rows {
            if values.iter().all(|a| a.is_valid(r)) {
                for (c, s) in columns.iter().zip(&mut self.stacks) {
                    s.push(c.slice(r * len, len));
                }
                self.tiles += 1;
            }
        }
        Ok(())
    }

    /// Per band, the kept tiles as slices.
    fn tile_slices(&self) -> Vec<Vec<&[f32]>> {
        self.stacks
            .iter()
            .map(|s| s.iter().map(|b| &b[..]).collect())
            .collect()
    }
}

/// The physical `f32` values of a tile column (every row, null rows included), the
/// column's own buffer when it already holds them.
fn physical_buffer(array: &ArrayRef, meta: &TileMeta) -> Result<ScalarBuffer<f32>> {
    let Some(list) = array.as_fixed_size_list_opt() else {
        return exec_err!("expected a tile column, got {}", array.data_type());
    };
    let tiles = Tiles { array: list, meta };
    let values = tiles.values();
    let physical = meta.scale == 1.0
        && meta.offset == 0.0
        && meta.nodata.is_none_or(f64::is_nan)
        && values.null_count() == 0;
    if physical && let Some(f) = values.as_primitive_opt::<Float32Type>() {
        return Ok(f.values().clone());
    }
    Ok(ScalarBuffer::from(tiles.physical()?))
}

impl Accumulator for StackAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let n = self.metas.len();
        self.push_rows(&values[..n.min(values.len())])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let len = self.len();
        let Some(first) = self.metas.first() else {
            return exec_err!("stack accumulator without tiles");
        };
        let float = first.physical();
        let counts_meta = first.derived(DataType::UInt32, None);
        let one = |v: Vec<f32>| f32_tiles(v, &float, None);
        let p = self.geomedian;
        let array: ArrayRef = match self.out {
            StackOutput::Percentile(q) => {
                let stacks = self.tile_slices();
                one(stack_percentile(&stacks[0], len, q))
            }
            StackOutput::Smad | StackOutput::Emad | StackOutput::Bcmad => {
                let stacks = self.tile_slices();
                let (_, [s, e, b], _) = stack_geomedian(&stacks, len, p, true);
                one(match self.out {
                    StackOutput::Smad => s,
                    StackOutput::Emad => e,
                    _ => b,
                })
            }
            StackOutput::Geomedian | StackOutput::GeomedianMads => {
                let mads = self.out == StackOutput::GeomedianMads;
                let stacks = self.tile_slices();
                let (bands, mad, counts) = stack_geomedian(&stacks, len, p, mads);
                let mut columns: Vec<ArrayRef> = bands.into_iter().map(one).collect();
                if mads {
                    columns.extend(mad.into_iter().map(one));
                    columns.push(primitive_tiles::<UInt32Type>(
                        counts,
                        &counts_meta,
                        None,
                    ));
                }
                let DataType::Struct(fields) = self.return_field.data_type() else {
                    return exec_err!("geomedian: return type is not a struct");
                };
                Arc::new(StructArray::try_new(fields.clone(), columns, None)?)
            }
        };
        tile_scalar(array)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .stacks
                .iter()
                .map(|s| s.iter().map(|b| b.len() * 4).sum::<usize>() + s.capacity() * 32)
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let float: Vec<TileMeta> = self.metas.iter().map(TileMeta::physical).collect();
        let len = self.len();
        self.stacks
            .iter_mut()
            .zip(&float)
            .map(|(s, meta)| {
                let mut values = Vec::with_capacity(s.len() * len);
                for b in std::mem::take(s) {
                    values.extend_from_slice(&b);
                }
                let tiles = f32_tiles(values, meta, None);
                let item = Arc::new(Field::new("item", tiles.data_type().clone(), true));
                let list = ListArray::new(
                    item,
                    OffsetBuffer::from_lengths([tiles.len()]),
                    tiles,
                    None,
                );
                Ok(ScalarValue::List(Arc::new(list)))
            })
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let float: Vec<TileMeta> = self.metas.iter().map(TileMeta::physical).collect();
        let mut merged = Vec::with_capacity(states.len());
        for s in states {
            let Some(list) = s.as_list_opt::<i32>() else {
                return exec_err!("stack state is not a list: {}", s.data_type());
            };
            merged.push(list.clone());
        }
        let rows = merged.first().map_or(0, |l| l.len());
        for r in 0..rows {
            let values: Vec<ArrayRef> = merged.iter().map(|l| l.value(r)).collect();
            let before = self.tiles;
            // stored physical: read back as unscaled float tiles
            let metas = std::mem::replace(&mut self.metas, float.clone());
            let res = self.push_rows(&values);
            self.metas = metas;
            res?;
            debug_assert!(self.tiles >= before);
        }
        Ok(())
    }
}

/// What a moments accumulator returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MomentsOutput {
    /// Per-pixel mean.
    Mean,
    /// Per-pixel population standard deviation.
    Std,
    /// Per-pixel count of valid observations.
    Count,
}

/// Per-pixel count, mean and sum of squared deviations (Welford; Chan's merge).
#[derive(Debug)]
pub struct MomentsAccumulator {
    meta: TileMeta,
    count: Vec<f64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
    out: MomentsOutput,
    scratch: Vec<f32>,
}

impl MomentsAccumulator {
    /// An empty accumulator.
    pub fn new(meta: TileMeta, out: MomentsOutput) -> Self {
        let n = meta.len();
        MomentsAccumulator {
            meta,
            count: vec![0.0; n],
            mean: vec![0.0; n],
            m2: vec![0.0; n],
            out,
            scratch: Vec::new(),
        }
    }

    /// Its state fields.
    pub fn state_fields(func: &str, meta: &TileMeta) -> Vec<FieldRef> {
        let t = meta.derived(DataType::Float64, None).data_type();
        ["count", "mean", "m2"]
            .iter()
            .map(|n| Arc::new(Field::new(format!("{func}[{n}]"), t.clone(), true)))
            .collect()
    }

    fn merge(&mut self, p: usize, n_b: f64, mean_b: f64, m2_b: f64) {
        if n_b == 0.0 {
            return;
        }
        let n_a = self.count[p];
        let n = n_a + n_b;
        let d = mean_b - self.mean[p];
        self.mean[p] += d * n_b / n;
        self.m2[p] += m2_b + d * d * n_a * n_b / n;
        self.count[p] = n;
    }
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let len = self.meta.len();
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let tiles = append_tiles(&values[0], &self.meta, &mut scratch)?;
        for t in 0..tiles {
            for (p, v) in scratch[t * len..(t + 1) * len].iter().enumerate() {
                if !v.is_nan() {
                    let x = f64::from(*v);
                    self.count[p] += 1.0;
                    let d = x - self.mean[p];
                    self.mean[p] += d / self.count[p];
                    self.m2[p] += d * (x - self.mean[p]);
                }
            }
        }
        self.scratch = scratch;
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let float = self.meta.physical();
        let array = match self.out {
            MomentsOutput::Count => primitive_tiles::<UInt32Type>(
                self.count.iter().map(|c| *c as u32).collect(),
                &self.meta.derived(DataType::UInt32, None),
                None,
            ),
            MomentsOutput::Mean => f32_tiles(
                self.count
                    .iter()
                    .zip(&self.mean)
                    .map(|(c, m)| if *c > 0.0 { *m as f32 } else { f32::NAN })
                    .collect(),
                &float,
                None,
            ),
            MomentsOutput::Std => f32_tiles(
                self.count
                    .iter()
                    .zip(&self.m2)
                    .map(|(c, m2)| {
                        if *c > 0.0 {
                            (m2 / c).max(0.0).sqrt() as f32
                        } else {
                            f32::NAN
                        }
                    })
                    .collect(),
                &float,
                None,
            ),
        };
        tile_scalar(array)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + (self.count.capacity() * 3) * 8
            + self.scratch.capacity() * 4
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let f64_meta = self.meta.derived(DataType::Float64, None);
        [&self.count, &self.mean, &self.m2]
            .into_iter()
            .map(|v| {
                tile_scalar(primitive_tiles::<Float64Type>(v.clone(), &f64_meta, None))
            })
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let len = self.meta.len();
        let cols = states
            .iter()
            .map(|s| {
                s.as_fixed_size_list_opt()
                    .and_then(|l| l.values().as_primitive_opt::<Float64Type>().cloned())
                    .map(|v| (s.offset() * len, v))
            })
            .collect::<Option<Vec<_>>>();
        let Some(cols) = cols else {
            return exec_err!("moments state is not three Float64 tiles");
        };
        let rows = states.first().map_or(0, |s| s.len());
        for r in 0..rows {
            if states[0].is_null(r) {
                continue;
            }
            for p in 0..len {
                let at = |c: usize| cols[c].1.value(cols[c].0 + r * len + p);
                self.merge(p, at(0), at(1), at(2));
            }
        }
        Ok(())
    }
}

/// Per-pixel minimum or maximum of physical values.
#[derive(Debug)]
pub struct ExtremeAccumulator {
    meta: TileMeta,
    value: Vec<f32>,
    max: bool,
    scratch: Vec<f32>,
}

impl ExtremeAccumulator {
    /// An empty accumulator (`max` or min).
    pub fn new(meta: TileMeta, max: bool) -> Self {
        let value = vec![f32::NAN; meta.len()];
        ExtremeAccumulator {
            meta,
            value,
            max,
            scratch: Vec::new(),
        }
    }

    /// Its state fields.
    pub fn state_fields(func: &str, meta: &TileMeta) -> Vec<FieldRef> {
        vec![Arc::new(Field::new(
            format!("{func}[value]"),
            meta.physical().data_type(),
            true,
        ))]
    }

    fn fold(&mut self, tiles: &[f32]) {
        let len = self.meta.len().max(1);
        for tile in tiles.chunks(len) {
            for (acc, v) in self.value.iter_mut().zip(tile) {
                if v.is_nan() {
                    continue;
                }
                if acc.is_nan() || (self.max && *v > *acc) || (!self.max && *v < *acc) {
                    *acc = *v;
                }
            }
        }
    }
}

impl Accumulator for ExtremeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        append_tiles(&values[0], &self.meta, &mut scratch)?;
        self.fold(&scratch);
        self.scratch = scratch;
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        tile_scalar(f32_tiles(self.value.clone(), &self.meta.physical(), None))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + (self.value.capacity() + self.scratch.capacity()) * 4
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let float = self.meta.physical();
        let mut scratch = Vec::new();
        append_tiles(&states[0], &float, &mut scratch)?;
        self.fold(&scratch);
        Ok(())
    }
}

/// Per-pixel first valid stored value, in input order (fusion, mosaics).
#[derive(Debug)]
pub struct FirstAccumulator {
    meta: TileMeta,
    value: Vec<f64>,
    missing: usize,
}

impl FirstAccumulator {
    /// An empty accumulator for tiles `meta`.
    pub fn new(meta: TileMeta) -> Self {
        let n = meta.len();
        FirstAccumulator {
            meta,
            value: vec![f64::NAN; n],
            missing: n,
        }
    }

    /// Its state fields.
    pub fn state_fields(func: &str, meta: &TileMeta) -> Vec<FieldRef> {
        let t = meta.derived(DataType::Float64, None).data_type();
        vec![Arc::new(Field::new(format!("{func}[value]"), t, true))]
    }

    fn fold(&mut self, list: &FixedSizeListArray, nodata: Option<f64>) -> Result<()> {
        if self.missing == 0 {
            return Ok(());
        }
        let len = self.meta.len();
        let values = arrow::compute::cast(
            &list.values().slice(list.offset() * len, list.len() * len),
            &DataType::Float64,
        )?;
        let values = values.as_primitive::<Float64Type>();
        for r in 0..list.len() {
            if list.is_null(r) {
                continue;
            }
            for p in 0..len {
                if !self.value[p].is_nan() {
                    continue;
                }
                let i = r * len + p;
                let v = values.value(i);
                if values.is_valid(i) && !crate::tile::is_missing(v, nodata) {
                    self.value[p] = v;
                    self.missing -= 1;
                }
            }
            if self.missing == 0 {
                break;
            }
        }
        Ok(())
    }
}

impl Accumulator for FirstAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(list) = values[0].as_fixed_size_list_opt() else {
            return exec_err!("rs_first: expected a tile column");
        };
        let nodata = self.meta.nodata;
        self.fold(list, nodata)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let nodata = self.meta.nodata.unwrap_or(f64::NAN);
        let filled: Float64Array = self
            .value
            .iter()
            .map(|v| Some(if v.is_nan() { nodata } else { *v }))
            .collect();
        let child = arrow::compute::cast(&filled, &self.meta.dtype)?;
        let item = first_output(&self.meta).item_field();
        let list =
            FixedSizeListArray::try_new(item, self.meta.len() as i32, child, None)?;
        tile_scalar(Arc::new(list))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![tile_scalar(primitive_tiles::<Float64Type>(
            self.value.clone(),
            &self.meta.derived(DataType::Float64, None),
            None,
        ))?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(list) = states[0].as_fixed_size_list_opt() else {
            return exec_err!("rs_first: state is not a tile");
        };
        self.fold(list, None)
    }
}

/// What `rs_first` returns for tiles `meta`: the same, with NaN as nodata for float
/// tiles that have none.
pub fn first_output(meta: &TileMeta) -> TileMeta {
    let mut out = meta.clone();
    if out.nodata.is_none() && !out.dtype.is_integer() {
        out.nodata = Some(f64::NAN);
    }
    out
}

/// `f32` physical tiles of a column (used by tests and callers that need them).
pub fn physical_f32(array: &ArrayRef, meta: &TileMeta) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    append_tiles(array, meta, &mut out)?;
    Ok(out)
}

/// The Float32 values of a one-tile scalar (for tests).
pub fn scalar_tile_values(v: &ScalarValue) -> Option<Vec<f32>> {
    let ScalarValue::FixedSizeList(l) = v else {
        return None;
    };
    l.values()
        .as_primitive_opt::<Float32Type>()
        .map(|a| a.values().to_vec())
}

/// The tile descriptions of the tile arguments, in order.
pub fn tile_metas(
    func: &str,
    params: &crate::scalar::Params,
    fields: &[FieldRef],
) -> Result<Vec<TileMeta>> {
    let metas: Vec<TileMeta> =
        params.tiles(func, fields)?.into_iter().flatten().collect();
    if let Some(first) = metas.first() {
        for (i, m) in metas.iter().enumerate().skip(1) {
            first.same_shape(func, params.name(0), m, params.name(i))?;
        }
    }
    Ok(metas)
}

/// Fields without metadata for types (for `return_type`, which sees no fields).
pub fn bare_fields(types: &[DataType]) -> Vec<FieldRef> {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| Arc::new(Field::new(format!("a{i}"), t.clone(), true)))
        .collect()
}

/// Implement `AggregateUDFImpl` for a struct with `PARAMS`, `fn plan(&self, fields)`,
/// `fn state(&self, fields)`, `fn make(&self, &AccumulatorArgs)` and a `#[user_doc]`.
macro_rules! aggregate_udf {
    ($ty:ident, $name:literal) => {
        impl datafusion::logical_expr::AggregateUDFImpl for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn signature(&self) -> &datafusion::logical_expr::Signature {
                &self.signature
            }

            fn return_type(
                &self,
                arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<arrow::datatypes::DataType> {
                let fields = $crate::aggregate::bare_fields(arg_types);
                Ok(self.plan(&fields)?.data_type().clone())
            }

            fn return_field(
                &self,
                arg_fields: &[arrow::datatypes::FieldRef],
            ) -> datafusion::common::Result<arrow::datatypes::FieldRef> {
                self.plan(arg_fields)
            }

            fn coerce_types(
                &self,
                arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<Vec<arrow::datatypes::DataType>> {
                Self::PARAMS.coerce($name, arg_types)
            }

            fn accumulator(
                &self,
                acc_args: datafusion::logical_expr::function::AccumulatorArgs,
            ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::Accumulator>> {
                self.make(&acc_args)
            }

            fn state_fields(
                &self,
                args: datafusion::logical_expr::function::StateFieldsArgs,
            ) -> datafusion::common::Result<Vec<arrow::datatypes::FieldRef>> {
                self.state(args.input_fields)
            }

            fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
                self.doc()
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $ty {
            /// A new instance of the function.
            pub fn new() -> Self {
                Self {
                    signature: datafusion::logical_expr::Signature::user_defined(
                        datafusion::logical_expr::Volatility::Immutable,
                    ),
                }
            }
        }
    };
}

pub(crate) use aggregate_udf;

/// The constant `p` of `rs_percentile(tile, p)`, checked to lie in [0, 100].
pub fn percentile_argument(
    args: &datafusion::logical_expr::function::AccumulatorArgs,
) -> Result<f64> {
    use datafusion::common::plan_err;
    use datafusion::physical_expr::expressions::Literal;
    let Some(e) = args.exprs.get(1) else {
        return plan_err!("rs_percentile: missing argument p");
    };
    let Some(lit) = e.downcast_ref::<Literal>() else {
        return plan_err!("rs_percentile: argument p must be a constant");
    };
    let q = match lit.value().cast_to(&DataType::Float64)? {
        ScalarValue::Float64(Some(v)) => v,
        _ => return plan_err!("rs_percentile: argument p must not be NULL"),
    };
    if !(0.0..=100.0).contains(&q) {
        return plan_err!("rs_percentile: argument p must be between 0 and 100, got {q}");
    }
    Ok(q)
}

/// Parameters of the multi-band reducers: one or more band tiles.
pub const BANDS: crate::scalar::Params = crate::scalar::Params {
    names: &["band"],
    kinds: &[crate::scalar::Kind::Tile],
    required: 1,
    variadic: true,
};

/// Parameters of the geomedian reducers: one or more band tiles, then optionally the
/// stopping step `eps` (a constant).
pub const BANDS_EPS: crate::scalar::Params = crate::scalar::Params {
    names: &["band"],
    kinds: &[crate::scalar::Kind::TileOrNumber],
    required: 1,
    variadic: true,
};

/// The band (tile) arguments of a multi-band reducer: every argument, or all but a
/// trailing number where `params` takes one (`BANDS_EPS`); a number elsewhere is an
/// error.
pub fn band_fields<'a>(
    func: &str,
    params: &crate::scalar::Params,
    fields: &'a [FieldRef],
) -> Result<&'a [FieldRef]> {
    use crate::tile::is_tile_type;
    let takes_eps = params.kinds.last() == Some(&crate::scalar::Kind::TileOrNumber);
    let bands = match fields.split_last() {
        Some((last, rest)) if takes_eps && !is_tile_type(last.data_type()) => rest,
        _ => fields,
    };
    if let Some(f) = bands.iter().find(|f| !is_tile_type(f.data_type())) {
        return datafusion::common::plan_err!(
            "{func}: every argument but a last eps must be a band tile, got {}",
            f.data_type()
        );
    }
    Ok(bands)
}

/// The geomedian's stopping step: the last argument, a constant number > 0.
pub fn eps_argument(
    func: &str,
    args: &datafusion::logical_expr::function::AccumulatorArgs,
) -> Result<f64> {
    use datafusion::common::plan_err;
    use datafusion::physical_expr::expressions::Literal;
    let Some(lit) = args.exprs.last().and_then(|e| e.downcast_ref::<Literal>()) else {
        return plan_err!("{func}: eps (the last argument) must be a constant");
    };
    match lit.value().cast_to(&DataType::Float64)? {
        ScalarValue::Float64(Some(v)) if v.is_finite() && v > 0.0 => Ok(v),
        v => plan_err!("{func}: eps must be a number > 0, got {v}"),
    }
}

/// Implement an aggregate that keeps the group's tiles and reduces them per pixel
/// with a [`StackOutput`]: `stack_udf!(Type, "name", output, params)`.
macro_rules! stack_udf {
    ($ty:ident, $name:literal, $out:expr, $params:expr) => {
        $crate::aggregate::aggregate_udf!($ty, $name);

        impl $ty {
            const PARAMS: $crate::scalar::Params = $params;

            fn plan(
                &self,
                fields: &[arrow::datatypes::FieldRef],
            ) -> datafusion::common::Result<arrow::datatypes::FieldRef> {
                let bands = $crate::aggregate::band_fields($name, &Self::PARAMS, fields)?;
                let metas = $crate::aggregate::tile_metas($name, &Self::PARAMS, bands)?;
                let names: Vec<String> = bands.iter().map(|f| f.name().clone()).collect();
                $crate::aggregate::stack_return_field($name, $out, &metas, &names)
            }

            fn state(
                &self,
                fields: &[arrow::datatypes::FieldRef],
            ) -> datafusion::common::Result<Vec<arrow::datatypes::FieldRef>> {
                let bands = $crate::aggregate::band_fields($name, &Self::PARAMS, fields)?;
                let metas = $crate::aggregate::tile_metas($name, &Self::PARAMS, bands)?;
                Ok($crate::aggregate::stack_state_fields($name, &metas))
            }

            fn make(
                &self,
                args: &datafusion::logical_expr::function::AccumulatorArgs,
            ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::Accumulator>>
            {
                let bands =
                    $crate::aggregate::band_fields($name, &Self::PARAMS, args.expr_fields)?;
                let metas = $crate::aggregate::tile_metas($name, &Self::PARAMS, bands)?;
                let mut acc = $crate::aggregate::StackAccumulator::new(
                    metas,
                    $out,
                    std::sync::Arc::clone(&args.return_field),
                );
                if bands.len() < args.exprs.len() {
                    acc = acc.with_eps($crate::aggregate::eps_argument($name, args)?);
                }
                Ok(Box::new(acc))
            }
        }
    };
}

pub(crate) use stack_udf;
