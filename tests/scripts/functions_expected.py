"""Reference values for the rs_* kernels, computed with numpy independently of Swath.

Writes JSON to stdout: a seeded stack of Sentinel-2-like observations (uint16 DN,
nodata 0, reflectance = DN * 1e-4 - 0.1) of four bands on an 8x8 tile, and per-pixel
results of numpy.nanmedian / nanmean / nanstd / nanpercentile / nanmin / nanmax, a
numpy Weiszfeld geometric median (Vardi-Zhang step, eps 1e-7, 1000 iterations, from
the per-band mean, as hdstats; also stopped at eps 3e-3) with its SMAD / EMAD / BCMAD, NDVI per tile, and
per-tile statistics. NaN is written as null.

usage: functions_expected.py [seed] [tiles] [side]
"""

import json
import sys
import warnings

import numpy as np

SCALE, OFFSET = 1e-4, -0.1
BANDS = ["blue", "green", "red", "nir"]
COARSE_EPS = 3e-3  # a stopping step far from the default, for the eps argument


def geomedian(x, eps=1e-7, maxiters=1000):
    """Geometric median of the rows of x (k x n, float64)."""
    y = x.mean(axis=0)
    for _ in range(maxiters):
        d = np.sqrt(((x - y) ** 2).sum(axis=1))
        nz = d > 0
        if not nz.any():
            break
        w = 1.0 / d[nz]
        t = (w[:, None] * x[nz]).sum(axis=0) / w.sum()
        zeros = int((~nz).sum())
        if zeros:
            r = np.sqrt((((t - y) * w.sum()) ** 2).sum())
            rinv = 0.0 if r == 0 else zeros / r
            y1 = max(0.0, 1.0 - rinv) * t + min(1.0, rinv) * y
        else:
            y1 = t
        step = np.sqrt(((y1 - y) ** 2).sum())
        y = y1
        if step < eps:
            break
    return y


def main():
    warnings.simplefilter("ignore")
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    tiles = int(sys.argv[2]) if len(sys.argv) > 2 else 23
    side = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    rng = np.random.default_rng(seed)
    px = side * side
    # smooth-ish reflectances per band plus noise, as DN
    base = np.array([1600, 1900, 1800, 4000])[:, None, None]
    dn = base + rng.normal(0, 1, (4, tiles, px)).cumsum(axis=1) * 150
    dn += rng.normal(0, 200, (4, tiles, px))
    dn = np.clip(np.round(dn), 1, 65535).astype(np.uint16)
    # missing: random nodata per band (20 %), whole observations (clouds, 15 %),
    # one pixel never valid, one pixel valid in a single observation
    dn[rng.random((4, tiles, px)) < 0.2] = 0
    dn[:, rng.random((tiles, px)) < 0.15] = 0
    dn[:, :, 5] = 0
    dn[:, :, 9] = 0
    dn[:, 3, 9] = [700, 800, 900, 2500]
    refl = np.where(dn == 0, np.nan, dn * SCALE + OFFSET)

    def clean(a):
        a = np.asarray(a, dtype=np.float64)
        return [None if np.isnan(v) else float(v) for v in a.ravel()]

    red, nir = refl[2], refl[3]
    with np.errstate(all="ignore"):
        per_pixel = {
            "median": np.nanmedian(red, axis=0),
            "mean": np.nanmean(red, axis=0),
            "std": np.nanstd(red, axis=0),
            "p10": np.nanpercentile(red, 10, axis=0),
            "p90": np.nanpercentile(red, 90, axis=0),
            "min": np.nanmin(red, axis=0),
            "max": np.nanmax(red, axis=0),
            "count": np.sum(~np.isnan(red), axis=0).astype(np.float64),
        }
        ndvi = (nir - red) / (nir + red)
        tile_mean = np.nanmean(ndvi, axis=1)
        tile_std = np.nanstd(ndvi, axis=1)
    gm = np.full((4, px), np.nan)
    gm_coarse = np.full((4, px), np.nan)
    mads = {k: np.full(px, np.nan) for k in ["smad", "emad", "bcmad"]}
    objective = np.full(px, np.nan)
    gcount = np.zeros(px)
    for p in range(px):
        x = refl[:, :, p].T  # tiles x bands
        x = x[~np.isnan(x).any(axis=1)]
        gcount[p] = len(x)
        if len(x) == 0:
            continue
        m = geomedian(x)
        gm[:, p] = m
        gm_coarse[:, p] = geomedian(x, eps=COARSE_EPS)
        objective[p] = np.sqrt(((x - m) ** 2).sum(axis=1)).sum()
        cos = (x @ m) / (np.linalg.norm(x, axis=1) * np.linalg.norm(m))
        mads["smad"][p] = np.median(1 - cos)
        mads["emad"][p] = np.median(np.linalg.norm(x - m, axis=1))
        mads["bcmad"][p] = np.median(np.abs(x - m).sum(axis=1) / np.abs(x + m).sum(axis=1))
    out = {
        "side": side,
        "tiles": tiles,
        "scale": SCALE,
        "offset": OFFSET,
        "dn": {b: dn[i].ravel().tolist() for i, b in enumerate(BANDS)},
        "per_pixel": {k: clean(v) for k, v in per_pixel.items()},
        "ndvi": clean(ndvi),
        "tile_mean": clean(tile_mean),
        "tile_std": clean(tile_std),
        "geomedian": {b: clean(gm[i]) for i, b in enumerate(BANDS)},
        "geomedian_coarse": {b: clean(gm_coarse[i]) for i, b in enumerate(BANDS)},
        "objective": clean(objective),
        "gm_count": clean(gcount),
        **{k: clean(v) for k, v in mads.items()},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
