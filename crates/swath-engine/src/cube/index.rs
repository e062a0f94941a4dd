//! The persisted header index: the COG headers (IFDs and tile offsets) of a table's
//! assets, kept in a Parquet file so a later process opens them with no request.
//!
//! One row per file: `href` (Utf8), `size` (UInt64, the file's size when read),
//! `etag` (Utf8, the store's version, nullable), `header` (Binary, the header bytes:
//! [`HeaderSnapshot::encode`]). A file whose size changed is not served from the
//! index; one whose ETag changed fails its first tile request (`If-Match`) and is
//! read again, so stale offsets are never used.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, BinaryArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{
    DataFusionError, Result, exec_datafusion_err, plan_datafusion_err,
};
use datafusion::execution::runtime_env::RuntimeEnv;
use object_store::{ObjectStoreExt, PutPayload};
use swath_geotiff::HeaderSnapshot;
use url::Url;

/// The largest index file read, in bytes.
pub const MAX_INDEX_BYTES: u64 = 2 << 30;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("href", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("etag", DataType::Utf8, true),
        Field::new("header", DataType::Binary, false),
    ]))
}

/// Where the index of a catalogue at `location` lives by default: beside a local
/// catalogue, `NAME.headers.parquet` for `NAME.json` (`None` for remote ones).
pub fn sidecar(location: &Url) -> Option<Url> {
    if location.scheme() != "file" {
        return None;
    }
    let path = location.to_file_path().ok()?;
    if path.is_dir() {
        return Url::from_file_path(path.join("headers.parquet")).ok();
    }
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    Url::from_file_path(path.with_file_name(format!("{stem}.headers.parquet"))).ok()
}

/// Read the index at `url`; `Ok(None)` when there is no such file.
pub async fn load(
    runtime: &RuntimeEnv,
    url: &Url,
) -> Result<Option<Vec<(String, HeaderSnapshot)>>> {
    let store = crate::stores::store(runtime, url)?;
    let path = swath_store::object_path(url).map_err(|e| plan_datafusion_err!("{e}"))?;
    let bytes = match store.get(&path).await {
        Ok(got) => {
            if got.meta.size > MAX_INDEX_BYTES {
                return Err(plan_datafusion_err!(
                    "header index {url}: {} bytes, more than the {MAX_INDEX_BYTES} read",
                    got.meta.size
                ));
            }
            got.bytes()
                .await
                .map_err(|e| plan_datafusion_err!("header index {url}: {e}"))?
        }
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(plan_datafusion_err!("header index {url}: {e}")),
    };
    let bad = |e: &dyn std::fmt::Display| plan_datafusion_err!("header index {url}: {e}");
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| bad(&e))?
            .build()
            .map_err(|e| bad(&e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| bad(&format!("no column {name:?}")))
        };
        let hrefs = column("href")?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad(&"href is not Utf8"))?;
        let sizes = column("size")?
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| bad(&"size is not UInt64"))?;
        let etags = column("etag")?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad(&"etag is not Utf8"))?;
        let headers = column("header")?
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or_else(|| bad(&"header is not Binary"))?;
        for i in 0..batch.num_rows() {
            if hrefs.is_null(i) || headers.is_null(i) {
                return Err(bad(&format!("row {i} has no href or header")));
            }
            let etag = (!etags.is_null(i)).then(|| etags.value(i).to_string());
            let snapshot = HeaderSnapshot::decode(headers.value(i), etag)
                .map_err(|e| bad(&format!("{}: {e}", hrefs.value(i))))?;
            if snapshot.file_size != sizes.value(i) {
                return Err(bad(&format!(
                    "{}: size and header disagree",
                    hrefs.value(i)
                )));
            }
            out.push((hrefs.value(i).to_string(), snapshot));
        }
    }
    Ok(Some(out))
}

/// Write `entries` (merged over the index already at `url`, newer first) to `url`,
/// replacing it whole: a reader sees the old file or the new one.
pub async fn save(
    runtime: &RuntimeEnv,
    url: &Url,
    entries: Vec<(String, HeaderSnapshot)>,
) -> Result<usize> {
    let mut all: BTreeMap<String, HeaderSnapshot> = load(runtime, url)
        .await?
        .unwrap_or_default()
        .into_iter()
        .collect();
    all.extend(entries);
    let hrefs: StringArray = all.keys().map(|k| Some(k.as_str())).collect();
    let sizes: UInt64Array = all.values().map(|s| Some(s.file_size)).collect();
    let etags: StringArray = all.values().map(|s| s.version.as_deref()).collect();
    let encoded: Vec<Vec<u8>> = all.values().map(HeaderSnapshot::encode).collect();
    let headers: BinaryArray = encoded.iter().map(|b| Some(b.as_slice())).collect();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(hrefs),
            Arc::new(sizes),
            Arc::new(etags),
            Arc::new(headers),
        ],
    )?;
    let mut buffer = Vec::new();
    {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
            .build();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut buffer, schema(), Some(props))?;
        writer.write(&batch)?;
        writer.close()?;
    }
    let store = crate::stores::store(runtime, url)?;
    let path = swath_store::object_path(url).map_err(|e| exec_datafusion_err!("{e}"))?;
    store
        .put(&path, PutPayload::from(buffer))
        .await
        .map_err(|e| DataFusionError::Execution(format!("header index {url}: {e}")))?;
    Ok(all.len())
}
