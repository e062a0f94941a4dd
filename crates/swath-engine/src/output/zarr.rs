//! `COPY (query) TO 'out.zarr' STORED AS ZARR`: the chunk rows of a query become a
//! Zarr v3 group on the table's grid, one 2-D array per tile column (chunks = the
//! table's chunks, absent chunks = fill value), with `x` / `y` coordinate arrays of
//! pixel centres and a CF `spatial_ref` grid mapping (`spatial_ref`, `GeoTransform`), so
//! xarray and rioxarray open it with coordinates and CRS. Chunks are written as they
//! arrive (through zarrs over the session's object store); nothing is held but a batch.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType as ArrowType, SchemaRef};
use async_trait::async_trait;
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::datasource::physical_plan::FileSinkConfig;
use datafusion::datasource::sink::DataSink;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::json;
use zarrs::array::codec::ZstdCodec;
use zarrs::array::{Array as ZarrArray, ArrayBuilder, data_type};
use zarrs::group::GroupBuilder;
use zarrs_object_store::AsyncObjectStore;

use super::cog::{Mosaic, tile_bytes};
use super::output_factory;
use super::provenance::{Inputs, RasterInfo, sibling_json, stac_item};
use super::{OutputRoots, RasterOutput, destination};

type Store = AsyncObjectStore<object_store::prefix::PrefixStore<Arc<dyn ObjectStore>>>;

/// `STORED AS ZARR`, writing under `roots`.
#[derive(Debug, Default)]
pub struct ZarrFormatFactory {
    /// Where outputs may go.
    pub roots: OutputRoots,
}

output_factory!(ZarrFormatFactory, ZarrOutput);

/// The Zarr output (writing only).
#[derive(Debug)]
pub struct ZarrOutput {
    level: i32,
    overwrite: bool,
}

impl Default for ZarrOutput {
    fn default() -> Self {
        ZarrOutput {
            level: 3,
            overwrite: false,
        }
    }
}

impl RasterOutput for ZarrOutput {
    const NAME: &'static str = "ZARR";
    const EXT: &'static str = "zarr";

    fn parse(options: &HashMap<String, String>) -> Result<Self> {
        let mut level = 3;
        let mut overwrite = false;
        for (k, v) in options {
            match k
                .strip_prefix("format.")
                .unwrap_or(k)
                .to_ascii_lowercase()
                .as_str()
            {
                "level" => {
                    level = v.trim().parse().map_err(|_| {
                        DataFusionError::Plan(format!(
                            "Zarr option level: not a number: '{v}'"
                        ))
                    })?
                }
                "overwrite" => overwrite = v.trim().eq_ignore_ascii_case("true"),
                _ => return plan_err!("unknown Zarr option '{k}' (level, overwrite)"),
            }
        }
        Ok(ZarrOutput { level, overwrite })
    }

    fn sink(
        &self,
        input: &Arc<dyn ExecutionPlan>,
        conf: FileSinkConfig,
        inputs: Inputs,
    ) -> Result<Arc<dyn DataSink>> {
        Ok(Arc::new(ZarrSink {
            config: conf,
            level: self.level,
            overwrite: self.overwrite,
            mosaic: Mosaic::plan(&input.schema(), "Zarr output", false)?,
            inputs,
        }))
    }
}

struct ZarrSink {
    config: FileSinkConfig,
    level: i32,
    overwrite: bool,
    mosaic: Mosaic,
    inputs: Inputs,
}

impl fmt::Debug for ZarrSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZarrSink")
            .field("path", &self.config.original_url)
            .finish()
    }
}

impl DisplayAs for ZarrSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bands: Vec<&str> = self.mosaic.bands.iter().map(|b| b.1.as_str()).collect();
        write!(
            f,
            "ZarrSink: path={}, arrays=[{}]",
            self.config.original_url,
            bands.join(", ")
        )
    }
}

fn zerr(e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("Zarr output: {e}"))
}

fn zarr_type(t: &ArrowType) -> Result<zarrs::array::DataType> {
    Ok(match t {
        ArrowType::UInt8 => data_type::uint8(),
        ArrowType::Int8 => data_type::int8(),
        ArrowType::UInt16 => data_type::uint16(),
        ArrowType::Int16 => data_type::int16(),
        ArrowType::UInt32 => data_type::uint32(),
        ArrowType::Int32 => data_type::int32(),
        ArrowType::Float32 => data_type::float32(),
        ArrowType::Float64 => data_type::float64(),
        other => return exec_err!("Zarr output: pixel type {other} is not supported"),
    })
}

/// A fill value of the array's type from a nodata number.
fn fill_value(t: &ArrowType, nodata: Option<f64>) -> zarrs::array::FillValue {
    use zarrs::array::FillValue;
    let nd = nodata.unwrap_or(if matches!(t, ArrowType::Float32 | ArrowType::Float64) {
        f64::NAN
    } else {
        0.0
    });
    match t {
        ArrowType::UInt8 => FillValue::from(nd as u8),
        ArrowType::Int8 => FillValue::from(nd as i8),
        ArrowType::UInt16 => FillValue::from(nd as u16),
        ArrowType::Int16 => FillValue::from(nd as i16),
        ArrowType::UInt32 => FillValue::from(nd as u32),
        ArrowType::Int32 => FillValue::from(nd as i32),
        ArrowType::Float32 => FillValue::from(nd as f32),
        _ => FillValue::from(nd),
    }
}

#[async_trait]
impl DataSink for ZarrSink {
    fn schema(&self) -> &SchemaRef {
        self.config.output_schema()
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let (base, prefix) = destination("Zarr", &self.config, context)?;
        let item_path = sibling_json(&prefix);
        let group_key = prefix.clone().join("zarr.json");
        if !self.overwrite && base.head(&group_key).await.is_ok() {
            return exec_err!(
                "Zarr output: {} exists; add OPTIONS (overwrite 'true') to replace it",
                self.config.original_url
            );
        }
        let store: Arc<Store> = Arc::new(AsyncObjectStore::new(
            object_store::prefix::PrefixStore::new(Arc::clone(&base), prefix.clone()),
        ));
        let m = &self.mosaic;
        let g = &m.grid;
        let (w, h, bs) = (g.width, g.height, u64::from(g.chunk_width));
        let t = g.transform;
        let geo = format!("{} {} {} {} {} {}", t[2], t[0], t[1], t[5], t[3], t[4]);
        let mut group = GroupBuilder::new();
        group.attributes(
            json!({
                "crs": g.crs,
                "swath:grid": g,
                "Conventions": "CF-1.8",
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        group
            .build(Arc::clone(&store), "/")
            .map_err(zerr)?
            .async_store_metadata()
            .await
            .map_err(zerr)?;
        // grid mapping and coordinates
        // a 0-d grid-mapping variable, as CF and rioxarray have it
        let mut sr = ArrayBuilder::new(
            Vec::<u64>::new(),
            Vec::<u64>::new(),
            data_type::int64(),
            0i64,
        );
        sr.dimension_names(Some(Vec::<String>::new()));
        sr.attributes(
            json!({"spatial_ref": g.crs, "crs_wkt": g.crs, "GeoTransform": geo})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let sr = sr.build(Arc::clone(&store), "/spatial_ref").map_err(zerr)?;
        sr.async_store_metadata().await.map_err(zerr)?;
        sr.async_store_chunk(&[], &[0i64][..]).await.map_err(zerr)?;
        for (name, n, origin, step) in [("x", w, t[2], t[0]), ("y", h, t[5], t[4])] {
            let values: Vec<f64> =
                (0..n).map(|i| origin + (i as f64 + 0.5) * step).collect();
            let mut b = ArrayBuilder::new(
                vec![n],
                vec![n.max(1)],
                data_type::float64(),
                f64::NAN,
            );
            b.dimension_names(Some([name]));
            b.attributes(
                json!({
                    "standard_name": format!("projection_{name}_coordinate"),
                    "axis": name.to_uppercase(),
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            );
            let a = b
                .build(Arc::clone(&store), &format!("/{name}"))
                .map_err(zerr)?;
            a.async_store_metadata().await.map_err(zerr)?;
            a.async_store_chunk(&[0], &values).await.map_err(zerr)?;
        }
        let mut arrays: Vec<ZarrArray<Store>> = Vec::new();
        for (_, name, meta) in &m.bands {
            let mut b = ArrayBuilder::new(
                vec![h, w],
                vec![bs, bs],
                zarr_type(&meta.dtype)?,
                fill_value(&meta.dtype, meta.nodata),
            );
            b.dimension_names(Some(["y", "x"]));
            b.bytes_to_bytes_codecs(vec![Arc::new(ZstdCodec::new(self.level, false))]);
            let mut attrs =
                json!({"grid_mapping": "spatial_ref", "coordinates": "spatial_ref"});
            if meta.scale != 1.0 {
                attrs["scale_factor"] = json!(meta.scale);
            }
            if meta.offset != 0.0 {
                attrs["add_offset"] = json!(meta.offset);
            }
            if let Some(nd) = meta.nodata.filter(|v| !v.is_nan()) {
                attrs["_FillValue"] = json!(nd);
            }
            b.attributes(attrs.as_object().cloned().unwrap_or_default());
            let a = b
                .build(Arc::clone(&store), &format!("/{name}"))
                .map_err(zerr)?;
            a.async_store_metadata().await.map_err(zerr)?;
            arrays.push(a);
        }
        let mut seen = HashSet::new();
        let len = m.chunk_len();
        while let Some(batch) = data.next().await {
            let batch = batch?;
            for (row, (x, y)) in
                m.chunk_keys(&batch, "Zarr output")?.into_iter().enumerate()
            {
                if !seen.insert((x, y)) {
                    return exec_err!(
                        "Zarr output: more than one row for chunk ({x}, {y}); reduce over time first (GROUP BY chunk_x, chunk_y)"
                    );
                }
                let at = [y as u64, x as u64];
                for ((col, _, meta), array) in m.bands.iter().zip(&arrays) {
                    let list = batch.column(*col).as_fixed_size_list();
                    if list.is_null(row) {
                        continue;
                    }
                    let mut bytes = Vec::with_capacity(len * 8);
                    let nodata = meta.nodata.unwrap_or(f64::NAN);
                    tile_bytes(list, row, len, meta, nodata, &mut bytes)?;
                    array
                        .async_store_chunk(&at, zarrs::array::ArrayBytes::from(bytes))
                        .await
                        .map_err(zerr)?;
                }
            }
        }
        // The STAC item beside the store (`out.zarr` → `out.json`).
        let name = prefix.filename().unwrap_or("output.zarr").to_string();
        let raster = RasterInfo {
            id: name.strip_suffix(".zarr").unwrap_or(&name).to_string(),
            href: format!("./{name}"),
            media_type: "application/vnd.zarr; version=3".into(),
            crs: g.crs.clone(),
            transform: g.transform,
            shape: (w, h),
            bands: m
                .bands
                .iter()
                .map(|(_, n, meta)| {
                    (
                        n.clone(),
                        meta.dtype.to_string().to_lowercase(),
                        meta.nodata,
                    )
                })
                .collect(),
        };
        let body =
            serde_json::to_vec_pretty(&stac_item(&raster, &self.inputs)).map_err(zerr)?;
        base.put(&item_path, body.into()).await?;
        Ok(seen.len() as u64)
    }
}
