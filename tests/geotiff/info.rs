//! `swath info` describes GDAL-written fixtures as GDAL does: structure, georeferencing,
//! and per-band statistics over valid pixels computed here from GDAL's own pixel reads.

use base64::Engine;
use serde_json::Value;
use swath_tests::geotiff_fixtures;

/// Min, max, mean and count of valid samples of each band, from GDAL's pixels.
fn gdal_stats(json: &Value) -> Vec<(f64, f64, f64, u64)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(json["pixels"].as_str().expect("pixels"))
        .expect("base64");
    let mask = json["mask"].as_str().map(|m| {
        base64::engine::general_purpose::STANDARD
            .decode(m)
            .expect("base64 mask")
    });
    let (w, h, n) = (
        json["width"].as_u64().expect("w") as usize,
        json["height"].as_u64().expect("h") as usize,
        json["count"].as_u64().expect("count") as usize,
    );
    let dtype = json["dtype"].as_str().expect("dtype");
    let size = match dtype {
        "uint8" | "int8" => 1,
        "uint16" | "int16" => 2,
        "uint32" | "int32" | "float32" => 4,
        _ => 8,
    };
    let value = |i: usize| -> f64 {
        let b = &raw[i * size..(i + 1) * size];
        match dtype {
            "uint8" => f64::from(b[0]),
            "int8" => f64::from(b[0] as i8),
            "uint16" => f64::from(u16::from_le_bytes([b[0], b[1]])),
            "int16" => f64::from(i16::from_le_bytes([b[0], b[1]])),
            "uint32" => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            "int32" => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            "float32" => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => f64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    };
    let nodata = json["nodata"].as_f64();
    (0..n)
        .map(|band| {
            let mut acc = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0u64);
            for p in 0..w * h {
                if mask.as_ref().is_some_and(|m| m[p] == 0) {
                    continue;
                }
                let v = value(band * w * h + p);
                if v.is_nan() || Some(v) == nodata {
                    continue;
                }
                acc = (acc.0.min(v), acc.1.max(v), acc.2 + v, acc.3 + 1);
            }
            (acc.0, acc.1, acc.2 / acc.3 as f64, acc.3)
        })
        .collect()
}

#[tokio::test]
async fn info_matches_gdal_on_fixtures() {
    let names = [
        "cog_u16_deflate_p2",
        "cog_b3_u8_deflate_mask",
        "f32_deflate_p3_tiled",
        "b2_i16_scale_offset_lzw_band_striped",
        "u16_deflate_p2_tiled_be",
        "geo_4326_f32_deflate_p3_tiled",
        "f64_deflate_p3_striped_be",
    ];
    let mut checked = 0;
    for name in names {
        let json_path = geotiff_fixtures().join(format!("{name}.json"));
        let Ok(text) = std::fs::read(&json_path) else {
            panic!("fixture {name} missing");
        };
        let gdal: Value = serde_json::from_slice(&text).expect("json");
        let tif = json_path.with_extension("tif");
        let ours = swath::info::describe(&tif.to_string_lossy(), true)
            .await
            .expect("describe");
        for key in [
            "width",
            "height",
            "count",
            "dtype",
            "transform",
            "tiled",
            "compress",
        ] {
            assert_eq!(ours[key], gdal[key], "{name}: {key}");
        }
        assert_eq!(ours["blockxsize"], gdal["block"][0], "{name}: blockxsize");
        assert_eq!(ours["blockysize"], gdal["block"][1], "{name}: blockysize");
        let crs = gdal["crs_epsg"].as_u64().map(|c| format!("EPSG:{c}"));
        assert_eq!(ours["crs"], serde_json::json!(crs), "{name}: crs");
        assert_eq!(ours["scales"], gdal["scales"], "{name}: scales");
        assert_eq!(ours["offsets"], gdal["offsets"], "{name}: offsets");
        for (band, (min, max, mean, count)) in gdal_stats(&gdal).into_iter().enumerate() {
            let st = &ours["stats"][band];
            assert_eq!(st["valid_count"], count, "{name} band {band}: count");
            assert_eq!(st["min"].as_f64(), Some(min), "{name} band {band}: min");
            assert_eq!(st["max"].as_f64(), Some(max), "{name} band {band}: max");
            let got = st["mean"].as_f64().expect("mean");
            assert!(
                (got - mean).abs() <= 1e-9 * mean.abs().max(1.0),
                "{name} band {band}: mean {got} vs {mean}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, names.len());
}

#[tokio::test]
async fn info_reports_unreadable_files_as_errors() {
    let missing = swath::info::describe("/definitely/not/here.tif", false).await;
    assert!(missing.is_err_and(|e| e.contains("not found")));
    let not_tiff = swath_tests::repo_root().join("README.md");
    let err = swath::info::describe(&not_tiff.to_string_lossy(), false)
        .await
        .expect_err("not a tiff");
    assert!(err.contains("malformed TIFF"), "{err}");
}
