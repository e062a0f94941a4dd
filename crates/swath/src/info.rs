//! `swath info`: what a GeoTIFF holds, like `gdalinfo` and `rio info`.

use serde_json::{Value, json};
use swath_geotiff::{GeoTiff, ObjectReader, PixelData, Window};

/// Arguments of `swath info`.
#[derive(Debug, Clone, clap::Args)]
pub struct InfoArgs {
    /// A local path or an object store URL (file://, s3://, http(s)://).
    pub location: String,
    /// Print JSON with the keys `rio info` uses.
    #[arg(long)]
    pub json: bool,
    /// Compute per-band min, max and mean over valid (non-nodata, unmasked) pixels.
    #[arg(long)]
    pub stats: bool,
}

/// Run `swath info`: print the description of one file.
pub async fn run(args: &InfoArgs) -> Result<(), String> {
    let report = describe(&args.location, args.stats).await?;
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", render_text(&report));
    }
    Ok(())
}

/// Open `location` and describe it as JSON (rio info's keys where they apply).
pub async fn describe(location: &str, stats: bool) -> Result<Value, String> {
    let (store, path) = crate::store::resolve(location)?;
    let reader = std::sync::Arc::new(ObjectReader::new(store, path));
    let tiff = GeoTiff::open(reader)
        .await
        .map_err(|e| crate::store::explain(location, format!("{location}: {e}")))?;
    let im = tiff.image();
    let georef = tiff.georeference();
    let (w, h) = (tiff.width() as f64, tiff.height() as f64);
    let transform = georef.transform;
    let bounds = transform.map(|t| {
        let corners = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)]
            .map(|(c, r)| (t[2] + t[0] * c + t[1] * r, t[5] + t[3] * c + t[4] * r));
        let xs = corners.map(|p| p.0);
        let ys = corners.map(|p| p.1);
        let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
        let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
        [min(xs), min(ys), max(xs), max(ys)]
    });
    let meta = tiff.metadata();
    let factors: Vec<u64> = tiff.levels()[1..]
        .iter()
        .map(|lv| (w / lv.width as f64).round() as u64)
        .collect();
    let mut report = json!({
        "driver": "GTiff",
        "path": location,
        "width": tiff.width(),
        "height": tiff.height(),
        "count": tiff.bands(),
        "dtype": tiff.dtype().name(),
        "nbits": (im.bits_per_sample == 1).then_some(1),
        "nodata": nodata_json(tiff.nodata()),
        "crs": georef.epsg.map(|c| format!("EPSG:{c}")),
        "crs_citation": georef.citation,
        "transform": transform,
        "bounds": bounds,
        "res": transform.map(|t| [t[0].hypot(t[3]), t[1].hypot(t[4])]),
        "area_or_point": match georef.raster_type {
            swath_geotiff::RasterType::PixelIsArea => "Area",
            swath_geotiff::RasterType::PixelIsPoint => "Point",
        },
        "blockxsize": im.block_width,
        "blockysize": im.block_height,
        "tiled": im.tiled,
        "compress": im.compression.name(),
        "predictor": im.predictor,
        "interleave": if im.planar { "band" } else { "pixel" },
        "overviews": factors,
        "overview_sizes": tiff.levels()[1..].iter().map(|l| [l.width, l.height]).collect::<Vec<_>>(),
        "mask": tiff.mask(0).is_some(),
        "bigtiff": tiff.container().header.bigtiff,
        "byte_order": if tiff.container().header.big_endian { "big" } else { "little" },
        "descriptions": meta.bands.iter().map(|b| b.description.clone()).collect::<Vec<_>>(),
        "scales": meta.bands.iter().map(|b| b.scale.unwrap_or(1.0)).collect::<Vec<_>>(),
        "offsets": meta.bands.iter().map(|b| b.offset.unwrap_or(0.0)).collect::<Vec<_>>(),
    });
    if stats {
        report["stats"] = band_stats(&tiff)
            .await
            .map_err(|e| format!("{location}: {e}"))?;
    }
    Ok(report)
}

fn nodata_json(v: Option<f64>) -> Value {
    match v {
        None => Value::Null,
        Some(x) if x.is_nan() => json!("nan"),
        Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => json!(x as i64),
        Some(x) => json!(x),
    }
}

/// Per-band min, max, mean and count over valid pixels, reading the image in bands of
/// rows so memory stays bounded whatever the file size.
async fn band_stats(tiff: &GeoTiff) -> swath_geotiff::Result<Value> {
    let bands = tiff.bands();
    let (w, h) = (tiff.width(), tiff.height());
    let row_bytes = w * bands as u64 * tiff.dtype().size() as u64;
    let step = tiff
        .image()
        .block_height
        .max((64 << 20) / row_bytes.max(1))
        .min(h)
        .max(1);
    let nodata = tiff.nodata();
    let mut acc = vec![(f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0u64); bands];
    let mut y = 0;
    while y < h {
        let rows = step.min(h - y);
        let window = Window::new(0, y, w, rows);
        let raster = tiff.read_window(0, window).await?;
        let mask = tiff.read_mask_window(0, window).await?;
        let plane = (w * rows) as usize;
        for (band, a) in acc.iter_mut().enumerate() {
            for i in 0..plane {
                if let Some(m) = &mask
                    && let PixelData::U8(mv) = &m.data
                    && mv.get(i) == Some(&0)
                {
                    continue;
                }
                let Some(v) = raster.data.get_f64(band * plane + i) else {
                    continue;
                };
                if v.is_nan() || Some(v) == nodata {
                    continue;
                }
                a.0 = a.0.min(v);
                a.1 = a.1.max(v);
                a.2 += v;
                a.3 += 1;
            }
        }
        y += rows;
    }
    Ok(Value::Array(
        acc.into_iter()
            .map(|(min, max, sum, n)| {
                if n == 0 {
                    json!({"min": null, "max": null, "mean": null, "valid_count": 0})
                } else {
                    json!({"min": min, "max": max, "mean": sum / n as f64, "valid_count": n})
                }
            })
            .collect(),
    ))
}

/// Render the JSON description as gdalinfo-style text.
pub fn render_text(r: &Value) -> String {
    let mut out = String::new();
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".to_string(),
        other => other.to_string(),
    };
    out.push_str(&format!("File: {}\n", s(&r["path"])));
    out.push_str(&format!(
        "Size: {} x {}, {} band(s) of {}{}\n",
        r["width"],
        r["height"],
        r["count"],
        s(&r["dtype"]),
        if r["nbits"] == 1 { " (1-bit)" } else { "" }
    ));
    out.push_str(&format!(
        "Layout: {} {}x{}, {} interleaved, compression {}, predictor {}, {}-endian{}\n",
        if r["tiled"] == true {
            "tiles"
        } else {
            "strips"
        },
        r["blockxsize"],
        r["blockysize"],
        s(&r["interleave"]),
        s(&r["compress"]),
        r["predictor"],
        s(&r["byte_order"]),
        if r["bigtiff"] == true {
            ", BigTIFF"
        } else {
            ""
        }
    ));
    out.push_str(&format!("CRS: {}", s(&r["crs"])));
    if let Some(c) = r["crs_citation"].as_str() {
        out.push_str(&format!(" ({c})"));
    }
    out.push('\n');
    if let Some(t) = r["transform"].as_array() {
        let t: Vec<String> = t.iter().map(|v| v.to_string()).collect();
        out.push_str(&format!(
            "Transform: [{}] (pixel is {})\n",
            t.join(", "),
            s(&r["area_or_point"])
        ));
        if let Some(b) = r["bounds"].as_array() {
            out.push_str(&format!(
                "Bounds: left {} bottom {} right {} top {}\n",
                b[0], b[1], b[2], b[3]
            ));
        }
    } else {
        out.push_str("Transform: none (no georeferencing)\n");
    }
    out.push_str(&format!("Nodata: {}\n", s(&r["nodata"])));
    let sizes: Vec<String> = r["overview_sizes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{}x{}", p[0], p[1]))
        .collect();
    out.push_str(&format!(
        "Overviews: {}\n",
        if sizes.is_empty() {
            "none".to_string()
        } else {
            sizes.join(", ")
        }
    ));
    out.push_str(&format!(
        "Mask: {}\n",
        if r["mask"] == true {
            "internal"
        } else {
            "none"
        }
    ));
    let count = r["count"].as_u64().unwrap_or(0) as usize;
    for b in 0..count {
        out.push_str(&format!("Band {}:", b + 1));
        if let Some(d) = r["descriptions"][b].as_str() {
            out.push_str(&format!(" {d}"));
        }
        out.push_str(&format!(
            " scale {} offset {}",
            r["scales"][b], r["offsets"][b]
        ));
        if let Some(st) = r.get("stats").and_then(|v| v.get(b)) {
            out.push_str(&format!(
                "; min {} max {} mean {} over {} valid pixels",
                s(&st["min"]),
                s(&st["max"]),
                s(&st["mean"]),
                st["valid_count"]
            ));
        }
        out.push('\n');
    }
    out
}
