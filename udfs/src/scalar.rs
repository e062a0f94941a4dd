//! What every scalar `rs_*` function shares: argument checking with the function's
//! own argument names, return fields with tile metadata, and argument access.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::tile::{TileMeta, Tiles, is_tile_type};

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A tile column.
    Tile,
    /// A number (column or constant), coerced to Float64.
    Number,
    /// An integer constant, coerced to Int64.
    Int,
    /// A tile or a number (band math operands).
    TileOrNumber,
}

/// A function's parameters: names and kinds, the first `required` mandatory; with
/// `variadic`, the last one repeats.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Argument names as the docs give them.
    pub names: &'static [&'static str],
    /// What each argument must be.
    pub kinds: &'static [Kind],
    /// How many arguments are required.
    pub required: usize,
    /// Whether the last parameter repeats.
    pub variadic: bool,
}

impl Params {
    /// Fixed parameters, all required.
    pub const fn fixed(names: &'static [&'static str], kinds: &'static [Kind]) -> Params {
        Params {
            names,
            kinds,
            required: names.len(),
            variadic: false,
        }
    }

    fn slot(&self, i: usize) -> (&'static str, Kind) {
        let last = self.names.len() - 1;
        let j = i.min(last);
        (self.names[j], self.kinds[j])
    }

    /// The name of argument `i`.
    pub fn name(&self, i: usize) -> &'static str {
        self.slot(i).0
    }

    /// Check the count and types of `types`, naming the function and the argument;
    /// the types the arguments are coerced to.
    pub fn coerce(&self, func: &str, types: &[DataType]) -> Result<Vec<DataType>> {
        let max = if self.variadic {
            usize::MAX
        } else {
            self.names.len()
        };
        if types.len() < self.required || types.len() > max {
            let expected = if self.variadic {
                format!("at least {}", self.required)
            } else if self.required == self.names.len() {
                format!("{}", self.required)
            } else {
                format!("{} to {}", self.required, self.names.len())
            };
            return plan_err!(
                "{func}: expected {expected} arguments ({}), got {}",
                self.names.join(", "),
                types.len()
            );
        }
        types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (name, kind) = self.slot(i);
                let number = t.is_numeric() || t.is_null();
                match kind {
                    Kind::Tile if is_tile_type(t) => Ok(t.clone()),
                    Kind::Tile => plan_err!(
                        "{func}: argument {name} must be a tile (a band column), got {t}"
                    ),
                    Kind::Number if number => Ok(DataType::Float64),
                    Kind::Int if t.is_integer() || t.is_null() => Ok(DataType::Int64),
                    Kind::Number | Kind::Int => {
                        plan_err!("{func}: argument {name} must be a number, got {t}")
                    }
                    Kind::TileOrNumber if is_tile_type(t) => Ok(t.clone()),
                    Kind::TileOrNumber if number => Ok(DataType::Float64),
                    Kind::TileOrNumber => plan_err!(
                        "{func}: argument {name} must be a tile or a number, got {t}"
                    ),
                }
            })
            .collect()
    }

    /// The tile descriptions of the tile arguments (None for the others).
    pub fn tiles(
        &self,
        func: &str,
        fields: &[FieldRef],
    ) -> Result<Vec<Option<TileMeta>>> {
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if is_tile_type(f.data_type()) {
                    TileMeta::from_field(func, self.name(i), f).map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect()
    }

    /// The tile arguments' descriptions, checked to share one shape; the first one.
    pub fn same_shape(&self, func: &str, fields: &[FieldRef]) -> Result<TileMeta> {
        let tiles = self.tiles(func, fields)?;
        let mut first: Option<(usize, &TileMeta)> = None;
        for (i, t) in tiles.iter().enumerate() {
            let Some(t) = t else { continue };
            match first {
                None => first = Some((i, t)),
                Some((j, f)) => f.same_shape(func, self.name(j), t, self.name(i))?,
            }
        }
        match first {
            Some((_, t)) => Ok(t.clone()),
            None => plan_err!("{func}: at least one argument must be a tile"),
        }
    }
}

/// The evaluated arguments of one call.
pub struct Args {
    func: &'static str,
    params: Params,
    args: Vec<ColumnarValue>,
    fields: Vec<FieldRef>,
    arrays: Vec<Option<ArrayRef>>,
    /// Rows in the batch.
    pub rows: usize,
    /// The return field planned for this call.
    pub return_field: FieldRef,
}

impl Args {
    /// Wrap DataFusion's arguments.
    pub fn new(
        func: &'static str,
        params: Params,
        a: ScalarFunctionArgs,
    ) -> Result<Args> {
        let rows = a.number_rows;
        let arrays = a
            .args
            .iter()
            .zip(&a.arg_fields)
            .map(|(v, f)| {
                if is_tile_type(f.data_type()) {
                    v.to_array(rows).map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<_>>()?;
        Ok(Args {
            func,
            params,
            args: a.args,
            fields: a.arg_fields,
            arrays,
            rows,
            return_field: a.return_field,
        })
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Whether argument `i` is a tile.
    pub fn is_tile(&self, i: usize) -> bool {
        self.arrays.get(i).is_some_and(|a| a.is_some())
    }

    /// Argument `i` as a tile column and its description.
    pub fn tile(&self, i: usize) -> Result<(&FixedSizeListArray, TileMeta)> {
        let name = self.params.name(i);
        let (Some(Some(array)), Some(field)) = (self.arrays.get(i), self.fields.get(i))
        else {
            return exec_err!("{}: argument {name} is not a tile", self.func);
        };
        let meta = TileMeta::from_field(self.func, name, field)?;
        let Some(list) = array.as_fixed_size_list_opt() else {
            return exec_err!("{}: argument {name} is not a tile", self.func);
        };
        if list.value_length() as usize != meta.len() {
            return exec_err!(
                "{}: argument {name} has tiles of the wrong length",
                self.func
            );
        }
        Ok((list, meta))
    }

    /// The description of the tiles this call returns.
    pub fn tile_meta(&self) -> Result<TileMeta> {
        TileMeta::from_field(self.func, "result", &self.return_field)
    }

    /// Argument `i` as physical `f32` pixels (NaN = missing), with its description.
    pub fn physical(&self, i: usize) -> Result<(Vec<f32>, TileMeta)> {
        let (array, meta) = self.tile(i)?;
        let values = Tiles { array, meta: &meta }.physical()?;
        Ok((values, meta))
    }

    /// Argument `i` as a number per row (NaN where null).
    pub fn number(&self, i: usize) -> Result<Number> {
        match self.args.get(i) {
            Some(ColumnarValue::Scalar(s)) => Ok(Number::Constant(scalar_f64(s))),
            Some(ColumnarValue::Array(a)) => match a.as_primitive_opt::<Float64Type>() {
                Some(p) => Ok(Number::Column(
                    (0..p.len())
                        .map(|r| if p.is_null(r) { f64::NAN } else { p.value(r) })
                        .collect(),
                )),
                None => exec_err!(
                    "{}: argument {} must be a number",
                    self.func,
                    self.params.name(i)
                ),
            },
            None => exec_err!("{}: missing argument {}", self.func, self.params.name(i)),
        }
    }

    /// Argument `i` as an integer constant.
    pub fn int(&self, i: usize) -> Result<i64> {
        let name = self.params.name(i);
        match self.args.get(i) {
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(v)))) => Ok(*v),
            Some(ColumnarValue::Scalar(_)) => {
                exec_err!("{}: argument {name} must not be NULL", self.func)
            }
            Some(ColumnarValue::Array(a)) => {
                let p = a.as_primitive_opt::<Int64Type>();
                match p {
                    Some(p) if p.null_count() == 0 && !p.is_empty() => {
                        let v = p.value(0);
                        if p.values().iter().all(|x| *x == v) {
                            Ok(v)
                        } else {
                            exec_err!("{}: argument {name} must be a constant", self.func)
                        }
                    }
                    _ => exec_err!("{}: argument {name} must be a constant", self.func),
                }
            }
            None => exec_err!("{}: missing argument {name}", self.func),
        }
    }
}

/// A number argument: one value for all rows or one per row.
#[derive(Debug, Clone)]
pub enum Number {
    /// The same value for every row.
    Constant(f64),
    /// One value per row.
    Column(Vec<f64>),
}

impl Number {
    /// The value at `row`.
    #[inline]
    pub fn at(&self, row: usize) -> f64 {
        match self {
            Number::Constant(v) => *v,
            Number::Column(v) => v.get(row).copied().unwrap_or(f64::NAN),
        }
    }
}

fn scalar_f64(s: &ScalarValue) -> f64 {
    match s {
        ScalarValue::Float64(Some(v)) => *v,
        ScalarValue::Float32(Some(v)) => f64::from(*v),
        ScalarValue::Int64(Some(v)) => *v as f64,
        _ => f64::NAN,
    }
}

/// A field for a return value named after the function.
pub fn tile_field(func: &str, meta: &TileMeta) -> FieldRef {
    Arc::new(meta.field(func, true))
}

/// A plain (non-tile) field for a return value.
pub fn value_field(func: &str, t: DataType) -> FieldRef {
    Arc::new(Field::new(func, t, true))
}

/// Implement `ScalarUDFImpl` for a struct with `PARAMS`, `fn return_field(&self,
/// fields, scalars)` and `fn invoke(&self, Args)`, and a `#[user_doc]`.
macro_rules! scalar_udf {
    ($ty:ident, $name:literal) => {
        impl datafusion::logical_expr::ScalarUDFImpl for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn signature(&self) -> &datafusion::logical_expr::Signature {
                &self.signature
            }

            fn return_type(
                &self,
                _arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<arrow::datatypes::DataType> {
                datafusion::common::internal_err!(
                    "{}: return_field_from_args is used",
                    $name
                )
            }

            fn return_field_from_args(
                &self,
                args: datafusion::logical_expr::ReturnFieldArgs,
            ) -> datafusion::common::Result<arrow::datatypes::FieldRef> {
                self.plan(args.arg_fields, args.scalar_arguments)
            }

            fn coerce_types(
                &self,
                arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<Vec<arrow::datatypes::DataType>> {
                Self::PARAMS.coerce($name, arg_types)
            }

            fn invoke_with_args(
                &self,
                args: datafusion::logical_expr::ScalarFunctionArgs,
            ) -> datafusion::common::Result<datafusion::logical_expr::ColumnarValue> {
                let args = $crate::scalar::Args::new($name, Self::PARAMS, args)?;
                self.invoke(args)
                    .map(datafusion::logical_expr::ColumnarValue::Array)
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

pub(crate) use scalar_udf;
