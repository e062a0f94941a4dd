//! PNG images for Swath: quicklooks of rasters and time-series line charts, pure Rust.
//!
//! * **Quicklooks.** A [`Canvas`] is a nearest-neighbour downsample of a raster that is
//!   filled block by block (memory bounded by the output size, never the raster's) and
//!   rendered with a [`Stretch`] (percentiles, min/max or a fixed range, per band) into
//!   an RGBA [`Image`]; missing values become transparent. [`quicklook_tiff`] does it
//!   for a GeoTIFF or COG in any object store, reading the smallest overview that is
//!   large enough ([`choose_level`]).
//! * **Charts.** [`line_chart`] draws [`Series`] against time (milliseconds since the
//!   epoch, date ticks) or plain numbers, with plotters into a memory buffer; text uses
//!   the DejaVu Sans font bundled in `fonts/` (Bitstream Vera licence beside it), so no
//!   system font library is needed. The returned [`PlotFrame`] tells where a data point
//!   landed in the image.
//! * **PNG.** [`Image::to_png`] encodes 8-bit RGBA with `flate2` (see `image.rs` for
//!   why not the `png` crate).
//!
//! Sizes are bounded (images at most 8192 pixels a side) and every bad input is an
//! [`Error`], never a panic.
//!
//! ```
//! use swath_plot::{Canvas, ChartOptions, Series, Stretch, XAxis, line_chart};
//!
//! // A 4×1 grey raster with one missing value, stretched over 0..2.
//! let mut canvas = Canvas::new(4, 1, 1, 512)?;
//! canvas.put(0, 0, 4, 1, &[&[0.0, 1.0, 2.0, f32::NAN]])?;
//! let image = canvas.render(&"range:0,2".parse::<Stretch>()?)?;
//! assert_eq!(image.pixel(1, 0), Some([128, 128, 128, 255]));
//! assert_eq!(image.pixel(3, 0), Some([0, 0, 0, 0]));
//! let png: Vec<u8> = image.to_png()?;
//! assert!(png.starts_with(b"\x89PNG"));
//!
//! // NDVI over three days (x in milliseconds since 1970), with a gap.
//! let day = 86_400_000.0;
//! let ndvi = Series {
//!     name: "NDVI".into(),
//!     points: vec![(0.0, 0.2), (day, f64::NAN), (2.0 * day, 0.6)],
//! };
//! let chart = line_chart(&[ndvi], XAxis::Time, &ChartOptions::default())?;
//! assert_eq!((chart.image.width, chart.image.height), (1000, 500));
//! # Ok::<(), swath_plot::Error>(())
//! ```
//!
//! # How to add a new kind of chart
//!
//! Add a file beside `chart.rs` with its public function taking the data and a
//! [`ChartOptions`] and returning a [`Chart`]: validate sizes with the same limits,
//! call `chart::register_font` before drawing text, draw with plotters into an RGB
//! buffer (`BitMapBackend::with_buffer_and_format`), map plotters errors to
//! [`Error::Draw`], and take colours from [`PALETTE`]. Test it by decoding the PNG and
//! sampling pixels at [`PlotFrame::to_pixel`] positions (`tests/chart.rs`).
#![warn(missing_docs)]

mod canvas;
mod chart;
mod error;
mod image;
mod quicklook;
mod stretch;
mod time;

pub use canvas::{Canvas, MAX_FULL_SIDE};
pub use chart::{
    Chart, ChartOptions, MIN_CHART_SIDE, PALETTE, PlotFrame, Series, XAxis, line_chart,
};
pub use error::{Error, Result};
pub use image::{Image, MAX_SIDE};
pub use quicklook::{choose_level, quicklook, quicklook_tiff};
pub use stretch::Stretch;
