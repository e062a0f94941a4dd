#!/usr/bin/env python3
"""The raw limit of a workload: the time just to read and inflate every tile of the
COGs it needs, on all cores, with nothing else (no predictor, no decode into arrays,
no compute).

    raw_limit.py COLLECTION --bands blue,green,red,nir,scl [--threads N] [--runs 3]

Tile offsets come from tifffile; the bytes are read with plain file reads and
inflated with zlib (which releases the GIL) on a thread pool. Prints the median wall
time, the compressed and inflated bytes, and the inflate rate.
"""

import argparse
import json
import os
import statistics
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import tifffile


def tiles_of(path):
    """(offset, length) of every tile of the full-resolution image."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        return list(zip(page.dataoffsets, page.databytecounts))


def work_items(collection, bands):
    base = os.path.dirname(collection)
    col = json.load(open(collection))
    out = []
    for link in col["links"]:
        if link["rel"] != "item":
            continue
        item_path = os.path.normpath(os.path.join(base, link["href"]))
        item = json.load(open(item_path))
        for b in bands:
            href = item["assets"][b]["href"]
            out.append(os.path.normpath(os.path.join(os.path.dirname(item_path), href)))
    return out


def read_and_inflate(path, tiles):
    packed = unpacked = 0
    with open(path, "rb") as f:
        for off, n in tiles:
            f.seek(off)
            data = f.read(n)
            packed += len(data)
            unpacked += len(zlib.decompress(data))
    return packed, unpacked


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("collection")
    ap.add_argument("--bands", default="blue,green,red,nir,scl")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    files = work_items(a.collection, a.bands.split(","))
    layout = [(p, tiles_of(p)) for p in files]
    times = []
    for _ in range(a.runs):
        start = time.perf_counter()
        with ThreadPoolExecutor(a.threads) as pool:
            sizes = list(pool.map(lambda pt: read_and_inflate(*pt), layout))
        times.append(time.perf_counter() - start)
    packed = sum(s[0] for s in sizes)
    unpacked = sum(s[1] for s in sizes)
    wall = statistics.median(times)
    result = {"files": len(files), "seconds": wall, "compressed_bytes": packed,
              "inflated_bytes": unpacked, "inflated_mib_per_s": unpacked / wall / 2**20}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{len(files)} files, {packed / 2**20:.0f} MiB compressed -> "
              f"{unpacked / 2**20:.0f} MiB in {wall:.2f} s "
              f"({result['inflated_mib_per_s']:.0f} MiB/s, {a.threads} threads)")


if __name__ == "__main__":
    main()
