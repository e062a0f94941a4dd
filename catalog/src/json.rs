//! Typed access to JSON fields with errors that name the document and field path.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A JSON object being read, with the document location and its field path.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub location: &'a str,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    /// The root object of a document.
    pub fn root(value: &'a Value, location: &'a str) -> Result<Obj<'a>> {
        match value {
            Value::Object(map) => Ok(Obj {
                map,
                location,
                path: "",
            }),
            other => Err(Error::field(
                location,
                "(document)",
                format!("expected a JSON object, found {}", kind(other)),
            )),
        }
    }

    /// The full path of `key` in this object.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error about `key`.
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        Error::field(self.location, self.path_of(key), message)
    }

    /// The value of `key`, `None` if absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required string.
    pub fn string(&self, key: &str) -> Result<&'a str> {
        match self.map.get(key) {
            None | Some(Value::Null) => Err(self.error(key, "required field is missing")),
            Some(Value::String(s)) => Ok(s),
            Some(other) => {
                Err(self.error(key, format!("expected a string, found {}", kind(other))))
            }
        }
    }

    /// An optional string.
    pub fn opt_string(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(self.error(key, format!("expected a string, found {}", kind(other))))
            }
        }
    }

    /// An optional number.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number(v).map(Some).ok_or_else(|| {
                self.error(key, format!("expected a number, found {}", kind(v)))
            }),
        }
    }

    /// A nodata value: a number or one of the strings `nan`, `inf`, `-inf` (the
    /// raster extension allows them).
    pub fn opt_nodata(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "nan" => Ok(Some(f64::NAN)),
                "inf" | "+inf" | "infinity" => Ok(Some(f64::INFINITY)),
                "-inf" | "-infinity" => Ok(Some(f64::NEG_INFINITY)),
                _ => s.parse().map(Some).map_err(|_| {
                    self.error(
                        key,
                        format!("expected a number, nan, inf or -inf, found {s:?}"),
                    )
                }),
            },
            Some(v) => number(v).map(Some).ok_or_else(|| {
                self.error(key, format!("expected a number, found {}", kind(v)))
            }),
        }
    }

    /// An optional array of numbers.
    pub fn opt_numbers(&self, key: &str) -> Result<Option<Vec<f64>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(values)) => values
                .iter()
                .map(number)
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.error(key, "expected an array of numbers")),
            Some(other) => Err(self.error(
                key,
                format!("expected an array of numbers, found {}", kind(other)),
            )),
        }
    }

    /// An optional array of objects, with each object's path.
    pub fn opt_objects(
        &self,
        key: &str,
    ) -> Result<Vec<(String, &'a Map<String, Value>)>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(values)) => values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(map) => {
                        Ok((format!("{}[{i}]", self.path_of(key)), map))
                    }
                    other => Err(Error::field(
                        self.location,
                        format!("{}[{i}]", self.path_of(key)),
                        format!("expected an object, found {}", kind(other)),
                    )),
                })
                .collect(),
            Some(other) => Err(self.error(
                key,
                format!("expected an array of objects, found {}", kind(other)),
            )),
        }
    }

    /// An optional object.
    pub fn opt_object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => {
                Err(self.error(key, format!("expected an object, found {}", kind(other))))
            }
        }
    }

    /// A required object.
    pub fn object(&self, key: &str) -> Result<&'a Map<String, Value>> {
        self.opt_object(key)?
            .ok_or_else(|| self.error(key, "required field is missing"))
    }
}

/// A JSON number as f64 (`None` for anything else).
pub(crate) fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

/// The JSON kind of a value, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a JSON document, naming it in the error.
pub(crate) fn parse(bytes: &[u8], location: &str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::Json {
        location: location.to_string(),
        message: e.to_string(),
    })
}
