//! stac-geoparquet: one row per item, properties as top-level columns, `bbox` a
//! struct of `xmin`/`ymin`/`xmax`/`ymax`, `geometry` WKB, `assets` a struct.
//!
//! The filter is pushed into the Parquet scan twice over: row groups whose
//! statistics (datetime, bbox, numeric properties) exclude the filter are never
//! fetched, and in the rest a row filter reads only the filter's columns first,
//! so the wide columns (assets, links, geometry) are decoded only for matching
//! rows. The matching rows are then rebuilt as STAC JSON and read like any item.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, BooleanBuilder,
    LargeBinaryArray, RecordBatch, StructArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, TimeUnit};
use arrow::error::ArrowError;
use std::ops::Range;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryFutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ArrowReaderOptions, RowFilter};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};
use parquet::file::statistics::Statistics;
use parquet::schema::types::SchemaDescriptor;
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};
use crate::filter::{Filter, Op, Predicate, compare};
use crate::item::{Bbox, Item};
use crate::load::Loaded;
use crate::stores::Stores;
use crate::walk::accept;

/// Top-level columns that are item fields, not properties.
const CORE: [&str; 9] = [
    "type",
    "stac_version",
    "stac_extensions",
    "id",
    "geometry",
    "bbox",
    "links",
    "assets",
    "collection",
];

/// Read the items of a stac-geoparquet file that match `filter`.
pub(crate) async fn read(
    url: &Url,
    stores: &Stores,
    filter: &Filter,
    out: &mut Loaded,
) -> Result<()> {
    let location = url.to_string();
    let perr = |message: String| Error::Parquet {
        location: location.clone(),
        message,
    };
    let (store, path) = stores.resolve(url)?;
    let meta = store.head(&path).await.map_err(|source| Error::Store {
        location: location.clone(),
        source,
    })?;
    let reader = StoreReader {
        store,
        path,
        size: meta.size,
    };
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| perr(e.to_string()))?;
    let schema = Arc::clone(builder.schema());
    if schema.field_with_name("id").is_err() {
        return Err(perr("no `id` column: not a stac-geoparquet file".into()));
    }
    let parquet_schema = builder.parquet_schema().clone();
    let plan = Pushdown::new(filter, &parquet_schema, &schema);

    let row_groups = builder.metadata().row_groups();
    out.stats.row_groups += row_groups.len();
    let keep: Vec<usize> = row_groups
        .iter()
        .enumerate()
        .filter(|(_, rg)| plan.may_match(rg))
        .map(|(i, _)| i)
        .collect();
    out.stats.row_groups_pruned += row_groups.len() - keep.len();
    if keep.is_empty() {
        return Ok(());
    }
    let rows_in_kept: usize = keep
        .iter()
        .filter_map(|&i| row_groups.get(i))
        .map(|rg| rg.num_rows() as usize)
        .sum();

    // Decode everything but the geometry through JSON; the geometry separately.
    let mut builder = builder.with_row_groups(keep).with_batch_size(8192);
    if !plan.leaves.is_empty() {
        let mask = ProjectionMask::leaves(&parquet_schema, plan.leaves.clone());
        let predicate = plan.clone();
        builder = builder.with_row_filter(RowFilter::new(vec![Box::new(
            ArrowPredicateFn::new(mask, move |batch| predicate.evaluate(&batch)),
        )]));
    }
    let mut stream = builder.build().map_err(|e| perr(e.to_string()))?;
    let mut rows_out = 0usize;
    while let Some(batch) = stream.try_next().await.map_err(|e| perr(e.to_string()))? {
        rows_out += batch.num_rows();
        for value in batch_to_items(&batch).map_err(perr)? {
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let item_location = format!("{location} (item {id})");
            let item = Item::from_json(&value, Some(url), &item_location)?;
            accept(item, filter, out)?;
        }
    }
    out.stats.rows_filtered += rows_in_kept.saturating_sub(rows_out);
    Ok(())
}

/// Parquet's async reader over an object store (ranges fetched through it).
#[derive(Debug)]
struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn parquet_err(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(
        &mut self,
        range: Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.store
            .get_range(&self.path, range)
            .map_err(parquet_err)
            .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(parquet_err)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(64 << 10))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// What of the filter can be evaluated on Parquet statistics and columns.
#[derive(Debug, Clone)]
struct Pushdown {
    time: Option<(Option<i64>, Option<i64>)>,
    bbox: Option<Bbox>,
    collections: Vec<String>,
    ids: Vec<String>,
    predicates: Vec<Predicate>,
    /// Leaf column indices the row filter reads.
    leaves: Vec<usize>,
    /// Leaf indices of `datetime`, `bbox.xmin`, `bbox.ymin`, `bbox.xmax`, `bbox.ymax`.
    stat_leaves: StatLeaves,
}

#[derive(Debug, Clone, Default)]
struct StatLeaves {
    datetime: Option<(usize, TimeUnit)>,
    bbox: Option<[usize; 4]>,
    /// (predicate index, leaf) for numeric top-level property columns.
    numeric: Vec<(usize, usize)>,
}

fn leaf(schema: &SchemaDescriptor, path: &str) -> Option<usize> {
    schema
        .columns()
        .iter()
        .position(|c| c.path().string() == path)
}

impl Pushdown {
    fn new(
        filter: &Filter,
        parquet: &SchemaDescriptor,
        arrow: &arrow::datatypes::Schema,
    ) -> Self {
        let mut leaves = Vec::new();
        let mut stat_leaves = StatLeaves::default();
        let time = filter.time.map(|t| {
            (
                t.start.map(|s| s.timestamp_micros()),
                t.end.map(|e| e.timestamp_micros()),
            )
        });
        let mut time_ok = false;
        if time.is_some() {
            for name in ["datetime", "start_datetime", "end_datetime"] {
                if let (Some(i), Ok(field)) =
                    (leaf(parquet, name), arrow.field_with_name(name))
                    && let DataType::Timestamp(unit, _) = field.data_type()
                {
                    leaves.push(i);
                    time_ok |= name == "datetime";
                    if name == "datetime"
                        && arrow.field_with_name("start_datetime").is_err()
                    {
                        stat_leaves.datetime = Some((i, *unit));
                    }
                }
            }
        }
        let bbox_leaves =
            ["xmin", "ymin", "xmax", "ymax"].map(|c| leaf(parquet, &format!("bbox.{c}")));
        let bbox = match (filter.bbox, bbox_leaves) {
            (Some(b), [Some(a), Some(c), Some(d), Some(e)]) => {
                leaves.extend([a, c, d, e]);
                stat_leaves.bbox = Some([a, c, d, e]);
                Some(b)
            }
            _ => None,
        };
        let mut column = |name: &str| {
            let i = leaf(parquet, name)?;
            leaves.push(i);
            Some(i)
        };
        let collections =
            if !filter.collections.is_empty() && column("collection").is_some() {
                filter.collections.clone()
            } else {
                Vec::new()
            };
        let ids = if !filter.ids.is_empty() && column("id").is_some() {
            filter.ids.clone()
        } else {
            Vec::new()
        };
        let mut predicates = Vec::new();
        for p in &filter.predicates {
            let Ok(field) = arrow.field_with_name(&p.property) else {
                continue;
            };
            let numeric = field.data_type().is_numeric();
            let stringy = matches!(
                field.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
            let usable =
                (numeric && p.value.is_number()) || (stringy && p.value.is_string());
            if let (true, Some(i)) = (usable, leaf(parquet, &p.property)) {
                leaves.push(i);
                if numeric {
                    stat_leaves.numeric.push((predicates.len(), i));
                }
                predicates.push(p.clone());
            }
        }
        leaves.sort_unstable();
        leaves.dedup();
        Pushdown {
            time: if time_ok { time } else { None },
            bbox,
            collections,
            ids,
            predicates,
            leaves,
            stat_leaves,
        }
    }

    /// Whether a row group's statistics leave room for a match.
    fn may_match(&self, rg: &RowGroupMetaData) -> bool {
        let f64_range = |i: usize| -> Option<(f64, f64)> {
            match rg.column(i).statistics()? {
                Statistics::Double(s) => Some((*s.min_opt()?, *s.max_opt()?)),
                Statistics::Float(s) => {
                    Some((f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)))
                }
                Statistics::Int32(s) => {
                    Some((f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)))
                }
                Statistics::Int64(s) => {
                    Some((*s.min_opt()? as f64, *s.max_opt()? as f64))
                }
                _ => None,
            }
        };
        if let (Some((start, end)), Some((i, unit))) =
            (self.time, self.stat_leaves.datetime)
            && let Some(Statistics::Int64(s)) = rg.column(i).statistics()
            && let (Some(min), Some(max)) = (s.min_opt(), s.max_opt())
        {
            let (min, max) = (to_micros(*min, unit), to_micros(*max, unit));
            if start.is_some_and(|s| max < s) || end.is_some_and(|e| min > e) {
                return false;
            }
        }
        if let (Some(b), Some([xmin, ymin, xmax, ymax])) =
            (self.bbox, self.stat_leaves.bbox)
            && b.west <= b.east
            && let (Some(x0), Some(y0), Some(x1), Some(y1)) = (
                f64_range(xmin),
                f64_range(ymin),
                f64_range(xmax),
                f64_range(ymax),
            )
        {
            // Rows have xmin ≥ x0.min, xmax ≤ x1.max, …: no row can reach the box.
            // (Rows crossing the antimeridian have xmin > xmax; they keep the group.)
            if y0.0 > b.north || y1.1 < b.south {
                return false;
            }
            if x0.1 <= x1.0 && (x0.0 > b.east || x1.1 < b.west) {
                return false;
            }
        }
        for &(p, i) in &self.stat_leaves.numeric {
            let (Some(predicate), Some((min, max))) =
                (self.predicates.get(p), f64_range(i))
            else {
                continue;
            };
            let Some(v) = predicate.value.as_f64() else {
                continue;
            };
            let possible = match predicate.op {
                Op::Eq => min <= v && v <= max,
                Op::Ne => !(min == v && max == v),
                Op::Lt => min < v,
                Op::Le => min <= v,
                Op::Gt => max > v,
                Op::Ge => max >= v,
            };
            if !possible {
                return false;
            }
        }
        true
    }

    /// The row filter: `true` for rows that may match (conservative; the items
    /// are checked against the whole filter afterwards).
    fn evaluate(
        &self,
        batch: &RecordBatch,
    ) -> std::result::Result<BooleanArray, ArrowError> {
        let n = batch.num_rows();
        let mut keep = vec![true; n];
        if let Some((start, end)) = self.time {
            let micros =
                |name: &str| -> std::result::Result<Option<ArrayRef>, ArrowError> {
                    batch
                        .column_by_name(name)
                        .map(|c| {
                            cast(c, &DataType::Timestamp(TimeUnit::Microsecond, None))
                        })
                        .transpose()
                };
            let dt = micros("datetime")?;
            let s = micros("start_datetime")?;
            let e = micros("end_datetime")?;
            let value = |a: &Option<ArrayRef>, i: usize| {
                a.as_ref().and_then(|a| {
                    let a =
                        a.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
                    a.is_valid(i).then(|| a.value(i))
                })
            };
            for (i, k) in keep.iter_mut().enumerate() {
                let t0 = value(&s, i).or(value(&dt, i));
                let t1 = value(&e, i).or(value(&dt, i));
                if let (Some(t0), Some(t1)) = (t0, t1) {
                    *k &= start.is_none_or(|s| t1 >= s) && end.is_none_or(|e| t0 <= e);
                }
            }
        }
        if let (Some(b), Some(bbox)) = (self.bbox, batch.column_by_name("bbox")) {
            let bbox = bbox.as_struct();
            let get = |s: &StructArray,
                       name: &str|
             -> std::result::Result<Option<ArrayRef>, ArrowError> {
                s.column_by_name(name)
                    .map(|c| cast(c, &DataType::Float64))
                    .transpose()
            };
            if let (Some(x0), Some(y0), Some(x1), Some(y1)) = (
                get(bbox, "xmin")?,
                get(bbox, "ymin")?,
                get(bbox, "xmax")?,
                get(bbox, "ymax")?,
            ) {
                let [x0, y0, x1, y1] =
                    [&x0, &y0, &x1, &y1].map(|a| a.as_primitive::<Float64Type>());
                for (i, k) in keep.iter_mut().enumerate() {
                    if bbox.is_valid(i)
                        && x0.is_valid(i)
                        && y0.is_valid(i)
                        && x1.is_valid(i)
                        && y1.is_valid(i)
                    {
                        let row = Bbox {
                            west: x0.value(i),
                            south: y0.value(i),
                            east: x1.value(i),
                            north: y1.value(i),
                        };
                        *k &= row.intersects(&b);
                    }
                }
            }
        }
        let strings = |name: &str| -> std::result::Result<Option<ArrayRef>, ArrowError> {
            batch
                .column_by_name(name)
                .map(|c| cast(c, &DataType::Utf8))
                .transpose()
        };
        for (name, wanted) in [("collection", &self.collections), ("id", &self.ids)] {
            if wanted.is_empty() {
                continue;
            }
            if let Some(col) = strings(name)? {
                let col = col.as_string::<i32>();
                for (i, k) in keep.iter_mut().enumerate() {
                    *k &= col.is_valid(i) && wanted.iter().any(|w| w == col.value(i));
                }
            }
        }
        for p in &self.predicates {
            let Some(col) = batch.column_by_name(&p.property) else {
                continue;
            };
            if let Some(v) = p.value.as_f64() {
                let col = cast(col, &DataType::Float64)?;
                let col = col.as_primitive::<Float64Type>();
                for (i, k) in keep.iter_mut().enumerate() {
                    *k &= col.is_valid(i)
                        && col.value(i).partial_cmp(&v).is_some_and(|o| p.op.holds(o));
                }
            } else if p.value.is_string() {
                let col = cast(col, &DataType::Utf8)?;
                let col = col.as_string::<i32>();
                for (i, k) in keep.iter_mut().enumerate() {
                    *k &= col.is_valid(i)
                        && compare(&Value::String(col.value(i).to_string()), &p.value)
                            .is_some_and(|o| p.op.holds(o));
                }
            }
        }
        let mut builder = BooleanBuilder::with_capacity(n);
        builder.append_slice(&keep);
        Ok(builder.finish())
    }
}

fn to_micros(v: i64, unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1000),
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v / 1000,
    }
}

/// Rebuild the STAC JSON of each row.
fn batch_to_items(batch: &RecordBatch) -> std::result::Result<Vec<Value>, String> {
    let schema = batch.schema();
    let geometry_index = schema.index_of("geometry").ok();
    let mut json_columns = Vec::new();
    let mut fields = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if Some(i) != geometry_index {
            json_columns.push(Arc::clone(batch.column(i)));
            fields.push(Arc::clone(field));
        }
    }
    let rest = RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(fields)),
        json_columns,
    )
    .map_err(|e| e.to_string())?;
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(&rest).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    let rows: Vec<Map<String, Value>> = if bytes.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())?
    };
    let geometry = geometry_index.map(|i| batch.column(i));
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let geometry = match geometry {
                Some(col) => wkb_to_geojson(col.as_ref(), i)?,
                None => Value::Null,
            };
            Ok(rebuild(row, geometry))
        })
        .collect()
}

/// One flat row (properties at the top level) back into a STAC item.
fn rebuild(mut row: Map<String, Value>, geometry: Value) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), Value::String("Feature".into()));
    for key in CORE {
        if let Some(v) = row.remove(key) {
            item.insert(key.into(), v);
        }
    }
    if let Some(Value::Object(b)) = item.get("bbox") {
        let get = |k: &str| b.get(k).cloned().unwrap_or(Value::Null);
        let bbox = if b.contains_key("zmin") {
            vec![
                get("xmin"),
                get("ymin"),
                get("zmin"),
                get("xmax"),
                get("ymax"),
                get("zmax"),
            ]
        } else {
            vec![get("xmin"), get("ymin"), get("xmax"), get("ymax")]
        };
        item.insert("bbox".into(), Value::Array(bbox));
    }
    item.insert("geometry".into(), geometry);
    item.entry("assets")
        .or_insert_with(|| Value::Object(Map::new()));
    item.insert("properties".into(), Value::Object(row));
    Value::Object(item)
}

fn wkb_to_geojson(column: &dyn Array, row: usize) -> std::result::Result<Value, String> {
    if column.is_null(row) {
        return Ok(Value::Null);
    }
    let bytes = if let Some(a) = column.as_any().downcast_ref::<BinaryArray>() {
        a.value(row)
    } else if let Some(a) = column.as_any().downcast_ref::<LargeBinaryArray>() {
        a.value(row)
    } else if let Some(a) = column.as_binary_view_opt() {
        a.value(row)
    } else {
        return Err(format!(
            "`geometry` column of type {} is not WKB",
            column.data_type()
        ));
    };
    let wkb =
        wkb::reader::read_wkb(bytes).map_err(|e| format!("`geometry`: bad WKB ({e})"))?;
    let geometry = geo_traits::to_geo::ToGeoGeometry::try_to_geometry(&wkb)
        .ok_or_else(|| "`geometry`: WKB geometry cannot be converted".to_string())?;
    let geojson = geojson::Geometry::from(&geometry);
    serde_json::to_value(geojson).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros() {
        assert_eq!(to_micros(5, TimeUnit::Millisecond), 5000);
        assert_eq!(to_micros(5000, TimeUnit::Nanosecond), 5);
    }
}
