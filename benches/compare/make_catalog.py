#!/usr/bin/env python3
"""Write a benchmark catalogue with GDAL (rasterio's COG driver), not with Swath.

    make_catalog.py OUT_DIR --size 1024 [--height 2048] --scenes 24 [--seed 1]

One Sentinel-2-like granule on EPSG:32633 (10 m), `--scenes` dates every 5 days from
2023-03-01: blue, green, red, nir (uint16 DN, reflectance = DN * 1e-4 - 0.1, nodata 0,
10 m) and scl (uint8, 20 m, nodata 0), each a COG with DEFLATE + predictor 2 and
512x512 tiles; a STAC collection (`OUT_DIR/collection.json`) linking one item per date
(`OUT_DIR/items/<id>.json`, assets with proj:*, raster:bands, eo:bands), readable by
Swath and by odc-stac alike.

The scene: fields with their own seasonal NDVI curves, a river, per-pixel noise;
clouds (SCL 8/9) from a smooth random field with shadows (SCL 3) beside them; every
fifth scene has a no-data wedge (an orbit's swath edge). numpy's seeded generator
makes it deterministic; a stamp file (`bench-catalog.json`) lets a second call with the
same arguments reuse the directory.
"""

import argparse
import datetime as dt
import json
import math
import os
import sys

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import Affine

EPSG = 32633
X0, Y0 = 500_000.0, 5_000_000.0
BANDS = [
    # key, S2 band, title, centre wavelength (µm)
    ("blue", "B02", "Blue (band 2) - 10m", 0.490),
    ("green", "B03", "Green (band 3) - 10m", 0.560),
    ("red", "B04", "Red (band 4) - 10m", 0.665),
    ("nir", "B08", "NIR 1 (band 8) - 10m", 0.842),
]
FORMAT = 1


def smooth_noise(rng, shape, cell):
    """A smooth random field in [0, 1): bilinear upsampling of a coarse grid."""
    h, w = shape
    gh, gw = h // cell + 2, w // cell + 2
    g = rng.random((gh, gw))
    y = np.arange(h) / cell
    x = np.arange(w) / cell
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a = g[y0][:, x0]
    b = g[y0][:, x0 + 1]
    c = g[y0 + 1][:, x0]
    d = g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def landscape(rng, h, w):
    """Per-pixel field parameters: peak day, amplitude, base NDVI, water mask."""
    cell = 64
    fields_y = (np.arange(h) // cell)[:, None]
    fields_x = (np.arange(w) // (cell + 16))[None, :]
    field = fields_y * 1009 + fields_x
    ids = np.unique(field)
    peak = dict(zip(ids, rng.uniform(120, 240, ids.size)))
    amp = dict(zip(ids, rng.uniform(0.2, 0.7, ids.size)))
    base = dict(zip(ids, rng.uniform(0.08, 0.2, ids.size)))
    lut = np.vectorize(lambda k, m: m[k])
    yy, xx = np.mgrid[0:h, 0:w]
    river = np.abs(xx - w * 0.4 - 40 * np.sin(yy / 90.0)) < max(3, w // 200)
    return lut(field, peak), lut(field, amp), lut(field, base), river


def scene(rng, h, w, doy, params, wedge):
    """Reflectances (4, h, w) and the 10 m class map for one date."""
    peak, amp, base, river = params
    ndvi = base + amp * np.exp(-(((doy - peak) / 35.0) ** 2))
    red = 0.14 * (1 - ndvi) + 0.02
    nir = red * (1 + ndvi) / (1 - ndvi)
    blue = red * 0.75 + 0.01
    green = red * 0.9 + 0.03
    refl = np.stack([blue, green, red, nir]).astype(np.float32)
    refl += rng.normal(0, 0.004, refl.shape).astype(np.float32)
    refl[:, river] = np.array([0.05, 0.04, 0.025, 0.015], np.float32)[:, None]
    cls = np.where(river, 6, np.where(ndvi > 0.35, 4, 5)).astype(np.uint8)
    # Clouds: a smooth field over a per-date threshold; shadows shifted beside them.
    cover = rng.uniform(0.0, 0.5)
    field = smooth_noise(rng, (h, w), max(32, w // 8))
    cloud = field > 1.0 - cover
    core = field > 1.0 - cover * 0.6
    shift = max(4, w // 64)
    shadow = np.zeros_like(cloud)
    shadow[shift:, shift:] = cloud[:-shift, :-shift]
    shadow &= ~cloud
    refl[:, shadow] *= 0.45
    bright = np.array([0.45, 0.46, 0.48, 0.52], np.float32)[:, None]
    refl[:, cloud] = bright + refl[:, cloud] * 0.2
    cls[shadow] = 3
    cls[cloud] = 8
    cls[core] = 9
    if wedge:
        yy, xx = np.mgrid[0:h, 0:w]
        edge = xx + yy < w * 0.35
        cls[edge] = 0
        refl[:, edge] = np.nan
    return refl, cls


def dn(refl):
    v = np.round((refl + 0.1) / 1e-4)
    v = np.where(np.isnan(v), 0, np.clip(v, 1, 65535))
    return v.astype(np.uint16)


def write_cog(path, array, transform, nodata):
    profile = dict(
        driver="COG",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype,
        crs=f"EPSG:{EPSG}",
        transform=transform,
        nodata=nodata,
        compress="DEFLATE",
        predictor=2,
        blocksize=512,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)


def item_json(item_id, when, h, w, bbox, geometry, cloud_cover):
    t10 = [10.0, 0.0, X0, 0.0, -10.0, Y0]
    t20 = [20.0, 0.0, X0, 0.0, -20.0, Y0]
    assets = {}
    for key, band, title, wl in BANDS:
        assets[key] = {
            "href": f"../data/{item_id}/{key}.tif",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "title": title,
            "eo:bands": [{"name": key, "common_name": key, "center_wavelength": wl}],
            "gsd": 10,
            "proj:shape": [h, w],
            "proj:transform": t10,
            "raster:bands": [
                {"nodata": 0, "data_type": "uint16", "spatial_resolution": 10,
                 "scale": 0.0001, "offset": -0.1}
            ],
            "roles": ["data", "reflectance"],
        }
    assets["scl"] = {
        "href": f"../data/{item_id}/scl.tif",
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "title": "Scene classification map (SCL)",
        "proj:shape": [h // 2, w // 2],
        "proj:transform": t20,
        "raster:bands": [{"nodata": 0, "data_type": "uint8", "spatial_resolution": 20}],
        "roles": ["data"],
    }
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": item_id,
        "collection": "bench-s2",
        "geometry": geometry,
        "bbox": bbox,
        "properties": {
            "datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "platform": "sentinel-2a",
            "eo:cloud_cover": cloud_cover,
            "proj:epsg": EPSG,
            "proj:code": f"EPSG:{EPSG}",
        },
        "links": [
            {"rel": "self", "href": f"./{item_id}.json", "type": "application/geo+json"},
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
            {"rel": "root", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": assets,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=1024, help="width (and height) in pixels")
    ap.add_argument("--height", type=int, default=None, help="height, if not --size")
    ap.add_argument("--scenes", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    w, h = a.size, a.height or a.size
    if any(v % 512 or not 512 <= v <= 16384 for v in (w, h)) or not 1 <= a.scenes <= 366:
        sys.exit("--size and --height must be multiples of 512 within 512..16384, --scenes 1..366")
    stamp_path = os.path.join(a.out, "bench-catalog.json")
    stamp = {"format": FORMAT, "size": a.size, "scenes": a.scenes, "seed": a.seed}
    if h != w:
        stamp["height"] = h
    if os.path.exists(stamp_path) and json.load(open(stamp_path)) == stamp:
        print(f"reusing {a.out}")
        return
    os.makedirs(os.path.join(a.out, "items"), exist_ok=True)
    rng = np.random.default_rng(a.seed)
    params = landscape(rng, h, w)
    to_lonlat = Transformer.from_crs(EPSG, 4326, always_xy=True)
    corners = [(X0, Y0), (X0 + 10 * w, Y0), (X0 + 10 * w, Y0 - 10 * h), (X0, Y0 - 10 * h)]
    ring = [list(to_lonlat.transform(x, y)) for x, y in corners]
    ring.append(ring[0])
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    bbox = [min(lons), min(lats), max(lons), max(lats)]
    geometry = {"type": "Polygon", "coordinates": [ring]}
    t10 = Affine(10, 0, X0, 0, -10, Y0)
    t20 = Affine(20, 0, X0, 0, -20, Y0)
    start = dt.datetime(2023, 3, 1, 10, 0, 0, tzinfo=dt.timezone.utc)
    links = []
    times = []
    for i in range(a.scenes):
        when = start + dt.timedelta(days=5 * i)
        doy = when.timetuple().tm_yday
        name = f"{w}" if h == w else f"{w}x{h}"
        item_id = f"BENCH_{name}_{when:%Y%m%d}"
        refl, cls = scene(rng, h, w, doy, params, wedge=(i % 5 == 4))
        data = os.path.join(a.out, "data", item_id)
        os.makedirs(data, exist_ok=True)
        bands = dn(refl)
        for b, (key, *_rest) in enumerate(BANDS):
            write_cog(os.path.join(data, f"{key}.tif"), bands[b], t10, 0)
        scl = cls[::2, ::2]
        write_cog(os.path.join(data, "scl.tif"), scl, t20, 0)
        valid = scl > 0
        cc = float(np.isin(scl, (8, 9, 10))[valid].mean() * 100) if valid.any() else 0.0
        item = item_json(item_id, when, h, w, bbox, geometry, round(cc, 4))
        with open(os.path.join(a.out, "items", f"{item_id}.json"), "w") as f:
            json.dump(item, f, indent=1)
        links.append({"rel": "item", "href": f"./items/{item_id}.json", "type": "application/geo+json"})
        times.append(item["properties"]["datetime"])
    collection = {
        "type": "Collection",
        "id": "bench-s2",
        "stac_version": "1.0.0",
        "description": f"Benchmark catalogue written by GDAL: {a.scenes} scenes of {w}x{h} pixels, seed {a.seed}.",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [[times[0], times[-1]]]},
        },
        "links": [{"rel": "root", "href": "./collection.json", "type": "application/json"}] + links,
    }
    with open(os.path.join(a.out, "collection.json"), "w") as f:
        json.dump(collection, f, indent=1)
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    print(f"wrote {a.scenes} items of {w}x{h} pixels to {a.out}")


if __name__ == "__main__":
    main()
