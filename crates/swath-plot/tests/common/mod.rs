//! Helpers shared by the integration tests: an independent PNG decoder (zune-png, in
//! strict mode: CRCs and the zlib checksum are verified).

use swath_plot::Image;
use zune_png::PngDecoder;
use zune_png::zune_core::bit_depth::BitDepth;
use zune_png::zune_core::colorspace::ColorSpace;
use zune_png::zune_core::options::DecoderOptions;

/// Encode `image`, decode the PNG with zune-png, check it is 8-bit RGBA of the same
/// size and return the decoded pixels.
pub fn png_round_trip(image: &Image) -> Vec<u8> {
    let png = image.to_png().unwrap_or_else(|e| panic!("encode: {e}"));
    let options = DecoderOptions::default().set_strict_mode(true);
    let mut decoder = PngDecoder::new_with_options(png.as_slice(), options);
    decoder
        .decode_headers()
        .unwrap_or_else(|e| panic!("PNG headers: {e:?}"));
    assert_eq!(
        decoder.get_dimensions(),
        Some((image.width as usize, image.height as usize))
    );
    assert_eq!(decoder.get_colorspace(), Some(ColorSpace::RGBA));
    assert_eq!(decoder.get_depth(), Some(BitDepth::Eight));
    let pixels = decoder
        .decode_raw()
        .unwrap_or_else(|e| panic!("PNG data: {e:?}"));
    assert_eq!(pixels.len(), image.rgba.len());
    pixels
}

/// Unwrap a result in a test, printing the error's message.
pub fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}
