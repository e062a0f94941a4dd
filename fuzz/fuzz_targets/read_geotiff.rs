//! Fuzz the GeoTIFF reader: the input is a whole file. It is opened, and every level
//! (full window and a small window at its bottom-right corner) and every level's mask
//! is read. Errors are expected; a panic, a hang or a wild allocation is a bug.
#![no_main]

use std::sync::{Arc, Once};

use bytes::Bytes;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use swath_geotiff::{BytesReader, GeoTiff, Limits, Window};

/// Third-party image decoders that `swath_geotiff` deliberately runs under
/// `catch_unwind` (`codec::guard`): a panic inside them becomes `Error::Malformed`.
const GUARDED_DECODERS: &[&str] = &["zune-jpeg", "zune-core", "image-webp"];

/// libfuzzer-sys installs a panic hook that aborts before unwinding, which would report
/// a panic that the reader catches and turns into an error. Keep aborting on every
/// panic except those raised inside the guarded decoders (shown on stderr when
/// `SWATH_FUZZ_SHOW_GUARDED` is set).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let aborting = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let guarded = info.location().is_some_and(|loc| {
                GUARDED_DECODERS
                    .iter()
                    .any(|name| loc.file().contains(name))
            });
            if !guarded {
                aborting(info);
            } else if std::env::var_os("SWATH_FUZZ_SHOW_GUARDED").is_some() {
                eprintln!("guarded decoder panic (caught by the reader): {info}");
            }
        }));
    });
}

fn limits() -> Limits {
    Limits {
        max_window_bytes: 64 << 20,
        max_block_bytes: 16 << 20,
        ..Default::default()
    }
}

async fn exercise(data: &[u8]) {
    let reader = Arc::new(BytesReader(Bytes::copy_from_slice(data)));
    let Ok(tiff) = GeoTiff::open_with_limits(reader, limits()).await else {
        return;
    };
    // Everything a caller might look at after opening.
    let _ = (tiff.width(), tiff.height(), tiff.bands(), tiff.dtype());
    let _ = (tiff.nodata(), tiff.georeference(), tiff.metadata());
    for level in 0..tiff.levels().len() {
        let _ = tiff.level_transform(level);
        let (w, h) = {
            let lv = &tiff.levels()[level];
            (lv.width, lv.height)
        };
        let corner =
            Window::new(w.saturating_sub(3), h.saturating_sub(3), w.min(3), h.min(3));
        for window in [Window::new(0, 0, w, h), corner] {
            let _ = tiff.read_window(level, window).await;
            let _ = tiff.read_mask_window(level, window).await;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    install_panic_hook();
    block_on(exercise(data));
});
