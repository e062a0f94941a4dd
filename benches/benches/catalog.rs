//! Catalogue filtering: `swath_catalog::load` on a stac-geoparquet file of 1,048,576
//! synthetic items (time + bbox + cloud cover pushed into the Parquet scan), and on a
//! static Collection linking 10,000 item files.
//!
//! `cargo bench --profile fast -p swath-benches --bench catalog`.
//!
//! The data are generated once, before measuring, into a temporary directory:
//!
//! - the Parquet file has the layout rustac 0.9 and stac-geoparquet 0.8 write (core
//!   fields, `bbox` struct, WKB `geometry` tagged `geoarrow.wkb`, `assets` struct,
//!   `datetime` as timestamp[us, UTC], flattened properties, `geo` and
//!   `stac-geoparquet` file metadata), sorted by datetime, 65,536 rows per row group,
//!   ZSTD; items are 1°×1° tiles at pseudo-random positions of a world grid
//!   (lon −180..180, lat −56..84) spread uniformly over 2018-01-01..2024-01-01;
//! - the JSON catalogue has Sentinel-2-like items (3 assets with `eo:bands`,
//!   `raster:bands`, `proj:*`) over 2021 on tiles of lon 0..20, lat 40..60, in one
//!   subdirectory per tile.
//!
//! The matches each query must return are counted from the generator's parameters
//! (not by the reader) and checked against `load` before anything is timed.

#![expect(
    clippy::expect_used,
    reason = "a benchmark fails loudly on broken setup"
)]

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, BinaryArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, SecondsFormat, Utc};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{Value, json};
use swath_catalog::{
    Bbox, Filter, LoadOptions, Loaded, Op, Predicate, Stores, TimeRange,
};

/// Items in the Parquet file.
const ROWS: usize = 1 << 20;
/// Rows per Parquet row group.
const ROW_GROUP: usize = 65_536;
/// Item files of the JSON catalogue.
const JSON_ITEMS: usize = 10_000;
/// The query's box (lon/lat) and cloud cover limit.
const QUERY_BBOX: [f64; 4] = [5.0, 45.0, 15.0, 55.0];
const MAX_CLOUD: f64 = 20.0;
const COLLECTION: &str = "sentinel-2-l2a";

/// A small xorshift64 generator: deterministic, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The generator's parameters of one item: everything a filter looks at.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Acquisition time, µs since the epoch.
    micros: i64,
    /// South-west corner of the 1°×1° tile.
    lon: i32,
    lat: i32,
    /// 0.00..=100.00.
    cloud: f64,
    /// Sentinel-2B (else 2A).
    b: bool,
}

impl Row {
    fn id(&self, i: usize) -> String {
        format!(
            "S2{}_T{:+04}{:+03}_{i:07}_L2A",
            if self.b { 'B' } else { 'A' },
            self.lon,
            self.lat
        )
    }

    fn platform(&self) -> &'static str {
        if self.b { "sentinel-2b" } else { "sentinel-2a" }
    }

    fn bbox(&self) -> [f64; 4] {
        let (w, s) = (f64::from(self.lon), f64::from(self.lat));
        [w, s, w + 1.0, s + 1.0]
    }

    fn epsg(&self) -> i64 {
        let zone = i64::from((self.lon + 180) / 6 + 1);
        if self.lat >= 0 {
            32600 + zone
        } else {
            32700 + zone
        }
    }

    fn datetime(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros).expect("time in range")
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("RFC 3339").to_utc()
}

/// `n` items sorted by time, uniform over `[t0, t1)`, on tiles with south-west corners
/// in `lons` × `lats`.
fn generate(
    n: usize,
    (t0, t1): (&str, &str),
    lons: std::ops::Range<i32>,
    lats: std::ops::Range<i32>,
    seed: u64,
) -> Vec<Row> {
    let mut rng = XorShift(seed);
    let (t0, t1) = (t(t0).timestamp_micros(), t(t1).timestamp_micros());
    let step = (t1 - t0) / n as i64;
    let span = |r: &std::ops::Range<i32>| (r.end - r.start) as u64;
    (0..n)
        .map(|i| Row {
            micros: t0 + i as i64 * step + (rng.next() % step as u64) as i64,
            lon: lons.start + (rng.next() % span(&lons)) as i32,
            lat: lats.start + (rng.next() % span(&lats)) as i32,
            cloud: (rng.next() % 10_001) as f64 / 100.0,
            b: rng.next() % 2 == 1,
        })
        .collect()
}

/// The ids a filter of time range + bbox + `eo:cloud_cover < MAX_CLOUD` must return,
/// from the parameters (bbox intersection includes edges, as STAC's does).
fn expected(rows: &[Row], time: Option<TimeRange>, bbox: [f64; 4]) -> BTreeSet<String> {
    let [w, s, e, n] = bbox;
    rows.iter()
        .enumerate()
        .filter(|(_, r)| {
            let when = r.datetime();
            let in_time = time.is_none_or(|t| {
                t.start.is_none_or(|s| when >= s) && t.end.is_none_or(|e| when <= e)
            });
            let [x0, y0, x1, y1] = r.bbox();
            let in_space = x0 <= e && x1 >= w && y0 <= n && y1 >= s;
            in_time && in_space && r.cloud < MAX_CLOUD
        })
        .map(|(i, r)| r.id(i))
        .collect()
}

fn filter(time: Option<TimeRange>) -> Filter {
    Filter {
        time,
        bbox: Some(Bbox::from_slice(&QUERY_BBOX).expect("bbox")),
        predicates: vec![Predicate::new("eo:cloud_cover", Op::Lt, MAX_CLOUD)],
        ..Filter::default()
    }
}

fn june_2021() -> TimeRange {
    TimeRange {
        start: Some(t("2021-06-01T00:00:00Z")),
        end: Some(t("2021-06-30T23:59:59Z")),
    }
}

// ---------------------------------------------------------------------------------
// stac-geoparquet
// ---------------------------------------------------------------------------------

fn nullable(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, true)
}

fn utf8_list() -> DataType {
    DataType::List(Arc::new(nullable("item", DataType::Utf8)))
}

fn link_fields() -> Fields {
    Fields::from(vec![
        nullable("rel", DataType::Utf8),
        nullable("href", DataType::Utf8),
    ])
}

fn asset_fields() -> Fields {
    Fields::from(vec![
        nullable("href", DataType::Utf8),
        nullable("type", DataType::Utf8),
        nullable("roles", utf8_list()),
    ])
}

const ASSETS: [(&str, &str, &[&str]); 3] = [
    ("red", "B04", &["data", "reflectance"]),
    ("nir", "B08", &["data", "reflectance"]),
    ("scl", "SCL", &["data"]),
];

const COG: &str = "image/tiff; application=geotiff; profile=cloud-optimized";

const EXTENSIONS: [&str; 4] = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
];

fn assets_fields() -> Fields {
    Fields::from(
        ASSETS
            .iter()
            .map(|(key, _, _)| nullable(key, DataType::Struct(asset_fields())))
            .collect::<Vec<_>>(),
    )
}

fn geoparquet_schema() -> SchemaRef {
    let geometry =
        nullable("geometry", DataType::Binary).with_metadata(HashMap::from([(
            "ARROW:extension:name".to_string(),
            "geoarrow.wkb".to_string(),
        )]));
    let bbox = Fields::from(
        ["xmin", "ymin", "xmax", "ymax"]
            .map(|c| nullable(c, DataType::Float64))
            .to_vec(),
    );
    Arc::new(Schema::new(vec![
        nullable("type", DataType::Utf8),
        nullable("stac_version", DataType::Utf8),
        nullable("stac_extensions", utf8_list()),
        nullable("id", DataType::Utf8),
        nullable("collection", DataType::Utf8),
        geometry,
        nullable("bbox", DataType::Struct(bbox)),
        nullable(
            "links",
            DataType::List(Arc::new(nullable("item", DataType::Struct(link_fields())))),
        ),
        nullable("assets", DataType::Struct(assets_fields())),
        nullable(
            "datetime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ),
        nullable("eo:cloud_cover", DataType::Float64),
        nullable("platform", DataType::Utf8),
        nullable("proj:epsg", DataType::Int64),
    ]))
}

/// A little-endian WKB Polygon of the box.
fn wkb_polygon([w, s, e, n]: [f64; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(93);
    out.push(1u8);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&5u32.to_le_bytes());
    for (x, y) in [(w, s), (e, s), (e, n), (w, n), (w, s)] {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
    out
}

/// A list array of `len` rows, each the same list of strings.
fn repeated_list(len: usize, values: &[&str]) -> ListArray {
    let flat: Vec<&str> = (0..len).flat_map(|_| values.iter().copied()).collect();
    let flat = StringArray::from_iter_values(flat);
    ListArray::new(
        Arc::new(nullable("item", DataType::Utf8)),
        OffsetBuffer::from_lengths(std::iter::repeat_n(values.len(), len)),
        Arc::new(flat),
        None,
    )
}

fn constant(len: usize, value: &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
        value, len,
    )))
}

fn asset_prefix(id: &str) -> String {
    format!("https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/{id}")
}

/// The record batch of `rows`, the first being item number `first`.
fn record_batch(schema: &SchemaRef, rows: &[Row], first: usize) -> RecordBatch {
    let len = rows.len();
    let ids: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| r.id(first + i))
        .collect();
    let bbox_of = |k: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.bbox()[k]),
        ))
    };
    let bbox = StructArray::new(
        match schema.field_with_name("bbox").expect("bbox").data_type() {
            DataType::Struct(f) => f.clone(),
            _ => unreachable!("bbox is a struct"),
        },
        (0..4).map(bbox_of).collect(),
        None,
    );
    let geometry =
        BinaryArray::from_iter_values(rows.iter().map(|r| wkb_polygon(r.bbox())));
    // Every other item has links (collection and self); the rest have none.
    let link_count = |i: usize| if (first + i).is_multiple_of(2) { 2 } else { 0 };
    let mut rels = Vec::new();
    let mut hrefs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if link_count(i) > 0 {
            rels.extend(["collection", "self"]);
            let base = format!(
                "https://earth-search.aws.element84.com/v1/collections/{COLLECTION}"
            );
            hrefs.push(base.clone());
            hrefs.push(format!("{base}/items/{id}"));
        }
    }
    let links = ListArray::new(
        Arc::new(nullable("item", DataType::Struct(link_fields()))),
        OffsetBuffer::from_lengths((0..len).map(link_count)),
        Arc::new(StructArray::new(
            link_fields(),
            vec![
                Arc::new(StringArray::from_iter_values(rels)),
                Arc::new(StringArray::from_iter_values(hrefs)),
            ],
            None,
        )),
        None,
    );
    let assets: Vec<ArrayRef> = ASSETS
        .iter()
        .map(|(_, file, roles)| {
            let href = StringArray::from_iter_values(
                ids.iter()
                    .map(|id| format!("{}/{file}.tif", asset_prefix(id))),
            );
            Arc::new(StructArray::new(
                asset_fields(),
                vec![
                    Arc::new(href),
                    constant(len, COG),
                    Arc::new(repeated_list(len, roles)),
                ],
                None,
            )) as ArrayRef
        })
        .collect();
    let columns: Vec<ArrayRef> = vec![
        constant(len, "Feature"),
        constant(len, "1.0.0"),
        Arc::new(repeated_list(len, &EXTENSIONS)),
        Arc::new(StringArray::from_iter_values(&ids)),
        constant(len, COLLECTION),
        Arc::new(geometry),
        Arc::new(bbox),
        Arc::new(links),
        Arc::new(StructArray::new(assets_fields(), assets, None)),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.micros))
                .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.cloud))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(Row::platform),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(Row::epsg))),
    ];
    RecordBatch::try_new(Arc::clone(schema), columns).expect("record batch")
}

fn write_geoparquet(path: &Path, rows: &[Row]) {
    let geo = json!({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {
            "encoding": "WKB",
            "geometry_types": ["Polygon"],
            "bbox": [-180.0, -56.0, 180.0, 84.0],
            "covering": {"bbox": {
                "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
                "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"]
            }}
        }}
    });
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("geo".into(), geo.to_string()),
            KeyValue::new(
                "stac-geoparquet".into(),
                json!({"version": "1.0.0"}).to_string(),
            ),
        ]))
        .build();
    let schema = geoparquet_schema();
    let file = File::create(path).expect("create the parquet file");
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
        .expect("writer");
    for (k, chunk) in rows.chunks(ROW_GROUP).enumerate() {
        writer
            .write(&record_batch(&schema, chunk, k * ROW_GROUP))
            .expect("write a batch");
    }
    writer.close().expect("close the parquet file");
}

/// Print the compressed / uncompressed bytes of each top-level column (all row groups).
fn describe_layout(path: &Path) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader =
        SerializedFileReader::new(File::open(path).expect("open the parquet file"))
            .expect("parquet metadata");
    let mut sizes: Vec<(String, i64, i64)> = Vec::new();
    for rg in reader.metadata().row_groups() {
        for column in rg.columns() {
            let top = column.column_path().parts()[0].clone();
            match sizes.iter_mut().find(|(name, _, _)| *name == top) {
                Some((_, c, u)) => {
                    *c += column.compressed_size();
                    *u += column.uncompressed_size();
                }
                None => sizes.push((
                    top,
                    column.compressed_size(),
                    column.uncompressed_size(),
                )),
            }
        }
    }
    let mib = |b: i64| b as f64 / (1 << 20) as f64;
    let (c, u) = sizes.iter().fold((0, 0), |(c, u), s| (c + s.1, u + s.2));
    eprintln!(
        "columns (compressed / uncompressed MiB): total {:.1} / {:.1}",
        mib(c),
        mib(u)
    );
    for (name, c, u) in &sizes {
        eprintln!("  {name}: {:.1} / {:.1}", mib(*c), mib(*u));
    }
}

// ---------------------------------------------------------------------------------
// A static Collection of item files
// ---------------------------------------------------------------------------------

/// A Sentinel-2-like item as Earth Search publishes it (3 of its assets).
fn item_json(row: &Row, id: &str) -> Value {
    let [w, s, e, n] = row.bbox();
    let epsg = row.epsg();
    let zone = epsg % 100;
    let prefix = asset_prefix(id);
    let band = |file: &str, common: &str, wavelength: f64| {
        json!({
            "href": format!("{prefix}/{file}.tif"),
            "type": COG,
            "title": format!("{} - 10m", common),
            "eo:bands": [{"name": common, "common_name": common, "center_wavelength": wavelength}],
            "gsd": 10,
            "proj:shape": [10980, 10980],
            "proj:transform": [10, 0, 300000, 0, -10, 5400000],
            "raster:bands": [{"nodata": 0, "data_type": "uint16", "bits_per_sample": 15,
                              "spatial_resolution": 10, "scale": 0.0001, "offset": -0.1}],
            "roles": ["data", "reflectance"]
        })
    };
    json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": EXTENSIONS,
        "id": id,
        "collection": COLLECTION,
        "bbox": [w, s, e, n],
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": {
            "datetime": row.datetime().to_rfc3339_opts(SecondsFormat::Micros, true),
            "created": "2022-11-06T13:14:57.270Z",
            "updated": "2022-11-06T13:14:57.270Z",
            "platform": row.platform(),
            "constellation": "sentinel-2",
            "instruments": ["msi"],
            "eo:cloud_cover": row.cloud,
            "proj:epsg": epsg,
            "mgrs:utm_zone": zone,
            "mgrs:latitude_band": "U",
            "mgrs:grid_square": "UP",
            "view:sun_azimuth": 154.1851172055296,
            "view:sun_elevation": 62.995554264766,
            "s2:nodata_pixel_percentage": 0,
            "s2:vegetation_percentage": 57.828,
            "s2:water_percentage": 3.318,
            "s2:product_type": "S2MSI2A",
            "s2:processing_baseline": "05.09",
            "s2:product_uri": format!("S2A_MSIL2A_{id}.SAFE"),
        },
        "links": [
            {"rel": "license", "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"},
            {"rel": "parent", "href": "../../collection.json", "type": "application/json"},
            {"rel": "collection", "href": "../../collection.json", "type": "application/json"},
            {"rel": "root", "href": "../../collection.json", "type": "application/json"},
            {"rel": "thumbnail", "href": format!("{prefix}/thumbnail.jpg")}
        ],
        "assets": {
            "red": band("B04", "red", 0.665),
            "nir": band("B08", "nir", 0.842),
            "scl": {
                "href": format!("{prefix}/SCL.tif"),
                "type": COG,
                "title": "Scene classification map (SCL)",
                "proj:shape": [5490, 5490],
                "proj:transform": [20, 0, 300000, 0, -20, 5400000],
                "raster:bands": [{"nodata": 0, "data_type": "uint8", "spatial_resolution": 20}],
                "roles": ["data", "reflectance"]
            }
        }
    })
}

/// `dir/collection.json` linking every item at `dir/items/<tile>/<id>.json`.
fn write_json_catalogue(dir: &Path, rows: &[Row]) {
    let mut links = vec![json!({"rel": "root", "href": "./collection.json"})];
    for (i, row) in rows.iter().enumerate() {
        let id = row.id(i);
        let sub = format!("items/{:+04}{:+03}", row.lon, row.lat);
        std::fs::create_dir_all(dir.join(&sub)).expect("mkdir");
        let path = format!("{sub}/{id}.json");
        std::fs::write(dir.join(&path), item_json(row, &id).to_string()).expect("write");
        links.push(json!({"rel": "item", "href": format!("./{path}"), "type": "application/geo+json"}));
    }
    let collection = json!({
        "type": "Collection", "stac_version": "1.0.0", "id": COLLECTION,
        "description": "10,000 synthetic Sentinel-2 L2A items", "license": "proprietary",
        "extent": {"spatial": {"bbox": [[0, 40, 20, 60]]},
                   "temporal": {"interval": [["2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z"]]}},
        "links": links
    });
    std::fs::write(dir.join("collection.json"), collection.to_string()).expect("write");
}

// ---------------------------------------------------------------------------------

fn ids(loaded: &Loaded) -> BTreeSet<String> {
    loaded.items.iter().map(|i| i.id.clone()).collect()
}

fn check(name: &str, loaded: &Loaded, want: &BTreeSet<String>, elapsed: Duration) {
    let s = &loaded.stats;
    eprintln!(
        "{name}: {} items (expected {}), {:.1} ms; row_groups {}, row_groups_pruned {}, \
         rows_filtered {}, items_read {}, documents {}, bytes {}",
        loaded.items.len(),
        want.len(),
        elapsed.as_secs_f64() * 1e3,
        s.row_groups,
        s.row_groups_pruned,
        s.rows_filtered,
        s.items_read,
        s.documents,
        s.bytes,
    );
    let got = ids(loaded);
    assert_eq!(got.len(), loaded.items.len(), "{name}: duplicate ids");
    if &got != want {
        let missing: Vec<_> = want.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(want).take(5).collect();
        panic!(
            "{name}: {} items, expected {}; missing e.g. {missing:?}, unexpected e.g. {extra:?}",
            got.len(),
            want.len()
        );
    }
}

fn catalog(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let stores = Stores::local();
    let options = LoadOptions::default();
    let load = |location: &str, filter: &Filter| -> Loaded {
        runtime
            .block_on(swath_catalog::load(location, &stores, filter, &options))
            .expect("load")
    };
    let timed = |location: &str, filter: &Filter| {
        let started = Instant::now();
        let loaded = load(location, filter);
        (loaded, started.elapsed())
    };

    // The stac-geoparquet file.
    let started = Instant::now();
    let rows = generate(
        ROWS,
        ("2018-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        -180..180,
        -56..84,
        0x2545_F491_4F6C_DD1D,
    );
    let parquet = dir.path().join("items.parquet");
    write_geoparquet(&parquet, &rows);
    let size = std::fs::metadata(&parquet).expect("size").len();
    eprintln!(
        "wrote {ROWS} items to stac-geoparquet: {:.1} MiB, {} row groups, in {:.1} s",
        size as f64 / (1 << 20) as f64,
        ROWS.div_ceil(ROW_GROUP),
        started.elapsed().as_secs_f64()
    );
    describe_layout(&parquet);
    let parquet = parquet.to_str().expect("UTF-8 temp path").to_string();
    let month = filter(Some(june_2021()));
    let all_time = filter(None);
    let want_month = expected(&rows, Some(june_2021()), QUERY_BBOX);
    let want_all_time = expected(&rows, None, QUERY_BBOX);
    assert!(!want_month.is_empty(), "the month query matches nothing");
    let (loaded, elapsed) = timed(&parquet, &month);
    check(
        "geoparquet_1m/time_bbox_cloud",
        &loaded,
        &want_month,
        elapsed,
    );
    let (loaded, elapsed) = timed(&parquet, &all_time);
    check(
        "geoparquet_1m/bbox_cloud_all_time",
        &loaded,
        &want_all_time,
        elapsed,
    );
    drop(rows);

    // The JSON catalogue.
    let started = Instant::now();
    let json_rows = generate(
        JSON_ITEMS,
        ("2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z"),
        0..20,
        40..60,
        0x9E37_79B9_7F4A_7C15,
    );
    let json_dir = dir.path().join("json");
    write_json_catalogue(&json_dir, &json_rows);
    eprintln!(
        "wrote {JSON_ITEMS} item files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let collection = json_dir
        .join("collection.json")
        .to_str()
        .expect("UTF-8 temp path")
        .to_string();
    let want_json = expected(&json_rows, Some(june_2021()), QUERY_BBOX);
    assert!(!want_json.is_empty(), "the JSON query matches nothing");
    let (loaded, elapsed) = timed(&collection, &month);
    check("json_10k/collection_links", &loaded, &want_json, elapsed);

    let mut group = c.benchmark_group("geoparquet_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("time_bbox_cloud", |b| {
        b.iter(|| black_box(load(&parquet, &month).items.len()));
    });
    group.bench_function("bbox_cloud_all_time", |b| {
        b.iter(|| black_box(load(&parquet, &all_time).items.len()));
    });
    group.finish();

    let mut group = c.benchmark_group("json_10k");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("collection_links", |b| {
        b.iter(|| black_box(load(&collection, &month).items.len()));
    });
    group.finish();
}

criterion_group!(benches, catalog);
criterion_main!(benches);
