#!/usr/bin/env python3
"""Describe a GeoTIFF exactly as GDAL (via rasterio) reads it, as one JSON object.

    gdal_describe.py FILE [--validate-cog]

The output is the reference the Rust GeoTIFF reader is compared against
(see tests/fixtures/geotiff/README.md).  Keys, in order:

    width, height, count, dtype, nbits, nodata, crs_epsg, transform,
    area_or_point, block, tiled, compress, interleave, predictor, scales,
    offsets, overviews, has_internal_mask, pixels, overview_pixels, mask
    (+ "cog" with --validate-cog)

Notes on how each value is obtained:
  * transform: rasterio Affine order [a, b, c, d, e, f] with
    x = c + a*col + b*row, y = f + d*col + e*row, as GDAL reports it.  For
    AREA_OR_POINT=Point files GDAL (GTIFF_POINT_GEO_IGNORE=FALSE, the default)
    already shifts the tie point by half a pixel, so this is the corner-based
    transform.
  * compress: IMAGE_STRUCTURE COMPRESSION lower-cased; GDAL's "YCbCr JPEG" is
    reported as "jpeg"; no compression is null.
  * pixels: ds.read(), band-major (count*height*width), little-endian, base64.
    For YCbCr JPEG this is RGB as GDAL/libjpeg converts it.  For NBITS=1
    images the values are 0/1 as uint8.
  * overview_pixels: each internal overview level read as stored
    (rasterio.open(path, overview_level=i).read()), not resampled.
  * has_internal_mask: the bands' mask flags contain per_dataset but not
    alpha (a 4th alpha band also yields per_dataset; its values are already
    in pixels).  mask is ds.dataset_mask() (0/255 uint8, height*width).
  * Side-car files (.aux.xml, .ovr, .msk) are ignored
    (GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR) and never written
    (GDAL_PAM_ENABLED=NO): only what is inside the file counts.
"""

import base64
import contextlib
import io
import json
import math
import sys
import warnings

import numpy as np
import rasterio
from rasterio.enums import MaskFlags
from rasterio.errors import NotGeoreferencedWarning

GDAL_ENV = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_PAM_ENABLED": "NO"}

DTYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


def _b64(arr, dtype):
    le = np.dtype(dtype).newbyteorder("<")
    return base64.b64encode(np.ascontiguousarray(arr).astype(le).tobytes()).decode("ascii")


def _nodata(value, dtype):
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if np.dtype(dtype).kind in "iu":
        return int(value)
    return float(value)


def _compress(image_structure):
    c = image_structure.get("COMPRESSION")
    if c is None or c.upper() == "NONE":
        return None
    c = c.lower()
    if "jpeg" in c:  # "YCbCr JPEG"
        return "jpeg"
    return c


def _int_or_none(value):
    return None if value is None else int(value)


def describe(path):
    """Return the describe dict (see module docstring) for the file at path."""
    path = str(path)
    with warnings.catch_warnings(), rasterio.Env(**GDAL_ENV):
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            dtype = ds.dtypes[0]
            if dtype not in DTYPES:
                raise ValueError(f"{path}: unsupported dtype {dtype}")
            if len(set(ds.dtypes)) != 1:
                raise ValueError(f"{path}: mixed band dtypes {ds.dtypes}")
            ims = ds.tags(ns="IMAGE_STRUCTURE")
            band_ims = ds.tags(1, ns="IMAGE_STRUCTURE")
            nbits = band_ims.get("NBITS", ims.get("NBITS"))
            interleave = ims.get("INTERLEAVE")
            flags = ds.mask_flag_enums[0]
            has_mask = MaskFlags.per_dataset in flags and MaskFlags.alpha not in flags
            n_ovr = len(ds.overviews(1))
            out = {
                "width": ds.width,
                "height": ds.height,
                "count": ds.count,
                "dtype": dtype,
                "nbits": _int_or_none(nbits),
                "nodata": _nodata(ds.nodata, dtype),
                "crs_epsg": ds.crs.to_epsg() if ds.crs else None,
                "transform": [float(v) for v in tuple(ds.transform)[:6]],
                "area_or_point": ds.tags().get("AREA_OR_POINT", "Area"),
                "block": [int(ds.block_shapes[0][1]), int(ds.block_shapes[0][0])],
                "tiled": bool(ds.profile.get("tiled", False)),
                "compress": _compress(ims),
                "interleave": interleave.lower() if interleave else None,
                "predictor": _int_or_none(ims.get("PREDICTOR")),
                "scales": [float(v) for v in ds.scales],
                "offsets": [float(v) for v in ds.offsets],
                "overviews": [],
                "has_internal_mask": bool(has_mask),
                "pixels": _b64(ds.read(), dtype),
                "overview_pixels": [],
                "mask": _b64(ds.dataset_mask(), "uint8") if has_mask else None,
            }
        for i in range(n_ovr):
            with rasterio.open(path, overview_level=i) as ovr:
                out["overviews"].append([ovr.width, ovr.height])
                out["overview_pixels"].append(_b64(ovr.read(), dtype))
    return out


def validate_cog(path):
    from rio_cogeo.cogeo import cog_validate

    # cog_validate reports through click.echo / logging; keep stdout pure JSON.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        valid, errors, warns = cog_validate(str(path), quiet=True)
    return {"valid": bool(valid), "errors": list(errors), "warnings": list(warns)}


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = [a for a in argv if a.startswith("--")]
    unknown = [o for o in opts if o != "--validate-cog"]
    if len(args) != 1 or unknown:
        print("usage: gdal_describe.py FILE [--validate-cog]", file=sys.stderr)
        return 2
    out = describe(args[0])
    if "--validate-cog" in opts:
        out["cog"] = validate_cog(args[0])
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
