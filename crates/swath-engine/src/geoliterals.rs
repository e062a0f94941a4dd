//! Geometry constants that reach executors intact.
//!
//! `st_geomfromtext('POLYGON(…)')` is folded at planning into a constant of
//! GeoArrow's geometry type (a union array) whose type lives in the field's
//! extension metadata. DataFusion 55.2's protobuf drops a constant's metadata, so
//! on an executor `st_intersects(footprint, <that constant>)` fails ("Data not
//! conforming to GeoArrow specification"). On a cluster's scheduler the
//! [`GeometryLiterals`] rule turns each such constant in filters and projections
//! into its WKB bytes, a plain binary constant every `st_*` function reads as
//! the same geometry. (A function call such as `st_geomfromwkb(…)` would not
//! do: the protobuf rebuilds its result field without the metadata too.)

use std::any::Any;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};

/// Physical optimizer rule of a cluster's scheduler (see the module docs).
#[derive(Debug)]
pub struct GeometryLiterals {
    as_binary: Arc<ScalarUDF>,
}

impl GeometryLiterals {
    /// The rule over `state`'s `st_asbinary`, if it has it.
    pub fn new(state: &SessionState) -> Option<Self> {
        let f = state.scalar_functions();
        Some(GeometryLiterals {
            as_binary: Arc::clone(f.get("st_asbinary")?),
        })
    }

    /// `expr` with every GeoArrow constant (other than WKB) as its WKB bytes.
    fn rewrite(
        &self,
        expr: &Arc<dyn PhysicalExpr>,
        schema: &Schema,
        config: &Arc<ConfigOptions>,
    ) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
        Arc::clone(expr).transform_up(|e| {
            let any: &dyn Any = e.as_ref();
            let Some(lit) = any.downcast_ref::<Literal>() else {
                return Ok(Transformed::no(e));
            };
            let field = lit.return_field(schema)?;
            let geoarrow = field
                .metadata()
                .get("ARROW:extension:name")
                .is_some_and(|n| n.starts_with("geoarrow.") && n != "geoarrow.wkb");
            if !geoarrow {
                return Ok(Transformed::no(e));
            }
            let to_wkb = ScalarFunctionExpr::try_new(
                Arc::clone(&self.as_binary),
                vec![Arc::clone(&e)],
                schema,
                Arc::clone(config),
            )?;
            let one_row = RecordBatch::try_new_with_options(
                Arc::new(Schema::empty()),
                vec![],
                &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
            )?;
            let wkb = match to_wkb.evaluate(&one_row)? {
                ColumnarValue::Scalar(s) => s,
                ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
            };
            let bytes = match wkb {
                ScalarValue::Binary(b)
                | ScalarValue::LargeBinary(b)
                | ScalarValue::BinaryView(b) => b,
                _ => return Ok(Transformed::no(e)),
            };
            Ok(Transformed::yes(
                Arc::new(Literal::new(ScalarValue::Binary(bytes)))
                    as Arc<dyn PhysicalExpr>,
            ))
        })
    }
}

impl PhysicalOptimizerRule for GeometryLiterals {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let config = Arc::new(config.clone());
        plan.transform_up(|node| {
            let any: &dyn Any = node.as_ref();
            if let Some(f) = any.downcast_ref::<FilterExec>() {
                let schema = f.input().schema();
                let predicate = self.rewrite(f.predicate(), &schema, &config)?;
                if predicate.transformed {
                    // The same filter (projection, selectivity, batch size) with
                    // the new predicate.
                    let rebuilt = FilterExecBuilder::from(f)
                        .with_predicate(predicate.data)
                        .build()?;
                    return Ok(Transformed::yes(
                        Arc::new(rebuilt) as Arc<dyn ExecutionPlan>
                    ));
                }
            } else if let Some(p) = any.downcast_ref::<ProjectionExec>() {
                let schema = p.input().schema();
                let mut changed = false;
                let mut exprs = Vec::new();
                for pe in p.expr() {
                    let e = self.rewrite(&pe.expr, &schema, &config)?;
                    changed |= e.transformed;
                    exprs.push(ProjectionExpr {
                        expr: e.data,
                        alias: pe.alias.clone(),
                    });
                }
                if changed {
                    let rebuilt = ProjectionExec::try_new(exprs, Arc::clone(p.input()))?;
                    return Ok(Transformed::yes(
                        Arc::new(rebuilt) as Arc<dyn ExecutionPlan>
                    ));
                }
            }
            Ok(Transformed::no(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "swath_geometry_literals"
    }

    fn schema_check(&self) -> bool {
        false
    }
}

/// A GeoArrow geometry constant (not WKB) as its WKB bytes, through
/// `st_asbinary`.
fn constant_wkb(
    as_binary: &ScalarUDF,
    value: &ScalarValue,
    metadata: &datafusion::common::metadata::FieldMetadata,
    config: &Arc<ConfigOptions>,
) -> Result<Option<Option<Vec<u8>>>> {
    let geoarrow = metadata
        .inner()
        .get("ARROW:extension:name")
        .is_some_and(|n| n.starts_with("geoarrow.") && n != "geoarrow.wkb");
    if !geoarrow {
        return Ok(None);
    }
    let field: arrow::datatypes::FieldRef = Arc::new(
        metadata.add_to_field(arrow::datatypes::Field::new("g", value.data_type(), true)),
    );
    let return_field =
        as_binary.return_field_from_args(datafusion::logical_expr::ReturnFieldArgs {
            arg_fields: std::slice::from_ref(&field),
            scalar_arguments: &[Some(value)],
        })?;
    let out =
        as_binary.invoke_with_args(datafusion::logical_expr::ScalarFunctionArgs {
            args: vec![ColumnarValue::Scalar(value.clone())],
            arg_fields: vec![field],
            number_rows: 1,
            return_field,
            config_options: Arc::clone(config),
        })?;
    let scalar = match out {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
    };
    Ok(match scalar {
        ScalarValue::Binary(b)
        | ScalarValue::LargeBinary(b)
        | ScalarValue::BinaryView(b) => Some(b),
        _ => None,
    })
}

/// Logical optimizer rule of a cluster client: GeoArrow constants in the plan
/// it sends to the scheduler become their WKB bytes (the logical plan's
/// protobuf drops a constant's metadata too).
#[derive(Debug)]
pub struct GeometryLiteralsLogical {
    as_binary: Arc<ScalarUDF>,
}

impl GeometryLiteralsLogical {
    /// The rule over `state`'s `st_asbinary`, if it has it.
    pub fn new(state: &SessionState) -> Option<Self> {
        let f = state.scalar_functions();
        Some(GeometryLiteralsLogical {
            as_binary: Arc::clone(f.get("st_asbinary")?),
        })
    }
}

impl datafusion::optimizer::OptimizerRule for GeometryLiteralsLogical {
    fn name(&self) -> &str {
        "swath_geometry_literals"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        config: &dyn datafusion::optimizer::OptimizerConfig,
    ) -> Result<Transformed<datafusion::logical_expr::LogicalPlan>> {
        use datafusion::logical_expr::Expr;
        let options = config.options();
        plan.transform_up_with_subqueries(|node| {
            node.map_expressions(|e| {
                e.transform_up(|e| {
                    let Expr::Literal(value, Some(metadata)) = &e else {
                        return Ok(Transformed::no(e));
                    };
                    match constant_wkb(&self.as_binary, value, metadata, &options)? {
                        Some(bytes) => Ok(Transformed::yes(Expr::Literal(
                            ScalarValue::Binary(bytes),
                            None,
                        ))),
                        None => Ok(Transformed::no(e)),
                    }
                })
            })
        })
    }
}
