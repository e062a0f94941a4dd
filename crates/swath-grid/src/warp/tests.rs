//! Hand-derived warp cases; the GDAL parity tests live in `tests/grid`.

use super::*;
use crate::crs::Crs;

fn utm33() -> Crs {
    Crs::from_epsg(32633).unwrap()
}

/// A 10 m (or `res`) grid whose top-left corner is at (x0, y0).
fn grid(res: f64, x0: f64, y0: f64, w: u64, h: u64) -> Grid {
    Grid::new(utm33(), [res, 0.0, x0, 0.0, -res, y0], w, h).unwrap()
}

fn ramp(w: usize, h: usize) -> Vec<u16> {
    (0..w * h).map(|i| (i + 1) as u16).collect()
}

#[test]
fn identity_copy() {
    let g = grid(10.0, 500_000.0, 5_000_000.0, 4, 3);
    let plan = WarpPlan::new(&g, &g, g.full_window(), Resampling::Bilinear)
        .unwrap()
        .unwrap();
    assert_eq!(plan.kind(), WarpKind::Copy);
    assert_eq!(plan.src_window(), g.full_window());
    let mut src = ramp(4, 3);
    src[5] = 0; // nodata
    let mut dst = vec![0_u16; 12];
    dst[0] = 99; // already filled: kept
    let n = plan.warp(&src, Some(0), &mut dst, Some(0)).unwrap();
    assert_eq!(n, 10);
    let mut expect = src.clone();
    expect[0] = 99;
    assert_eq!(dst, expect);
}

#[test]
fn integer_offset_copy() {
    let src_grid = grid(10.0, 500_000.0, 5_000_000.0, 6, 5);
    // Destination origin 2 columns right and 1 row up of the source origin.
    let dst_grid = grid(10.0, 500_020.0, 5_000_010.0, 6, 5);
    let plan = WarpPlan::new(
        &src_grid,
        &dst_grid,
        dst_grid.full_window(),
        Resampling::Nearest,
    )
    .unwrap()
    .unwrap();
    assert_eq!(plan.kind(), WarpKind::Copy);
    // Destination (c, r) is source (c + 2, r - 1): source columns 2..6, rows 0..4.
    assert_eq!(plan.src_window(), PixelWindow::new(2, 0, 4, 4));
    let full = ramp(6, 5);
    let src: Vec<u16> = (0..4)
        .flat_map(|r| full[r * 6 + 2..r * 6 + 6].to_vec())
        .collect();
    let mut dst = vec![0_u16; 30];
    let n = plan.warp(&src, None, &mut dst, Some(0)).unwrap();
    assert_eq!(n, 16);
    for r in 0..5_usize {
        for c in 0..6_usize {
            let expect = if r >= 1 && c < 4 {
                full[(r - 1) * 6 + c + 2]
            } else {
                0
            };
            assert_eq!(dst[r * 6 + c], expect, "({c}, {r})");
        }
    }
}

#[test]
fn downsample_by_two_nearest() {
    let src_grid = grid(10.0, 500_000.0, 5_000_000.0, 8, 8);
    let dst_grid = grid(20.0, 500_000.0, 5_000_000.0, 4, 4);
    let plan = WarpPlan::new(
        &src_grid,
        &dst_grid,
        dst_grid.full_window(),
        Resampling::Nearest,
    )
    .unwrap()
    .unwrap();
    assert_eq!(plan.kind(), WarpKind::Affine);
    assert_eq!(plan.src_window(), src_grid.full_window());
    let src = ramp(8, 8);
    let mut dst = vec![0_u16; 16];
    for threshold in [0.0, DEFAULT_ERROR_THRESHOLD] {
        dst.fill(0);
        let plan = plan.clone().with_error_threshold(threshold).unwrap();
        assert_eq!(plan.warp(&src, None, &mut dst, Some(0)).unwrap(), 16);
        // Destination centre (2c + 1, 2r + 1) in source pixels: the pixel whose
        // top-left corner it is.
        for r in 0..4 {
            for c in 0..4 {
                assert_eq!(dst[r * 4 + c], src[(2 * r + 1) * 8 + 2 * c + 1]);
            }
        }
    }
}

#[test]
fn bilinear_ramp_with_a_nodata_neighbour() {
    // Source 2×2: 10 20 / nodata 40. One destination pixel centred on the middle of
    // the four source centres.
    let src_grid = grid(10.0, 500_000.0, 5_000_000.0, 2, 2);
    let dst_grid = grid(10.0, 500_005.0, 4_999_995.0, 1, 1);
    let plan = WarpPlan::new(
        &src_grid,
        &dst_grid,
        dst_grid.full_window(),
        Resampling::Bilinear,
    )
    .unwrap()
    .unwrap();
    assert_eq!(plan.kind(), WarpKind::Affine);
    assert_eq!(plan.src_window(), src_grid.full_window());
    let mut dst = [0_u16];
    assert_eq!(
        plan.warp(&[10, 20, 0, 40], Some(0), &mut dst, Some(0))
            .unwrap(),
        1
    );
    // Equal weights 1/4, the nodata one dropped: (10 + 20 + 40) / 3 = 23.33 → 23.
    assert_eq!(dst, [23]);
    // Without nodata: the mean of four.
    let mut dst = [0_u16];
    plan.warp(&[10, 20, 30, 40], None, &mut dst, Some(0))
        .unwrap();
    assert_eq!(dst, [25]);
    // Floats keep the fraction; NaN is nodata.
    let mut dst = [f32::NAN];
    plan.warp(
        &[10.0, 20.0, f32::NAN, 40.0],
        None,
        &mut dst,
        Some(f32::NAN),
    )
    .unwrap();
    assert_eq!(dst, [70.0 / 3.0]);
    // The source pixel under the centre (the bottom-right one) is nodata: nothing.
    let mut dst = [0_u16];
    assert_eq!(
        plan.warp(&[10, 20, 30, 0], Some(0), &mut dst, Some(0))
            .unwrap(),
        0
    );
    assert_eq!(dst, [0]);
}

#[test]
fn bilinear_result_never_reads_as_nodata() {
    let src_grid = grid(10.0, 500_000.0, 5_000_000.0, 2, 2);
    let dst_grid = grid(10.0, 500_005.0, 4_999_995.0, 1, 1);
    let plan = WarpPlan::new(
        &src_grid,
        &dst_grid,
        dst_grid.full_window(),
        Resampling::Bilinear,
    )
    .unwrap()
    .unwrap();
    let mut dst = [5_u8];
    plan.warp(&[5, 5, 5, 5], None, &mut dst, Some(5)).unwrap();
    assert_eq!(dst, [4]);
}

#[test]
fn first_valid_source_wins() {
    let dst_grid = grid(10.0, 500_000.0, 5_000_000.0, 4, 1);
    let a = grid(10.0, 500_000.0, 5_000_000.0, 2, 1); // covers columns 0..2
    let b = grid(10.0, 500_010.0, 5_000_000.0, 3, 1); // covers columns 1..4
    let w = dst_grid.full_window();
    let pa = WarpPlan::new(&a, &dst_grid, w, Resampling::Nearest)
        .unwrap()
        .unwrap();
    let pb = WarpPlan::new(&b, &dst_grid, w, Resampling::Nearest)
        .unwrap()
        .unwrap();
    let mut dst = [f32::NAN; 4];
    assert_eq!(
        pa.warp(&[1.0, f32::NAN], None, &mut dst, Some(f32::NAN))
            .unwrap(),
        1
    );
    assert_eq!(
        pb.warp(&[2.0, 3.0, 4.0], None, &mut dst, Some(f32::NAN))
            .unwrap(),
        3
    );
    assert_eq!(dst, [1.0, 2.0, 3.0, 4.0]);
    // Without a destination nodata every pixel is overwritten.
    assert_eq!(pa.warp(&[7.0, 8.0], None, &mut dst, None).unwrap(), 2);
    assert_eq!(dst, [7.0, 8.0, 3.0, 4.0]);
}

#[test]
fn window_outside_the_source_is_none() {
    let src_grid = grid(10.0, 500_000.0, 5_000_000.0, 10, 10);
    let dst_grid = grid(10.0, 600_000.0, 5_000_000.0, 10, 10);
    let w = dst_grid.full_window();
    assert!(
        WarpPlan::new(&src_grid, &dst_grid, w, Resampling::Nearest)
            .unwrap()
            .is_none()
    );
    // Non-integer offset, far away too.
    let dst_grid = grid(10.0, 600_003.0, 5_000_000.0, 10, 10);
    assert!(
        WarpPlan::new(&src_grid, &dst_grid, w, Resampling::Bilinear)
            .unwrap()
            .is_none()
    );
    // Another zone, far away.
    let far = Grid::new(
        Crs::from_epsg(32634).unwrap(),
        [10.0, 0.0, 800_000.0, 0.0, -10.0, 2_000_000.0],
        10,
        10,
    )
    .unwrap();
    assert!(
        WarpPlan::new(&src_grid, &far, w, Resampling::Nearest)
            .unwrap()
            .is_none()
    );
}

#[test]
fn bad_input_is_an_error() {
    let g = grid(10.0, 500_000.0, 5_000_000.0, 4, 4);
    let e = WarpPlan::new(&g, &g, PixelWindow::new(0, 0, 0, 4), Resampling::Nearest);
    assert!(matches!(e, Err(Error::InvalidWindow(_))), "{e:?}");
    let e = WarpPlan::new(
        &g,
        &g,
        PixelWindow::new(0, 0, 1 << 20, 1 << 20),
        Resampling::Nearest,
    );
    assert!(matches!(e, Err(Error::InvalidWindow(_))), "{e:?}");
    let mut bad = g.clone();
    bad.transform = [0.0; 6];
    assert!(matches!(
        WarpPlan::new(&bad, &g, g.full_window(), Resampling::Nearest),
        Err(Error::InvalidGrid(_))
    ));
    let shifted = grid(10.0, 500_003.0, 5_000_000.0, 4, 4);
    for dst_grid in [&g, &shifted] {
        let plan = WarpPlan::new(&g, dst_grid, g.full_window(), Resampling::Nearest)
            .unwrap()
            .unwrap();
        let src = vec![1_u16; 16];
        let mut dst = vec![0_u16; 16];
        let e = plan.warp(&src[..15], None, &mut dst, None).unwrap_err();
        assert!(
            matches!(e, Error::Misuse(_)) && e.to_string().contains("source buffer"),
            "{e}"
        );
        let e = plan.warp(&src, None, &mut dst[..3], None).unwrap_err();
        assert!(e.to_string().contains("destination buffer"), "{e}");
        assert!(plan.clone().with_error_threshold(-1.0).is_err());
        assert!(plan.clone().with_error_threshold(f64::NAN).is_err());
    }
    assert!("cubic".parse::<Resampling>().is_err());
    assert_eq!(
        "Bilinear".parse::<Resampling>().unwrap(),
        Resampling::Bilinear
    );
    assert_eq!("near".parse::<Resampling>().unwrap(), Resampling::Nearest);
    assert_eq!(Resampling::Bilinear.to_string(), "bilinear");
}

#[test]
fn cross_zone_approx_matches_exact_nearest() {
    // A consistency check (GDAL parity is in tests/grid): at 0.125 px the
    // approximation moves sample points by far less than a pixel.
    // Around 18°E 45.1°N, where zones 33 and 34 meet.
    let src_grid = grid(10.0, 734_500.0, 4_999_900.0, 300, 300);
    let dst_grid = Grid::new(
        Crs::from_epsg(32634).unwrap(),
        [10.0, 0.0, 263_000.0, 0.0, -10.0, 4_999_000.0],
        128,
        128,
    )
    .unwrap();
    let plan = WarpPlan::new(
        &src_grid,
        &dst_grid,
        dst_grid.full_window(),
        Resampling::Nearest,
    )
    .unwrap()
    .unwrap();
    assert_eq!(plan.kind(), WarpKind::Reproject);
    let sw = plan.src_window();
    let src: Vec<u16> = (0..sw.pixel_count().unwrap())
        .map(|i| (i % 65_000 + 1) as u16)
        .collect();
    let mut approx = vec![0_u16; 128 * 128];
    let mut exact = approx.clone();
    let n = plan.warp(&src, None, &mut approx, Some(0)).unwrap();
    let exact_plan = plan.clone().with_error_threshold(0.0).unwrap();
    assert_eq!(exact_plan.warp(&src, None, &mut exact, Some(0)).unwrap(), n);
    assert!(n > 0);
    let differ = approx.iter().zip(&exact).filter(|(a, b)| a != b).count();
    assert!(differ * 100 < n, "{differ} of {n} differ");
}

#[test]
fn plans_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WarpPlan>();
    assert_send_sync::<Grid>();
    assert_send_sync::<Crs>();
    assert_send_sync::<crate::Transformer>();
}

/// The per-pixel path (`resample_row` for every row), for comparison.
fn per_pixel(
    plan: &WarpPlan,
    src: &[u16],
    src_nodata: Option<u16>,
    dst: &mut [u16],
    dst_nodata: Option<u16>,
) -> usize {
    let view = kernel::SrcView {
        data: src,
        width: plan.src_window.width as usize,
        height: plan.src_window.height as usize,
        nodata: src_nodata,
    };
    let dw = plan.dst_window.width as usize;
    let mut buffers = RowBuffers::new(dw);
    dst.chunks_exact_mut(dw)
        .enumerate()
        .map(|(r, row)| plan.resample_row(r, row, &view, dst_nodata, &mut buffers))
        .sum()
}

#[test]
fn separable_nearest_equals_the_per_pixel_path() {
    // Source and destination resolutions, and destination origins relative to the
    // source's: whole, half and quarter pixels, centres exactly on source edges
    // (20 m source, 10 m destination shifted 5 m), windows past the source edges.
    let mut cases = 0;
    let mut sums = 0;
    for (src_res, dst_res) in [
        (20.0, 10.0),
        (10.0, 20.0),
        (60.0, 10.0),
        (10.0, 7.5),
        (30.0, 20.0),
    ] {
        for (dx, dy) in [
            (5.0, -5.0),
            (0.0, 0.0),
            (-15.0, 25.0),
            (2.5, -7.5),
            (-400.0, 390.0),
        ] {
            let src_grid = grid(src_res, 500_000.0, 5_000_000.0, 37, 29);
            let (w, h) = (
                (37.0 * src_res / dst_res) as u64 + 9,
                (29.0 * src_res / dst_res) as u64 + 7,
            );
            let dst_grid = grid(dst_res, 500_000.0 + dx, 5_000_000.0 + dy, w, h);
            for window in [dst_grid.full_window(), PixelWindow::new(3, 2, w - 5, h - 4)] {
                let Some(plan) =
                    WarpPlan::new(&src_grid, &dst_grid, window, Resampling::Nearest)
                        .unwrap()
                else {
                    continue;
                };
                assert_eq!(plan.kind(), WarpKind::Affine);
                assert!(plan.mapper.is_separable());
                for threshold in [0.0, DEFAULT_ERROR_THRESHOLD] {
                    let plan = plan.clone().with_error_threshold(threshold).unwrap();
                    let sw = plan.src_window();
                    let src: Vec<u16> = (0..sw.pixel_count().unwrap())
                        .map(|i| {
                            if i % 7 == 3 {
                                0
                            } else {
                                (i % 60_000 + 1) as u16
                            }
                        })
                        .collect();
                    let n = window.pixel_count().unwrap();
                    // Some destination pixels already hold a value (kept).
                    let start: Vec<u16> =
                        (0..n).map(|i| if i % 11 == 5 { 9 } else { 0 }).collect();
                    let mut fast = start.clone();
                    let mut slow = start.clone();
                    let a = plan.warp(&src, Some(0), &mut fast, Some(0)).unwrap();
                    let b = per_pixel(&plan, &src, Some(0), &mut slow, Some(0));
                    assert_eq!(a, b, "{src_res}->{dst_res} at ({dx}, {dy}), {window:?}");
                    assert_eq!(
                        fast, slow,
                        "{src_res}->{dst_res} at ({dx}, {dy}), {window:?}"
                    );
                    cases += 1;
                    sums += a;
                }
            }
        }
    }
    assert!(cases >= 80 && sums > 0, "{cases} cases, {sums} pixels");
}
