//! SQL operators on tiles: `nir - red`, `ndvi > 0.5`, `a AND b` plan as the `rs_*`
//! band math functions when an operand is a tile (DataFusion's `ExprPlanner` hook).

use std::sync::Arc;

use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{Expr, ExprSchemable, ScalarUDF};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use crate::tile::is_tile_type;

/// Plans binary operators with a tile operand as `rs_*` calls.
#[derive(Debug, Default)]
pub struct TileOperatorPlanner;

impl TileOperatorPlanner {
    fn function(op: &BinaryOperator) -> Option<Arc<ScalarUDF>> {
        use crate::*;
        let f = match op {
            BinaryOperator::Plus => ScalarUDF::new_from_impl(rs_add::RsAdd::new()),
            BinaryOperator::Minus => {
                ScalarUDF::new_from_impl(rs_subtract::RsSubtract::new())
            }
            BinaryOperator::Multiply => {
                ScalarUDF::new_from_impl(rs_multiply::RsMultiply::new())
            }
            BinaryOperator::Divide => {
                ScalarUDF::new_from_impl(rs_divide::RsDivide::new())
            }
            BinaryOperator::Eq => ScalarUDF::new_from_impl(rs_eq::RsEq::new()),
            BinaryOperator::NotEq => ScalarUDF::new_from_impl(rs_ne::RsNe::new()),
            BinaryOperator::Lt => ScalarUDF::new_from_impl(rs_lt::RsLt::new()),
            BinaryOperator::LtEq => ScalarUDF::new_from_impl(rs_le::RsLe::new()),
            BinaryOperator::Gt => ScalarUDF::new_from_impl(rs_gt::RsGt::new()),
            BinaryOperator::GtEq => ScalarUDF::new_from_impl(rs_ge::RsGe::new()),
            BinaryOperator::And => ScalarUDF::new_from_impl(rs_and::RsAnd::new()),
            BinaryOperator::Or => ScalarUDF::new_from_impl(rs_or::RsOr::new()),
            _ => return None,
        };
        Some(Arc::new(f))
    }
}

impl ExprPlanner for TileOperatorPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let is_tile = |e: &Expr| e.get_type(schema).is_ok_and(|t| is_tile_type(&t));
        if !(is_tile(&expr.left) || is_tile(&expr.right)) {
            return Ok(PlannerResult::Original(expr));
        }
        let Some(udf) = Self::function(&expr.op) else {
            return Ok(PlannerResult::Original(expr));
        };
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(udf, vec![expr.left, expr.right]),
        )))
    }
}
