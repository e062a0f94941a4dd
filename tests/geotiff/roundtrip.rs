//! Files Swath writes are read by GDAL (rasterio) with identical pixels, georeferencing
//! and metadata, and pass rio-cogeo's COG validation.

use base64::Engine;
use swath_geotiff::codec::Compression;
use swath_geotiff::{
    BandMetadata, CogMetadata, CogOptions, DataType, GeoTiff, PixelData, Raster,
    RasterType, Resampling, Window, write_cog,
};
use swath_tests::{gdal_describe, local_reader};

/// A deterministic, compressible but not trivial test pattern, with nodata in a corner.
fn pattern(
    dtype: DataType,
    width: usize,
    height: usize,
    bands: usize,
    nodata: Option<f64>,
) -> Raster {
    let mut values = Vec::with_capacity(width * height * bands);
    for b in 0..bands {
        for y in 0..height {
            for x in 0..width {
                let hash = ((x * 7919 + y * 104_729 + b * 1_299_709) % 1013) as f64;
                let smooth = (x as f64 * 0.7 + y as f64 * 1.3 + b as f64 * 40.0) % 200.0;
                let v = if x < 5 && y < 4 {
                    nodata.unwrap_or(0.0)
                } else {
                    smooth + hash / 50.0
                };
                values.push(v);
            }
        }
    }
    let data = match dtype {
        DataType::U8 => PixelData::U8(values.iter().map(|&v| v as u8).collect()),
        DataType::I8 => {
            PixelData::I8(values.iter().map(|&v| (v - 100.0) as i8).collect())
        }
        DataType::U16 => {
            PixelData::U16(values.iter().map(|&v| (v * 50.0) as u16).collect())
        }
        DataType::I16 => {
            PixelData::I16(values.iter().map(|&v| (v * 40.0 - 4000.0) as i16).collect())
        }
        DataType::U32 => {
            PixelData::U32(values.iter().map(|&v| (v * 1e5) as u32).collect())
        }
        DataType::I32 => {
            PixelData::I32(values.iter().map(|&v| (v * 1e5 - 1e7) as i32).collect())
        }
        DataType::F32 => {
            PixelData::F32(values.iter().map(|&v| (v / 7.0) as f32).collect())
        }
        DataType::F64 => PixelData::F64(values.iter().map(|&v| v / 7.0 + 1e-9).collect()),
    };
    Raster::new(width, height, bands, data).expect("pattern has the right size")
}

struct Case {
    name: &'static str,
    dtype: DataType,
    size: (usize, usize, usize),
    options: CogOptions,
    meta: CogMetadata,
}

fn utm(nodata: Option<f64>) -> CogMetadata {
    CogMetadata {
        epsg: Some(32633),
        transform: Some([10.0, 0.0, 399_960.0, 0.0, -10.0, 5_800_020.0]),
        nodata,
        ..Default::default()
    }
}

fn cases() -> Vec<Case> {
    let small = |compression, level| CogOptions {
        block_size: 64,
        compression,
        level,
        ..Default::default()
    };
    vec![
        Case {
            name: "u16_deflate",
            dtype: DataType::U16,
            size: (300, 200, 1),
            options: small(Compression::Deflate, 6),
            meta: utm(Some(0.0)),
        },
        Case {
            name: "u8_rgb_zstd",
            dtype: DataType::U8,
            size: (150, 130, 3),
            options: small(Compression::Zstd, 9),
            meta: utm(None),
        },
        Case {
            name: "i16_band_interleaved_lzw",
            dtype: DataType::I16,
            size: (100, 90, 2),
            options: CogOptions {
                band_interleaved: true,
                ..small(Compression::Lzw, 0)
            },
            meta: CogMetadata {
                bands: vec![
                    BandMetadata {
                        scale: Some(0.0001),
                        offset: Some(-0.1),
                        description: Some("red".into()),
                    },
                    BandMetadata {
                        scale: Some(0.0001),
                        offset: Some(-0.1),
                        description: Some("nir".into()),
                    },
                ],
                ..utm(Some(-9999.0))
            },
        },
        Case {
            name: "f32_nan_average_overviews",
            dtype: DataType::F32,
            size: (200, 140, 1),
            options: CogOptions {
                resampling: Resampling::Average,
                ..small(Compression::Deflate, 6)
            },
            meta: CogMetadata {
                epsg: Some(3035),
                transform: Some([20.0, 0.0, 4_000_000.0, 0.0, -20.0, 3_000_000.0]),
                nodata: Some(f64::NAN),
                ..Default::default()
            },
        },
        Case {
            name: "f64_zstd_geographic",
            dtype: DataType::F64,
            size: (70, 50, 1),
            options: small(Compression::Zstd, 3),
            meta: CogMetadata {
                epsg: Some(4326),
                transform: Some([0.001, 0.0, 12.5, 0.0, -0.001, 47.2]),
                ..Default::default()
            },
        },
        Case {
            name: "i8_none",
            dtype: DataType::I8,
            size: (80, 33, 1),
            options: small(Compression::None, 0),
            meta: utm(Some(-128.0)),
        },
        Case {
            name: "u32_deflate_point",
            dtype: DataType::U32,
            size: (65, 65, 1),
            options: small(Compression::Deflate, 9),
            meta: CogMetadata {
                raster_type: RasterType::PixelIsPoint,
                ..utm(None)
            },
        },
        Case {
            name: "i32_rotated_bigtiff",
            dtype: DataType::I32,
            size: (90, 70, 1),
            options: CogOptions {
                bigtiff: Some(true),
                ..small(Compression::Deflate, 6)
            },
            meta: CogMetadata {
                epsg: Some(32634),
                transform: Some([9.8, 1.2, 500_000.0, 1.1, -9.9, 6_000_000.0]),
                ..Default::default()
            },
        },
        Case {
            name: "u16_default_512_tiles",
            dtype: DataType::U16,
            size: (1100, 700, 1),
            options: CogOptions::default(),
            meta: utm(Some(0.0)),
        },
    ]
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("base64"))
        .expect("base64")
}

#[tokio::test]
async fn gdal_reads_what_swath_writes_and_validates_it_as_cog() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for case in cases() {
        let (w, h, b) = case.size;
        let raster = pattern(case.dtype, w, h, b, case.meta.nodata);
        let bytes = write_cog(&raster, &case.meta, &case.options).expect("write");
        let path = dir.path().join(format!("{}.tif", case.name));
        std::fs::write(&path, &bytes).expect("write file");
        let gdal = gdal_describe(&path, true);
        let mut problems = Vec::new();
        if gdal["cog"]["valid"] != true {
            problems.push(format!("not a valid COG: {}", gdal["cog"]));
        }
        if gdal["width"] != w || gdal["height"] != h || gdal["count"] != b {
            problems.push(format!(
                "size {}×{}×{}",
                gdal["width"], gdal["height"], gdal["count"]
            ));
        }
        if gdal["dtype"] != case.dtype.name() {
            problems.push(format!("dtype {}", gdal["dtype"]));
        }
        if b64(&gdal["pixels"]) != raster.data.to_le_bytes() {
            problems.push("pixels differ".to_string());
        }
        if gdal["crs_epsg"].as_u64() != case.meta.epsg.map(u64::from) {
            problems.push(format!("crs {}", gdal["crs_epsg"]));
        }
        let t: Vec<f64> = gdal["transform"]
            .as_array()
            .expect("transform")
            .iter()
            .filter_map(|v| v.as_f64())
            .collect();
        let want = case.meta.transform.expect("cases have transforms");
        if t.iter()
            .zip(want)
            .any(|(a, b)| (a - b).abs() > 1e-9 * b.abs().max(1.0))
        {
            problems.push(format!("transform {t:?}, wrote {want:?}"));
        }
        let point = case.meta.raster_type == RasterType::PixelIsPoint;
        if gdal["area_or_point"] != if point { "Point" } else { "Area" } {
            problems.push(format!("area_or_point {}", gdal["area_or_point"]));
        }
        match case.meta.nodata {
            Some(nd) if nd.is_nan() => {
                if gdal["nodata"] != "nan" {
                    problems.push(format!("nodata {}", gdal["nodata"]));
                }
            }
            Some(nd) => {
                if gdal["nodata"].as_f64() != Some(nd) {
                    problems.push(format!("nodata {}", gdal["nodata"]));
                }
            }
            None => {
                if !gdal["nodata"].is_null() {
                    problems.push(format!("nodata {}", gdal["nodata"]));
                }
            }
        }
        for (i, band) in case.meta.bands.iter().enumerate() {
            if gdal["scales"][i].as_f64() != band.scale
                || gdal["offsets"][i].as_f64() != band.offset
            {
                problems.push(format!(
                    "scale/offset of band {i}: {} {}",
                    gdal["scales"][i], gdal["offsets"][i]
                ));
            }
        }
        // Overviews: GDAL sees the levels we wrote, with the pixels our reader reads.
        let tiff = GeoTiff::open(local_reader(&path))
            .await
            .expect("swath reads its own file");
        let levels = tiff.levels();
        let gdal_overviews = gdal["overviews"].as_array().cloned().unwrap_or_default();
        if gdal_overviews.len() + 1 != levels.len()
            || (case.size.0.max(case.size.1) > case.options.block_size as usize
                && gdal_overviews.is_empty())
        {
            problems.push(format!(
                "overviews {gdal_overviews:?}, swath has {} levels",
                levels.len()
            ));
        }
        for (i, ov) in gdal["overview_pixels"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let lv = &levels[i + 1];
            let ours = tiff
                .read_window(i + 1, Window::new(0, 0, lv.width, lv.height))
                .await
                .expect("overview read");
            if ours.data.to_le_bytes() != b64(ov) {
                problems.push(format!("overview {} pixels differ", i + 1));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "round trips through GDAL failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn writer_rejects_misuse() {
    let r = pattern(DataType::U16, 10, 10, 1, None);
    let bad_block = CogOptions {
        block_size: 100,
        ..Default::default()
    };
    assert!(matches!(
        write_cog(&r, &CogMetadata::default(), &bad_block),
        Err(swath_geotiff::Error::Misuse(_))
    ));
    let jpeg = CogOptions {
        compression: Compression::Jpeg,
        ..Default::default()
    };
    assert!(matches!(
        write_cog(&r, &CogMetadata::default(), &jpeg),
        Err(swath_geotiff::Error::Misuse(_))
    ));
    let inconsistent = Raster {
        width: 11,
        ..r.clone()
    };
    assert!(matches!(
        write_cog(
            &inconsistent,
            &CogMetadata::default(),
            &CogOptions::default()
        ),
        Err(swath_geotiff::Error::Misuse(_))
    ));
    let float_predictor = CogOptions {
        predictor: Some(3),
        ..Default::default()
    };
    assert!(matches!(
        write_cog(&r, &CogMetadata::default(), &float_predictor),
        Err(swath_geotiff::Error::Misuse(_))
    ));
}
