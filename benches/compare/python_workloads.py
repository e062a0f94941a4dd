#!/usr/bin/env python3
"""The canonical workloads as an EO engineer writes them today: odc-stac + xarray +
dask, odc-algo's geomedian. The Python side of `benches/compare/run.py`.

    python_workloads.py COLLECTION WORKLOAD OUT_DIR [--scheduler threads|distributed]
                        [--bbox W,S,E,N]

WORKLOAD is w1 (NDVI time series in a lon/lat box → OUT_DIR/w1.csv), w2 (masked
median composite → OUT_DIR/w2.tif), w3 (per-pixel mean and std of NDVI in the box →
OUT_DIR/w3.tif), w4 (geomedian + MADs → OUT_DIR/w4.tif) or w5 (observations after
solar-day grouping → OUT_DIR/w5.csv). Chunks of 512 pixels, as the COG tiles.
"""

import argparse
import csv
import os
import time

import dask
import numpy as np
import odc.geo.xr  # noqa: F401  (the .odc accessor: write_cog)
import pystac
import xarray as xr
from odc.stac import load

CLOUDY = [0, 3, 8, 9, 10]  # SCL: no data, cloud shadow, medium/high cloud, cirrus
SCALE, OFFSET = 1e-4, -0.1
CHUNKS = {"x": 512, "y": 512}


def items_of(collection):
    col = pystac.Collection.from_file(collection)
    return list(col.get_items())


def reflectance(da):
    """DN → reflectance, no-data → NaN."""
    return (da.where(da != 0) * SCALE + OFFSET).astype("float32")


def clear(scl):
    return ~scl.isin(CLOUDY)


def inside(ds, bbox):
    """Pixels whose centre lies in the lon/lat box (odc-stac's bbox load also keeps
    the pixels the box only touches)."""
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(ds.odc.crs, 4326, always_xy=True)
    x, y = np.meshgrid(ds.x.values, ds.y.values)
    lon, lat = to_lonlat.transform(x, y)
    w, s, e, n = bbox
    keep = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    return xr.DataArray(keep, coords={"y": ds.y, "x": ds.x}, dims=("y", "x"))


def w1(items, bbox, out):
    ds = load(items, bands=["red", "nir", "scl"], bbox=bbox, chunks=CHUNKS,
              groupby="solar_day", resampling="nearest")
    ok = clear(ds.scl) & inside(ds, bbox)
    red, nir = reflectance(ds.red), reflectance(ds.nir)
    ndvi = ((nir - red) / (nir + red)).where(ok)
    mean = ndvi.mean(dim=("y", "x")).compute()
    count = ndvi.count(dim=("y", "x")).compute()
    with open(os.path.join(out, "w1.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["solar_day", "ndvi", "clear_pixels"])
        for t, v, c in zip(mean.time.values, mean.values, count.values):
            if c > 0:
                w.writerow([str(t)[:10], repr(float(v)), int(c)])


def w2(items, bbox, out):
    ds = load(items, bands=["blue", "green", "red", "nir", "scl"], chunks=CHUNKS,
              groupby="solar_day", resampling="nearest")
    ok = clear(ds.scl)
    bands = xr.Dataset({b: reflectance(ds[b]).where(ok) for b in ["red", "green", "blue", "nir"]})
    med = bands.chunk(time=-1).median(dim="time", skipna=True)
    med.to_array("band").odc.write_cog(os.path.join(out, "w2.tif"), overwrite=True)


def w3(items, bbox, out):
    ds = load(items, bands=["red", "nir", "scl"], bbox=bbox, chunks=CHUNKS,
              groupby="solar_day", resampling="nearest")
    red, nir = reflectance(ds.red), reflectance(ds.nir)
    ndvi = ((nir - red) / (nir + red)).where(clear(ds.scl))
    stats = xr.concat([ndvi.mean("time"), ndvi.std("time")], dim="band")
    stats.compute().odc.write_cog(os.path.join(out, "w3.tif"), overwrite=True)


def w4(items, bbox, out):
    from odc.algo import geomedian_with_mads

    ds = load(items, bands=["blue", "green", "red", "nir", "scl"], chunks=CHUNKS,
              groupby="solar_day", resampling="nearest")
    ok = clear(ds.scl)
    bands = xr.Dataset({b: reflectance(ds[b]).where(ok) for b in ["blue", "green", "red", "nir"]})
    gm = geomedian_with_mads(bands, compute_count=True, work_chunks=(512, 512))
    out_bands = ["blue", "green", "red", "nir", "smad", "emad", "bcmad"]
    # geomedian_with_mads keeps x/y but drops the CRS: put the input's back.
    result = gm[out_bands].to_array("band").astype("float32").compute()
    result.odc.assign_crs(ds.odc.crs).odc.write_cog(os.path.join(out, "w4.tif"), overwrite=True)


def w5(items, bbox, out):
    fused = load(items, bands=["red"], chunks=CHUNKS, groupby="solar_day")
    valid = (fused.red != 0).sum(dim=("y", "x")).compute()
    with open(os.path.join(out, "w5.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["solar_day", "valid_red_pixels"])
        for t, v in zip(valid.time.values, valid.values):
            w.writerow([str(t)[:10], int(v)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("collection")
    ap.add_argument("workload", choices=["w1", "w2", "w3", "w4", "w5"])
    ap.add_argument("out")
    ap.add_argument("--scheduler", choices=["threads", "distributed"], default="threads")
    ap.add_argument("--bbox", default=None, help="W,S,E,N for w1 and w3")
    ap.add_argument("--workers", type=int, default=1,
                    help="dask.distributed worker processes (--scheduler distributed)")
    ap.add_argument("--threads-per-worker", type=int, default=None,
                    help="threads of each worker (default: the cores)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bbox = [float(v) for v in a.bbox.split(",")] if a.bbox else None
    if a.collection.startswith(("http://", "https://")):
        # GDAL's /vsicurl/ as odc-stac users configure it for remote COGs (no
        # directory listing, merged consecutive ranges, HTTP/2 multiplexing).
        from odc.stac import configure_rio

        configure_rio(cloud_defaults=True)
    items = items_of(a.collection)
    run = globals()[a.workload]
    if a.scheduler == "distributed":
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=a.workers,
                          threads_per_worker=a.threads_per_worker or os.cpu_count(),
                          processes=True, dashboard_address=None) as cluster, Client(cluster):
            # The workload alone, without imports and the cluster's start-up.
            start = time.perf_counter()
            run(items, bbox, a.out)
            print(f"ELAPSED {time.perf_counter() - start:.3f}", flush=True)
    else:
        with dask.config.set(scheduler="threads"):
            run(items, bbox, a.out)


if __name__ == "__main__":
    main()
