//! Which items a query needs: time range, space, collections, ids and property
//! predicates. One [`Filter`] is evaluated on items in memory, pushed into the
//! stac-geoparquet scan, and sent to STAC APIs as a search (CQL2-JSON).

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::item::{Bbox, Item};

/// A comparison operator of a property predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The CQL2 operator.
    pub fn cql2(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether an ordering satisfies the operator.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
        }
    }
}

/// `property op value`, e.g. `eo:cloud_cover < 20` or `platform = 'sentinel-2a'`.
/// A missing property satisfies no predicate (SQL's NULL).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// The property name as in the item (`eo:cloud_cover`).
    pub property: String,
    /// The comparison.
    pub op: Op,
    /// A number, string or boolean.
    pub value: Value,
}

impl Predicate {
    /// A predicate.
    pub fn new(property: impl Into<String>, op: Op, value: impl Into<Value>) -> Self {
        Predicate {
            property: property.into(),
            op,
            value: value.into(),
        }
    }

    /// Whether `actual` (the item's value) satisfies the predicate.
    pub fn holds(&self, actual: Option<&Value>) -> bool {
        actual
            .and_then(|a| compare(a, &self.value))
            .is_some_and(|o| self.op.holds(o))
    }
}

/// Compare two JSON values of the same kind (numbers, strings, booleans).
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// An inclusive time range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimeRange {
    /// The first instant included.
    pub start: Option<DateTime<Utc>>,
    /// The last instant included.
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Whether `[start, end]` of an item overlaps the range.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| end >= s) && self.end.is_none_or(|e| start <= e)
    }

    /// The STAC API `datetime` parameter (`a/b`, `../b`, `a/..`).
    pub fn to_interval(&self) -> String {
        let fmt = |t: Option<DateTime<Utc>>| {
            t.map_or("..".to_string(), |t| {
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            })
        };
        format!("{}/{}", fmt(self.start), fmt(self.end))
    }
}

/// What a query needs from a catalogue. The default matches every item.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these collections (empty: all).
    pub collections: Vec<String>,
    /// Only these item ids (empty: all).
    pub ids: Vec<String>,
    /// Items whose time (or time range) overlaps this range.
    pub time: Option<TimeRange>,
    /// Items whose bbox intersects this lon/lat box.
    pub bbox: Option<Bbox>,
    /// Items whose footprint intersects this lon/lat geometry.
    pub intersects: Option<geo_types::Geometry<f64>>,
    /// Property predicates, all of which must hold.
    pub predicates: Vec<Predicate>,
    /// A further CQL2 filter (text or JSON), evaluated on each item and sent to APIs.
    /// An item on which it cannot be decided (it lacks a property) does not match.
    pub cql2: Option<cql2::Expr>,
}

impl Filter {
    /// Add a CQL2 filter in text (`"eo:cloud_cover" < 20 AND platform = 'x'`) or
    /// JSON form.
    pub fn with_cql2(mut self, text: &str) -> Result<Self> {
        let expr: cql2::Expr = text
            .parse()
            .map_err(|e| Error::Invalid(format!("CQL2 filter {text:?}: {e}")))?;
        self.cql2 = Some(expr);
        Ok(self)
    }

    /// Whether the item satisfies every part of the filter.
    pub fn matches(&self, item: &Item) -> Result<bool> {
        Ok(self.matches_metadata(item)
            && self.matches_space(item)
            && self.matches_cql2(item)?)
    }

    /// Collections, ids, time and property predicates.
    pub fn matches_metadata(&self, item: &Item) -> bool {
        let collection_ok = self.collections.is_empty()
            || item
                .collection
                .as_ref()
                .is_some_and(|c| self.collections.contains(c));
        let id_ok = self.ids.is_empty() || self.ids.contains(&item.id);
        let time_ok = self
            .time
            .is_none_or(|t| t.overlaps(item.start_datetime, item.end_datetime));
        collection_ok
            && id_ok
            && time_ok
            && self
                .predicates
                .iter()
                .all(|p| p.holds(item.property(&p.property).as_ref()))
    }

    /// The bbox and geometry tests.
    pub fn matches_space(&self, item: &Item) -> bool {
        use geo::Intersects;
        if let Some(bbox) = &self.bbox
            && !item.bbox.is_some_and(|b| b.intersects(bbox))
        {
            return false;
        }
        if let Some(geometry) = &self.intersects {
            return match (&item.geometry, &item.bbox) {
                (Some(footprint), _) => footprint.intersects(geometry),
                (None, Some(b)) => {
                    geo_types::Rect::new((b.west, b.south), (b.east, b.north))
                        .intersects(geometry)
                }
                (None, None) => false,
            };
        }
        true
    }

    fn matches_cql2(&self, item: &Item) -> Result<bool> {
        let Some(expr) = &self.cql2 else {
            return Ok(true);
        };
        let mut properties = item.properties.clone();
        properties.insert("id".into(), Value::String(item.id.clone()));
        if let Some(c) = &item.collection {
            properties.insert("collection".into(), Value::String(c.clone()));
        }
        let doc = json!({"id": item.id, "collection": item.collection, "properties": properties});
        // An expression that cannot be decided on this item (a property it lacks)
        // does not match it, as a comparison with NULL in SQL.
        Ok(expr.clone().matches(Some(&doc)).unwrap_or(false))
    }

    /// The filter as a STAC API search body (POST `/search`), with `limit` items
    /// per page. Property predicates and the CQL2 filter become one CQL2-JSON
    /// `filter`.
    pub fn to_search_body(&self, limit: u32) -> Result<Value> {
        let mut body = serde_json::Map::new();
        body.insert("limit".into(), json!(limit));
        if !self.collections.is_empty() {
            body.insert("collections".into(), json!(self.collections));
        }
        if !self.ids.is_empty() {
            body.insert("ids".into(), json!(self.ids));
        }
        if let Some(b) = &self.bbox {
            body.insert("bbox".into(), json!([b.west, b.south, b.east, b.north]));
        }
        if let Some(t) = &self.time {
            body.insert("datetime".into(), json!(t.to_interval()));
        }
        if let Some(g) = &self.intersects {
            let geometry = geojson::Geometry::from(g);
            body.insert(
                "intersects".into(),
                serde_json::to_value(geometry)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            );
        }
        let mut args: Vec<Value> = self
            .predicates
            .iter()
            .map(|p| json!({"op": p.op.cql2(), "args": [{"property": p.property}, p.value]}))
            .collect();
        if let Some(expr) = &self.cql2 {
            args.push(
                expr.to_value()
                    .map_err(|e| Error::Invalid(format!("CQL2 filter: {e}")))?,
            );
        }
        let filter = match args.len() {
            0 => None,
            1 => args.pop(),
            _ => Some(json!({"op": "and", "args": args})),
        };
        if let Some(filter) = filter {
            body.insert("filter".into(), filter);
            body.insert("filter-lang".into(), json!("cql2-json"));
        }
        Ok(Value::Object(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(
        id: &str,
        datetime: &str,
        cloud: f64,
        platform: &str,
        bbox: [f64; 4],
    ) -> Item {
        let value = json!({
            "type": "Feature", "stac_version": "1.1.0", "id": id, "collection": "c",
            "geometry": null, "bbox": bbox,
            "properties": {"datetime": datetime, "eo:cloud_cover": cloud, "platform": platform},
            "assets": {}
        });
        Item::from_json(&value, None, id).unwrap()
    }

    #[test]
    fn time_space_and_properties() {
        let a = item(
            "a",
            "2023-03-01T10:00:00Z",
            5.0,
            "sentinel-2a",
            [14.0, 50.0, 15.0, 51.0],
        );
        let b = item(
            "b",
            "2023-07-01T10:00:00Z",
            50.0,
            "sentinel-2b",
            [20.0, 50.0, 21.0, 51.0],
        );
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let filter = Filter {
            time: Some(TimeRange {
                start: Some(t("2023-03-01T10:00:00Z")),
                end: None,
            }),
            predicates: vec![Predicate::new("eo:cloud_cover", Op::Lt, 20)],
            ..Filter::default()
        };
        assert!(filter.matches(&a).unwrap());
        assert!(!filter.matches(&b).unwrap());
        let filter = Filter {
            bbox: Some(Bbox::from_slice(&[20.5, 50.5, 22.0, 52.0]).unwrap()),
            predicates: vec![Predicate::new("platform", Op::Eq, "sentinel-2b")],
            ..Filter::default()
        };
        assert!(!filter.matches(&a).unwrap());
        assert!(filter.matches(&b).unwrap());
        // A missing property satisfies nothing, not even <>.
        let filter = Filter {
            predicates: vec![Predicate::new("view:off_nadir", Op::Ne, 3)],
            ..Filter::default()
        };
        assert!(!filter.matches(&a).unwrap());
        // CQL2 text, evaluated locally.
        let filter = Filter::default()
            .with_cql2("\"eo:cloud_cover\" >= 10 AND platform = 'sentinel-2b'")
            .unwrap();
        assert!(!filter.matches(&a).unwrap());
        assert!(filter.matches(&b).unwrap());
        assert!(Filter::default().with_cql2("cloud_cover <<< 3").is_err());
    }

    #[test]
    fn search_body() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let filter = Filter {
            collections: vec!["sentinel-2-l2a".into()],
            time: Some(TimeRange {
                start: Some(t("2023-01-01T00:00:00Z")),
                end: None,
            }),
            bbox: Some(Bbox::from_slice(&[14.0, 50.0, 15.0, 51.0]).unwrap()),
            predicates: vec![
                Predicate::new("eo:cloud_cover", Op::Lt, 20),
                Predicate::new("platform", Op::Eq, "sentinel-2a"),
            ],
            ..Filter::default()
        };
        let body = filter.to_search_body(100).unwrap();
        assert_eq!(
            body,
            json!({
                "limit": 100,
                "collections": ["sentinel-2-l2a"],
                "bbox": [14.0, 50.0, 15.0, 51.0],
                "datetime": "2023-01-01T00:00:00Z/..",
                "filter": {"op": "and", "args": [
                    {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
                    {"op": "=", "args": [{"property": "platform"}, "sentinel-2a"]}
                ]},
                "filter-lang": "cql2-json"
            })
        );
    }
}
