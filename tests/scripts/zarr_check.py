"""Open a Zarr v3 store with xarray (and rioxarray), as an EO user would.

usage: zarr_check.py STORE -> JSON: variables, dims, crs (EPSG via rioxarray),
transform (rasterio order), x/y coordinates, and each data variable's pixels (NaN and
the fill value as null).
"""

import json
import math
import sys
import warnings

import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr


def main():
    warnings.simplefilter("ignore")
    ds = xr.open_zarr(sys.argv[1], zarr_format=3, consolidated=False, mask_and_scale=False)
    names = sorted(v for v in ds.data_vars)
    first = ds[names[0]]
    out = {
        "variables": names,
        "dims": {n: list(ds[n].dims) for n in names},
        "crs": first.rio.crs.to_epsg() if first.rio.crs else None,
        "transform": list(first.rio.transform())[:6],
        "x": ds["x"].values.tolist(),
        "y": ds["y"].values.tolist(),
        "data": {},
        "dtypes": {n: str(ds[n].dtype) for n in names},
    }
    for n in names:
        v = ds[n].values
        out["data"][n] = [None if isinstance(x, float) and math.isnan(x) else x for x in v.ravel().tolist()]
        out["shape"] = list(v.shape)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
