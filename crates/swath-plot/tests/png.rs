//! The hand-written PNG encoder against an independent decoder.

mod common;

use common::{ok, png_round_trip};
use swath_plot::{Error, Image};

#[test]
fn every_filter_type_decodes_to_the_same_pixels() {
    // Rows of different character, so the per-row filter choice varies: flat rows
    // (None/Up), horizontal ramps (Sub), diagonal gradients (Paeth/Average), noise.
    let (w, h) = (97u32, 61u32);
    let mut seed = 12_345u32;
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let noise = (seed >> 16) as u8;
            let px = match y % 4 {
                0 => [200, 10, 10, 255],
                1 => [(x * 2) as u8, (x * 3) as u8, 7, 255],
                2 => [
                    (x + y) as u8,
                    (x * y) as u8,
                    (2 * x + y) as u8,
                    (x % 256) as u8,
                ],
                _ => [noise, noise.wrapping_mul(3), 255 - noise, noise | 1],
            };
            rgba.extend(px);
        }
    }
    let image = Image {
        width: w,
        height: h,
        rgba,
    };
    assert_eq!(png_round_trip(&image), image.rgba);
}

#[test]
fn a_one_pixel_image_and_bad_sizes() {
    let image = Image {
        width: 1,
        height: 1,
        rgba: vec![1, 2, 3, 4],
    };
    assert_eq!(png_round_trip(&image), [1, 2, 3, 4]);
    // Signature first, IEND (empty, CRC ae426082) last.
    let png = ok(image.to_png());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
    assert!(png.ends_with(b"\0\0\0\0IEND\xae\x42\x60\x82"));
    let empty = Image {
        width: 0,
        height: 5,
        rgba: Vec::new(),
    };
    assert!(matches!(empty.to_png(), Err(Error::LimitExceeded { .. })));
    let short = Image {
        width: 3,
        height: 3,
        rgba: vec![0; 35],
    };
    assert!(matches!(short.to_png(), Err(Error::InvalidArgument(_))));
}
