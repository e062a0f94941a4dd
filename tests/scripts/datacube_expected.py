#!/usr/bin/env python3
"""Expected values for datacube-table tests, computed with GDAL (rasterio) and numpy.

    datacube_expected.py SPEC.json

SPEC.json (written by the Rust test):
  {"catalog": "/path/collection.json", "bands": ["red", "nir", "scl"],
   "grid": {"crs": "EPSG:32633", "transform": [a,b,c,d,e,f], "width": W, "height": H,
            "chunk_width": CW, "chunk_height": CH},
   "resampling": "nearest" | "bilinear", "group_by": "solar_day" | "none",
   "nodata": {"red": 0, ...}, "mask_band": "scl", "mask_classes": [0,3,8,9,10],
   "window": [col0, row0, col1, row1] | null}

Every item's band is warped onto the table grid by GDAL (rasterio.warp.reproject,
exact transformer), items are grouped per collection and solar day (UTC + centre
longitude / 15 h) and fused first-valid-wins in (datetime, id) order. Printed JSON,
one entry per observation in time order:
  {"datetime": iso, "items": [...], "bands": {name: {"count": n, "sum": s}},
   "ndvi": {"count": n, "sum": s} | null, "chunks": [[cx, cy, valid_red_pixels], ...]}
Only pixels inside `window` (grid pixel coordinates) count, when given.
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.warp import Resampling, reproject
from affine import Affine


def load_items(catalog: Path):
    doc = json.loads(catalog.read_text())
    items = []
    if doc.get("type") == "Feature":
        return [(doc, catalog)]
    for link in doc.get("links", []):
        href = (catalog.parent / link["href"]).resolve()
        if link.get("rel") == "item":
            items.append((json.loads(href.read_text()), href))
        elif link.get("rel") == "child":
            items.extend(load_items(href))
    return items


def asset_for(item, band):
    assets = item["assets"]
    for key, a in assets.items():
        if key.lower() == band.lower():
            return a
    for key, a in assets.items():
        for b in a.get("eo:bands", []) + a.get("bands", []):
            if band.lower() in (str(b.get("common_name", "")).lower(),
                                str(b.get("eo:common_name", "")).lower(),
                                str(b.get("name", "")).lower()):
                return a
    return None


def parse_time(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)


def solar_day(item):
    t = parse_time(item["properties"]["datetime"])
    w, _, e, _ = item["bbox"][:4]
    lon = (w + e) / 2 if w <= e else ((w + e + 360) / 2 + 180) % 360 - 180
    return (t + timedelta(hours=lon / 15)).date()


def main():
    spec = json.loads(Path(sys.argv[1]).read_text())
    catalog = Path(spec["catalog"])
    g = spec["grid"]
    dst_crs = CRS.from_user_input(g["crs"])
    dst_transform = Affine(*g["transform"])
    shape = (g["height"], g["width"])
    method = {"nearest": Resampling.nearest, "bilinear": Resampling.bilinear}[spec["resampling"]]
    bands = spec["bands"]
    nodata = spec["nodata"]

    items = load_items(catalog)
    items.sort(key=lambda p: (parse_time(p[0]["properties"]["datetime"]),
                              p[0].get("collection") or "", p[0]["id"]))
    groups = []
    index = {}
    for item, path in items:
        key = (item.get("collection"), solar_day(item)) if spec["group_by"] == "solar_day" else None
        if key is not None and key in index:
            groups[index[key]].append((item, path))
        else:
            if key is not None:
                index[key] = len(groups)
            groups.append([(item, path)])

    window = spec.get("window")
    inside = np.zeros(shape, dtype=bool)
    if window:
        c0, r0, c1, r1 = window
        inside[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
    else:
        inside[:, :] = True

    out = []
    for group in groups:
        fused = {}
        for band in bands:
            nd = nodata[band]
            acc = None
            for item, path in group:
                a = asset_for(item, band)
                if a is None:
                    continue
                href = (path.parent / a["href"]).resolve()
                with rasterio.open(href) as src:
                    dtype = src.dtypes[0]
                    tmp = np.full(shape, nd, dtype=dtype)
                    reproject(
                        source=rasterio.band(src, 1),
                        destination=tmp,
                        src_nodata=src.nodata,
                        dst_transform=dst_transform,
                        dst_crs=dst_crs,
                        dst_nodata=nd,
                        resampling=method,
                        tolerance=0,
                    )
                if acc is None:
                    acc = np.full(shape, nd, dtype=tmp.dtype)
                fill = (acc == nd) & (tmp != nd)
                acc[fill] = tmp[fill]
            if acc is None:
                acc = np.full(shape, nd, dtype=np.float64)
            fused[band] = acc
        entry = {
            "datetime": group[0][0]["properties"]["datetime"],
            "items": [it["id"] for it, _ in group],
            "bands": {},
        }
        for band in bands:
            v = fused[band]
            valid = (v != nodata[band]) & inside
            entry["bands"][band] = {"count": int(valid.sum()),
                                    "sum": float(v[valid].astype(np.float64).sum())}
        if "red" in fused and "nir" in fused:
            red = fused["red"].astype(np.float64)
            nir = fused["nir"].astype(np.float64)
            ok = (fused["red"] != nodata["red"]) & (fused["nir"] != nodata["nir"]) & inside
            mb = spec.get("mask_band")
            if mb in fused:
                ok &= ~np.isin(fused[mb], spec.get("mask_classes", []))
            # reflectance = DN * 1e-4 - 0.1 (the catalogue's raster:bands)
            r = red * 1e-4 - 0.1
            n = nir * 1e-4 - 0.1
            ok &= (n + r) != 0
            ndvi = (n[ok] - r[ok]) / (n[ok] + r[ok])
            entry["ndvi"] = {"count": int(ok.sum()), "sum": float(ndvi.sum())}
        else:
            entry["ndvi"] = None
        chunks = []
        cw, ch = g["chunk_width"], g["chunk_height"]
        first = bands[0]
        valid = (fused[first] != nodata[first]) & inside
        for cy in range(-(-shape[0] // ch)):
            for cx in range(-(-shape[1] // cw)):
                n = int(valid[cy * ch:(cy + 1) * ch, cx * cw:(cx + 1) * cw].sum())
                if n:
                    chunks.append([cx, cy, n])
        entry["chunks"] = chunks
        out.append(entry)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
