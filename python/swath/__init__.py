"""Swath's Python client: SQL over ``swath serve`` (Arrow Flight SQL via ADBC),
results as pyarrow/pandas, and chunk results as xarray Datasets.

>>> import swath
>>> conn = swath.connect("grpc://127.0.0.1:50051")
>>> cur = conn.cursor()
>>> cur.execute("SELECT chunk_x, chunk_y, solar_day, red FROM s2")
>>> ds = swath.to_xarray(cur)          # xarray.Dataset (time, y, x)
"""

from ._connect import DEFAULT_URI, connect, database_options
from ._xarray import TIME_COLUMNS, as_table, tile_fields, to_xarray

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URI",
    "TIME_COLUMNS",
    "as_table",
    "connect",
    "database_options",
    "tile_fields",
    "to_xarray",
]
