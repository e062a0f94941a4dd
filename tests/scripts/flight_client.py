"""Real Flight SQL clients against `swath serve` (started by the Rust tests).

    flight_client.py workloads URI SQL_DIR SHELL_W2_COG
    flight_client.py security URI TOKEN OUTSIDE_DIR ASSET_CATALOGUE ALLOWED_CATALOGUE
    flight_client.py tls URI CA_PEM TOKEN
    flight_client.py concurrency URI SERVER_PID SECONDS CLIENTS SQL_FILE EXPECTED_CSV

Clients are ADBC (adbc-driver-flightsql, through the `swath` package in python/)
and pyarrow.flight for raw Flight calls. Each mode prints one JSON object on
stdout; any failed check raises (exit status 1).
"""

import json
import os
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.flight as flight  # noqa: E402

import swath  # noqa: E402


def statements(text):
    """SQL statements of a file (`;` at a line end ends one; `--` comments dropped)."""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    out, cur = [], []
    for ln in lines:
        cur.append(ln)
        if ln.rstrip().endswith(";"):
            out.append("\n".join(cur).rstrip().rstrip(";"))
            cur = []
    rest = "\n".join(cur).strip()
    if rest:
        out.append(rest)
    return [s for s in out if s.strip()]


def expect_error(fn, code, *needles):
    """Run fn; it must fail with a message containing `code` and every needle
    (ADBC names the gRPC status in its message: `(PermissionDenied; …)`)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any client error type
        text = f"{type(e).__name__}: {e}"
        assert code in text, f"expected {code}, got: {text}"
        for n in needles:
            assert n in text, f"expected {n!r} in: {text}"
        return text
    raise AssertionError(f"expected {code}, but the call succeeded")


def run_sql(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


# --- workloads ---------------------------------------------------------------


def workloads(uri, sql_dir, shell_w2_cog):
    report = {}
    # Each workload on a connection (a session) of its own, as the shell runs
    # each in a process of its own.
    for w in ["w1", "w2", "w3", "w4", "w5"]:
        with swath.connect(uri) as conn:
            text = open(os.path.join(sql_dir, f"{w}.sql")).read()
            for stmt in statements(text):
                t = run_sql(conn, stmt)
                if stmt.lstrip().upper().startswith("COPY"):
                    report[w] = t.column(0)[0].as_py()

    with swath.connect(uri) as conn:
        # W2's composite as chunk rows: tiles arrive as fixed-shape tensors.
        w2 = open(os.path.join(sql_dir, "w2.sql")).read()
        run_sql(conn, statements(w2)[0])
        inner = w2[w2.index("COPY (") + len("COPY (") : w2.rindex(") TO ")]
        table = run_sql(conn, inner)
        red = table.column("red").combine_chunks()
        assert isinstance(red, pa.FixedShapeTensorArray), type(red)
        shape = red.type.shape
        arr = red.to_numpy_ndarray()
        assert arr.shape == (len(table), shape[0], shape[1]), arr.shape
        assert b"swath:grid" in (table.schema.metadata or {}), table.schema.metadata
        ds = swath.to_xarray(table)

        # Pixel for pixel against the COG the shell wrote for the same query.
        import rioxarray  # noqa: F401
        import xarray as xr

        cog = xr.open_dataarray(shell_w2_cog, engine="rasterio", mask_and_scale=False)
        assert str(ds.rio.crs) == str(cog.rio.crs), (ds.rio.crs, cog.rio.crs)
        order = ["red", "green", "blue", "nir"]
        compared = 0
        for i, name in enumerate(order):
            band = cog.isel(band=i)
            got = ds[name].sel(x=band.x, y=band.y)
            a, b = got.values, band.values.astype(got.dtype)
            assert a.shape == b.shape, (a.shape, b.shape)
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            assert same.all(), f"{name}: {int((~same).sum())} pixels differ"
            compared += int((~np.isnan(a)).sum())
        assert compared > 0
        report["w2_xarray_valid_pixels"] = compared
        report["w2_xarray_shape"] = list(ds["red"].shape)

        # Prepared statement with a parameter = the literal query.
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) AS n FROM s2 WHERE chunk_x = ?", parameters=(1,))
            n_param = cur.fetchone()[0]
        n_lit = run_sql(conn, "SELECT count(*) AS n FROM s2 WHERE chunk_x = 1").column(0)[0].as_py()
        assert n_param == n_lit and n_lit > 0, (n_param, n_lit)
        report["prepared_rows"] = n_param

        # Metadata as a BI tool asks it.
        info = conn.adbc_get_info()
        assert info.get("vendor_name") == "Swath", info
        objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
        tables = {
            t["table_name"]: t
            for c in objects
            for s in c["catalog_db_schemas"]
            for t in (s["db_schema_tables"] or [])
        }
        assert "s2" in tables, list(tables)
        columns = [c["column_name"] for c in tables["s2"]["table_columns"]]
        for col in ["chunk_x", "chunk_y", "solar_day", "red", "nir", "scl"]:
            assert col in columns, columns
        schema = conn.adbc_get_table_schema("s2")
        assert isinstance(schema.field("red").type, pa.FixedShapeTensorType), schema.field("red")
        types = conn.adbc_get_table_types()
        assert "TABLE" in types and "VIEW" in types, types
        report["tables"] = sorted(tables)
        # Pixel-view results become a DataFrame.
        px = run_sql(conn, "SELECT solar_day, count(*) AS n FROM s2 GROUP BY solar_day ORDER BY solar_day")
        df = swath.to_xarray(px)
        assert list(df.columns) == ["solar_day", "n"] and len(df) >= 4, df
    print(json.dumps(report))


# --- security ----------------------------------------------------------------


def flight_client(uri, user, token):
    client = flight.connect(uri)
    header = client.authenticate_basic_token(user, token)
    return client, flight.FlightCallOptions(headers=[header])


def any_command(type_name, query):
    """A Flight SQL command as protobuf Any bytes (field 1: the query string)."""
    body = query.encode()
    value = b"\x0a" + varint(len(body)) + body
    url = f"type.googleapis.com/arrow.flight.protocol.sql.{type_name}".encode()
    return b"\x0a" + varint(len(url)) + url + b"\x12" + varint(len(value)) + value


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def security(uri, token, outside_dir, asset_catalogue, allowed_catalogue):
    report = {}
    # Wrong token, no token: Unauthenticated, with no detail.
    bad = "x" * 24

    def wrong():
        with swath.connect(uri, user="alice", token=bad) as c:
            run_sql(c, "SELECT 1")

    text = expect_error(wrong, "Unauthenticated")
    assert bad not in text, text
    expect_error(lambda: run_sql(swath.connect(uri, token=bad), "SELECT 1"), "Unauthenticated")
    client = flight.connect(uri)
    expect_error(lambda: list(client.list_actions()), "nauthenticated")

    with swath.connect(uri, user="alice", token=token) as conn:
        assert run_sql(conn, "SELECT 1 AS one").column(0)[0].as_py() == 1
        # Reading outside the allowed roots: refused at plan time.
        text = expect_error(
            lambda: run_sql(conn, f"CREATE EXTERNAL TABLE o STORED AS CSV LOCATION '{outside_dir}/'"),
            "PermissionDenied",
            "--allow-root",
        )
        expect_error(
            lambda: run_sql(conn, f"CREATE EXTERNAL TABLE a STORED AS STAC LOCATION '{asset_catalogue}'"),
            "--allow-root",
        )
        # A catalogue inside whose assets lie outside: refused before reading them.
        report["asset_refusal"] = expect_error(
            lambda: run_sql(conn, f"CREATE EXTERNAL TABLE b STORED AS STAC LOCATION '{allowed_catalogue}'"),
            "--allow-root",
            "data",
        )
        # Writing outside the output roots.
        expect_error(
            lambda: run_sql(conn, f"COPY (SELECT 1 AS a) TO '{outside_dir}/x.csv' STORED AS CSV"),
            "PermissionDenied",
            "--output-root",
        )
        assert not os.path.exists(os.path.join(outside_dir, "x.csv"))
        # Store options that would redirect the server's credentials.
        expect_error(
            lambda: run_sql(
                conn,
                f"CREATE EXTERNAL TABLE e STORED AS STAC LOCATION '{allowed_catalogue}' "
                "OPTIONS ('aws.endpoint' 'http://127.0.0.1:9')",
            ),
            "PermissionDenied",
        )
        # SET of runtime limits.
        expect_error(
            lambda: run_sql(conn, "SET datafusion.runtime.memory_limit = '100G'"),
            "PermissionDenied",
        )
        expect_error(
            lambda: run_sql(conn, "SET datafusion.execution.target_partitions = 512"),
            "PermissionDenied",
        )
        run_sql(conn, "SET datafusion.format.null = 'NULL'")
        # The statement timeout ends a long query; the server keeps serving.
        t0 = time.time()
        expect_error(
            lambda: run_sql(conn, "SELECT sum(value) FROM range(100000000000)"),
            "DeadlineExceeded",
            "statement timeout",
        )
        report["timeout_after_s"] = round(time.time() - t0, 2)
        # The session memory limit ends a query that needs more.
        expect_error(
            lambda: run_sql(conn, "SELECT array_agg(value) FROM range(40000000)"),
            "ResourceExhausted",
        )
        assert run_sql(conn, "SELECT 2 AS two").column(0)[0].as_py() == 2
        # A table made twice: ALREADY_EXISTS, not an internal error.
        run_sql(conn, "CREATE VIEW v AS SELECT 1 AS one")
        expect_error(lambda: run_sql(conn, "CREATE VIEW v AS SELECT 1 AS one"), "AlreadyExists")
        # Bad SQL: a clear INVALID_ARGUMENT.
        expect_error(lambda: run_sql(conn, "SELEC 1"), "InvalidArgument")

    # Raw Flight: a statement cancelled with CancelFlightInfo mid-stream, and
    # malformed messages.
    client, opts = flight_client(uri, "alice", token)
    desc = flight.FlightDescriptor.for_command(
        any_command("CommandStatementQuery", "SELECT value FROM range(100000000000)")
    )
    info = client.get_flight_info(desc, opts)
    reader = client.do_get(info.endpoints[0].ticket, opts)
    first = reader.read_chunk()
    assert first.data.num_rows > 0
    request = info.serialize()
    body = b"\x0a" + varint(len(request)) + request
    results = list(client.do_action(flight.Action("CancelFlightInfo", body), opts))
    assert results and results[0].body.to_pybytes() == b"\x08\x01", results  # CANCELLED
    t0 = time.time()

    def drain():
        while True:
            reader.read_chunk()

    report["cancel"] = expect_error(drain, "ancel")
    report["cancel_drained_s"] = round(time.time() - t0, 2)
    # GetXdbcTypeInfo (all types), as JDBC/ODBC bridges ask it.
    url = b"type.googleapis.com/arrow.flight.protocol.sql.CommandGetXdbcTypeInfo"
    xdbc = flight.FlightDescriptor.for_command(b"\x0a" + varint(len(url)) + url)
    xinfo = client.get_flight_info(xdbc, opts)
    types = client.do_get(xinfo.endpoints[0].ticket, opts).read_all()
    names = types.column("type_name").to_pylist()
    for name in ["BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP"]:
        assert name in names, names
    report["xdbc_types"] = len(names)
    # A ticket cannot be fetched twice, nor one that was never issued.
    expect_error(lambda: client.do_get(info.endpoints[0].ticket, opts).read_all(), "no such statement")
    expect_error(lambda: client.do_get(flight.Ticket(b"garbage"), opts).read_all(), "")
    expect_error(
        lambda: client.get_flight_info(flight.FlightDescriptor.for_command(b"\xff\x00junk"), opts),
        "",
    )
    expect_error(
        lambda: list(client.do_action(flight.Action("CancelFlightInfo", b"\xff\xff"), opts)),
        "malformed",
    )
    # A client that goes away mid-stream: the server cancels, keeps serving.
    info = client.get_flight_info(desc, opts)
    reader = client.do_get(info.endpoints[0].ticket, opts)
    reader.read_chunk()
    reader.cancel()
    client.close()
    with swath.connect(uri, user="alice", token=token) as conn:
        assert run_sql(conn, "SELECT 3 AS three").column(0)[0].as_py() == 3
    print(json.dumps(report))


def tls(uri, ca_pem, token):
    with swath.connect(uri, user="alice", token=token, tls_root_certs=ca_pem) as conn:
        v = run_sql(conn, "SELECT 40 + 2 AS answer").column(0)[0].as_py()
        assert v == 42, v
    # Plain gRPC against the TLS port fails.
    plain = uri.replace("grpc+tls://", "grpc://")
    expect_error(lambda: run_sql(swath.connect(plain, user="alice", token=token), "SELECT 1"), "")
    print(json.dumps({"tls": True}))


def make_cert(out_dir):
    """A self-signed certificate for 127.0.0.1 / localhost: cert.pem, key.pem."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    os.makedirs(out_dir, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swath test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    with open(os.path.join(out_dir, "cert.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(out_dir, "key.pem"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    print(json.dumps({"dir": out_dir}))


def query(uri, sql_file):
    """Run a file's statements on one connection; the last result as CSV."""
    with swath.connect(uri) as conn:
        for stmt in statements(open(sql_file).read()):
            t = run_sql(conn, stmt)
    lines = [",".join(t.column_names)]
    for row in zip(*[c.to_pylist() for c in t.columns]):
        lines.append(",".join("" if v is None else str(v) for v in row))
    print("\n".join(lines))
    print(json.dumps({"rows": len(t)}))


# --- concurrency -------------------------------------------------------------


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def concurrency(uri, pid, seconds, clients, sql_file, expected_csv):
    stmts = statements(open(sql_file).read())
    create, query = stmts[0], stmts[1]
    expected = [ln.split(",") for ln in open(expected_csv).read().strip().splitlines()[1:]]
    expected = [(d, int(n)) for d, n in expected]
    stop = time.time() + seconds
    errors, runs = [], [0] * clients
    samples = []

    def client(i):
        try:
            with swath.connect(uri) as conn:
                run_sql(conn, create)
                while time.time() < stop:
                    t = run_sql(conn, query)
                    got = [(str(d), int(n)) for d, n in zip(t.column(0).to_pylist(), t.column(1).to_pylist())]
                    if got != expected:
                        raise AssertionError(f"client {i}: {got} != {expected}")
                    runs[i] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(f"client {i}: {e}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.time()
    while any(t.is_alive() for t in threads) and time.time() < stop + 120:
        samples.append((time.time() - t0, rss_kib(pid)))
        time.sleep(0.5)
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(r > 0 for r in runs), runs
    # Flat memory: the last third's peak within 25 % (+ 32 MiB) of the middle
    # third's (the first third is warm-up).
    n = len(samples)
    middle = max(r for _, r in samples[n // 3 : 2 * n // 3])
    last = max(r for _, r in samples[2 * n // 3 :])
    assert last <= middle * 1.25 + 32 * 1024, (middle, last)
    print(json.dumps({"runs": runs, "rss_middle_kib": middle, "rss_last_kib": last, "samples": n}))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "workloads":
        workloads(*args)
    elif mode == "security":
        security(*args)
    elif mode == "tls":
        tls(*args)
    elif mode == "query":
        query(*args)
    elif mode == "make-cert":
        make_cert(*args)
    elif mode == "concurrency":
        uri, pid, seconds, clients, sql_file, expected = args
        concurrency(uri, int(pid), float(seconds), int(clients), sql_file, expected)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
