//! Decode throughput of DEFLATE + predictor-2 uint16 COG tiles (Sentinel-2-like
//! reflectance), against the raw inflate rate of the very same compressed bytes.
//!
//! `cargo bench --profile fast -p swath-benches --bench decode`.
//! Throughput is in decoded pixel bytes per second for both, so the ratio
//! `decode_window / raw_inflate` is the share of the inflate limit the reader reaches.

#![expect(
    clippy::expect_used,
    reason = "a benchmark fails loudly on broken setup"
)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use swath_geotiff::{
    BytesReader, CogMetadata, CogOptions, GeoTiff, PixelData, Raster, Window, write_cog,
};

const SIZE: usize = 2048;
const TILE: u32 = 512;

/// A 10 m reflectance-like field: parcels, a gradient and sensor noise, in DN.
fn scene() -> Raster {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut v = Vec::with_capacity(SIZE * SIZE);
    for y in 0..SIZE {
        for x in 0..SIZE {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let parcel = ((x / 97 + y / 61) % 5) as f64 * 400.0;
            let noise = (state % 120) as f64;
            v.push((1500.0 + parcel + x as f64 * 0.2 + noise) as u16);
        }
    }
    Raster::new(SIZE, SIZE, 1, PixelData::U16(v)).expect("raster")
}

fn decode(c: &mut Criterion) {
    let options = CogOptions {
        block_size: TILE,
        overviews: Some(0),
        ..Default::default()
    };
    let file = Bytes::from(
        write_cog(&scene(), &CogMetadata::default(), &options).expect("write"),
    );
    let tiff =
        futures::executor::block_on(GeoTiff::open(Arc::new(BytesReader(file.clone()))))
            .expect("open");
    let full = Window::new(0, 0, SIZE as u64, SIZE as u64);
    let fetched =
        futures::executor::block_on(tiff.fetch_window(0, full, false)).expect("fetch");
    let tiles: Vec<Bytes> = (0..tiff.image().block_count())
        .filter_map(|i| tiff.image().block_range(i))
        .map(|r| file.slice(r.start as usize..r.end as usize))
        .collect();
    let tile_bytes = (TILE * TILE * 2) as usize;
    let decoded = (SIZE * SIZE * 2) as u64;
    eprintln!(
        "{} tiles, {} compressed bytes for {} decoded (ratio {:.2})",
        tiles.len(),
        fetched.bytes,
        decoded,
        decoded as f64 / fetched.bytes as f64
    );

    let mut group = c.benchmark_group("deflate_p2_u16_512");
    group.throughput(Throughput::Bytes(decoded));
    group.sample_size(20);
    group.bench_function("raw_inflate", |b| {
        let mut out = vec![0u8; tile_bytes];
        b.iter(|| {
            for t in &tiles {
                let mut z = flate2::Decompress::new(true);
                z.decompress(t, &mut out, flate2::FlushDecompress::Finish)
                    .expect("inflate");
                black_box(&out);
            }
        })
    });
    group.bench_function("decode_window", |b| {
        b.iter(|| black_box(tiff.decode_window(&fetched).expect("decode")))
    });
    group.bench_function("read_window_in_memory", |b| {
        b.iter(|| {
            black_box(
                futures::executor::block_on(tiff.read_window(0, full)).expect("read"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
