//! Every GDAL-written fixture in `tests/fixtures/geotiff` is read by Swath and compared
//! with what GDAL (rasterio) reported when it wrote the fixture's JSON: structure,
//! georeferencing, metadata, every pixel of every level and the mask.

use std::path::Path;

use base64::Engine;
use serde_json::Value;
use swath_geotiff::{GeoTiff, PixelData, Window};
use swath_tests::{geotiff_fixtures, local_reader};

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("base64 string"))
        .expect("valid base64")
}

/// Compare two little-endian sample buffers: exactly, or within `tolerance` for 8-bit
/// lossy codecs. Returns a description of the first difference.
fn compare(what: &str, got: &[u8], want: &[u8], tolerance: u64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{what}: {} bytes, GDAL has {}",
            got.len(),
            want.len()
        ));
    }
    if tolerance == 0 {
        if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
            return Err(format!(
                "{what}: first difference at byte {i}: {} vs GDAL {}",
                got[i], want[i]
            ));
        }
        return Ok(());
    }
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| a.abs_diff(*b) as u64)
        .max()
        .unwrap_or(0);
    if worst > tolerance {
        return Err(format!(
            "{what}: max difference {worst} > tolerance {tolerance}"
        ));
    }
    Ok(())
}

fn nodata_matches(ours: Option<f64>, json: &Value) -> bool {
    match (ours, json) {
        (None, Value::Null) => true,
        (Some(v), Value::String(s)) if s == "nan" => v.is_nan(),
        (Some(v), Value::Number(n)) => n.as_f64() == Some(v),
        _ => false,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

async fn check(tif: &Path, json: &Value) -> Result<(), String> {
    let tiff = GeoTiff::open(local_reader(tif))
        .await
        .map_err(|e| format!("open: {e}"))?;
    let im = tiff.image();
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    let (w, h, count) = (
        json["width"].as_u64(),
        json["height"].as_u64(),
        json["count"].as_u64(),
    );
    expect(
        w == Some(tiff.width()) && h == Some(tiff.height()),
        format!("size {}×{}", tiff.width(), tiff.height()),
    );
    expect(
        count == Some(tiff.bands() as u64),
        format!("count {}", tiff.bands()),
    );
    expect(
        json["dtype"] == tiff.dtype().name(),
        format!("dtype {}", tiff.dtype()),
    );
    expect(
        nodata_matches(tiff.nodata(), &json["nodata"]),
        format!("nodata {:?}", tiff.nodata()),
    );
    let georef = tiff.georeference();
    expect(
        json["crs_epsg"].as_u64() == georef.epsg.map(u64::from),
        format!("epsg {:?}", georef.epsg),
    );
    let want_t: Vec<f64> = json["transform"]
        .as_array()
        .expect("transform")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    match georef.transform {
        Some(t) => expect(
            t.iter().zip(&want_t).all(|(a, b)| close(*a, *b)),
            format!("transform {t:?} vs GDAL {want_t:?}"),
        ),
        None => expect(want_t == identity, "no transform".to_string()),
    }
    let point = georef.raster_type == swath_geotiff::RasterType::PixelIsPoint;
    expect(
        json["area_or_point"] == if point { "Point" } else { "Area" },
        format!("pixel is point: {point}"),
    );
    let block = [im.block_width, im.block_height];
    expect(
        json["block"] == serde_json::json!(block),
        format!("block {block:?}"),
    );
    expect(json["tiled"] == im.tiled, format!("tiled {}", im.tiled));
    expect(
        json["compress"] == serde_json::json!(im.compression.name()),
        format!("compression {:?}", im.compression),
    );
    if tiff.bands() > 1 {
        let interleave = if im.planar { "band" } else { "pixel" };
        expect(
            json["interleave"] == interleave,
            format!("interleave {interleave}"),
        );
    }
    expect(
        json["predictor"].as_u64().unwrap_or(1) == u64::from(im.predictor),
        format!("predictor {}", im.predictor),
    );
    let meta = tiff.metadata();
    let scales: Vec<f64> = meta.bands.iter().map(|b| b.scale.unwrap_or(1.0)).collect();
    let offsets: Vec<f64> = meta.bands.iter().map(|b| b.offset.unwrap_or(0.0)).collect();
    expect(
        json["scales"] == serde_json::json!(scales),
        format!("scales {scales:?}"),
    );
    expect(
        json["offsets"] == serde_json::json!(offsets),
        format!("offsets {offsets:?}"),
    );
    let overviews: Vec<[u64; 2]> = tiff.levels()[1..]
        .iter()
        .map(|l| [l.width, l.height])
        .collect();
    expect(
        json["overviews"] == serde_json::json!(overviews),
        format!("overviews {overviews:?}"),
    );
    let has_mask = tiff.mask(0).is_some();
    expect(
        json["has_internal_mask"] == has_mask,
        format!("internal mask {has_mask}"),
    );
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }

    let tolerance = json["tolerance"].as_u64().unwrap_or(0);
    let full = Window::new(0, 0, tiff.width(), tiff.height());
    let got = tiff
        .read_window(0, full)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let want = b64(&json["pixels"]);
    compare(
        "full-resolution pixels",
        &got.data.to_le_bytes(),
        &want,
        tolerance,
    )?;

    // A window inside the image, offset from the block grid, against the same pixels.
    if tiff.width() > 10 && tiff.height() > 12 {
        let win = Window::new(3, 5, tiff.width() - 7, tiff.height() - 9);
        let part = tiff
            .read_window(0, win)
            .await
            .map_err(|e| format!("window read: {e}"))?;
        let size = tiff.dtype().size();
        let mut expected = Vec::new();
        for band in 0..tiff.bands() as u64 {
            for row in win.y..win.y + win.height {
                let start =
                    ((band * tiff.height() + row) * tiff.width() + win.x) as usize * size;
                expected
                    .extend_from_slice(&want[start..start + win.width as usize * size]);
            }
        }
        compare(
            "window pixels",
            &part.data.to_le_bytes(),
            &expected,
            tolerance,
        )?;
    }

    for (i, ov) in json["overview_pixels"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let lv = &tiff.levels()[i + 1];
        let got = tiff
            .read_window(i + 1, Window::new(0, 0, lv.width, lv.height))
            .await
            .map_err(|e| format!("overview {}: {e}", i + 1))?;
        compare(
            &format!("overview {} pixels", i + 1),
            &got.data.to_le_bytes(),
            &b64(ov),
            tolerance,
        )?;
    }
    if json["has_internal_mask"] == true {
        let mask = tiff
            .read_mask_window(0, full)
            .await
            .map_err(|e| format!("mask: {e}"))?;
        let Some(mask) = mask else {
            return Err("mask missing".into());
        };
        let PixelData::U8(bytes) = &mask.data else {
            return Err("mask is not u8".into());
        };
        compare("mask", bytes, &b64(&json["mask"]), 0)?;
    }
    Ok(())
}

#[tokio::test]
async fn every_gdal_fixture_reads_like_gdal() {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(geotiff_fixtures())
        .expect("fixture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for json_path in entries {
        let json: Value =
            serde_json::from_slice(&std::fs::read(&json_path).expect("read json"))
                .expect("parse json");
        let tif = json_path.with_extension("tif");
        checked += 1;
        if let Err(e) = check(&tif, &json).await {
            failures.push(format!(
                "{}: {e}",
                tif.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    assert!(checked >= 70, "only {checked} fixtures found");
    assert!(
        failures.is_empty(),
        "{} of {checked} fixtures differ from GDAL:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
