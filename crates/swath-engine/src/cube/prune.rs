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
