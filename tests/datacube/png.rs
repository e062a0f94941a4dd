//! `COPY (…) TO '…' STORED AS PNG`: quicklooks of chunk rows and line charts of other
//! rows, decoded with an independent PNG decoder (zune-png, strict) and checked pixel
//! by pixel against the query's own values.

use arrow::array::AsArray;
use arrow::datatypes::Float64Type;
use zune_png::PngDecoder;
use zune_png::zune_core::options::DecoderOptions;

use crate::{context, create, sql, sql_err, tiny};

/// Width, height and RGBA pixels of a PNG file.
fn decode(path: &std::path::Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).expect("png");
    let mut d = PngDecoder::new_with_options(
        bytes.as_slice(),
        DecoderOptions::default().set_strict_mode(true),
    );
    d.decode_headers().expect("headers");
    let (w, h) = d.get_dimensions().expect("dimensions");
    let px = d.decode_raw().expect("pixels");
    assert_eq!(px.len(), w * h * 4, "8-bit RGBA");
    (w, h, px)
}

const NIR_MEDIAN: &str = "SELECT chunk_x, chunk_y, \
    rs_median(rs_mask(nir, rs_class_mask(scl, 0, 3, 8, 9, 10))) AS nir \
    FROM s2 GROUP BY chunk_x, chunk_y";

#[tokio::test]
async fn a_quicklook_shows_the_query_pixels_stretched() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("nir.png");
    sql(
        &ctx,
        &format!(
            "COPY ({NIR_MEDIAN}) TO '{}' STORED AS PNG OPTIONS (stretch 'range:0,0.5')",
            out.display()
        ),
    )
    .await;
    let (w, h, px) = decode(&out);
    // The query's tiles on the mosaic of the chunks it returned (32-pixel chunks).
    let batches = sql(&ctx, NIR_MEDIAN).await;
    let (mw, mh, values) = crate::cog::mosaic(&batches, &["nir"], 32);
    assert!(
        w <= mw && w + 32 > mw && h <= mh && h + 32 > mh,
        "{w}×{h} vs {mw}×{mh}"
    );
    let (mut valid, mut missing) = (0, 0);
    for y in 0..h {
        for x in 0..w {
            let v = values[0][y * mw + x];
            let p = &px[(y * w + x) * 4..(y * w + x) * 4 + 4];
            if v.is_nan() {
                assert_eq!(p[3], 0, "missing pixel ({x}, {y}) is transparent");
                missing += 1;
            } else {
                // range:0,0.5 → 255 × v / 0.5, clamped, grey.
                let want = (f64::from(v) / 0.5 * 255.0).clamp(0.0, 255.0);
                assert!(
                    (f64::from(p[0]) - want).abs() <= 0.5 + 1e-3,
                    "({x}, {y}): {p:?} vs {want}"
                );
                assert_eq!((p[0], p[1], p[2], p[3]), (p[0], p[0], p[0], 255));
                valid += 1;
            }
        }
    }
    assert!(
        valid > 1000 && missing > 0,
        "{valid} valid, {missing} missing"
    );

    // max_size bounds the longest side with an integer stride; the picture samples
    // the top-left pixel of each stride cell.
    let small = dir.path().join("small.png");
    sql(
        &ctx,
        &format!(
            "COPY ({NIR_MEDIAN}) TO '{}' STORED AS PNG OPTIONS (stretch 'range:0,0.5', max_size '40')",
            small.display()
        ),
    )
    .await;
    let (sw, sh, spx) = decode(&small);
    let stride = w.max(h).div_ceil(40);
    assert_eq!((sw, sh), (w.div_ceil(stride), h.div_ceil(stride)));
    for (x, y) in [(0, 0), (sw / 2, sh / 2), (sw - 1, sh - 1)] {
        assert_eq!(
            &spx[(y * sw + x) * 4..(y * sw + x) * 4 + 4],
            &px[(y * stride * w + x * stride) * 4..(y * stride * w + x * stride) * 4 + 4]
        );
    }
}

#[tokio::test]
async fn a_time_series_becomes_a_line_chart() {
    let cat = tiny();
    let ctx = context(2).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("ndvi.png");
    let series = "SELECT solar_day, sum(rs_tile_sum(v)) / sum(rs_tile_count(v)) AS ndvi \
        FROM (SELECT solar_day, rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10)) AS v FROM s2) \
        GROUP BY solar_day";
    let n = sql(
        &ctx,
        &format!(
            "COPY ({series}) TO '{}' STORED AS PNG OPTIONS (width '640', height '320', title 'NDVI')",
            out.display()
        ),
    )
    .await;
    assert_eq!(
        n[0].column(0)
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .value(0),
        4
    );
    let rows = sql(&ctx, &format!("{series} ORDER BY solar_day")).await;
    let ndvi: Vec<f64> = rows
        .iter()
        .flat_map(|b| b.column(1).as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert_eq!(ndvi.len(), 4);
    let (w, h, px) = decode(&out);
    assert_eq!((w, h), (640, 320));
    let at = |x: usize, y: usize| &px[(y * w + x) * 4..(y * w + x) * 4 + 4];
    assert_eq!(at(0, 0), [255, 255, 255, 255], "white background");
    // The first series colour (tab10 blue) is drawn.
    let blue = px
        .chunks_exact(4)
        .filter(|p| p[..3] == swath_plot::PALETTE[0])
        .count();
    assert!(blue > 200, "{blue} line pixels");
}

#[tokio::test]
async fn bad_png_requests_fail_with_what_is_needed() {
    let cat = tiny();
    let ctx = context(1).await;
    create(&ctx, "s2", &cat.collection, "bands 'red,nir,scl'").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let to = |name: &str| dir.path().join(name).display().to_string();
    let err = sql_err(
        &ctx,
        &format!(
            "COPY ({NIR_MEDIAN}) TO '{}' STORED AS PNG OPTIONS (bands 'red')",
            to("a.png")
        ),
    )
    .await;
    assert!(err.contains("'red' is not a tile column"), "{err}");
    let err = sql_err(
        &ctx,
        &format!(
            "COPY (SELECT 'a' AS s, 'b' AS t) TO '{}' STORED AS PNG",
            to("b.png")
        ),
    )
    .await;
    assert!(err.contains("line chart") && err.contains("Utf8"), "{err}");
    let err = sql_err(
        &ctx,
        &format!("COPY (SELECT 1 AS x, 2 AS y) TO '{}' STORED AS PNG OPTIONS (stretch 'bogus')", to("c.png")),
    )
    .await;
    assert!(err.contains("stretch"), "{err}");
    // Chunk indexes a query computed outside the grid: an error, not an overflow.
    for (format, file) in [("PNG", "far.png"), ("COG", "far.tif"), ("ZARR", "far.zarr")] {
        let err = sql_err(
            &ctx,
            &format!(
                "COPY (SELECT chunk_x * 1000000000000000 AS chunk_x, chunk_y, nir FROM ({NIR_MEDIAN})) \
                 TO '{}' STORED AS {format}",
                to(file)
            ),
        )
        .await;
        assert!(
            err.contains("is outside the table's grid"),
            "{format}: {err}"
        );
    }
    let existing = to("d.png");
    std::fs::write(&existing, b"keep").expect("write");
    let err = sql_err(
        &ctx,
        &format!("COPY (SELECT 1 AS x, 2 AS y) TO '{existing}' STORED AS PNG"),
    )
    .await;
    assert!(err.contains("exists"), "{err}");
    assert_eq!(std::fs::read(&existing).expect("read"), b"keep");
}
