//! Line charts: sizes, colours at the mapped data points, gaps, errors.

mod common;

use common::{ok, png_round_trip};
use swath_plot::{ChartOptions, Error, Image, PALETTE, Series, XAxis, line_chart};

const DAY: f64 = 86_400_000.0;
/// 2024-06-01T00:00:00Z in milliseconds.
const T0: f64 = 1_717_200_000_000.0;

fn rgb(image: &Image, x: i32, y: i32) -> Option<[u8; 3]> {
    let p = image.pixel(u32::try_from(x).ok()?, u32::try_from(y).ok()?)?;
    Some([p[0], p[1], p[2]])
}

/// Whether a pixel of colour `c` lies within `r` pixels of `(x, y)`.
fn colour_near(image: &Image, (x, y): (i32, i32), r: i32, c: [u8; 3]) -> bool {
    (-r..=r).any(|dy| (-r..=r).any(|dx| rgb(image, x + dx, y + dy) == Some(c)))
}

fn count(image: &Image, c: [u8; 3]) -> usize {
    image.rgba.chunks_exact(4).filter(|p| p[..3] == c).count()
}

fn two_series() -> Vec<Series> {
    vec![
        Series {
            name: "B04".into(),
            points: vec![
                (T0, 1.0),
                (T0 + DAY, 3.0),
                (T0 + 2.0 * DAY, f64::NAN),
                (T0 + 3.0 * DAY, 2.0),
                (T0 + 4.0 * DAY, 4.0),
            ],
        },
        Series {
            name: "B08".into(),
            points: vec![(T0, 4.5), (T0 + 2.0 * DAY, 0.5), (T0 + 4.0 * DAY, 2.5)],
        },
    ]
}

#[test]
fn two_time_series_are_drawn_where_the_frame_says() {
    let options = ChartOptions {
        title: Some("Reflectance".into()),
        x_label: Some("date".into()),
        y_label: Some("reflectance".into()),
        ..ChartOptions::default()
    };
    let series = two_series();
    let chart = ok(line_chart(&series, XAxis::Time, &options));
    let img = &chart.image;
    assert_eq!((img.width, img.height), (1000, 500));
    assert_eq!(png_round_trip(img), img.rgba);
    for (x, y) in [(0, 0), (999, 0), (0, 499), (999, 499)] {
        assert_eq!(
            img.pixel(x, y),
            Some([255, 255, 255, 255]),
            "corner ({x}, {y})"
        );
    }
    let (a, b) = (PALETTE[0], PALETTE[1]);
    assert!(count(img, a) > 200, "series 1 colour: {} px", count(img, a));
    assert!(count(img, b) > 200, "series 2 colour: {} px", count(img, b));

    // The y range is the data's (0.5..4.5) with 5 % margins, x the dates with 2 %.
    let f = &chart.frame;
    let (yr, xr) = (f.y_range(), f.x_range());
    assert!(
        (yr.start - 0.3).abs() < 1e-9 && (yr.end - 4.7).abs() < 1e-9,
        "{yr:?}"
    );
    assert!((xr.start - (T0 - 0.08 * DAY)).abs() < 1e-3, "{xr:?}");
    let (cols, rows) = f.pixel_area();
    assert!(cols.start > 40 && cols.end < 1000 && rows.start > 20 && rows.end < 500);

    // Every finite point has its colour within 2 px of where the frame maps it.
    for (s, c) in series.iter().zip([a, b]) {
        for &(x, y) in s.points.iter().filter(|(_, y)| y.is_finite()) {
            let p = f.to_pixel(x, y);
            assert!(
                colour_near(img, p, 2, c),
                "{} point ({x}, {y}) at {p:?}",
                s.name
            );
        }
    }
    // The NaN breaks the line: nothing of series 1 midway between its days 1 and 3…
    let gap = f.to_pixel(T0 + 2.0 * DAY, 2.5);
    assert!(
        !colour_near(img, gap, 3, a),
        "line drawn across the gap at {gap:?}"
    );
    // …while midway between days 3 and 4 the line is there.
    let joined = f.to_pixel(T0 + 3.5 * DAY, 3.0);
    assert!(colour_near(img, joined, 2, a), "no line at {joined:?}");
    // Series 2 is one unbroken line: midway between its points too.
    let joined = f.to_pixel(T0 + DAY, 2.5);
    assert!(colour_near(img, joined, 2, b), "no line at {joined:?}");
}

#[test]
fn number_axis_single_point_and_custom_size() {
    let options = ChartOptions {
        width: 300,
        height: 200,
        ..ChartOptions::default()
    };
    let one = [Series {
        name: "only".into(),
        points: vec![(5.0, 0.0)],
    }];
    let chart = ok(line_chart(&one, XAxis::Number, &options));
    assert_eq!((chart.image.width, chart.image.height), (300, 200));
    assert_eq!(png_round_trip(&chart.image).len(), 300 * 200 * 4);
    // A single value is padded by 1 in both directions (0 has no magnitude).
    assert_eq!(chart.frame.x_range(), 4.0..6.0);
    assert_eq!(chart.frame.y_range(), -1.0..1.0);
    let p = chart.frame.to_pixel(5.0, 0.0);
    assert!(
        colour_near(&chart.image, p, 2, PALETTE[0]),
        "marker at {p:?}"
    );

    // Eleven series cycle through the palette; a single time value is padded by a day.
    let many: Vec<Series> = (0..11)
        .map(|i| Series {
            name: format!("s{i}"),
            points: vec![(T0, f64::from(i)), (T0 + DAY, f64::from(i) + 0.5)],
        })
        .collect();
    let chart = ok(line_chart(&many, XAxis::Time, &ChartOptions::default()));
    for (i, s) in many.iter().enumerate() {
        let (x, y) = s.points[0];
        let p = chart.frame.to_pixel(x, y);
        assert!(
            colour_near(&chart.image, p, 2, PALETTE[i % 10]),
            "series {i}"
        );
    }
    let same_day = [Series {
        name: "x".into(),
        points: vec![(T0, 1.0), (T0, 2.0)],
    }];
    let chart = ok(line_chart(&same_day, XAxis::Time, &ChartOptions::default()));
    assert_eq!(chart.frame.x_range(), T0 - DAY..T0 + DAY);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let good = two_series();
    let opts = ChartOptions::default();
    assert!(matches!(
        line_chart(&[], XAxis::Time, &opts),
        Err(Error::NoData(_))
    ));
    let empty = [
        Series::default(),
        Series {
            name: "nan".into(),
            points: vec![(f64::NAN, 1.0), (1.0, f64::NAN), (f64::INFINITY, 2.0)],
        },
    ];
    let e = line_chart(&empty, XAxis::Number, &opts).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("nothing to plot: no series has a finite point")
    );
    for (w, h) in [(63, 500), (1000, 63), (8193, 500), (1000, 8193), (0, 0)] {
        let o = ChartOptions {
            width: w,
            height: h,
            ..ChartOptions::default()
        };
        let e = line_chart(&good, XAxis::Time, &o).err();
        assert!(
            matches!(e, Some(Error::LimitExceeded { .. })),
            "{w}×{h}: {e:?}"
        );
    }
    let far = [Series {
        name: "far future".into(),
        points: vec![(1e16, 1.0)],
    }];
    assert!(matches!(
        line_chart(&far, XAxis::Time, &opts),
        Err(Error::InvalidArgument(_))
    ));
    // Huge but finite values: as numbers they draw, or fail cleanly.
    let huge = [Series {
        name: "huge".into(),
        points: vec![(-f64::MAX, -f64::MAX), (f64::MAX, f64::MAX)],
    }];
    if let Err(e) = line_chart(&huge, XAxis::Number, &opts) {
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    }
}
