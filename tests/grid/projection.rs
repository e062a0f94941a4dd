//! `Transformer` (proj4rs) against PROJ 9 (pyproj) on the CRSs Swath reads: UTM
//! zones either side of a boundary, LAEA Europe, WGS84 and Web Mercator.

use serde_json::json;
use swath_grid::{Crs, Transformer};

use crate::reference;

/// Agreement required with PROJ, in metres on the ground: a micrometre (the
/// transverse Mercator, LAEA forward and Mercator series are the same as PROJ's; the
/// observed differences are nanometres) ...
const TOLERANCE_M: f64 = 1e-6;
/// ... except the inverse LAEA, whose authalic-latitude series in proj4rs is shorter
/// than PROJ 9's: 1.2 mm at the edges of Europe (32°N, 19° from the origin latitude).
const LAEA_INVERSE_TOLERANCE_M: f64 = 2e-3;

fn grid_points(xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
    xs.iter()
        .flat_map(|&x| ys.iter().map(move |&y| (x, y)))
        .collect()
}

fn steps(from: f64, to: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| from + (to - from) * i as f64 / (n - 1) as f64)
        .collect()
}

/// Distance in metres between two points of `crs` (degrees → metres on the sphere
/// for geographic CRSs, which is plenty for a millimetre check).
fn distance_m(crs: &Crs, a: (f64, f64), b: (f64, f64)) -> f64 {
    if crs.is_geographic() {
        let m_per_deg = 111_320.0;
        let dx = (a.0 - b.0) * m_per_deg * a.1.to_radians().cos();
        let dy = (a.1 - b.1) * m_per_deg;
        dx.hypot(dy)
    } else {
        (a.0 - b.0).hypot(a.1 - b.1)
    }
}

struct Case {
    src: &'static str,
    dst: &'static str,
    points: Vec<(f64, f64)>,
}

impl Case {
    fn tolerance(&self) -> f64 {
        if self.src == "EPSG:3035" {
            LAEA_INVERSE_TOLERANCE_M
        } else {
            TOLERANCE_M
        }
    }
}

#[test]
fn points_match_pyproj() {
    let lonlat_europe = grid_points(&steps(-10.0, 35.0, 10), &steps(35.0, 70.0, 8));
    let lonlat_zone33 = grid_points(&steps(6.0, 24.0, 10), &steps(-60.0, 80.0, 8));
    let lonlat_world = grid_points(&steps(-179.0, 179.0, 9), &steps(-84.0, 84.0, 9));
    let utm = grid_points(
        &steps(100_000.0, 900_000.0, 9),
        &steps(100_000.0, 9_300_000.0, 9),
    );
    let boundary = grid_points(
        &steps(700_000.0, 780_000.0, 9),
        &steps(4_900_000.0, 5_100_000.0, 5),
    );
    let laea = grid_points(
        &steps(2_600_000.0, 6_500_000.0, 8),
        &steps(1_400_000.0, 5_400_000.0, 8),
    );
    let merc = grid_points(&steps(-2.0e7, 2.0e7, 9), &steps(-1.9e7, 1.9e7, 9));
    let cases = vec![
        Case {
            src: "EPSG:4326",
            dst: "EPSG:32633",
            points: lonlat_zone33.clone(),
        },
        Case {
            src: "EPSG:4326",
            dst: "EPSG:32634",
            points: lonlat_zone33.clone(),
        },
        Case {
            src: "EPSG:4326",
            dst: "EPSG:32733",
            points: lonlat_zone33,
        },
        Case {
            src: "EPSG:32633",
            dst: "EPSG:4326",
            points: utm.clone(),
        },
        Case {
            src: "EPSG:32634",
            dst: "EPSG:4326",
            points: utm,
        },
        Case {
            src: "EPSG:32633",
            dst: "EPSG:32634",
            points: boundary.clone(),
        },
        Case {
            src: "EPSG:32634",
            dst: "EPSG:32633",
            points: boundary.clone(),
        },
        Case {
            src: "EPSG:4326",
            dst: "EPSG:3035",
            points: lonlat_europe.clone(),
        },
        Case {
            src: "EPSG:3035",
            dst: "EPSG:4326",
            points: laea,
        },
        Case {
            src: "EPSG:32634",
            dst: "EPSG:3035",
            points: boundary,
        },
        Case {
            src: "EPSG:4326",
            dst: "EPSG:3857",
            points: lonlat_world,
        },
        Case {
            src: "EPSG:3857",
            dst: "EPSG:4326",
            points: merc,
        },
    ];
    let input = json!({
        "cases": cases.iter().map(|c| json!({
            "src": c.src,
            "dst": c.dst,
            "points": c.points.iter().map(|p| [p.0, p.1]).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    });
    let expected = reference("project", &input);
    let mut worst_overall: f64 = 0.0;
    for (case, want) in cases
        .iter()
        .zip(expected["cases"].as_array().expect("cases"))
    {
        let src = Crs::parse(case.src).expect("source CRS");
        let dst = Crs::parse(case.dst).expect("destination CRS");
        let t = Transformer::new(&src, &dst).expect("transformer");
        let mut xs: Vec<f64> = case.points.iter().map(|p| p.0).collect();
        let mut ys: Vec<f64> = case.points.iter().map(|p| p.1).collect();
        t.transform_points(&mut xs, &mut ys).expect("transform");
        let want = want.as_array().expect("points");
        let mut worst: f64 = 0.0;
        let mut worst_point = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0));
        let mut compared = 0;
        for (i, w) in want.iter().enumerate() {
            let ours = (xs[i].is_finite() && ys[i].is_finite()).then_some((xs[i], ys[i]));
            let theirs = w
                .as_array()
                .map(|a| (a[0].as_f64().expect("x"), a[1].as_f64().expect("y")));
            match (ours, theirs) {
                (Some(a), Some(b)) => {
                    let d = distance_m(&dst, b, a);
                    if d > worst {
                        worst = d;
                        worst_point = (case.points[i], a, b);
                    }
                    compared += 1;
                }
                (None, None) => {}
                (a, b) => panic!(
                    "{} -> {} point {:?}: swath {a:?}, PROJ {b:?}",
                    case.src, case.dst, case.points[i]
                ),
            }
        }
        assert!(
            compared * 10 >= case.points.len() * 9,
            "{} -> {}",
            case.src,
            case.dst
        );
        eprintln!(
            "{} -> {}: {compared} points, max difference from PROJ {worst:.3e} m",
            case.src, case.dst
        );
        let (p, a, b) = worst_point;
        assert!(
            worst < case.tolerance(),
            "{} -> {} point {p:?}: swath {a:?}, PROJ {b:?} ({worst} m apart)",
            case.src,
            case.dst
        );
        worst_overall = worst_overall.max(worst);
    }
    eprintln!("max difference from PROJ over all cases: {worst_overall:.3e} m");
}

#[test]
fn bounds_match_pyproj() {
    let cases = [
        (
            "EPSG:32633",
            "EPSG:4326",
            [700_000.0, 4_900_000.0, 760_000.0, 5_100_000.0],
        ),
        (
            "EPSG:32633",
            "EPSG:32634",
            [700_000.0, 4_900_000.0, 760_000.0, 5_100_000.0],
        ),
        (
            "EPSG:3035",
            "EPSG:4326",
            [4_000_000.0, 2_500_000.0, 5_000_000.0, 3_500_000.0],
        ),
        ("EPSG:4326", "EPSG:3035", [5.0, 40.0, 25.0, 55.0]),
    ];
    let input = json!({
        "cases": cases.iter().map(|(s, d, b)| json!({"src": s, "dst": d, "bounds": b}))
            .collect::<Vec<_>>()
    });
    let expected = reference("bounds", &input);
    for ((src, dst, b), want) in cases
        .iter()
        .zip(expected["cases"].as_array().expect("cases"))
    {
        let dst_crs = Crs::parse(dst).expect("destination CRS");
        let t = Transformer::new(&Crs::parse(src).expect("source CRS"), &dst_crs)
            .expect("transformer");
        let ours = t.transform_bounds(*b, 21).expect("bounds");
        let want: Vec<f64> = want
            .as_array()
            .expect("bounds")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        let d = distance_m(&dst_crs, (ours[0], ours[1]), (want[0], want[1]))
            .max(distance_m(&dst_crs, (ours[2], ours[3]), (want[2], want[3])));
        let tolerance = if *src == "EPSG:3035" {
            LAEA_INVERSE_TOLERANCE_M
        } else {
            TOLERANCE_M
        };
        eprintln!("{src} -> {dst} bounds: max difference from PROJ {d:.3e} m");
        assert!(
            d < tolerance,
            "{src} -> {dst}: swath {ours:?}, PROJ {want:?}"
        );
    }
}
