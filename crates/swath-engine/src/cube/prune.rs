//! Filters → which observations and chunks a scan reads.
//!
//! A WHERE conjunct that mentions only item columns (`datetime`, `cloud_cover`,
//! `platform`, …) is evaluated, with DataFusion's own expression evaluation, on a
//! batch holding one row of metadata per observation: exactly the values the rows
//! would carry, so pruning never changes a result. A conjunct that mentions only
//! placement columns (`chunk_x`, `chunk_y`, `footprint`, e.g.
//! `st_intersects(footprint, st_makeenvelope(…))`) is evaluated the same way on one
//! row per candidate chunk. Everything else is left to the filter above the scan
//! (pushdown is `Inexact`).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::datatypes::Schema;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, Result, internal_datafusion_err};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::split_conjunction;

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
