#!/usr/bin/env python3
"""W2's composite fetched over Flight SQL (`swath serve` + ADBC + swath.to_xarray)
against the shell writing the COG and rasterio reading it back, on the same
GDAL-written catalogue.

    serve.py [--size 2048] [--scenes 24] [--runs 3] [--swath PATH] [--catalogs DIR]
             [--json FILE]

COG path, timed: `swath --threads 2 -f w2.sql` (the whole process: planning, the
composite, the COG written), then rasterio reading the four bands into numpy.
Flight path, timed: on a running `swath serve --threads 2` (started once, not
timed), a new ADBC connection creates the table, runs W2's SELECT (the same query
without its COPY), fetches the chunk rows as Arrow, and `swath.to_xarray` makes the
Dataset. Peak RSS of the shell process and of the server are sampled every 20 ms;
the Dataset is checked pixel for pixel against the COG.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "python"))
from run import side_bench_args, w2_sql  # noqa: E402

import swath  # noqa: E402


class Peak:
    """Peak RSS of one process, sampled every 20 ms in a thread."""

    def __init__(self, pid):
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.peak


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_cog(path):
    import rasterio

    with rasterio.open(path) as src:
        return src.read(), src.transform


def statements(text):
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def main():
    ap = argparse.ArgumentParser()
    side_bench_args(ap)
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="swath-serve-bench-")
    cat_dir, sql = w2_sql(a, out)
    sql_file = os.path.join(out, "w2.sql")
    with open(sql_file, "w") as f:
        f.write(sql)
    create = statements(sql)[0]
    inner = sql[sql.index("COPY (") + len("COPY ("): sql.rindex(") TO ")]

    port = free_port()
    server = subprocess.Popen(
        [a.swath, "serve", "--bind", f"127.0.0.1:{port}", "--threads", "2",
         "--allow-root", cat_dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    uri = f"grpc://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("swath serve did not start")
            time.sleep(0.1)

    cog_runs, flight_runs = [], []
    try:
        for _ in range(a.runs):
            t0 = time.perf_counter()
            p = subprocess.Popen([a.swath, "--threads", "2", "-f", sql_file],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            peak = Peak(p.pid)
            _, err = p.communicate()
            shell_rss = peak.done()
            if p.returncode != 0:
                raise SystemExit(err.decode())
            t1 = time.perf_counter()
            pixels, _ = read_cog(os.path.join(out, "w2.tif"))
            t2 = time.perf_counter()
            cog_runs.append({"shell_s": t1 - t0, "read_s": t2 - t1, "total_s": t2 - t0,
                             "shell_peak_rss_mb": shell_rss / 2**20,
                             "cog_bytes": os.path.getsize(os.path.join(out, "w2.tif"))})

            peak = Peak(server.pid)
            t0 = time.perf_counter()
            with swath.connect(uri) as conn, conn.cursor() as cur:
                cur.execute(create)
                cur.execute(inner)
                table = cur.fetch_arrow_table()
            t1 = time.perf_counter()
            ds = swath.to_xarray(table)
            t2 = time.perf_counter()
            server_rss = peak.done()
            flight_runs.append({"query_fetch_s": t1 - t0, "to_xarray_s": t2 - t1,
                                "total_s": t2 - t0, "server_peak_rss_mb": server_rss / 2**20,
                                "arrow_bytes": table.nbytes})
        # Pixel for pixel: the Dataset against the COG (bands red, green, blue, nir).
        import rioxarray  # noqa: F401
        import xarray as xr

        cog = xr.open_dataarray(os.path.join(out, "w2.tif"), engine="rasterio",
                                mask_and_scale=False)
        for i, name in enumerate(["red", "green", "blue", "nir"]):
            band = cog.isel(band=i)
            got = ds[name].sel(x=band.x, y=band.y).values
            want = band.values.astype(got.dtype)
            same = (got == want) | (np.isnan(got) & np.isnan(want))
            assert same.all(), f"{name}: {int((~same).sum())} pixels differ"
    finally:
        server.terminate()
        server.wait(timeout=30)

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    result = {
        "size": a.size, "scenes": a.scenes, "runs": a.runs,
        "cog": {k: med(cog_runs, k) for k in cog_runs[0]},
        "flight": {k: med(flight_runs, k) for k in flight_runs[0]},
    }
    result["ratio_flight_over_cog"] = result["flight"]["total_s"] / result["cog"]["total_s"]
    print(f"W2 {a.size}²×{a.scenes}, median of {a.runs} (2 threads):")
    c, fl = result["cog"], result["flight"]
    print(f"  COG:    shell {c['shell_s']:.2f} s + rasterio read {c['read_s']:.2f} s = "
          f"{c['total_s']:.2f} s; shell peak RSS {c['shell_peak_rss_mb']:.0f} MB; "
          f"COG {c['cog_bytes'] / 2**20:.1f} MiB")
    print(f"  Flight: query+fetch {fl['query_fetch_s']:.2f} s + to_xarray "
          f"{fl['to_xarray_s']:.2f} s = {fl['total_s']:.2f} s; server peak RSS "
          f"{fl['server_peak_rss_mb']:.0f} MB; Arrow {fl['arrow_bytes'] / 2**20:.1f} MiB")
    print(f"  Flight / COG: {result['ratio_flight_over_cog']:.2f}; pixels identical")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
