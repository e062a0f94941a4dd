#!/usr/bin/env python3
"""Check a swath-synth catalogue with GDAL (rasterio), rio-cogeo and pyproj.

    synth_check.py DIR

Reads DIR/collection.json, every item it links and every data asset of every
item, and prints one JSON object (the Rust test crates/swath-synth/tests/gdal.rs
asserts on it):

    items, assets            how many were read
    problems                 list of strings; empty when everything agrees:
                             an asset whose CRS, transform, shape, dtype, nodata,
                             scale or offset differs from the item's proj:* and
                             raster:bands, a file rio-cogeo finds invalid, 10 m
                             pixels that are 0 where the SCL is valid or not 0
                             where it is no data, SCL cloud (8, 9) pixels that
                             are not bright or clear land/water pixels that are
    cog_warnings             rio-cogeo warnings, per file
    max_footprint_error_deg  item geometry corners vs pyproj's transform of the
                             grid corners (EPSG:326xx -> EPSG:4326)
    max_bbox_error_deg       item bbox vs pyproj transform_bounds (densified)
    max_cloud_cover_error    |eo:cloud_cover - % of valid SCL pixels in 8, 9, 10|
    cloud_cover              {id: recomputed cloud cover}
    same_zone_overlaps       per pair of items with the same datetime and CRS:
                             overlapping pixels and whether all bands and the
                             SCL are identical there
    cross_zone_overlaps      per pair of items of one date in different zones:
                             the second warped onto the first's grid (nearest),
                             over pixels clear in both (SCL 4, 5, 6): count,
                             NDVI correlation, share of equal SCL classes
"""

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.warp import Resampling, reproject
from rio_cogeo.cogeo import cog_validate

GDAL_ENV = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_PAM_ENABLED": "NO"}
BANDS = ["blue", "green", "red", "nir"]
DATA_ASSETS = BANDS + ["scl"]
CLOUD = (8, 9, 10)


def load(path):
    with open(path) as f:
        return json.load(f)


def reflectance(dn):
    return dn.astype(np.float64) * 1e-4 - 0.1


def check_asset(item, key, path, problems):
    asset = item["assets"][key]
    rb = asset["raster:bands"][0]
    with rasterio.open(path) as ds:
        where = f"{item['id']}/{key}"
        if ds.crs.to_epsg() != item["properties"]["proj:epsg"]:
            problems.append(f"{where}: CRS {ds.crs} vs proj:epsg")
        if item["properties"].get("proj:code") != f"EPSG:{ds.crs.to_epsg()}":
            problems.append(f"{where}: proj:code {item['properties'].get('proj:code')}")
        if list(ds.transform)[:6] != [float(x) for x in asset["proj:transform"]]:
            problems.append(f"{where}: transform {list(ds.transform)[:6]} vs {asset['proj:transform']}")
        if [ds.height, ds.width] != asset["proj:shape"]:
            problems.append(f"{where}: shape {[ds.height, ds.width]} vs {asset['proj:shape']}")
        if ds.count != 1 or ds.dtypes[0] != rb["data_type"]:
            problems.append(f"{where}: {ds.count} bands of {ds.dtypes[0]}")
        if ds.nodata != rb["nodata"]:
            problems.append(f"{where}: nodata {ds.nodata}")
        scale, offset = rb.get("scale", 1.0), rb.get("offset", 0.0)
        if (ds.scales[0], ds.offsets[0]) != (scale, offset):
            problems.append(f"{where}: scale/offset {ds.scales[0]}/{ds.offsets[0]}")
        if ds.overviews(1) and ds.overviews(1)[0] != 2:
            problems.append(f"{where}: overviews {ds.overviews(1)}")
        return ds.read(1), ds.transform, ds.crs


def corners(transform, shape):
    a, _, c, _, e, f = list(transform)[:6]
    h, w = shape
    return [(c, f), (c, f + e * h), (c + a * w, f + e * h), (c + a * w, f)]


def main():
    root = Path(sys.argv[1])
    collection = load(root / "collection.json")
    out = {
        "items": 0,
        "assets": 0,
        "problems": [],
        "cog_warnings": {},
        "max_footprint_error_deg": 0.0,
        "max_bbox_error_deg": 0.0,
        "max_cloud_cover_error": 0.0,
        "cloud_cover": {},
        "same_zone_overlaps": [],
        "cross_zone_overlaps": [],
    }
    problems = out["problems"]
    read = {}
    for link in collection["links"]:
        if link["rel"] != "item":
            continue
        item_path = (root / link["href"]).resolve()
        item = load(item_path)
        out["items"] += 1
        pixels = {}
        for key in DATA_ASSETS:
            path = (item_path.parent / item["assets"][key]["href"]).resolve()
            valid, errors, warns = cog_validate(str(path), quiet=True)
            if not valid or errors:
                problems.append(f"{item['id']}/{key}: not a valid COG: {errors}")
            if warns:
                out["cog_warnings"][f"{item['id']}/{key}"] = warns
            pixels[key], transform, crs = check_asset(item, key, path, problems)
            if key == "red":
                pixels["transform"], pixels["crs"] = transform, crs
            out["assets"] += 1

        # Footprint and bbox against pyproj.
        epsg = item["properties"]["proj:epsg"]
        to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
        ring = item["geometry"]["coordinates"][0]
        shape = item["assets"]["red"]["proj:shape"]
        for (x, y), got in zip(corners(pixels["transform"], shape), ring[:4]):
            lon, lat = to_ll.transform(x, y)
            err = max(abs(lon - got[0]), abs(lat - got[1]))
            out["max_footprint_error_deg"] = max(out["max_footprint_error_deg"], err)
        if ring[0] != ring[-1] or len(ring) != 5:
            problems.append(f"{item['id']}: footprint ring is not closed or not 4 corners")
        (x0, y1), _, (x1, y0), _ = corners(pixels["transform"], shape)
        bounds = to_ll.transform_bounds(x0, y0, x1, y1, densify_pts=21)
        err = max(abs(a - b) for a, b in zip(bounds, item["bbox"]))
        out["max_bbox_error_deg"] = max(out["max_bbox_error_deg"], err)

        # SCL statistics and consistency with the 10 m bands.
        scl = pixels["scl"]
        valid = scl != 0
        cover = 100.0 * np.isin(scl, CLOUD).sum() / max(int(valid.sum()), 1)
        out["cloud_cover"][item["id"]] = cover
        err = abs(cover - item["properties"]["eo:cloud_cover"])
        out["max_cloud_cover_error"] = max(out["max_cloud_cover_error"], err)
        up = np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)
        for key in BANDS:
            band = pixels[key]
            if np.any((band == 0) != (up == 0)):
                problems.append(f"{item['id']}/{key}: zeros differ from SCL no data")
        blue = reflectance(pixels["blue"])
        cloudy = np.isin(up, (8, 9))
        if cloudy.any() and blue[cloudy].min() < 0.25:
            problems.append(f"{item['id']}: a cloud pixel has blue {blue[cloudy].min():.3f}")
        clear = np.isin(up, (4, 5, 6))
        if clear.any() and blue[clear].max() > 0.2:
            problems.append(f"{item['id']}: a clear pixel has blue {blue[clear].max():.3f}")
        read[item["id"]] = (item, pixels)

    # Overlaps of items acquired together.
    ids = sorted(read)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            ia, pa = read[a]
            ib, pb = read[b]
            if ia["properties"]["datetime"][:10] != ib["properties"]["datetime"][:10]:
                continue
            if pa["crs"] == pb["crs"]:
                out["same_zone_overlaps"].append(same_zone(ia, pa, ib, pb))
            else:
                out["cross_zone_overlaps"].append(cross_zone(ia, pa, ib, pb))
    print(json.dumps(out, indent=1))


def same_zone(ia, pa, ib, pb):
    ta, tb = pa["transform"], pb["transform"]
    # Offsets of b's origin in a's pixels (both on aligned 10 m grids).
    dx = round((tb.c - ta.c) / ta.a)
    dy = round((tb.f - ta.f) / ta.e)
    h, w = pa["red"].shape
    x0, y0 = max(0, dx), max(0, dy)
    x1, y1 = min(w, dx + w), min(h, dy + h)
    pixels = max(0, x1 - x0) * max(0, y1 - y0)
    same = ia["properties"]["datetime"] == ib["properties"]["datetime"]
    identical = pixels > 0
    for key in BANDS:
        sa = pa[key][y0:y1, x0:x1]
        sb = pb[key][y0 - dy:y1 - dy, x0 - dx:x1 - dx]
        identical = identical and np.array_equal(sa, sb)
    sa = pa["scl"][y0 // 2:y1 // 2, x0 // 2:x1 // 2]
    sb = pb["scl"][(y0 - dy) // 2:(y1 - dy) // 2, (x0 - dx) // 2:(x1 - dx) // 2]
    identical = identical and np.array_equal(sa, sb)
    return {"a": ia["id"], "b": ib["id"], "same_datetime": same, "pixels": pixels,
            "identical": bool(identical)}


def cross_zone(ia, pa, ib, pb):
    def warp(array, transform):
        dst = np.zeros(pa["red"].shape, dtype=array.dtype)
        reproject(array, dst, src_transform=transform, src_crs=pb["crs"],
                  dst_transform=pa["transform"], dst_crs=pa["crs"], src_nodata=0,
                  dst_nodata=0, resampling=Resampling.nearest)
        return dst

    red_b = warp(pb["red"], pb["transform"])
    nir_b = warp(pb["nir"], pb["transform"])
    scl_b = warp(pb["scl"], pb["transform"] * Affine.scale(2))
    scl_a = np.repeat(np.repeat(pa["scl"], 2, axis=0), 2, axis=1)
    both = np.isin(scl_a, (4, 5, 6)) & np.isin(scl_b, (4, 5, 6))
    n = int(both.sum())
    result = {"a": ia["id"], "b": ib["id"], "clear_pixels": n, "ndvi_corr": None,
              "scl_agreement": None}
    if n > 10:
        def ndvi(red, nir):
            r, v = reflectance(red[both]), reflectance(nir[both])
            return (v - r) / (v + r)
        corr = np.corrcoef(ndvi(pa["red"], pa["nir"]), ndvi(red_b, nir_b))[0, 1]
        result["ndvi_corr"] = float(corr)
        result["scl_agreement"] = float((scl_a[both] == scl_b[both]).mean())
    return result


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    with rasterio.Env(**GDAL_ENV):
        main()
