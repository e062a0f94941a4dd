//! Per-pixel reducers, geomedian and MADs, indices and tile statistics against numpy.

use std::sync::Arc;

use crate::{Reference, assert_close, context, sql, tile_values};

async fn reducers_match_numpy(partitions: usize) {
    let r = Reference::compute(7, 23, 8);
    let ctx = context(partitions).await;
    ctx.register_table("obs", Arc::new(r.table(partitions)))
        .expect("register");
    let b = sql(
        &ctx,
        "SELECT rs_median(red) AS median, rs_mean(red) AS mean, rs_std(red) AS std, \
         rs_percentile(red, 10) AS p10, rs_percentile(red, 90) AS p90, \
         rs_min(red) AS min, rs_max(red) AS max, rs_count(red) AS count FROM obs",
    )
    .await;
    for k in ["median", "mean", "std", "p10", "p90", "min", "max", "count"] {
        let want = r.values(&["per_pixel", k]);
        let want: Vec<f64> = if k == "count" {
            want
        } else {
            want.iter()
                .map(|v| if v.is_nan() { f64::NAN } else { *v })
                .collect()
        };
        assert_close(
            &format!("rs_{k} ({partitions} partitions)"),
            &tile_values(&b, k),
            &want,
            1e-3,
        );
    }
}

#[tokio::test]
async fn temporal_reducers_match_numpy() {
    reducers_match_numpy(1).await;
}

#[tokio::test]
async fn temporal_reducers_match_numpy_when_partial_states_merge() {
    // three input partitions: partial aggregates, states shipped and merged
    reducers_match_numpy(3).await;
}

#[tokio::test]
async fn geomedian_and_mads_match_numpy() {
    let r = Reference::compute(11, 23, 8);
    for partitions in [1, 3] {
        let ctx = context(partitions).await;
        ctx.register_table("obs", Arc::new(r.table(partitions)))
            .expect("register");
        let b = sql(
            &ctx,
            "SELECT g['blue'] AS blue, g['green'] AS green, g['red'] AS red, g['nir'] AS nir, \
             g['smad'] AS smad, g['emad'] AS emad, g['bcmad'] AS bcmad, g['count'] AS count, \
             sm, em, bc, gb \
             FROM (SELECT rs_geomedian_mads(blue, green, red, nir) AS g, \
                          rs_smad(blue, green, red, nir) AS sm, rs_emad(blue, green, red, nir) AS em, \
                          rs_bcmad(blue, green, red, nir) AS bc, \
                          rs_geomedian(blue, green, red, nir)['blue'] AS gb FROM obs)",
        )
        .await;
        let gm: Vec<Vec<f64>> = ["blue", "green", "red", "nir"]
            .iter()
            .map(|band| {
                let got = tile_values(&b, band);
                assert_close(
                    &format!("geomedian {band}"),
                    &got,
                    &r.values(&["geomedian", band]),
                    1e-2,
                );
                got
            })
            .collect();
        assert_close(
            "geomedian blue (rs_geomedian)",
            &tile_values(&b, "gb"),
            &r.values(&["geomedian", "blue"]),
            1e-2,
        );
        for (col, alone, k) in [
            ("smad", "sm", "smad"),
            ("emad", "em", "emad"),
            ("bcmad", "bc", "bcmad"),
        ] {
            // the MADs are small numbers: 1e-4 relative with a floor of 1e-3
            assert_close(k, &tile_values(&b, col), &r.values(&[k]), 1e-3);
            assert_close(
                &format!("rs_{k}"),
                &tile_values(&b, alone),
                &r.values(&[k]),
                1e-3,
            );
        }
        assert_close(
            "count",
            &tile_values(&b, "count"),
            &r.values(&["gm_count"]),
            1.0,
        );
        // A stopping step `eps` far from the default: numpy's iterations stopped
        // there (which differ from the default's by up to 0.016 here).
        let coarse = sql(
            &ctx,
            "SELECT g['blue'] AS blue, g['green'] AS green, g['red'] AS red, g['nir'] AS nir, \
                    m['red'] AS mads_red \
             FROM (SELECT rs_geomedian(blue, green, red, nir, 3e-3) AS g, \
                          rs_geomedian_mads(blue, green, red, nir, 3e-3) AS m FROM obs)",
        )
        .await;
        for band in ["blue", "green", "red", "nir"] {
            let want = r.values(&["geomedian_coarse", band]);
            assert_close(
                &format!("eps 3e-3 {band}"),
                &tile_values(&coarse, band),
                &want,
                0.1,
            );
            let default = r.values(&["geomedian", band]);
            let moved = want
                .iter()
                .zip(&default)
                .filter(|(c, d)| (*c - *d).abs() > 1e-4)
                .count();
            assert!(
                moved > want.len() / 2,
                "{band}: eps changes few pixels ({moved})"
            );
        }
        assert_close(
            "eps 3e-3 red (rs_geomedian_mads)",
            &tile_values(&coarse, "mads_red"),
            &r.values(&["geomedian_coarse", "red"]),
            0.1,
        );
        // The objective (sum of distances) Swath reaches is as low as numpy's.
        let (len, tiles) = (r.side * r.side, r.tiles);
        let dn: Vec<Vec<f64>> = ["blue", "green", "red", "nir"]
            .iter()
            .map(|band| r.values(&["dn", band]))
            .collect();
        let objective = r.values(&["objective"]);
        for p in 0..len {
            if objective[p].is_nan() {
                continue;
            }
            let mut sum = 0.0;
            for t in 0..tiles {
                let x: Vec<f64> = dn.iter().map(|d| d[t * len + p]).collect();
                if x.contains(&0.0) {
                    continue;
                }
                sum += x
                    .iter()
                    .zip(&gm)
                    .map(|(v, g)| (v * 1e-4 - 0.1 - g[p]).powi(2))
                    .sum::<f64>()
                    .sqrt();
            }
            assert!(
                sum <= objective[p] * (1.0 + 1e-6) + 1e-7,
                "pixel {p}: objective {sum} vs numpy {}",
                objective[p]
            );
        }
    }
}

#[tokio::test]
async fn ndvi_and_tile_statistics_match_numpy() {
    let r = Reference::compute(5, 6, 8);
    let ctx = context(1).await;
    ctx.register_table("obs", Arc::new(r.table(1)))
        .expect("register");
    let b = sql(
        &ctx,
        "SELECT rs_ndvi(nir, red) AS ndvi, (nir - red) / (nir + red) AS ndvi_ops, \
         rs_tile_mean(rs_ndvi(nir, red)) AS m, rs_tile_std(rs_ndvi(nir, red)) AS s \
         FROM obs ORDER BY i",
    )
    .await;
    assert_close(
        "rs_ndvi",
        &tile_values(&b, "ndvi"),
        &r.values(&["ndvi"]),
        1e-2,
    );
    assert_close(
        "(nir - red) / (nir + red)",
        &tile_values(&b, "ndvi_ops"),
        &r.values(&["ndvi"]),
        1e-2,
    );
    let col = |name: &str| -> Vec<f64> {
        b.iter()
            .flat_map(|x| {
                let c = x.column_by_name(name).expect("column");
                let f = c
                    .as_any()
                    .downcast_ref::<arrow::array::Float64Array>()
                    .expect("f64");
                f.iter().map(|v| v.unwrap_or(f64::NAN)).collect::<Vec<_>>()
            })
            .collect()
    };
    assert_close("rs_tile_mean", &col("m"), &r.values(&["tile_mean"]), 1e-2);
    assert_close("rs_tile_std", &col("s"), &r.values(&["tile_std"]), 1e-2);
}
