//! Batches of tile rows are sized in bytes, not rows.
//!
//! DataFusion's `FilterExec` coalesces small batches until it holds
//! `datafusion.execution.batch_size` rows (8192).
//! A tile row is a megabyte or more (a 512² chunk of several bands), so a filter over
//! a datacube scan (`WHERE st_intersects(footprint, …)`) would hold the whole input
//! of a partition before passing anything on: memory that grows with the number of
//! chunks and observations. [`TileBatches`] caps it at the rows that make
//! [`TARGET_BATCH_BYTES`]. (`RepartitionExec` coalesces by the session's batch size
//! too, and cannot be capped per operator: datacube scans declare their chunk
//! partitioning so that chunk aggregations need no repartition.)

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::config::ConfigOptions;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;

/// The bytes of fixed-size (tile) values a coalesced batch aims at.
pub const TARGET_BATCH_BYTES: usize = 16 << 20;

/// Physical optimizer rule: filters over tile rows coalesce up to
/// [`TARGET_BATCH_BYTES`] instead of `batch_size` rows.
#[derive(Debug, Default)]
pub struct TileBatches;

impl PhysicalOptimizerRule for TileBatches {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let default = usize::from(config.execution.batch_size);
        plan.transform_up(|node| {
            let any: &dyn std::any::Any = node.as_ref();
            if let Some(f) = any.downcast_ref::<FilterExec>() {
                let rows = batch_rows(&f.input().schema(), default);
                if rows < f.batch_size() {
                    let capped: Arc<dyn ExecutionPlan> =
                        Arc::new(f.with_batch_size(rows)?);
                    return Ok(Transformed::yes(capped));
                }
            }
            Ok(Transformed::no(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "swath_tile_batches"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Rows per coalesced batch of `schema`: `default`, or fewer so that the fixed-size
/// (tile) values of a batch stay near [`TARGET_BATCH_BYTES`] (at least one row).
pub fn batch_rows(schema: &Schema, default: usize) -> usize {
    let row: usize = schema
        .fields()
        .iter()
        .map(|f| fixed_bytes(f.data_type()))
        .sum();
    if row == 0 {
        return default;
    }
    (TARGET_BATCH_BYTES / row).clamp(1, default.max(1))
}

/// Bytes of the fixed-size lists (tiles) in one value of `t`, structs included.
fn fixed_bytes(t: &DataType) -> usize {
    match t {
        DataType::FixedSizeList(item, n) => {
            let inner = item.data_type();
            let each = inner
                .primitive_width()
                .unwrap_or_else(|| fixed_bytes(inner));
            each.saturating_mul((*n).max(0) as usize)
        }
        DataType::Struct(fields) => {
            fields.iter().map(|f| fixed_bytes(f.data_type())).sum()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::Field;

    use super::*;

    fn tile(name: &str, item: DataType, n: i32) -> Field {
        Field::new(
            name,
            DataType::FixedSizeList(Arc::new(Field::new("item", item, true)), n),
            true,
        )
    }

    #[test]
    fn rows_follow_the_tile_bytes() {
        // 512² u16 + 512² u16 + 512² u8: 1.25 MiB a row → 12 rows.
        let px = 512 * 512;
        let s = Schema::new(vec![
            Field::new("chunk_x", DataType::Int32, false),
            tile("red", DataType::UInt16, px),
            tile("nir", DataType::UInt16, px),
            tile("scl", DataType::UInt8, px),
        ]);
        assert_eq!(batch_rows(&s, 8192), (16 << 20) / (5 * px as usize));
        // A struct of two f32 tiles (a geomedian): 2 MiB a row → 8 rows.
        let g = Schema::new(vec![Field::new(
            "g",
            DataType::Struct(
                vec![
                    tile("a", DataType::Float32, px),
                    tile("b", DataType::Float32, px),
                ]
                .into(),
            ),
            true,
        )]);
        assert_eq!(batch_rows(&g, 8192), 8);
        // No tiles: the session's batch size; huge tiles: one row.
        let plain = Schema::new(vec![Field::new("v", DataType::Float64, true)]);
        assert_eq!(batch_rows(&plain, 8192), 8192);
        let huge = Schema::new(vec![tile("t", DataType::Float64, 4096 * 4096)]);
        assert_eq!(batch_rows(&huge, 8192), 1);
    }
}
