#!/usr/bin/env python3
"""Run the canonical workloads with Swath and with the Python stack on the same
GDAL-written catalogue, alternating, and print per workload the median wall time of
each side, the ratio, the peak RSS of each (whole process tree) and whether the
results agree.

    run.py [--size 1024] [--height H] [--scenes 24] [--runs 3] [--workloads w1,w2,w3,w4,w5]
           [--scheduler threads|distributed] [--swath PATH] [--catalogs DIR]

Swath runs `swath --threads N -f benches/compare/sql/wK.sql` (the `fast` build);
Python runs `python_workloads.py` (odc-stac, xarray, dask, odc-algo). Each writes its
result (CSV or COG) into its own directory and the two are compared: W1/W5 row by row,
W2/W3/W4 pixel by pixel where both have a value (max and 99th percentile of the abs
difference, and how many values only one side has).

Python: the test venv has the whole stack (`PY=$(scripts/py-env)`, tests/requirements.txt).
"""

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
import rasterio
from rasterio.windows import from_bounds

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def measure(cmd, env=None):
    """Run `cmd`; wall seconds and the peak RSS (bytes) of its process tree, sampled
    every 20 ms."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc = psutil.Process(p.pid)
    peak = 0
    while p.poll() is None:
        try:
            procs = [proc] + proc.children(recursive=True)
            rss = 0
            for q in procs:
                try:
                    rss += q.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = p.communicate()
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{err.decode()[-3000:]}")
    return wall, peak


def side_bench_args(ap, size=2048, scenes=24, runs=3):
    """The arguments the W2 side benchmarks share (serve.py, dashboard.py)."""
    ap.add_argument("--size", type=int, default=size)
    ap.add_argument("--scenes", type=int, default=scenes)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--swath", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "fast", "swath"))
    ap.add_argument("--catalogs", default=os.path.expanduser("~/.cache/swath/bench-catalogs"))
    ap.add_argument("--json", help="also write the results here")


def w2_sql(a, out):
    """Make (or reuse) the `--size`² × `--scenes` catalogue; its directory and W2's
    SQL over it, writing into `out`."""
    cat_dir = os.path.join(a.catalogs, f"{a.size}x{a.scenes}")
    subprocess.run([sys.executable, os.path.join(HERE, "make_catalog.py"), cat_dir,
                    "--size", str(a.size), "--height", str(a.size),
                    "--scenes", str(a.scenes)], check=True)
    collection = os.path.join(cat_dir, "collection.json")
    west, south, east, north = box(collection)
    sql = open(os.path.join(HERE, "sql", "w2.sql")).read().format(
        collection=collection, out=out, west=west, south=south, east=east, north=north)
    return cat_dir, sql


def box(collection):
    """The middle quarter of the collection's lon/lat extent."""
    b = json.load(open(collection))["extent"]["spatial"]["bbox"][0]
    w, h = b[2] - b[0], b[3] - b[1]
    return [b[0] + w * 0.375, b[1] + h * 0.375, b[0] + w * 0.625, b[1] + h * 0.625]


def read_csv(path, key, value):
    with open(path) as f:
        return {r[key]: float(r[value]) for r in csv.DictReader(f)}


def compare_csv(a, b, value):
    """Rows by solar day: max and 99th percentile of |a - b|, rows compared, rows on
    one side only."""
    ra, rb = read_csv(a, "solar_day", value), read_csv(b, "solar_day", value)
    common = sorted(set(ra) & set(rb))
    d = np.array([abs(ra[k] - rb[k]) for k in common])
    if d.size == 0:
        return math.nan, math.nan, 0, len(set(ra) ^ set(rb))
    return float(d.max()), float(np.percentile(d, 99)), len(common), len(set(ra) ^ set(rb))


def compare_cog(a, b):
    """Max abs difference where both have values, over the overlap of the two."""
    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        bounds = (
            max(ra.bounds.left, rb.bounds.left),
            max(ra.bounds.bottom, rb.bounds.bottom),
            min(ra.bounds.right, rb.bounds.right),
            min(ra.bounds.top, rb.bounds.top),
        )
        wa = from_bounds(*bounds, ra.transform).round_offsets().round_lengths()
        wb = from_bounds(*bounds, rb.transform).round_offsets().round_lengths()
        x = ra.read(window=wa, masked=True).astype("float64").filled(np.nan)
        y = rb.read(window=wb, masked=True).astype("float64").filled(np.nan)
    n = min(x.shape[0], y.shape[0])
    x, y = x[:n], y[:n]
    both = np.isfinite(x) & np.isfinite(y)
    one = np.isfinite(x) ^ np.isfinite(y)
    if not both.any():
        return math.nan, math.nan, 0, int(one.sum())
    d = np.abs(x[both] - y[both])
    return float(d.max()), float(np.percentile(d, 99)), int(both.sum()), int(one.sum())


OUTPUT = {"w1": "w1.csv", "w2": "w2.tif", "w3": "w3.tif", "w4": "w4.tif", "w5": "w5.csv"}
VALUE = {"w1": "ndvi", "w5": "valid_red_pixels"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="catalogue width (and height)")
    ap.add_argument("--height", type=int, default=None, help="catalogue height, if not --size")
    ap.add_argument("--scenes", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5")
    ap.add_argument("--scheduler", choices=["threads", "distributed"], default="threads")
    ap.add_argument("--swath", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "fast", "swath"))
    ap.add_argument("--catalogs", default=os.path.expanduser("~/.cache/swath/bench-catalogs"))
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    threads = os.cpu_count()
    height = a.height or a.size
    shape = f"{a.size}" if height == a.size else f"{a.size}x{height}"
    cat_dir = os.path.join(a.catalogs, f"{shape}x{a.scenes}")
    subprocess.run([sys.executable, os.path.join(HERE, "make_catalog.py"), cat_dir,
                    "--size", str(a.size), "--height", str(height),
                    "--scenes", str(a.scenes)], check=True)
    collection = os.path.join(cat_dir, "collection.json")
    west, south, east, north = box(collection)
    results = []
    for w in a.workloads.split(","):
        out_s = tempfile.mkdtemp(prefix=f"swath-{w}-")
        out_p = tempfile.mkdtemp(prefix=f"python-{w}-")
        sql = open(os.path.join(HERE, "sql", f"{w}.sql")).read().format(
            collection=collection, out=out_s, west=west, south=south, east=east, north=north)
        sql_path = os.path.join(out_s, f"{w}.sql")
        with open(sql_path, "w") as f:
            f.write(sql)
        swath_cmd = [a.swath, "--threads", str(threads), "-f", sql_path]
        py_cmd = [sys.executable, os.path.join(HERE, "python_workloads.py"), collection, w,
                  out_p, "--scheduler", a.scheduler, "--bbox", f"{west},{south},{east},{north}"]
        times = {"swath": [], "python": []}
        peaks = {"swath": [], "python": []}
        for r in range(a.runs):
            order = [("swath", swath_cmd), ("python", py_cmd)]
            if r % 2:
                order.reverse()
            for side, cmd in order:
                wall, peak = measure(cmd)
                times[side].append(wall)
                peaks[side].append(peak)
        a_out, b_out = os.path.join(out_s, OUTPUT[w]), os.path.join(out_p, OUTPUT[w])
        if OUTPUT[w].endswith(".csv"):
            diff, p99, n, one = compare_csv(a_out, b_out, VALUE[w])
        else:
            diff, p99, n, one = compare_cog(a_out, b_out)
        row = {
            "workload": w,
            "swath_s": statistics.median(times["swath"]),
            "python_s": statistics.median(times["python"]),
            "swath_peak_mib": max(peaks["swath"]) / 2**20,
            "python_peak_mib": max(peaks["python"]) / 2**20,
            "max_abs_diff": diff,
            "p99_abs_diff": p99,
            "compared": n,
            "one_side_only": one,
        }
        row["speedup"] = row["python_s"] / row["swath_s"]
        results.append(row)
        print(f"{w}: swath {row['swath_s']:.2f} s, python {row['python_s']:.2f} s "
              f"({row['speedup']:.1f}x); peak RSS swath {row['swath_peak_mib']:.0f} MiB, "
              f"python {row['python_peak_mib']:.0f} MiB; |diff| max {diff:.3g}, p99 {p99:.3g} "
              f"over {n} values, {one} on one side only",
              flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"size": a.size, "height": height, "scenes": a.scenes, "runs": a.runs,
                       "scheduler": a.scheduler, "threads": threads, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
