//! Provenance: every raster Swath writes gets a STAC item beside it (`out.tif` →
//! `out.json`) recording the SQL statement, the plan, the input collections and item
//! ids, the time range of the inputs, the grid, and Swath's version.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use datafusion::physical_plan::{ExecutionPlan, displayable};
use serde_json::{Value, json};
use swath_grid::{Crs, Grid, PixelWindow, footprint_lonlat};

use crate::cube::exec::CubeScanExec;

tokio::task_local! {
    static STATEMENT: String;
}

/// Run `fut` (planning and executing `statement`) so that outputs it writes record
/// the statement's text in their provenance.
pub async fn with_statement<F: Future>(statement: &str, fut: F) -> F::Output {
    STATEMENT.scope(statement.to_string(), fut).await
}

/// The statement being run, when the front end said (see [`with_statement`]).
pub fn current_statement() -> Option<String> {
    STATEMENT.try_with(Clone::clone).ok()
}

/// What went into an output.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Inputs {
    /// The SQL statement, when known.
    pub statement: Option<String>,
    /// The physical plan that produced the rows.
    pub plan: String,
    /// Catalogue locations of the scanned tables.
    pub locations: BTreeSet<String>,
    /// Collections of the scanned items.
    pub collections: BTreeSet<String>,
    /// Ids of the items whose pixels the scans read.
    pub items: BTreeSet<String>,
    /// Earliest and latest acquisition (µs since the epoch).
    pub time_range: Option<(i64, i64)>,
}

impl Inputs {
    /// Collect from the plan that feeds an output.
    pub fn of(plan: &Arc<dyn ExecutionPlan>) -> Inputs {
        let mut out = Inputs {
            statement: current_statement(),
            plan: displayable(plan.as_ref()).indent(false).to_string(),
            ..Inputs::default()
        };
        out.walk(plan);
        out
    }

    fn walk(&mut self, plan: &Arc<dyn ExecutionPlan>) {
        if let Some(scan) = plan.downcast_ref::<CubeScanExec>() {
            let spec = scan.spec();
            let def = &spec.def;
            self.locations
                .insert(swath_store::redact_location(&def.location));
            let mut seen = BTreeSet::new();
            for task in spec.partitions.iter().flatten() {
                seen.extend(task.observations.iter().copied());
            }
            for o in seen {
                let Some(obs) = def.observations.get(o as usize) else {
                    continue;
                };
                for s in &obs.scenes {
                    let Some(scene) = def.scenes.get(*s) else {
                        continue;
                    };
                    self.items.insert(scene.item_id.clone());
                    if let Some(c) = &scene.collection {
                        self.collections.insert(c.clone());
                    }
                    if let Some(t) = scene.datetime {
                        self.time_range = Some(match self.time_range {
                            None => (t, t),
                            Some((a, b)) => (a.min(t), b.max(t)),
                        });
                    }
                }
            }
        }
        for child in plan.children() {
            self.walk(child);
        }
    }
}

/// A raster's description for its STAC item.
#[derive(Debug, Clone)]
pub struct RasterInfo {
    /// Item id (the file stem).
    pub id: String,
    /// The asset href, relative to the item (`./out.tif`).
    pub href: String,
    /// Media type of the asset.
    pub media_type: String,
    /// CRS, `EPSG:n` or a PROJ string.
    pub crs: String,
    /// Affine transform, rasterio order.
    pub transform: [f64; 6],
    /// Width and height in pixels.
    pub shape: (u64, u64),
    /// Band names, data type names and nodata.
    pub bands: Vec<(String, String, Option<f64>)>,
}

fn iso(us: i64) -> Value {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

/// The STAC item of a written raster.
pub fn stac_item(raster: &RasterInfo, inputs: &Inputs) -> Value {
    let (w, h) = raster.shape;
    let footprint = Crs::parse(&raster.crs).ok().and_then(|crs| {
        let grid = Grid {
            crs,
            transform: raster.transform,
            width: w,
            height: h,
        };
        footprint_lonlat(&grid, PixelWindow::new(0, 0, w, h), 8).ok()
    });
    let (geometry, bbox) = match footprint {
        Some(p) => {
            let ring: Vec<[f64; 2]> =
                p.exterior().points().map(|c| [c.x(), c.y()]).collect();
            let xs = ring.iter().map(|c| c[0]);
            let ys = ring.iter().map(|c| c[1]);
            let bbox = [
                xs.clone().fold(f64::INFINITY, f64::min),
                ys.clone().fold(f64::INFINITY, f64::min),
                xs.fold(f64::NEG_INFINITY, f64::max),
                ys.fold(f64::NEG_INFINITY, f64::max),
            ];
            (
                json!({"type": "Polygon", "coordinates": [ring]}),
                json!(bbox),
            )
        }
        None => (Value::Null, Value::Null),
    };
    let (start, end) = match inputs.time_range {
        Some((a, b)) => (iso(a), iso(b)),
        None => (Value::Null, Value::Null),
    };
    let created = iso(chrono::Utc::now().timestamp_micros());
    let bands: Vec<Value> = raster
        .bands
        .iter()
        .map(|(name, dtype, nodata)| {
            let nodata = match nodata {
                Some(v) if v.is_nan() => json!("nan"),
                Some(v) => json!(v),
                None => Value::Null,
            };
            json!({"name": name, "data_type": dtype, "nodata": nodata})
        })
        .collect();
    let mut properties = json!({
        "datetime": if start == end { start.clone() } else { Value::Null },
        "start_datetime": start,
        "end_datetime": end,
        "created": created,
        "proj:code": raster.crs,
        "proj:shape": [h, w],
        "proj:transform": raster.transform,
        "swath:version": env!("CARGO_PKG_VERSION"),
        "swath:sql": inputs.statement,
        "swath:plan": inputs.plan,
        "swath:inputs": {
            "catalogues": inputs.locations,
            "collections": inputs.collections,
            "items": inputs.items,
        },
    });
    if let Some(map) = properties.as_object_mut()
        && map.get("datetime") == Some(&Value::Null)
        && map.get("start_datetime") == Some(&Value::Null)
    {
        // STAC needs a datetime or a range; without inputs, the creation time.
        map.insert(
            "datetime".into(),
            map.get("created").cloned().unwrap_or(Value::Null),
        );
    }
    json!({
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": ["https://stac-extensions.github.io/projection/v2.0.0/schema.json"],
        "id": raster.id,
        "geometry": geometry,
        "bbox": bbox,
        "properties": properties,
        "assets": {
            "data": {
                "href": raster.href,
                "type": raster.media_type,
                "roles": ["data"],
                "bands": bands,
            }
        },
        "links": [],
    })
}

/// Where the STAC item of an output at `path` goes: beside it, its extension
/// (`.tif`, `.tiff`, `.zarr`) replaced by `.json`.
pub fn sibling_json(path: &object_store::path::Path) -> object_store::path::Path {
    let mut parts: Vec<String> = path.parts().map(|p| p.as_ref().to_string()).collect();
    if let Some(last) = parts.last_mut() {
        let stem = [".tif", ".tiff", ".zarr"]
            .iter()
            .find_map(|e| last.strip_suffix(e))
            .unwrap_or(last);
        *last = format!("{stem}.json");
    }
    object_store::path::Path::from_iter(parts)
}
