"""Describe a GeoTIFF as GDAL (rasterio) reads it, and validate it as a COG.

usage: cog_check.py FILE -> JSON on stdout: epsg, transform (rasterio order), width,
height, count, dtype, nodata, descriptions, overviews, cog_valid, cog_errors, and
every band's pixels (NaN as null).
"""

import json
import math
import sys

import rasterio
from rio_cogeo.cogeo import cog_validate


def main():
    path = sys.argv[1]
    valid, errors, _warnings = cog_validate(path, quiet=True)
    with rasterio.open(path) as ds:
        data = ds.read()
        out = {
            "epsg": ds.crs.to_epsg() if ds.crs else None,
            "transform": list(ds.transform)[:6],
            "width": ds.width,
            "height": ds.height,
            "count": ds.count,
            "dtype": ds.dtypes[0],
            "nodata": None if ds.nodata is None or math.isnan(ds.nodata) else ds.nodata,
            "nodata_is_nan": ds.nodata is not None and math.isnan(ds.nodata),
            "descriptions": list(ds.descriptions),
            "overviews": ds.overviews(1),
            "cog_valid": valid,
            "cog_errors": errors,
            "bands": [
                [None if (isinstance(v, float) and math.isnan(v)) else v for v in band.ravel().tolist()]
                for band in data
            ],
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
