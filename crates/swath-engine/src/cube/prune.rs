//! Filters → which observations and chunks a scan reads.
//!
//! A WHERE conjunct that mentions only item columns (`datetime`, `cloud_cover`,
//! `platform`, …) is evaluated, with DataFusion's own expression evaluation, on a
//! batch holding one row of metadata per observation: exactly the values the rows
//! would carry, so pruning never changes a result. A conjunct that mentions only
//! placement columns (`chunk_x`, `chunk_y`, `footprint`, e.g.
//! `st_intersects(footprint, st_makeenvelope(…))`) is evaluated the same way on one
//! row per candidate chunk. In the pixel view, conjuncts on `x`, `y`, `lon`, `lat`
//! prune chunks by their bounds (DataFusion's min/max pruning). Everything else is
//! left to the filter above the scan (pushdown is `Inexact`).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, UInt64Array,
};
use arrow::datatypes::Schema;
use datafusion::catalog::Session;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{
    Column, DFSchema, Result, ScalarValue, internal_datafusion_err,
};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;

use super::exec::footprint_wkb;
use super::model::CubeDef;
use super::schema;

/// The conjuncts of `filters`, with table qualifiers removed.
pub fn conjuncts(filters: &[Expr]) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    for f in filters {
        for c in split_conjunction(f) {
            let unqualified = c
                .clone()
                .transform(|e| {
                    Ok(match e {
                        Expr::Column(col) if col.relation.is_some() => {
                            Transformed::yes(Expr::Column(Column::from_name(col.name)))
                        }
                        other => Transformed::no(other),
                    })
                })?
                .data;
            out.push(unqualified);
        }
    }
    Ok(out)
}

fn references_only(expr: &Expr, allowed: &HashSet<&str>) -> bool {
    expr.column_refs()
        .iter()
        .all(|c| allowed.contains(c.name.as_str()))
}

fn mentions(expr: &Expr, name: &str) -> bool {
    expr.column_refs().iter().any(|c| c.name == name)
}

/// Evaluate `exprs` on `batch`; a row passes when every one is true (NULL fails).
fn evaluate(
    state: &dyn Session,
    exprs: &[&Expr],
    batch: &RecordBatch,
) -> Result<Vec<bool>> {
    let n = batch.num_rows();
    let mut mask = vec![true; n];
    if exprs.is_empty() || n == 0 {
        return Ok(mask);
    }
    let df_schema = DFSchema::try_from(batch.schema().as_ref().clone())?;
    for e in exprs {
        let phys = state.create_physical_expr((*e).clone(), &df_schema)?;
        let values = phys.evaluate(batch)?.into_array(n)?;
        let b = values
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| internal_datafusion_err!("filter {e} is not boolean"))?;
        for (i, m) in mask.iter_mut().enumerate() {
            *m &= b.is_valid(i) && b.value(i);
        }
    }
    Ok(mask)
}

/// Which observations the filters keep.
pub fn observations(
    state: &dyn Session,
    def: &CubeDef,
    filters: &[Expr],
) -> Result<Vec<bool>> {
    let full = schema::chunk_schema(def);
    let n_item = schema::ITEM_COLUMNS.len() + def.props.len();
    let fields: Vec<_> = full.fields().iter().take(n_item).cloned().collect();
    let allowed: HashSet<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    let exprs: Vec<&Expr> = filters
        .iter()
        .filter(|e| references_only(e, &allowed))
        .collect();
    if exprs.is_empty() {
        return Ok(vec![true; def.observations.len()]);
    }
    let all: Vec<usize> = (0..def.observations.len()).collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        schema::item_columns(def, &all),
    )?;
    evaluate(state, &exprs, &batch)
}

/// Which of `chunks` the filters keep.
pub fn chunks(
    state: &dyn Session,
    def: &CubeDef,
    filters: &[Expr],
    chunks: &[(i32, i32)],
) -> Result<Vec<bool>> {
    let allowed: HashSet<&str> = schema::CHUNK_COLUMNS.into_iter().collect();
    let exprs: Vec<&Expr> = filters
        .iter()
        .filter(|e| !e.column_refs().is_empty() && references_only(e, &allowed))
        .collect();
    if exprs.is_empty() || chunks.is_empty() {
        return Ok(vec![true; chunks.len()]);
    }
    let need_footprint = exprs.iter().any(|e| mentions(e, "footprint"));
    let grid = def.grid.grid()?;
    let footprints = chunks
        .iter()
        .map(|&(cx, cy)| {
            if need_footprint {
                footprint_wkb(&grid, def.grid.chunk_window(cx, cy))
            } else {
                Ok(Vec::new())
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let full = schema::chunk_schema(def);
    let n_item = schema::ITEM_COLUMNS.len() + def.props.len();
    let fields: Vec<_> = full
        .fields()
        .iter()
        .skip(n_item)
        .take(schema::CHUNK_COLUMNS.len())
        .cloned()
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        schema::chunk_columns(chunks, &footprints)?,
    )?;
    evaluate(state, &exprs, &batch)
}

/// Per-chunk bounds of the pixel view's placement columns, for DataFusion's
/// min/max pruning.
struct PixelChunkStats {
    columns: std::collections::HashMap<&'static str, (ArrayRef, ArrayRef)>,
    n: usize,
}

impl PruningStatistics for PixelChunkStats {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.columns
            .get(column.name.as_str())
            .map(|(min, _)| Arc::clone(min))
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.columns
            .get(column.name.as_str())
            .map(|(_, max)| Arc::clone(max))
    }

    fn num_containers(&self) -> usize {
        self.n
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        self.columns
            .get(column.name.as_str())
            .map(|_| Arc::new(UInt64Array::from(vec![0u64; self.n])) as ArrayRef)
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        None
    }

    fn contained(
        &self,
        _column: &Column,
        _values: &HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}

/// Pixel view: which of `chunks` can hold pixels the filters on `x`, `y`, `lon`,
/// `lat` (and `chunk_x`, `chunk_y`) keep, from each chunk's bounds (pixel centres
/// in grid coordinates; the densified lon/lat outline of the chunk).
pub fn pixel_chunks(
    state: &dyn Session,
    def: &CubeDef,
    filters: &[Expr],
    chunks: &[(i32, i32)],
) -> Result<Vec<bool>> {
    let allowed: HashSet<&str> = ["x", "y", "lon", "lat", "chunk_x", "chunk_y"]
        .into_iter()
        .collect();
    let exprs: Vec<Expr> = filters
        .iter()
        .filter(|e| !e.column_refs().is_empty() && references_only(e, &allowed))
        .cloned()
        .collect();
    let need_lonlat = exprs
        .iter()
        .any(|e| mentions(e, "lon") || mentions(e, "lat"));
    let Some(conj) = exprs.into_iter().reduce(Expr::and) else {
        return Ok(vec![true; chunks.len()]);
    };
    if chunks.is_empty() {
        return Ok(Vec::new());
    }
    let schema = schema::pixel_schema(def);
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let phys = state.create_physical_expr(conj, &df_schema)?;
    let Some(predicate) = PruningPredicateBuilder::new()
        .with_file_schema(Arc::clone(&schema))
        .build(phys)
    else {
        // Nothing the bounds can decide.
        return Ok(vec![true; chunks.len()]);
    };
    let g = &def.grid;
    let grid = g.grid()?;
    let [a, b, c, d, e, f] = g.transform;
    let n = chunks.len();
    let mut v: std::collections::HashMap<&'static str, (Vec<f64>, Vec<f64>)> =
        ["x", "y", "lon", "lat"]
            .into_iter()
            .map(|k| (k, (Vec::with_capacity(n), Vec::with_capacity(n))))
            .collect();
    for &(cx, cy) in chunks {
        let w = g.chunk_window(cx, cy);
        let col0 = w.col as f64 + 0.5;
        let col1 = (w.col + w.width as i64).min(g.width as i64) as f64 - 0.5;
        let row0 = w.row as f64 + 0.5;
        let row1 = (w.row + w.height as i64).min(g.height as i64) as f64 - 0.5;
        let xs = [
            c + a * col0 + b * row0,
            c + a * col1 + b * row0,
            c + a * col0 + b * row1,
            c + a * col1 + b * row1,
        ];
        let ys = [
            f + d * col0 + e * row0,
            f + d * col1 + e * row0,
            f + d * col0 + e * row1,
            f + d * col1 + e * row1,
        ];
        let push =
            |v: &mut std::collections::HashMap<&'static str, (Vec<f64>, Vec<f64>)>,
             k: &'static str,
             lo: f64,
             hi: f64| {
                if let Some((mins, maxs)) = v.get_mut(k) {
                    mins.push(lo);
                    maxs.push(hi);
                }
            };
        push(
            &mut v,
            "x",
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        push(
            &mut v,
            "y",
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let (lon, lat) = if need_lonlat {
            let outline = swath_grid::footprint_lonlat(&grid, w, 16)
                .map_err(|e| datafusion::common::DataFusionError::Plan(e.to_string()))?;
            let r = geo::BoundingRect::bounding_rect(&outline).map_or(
                [
                    f64::NEG_INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::INFINITY,
                ],
                |r| [r.min().x, r.max().x, r.min().y, r.max().y],
            );
            ((r[0], r[1]), (r[2], r[3]))
        } else {
            (
                (f64::NEG_INFINITY, f64::INFINITY),
                (f64::NEG_INFINITY, f64::INFINITY),
            )
        };
        push(&mut v, "lon", lon.0, lon.1);
        push(&mut v, "lat", lat.0, lat.1);
    }
    let mut columns: std::collections::HashMap<&'static str, (ArrayRef, ArrayRef)> = v
        .into_iter()
        .map(|(k, (lo, hi))| {
            (
                k,
                (
                    Arc::new(Float64Array::from(lo)) as ArrayRef,
                    Arc::new(Float64Array::from(hi)) as ArrayRef,
                ),
            )
        })
        .collect();
    let cxs: ArrayRef = Arc::new(Int32Array::from(
        chunks.iter().map(|p| p.0).collect::<Vec<_>>(),
    ));
    let cys: ArrayRef = Arc::new(Int32Array::from(
        chunks.iter().map(|p| p.1).collect::<Vec<_>>(),
    ));
    columns.insert("chunk_x", (Arc::clone(&cxs), cxs));
    columns.insert("chunk_y", (Arc::clone(&cys), cys));
    predicate.prune(&PixelChunkStats { columns, n })
}

/// How far a pushed time range is widened on each side: the items of one
/// collection and solar day (one observation) are less than two days apart, so
/// every item of an observation whose first item is in range is found.
const SOLAR_DAY_MARGIN: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// A STAC API table's search for one query: the table's options' filter, narrowed
/// by the conjuncts a search can say. `None` when they exclude each other.
///
/// - `datetime` and `solar_day` comparisons and BETWEEN become the search's
///   `datetime`, widened by two days each side so that every observation is whole;
/// - `collection = …` / `IN (…)` its `collections`; `item_id` its `ids` (only
///   with `group_by 'none'`, where a row is one item);
/// - comparisons of promoted properties with a constant (`cloud_cover < 20`,
///   `platform = 'sentinel-2a'`) a CQL2 `filter` on the property: items are chosen
///   before they fuse into observations;
/// - `st_intersects(footprint, <constant geometry>)`, and in the pixel view ranges
///   of `lon`/`lat`, a `bbox`: the lon/lat box of the chunks they touch (so no
///   item that reaches into one of those chunks is left out).
///
/// Everything else stays with the filter above the scan; what the server ignores
/// is checked on our side when the items arrive.
pub fn search_filter(
    state: &dyn Session,
    def: &CubeDef,
    conjuncts: &[Expr],
) -> Result<Option<swath_catalog::Filter>> {
    use datafusion::logical_expr::{Between, BinaryExpr, Operator, expr::InList};
    use swath_catalog::{Predicate, TimeRange};

    let mut filter = crate::factory::options_filter(&def.options)?;
    let mut start: Option<i64> = None;
    let mut end: Option<i64> = None;
    let mut collections: Option<HashSet<String>> = None;
    let mut ids: Option<HashSet<String>> = None;
    let mut lonlat = [-180.0f64, -90.0, 180.0, 90.0];
    let mut lonlat_given = false;
    let mut boxes: Vec<[f64; 4]> = Vec::new();
    let one_item_rows = def.options.group_by == crate::options::GroupBy::None;

    // Column, operator, constant: from `col op lit` or `lit op col`.
    let comparison = |e: &Expr| -> Option<(String, Operator, ScalarValue)> {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
            return None;
        };
        match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), v) => Some((c.name.clone(), *op, constant(v)?)),
            (v, Expr::Column(c)) => Some((c.name.clone(), op.swap()?, constant(v)?)),
            _ => None,
        }
    };
    let mut narrow = |column: &str, op: Operator, value: &ScalarValue| {
        let micros = match column {
            "datetime" => timestamp_micros(value),
            // A solar day is within a day of the UTC date.
            "solar_day" => date_micros(value),
            _ => None,
        };
        if let Some(t) = micros {
            let (lo, hi) = match op {
                Operator::Eq => (Some(t), Some(t)),
                Operator::Gt | Operator::GtEq => (Some(t), None),
                Operator::Lt | Operator::LtEq => (None, Some(t)),
                _ => (None, None),
            };
            if let Some(lo) = lo {
                start = Some(start.map_or(lo, |s| s.max(lo)));
            }
            if let Some(hi) = hi {
                end = Some(end.map_or(hi, |e| e.min(hi)));
            }
            return true;
        }
        if def.options.view == crate::options::View::Pixels
            && matches!(column, "lon" | "lat")
            && let Some(v) = number(value)
        {
            let (lo, hi) = if column == "lon" { (0, 2) } else { (1, 3) };
            match op {
                Operator::Eq => {
                    lonlat[lo] = lonlat[lo].max(v);
                    lonlat[hi] = lonlat[hi].min(v);
                }
                Operator::Gt | Operator::GtEq => lonlat[lo] = lonlat[lo].max(v),
                Operator::Lt | Operator::LtEq => lonlat[hi] = lonlat[hi].min(v),
                _ => return false,
            }
            lonlat_given = true;
            return true;
        }
        false
    };

    for c in conjuncts {
        if let Expr::Literal(ScalarValue::Boolean(Some(false) | None), _) = c {
            // `WHERE false`, or a contradiction DataFusion simplified to it.
            return Ok(None);
        }
        if let Some((column, op, value)) = comparison(c) {
            if narrow(&column, op, &value) {
                continue;
            }
            let string = match &value {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
                _ => None,
            };
            match (column.as_str(), op, string) {
                ("collection", Operator::Eq, Some(s)) => {
                    keep_only(&mut collections, [s]);
                    continue;
                }
                ("item_id", Operator::Eq, Some(s)) if one_item_rows => {
                    keep_only(&mut ids, [s]);
                    continue;
                }
                _ => {}
            }
            if let Some(p) = def.props.iter().find(|p| p.column == column)
                && let Some(op) = catalog_op(op)
                && let Some(v) = json_constant(&value, p.kind)
            {
                filter
                    .predicates
                    .push(Predicate::new(p.property.clone(), op, v));
            }
            continue;
        }
        match c {
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                if let (Expr::Column(col), Some(low), Some(high)) =
                    (expr.as_ref(), constant(low), constant(high))
                {
                    narrow(&col.name, Operator::GtEq, &low);
                    narrow(&col.name, Operator::LtEq, &high);
                }
            }
            Expr::InList(InList {
                expr,
                list,
                negated: false,
            }) => {
                let Expr::Column(col) = expr.as_ref() else {
                    continue;
                };
                let values: Option<Vec<String>> = list
                    .iter()
                    .map(|v| match constant(v)? {
                        ScalarValue::Utf8(Some(s))
                        | ScalarValue::LargeUtf8(Some(s))
                        | ScalarValue::Utf8View(Some(s)) => Some(s),
                        _ => None,
                    })
                    .collect();
                match (col.name.as_str(), values) {
                    ("collection", Some(v)) => keep_only(&mut collections, v),
                    ("item_id", Some(v)) if one_item_rows => keep_only(&mut ids, v),
                    _ => {}
                }
            }
            Expr::ScalarFunction(f) if f.name() == "st_intersects" => {
                if let [a, b] = f.args.as_slice() {
                    let other = match (a, b) {
                        (Expr::Column(col), other) | (other, Expr::Column(col))
                            if col.name == "footprint" =>
                        {
                            other
                        }
                        _ => continue,
                    };
                    if let Some(b) = constant_bounds(state, other)? {
                        boxes.push(b);
                    }
                }
            }
            _ => {}
        }
    }
    if lonlat_given {
        boxes.push(lonlat);
    }

    // Time: the options' range, narrowed, then widened to whole observations.
    let options_time = filter.time.take();
    let mut lo = start.and_then(chrono::DateTime::from_timestamp_micros);
    let mut hi = end.and_then(chrono::DateTime::from_timestamp_micros);
    if let (Some(a), Some(b)) = (lo, hi)
        && a > b
    {
        return Ok(None);
    }
    lo = lo.map(|t| t - SOLAR_DAY_MARGIN);
    hi = hi.map(|t| t + SOLAR_DAY_MARGIN);
    if let Some(o) = options_time {
        lo = match (lo, o.start) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        hi = match (hi, o.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    if let (Some(a), Some(b)) = (lo, hi)
        && a > b
    {
        return Ok(None);
    }
    if lo.is_some() || hi.is_some() {
        filter.time = Some(TimeRange { start: lo, end: hi });
    }

    if let Some(wanted) = collections {
        if !filter.collections.is_empty() {
            filter.collections.retain(|c| wanted.contains(c));
        } else {
            filter.collections = wanted.into_iter().collect();
            filter.collections.sort();
        }
        if filter.collections.is_empty() {
            return Ok(None);
        }
    }
    if let Some(wanted) = ids {
        if wanted.is_empty() {
            return Ok(None);
        }
        filter.ids = wanted.into_iter().collect();
        filter.ids.sort();
    }

    // Space: every box, made whole chunks, intersected with the table's bbox.
    let mut space = filter.bbox.map(|b| [b.west, b.south, b.east, b.north]);
    for b in boxes {
        if !(b[0] <= b[2] && b[1] <= b[3]) {
            return Ok(None);
        }
        let Some(b) = chunk_aligned(def, b) else {
            continue;
        };
        space = Some(match space {
            None => b,
            Some(s) => [
                s[0].max(b[0]),
                s[1].max(b[1]),
                s[2].min(b[2]),
                s[3].min(b[3]),
            ],
        });
    }
    if let Some(s) = space {
        if !(s[0] <= s[2] && s[1] <= s[3]) {
            return Ok(None);
        }
        filter.bbox = swath_catalog::Bbox::from_slice(&s).ok();
    }
    Ok(Some(filter))
}

/// Keep only `values` in `set` (`None`: every value so far).
fn keep_only(
    set: &mut Option<HashSet<String>>,
    values: impl IntoIterator<Item = String>,
) {
    let values: HashSet<String> = values.into_iter().collect();
    *set = Some(match set.take() {
        None => values,
        Some(s) => s.intersection(&values).cloned().collect(),
    });
}

/// A constant: a literal, or a cast of one (as type coercion leaves
/// `datetime >= '2024-06-01'`).
fn constant(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => constant(&c.expr)?.cast_to(c.field.data_type()).ok(),
        Expr::TryCast(c) => constant(&c.expr)?.cast_to(c.field.data_type()).ok(),
        _ => None,
    }
}

fn timestamp_micros(v: &ScalarValue) -> Option<i64> {
    let target = arrow::datatypes::DataType::Timestamp(
        arrow::datatypes::TimeUnit::Microsecond,
        Some("UTC".into()),
    );
    match v.cast_to(&target).ok()? {
        ScalarValue::TimestampMicrosecond(Some(t), _) => Some(t),
        _ => None,
    }
}

/// A date (a solar day) as the UTC midnight that starts it, in microseconds.
fn date_micros(v: &ScalarValue) -> Option<i64> {
    match v.cast_to(&arrow::datatypes::DataType::Date32).ok()? {
        ScalarValue::Date32(Some(d)) => Some(i64::from(d) * 86_400_000_000),
        _ => None,
    }
}

fn number(v: &ScalarValue) -> Option<f64> {
    match v.cast_to(&arrow::datatypes::DataType::Float64).ok()? {
        ScalarValue::Float64(Some(x)) if x.is_finite() => Some(x),
        _ => None,
    }
}

fn catalog_op(op: datafusion::logical_expr::Operator) -> Option<swath_catalog::Op> {
    use datafusion::logical_expr::Operator;
    use swath_catalog::Op;
    Some(match op {
        Operator::Eq => Op::Eq,
        Operator::NotEq => Op::Ne,
        Operator::Lt => Op::Lt,
        Operator::LtEq => Op::Le,
        Operator::Gt => Op::Gt,
        Operator::GtEq => Op::Ge,
        _ => return None,
    })
}

/// A constant as the JSON value of a property of `kind`.
fn json_constant(
    v: &ScalarValue,
    kind: super::model::PropKind,
) -> Option<serde_json::Value> {
    use super::model::PropKind;
    match kind {
        PropKind::Float => number(v).map(serde_json::Value::from),
        PropKind::Text => match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => Some(serde_json::Value::from(s.clone())),
            _ => None,
        },
        PropKind::Bool => match v {
            ScalarValue::Boolean(Some(b)) => Some(serde_json::Value::from(*b)),
            _ => None,
        },
    }
}

/// The lon/lat bounds of a constant geometry expression (WKB), if it is one.
fn constant_bounds(state: &dyn Session, e: &Expr) -> Result<Option<[f64; 4]>> {
    use geo::BoundingRect;
    use geo_traits::to_geo::ToGeoGeometry;
    if !e.column_refs().is_empty() {
        return Ok(None);
    }
    // Geometry constants are GeoArrow values; `st_asbinary` makes them WKB.
    let Some(as_binary) = state.scalar_functions().get("st_asbinary") else {
        return Ok(None);
    };
    let wkb_expr =
        Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
            Arc::clone(as_binary),
            vec![e.clone()],
        ));
    let empty = DFSchema::empty();
    let Ok(phys) = state.create_physical_expr(wkb_expr, &empty) else {
        return Ok(None);
    };
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let Ok(value) = phys.evaluate(&batch) else {
        return Ok(None);
    };
    let scalar = match value {
        datafusion::logical_expr::ColumnarValue::Scalar(s) => s,
        datafusion::logical_expr::ColumnarValue::Array(a) => {
            ScalarValue::try_from_array(&a, 0)?
        }
    };
    let bytes = match &scalar {
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => b.clone(),
        _ => return Ok(None),
    };
    let Ok(wkb) = wkb::reader::read_wkb(&bytes) else {
        return Ok(None);
    };
    let geometry: geo_types::Geometry<f64> = wkb.to_geometry();
    Ok(geometry
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]))
}

/// The lon/lat box of the table's chunks that a lon/lat box touches, with one
/// chunk more on each side (the chunk footprints are densified outlines).
fn chunk_aligned(def: &CubeDef, b: [f64; 4]) -> Option<[f64; 4]> {
    use swath_grid::{Crs, Transformer};
    let g = &def.grid;
    let crs = Crs::parse(&g.crs).ok()?;
    let [a, rb, c, rd, e, f] = g.transform;
    if rb != 0.0 || rd != 0.0 || a <= 0.0 || e >= 0.0 {
        return None;
    }
    let onto = Transformer::new(&Crs::wgs84(), &crs).ok()?;
    let p = onto.transform_bounds(b, 21).ok()?;
    let step_x = a * f64::from(g.chunk_width);
    let step_y = -e * f64::from(g.chunk_height);
    let cx0 = ((p[0] - c) / step_x).floor() - 1.0;
    let cx1 = ((p[2] - c) / step_x).ceil() + 1.0;
    let cy0 = ((f - p[3]) / step_y).floor() - 1.0;
    let cy1 = ((f - p[1]) / step_y).ceil() + 1.0;
    let chunks = [
        c + cx0 * step_x,
        f - cy1 * step_y,
        c + cx1 * step_x,
        f - cy0 * step_y,
    ];
    let back = Transformer::new(&crs, &Crs::wgs84()).ok()?;
    let l = back.transform_bounds(chunks, 21).ok()?;
    Some([
        l[0].max(-180.0),
        l[1].max(-90.0),
        l[2].min(180.0),
        l[3].min(90.0),
    ])
}
