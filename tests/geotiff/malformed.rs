//! Hostile, truncated and unsupported files end in a typed error, never a panic, a hang
//! or an unbounded allocation.

use std::sync::Arc;

use bytes::Bytes;
use swath_geotiff::{BytesReader, Error, GeoTiff, Limits, Window};

async fn open(bytes: Vec<u8>) -> swath_geotiff::Result<GeoTiff> {
    GeoTiff::open(Arc::new(BytesReader(Bytes::from(bytes)))).await
}

/// Open and read every level fully; any error is fine, a panic is not.
async fn exercise(bytes: Vec<u8>) -> swath_geotiff::Result<()> {
    let tiff = open(bytes).await?;
    for level in 0..tiff.levels().len() {
        let lv = &tiff.levels()[level];
        tiff.read_window(level, Window::new(0, 0, lv.width, lv.height))
            .await?;
        tiff.read_mask_window(level, Window::new(0, 0, lv.width, lv.height))
            .await?;
    }
    Ok(())
}

/// A little-endian classic TIFF with one IFD at offset 8 and the given entries
/// `(tag, type, count, value)`; `next` is the next-IFD offset.
fn tiny(entries: &[(u16, u16, u32, u32)], next: u32, tail: &[u8]) -> Vec<u8> {
    let mut f = b"II*\0\x08\0\0\0".to_vec();
    f.extend((entries.len() as u16).to_le_bytes());
    for &(tag, typ, count, value) in entries {
        f.extend(tag.to_le_bytes());
        f.extend(typ.to_le_bytes());
        f.extend(count.to_le_bytes());
        f.extend(value.to_le_bytes());
    }
    f.extend(next.to_le_bytes());
    f.extend(tail);
    f
}

/// A valid 4×2 uint8 stripped image whose pixels sit at the end of the file.
fn valid_entries(data_at: u32) -> Vec<(u16, u16, u32, u32)> {
    vec![
        (256, 3, 1, 4),
        (257, 3, 1, 2),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, data_at),
        (277, 3, 1, 1),
        (278, 3, 1, 2),
        (279, 4, 1, 8),
    ]
}

fn data_offset(n: usize) -> u32 {
    (8 + 2 + 12 * n + 4) as u32
}

#[tokio::test]
async fn hand_made_valid_file_reads() {
    let e = valid_entries(data_offset(9));
    let tiff = open(tiny(&e, 0, &[1, 2, 3, 4, 5, 6, 7, 8]))
        .await
        .expect("valid");
    let r = tiff
        .read_window(0, Window::new(1, 0, 3, 2))
        .await
        .expect("read");
    assert_eq!(r.data, swath_geotiff::PixelData::U8(vec![2, 3, 4, 6, 7, 8]));
}

#[tokio::test]
async fn not_a_tiff_and_empty() {
    assert!(matches!(open(Vec::new()).await, Err(Error::Malformed(_))));
    assert!(matches!(
        open(b"%PDF-1.7 hello".to_vec()).await,
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        open(b"II*\0\0\0\0\0".to_vec()).await,
        Err(Error::Malformed(_))
    ));
}

#[tokio::test]
async fn ifd_loop_is_detected() {
    let e = valid_entries(data_offset(9));
    let looped = tiny(&e, 8, &[0; 8]);
    let err = open(looped).await.expect_err("loop");
    assert!(
        matches!(err, Error::Malformed(ref m) if m.contains("loops")),
        "{err}"
    );
}

#[tokio::test]
async fn huge_dimensions_hit_the_limit() {
    let mut e = valid_entries(data_offset(9));
    e[0] = (256, 4, 1, 2_000_000_000);
    let err = open(tiny(&e, 0, &[0; 8])).await.expect_err("too wide");
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
}

#[tokio::test]
async fn tag_sizes_are_checked_against_the_file() {
    let mut e = valid_entries(data_offset(9));
    // Four billion strip offsets: over the tag size limit before any allocation.
    e[5] = (273, 4, u32::MAX, 100);
    let err = open(tiny(&e, 0, &[0; 8])).await.expect_err("huge tag");
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    // A modest count whose values would lie past the end of the file.
    e[5] = (273, 4, 1000, 100);
    let err = open(tiny(&e, 0, &[0; 8])).await.expect_err("past the end");
    assert!(
        matches!(err, Error::Malformed(ref m) if m.contains("past the end")),
        "{err}"
    );
}

#[tokio::test]
async fn unsupported_features_say_so() {
    let mut e = valid_entries(data_offset(9));
    e[3] = (259, 3, 1, 34887);
    let err = open(tiny(&e, 0, &[0; 8])).await.expect_err("LERC");
    assert!(
        matches!(err, Error::Unsupported(ref m) if m.contains("LERC")),
        "{err}"
    );
    let mut e = valid_entries(data_offset(10));
    e.push((339, 3, 1, 6));
    let err = open(tiny(&e, 0, &[0; 8])).await.expect_err("complex");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}

#[tokio::test]
async fn strip_past_the_end_and_bad_windows() {
    let e = valid_entries(data_offset(9) + 100);
    let err = open(tiny(&e, 0, &[0; 8]))
        .await
        .expect_err("strip past end");
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    let tiff = open(tiny(&valid_entries(data_offset(9)), 0, &[0; 8]))
        .await
        .expect("valid");
    let err = tiff
        .read_window(0, Window::new(2, 0, 3, 2))
        .await
        .expect_err("outside");
    assert!(matches!(err, Error::Misuse(_)), "{err}");
    let err = tiff
        .read_window(3, Window::new(0, 0, 1, 1))
        .await
        .expect_err("no level 3");
    assert!(matches!(err, Error::Misuse(_)), "{err}");
    let err = tiff
        .read_window(0, Window::new(0, 0, 0, 1))
        .await
        .expect_err("empty");
    assert!(matches!(err, Error::Misuse(_)), "{err}");
}

#[tokio::test]
async fn window_limit_is_enforced() {
    let path = swath_tests::geotiff_fixtures().join("cog_u16_deflate_p2.tif");
    let bytes = Bytes::from(std::fs::read(path).expect("fixture"));
    let limits = Limits {
        max_window_bytes: 1000,
        ..Default::default()
    };
    let tiff = GeoTiff::open_with_limits(Arc::new(BytesReader(bytes)), limits)
        .await
        .expect("open");
    let err = tiff
        .read_window(0, Window::new(0, 0, 100, 100))
        .await
        .expect_err("too big");
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
}

/// Every truncation of real files, and many deterministic byte corruptions, end in an
/// error or a successful read — never a panic.
#[tokio::test]
async fn truncated_and_corrupted_fixtures_never_panic() {
    let names = [
        "cog_u16_deflate_p2.tif",
        "b3_u8_deflate_ovr_mask_tiled.tif",
        "rgb_jpeg_ycbcr_tiled.tif",
        "b3_u16_zstd_p2_pixel_tiled_be.tif",
        "u16_deflate_tiled_bigtiff.tif",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut errors = 0;
    for name in names {
        let path = swath_tests::geotiff_fixtures().join(name);
        let Ok(file) = std::fs::read(&path) else {
            panic!("fixture {name} missing");
        };
        let step = (file.len() / 60).max(1);
        for cut in (0..file.len()).step_by(step) {
            if exercise(file[..cut].to_vec()).await.is_err() {
                errors += 1;
            }
        }
        for _ in 0..300 {
            let mut bad = file.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Most structure lives in the first kilobytes; bias corruption there.
                let span = if seed.is_multiple_of(3) {
                    bad.len()
                } else {
                    bad.len().min(4096)
                };
                let at = (seed >> 16) as usize % span;
                bad[at] = (seed >> 40) as u8;
            }
            let _ = exercise(bad).await;
        }
    }
    assert!(
        errors > 100,
        "truncated files should fail cleanly ({errors} errors)"
    );
}
