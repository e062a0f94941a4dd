#!/usr/bin/env python3
"""What the dashboard costs W2: the same COPY … STORED AS COG through Flight SQL on
two `swath serve --threads 2` processes, one with `--http off`, one with the
dashboard and a client polling it as an open page does (and more), on the same
GDAL-written catalogue.

    dashboard.py [--size 2048] [--scenes 24] [--runs 3] [--swath PATH] [--catalogs DIR]
                 [--json FILE]

Runs alternate between the two servers (off, on, on, off, off, on, …) so drift
in the machine hits both alike. The poller asks `/api/queries` and the running statement's
`/api/queries/{id}` every 0.5 s and `/api/executors` every second. Reported: the
median wall time of each and their ratio (the target is under 1.03).
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
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "python"))
from run import side_bench_args, w2_sql  # noqa: E402
from serve import free_port  # noqa: E402

import swath  # noqa: E402


def wait_port(port, proc):
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("swath serve did not start")
            time.sleep(0.1)


def statements(text):
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class Poller:
    """Polls a dashboard as an open page does, until stopped; counts requests."""

    def __init__(self, base):
        self.base = base
        self.requests = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            self.requests += 1
            return json.loads(r.read())

    def run(self):
        tick = 0
        while not self.stop.is_set():
            queries = self.get("/api/queries")["queries"]
            for q in queries:
                if q["state"] == "running":
                    self.get(f"/api/queries/{q['id']}")
            if tick % 2 == 0:
                self.get("/api/executors")
            tick += 1
            self.stop.wait(0.5)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.requests


def main():
    ap = argparse.ArgumentParser()
    side_bench_args(ap)
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="swath-dashboard-bench-")
    cat_dir, sql = w2_sql(a, out)
    create, copy = statements(sql)

    servers = {}
    try:
        for name in ("off", "on"):
            port, http = free_port(), free_port()
            args = [a.swath, "serve", "--bind", f"127.0.0.1:{port}", "--threads", "2",
                    "--allow-root", cat_dir, "--output-root", out,
                    "--http", "off" if name == "off" else f"127.0.0.1:{http}"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            wait_port(port, proc)
            servers[name] = (proc, f"grpc://127.0.0.1:{port}", f"http://127.0.0.1:{http}")
        runs = {"off": [], "on": []}
        polls = []
        for i in range(a.runs):
            # Alternate which goes first, so neither always runs on a warmer machine.
            for name in (("off", "on") if i % 2 == 0 else ("on", "off")):
                _, uri, base = servers[name]
                poller = Poller(base) if name == "on" else None
                t0 = time.perf_counter()
                with swath.connect(uri) as conn, conn.cursor() as cur:
                    cur.execute(create)
                    cur.execute(copy.replace("w2.tif", f"w2-{name}.tif"))
                    cur.fetch_arrow_table()
                runs[name].append(time.perf_counter() - t0)
                if poller:
                    polls.append(poller.done())
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)

    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    result = {"size": a.size, "scenes": a.scenes, "runs": a.runs,
              "off_s": off, "on_s": on, "ratio": on / off,
              "all_off_s": runs["off"], "all_on_s": runs["on"],
              "requests_per_run": statistics.median(polls)}
    print(f"W2 {a.size}²×{a.scenes} → COG over Flight SQL, median of {a.runs} (2 threads):")
    print(f"  dashboard off: {off:.2f} s")
    print(f"  dashboard on, polled ({result['requests_per_run']:.0f} requests a run): "
          f"{on:.2f} s")
    print(f"  on / off: {on / off:.3f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
