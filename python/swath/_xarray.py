"""Chunk-row results (one tile per row and band) as xarray Datasets."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import numpy as np
import pyarrow as pa

GRID_KEY = b"swath:grid"
NODATA_KEY = b"swath:nodata"
SCALE_KEY = b"swath:scale"
OFFSET_KEY = b"swath:offset"
EXTENSION_NAME = b"ARROW:extension:name"
EXTENSION_METADATA = b"ARROW:extension:metadata"
FIXED_SHAPE_TENSOR = b"arrow.fixed_shape_tensor"
#: Columns tried, in order, as the time axis when ``time`` is not given.
TIME_COLUMNS = ("solar_day", "datetime", "time")
_GRID_FIELDS = ("crs", "transform", "width", "height", "chunk_width", "chunk_height")


@dataclass
class _TileField:
    """A tile column: its name, value type, layout and band metadata."""

    name: str
    value_type: pa.DataType
    shape: List[int]  # physical shape, as stored
    permutation: Optional[List[int]]
    metadata: dict

    @property
    def logical_shape(self) -> List[int]:
        """The tensor's shape as [rows, columns] after the permutation."""
        if self.permutation is None:
            return list(self.shape)
        return [self.shape[p] for p in self.permutation]


def as_table(data: Any) -> pa.Table:
    """Materialise a query result as a :class:`pyarrow.Table`.

    Accepts a ``pyarrow.Table``, ``RecordBatch`` or ``RecordBatchReader``, an
    object with ``fetch_arrow_table()`` (an ADBC DB-API cursor after
    ``execute``) or ``read_all()``, or any Arrow C stream exporter.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if hasattr(data, "fetch_arrow_table"):
        return data.fetch_arrow_table()
    if hasattr(data, "read_all"):
        return data.read_all()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data).read_all()
    raise TypeError(
        f"expected a pyarrow Table, RecordBatchReader or ADBC cursor, not {type(data).__name__}"
    )


def tile_fields(schema: pa.Schema) -> List[_TileField]:
    """The tile columns of ``schema``: fixed-shape tensor fields, in order.

    A field is a tile column when its type is ``pyarrow.FixedShapeTensorType``
    (the canonical ``arrow.fixed_shape_tensor`` extension) or a plain
    ``FixedSizeList`` whose field metadata names that extension
    (``ARROW:extension:name``) and gives its shape (``ARROW:extension:metadata``).
    Only 2-D tensors are accepted.
    """
    out = []
    for field in schema:
        meta = dict(field.metadata or {})
        t = field.type
        if isinstance(t, pa.FixedShapeTensorType):
            shape, perm, value_type = list(t.shape), t.permutation, t.value_type
        elif pa.types.is_fixed_size_list(t) and meta.get(EXTENSION_NAME) == FIXED_SHAPE_TENSOR:
            try:
                params = json.loads(meta.get(EXTENSION_METADATA, b"{}"))
                shape = [int(s) for s in params["shape"]]
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(
                    f"column {field.name!r}: bad arrow.fixed_shape_tensor metadata: {e}"
                ) from None
            perm = params.get("permutation")
            value_type = t.value_type
            if math.prod(shape) != t.list_size:
                raise ValueError(
                    f"column {field.name!r}: tensor shape {shape} does not match list size {t.list_size}"
                )
        else:
            continue
        if len(shape) != 2:
            raise ValueError(
                f"column {field.name!r}: expected 2-D tiles [height, width], got shape {shape}"
            )
        perm = None if perm is None or list(perm) == [0, 1] else [int(p) for p in perm]
        out.append(_TileField(field.name, value_type, shape, perm, meta))
    return out


def _grid(schema: pa.Schema, tiles: Sequence[_TileField]) -> dict:
    """The table grid from the schema metadata or the first tile field carrying one."""
    raw = (schema.metadata or {}).get(GRID_KEY)
    if raw is None:
        raw = next((t.metadata[GRID_KEY] for t in tiles if GRID_KEY in t.metadata), None)
    if raw is None:
        raise ValueError(
            "the result has tile columns but no grid (swath:grid in the schema or field "
            "metadata); select band columns of a datacube table or rs_* results of them"
        )
    grid = json.loads(raw)
    missing = [k for k in _GRID_FIELDS if k not in grid]
    if missing:
        raise ValueError(f"swath:grid lacks {', '.join(missing)}: {grid}")
    return grid


def _parse_nodata(text: Optional[bytes], dtype: np.dtype, column: str):
    """The band's nodata value as a scalar of ``dtype``, or None."""
    if text is None or dtype.kind == "b":
        return None
    s = text.decode().strip()
    if dtype.kind == "f":
        return dtype.type(float(s))
    try:
        v = int(s)
    except ValueError:
        f = float(s)
        v = int(f) if math.isfinite(f) and f == int(f) else None
    if v is None or not (np.iinfo(dtype).min <= v <= np.iinfo(dtype).max):
        warnings.warn(
            f"column {column!r}: nodata {s!r} is not a {dtype} value; ignored", stacklevel=3
        )
        return None
    return dtype.type(v)


def _tile_values(column: pa.ChunkedArray, tile: _TileField, fill) -> tuple:
    """(tiles, valid, had_nulls): an (N, h, w) array, the non-null rows, and
    whether null samples were replaced by ``fill``."""
    dtype = np.dtype(tile.value_type.to_pandas_dtype())
    size = math.prod(tile.shape)
    parts, valid, had_nulls = [], [], False
    for chunk in column.chunks:
        storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
        n = len(storage)
        # .values ignores the list array's offset: slice the rows' samples.
        values = storage.values.slice(storage.offset * size, n * size)
        if values.null_count:
            had_nulls = True
            values = values.fill_null(pa.scalar(fill, type=values.type))
        parts.append(values.to_numpy(zero_copy_only=False).reshape(n, *tile.shape))
        valid.append(np.asarray(storage.is_valid()) if storage.null_count else np.ones(n, bool))
    if parts:
        arr = np.concatenate(parts) if len(parts) > 1 else parts[0]
        ok = np.concatenate(valid)
    else:
        arr = np.empty((0, *tile.shape), dtype)
        ok = np.ones(0, bool)
    if tile.permutation is not None:
        arr = arr.transpose(0, *(1 + np.asarray(tile.permutation)))
    return arr.astype(dtype, copy=False), ok, had_nulls


def _time_values(column: pa.ChunkedArray) -> np.ndarray:
    """A time column as numpy values: temporal types as datetime64[ns] (UTC)."""
    if column.null_count:
        raise ValueError("the time column has nulls; filter them out or pass another column")
    t = column.type
    values = column.to_numpy()
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        values = values.astype("datetime64[ns]")
    return values


def _int_column(table: pa.Table, name: str) -> np.ndarray:
    """A placement column as int64, checked for nulls."""
    col = table.column(name)
    if col.null_count:
        raise ValueError(f"column {name!r} has nulls")
    return col.to_numpy().astype(np.int64, copy=False)


def to_xarray(table: Any, time: Optional[str] = None):
    """Turn a chunk-row result into an :class:`xarray.Dataset`.

    ``table`` is a ``pyarrow.Table`` or ``RecordBatchReader``, or anything with
    ``fetch_arrow_table()`` or ``read_all()`` such as an ADBC cursor after
    ``execute``.

    Chunk-row results have ``chunk_x`` and ``chunk_y`` columns, optionally a time
    column, and tile columns (``arrow.fixed_shape_tensor`` of shape
    ``[chunk_height, chunk_width]``, or a ``FixedSizeList`` whose field metadata
    names that extension). The table grid is read from ``swath:grid`` in the schema
    metadata, else from the tile fields' metadata. The time column is ``time``, or
    by default the first of ``solar_day``, ``datetime``, ``time`` present; other
    columns are dropped.

    Returns a Dataset with one variable per tile column, dims ``(time, y, x)``
    (``(y, x)`` without a time column) covering the bounding box of the chunks in
    the result, cropped to the grid; ``x``/``y`` are pixel centres in the grid's
    CRS, ``time`` is sorted ascending (datetime64[ns] for date and timestamp
    columns, timestamps in UTC). Pixels of chunks missing from the result (and
    null tiles or samples) hold the band's nodata value (``swath:nodata``): NaN for
    floats without one; integers without one are filled with 0, which is then
    declared as nodata. Values keep the tile type and are not scaled;
    ``swath:scale``/``swath:offset`` become the ``scale_factor``/``add_offset``
    attributes. With rioxarray installed the CRS, transform and nodata are
    written with ``rio.write_crs``, ``rio.write_transform`` and
    ``rio.write_nodata(encoded=False)``, so ``ds.rio.crs`` and
    ``ds.rio.transform()`` are right; without it an equivalent CF ``spatial_ref``
    coordinate (``crs_wkt`` needs pyproj) and ``_FillValue`` attributes are set.

    Two rows for the same chunk and time raise ``ValueError``. Results without tile
    columns (pixel-view results, plain tables) are returned as a
    ``pandas.DataFrame`` (``table.to_pandas()``) instead.
    """
    table = as_table(table)
    tiles = tile_fields(table.schema)
    if not tiles:
        return table.to_pandas()
    try:
        import xarray as xr
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_xarray needs xarray: pip install 'swath[xarray]'") from e

    grid = _grid(table.schema, tiles)
    cw, ch = int(grid["chunk_width"]), int(grid["chunk_height"])
    width, height = int(grid["width"]), int(grid["height"])
    a, b, c, d, e, f = (float(v) for v in grid["transform"])
    if b != 0.0 or d != 0.0:
        raise NotImplementedError("rotated grids (transform b or d non-zero) are not supported")
    for t in tiles:
        if t.logical_shape != [ch, cw]:
            raise ValueError(
                f"column {t.name!r}: tiles of shape {t.logical_shape}, but the grid's chunks "
                f"are [{ch}, {cw}] (chunk_height, chunk_width)"
            )
    for name in ("chunk_x", "chunk_y"):
        if name not in table.column_names:
            raise ValueError(f"a result with tile columns needs a {name!r} column to place them")

    cx = _int_column(table, "chunk_x")
    cy = _int_column(table, "chunk_y")
    n = table.num_rows

    if time is None:
        time = next((name for name in TIME_COLUMNS if name in table.column_names), None)
    elif time not in table.column_names:
        raise ValueError(f"time column {time!r} is not in the result: {table.column_names}")
    if time is not None:
        times, t_idx = np.unique(_time_values(table.column(time)), return_inverse=True)
        t_idx = t_idx.reshape(-1)
        nt = len(times)
    else:
        times, t_idx, nt = None, np.zeros(n, np.int64), 1

    if n:
        bad = (cx < 0) | (cy < 0) | (cx * cw >= width) | (cy * ch >= height)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"chunk (chunk_x={cx[i]}, chunk_y={cy[i]}) lies outside the {width}x{height} "
                f"grid of {cw}x{ch} chunks"
            )
        cx0, cx1, cy0, cy1 = cx.min(), cx.max(), cy.min(), cy.max()
        ncx, ncy = int(cx1 - cx0 + 1), int(cy1 - cy0 + 1)
        col0, row0 = int(cx0) * cw, int(cy0) * ch
        nx = min(ncx * cw, width - col0)
        ny = min(ncy * ch, height - row0)
    else:
        ncx = ncy = nx = ny = col0 = row0 = 0
    ix, iy = cx - (cx0 if n else 0), cy - (cy0 if n else 0)

    cell = (t_idx * ncy + iy) * ncx + ix
    order = np.argsort(cell, kind="stable")
    dup = np.flatnonzero(cell[order][1:] == cell[order][:-1])
    if dup.size:
        i = int(order[dup[0] + 1])
        at = f" and {time}={times[t_idx[i]]}" if time is not None else ""
        raise ValueError(
            f"{dup.size} duplicate row(s): two rows for chunk_x={cx[i]}, chunk_y={cy[i]}{at}; "
            "to_xarray needs one row per chunk" + (" and time" if time is not None else "")
            + " (aggregate with GROUP BY chunk_x, chunk_y"
            + (f", {time}" if time is not None else "") + ", or filter, first)"
        )
    complete = n == nt * ncx * ncy

    data_vars = {}
    for t in tiles:
        dtype = np.dtype(t.value_type.to_pandas_dtype())
        nodata = _parse_nodata(t.metadata.get(NODATA_KEY), dtype, t.name)
        if nodata is not None:
            fill = nodata
        elif dtype.kind == "f":
            fill = dtype.type(np.nan)
        else:
            fill = dtype.type(0)
        values, valid, had_nulls = _tile_values(table.column(t.name), t, fill)
        canvas = np.full((nt, ncy * ch, ncx * cw), fill, dtype)
        blocks = canvas.reshape(nt, ncy, ch, ncx, cw)
        if valid.all():
            blocks[t_idx, iy, :, ix, :] = values
        else:
            blocks[t_idx[valid], iy[valid], :, ix[valid], :] = values[valid]
        data = canvas[:, :ny, :nx]
        if time is None:
            data = data[0]
        filled = had_nulls or not complete or not valid.all()
        if nodata is None and dtype.kind == "f":
            nodata = fill
        elif nodata is None and dtype.kind in "iu" and filled:
            nodata = fill
        attrs = {}
        if SCALE_KEY in t.metadata:
            attrs["scale_factor"] = float(t.metadata[SCALE_KEY])
        if OFFSET_KEY in t.metadata:
            attrs["add_offset"] = float(t.metadata[OFFSET_KEY])
        dims = ("time", "y", "x") if time is not None else ("y", "x")
        data_vars[t.name] = (xr.Variable(dims, data, attrs), nodata)

    coords = {
        "y": ("y", f + (row0 + np.arange(ny) + 0.5) * e),
        "x": ("x", c + (col0 + np.arange(nx) + 0.5) * a),
    }
    if time is not None:
        coords["time"] = ("time", times, {"long_name": time})
    ds = xr.Dataset({k: v for k, (v, _) in data_vars.items()}, coords=coords)
    transform = (a, 0.0, c + col0 * a, 0.0, e, f + row0 * e)
    nodatas = {k: nd for k, (_, nd) in data_vars.items()}
    return _georeference(ds, str(grid["crs"]), transform, nodatas)


def _georeference(ds, crs: str, transform: tuple, nodatas: dict):
    """Write CRS, transform and per-variable nodata (rioxarray when importable)."""
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
        from affine import Affine
    except ImportError:
        return _georeference_cf(ds, crs, transform, nodatas)
    for name, nodata in nodatas.items():
        if nodata is not None:
            ds[name] = ds[name].rio.write_nodata(nodata, encoded=False)
    ds = ds.rio.write_crs(crs)
    return ds.rio.write_transform(Affine(*transform))


def _georeference_cf(ds, crs: str, transform: tuple, nodatas: dict):
    """The rioxarray-free fallback: a CF grid-mapping ``spatial_ref`` coordinate."""
    a, b, c, d, e, f = transform
    attrs = {"spatial_ref": crs, "GeoTransform": f"{c!r} {a!r} {b!r} {f!r} {d!r} {e!r}"}
    try:
        import pyproj

        wkt = pyproj.CRS.from_user_input(crs).to_wkt()
        attrs["crs_wkt"] = attrs["spatial_ref"] = wkt
    except ImportError:
        pass
    ds = ds.assign_coords(spatial_ref=((), np.int64(0), attrs))
    for name, nodata in nodatas.items():
        ds[name].attrs["grid_mapping"] = "spatial_ref"
        if nodata is not None:
            ds[name].attrs["_FillValue"] = nodata
    return ds
