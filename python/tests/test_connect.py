"""swath.connect: option mapping, and the ADBC driver's auth against a fake server.

The fake server is a pyarrow.flight server (not Flight SQL): it answers the
Handshake with a bearer token in the ``authorization`` response header, as
``swath serve`` does, records the ``authorization`` header of every call, and
answers any query with a fixed chunk table. Skipped without the ADBC packages.

Run from the repository root:
    ~/.cache/swath/venv/bin/python -m unittest discover -s python/tests -v
"""

import base64
import json
import os
import sys
import tempfile
import threading
import unittest

import numpy as np
import pyarrow as pa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import swath  # noqa: E402

try:
    import adbc_driver_flightsql  # noqa: F401
    import adbc_driver_manager  # noqa: F401
    import pyarrow.flight as flight
except ImportError:  # pragma: no cover
    flight = None

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@unittest.skipIf(flight is None, "adbc-driver-flightsql / pyarrow.flight not installed")
class DatabaseOptionsTest(unittest.TestCase):
    def test_default_is_anonymous_basic_auth(self):
        self.assertEqual(swath.database_options(), {"username": "swath", "password": "anonymous"})

    def test_user_and_token_is_basic_auth(self):
        self.assertEqual(
            swath.database_options(user="ana", token="secret"),
            {"username": "ana", "password": "secret"},
        )
        self.assertEqual(
            swath.database_options(user="ana"), {"username": "ana", "password": "anonymous"}
        )

    def test_token_alone_is_bearer_header(self):
        self.assertEqual(
            swath.database_options(token="t0k"),
            {"adbc.flight.sql.authorization_header": "Bearer t0k"},
        )

    def test_tls_root_certs_text_or_path(self):
        opts = swath.database_options("grpc+tls://h:1", tls_root_certs=PEM)
        self.assertEqual(opts["adbc.flight.sql.client_option.tls_root_certs"], PEM)
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
            f.write(PEM)
        try:
            opts = swath.database_options("grpc+tls://h:1", tls_root_certs=f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(opts["adbc.flight.sql.client_option.tls_root_certs"], PEM)
        with self.assertRaises(ValueError):
            swath.database_options("grpc://h:1", tls_root_certs=PEM)

    def test_short_option_names_and_passthrough(self):
        opts = swath.database_options(
            tls_skip_verify=True, timeout_query=30, **{"adbc.flight.sql.rpc.call_header.x-a": "b"}
        )
        self.assertEqual(opts["adbc.flight.sql.client_option.tls_skip_verify"], "true")
        self.assertEqual(opts["adbc.flight.sql.rpc.timeout_seconds.query"], "30")
        self.assertEqual(opts["adbc.flight.sql.rpc.call_header.x-a"], "b")


GRID = {"crs": "EPSG:32633", "transform": [10.0, 0.0, 0.0, 0.0, -10.0, 40.0],
        "width": 3, "height": 4, "chunk_width": 2, "chunk_height": 2}


def served_table():
    """Chunks (0, 0) and (1, 0) of a 3x4 grid; the band as swath's schema has it."""
    typ = pa.fixed_shape_tensor(pa.uint16(), [2, 2])
    storage = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(1, 9, dtype=np.uint16)), 4)
    field = pa.field("red", typ, metadata={"swath:nodata": "0", "swath:grid": json.dumps(GRID)})
    schema = pa.schema([pa.field("chunk_x", pa.int32()), pa.field("chunk_y", pa.int32()), field])
    return pa.table(
        [pa.array([0, 1], pa.int32()), pa.array([0, 0], pa.int32()),
         pa.ExtensionArray.from_storage(typ, storage)],
        schema=schema,
    )


if flight is not None:

    class _Recorder(flight.ServerMiddlewareFactory):
        def __init__(self):
            self.calls = []
            self.sessions = 0
            self.lock = threading.Lock()

        def start_call(self, info, headers):
            auth = headers.get("authorization", [None])[0]
            with self.lock:
                self.calls.append((info.method, auth))
                if info.method == flight.FlightMethod.HANDSHAKE:
                    self.sessions += 1
                    return _SendToken(f"Bearer session-{self.sessions}")
            return None

    class _SendToken(flight.ServerMiddleware):
        def __init__(self, token):
            self.token = token

        def sending_headers(self):
            return {"authorization": self.token}

    class _AcceptAll(flight.ServerAuthHandler):
        """Lets the handshake through; the token travels in headers instead."""

        def authenticate(self, outgoing, incoming):
            pass

        def is_valid(self, token):
            return b""

    class _Server(flight.FlightServerBase):
        def get_flight_info(self, context, descriptor):
            if b"CommandGetSqlInfo" in descriptor.command:
                raise NotImplementedError("no SqlInfo")
            t = served_table()
            return flight.FlightInfo(t.schema, descriptor, [flight.FlightEndpoint(b"t", [])],
                                     t.num_rows, -1)

        def do_get(self, context, ticket):
            return flight.RecordBatchStream(served_table())

        def do_action(self, context, action):
            raise NotImplementedError(action.type)  # prepared statements, CloseSession


@unittest.skipIf(flight is None, "adbc-driver-flightsql / pyarrow.flight not installed")
class FakeServerTest(unittest.TestCase):
    def setUp(self):
        self.recorder = _Recorder()
        self.server = _Server("grpc://127.0.0.1:0", auth_handler=_AcceptAll(),
                              middleware={"rec": self.recorder})
        self.uri = f"grpc://127.0.0.1:{self.server.port}"

    def tearDown(self):
        self.server.shutdown()

    def query(self, conn):
        with conn.cursor() as cur:
            cur.execute("SELECT chunk_x, chunk_y, red FROM s2")
            return swath.to_xarray(cur)

    def handshakes(self):
        return [a for m, a in self.recorder.calls if m == flight.FlightMethod.HANDSHAKE]

    def later_auth(self):
        return {a for m, a in self.recorder.calls if m != flight.FlightMethod.HANDSHAKE}

    def test_basic_auth_handshake_gives_each_connection_its_session(self):
        with swath.connect(self.uri) as c1, swath.connect(self.uri) as c2:
            self.query(c1)
            self.query(c2)
        basic = "Basic " + base64.b64encode(b"swath:anonymous").decode()
        self.assertEqual(self.handshakes(), [basic, basic])
        self.assertEqual(self.later_auth(), {"Bearer session-1", "Bearer session-2"})

    def test_user_and_password(self):
        with swath.connect(self.uri, user="ana", token="pw") as c:
            self.query(c)
        self.assertEqual(self.handshakes(), ["Basic " + base64.b64encode(b"ana:pw").decode()])
        self.assertEqual(self.later_auth(), {"Bearer session-1"})

    def test_token_alone_sends_bearer_without_handshake(self):
        with swath.connect(self.uri, token="t0k") as c:
            self.query(c)
        self.assertEqual(self.handshakes(), [])
        self.assertEqual(self.later_auth(), {"Bearer t0k"})

    def test_result_over_the_wire_to_xarray(self):
        with swath.connect(self.uri) as c:
            ds = self.query(c)
        # columns 0..2 (cropped from 4), rows 0..1 of chunks (0, 0) and (1, 0)
        np.testing.assert_array_equal(ds["red"].values, [[1, 2, 5], [3, 4, 7]])
        np.testing.assert_array_equal(ds["x"].values, [5.0, 15.0, 25.0])
        np.testing.assert_array_equal(ds["y"].values, [35.0, 25.0])
        self.assertEqual(ds.rio.crs.to_epsg(), 32633)
        self.assertEqual(ds["red"].rio.nodata, 0)


if __name__ == "__main__":
    unittest.main()
