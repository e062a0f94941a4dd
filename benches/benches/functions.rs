//! The rs_* functions in pixels per second: NDVI over a batch of uint16 tiles, a
//! cloud-masked temporal median of a chunk through SQL, and the geomedian kernel.
//!
//! `cargo bench --profile fast -p swath-benches --bench functions`

#![expect(clippy::expect_used, reason = "benchmark set-up fails loudly")]

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, FixedSizeListArray, RecordBatch, UInt8Array, UInt16Array};
use arrow::datatypes::{DataType, Field, Schema};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use swath_engine::EngineConfig;
use swath_udfs::kernels::reduce::{
    GeomedianParams, geomedian_pixel, stack_geomedian, stack_percentile,
};

/// The allocator the `swath` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn band_field(name: &str, dtype: DataType, side: usize, scaled: bool) -> Field {
    let mut md = HashMap::from([
        (
            "ARROW:extension:name".to_string(),
            "arrow.fixed_shape_tensor".to_string(),
        ),
        (
            "ARROW:extension:metadata".to_string(),
            format!(r#"{{"shape":[{side},{side}]}}"#),
        ),
        ("swath:nodata".to_string(), "0".to_string()),
    ]);
    if scaled {
        md.insert("swath:scale".into(), "0.0001".into());
        md.insert("swath:offset".into(), "-0.1".into());
    }
    let item = Arc::new(Field::new("item", dtype, true));
    Field::new(
        name,
        DataType::FixedSizeList(item, (side * side) as i32),
        false,
    )
    .with_metadata(md)
}

fn u16_tiles(rng: &mut Rng, rows: usize, side: usize, base: u16) -> ArrayRef {
    let n = rows * side * side;
    let v: Vec<u16> = (0..n).map(|_| base + (rng.next() % 3000) as u16).collect();
    let item = Arc::new(Field::new("item", DataType::UInt16, true));
    Arc::new(FixedSizeListArray::new(
        item,
        (side * side) as i32,
        Arc::new(UInt16Array::from(v)),
        None,
    ))
}

fn scl_tiles(rng: &mut Rng, rows: usize, side: usize) -> ArrayRef {
    let n = rows * side * side;
    // about a quarter cloudy (8, 9), the rest vegetation (4)
    let v: Vec<u8> = (0..n)
        .map(|_| match rng.next() % 8 {
            0 => 8,
            1 => 9,
            _ => 4,
        })
        .collect();
    let item = Arc::new(Field::new("item", DataType::UInt8, true));
    Arc::new(FixedSizeListArray::new(
        item,
        (side * side) as i32,
        Arc::new(UInt8Array::from(v)),
        None,
    ))
}

fn ndvi(c: &mut Criterion) {
    let (rows, side) = (4, 512);
    let mut rng = Rng(7);
    let nir = u16_tiles(&mut rng, rows, side, 2000);
    let red = u16_tiles(&mut rng, rows, side, 500);
    let fields = vec![
        Arc::new(band_field("nir", DataType::UInt16, side, true)),
        Arc::new(band_field("red", DataType::UInt16, side, true)),
    ];
    let udf = ScalarUDF::new_from_impl(swath_udfs::rs_ndvi::RsNdvi::new());
    let return_field = udf
        .return_field_from_args(datafusion::logical_expr::ReturnFieldArgs {
            arg_fields: &fields,
            scalar_arguments: &[None, None],
        })
        .expect("return field");
    let mut g = c.benchmark_group("rs_ndvi");
    g.throughput(Throughput::Elements((rows * side * side) as u64));
    g.bench_function("4x512x512_u16", |b| {
        b.iter(|| {
            udf.invoke_with_args(ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Array(Arc::clone(&nir)),
                    ColumnarValue::Array(Arc::clone(&red)),
                ],
                arg_fields: fields.clone(),
                number_rows: rows,
                return_field: Arc::clone(&return_field),
                config_options: Arc::default(),
            })
            .expect("ndvi")
        })
    });
    for (label, udf) in [
        (
            "subtract",
            ScalarUDF::new_from_impl(swath_udfs::rs_subtract::RsSubtract::new()),
        ),
        (
            "normalized_difference",
            ScalarUDF::new_from_impl(
                swath_udfs::rs_normalized_difference::RsNormalizedDifference::new(),
            ),
        ),
    ] {
        let rf = udf
            .return_field_from_args(datafusion::logical_expr::ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &[None, None],
            })
            .expect("return field");
        let config = Arc::new(datafusion::config::ConfigOptions::default());
        g.bench_function(label, |b| {
            b.iter(|| {
                udf.invoke_with_args(ScalarFunctionArgs {
                    args: vec![
                        ColumnarValue::Array(Arc::clone(&nir)),
                        ColumnarValue::Array(Arc::clone(&red)),
                    ],
                    arg_fields: fields.clone(),
                    number_rows: rows,
                    return_field: Arc::clone(&rf),
                    config_options: Arc::clone(&config),
                })
                .expect("udf")
            })
        });
    }
    let meta =
        swath_udfs::tile::TileMeta::from_field("b", "nir", &fields[0]).expect("meta");
    let list = arrow::array::AsArray::as_fixed_size_list(nir.as_ref()).clone();
    g.bench_function("physical_only", |b| {
        b.iter(|| {
            swath_udfs::tile::Tiles {
                array: &list,
                meta: &meta,
            }
            .physical()
            .expect("physical")
        })
    });
    g.finish();
}

fn masked_median(c: &mut Criterion) {
    // one chunk position, 24 observations of 256×256 pixels, through SQL
    let (tiles, side) = (24, 256);
    let mut rng = Rng(11);
    let schema = Arc::new(Schema::new(vec![
        band_field("red", DataType::UInt16, side, true),
        band_field("scl", DataType::UInt8, side, false),
    ]));
    let batches: Vec<RecordBatch> = (0..tiles / 4)
        .map(|_| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    u16_tiles(&mut rng, 4, side, 500),
                    scl_tiles(&mut rng, 4, side),
                ],
            )
            .expect("batch")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let ctx = rt
        .block_on(swath_engine::context(&EngineConfig {
            target_partitions: Some(1),
            ..EngineConfig::default()
        }))
        .expect("context");
    ctx.register_table(
        "obs",
        Arc::new(MemTable::try_new(schema, vec![batches]).expect("memtable")),
    )
    .expect("register");
    let q = "SELECT rs_median(rs_mask(red, rs_class_mask(scl, 3, 8, 9, 10))) FROM obs";
    // the selection kernel alone, on the same shape with a quarter missing
    let stack: Vec<f32> = (0..tiles * side * side)
        .map(|_| {
            let r = rng.next();
            if r.is_multiple_of(4) {
                f32::NAN
            } else {
                (r % 3000) as f32 * 1e-4
            }
        })
        .collect();
    let mut g = c.benchmark_group("rs_median");
    g.sample_size(10);
    g.throughput(Throughput::Elements((tiles * side * side) as u64));
    g.bench_function("kernel_24x256x256", |b| {
        let per_tile: Vec<&[f32]> = stack.chunks_exact(side * side).collect();
        b.iter(|| stack_percentile(&per_tile, side * side, 50.0))
    });
    g.bench_function("masked_24x256x256_sql", |b| {
        b.iter(|| {
            rt.block_on(async { ctx.sql(q).await?.collect().await })
                .expect("median")
        })
    });
    g.finish();
}

fn geomedian(c: &mut Criterion) {
    // 4 bands, 24 observations of 64×64 pixels, reflectance-like, 10 % missing
    let (tiles, side, bands) = (24, 64, 4);
    let len = side * side;
    let mut rng = Rng(13);
    let stacks: Vec<Vec<f32>> = (0..bands)
        .map(|b| {
            (0..tiles * len)
                .map(|_| {
                    let r = rng.next();
                    if r.is_multiple_of(10) {
                        f32::NAN
                    } else {
                        0.05 * (b as f32 + 1.0) + (r % 1000) as f32 * 1e-4
                    }
                })
                .collect()
        })
        .collect();
    let refs: Vec<&[f32]> = stacks.iter().map(Vec::as_slice).collect();
    // the same pixels one at a time (the reference iterations), for comparison
    let per_pixel: Vec<Vec<f64>> = (0..len)
        .map(|p| {
            (0..tiles)
                .filter(|t| refs.iter().all(|s| !s[t * len + p].is_nan()))
                .flat_map(|t| refs.iter().map(move |s| f64::from(s[t * len + p])))
                .collect()
        })
        .collect();
    let mut y = vec![0f64; bands];
    let iters: usize = per_pixel
        .iter()
        .map(|xs| geomedian_pixel(xs, bands, GeomedianParams::default(), &mut y))
        .sum();
    eprintln!(
        "geomedian: {:.1} Weiszfeld iterations per pixel",
        iters as f64 / len as f64
    );
    let mut g = c.benchmark_group("rs_geomedian");
    g.sample_size(10);
    // pixel-observations per second (each a 4-band vector)
    g.throughput(Throughput::Elements((tiles * len) as u64));
    let per_tile: Vec<Vec<&[f32]>> =
        refs.iter().map(|s| s.chunks_exact(len).collect()).collect();
    g.bench_function("4bands_24x64x64_kernel", |b| {
        b.iter(|| stack_geomedian(&per_tile, len, GeomedianParams::default(), false))
    });
    g.bench_function("4bands_24x64x64_per_pixel_iterations", |b| {
        b.iter(|| {
            for xs in &per_pixel {
                geomedian_pixel(xs, bands, GeomedianParams::default(), &mut y);
            }
        })
    });
    g.bench_function("4bands_24x64x64_kernel_with_mads", |b| {
        b.iter(|| stack_geomedian(&per_tile, len, GeomedianParams::default(), true))
    });
    g.finish();
}

criterion_group!(benches, ndvi, masked_median, geomedian);
criterion_main!(benches);
