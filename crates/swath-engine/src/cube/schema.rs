//! Arrow schemas of the chunk view, and the metadata columns of its rows.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::Result;
use swath_geotiff::DataType;

use super::model::{CubeDef, PropKind};

/// Field metadata key of Arrow extension types.
pub const EXTENSION_NAME: &str = "ARROW:extension:name";
/// Field metadata key of Arrow extension type parameters.
pub const EXTENSION_METADATA: &str = "ARROW:extension:metadata";
/// The canonical fixed-shape tensor extension.
pub const FIXED_SHAPE_TENSOR: &str = "arrow.fixed_shape_tensor";
/// Field metadata: the band's nodata value.
pub const NODATA_KEY: &str = "swath:nodata";
/// Field metadata: the band's scale.
pub const SCALE_KEY: &str = "swath:scale";
/// Field metadata: the band's offset.
pub const OFFSET_KEY: &str = "swath:offset";
/// Field metadata: the table grid (JSON: crs, transform, width, height, chunk_width,
/// chunk_height), so functions can place a tile's pixels.
pub const GRID_KEY: &str = "swath:grid";

/// Metadata columns every datacube row has, before properties.
pub const ITEM_COLUMNS: [&str; 5] = [
    "item_id",
    "collection",
    "datetime",
    "solar_day",
    "item_count",
];
/// Placement columns of the chunk view.
pub const CHUNK_COLUMNS: [&str; 3] = ["chunk_x", "chunk_y", "footprint"];

/// The Arrow type of a sample type.
pub fn arrow_type(dtype: DataType) -> ArrowType {
    match dtype {
        DataType::U8 => ArrowType::UInt8,
        DataType::I8 => ArrowType::Int8,
        DataType::U16 => ArrowType::UInt16,
        DataType::I16 => ArrowType::Int16,
        DataType::U32 => ArrowType::UInt32,
        DataType::I32 => ArrowType::Int32,
        DataType::F32 => ArrowType::Float32,
        DataType::F64 => ArrowType::Float64,
    }
}

fn item_fields(def: &CubeDef) -> Vec<Field> {
    let mut fields = vec![
        Field::new("item_id", ArrowType::Utf8, false),
        Field::new("collection", ArrowType::Utf8, true),
        Field::new(
            "datetime",
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("solar_day", ArrowType::Date32, true),
        Field::new("item_count", ArrowType::Int32, false),
    ];
    for p in &def.props {
        let t = match p.kind {
            PropKind::Float => ArrowType::Float64,
            PropKind::Text => ArrowType::Utf8,
            PropKind::Bool => ArrowType::Boolean,
        };
        fields.push(Field::new(&p.column, t, true));
    }
    fields
}

/// The geometry field: WKB, lon/lat, as GeoArrow names it.
pub fn footprint_field() -> Field {
    Field::new("footprint", ArrowType::Binary, false).with_metadata(HashMap::from([
        (EXTENSION_NAME.to_string(), "geoarrow.wkb".to_string()),
        (
            EXTENSION_METADATA.to_string(),
            r#"{"crs":"OGC:CRS84"}"#.to_string(),
        ),
    ]))
}

/// The chunk view's schema: item metadata, properties, placement, one tensor per band.
pub fn chunk_schema(def: &CubeDef) -> SchemaRef {
    let mut fields = item_fields(def);
    fields.push(Field::new("chunk_x", ArrowType::Int32, false));
    fields.push(Field::new("chunk_y", ArrowType::Int32, false));
    fields.push(footprint_field());
    let (w, h) = (def.grid.chunk_width, def.grid.chunk_height);
    let grid = serde_json::to_string(&def.grid).unwrap_or_default();
    for b in &def.bands {
        let item = Arc::new(Field::new("item", arrow_type(b.dtype), true));
        let mut meta = HashMap::from([
            (EXTENSION_NAME.to_string(), FIXED_SHAPE_TENSOR.to_string()),
            (
                EXTENSION_METADATA.to_string(),
                format!(r#"{{"shape":[{h},{w}]}}"#),
            ),
            (NODATA_KEY.to_string(), format_number(b.nodata)),
            (GRID_KEY.to_string(), grid.clone()),
        ]);
        if let Some(s) = b.scale {
            meta.insert(SCALE_KEY.to_string(), format_number(s));
        }
        if let Some(o) = b.offset {
            meta.insert(OFFSET_KEY.to_string(), format_number(o));
        }
        let t = ArrowType::FixedSizeList(item, (w as i32) * (h as i32));
        fields.push(Field::new(&b.name, t, false).with_metadata(meta));
    }
    Arc::new(Schema::new(fields))
}

/// The pixel view's schema: item metadata, properties, pixel placement, one scalar
/// column per band (nodata as NULL).
pub fn pixel_schema(def: &CubeDef) -> SchemaRef {
    let mut fields = item_fields(def);
    for c in ["chunk_x", "chunk_y"] {
        fields.push(Field::new(c, ArrowType::Int32, false));
    }
    for c in ["x", "y", "lon", "lat"] {
        fields.push(Field::new(c, ArrowType::Float64, false));
    }
    for b in &def.bands {
        fields.push(Field::new(&b.name, arrow_type(b.dtype), true));
    }
    Arc::new(Schema::new(fields))
}

fn format_number(v: f64) -> String {
    if v.is_nan() {
        "nan".to_string()
    } else {
        v.to_string()
    }
}

/// The item-metadata columns (item_id … properties) of `rows` observations.
pub fn item_columns(def: &CubeDef, observations: &[usize]) -> Vec<ArrayRef> {
    let n = observations.len();
    let mut id = StringBuilder::new();
    let mut coll = StringBuilder::new();
    let mut dt = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut day = Date32Builder::with_capacity(n);
    let mut count = Int32Builder::with_capacity(n);
    for &o in observations {
        let obs = &def.observations[o];
        let s = def.head(obs);
        id.append_value(&s.item_id);
        coll.append_option(s.collection.as_deref());
        dt.append_option(s.datetime);
        day.append_option(s.solar_day);
        count.append_value(obs.scenes.len() as i32);
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(coll.finish()),
        Arc::new(dt.finish()),
        Arc::new(day.finish()),
        Arc::new(count.finish()),
    ];
    for (p, prop) in def.props.iter().enumerate() {
        let value = |o: usize| &def.head(&def.observations[o]).props[p];
        let col: ArrayRef = match prop.kind {
            PropKind::Float => {
                let mut b = Float64Builder::with_capacity(n);
                for &o in observations {
                    b.append_option(value(o).as_f64());
                }
                Arc::new(b.finish())
            }
            PropKind::Bool => {
                let mut b = BooleanBuilder::with_capacity(n);
                for &o in observations {
                    b.append_option(value(o).as_bool());
                }
                Arc::new(b.finish())
            }
            PropKind::Text => {
                let mut b = StringBuilder::new();
                for &o in observations {
                    match value(o) {
                        serde_json::Value::Null => b.append_null(),
                        serde_json::Value::String(s) => b.append_value(s),
                        other => b.append_value(other.to_string()),
                    }
                }
                Arc::new(b.finish())
            }
        };
        cols.push(col);
    }
    cols
}

/// chunk_x, chunk_y and footprint columns for `chunks` (footprints as WKB).
pub fn chunk_columns(
    chunks: &[(i32, i32)],
    footprints: &[Vec<u8>],
) -> Result<Vec<ArrayRef>> {
    let mut x = Int32Builder::with_capacity(chunks.len());
    let mut y = Int32Builder::with_capacity(chunks.len());
    let mut fp = BinaryBuilder::new();
    for (&(cx, cy), wkb) in chunks.iter().zip(footprints) {
        x.append_value(cx);
        y.append_value(cy);
        fp.append_value(wkb);
    }
    Ok(vec![
        Arc::new(x.finish()),
        Arc::new(y.finish()),
        Arc::new(fp.finish()),
    ])
}
