"""swath.to_xarray on hand-built chunk-row tables (no server needed).

Run from the repository root:
    ~/.cache/swath/venv/bin/python -m unittest discover -s python/tests -v
"""

import datetime as dt
import json
import os
import sys
import unittest
from unittest import mock

import numpy as np
import pyarrow as pa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import swath  # noqa: E402

# A 5x3-pixel grid (width 5, height 3) in 2x2 chunks: chunk_x 0..2 (the last one
# column wide, one column of padding), chunk_y 0..1 (the last one row high).
GRID = {
    "crs": "EPSG:32633",
    "transform": [10.0, 0.0, 100.0, 0.0, -10.0, 200.0],
    "width": 5,
    "height": 3,
    "chunk_width": 2,
    "chunk_height": 2,
}
PAD = 9999  # value of padding pixels past the grid: must never show up
D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 5)


def red_value(day, row, col):
    """uint16 test band: 1000 on D1 / 2000 on D2, + 10*row + col + 1 (1-based)."""
    if row >= 3 or col >= 5:
        return PAD
    return (1000 if day == D1 else 2000) + 10 * row + col + 1


def ndvi_value(day, row, col):
    """float32 test band: row + col/10, negated on D2."""
    if row >= 3 or col >= 5:
        return PAD
    v = row + col / 10
    return v if day == D1 else -v


def tile(fn, day, cx, cy):
    """The 2x2 tile of chunk (cx, cy) on ``day``, in row-major order."""
    return [fn(day, 2 * cy + j, 2 * cx + k) for j in range(2) for k in range(2)]


def tensor(tiles, value_type, mask=None):
    """An arrow.fixed_shape_tensor [2, 2] column from flat tiles."""
    flat = pa.array(np.asarray(tiles).ravel(), type=value_type)
    storage = pa.FixedSizeListArray.from_arrays(flat, 4, mask=mask)
    return pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(value_type, [2, 2]), storage)


# Rows in a deliberately unsorted order: D2 (all six chunks) first, then D1 without
# chunk (2, 1) -- the pixel at row 2, column 4.
ROWS = [(D2, cx, cy) for cy in (1, 0) for cx in (2, 0, 1)] + [
    (D1, cx, cy) for (cx, cy) in [(1, 1), (0, 0), (2, 0), (1, 0), (0, 1)]
]


def chunk_table(rows=ROWS, grid_in_schema=True):
    """The two-band chunk table of ``rows`` with metadata as swath serve sends it."""
    red_meta = {"swath:nodata": "0", "swath:scale": "0.0001", "swath:offset": "-0.1"}
    ndvi_meta = {"swath:nodata": "nan"}
    if not grid_in_schema:
        red_meta["swath:grid"] = json.dumps(GRID)
    schema = pa.schema(
        [
            pa.field("solar_day", pa.date32()),
            pa.field("chunk_x", pa.int32()),
            pa.field("chunk_y", pa.int32()),
            pa.field("item_count", pa.int32()),
            pa.field("red", pa.fixed_shape_tensor(pa.uint16(), [2, 2]), metadata=red_meta),
            pa.field("ndvi", pa.fixed_shape_tensor(pa.float32(), [2, 2]), metadata=ndvi_meta),
        ],
        metadata={"swath:grid": json.dumps(GRID)} if grid_in_schema else None,
    )
    cols = [
        pa.array([r[0] for r in rows], pa.date32()),
        pa.array([r[1] for r in rows], pa.int32()),
        pa.array([r[2] for r in rows], pa.int32()),
        pa.array([1] * len(rows), pa.int32()),
        tensor([tile(red_value, *r) for r in rows], pa.uint16()),
        tensor([tile(ndvi_value, *r) for r in rows], pa.float32()),
    ]
    return pa.table(cols, schema=schema)


# Expected values, written out by hand from red_value / ndvi_value.
RED = np.array(
    [
        [[1001, 1002, 1003, 1004, 1005],
         [1011, 1012, 1013, 1014, 1015],
         [1021, 1022, 1023, 1024, 0]],      # chunk (2, 1) missing on D1 -> nodata 0
        [[2001, 2002, 2003, 2004, 2005],
         [2011, 2012, 2013, 2014, 2015],
         [2021, 2022, 2023, 2024, 2025]],
    ],
    dtype=np.uint16,
)
NAN = np.nan
NDVI = np.array(
    [
        [[0.0, 0.1, 0.2, 0.3, 0.4],
         [1.0, 1.1, 1.2, 1.3, 1.4],
         [2.0, 2.1, 2.2, 2.3, NAN]],
        [[-0.0, -0.1, -0.2, -0.3, -0.4],
         [-1.0, -1.1, -1.2, -1.3, -1.4],
         [-2.0, -2.1, -2.2, -2.3, -2.4]],
    ],
    dtype=np.float32,
)
X = np.array([105.0, 115.0, 125.0, 135.0, 145.0])
Y = np.array([195.0, 185.0, 175.0])


class ChunkTableTest(unittest.TestCase):
    def check_full(self, ds):
        self.assertEqual(sorted(ds.data_vars), ["ndvi", "red"])
        self.assertEqual(ds["red"].dims, ("time", "y", "x"))
        np.testing.assert_array_equal(ds["x"].values, X)
        np.testing.assert_array_equal(ds["y"].values, Y)
        np.testing.assert_array_equal(
            ds["time"].values, np.array(["2024-01-01", "2024-01-05"], dtype="datetime64[ns]")
        )
        self.assertEqual(ds["red"].dtype, np.uint16)
        self.assertEqual(ds["ndvi"].dtype, np.float32)
        np.testing.assert_array_equal(ds["red"].values, RED)
        np.testing.assert_array_equal(ds["ndvi"].values, NDVI)  # NaN == NaN here
        self.assertNotIn(PAD, ds["red"].values)
        self.assertEqual(ds.rio.crs.to_epsg(), 32633)
        self.assertEqual(tuple(ds.rio.transform())[:6], (10.0, 0.0, 100.0, 0.0, -10.0, 200.0))
        self.assertEqual(ds["red"].rio.nodata, 0)
        self.assertTrue(np.isnan(ds["ndvi"].rio.nodata))
        self.assertEqual(ds["red"].attrs["scale_factor"], 0.0001)
        self.assertEqual(ds["red"].attrs["add_offset"], -0.1)
        self.assertNotIn("scale_factor", ds["ndvi"].attrs)
        self.assertNotIn("item_count", ds.variables)

    def test_extension_type_grid_in_schema(self):
        self.check_full(swath.to_xarray(chunk_table()))

    def test_grid_in_field_metadata(self):
        self.check_full(swath.to_xarray(chunk_table(grid_in_schema=False)))

    def test_fixed_size_list_with_extension_metadata(self):
        # What a reader that does not know the extension sees: plain FixedSizeList
        # fields carrying ARROW:extension:* metadata (as swath's schema declares it).
        t = chunk_table()
        fields = []
        for f in t.schema:
            if isinstance(f.type, pa.FixedShapeTensorType):
                meta = dict(f.metadata)
                meta[b"ARROW:extension:name"] = b"arrow.fixed_shape_tensor"
                meta[b"ARROW:extension:metadata"] = b'{"shape":[2,2]}'
                if f.name == "red":  # the grid only in the field, as in chunk_schema()
                    meta[b"swath:grid"] = json.dumps(GRID).encode()
                fields.append(pa.field(f.name, f.type.storage_type, metadata=meta))
            else:
                fields.append(f)
        cols = [c.chunks[0].storage if isinstance(c.type, pa.ExtensionType) else c.chunks[0]
                for c in t.columns]
        plain = pa.Table.from_arrays(cols, schema=pa.schema(fields))
        self.assertFalse(any(isinstance(f.type, pa.ExtensionType) for f in plain.schema))
        self.check_full(swath.to_xarray(plain))

    def test_reader_cursor_and_batches(self):
        t = chunk_table()
        # several record batches, sliced (non-zero offsets into the list arrays)
        batches = t.to_batches(max_chunksize=4)
        self.assertGreater(len(batches), 1)
        self.check_full(swath.to_xarray(pa.RecordBatchReader.from_batches(t.schema, batches)))

        class Cursor:  # what an ADBC DB-API cursor offers
            def fetch_arrow_table(self):
                return pa.Table.from_batches(batches)

        self.check_full(swath.to_xarray(Cursor()))

    def test_bounding_box_crop_without_time(self):
        # Chunks (1, 1) and (2, 1) of D2 only, no time column: columns 2..4 of row 2.
        rows = [(D2, 2, 1), (D2, 1, 1)]
        t = chunk_table(rows).drop_columns(["solar_day"])
        ds = swath.to_xarray(t)
        self.assertEqual(ds["red"].dims, ("y", "x"))
        self.assertNotIn("time", ds.coords)
        np.testing.assert_array_equal(ds["x"].values, [125.0, 135.0, 145.0])
        np.testing.assert_array_equal(ds["y"].values, [175.0])
        np.testing.assert_array_equal(ds["red"].values, [[2023, 2024, 2025]])
        np.testing.assert_allclose(ds["ndvi"].values, [[-2.2, -2.3, -2.4]], rtol=1e-6)
        self.assertEqual(tuple(ds.rio.transform())[:6], (10.0, 0.0, 120.0, 0.0, -10.0, 180.0))

    def test_missing_chunks_inside_bounding_box(self):
        # Corners (0, 0) and (2, 1) only: the box is the whole grid, the rest nodata.
        rows = [(D1, 0, 0), (D1, 2, 1)]
        ds = swath.to_xarray(chunk_table(rows))
        np.testing.assert_array_equal(
            ds["red"].values,
            [[[1001, 1002, 0, 0, 0], [1011, 1012, 0, 0, 0], [0, 0, 0, 0, 1025]]],
        )
        n = np.nan
        np.testing.assert_array_equal(
            ds["ndvi"].values,
            np.array([[[0.0, 0.1, n, n, n], [1.0, 1.1, n, n, n], [n, n, n, n, 2.4]]], np.float32),
        )
        np.testing.assert_array_equal(ds["time"].values, np.array(["2024-01-01"], "datetime64[ns]"))

    def test_duplicate_chunk_and_time_is_an_error(self):
        rows = [(D1, 0, 0), (D1, 1, 0), (D2, 1, 0), (D1, 1, 0)]
        with self.assertRaises(ValueError) as cm:
            swath.to_xarray(chunk_table(rows))
        msg = str(cm.exception)
        self.assertIn("chunk_x=1, chunk_y=0", msg)
        self.assertIn("solar_day=2024-01-01", msg)
        self.assertIn("GROUP BY", msg)
        # the same chunk on two days is fine
        swath.to_xarray(chunk_table(rows[:3]))
        # without a time column, two days of one chunk are duplicates
        with self.assertRaises(ValueError):
            swath.to_xarray(chunk_table(rows[1:3]).drop_columns(["solar_day"]))

    def test_time_column_choice(self):
        t = chunk_table([(D1, 0, 0), (D2, 0, 0)])
        stamps = [dt.datetime(2024, 1, 1, 10, 30, tzinfo=dt.timezone.utc),
                  dt.datetime(2024, 1, 5, 10, 31, tzinfo=dt.timezone.utc)]
        t = t.append_column("datetime", pa.array(stamps, pa.timestamp("us", tz="UTC")))
        ds = swath.to_xarray(t)  # solar_day wins over datetime
        np.testing.assert_array_equal(
            ds["time"].values, np.array(["2024-01-01", "2024-01-05"], "datetime64[ns]")
        )
        ds = swath.to_xarray(t.drop_columns(["solar_day"]))  # then datetime, in UTC
        np.testing.assert_array_equal(
            ds["time"].values,
            np.array(["2024-01-01T10:30", "2024-01-05T10:31"], "datetime64[ns]"),
        )
        self.assertEqual(ds["red"].values[1, 0, 0], 2001)
        ds = swath.to_xarray(t, time="datetime")
        self.assertEqual(ds["time"].attrs["long_name"], "datetime")
        with self.assertRaises(ValueError):
            swath.to_xarray(t, time="no_such_column")

    def test_null_tiles_and_integer_without_nodata(self):
        meta = {"swath:grid": json.dumps(GRID)}
        schema = pa.schema(
            [
                pa.field("chunk_x", pa.int32()),
                pa.field("chunk_y", pa.int32()),
                pa.field("b", pa.fixed_shape_tensor(pa.int16(), [2, 2])),
                pa.field("m", pa.fixed_shape_tensor(pa.float64(), [2, 2])),
            ],
            metadata=meta,
        )
        t = pa.table(
            [
                pa.array([0, 1], pa.int32()),
                pa.array([0, 0], pa.int32()),
                tensor([[1, 2, 3, 4], [5, 6, 7, 8]], pa.int16()),
                tensor([[1, 2, 3, 4], [5, 6, 7, 8]], pa.float64(), mask=pa.array([False, True])),
            ],
            schema=schema,
        )
        ds = swath.to_xarray(t)
        # box: chunks 0..1 x 0..0 -> columns 0..3, rows 0..1 (both rows inside the grid)
        np.testing.assert_array_equal(ds["b"].values, [[1, 2, 5, 6], [3, 4, 7, 8]])
        self.assertEqual(ds["b"].dtype, np.int16)
        self.assertIsNone(ds["b"].rio.nodata)  # nothing filled, nothing declared
        n = np.nan
        np.testing.assert_array_equal(ds["m"].values, [[1, 2, n, n], [3, 4, n, n]])
        # an integer band without nodata, with a missing chunk: 0, declared as nodata
        first = t.slice(0, 1)
        moved = first.set_column(0, "chunk_x", pa.array([2], pa.int32()))
        ds = swath.to_xarray(pa.concat_tables([first, moved]))  # chunks 0 and 2, not 1
        np.testing.assert_array_equal(ds["b"].values, [[1, 2, 0, 0, 1], [3, 4, 0, 0, 3]])
        self.assertEqual(ds["b"].rio.nodata, 0)

    def test_permuted_tensor_matches_pyarrow(self):
        # shape is the physical shape; permutation [1, 0] stores tiles transposed.
        typ = pa.fixed_shape_tensor(pa.int32(), [2, 2], permutation=[1, 0])
        storage = pa.FixedSizeListArray.from_arrays(pa.array([1, 2, 3, 4], pa.int32()), 4)
        arr = pa.ExtensionArray.from_storage(typ, storage)
        t = pa.table(
            [pa.array([0], pa.int32()), pa.array([0], pa.int32()), arr],
            schema=pa.schema([pa.field("chunk_x", pa.int32()), pa.field("chunk_y", pa.int32()),
                              pa.field("v", typ)], metadata={"swath:grid": json.dumps(GRID)}),
        )
        ds = swath.to_xarray(t)
        np.testing.assert_array_equal(ds["v"].values, [[1, 3], [2, 4]])
        np.testing.assert_array_equal(ds["v"].values, arr.to_numpy_ndarray()[0])

    def test_without_rioxarray(self):
        with mock.patch.dict(sys.modules, {"rioxarray": None}):
            ds = swath.to_xarray(chunk_table())
        np.testing.assert_array_equal(ds["red"].values, RED)
        ref = ds["spatial_ref"].attrs
        self.assertEqual(ref["GeoTransform"], "100.0 10.0 0.0 200.0 0.0 -10.0")
        self.assertIn("32633", ref["crs_wkt"])
        self.assertEqual(ds["red"].attrs["_FillValue"], 0)
        self.assertEqual(ds["red"].attrs["grid_mapping"], "spatial_ref")

    def test_errors(self):
        t = chunk_table()
        with self.assertRaisesRegex(ValueError, "no grid"):
            swath.to_xarray(t.replace_schema_metadata(None))
        with self.assertRaisesRegex(ValueError, "chunk_y"):
            swath.to_xarray(t.drop_columns(["chunk_y"]))
        bad = t.set_column(1, "chunk_x", pa.array([3] * t.num_rows, pa.int32()))
        with self.assertRaisesRegex(ValueError, "outside"):
            swath.to_xarray(bad)

    def test_empty_result(self):
        ds = swath.to_xarray(chunk_table([]))
        self.assertEqual(ds["red"].shape, (0, 0, 0))
        self.assertEqual(ds["red"].dtype, np.uint16)


class PlainTableTest(unittest.TestCase):
    def test_no_tile_columns_gives_dataframe(self):
        t = pa.table(
            {
                "solar_day": pa.array([D1, D2], pa.date32()),
                "ndvi": pa.array([0.25, 0.5], pa.float64()),
                "clear_pixels": pa.array([10, 12], pa.int64()),
            }
        )
        df = swath.to_xarray(t)
        import pandas as pd

        self.assertIsInstance(df, pd.DataFrame)
        self.assertEqual(list(df.columns), ["solar_day", "ndvi", "clear_pixels"])
        self.assertEqual(df["ndvi"].tolist(), [0.25, 0.5])
        self.assertEqual(df["clear_pixels"].tolist(), [10, 12])
        self.assertEqual(list(df["solar_day"]), [D1, D2])


class TileFieldsTest(unittest.TestCase):
    def test_detects_both_forms_only(self):
        schema = pa.schema(
            [
                pa.field("a", pa.fixed_shape_tensor(pa.uint8(), [2, 3])),
                pa.field("b", pa.list_(pa.uint8(), 6), metadata={
                    "ARROW:extension:name": "arrow.fixed_shape_tensor",
                    "ARROW:extension:metadata": '{"shape":[3,2]}'}),
                pa.field("c", pa.list_(pa.uint8(), 6)),
                pa.field("d", pa.binary()),
            ]
        )
        fields = swath.tile_fields(schema)
        self.assertEqual([(f.name, f.logical_shape) for f in fields], [("a", [2, 3]), ("b", [3, 2])])


if __name__ == "__main__":
    unittest.main()
