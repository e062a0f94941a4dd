//! Opening a COG costs one small request; a window read fetches only the tiles it
//! intersects, merged into few requests.

use std::sync::Arc;

use bytes::Bytes;
use swath_geotiff::{
    BytesReader, CogMetadata, CogOptions, DataType, GeoTiff, Limits, PixelData, Raster,
    Window, write_cog,
};
use swath_tests::CountingReader;

fn big_cog() -> Vec<u8> {
    let (w, h) = (2048usize, 1536usize);
    let data: Vec<u16> = (0..w * h)
        .map(|i| ((i * 2_654_435_761) >> 7) as u16)
        .collect();
    let raster = Raster::new(w, h, 1, PixelData::U16(data)).expect("raster");
    let options = CogOptions {
        block_size: 256,
        ..Default::default()
    };
    write_cog(&raster, &CogMetadata::default(), &options).expect("write")
}

#[tokio::test]
async fn header_is_one_request_and_windows_fetch_only_their_tiles() {
    let file = big_cog();
    let size = file.len() as u64;
    let reader = Arc::new(CountingReader::new(BytesReader(Bytes::from(file))));
    // No gap merging, so each request can be matched to tiles.
    let limits = Limits {
        header_prefetch: 16 << 10,
        coalesce_gap: 0,
        ..Default::default()
    };
    let tiff = GeoTiff::open_with_limits(Arc::clone(&reader) as _, limits)
        .await
        .expect("open");
    assert_eq!(
        reader.requests(),
        1,
        "opening a COG should take one request"
    );
    assert!(reader.bytes() <= 16 << 10);
    assert_eq!(tiff.dtype(), DataType::U16);
    assert!(tiff.levels().len() >= 3, "overviews expected");

    // Inside one 256² tile: exactly that tile's bytes.
    let before = reader.bytes();
    let one = tiff
        .read_window(0, Window::new(300, 300, 100, 100))
        .await
        .expect("read");
    assert_eq!((one.width, one.height), (100, 100));
    let tile = tiff.image().block_range(8 + 1).expect("tile 9 exists");
    assert_eq!(reader.requests(), 2);
    assert_eq!(reader.bytes() - before, tile.end - tile.start);

    // Across 2×2 tiles: the two tiles of each row are adjacent and merge.
    let before_requests = reader.requests();
    let before = reader.bytes();
    let fetched = tiff
        .fetch_window(0, Window::new(500, 500, 40, 40), false)
        .await
        .expect("fetch");
    assert_eq!(fetched.requests, 2, "two rows of adjacent tiles");
    assert_eq!(reader.requests() - before_requests, 2);
    let four: u64 = [9, 10, 17, 18] // rows 1 and 2, columns 1 and 2 of 8 tiles across
        .iter()
        .map(|&i| {
            tiff.image()
                .block_range(i)
                .map(|r| r.end - r.start)
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(reader.bytes() - before, four);
    // 4 of the 48 full-resolution tiles (plus overviews in the file).
    assert!(
        four < size / 10,
        "a small window reads a small part of the file"
    );

    // With gap merging, the two rows become one request spanning the tiles between.
    let merging = Limits {
        header_prefetch: 16 << 10,
        coalesce_gap: 1 << 20,
        ..Default::default()
    };
    let tiff = GeoTiff::open_with_limits(Arc::clone(&reader) as _, merging)
        .await
        .expect("open");
    let fetched = tiff
        .fetch_window(0, Window::new(500, 500, 40, 40), false)
        .await
        .expect("fetch");
    assert_eq!(fetched.requests, 1);
    let span = tiff.image().block_range(18).expect("tile").end
        - tiff.image().block_range(9).expect("tile").start;
    assert_eq!(fetched.bytes, span);
}

#[tokio::test]
async fn small_prefetch_still_reads_structure_in_few_requests() {
    let path = swath_tests::geotiff_fixtures().join("cog_u16_deflate_p2.tif");
    let file = std::fs::read(&path).expect("fixture");
    let reader = Arc::new(CountingReader::new(BytesReader(Bytes::from(file))));
    let limits = Limits {
        header_prefetch: 256,
        ..Default::default()
    };
    let tiff = GeoTiff::open_with_limits(Arc::clone(&reader) as _, limits)
        .await
        .expect("open");
    assert_eq!(tiff.levels().len(), 4);
    assert!(reader.requests() <= 8, "{} requests", reader.requests());
}
