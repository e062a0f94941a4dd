# %% [markdown]
# # NDVI time series and a cloud-free composite with `swath serve`
#
# Start a server (`swath serve`) and run, for example:
#
#     python python/examples/ndvi_composite.py swath-demo/catalog/collection.json \
#         --bbox 14.9,45.0,15.0,45.1
#
# The catalogue path is resolved by the *server*. The queries are the canonical
# workloads W1 (benches/compare/sql/w1.sql) and W2 (w2.sql), except that the
# composite is returned instead of written with COPY. Cells are marked `# %%` and
# can be run one at a time in Jupyter/VS Code.

# %%
import argparse

import swath

parser = argparse.ArgumentParser(description="NDVI time series and median composite via swath serve")
parser.add_argument("collection", help="STAC collection.json (a path or URL the server can read)")
parser.add_argument("--uri", default=swath.DEFAULT_URI, help="swath serve endpoint")
parser.add_argument("--user", default=None, help="user name (basic auth, a new session)")
parser.add_argument(
    "--token",
    default=None,
    help="password with --user; alone, a bearer token (the user's shared session)",
)
parser.add_argument(
    "--bbox",
    default=None,
    help="west,south,east,north in degrees for the NDVI series (default: the whole table)",
)
parser.add_argument("--plot", action="store_true", help="plot with matplotlib")
args = parser.parse_args()

# Without --token (or with --user) the connection gets its own server session, so the
# tables created below belong to it and go away when it closes.
conn = swath.connect(args.uri, token=args.token, user=args.user)
cur = conn.cursor()


def quote(s):
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


# %% [markdown]
# ## Tables over the catalogue: pixels for W1, chunks for W2

# %%
cur.execute(
    f"""CREATE EXTERNAL TABLE px STORED AS STAC LOCATION {quote(args.collection)}
        OPTIONS (bands 'red,nir,scl', view 'pixels')"""
)
cur.execute(
    f"""CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION {quote(args.collection)}
        OPTIONS (bands 'blue,green,red,nir,scl')"""
)

# %% [markdown]
# ## W1: mean NDVI of clear pixels per solar day
# This is a pixel-view result with no tile columns, so `to_xarray` returns a pandas
# DataFrame.

# %%
where = ""
if args.bbox:
    west, south, east, north = (float(v) for v in args.bbox.split(","))
    where = f"lon BETWEEN {west} AND {east} AND lat BETWEEN {south} AND {north} AND "
cur.execute(
    f"""SELECT solar_day, avg((nir - red) / (nir + red)) AS ndvi, count(*) AS clear_pixels
        FROM (SELECT solar_day, nir * 0.0001 - 0.1 AS nir, red * 0.0001 - 0.1 AS red
              FROM px
              WHERE {where}scl NOT IN (0, 3, 8, 9, 10))
        GROUP BY solar_day ORDER BY solar_day"""
)
series = swath.to_xarray(cur)
print(series.to_string(index=False))

if args.plot:
    import matplotlib.pyplot as plt

    series.plot(x="solar_day", y="ndvi", marker="o", title="Mean NDVI of clear pixels")
    plt.show()

# %% [markdown]
# ## W2: per-pixel median of each band with clouds masked (chunk view)
# There is one row per chunk with the bands as tiles, so `to_xarray` builds a
# georeferenced Dataset with dims (y, x).

# %%
cur.execute(
    """SELECT chunk_x, chunk_y,
              rs_median(rs_mask(red, cloud)) AS red, rs_median(rs_mask(green, cloud)) AS green,
              rs_median(rs_mask(blue, cloud)) AS blue, rs_median(rs_mask(nir, cloud)) AS nir
       FROM (SELECT chunk_x, chunk_y, red, green, blue, nir,
                    rs_class_mask(scl, 0, 3, 8, 9, 10) AS cloud FROM s2)
       GROUP BY chunk_x, chunk_y"""
)
composite = swath.to_xarray(cur)
print(composite)
print("CRS:", composite.rio.crs, "transform:", tuple(composite.rio.transform())[:6])

# %%
# NDVI of the composite, computed in xarray. Apply the band scale and offset first
# when the tiles carry them.
def physical(da):
    """Band values with scale_factor/add_offset applied (float)."""
    return da * da.attrs.get("scale_factor", 1.0) + da.attrs.get("add_offset", 0.0)


nir, red = physical(composite["nir"]), physical(composite["red"])
ndvi = (nir - red) / (nir + red)
print("composite NDVI: mean", float(ndvi.mean()), "min", float(ndvi.min()), "max", float(ndvi.max()))

if args.plot:
    import matplotlib.pyplot as plt

    ndvi.plot(cmap="RdYlGn", vmin=-0.2, vmax=0.9)
    plt.title("NDVI of the median composite")
    plt.show()

# %%
cur.close()
conn.close()
