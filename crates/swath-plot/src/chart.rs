//! Time-series line charts, drawn with plotters into a memory buffer.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use plotters::backend::RGBPixel;
use plotters::coord::CoordTranslate;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result, check_range, invalid};
use crate::image::{Image, MAX_SIDE};
use crate::time::{self, Step};

/// The smallest chart width or height.
pub const MIN_CHART_SIDE: u32 = 64;

/// The series colours, in order (matplotlib's "tab10"): blue, orange, green, red,
/// purple, brown, pink, grey, olive, cyan; series 11 takes the first again.
pub const PALETTE: [[u8; 3]; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

/// The font family every text of a chart uses: DejaVu Sans, bundled in the crate and
/// registered with plotters under this name on first use.
const FONT: &str = "sans-serif";

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The name shown in the legend.
    pub name: String,
    /// `(x, y)` points, drawn in this order. A point whose x or y is not finite (NaN)
    /// is a gap: no marker, and the line stops before it and starts again after.
    pub points: Vec<(f64, f64)>,
}

/// What the x values mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XAxis {
    /// Milliseconds since the Unix epoch (UTC), between the years 0000 and 9999; ticks
    /// fall on round dates and read `YYYY-MM-DD` (with `HH:MM` when they are less
    /// than a day apart).
    #[default]
    Time,
    /// Plain numbers.
    Number,
}

/// Title, axis labels and size of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    /// Text above the plot.
    pub title: Option<String>,
    /// Text under the x axis.
    pub x_label: Option<String>,
    /// Text beside the y axis.
    pub y_label: Option<String>,
    /// Width in pixels (64..=8192); 1000 by default.
    pub width: u32,
    /// Height in pixels (64..=8192); 500 by default.
    pub height: u32,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            title: None,
            x_label: None,
            y_label: None,
            width: 1000,
            height: 500,
        }
    }
}

/// A drawn chart: the image and where its data coordinates fall in it.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The chart, opaque RGBA.
    pub image: Image,
    /// The mapping from data to pixel coordinates of the plot area.
    pub frame: PlotFrame,
}

/// The plot area of a [`Chart`]: its data ranges and pixel rectangle, and the mapping
/// plotters used to draw the series.
#[derive(Clone)]
pub struct PlotFrame {
    coord: Cartesian2d<XCoord, RangedCoordf64>,
}

impl PlotFrame {
    /// The pixel `(column, row)` where plotters drew the data point `(x, y)`.
    pub fn to_pixel(&self, x: f64, y: f64) -> (i32, i32) {
        self.coord.translate(&(x, y))
    }

    /// The x values the plot area spans, left to right.
    pub fn x_range(&self) -> Range<f64> {
        self.coord.get_x_range()
    }

    /// The y values the plot area spans, bottom to top.
    pub fn y_range(&self) -> Range<f64> {
        self.coord.get_y_range()
    }

    /// The pixel columns and rows of the plot area.
    pub fn pixel_area(&self) -> (Range<i32>, Range<i32>) {
        (
            self.coord.get_x_axis_pixel_range(),
            self.coord.get_y_axis_pixel_range(),
        )
    }
}

impl fmt::Debug for PlotFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (cols, rows) = self.pixel_area();
        f.debug_struct("PlotFrame")
            .field("x_range", &self.x_range())
            .field("y_range", &self.y_range())
            .field("columns", &cols)
            .field("rows", &rows)
            .finish()
    }
}

/// The x coordinate: plotters' linear f64 mapping, with date ticks for time.
#[derive(Clone)]
struct XCoord {
    linear: RangedCoordf64,
    /// The tick step of a time axis (None for numbers).
    step: Option<Step>,
}

impl Ranged for XCoord {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        match self.step {
            // The step was chosen for the label count, so light lines, asked with a
            // larger hint, fall on the labelled ticks too.
            Some(step) => {
                let r = self.linear.range();
                time::ticks(r.start, r.end, step)
            }
            None => self.linear.key_points(hint),
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

impl ValueFormatter<f64> for XCoord {
    fn format_ext(&self, value: &f64) -> String {
        match self.step {
            Some(step) => step.label(*value),
            None => RangedCoordf64::format(value),
        }
    }
}

/// Register the bundled font with plotters, once per process.
pub(crate) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        let bytes: &'static [u8] = include_bytes!("../fonts/DejaVuSans.ttf");
        plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Draw("the bundled font could not be loaded".into()))
    }
}

/// `lo..hi` widened by `frac` of its span on each side; a single value is widened by
/// `pad` instead.
fn padded(lo: f64, hi: f64, frac: f64, pad: f64) -> (f64, f64) {
    if hi > lo {
        let m = (hi - lo) * frac;
        (lo - m, hi + m)
    } else {
        (lo - pad, hi + pad)
    }
}

fn draw_err<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> Error {
    Error::Draw(e.to_string())
}

/// Draw `series` as a line chart: white background, axes with ticks, labels and a
/// light grid, one [`PALETTE`] colour per series, lines 2 px wide with 3 px round
/// markers, and a legend (top right) when there is more than one series.
///
/// The x range spans the data with a 2 % margin each side, the y range with 5 %; a
/// single x value is padded by a day (time) or by 1 (numbers), a single y value by
/// 10 % of its magnitude (or 1 for 0).
///
/// Fails for no series, no finite point, a size outside 64..=8192, or a time outside
/// the years 0000–9999.
pub fn line_chart(series: &[Series], x: XAxis, options: &ChartOptions) -> Result<Chart> {
    let (w, h) = (options.width, options.height);
    let side = (u64::from(MIN_CHART_SIDE), u64::from(MAX_SIDE));
    check_range("chart width", u64::from(w), side.0, side.1)?;
    check_range("chart height", u64::from(h), side.0, side.1)?;
    if series.is_empty() {
        return Err(Error::NoData("no series given".into()));
    }
    let finite = || {
        series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let Some(&(x0, y0)) = finite().next() else {
        return Err(Error::NoData("no series has a finite point".into()));
    };
    let (mut xlo, mut xhi, mut ylo, mut yhi) = (x0, x0, y0, y0);
    for &(px, py) in finite() {
        (xlo, xhi) = (xlo.min(px), xhi.max(px));
        (ylo, yhi) = (ylo.min(py), yhi.max(py));
    }
    if x == XAxis::Time && (xlo < time::MIN_MS || xhi > time::MAX_MS) {
        return Err(invalid!(
            "time values must lie within the years 0000 to 9999 ({} to {} ms since \
             1970), got {xlo} to {xhi}",
            time::MIN_MS,
            time::MAX_MS
        ));
    }
    let x_pad = match x {
        XAxis::Time => time::DAY as f64,
        XAxis::Number => 1.0,
    };
    let (xlo, xhi) = padded(xlo, xhi, 0.02, x_pad);
    let y_pad = if ylo == 0.0 { 1.0 } else { ylo.abs() * 0.1 };
    let (ylo, yhi) = padded(ylo, yhi, 0.05, y_pad);
    if !(xlo.is_finite() && xhi.is_finite() && ylo.is_finite() && yhi.is_finite()) {
        return Err(invalid!("the data span too wide a range to draw"));
    }

    register_font()?;
    let x_ticks = (w / 130).max(2) as usize;
    let xcoord = XCoord {
        linear: (xlo..xhi).into(),
        step: (x == XAxis::Time).then(|| time::choose_step(xlo, xhi, x_ticks)),
    };
    let ycoord: RangedCoordf64 = (ylo..yhi).into();

    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    let frame;
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (w, h))
            .map_err(|e| Error::Draw(e.to_string()))?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        // Label areas and margins shrink on small charts so the plot keeps at least
        // half of each side.
        let at_most_quarter = |want: u32, side: u32| want.min(side / 4);
        let x_area = if options.x_label.is_some() { 48 } else { 28 };
        let y_area = if options.y_label.is_some() { 84 } else { 64 };
        let mut builder = ChartBuilder::on(&root);
        builder
            .margin(12.min(w.min(h) / 16))
            .x_label_area_size(at_most_quarter(x_area, h))
            .y_label_area_size(at_most_quarter(y_area, w));
        if let Some(title) = &options.title {
            builder.caption(title, (FONT, 20));
        }
        let mut chart = builder
            .build_cartesian_2d(xcoord, ycoord)
            .map_err(draw_err)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(x_ticks)
            .y_labels((h / 60).max(2) as usize)
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14));
        if let Some(label) = &options.x_label {
            mesh.x_desc(label);
        }
        if let Some(label) = &options.y_label {
            mesh.y_desc(label);
        }
        mesh.draw().map_err(draw_err)?;

        for (i, s) in series.iter().enumerate() {
            let [r, g, b] = PALETTE[i % PALETTE.len()];
            let colour = RGBColor(r, g, b);
            for run in s.points.split(|(x, y)| !(x.is_finite() && y.is_finite())) {
                if run.len() >= 2 {
                    chart
                        .draw_series(LineSeries::new(
                            run.iter().copied(),
                            colour.stroke_width(2),
                        ))
                        .map_err(draw_err)?;
                }
            }
            let markers = s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&p| Circle::new(p, 3, colour.filled()));
            chart
                .draw_series(markers)
                .map_err(draw_err)?
                .label(s.name.as_str())
                .legend(move |(lx, ly)| {
                    EmptyElement::at((lx, ly))
                        + PathElement::new(vec![(0, 0), (20, 0)], colour.stroke_width(2))
                        + Circle::new((10, 0), 3, colour.filled())
                });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(160, 160, 160))
                .label_font((FONT, 13))
                .draw()
                .map_err(draw_err)?;
        }
        frame = PlotFrame {
            coord: chart.as_coord_spec().clone(),
        };
        root.present().map_err(draw_err)?;
    }
    let rgba = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    Ok(Chart {
        image: Image {
            width: w,
            height: h,
            rgba,
        },
        frame,
    })
}
