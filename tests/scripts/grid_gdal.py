#!/usr/bin/env python3
"""Reference results for Swath's grid crate (tests/grid): PROJ via pyproj, GDAL's
warper via the libgdal bundled with rasterio.

    grid_gdal.py versions
        -> {"gdal": "3.10.3", "proj": "9.5.1", "pyproj": "3.7.2", "rasterio": "1.4.4"}

    grid_gdal.py project < {"cases": [{"src": "EPSG:32633", "dst": "EPSG:4326",
                                       "points": [[x, y], ...]}, ...]}
        -> {"cases": [[[x, y], ...], ...]}  (lon/lat in degrees, x = lon; null = failed)

    grid_gdal.py bounds < {"cases": [{"src": ..., "dst": ..., "bounds": [l, b, r, t]}]}
        -> {"cases": [[l, b, r, t], ...]}  (pyproj transform_bounds, 21 points per edge)

    grid_gdal.py warp < {"src": "in.tif", "out": "out.bin",
                         "dst_epsg": 32634, "dst_transform": [a, b, c, d, e, f],
                         "width": W, "height": H, "dtype": "uint16",
                         "resampling": "nearest" | "bilinear",
                         "error_threshold": 0.125, "src_nodata": 0, "dst_nodata": 0,
                         "overview": "NONE" | "AUTO" | 0, 1, ...}
        -> writes the destination band row-major, little-endian, to "out" and prints
           {"kernel_windows": [[src_xoff, src_yoff, src_w, src_h,
                                dst_xoff, dst_yoff, dst_w, dst_h], ...],
            "overviews": [2, 4, ...]}
           (GDAL's warp chunks from its debug log; the source's overview factors)
        {"jobs": [spec, ...]} runs several warps -> {"jobs": [result, ...]}

rasterio.warp.reproject() cannot pass gdalwarp's -et (error threshold) or -ovr, so
`warp` calls GDALWarp() (the gdalwarp library entry point) through ctypes on the very
libgdal rasterio loaded, with a MEM destination dataset. Everything else is what
rasterio.warp.reproject does: -r, -srcnodata, -dstnodata, INIT_DEST=NO_DATA.
"""

import ctypes
import glob
import json
import logging
import math
import os
import re
import sys

import numpy as np
import pyproj
import rasterio
from rasterio.crs import CRS

GDT = {
    "uint8": 1,
    "uint16": 2,
    "int16": 3,
    "uint32": 4,
    "int32": 5,
    "float32": 6,
    "float64": 7,
    "int8": 14,
}


def libgdal():
    libs = os.path.join(os.path.dirname(rasterio.__file__), os.pardir, "rasterio.libs")
    paths = glob.glob(os.path.join(libs, "libgdal*.so*"))
    if not paths:
        raise SystemExit("libgdal not found next to rasterio in " + libs)
    lib = ctypes.CDLL(paths[0])
    vp, cp, ci, cd = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_double
    sig = {
        "GDALAllRegister": (None, []),
        "GDALGetDriverByName": (vp, [cp]),
        "GDALCreate": (vp, [vp, cp, ci, ci, ci, ci, vp]),
        "GDALOpen": (vp, [cp, ci]),
        "GDALClose": (None, [vp]),
        "GDALSetGeoTransform": (ci, [vp, ctypes.POINTER(cd)]),
        "GDALSetProjection": (ci, [vp, cp]),
        "GDALGetRasterBand": (vp, [vp, ci]),
        "GDALRasterIO": (ci, [vp, ci, ci, ci, ci, ci, vp, ci, ci, ci, ci, ci]),
        "GDALWarpAppOptionsNew": (vp, [ctypes.POINTER(cp), vp]),
        "GDALWarpAppOptionsFree": (None, [vp]),
        "GDALWarp": (vp, [cp, vp, ci, ctypes.POINTER(vp), vp, ctypes.POINTER(ci)]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


def versions():
    return {
        "gdal": rasterio.__gdal_version__,
        "proj": pyproj.proj_version_str,
        "pyproj": pyproj.__version__,
        "rasterio": rasterio.__version__,
    }


def project(spec):
    out = []
    for case in spec["cases"]:
        t = pyproj.Transformer.from_crs(case["src"], case["dst"], always_xy=True)
        xs = [p[0] for p in case["points"]]
        ys = [p[1] for p in case["points"]]
        tx, ty = t.transform(xs, ys, errcheck=False)
        out.append(
            [
                [x, y] if math.isfinite(x) and math.isfinite(y) else None
                for x, y in zip(tx, ty)
            ]
        )
    return {"cases": out}


def bounds(spec):
    out = []
    for case in spec["cases"]:
        t = pyproj.Transformer.from_crs(case["src"], case["dst"], always_xy=True)
        out.append(list(t.transform_bounds(*case["bounds"], densify_pts=21)))
    return {"cases": out}


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def fmt(v):
    if isinstance(v, str):
        return v
    return "nan" if isinstance(v, float) and math.isnan(v) else repr(v)


def warp(spec):
    lib = libgdal()
    capture = Capture()
    logger = logging.getLogger("rasterio")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(capture)
    dtype = np.dtype(spec["dtype"])
    w, h = spec["width"], spec["height"]
    a, b, c, d, e, f = spec["dst_transform"]
    with rasterio.Env(CPL_DEBUG=True):
        lib.GDALAllRegister()
        src = lib.GDALOpen(spec["src"].encode(), 0)
        if not src:
            raise SystemExit("GDALOpen failed for " + spec["src"])
        drv = lib.GDALGetDriverByName(b"MEM")
        dst = lib.GDALCreate(drv, b"", w, h, 1, GDT[spec["dtype"]], None)
        lib.GDALSetGeoTransform(dst, (ctypes.c_double * 6)(c, a, b, f, d, e))
        wkt = CRS.from_epsg(spec["dst_epsg"]).to_wkt()
        lib.GDALSetProjection(dst, wkt.encode())
        args = ["-r", spec["resampling"], "-et", repr(float(spec["error_threshold"]))]
        args += ["-ovr", str(spec.get("overview", "NONE"))]
        args += ["-wo", "INIT_DEST=NO_DATA"]
        if spec.get("src_nodata") is not None:
            args += ["-srcnodata", fmt(spec["src_nodata"])]
        if spec.get("dst_nodata") is not None:
            args += ["-dstnodata", fmt(spec["dst_nodata"])]
        argv = (ctypes.c_char_p * (len(args) + 1))(*[s.encode() for s in args], None)
        opts = lib.GDALWarpAppOptionsNew(argv, None)
        err = ctypes.c_int(0)
        out = lib.GDALWarp(None, dst, 1, (ctypes.c_void_p * 1)(src), opts, ctypes.byref(err))
        lib.GDALWarpAppOptionsFree(opts)
        if not out or err.value:
            raise SystemExit("GDALWarp failed: " + "\n".join(capture.lines[-20:]))
        buf = np.empty((h, w), dtype=dtype)
        band = lib.GDALGetRasterBand(dst, 1)
        lib.GDALRasterIO(band, 0, 0, 0, w, h, buf.ctypes.data, w, h, GDT[spec["dtype"]], 0, 0)
        lib.GDALClose(dst)
        lib.GDALClose(src)
    logger.removeHandler(capture)
    buf.astype(dtype.newbyteorder("<")).tofile(spec["out"])
    windows = []
    pattern = re.compile(r"Src=(\d+),(\d+),(\d+)x(\d+) Dst=(\d+),(\d+),(\d+)x(\d+)")
    for line in capture.lines:
        if "GDALWarpKernel" in line:
            m = pattern.search(line)
            if m:
                windows.append([int(g) for g in m.groups()])
    with rasterio.open(spec["src"]) as ds:
        overviews = ds.overviews(1)
    return {"kernel_windows": windows, "overviews": overviews}


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "versions":
        result = versions()
    elif cmd == "project":
        result = project(json.load(sys.stdin))
    elif cmd == "bounds":
        result = bounds(json.load(sys.stdin))
    elif cmd == "warp":
        spec = json.load(sys.stdin)
        if "jobs" in spec:
            result = {"jobs": [warp(job) for job in spec["jobs"]]}
        else:
            result = warp(spec)
    else:
        raise SystemExit(__doc__)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
