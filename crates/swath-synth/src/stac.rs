//! The STAC documents, shaped like Earth Search v1's `sentinel-2-l2a`: one item per
//! granule and date (relative links and hrefs, so the catalogue can be moved), and
//! the collection that links them.

use serde_json::{Value, json};

use crate::ItemInfo;
use crate::bands::{BANDS, COG_TYPE, OFFSET, SCALE, SCL, scl};
use crate::layout::Granule;
use crate::render::Rendered;
use crate::sky::DatePlan;
use crate::spec::SynthSpec;
use crate::time::{compact_date, rfc3339, sun_position};

/// The collection id (Earth Search's, so queries written for it work).
pub(crate) const COLLECTION_ID: &str = "sentinel-2-l2a";

/// Extensions the items use.
const ITEM_EXTENSIONS: [&str; 6] = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
    "https://stac-extensions.github.io/grid/v1.1.0/schema.json",
];

/// A number as JSON, integral values without a fraction (`10`, not `10.0`), as
/// Earth Search writes transforms.
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// Round to `d` decimals.
fn round(x: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (x * f).round() / f
}

/// The item id: `S2A_33TYK_20230612_0_L2A`.
pub(crate) fn item_id(g: &Granule, plan: &DatePlan) -> String {
    format!(
        "{}_{}_{}_0_L2A",
        platform_code(plan.platform),
        g.name,
        compact_date(plan.days)
    )
}

/// The item's `datetime`.
pub(crate) fn item_datetime(g: &Granule, plan: &DatePlan) -> String {
    rfc3339(plan.epoch_ms + g.time_offset_ms)
}

/// `eo:cloud_cover` as written (4 decimals).
pub(crate) fn cloud_cover(r: &Rendered) -> f64 {
    round(r.cloud_cover(), 4)
}

/// `s2:nodata_pixel_percentage` as written (4 decimals).
pub(crate) fn nodata_percentage(r: &Rendered) -> f64 {
    round(r.nodata_percent(), 4)
}

fn platform_code(platform: &str) -> &'static str {
    if platform == "sentinel-2b" {
        "S2B"
    } else {
        "S2A"
    }
}

/// `YYYYMMDDTHHMMSS` of an instant.
fn compact_time(epoch_ms: i64) -> String {
    let s = rfc3339(epoch_ms);
    // 2023-06-12T09:36:20.123000Z → 20230612T093620
    let digits: String = s
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    digits
}

fn transform_json(g: &Granule, resolution: f64) -> Value {
    Value::Array(g.transform(resolution).iter().map(|&x| num(x)).collect())
}

/// The `eo:bands` entry of a reflectance band.
fn eo_band(i: usize) -> Value {
    let b = &BANDS[i];
    json!({
        "name": b.key,
        "common_name": b.key,
        "description": b.description,
        "center_wavelength": b.center_wavelength,
        "full_width_half_max": b.fwhm,
    })
}

fn reflectance_raster_band() -> Value {
    json!([{
        "nodata": 0,
        "data_type": "uint16",
        "bits_per_sample": 15,
        "spatial_resolution": 10,
        "scale": SCALE,
        "offset": OFFSET,
    }])
}

fn scl_raster_band() -> Value {
    json!([{ "nodata": 0, "data_type": "uint8", "spatial_resolution": 20 }])
}

/// The item of granule `g` on `plan`'s date, with its pixels' statistics.
pub(crate) fn item_json(g: &Granule, plan: &DatePlan, r: &Rendered) -> Value {
    let id = item_id(g, plan);
    let epoch_ms = plan.epoch_ms + g.time_offset_ms;
    let datetime = item_datetime(g, plan);
    let processed = rfc3339(epoch_ms + 7 * 3_600_000 + 1_234);
    let (az, el) = sun_position(epoch_ms, g.centre.0, g.centre.1);
    let (zone, band, square) = g.mgrs_parts();
    let code = platform_code(plan.platform);
    // Orbits: Sentinel-2 flies 143 orbits in 10 days.
    let orbit = match code {
        "S2B" => 32_795 + (plan.days - 19_520) * 143 / 10,
        _ => 41_632 + (plan.days - 19_520) * 143 / 10,
    };
    let start = compact_time(plan.epoch_ms);
    let generation = compact_time(epoch_ms + 6 * 3_600_000);
    let pct = |classes: &[u8]| round(r.percent(classes), 4);
    let corners: Vec<Value> = g
        .corners
        .iter()
        .chain(std::iter::once(&g.corners[0]))
        .map(|&(lon, lat)| json!([lon, lat]))
        .collect();
    let n = g.size;

    let mut assets = serde_json::Map::new();
    for (i, b) in BANDS.iter().enumerate() {
        assets.insert(
            b.key.to_string(),
            json!({
                "href": format!("../data/{id}/{}.tif", b.key),
                "type": COG_TYPE,
                "title": b.title,
                "eo:bands": [eo_band(i)],
                "gsd": 10,
                "proj:shape": [n, n],
                "proj:transform": transform_json(g, 10.0),
                "raster:bands": reflectance_raster_band(),
                "roles": ["data", "reflectance"],
            }),
        );
    }
    assets.insert(
        SCL.to_string(),
        json!({
            "href": format!("../data/{id}/{SCL}.tif"),
            "type": COG_TYPE,
            "title": "Scene classification map (SCL)",
            "proj:shape": [n / 2, n / 2],
            "proj:transform": transform_json(g, 20.0),
            "raster:bands": scl_raster_band(),
            "roles": ["data"],
        }),
    );
    assets.insert(
        "thumbnail".to_string(),
        json!({
            "href": format!("../data/{id}/thumbnail.jpg"),
            "type": "image/jpeg",
            "title": "Thumbnail image",
            "roles": ["thumbnail"],
        }),
    );

    let properties = json!({
        "created": processed,
        "platform": plan.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": cloud_cover(r),
        "proj:epsg": g.epsg,
        "proj:code": format!("EPSG:{}", g.epsg),
        "mgrs:utm_zone": zone,
        "mgrs:latitude_band": band,
        "mgrs:grid_square": square,
        "grid:code": format!("MGRS-{}", g.name),
        "s2:mgrs_tile": g.name,
        "view:sun_azimuth": round(az, 6),
        "view:sun_elevation": round(el, 6),
        "s2:nodata_pixel_percentage": nodata_percentage(r),
        "s2:saturated_defective_pixel_percentage": 0,
        "s2:dark_features_percentage": 0,
        "s2:cloud_shadow_percentage": pct(&[scl::SHADOW]),
        "s2:vegetation_percentage": pct(&[scl::VEGETATION]),
        "s2:not_vegetated_percentage": pct(&[scl::NOT_VEGETATED]),
        "s2:water_percentage": pct(&[scl::WATER]),
        "s2:unclassified_percentage": pct(&[scl::UNCLASSIFIED]),
        "s2:medium_proba_clouds_percentage": pct(&[scl::CLOUD_MEDIUM]),
        "s2:high_proba_clouds_percentage": pct(&[scl::CLOUD_HIGH]),
        "s2:thin_cirrus_percentage": pct(&[scl::CIRRUS]),
        "s2:snow_ice_percentage": 0,
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": "05.09",
        "s2:product_uri": format!(
            "{code}_MSIL2A_{start}_N0509_R079_T{}_{generation}.SAFE", g.name
        ),
        "s2:generation_time": rfc3339(epoch_ms + 6 * 3_600_000),
        "s2:datatake_id": format!("G{code}_{start}_{orbit:06}_N05.09"),
        "s2:datatake_type": "INS-NOBS",
        "s2:sequence": "0",
        "earthsearch:boa_offset_applied": true,
        "datetime": datetime,
        "updated": processed,
    });
    let links = json!([
        { "rel": "self", "href": format!("./{id}.json"), "type": "application/geo+json" },
        { "rel": "parent", "href": "../collection.json", "type": "application/json" },
        { "rel": "collection", "href": "../collection.json", "type": "application/json" },
        { "rel": "root", "href": "../collection.json", "type": "application/json" },
    ]);
    json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": ITEM_EXTENSIONS,
        "id": id,
        "collection": COLLECTION_ID,
        "geometry": { "type": "Polygon", "coordinates": [corners] },
        "bbox": g.bbox,
        "properties": properties,
        "links": links,
        "assets": assets,
    })
}

/// The collection: extent, `item_assets`, and a link to every item.
pub(crate) fn collection_json(spec: &SynthSpec, items: &[ItemInfo]) -> Value {
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for it in items {
        bbox = [
            bbox[0].min(it.bbox[0]),
            bbox[1].min(it.bbox[1]),
            bbox[2].max(it.bbox[2]),
            bbox[3].max(it.bbox[3]),
        ];
    }
    let first = items.first().map(|i| i.datetime.clone());
    let last = items.last().map(|i| i.datetime.clone());
    let mut codes: Vec<String> =
        items.iter().map(|i| format!("EPSG:{}", i.epsg)).collect();
    codes.sort();
    codes.dedup();

    let mut item_assets = serde_json::Map::new();
    for (i, b) in BANDS.iter().enumerate() {
        item_assets.insert(
            b.key.to_string(),
            json!({
                "type": COG_TYPE,
                "title": b.title,
                "eo:bands": [eo_band(i)],
                "gsd": 10,
                "raster:bands": reflectance_raster_band(),
                "roles": ["data", "reflectance"],
            }),
        );
    }
    item_assets.insert(
        SCL.to_string(),
        json!({
            "type": COG_TYPE,
            "title": "Scene classification map (SCL)",
            "raster:bands": scl_raster_band(),
            "roles": ["data"],
        }),
    );
    item_assets.insert(
        "thumbnail".to_string(),
        json!({ "type": "image/jpeg", "title": "Thumbnail image", "roles": ["thumbnail"] }),
    );

    let mut links = vec![
        json!({ "rel": "root", "href": "./collection.json", "type": "application/json" }),
        json!({ "rel": "self", "href": "./collection.json", "type": "application/json" }),
    ];
    links.extend(items.iter().map(|it| {
        json!({
            "rel": "item",
            "href": format!("./items/{}.json", it.id),
            "type": "application/geo+json",
        })
    }));

    let (y, m, d) = spec.start;
    json!({
        "type": "Collection",
        "id": COLLECTION_ID,
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "title": "Sentinel-2 Level-2A (synthetic)",
        "description": format!(
            "Synthetic Sentinel-2 L2A granules written by swath-synth: {} dates from \
             {y:04}-{m:02}-{d:02} every {} days, {}×{} pixels at 10 m, seed {}. \
             Not real observations.",
            spec.dates, spec.revisit_days, spec.size, spec.size, spec.seed
        ),
        "keywords": ["sentinel-2", "l2a", "synthetic", "swath"],
        "license": "CC0-1.0",
        "extent": {
            "spatial": { "bbox": [bbox] },
            "temporal": { "interval": [[first, last]] },
        },
        "summaries": {
            "platform": ["sentinel-2a", "sentinel-2b"],
            "constellation": ["sentinel-2"],
            "instruments": ["msi"],
            "gsd": [10, 20],
            "proj:code": codes,
        },
        "item_assets": item_assets,
        "links": links,
    })
}
