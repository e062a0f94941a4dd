#!/usr/bin/env python3
"""The canonical workloads over HTTP with injected latency: Swath against the Python
stack (odc-stac + rasterio, i.e. GDAL's /vsicurl/ with odc-stac's cloud defaults)
reading the same URLs from the same server, side by side.

    remote.py [--size 1024] [--scenes 24] [--runs 3] [--latency 20] [--workloads w2,w5]
              [--swath PATH] [--catalogs DIR] [--json FILE]

The catalogue is benches/compare's GDAL-written one (make_catalog.py), served by
tests/scripts/http_server.py on 127.0.0.1 with `--latency` milliseconds before every
answer. Per workload and side it reports the median wall time, the COG requests and
bytes the server saw (from its request log), and Swath's local time for the same
workload; then W2 again with a header index (`swath index`), whose requests must hold
no header read. Results are compared as in run.py.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from run import HERE, OUTPUT, REPO, VALUE, compare_cog, compare_csv, box, measure


class Server:
    def __init__(self, root, latency, log):
        self.log = log
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(REPO, "tests/scripts/http_server.py"), "--root", root,
             "--log", log, "--latency", str(latency), "--lifetime", "7200"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.port = int(self.p.stdout.readline())

    def url(self, rel):
        return f"http://127.0.0.1:{self.port}/{rel}"

    def clear(self):
        open(self.log, "w").close()

    def counts(self):
        """COG requests, COG bytes, header requests (ranges from byte 0), JSON requests."""
        tifs = jsons = headers = sent = 0
        for line in open(self.log):
            r = json.loads(line)
            if r["path"].endswith(".tif"):
                tifs += 1
                sent += r["bytes"]
                if (r["range"] or "").startswith("bytes=0-") or r["method"] == "HEAD":
                    headers += 1
            elif r["path"].endswith(".json"):
                jsons += 1
        return tifs, sent, headers, jsons

    def stop(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def sql_file(w, collection, out, extra=""):
    west, south, east, north = box_of[0]
    sql = open(os.path.join(HERE, "sql", f"{w}.sql")).read().format(
        collection=collection, out=out, west=west, south=south, east=east, north=north)
    if extra:
        sql = sql.replace("OPTIONS (bands", f"OPTIONS ({extra}, bands", 1)
    path = os.path.join(out, f"{w}.sql")
    with open(path, "w") as f:
        f.write(sql)
    return path


box_of = [None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--scenes", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency", type=float, default=20.0, help="milliseconds per request")
    ap.add_argument("--workloads", default="w2,w5")
    ap.add_argument("--swath", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "fast", "swath"))
    ap.add_argument("--catalogs", default=os.path.expanduser("~/.cache/swath/bench-catalogs"))
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    threads = os.cpu_count()
    cat_dir = os.path.join(a.catalogs, f"{a.size}x{a.scenes}")
    subprocess.run([sys.executable, os.path.join(HERE, "make_catalog.py"), cat_dir,
                    "--size", str(a.size), "--scenes", str(a.scenes)], check=True)
    local = os.path.join(cat_dir, "collection.json")
    box_of[0] = box(local)
    log = tempfile.mktemp(suffix=".jsonl")
    server = Server(cat_dir, a.latency, log)
    remote = server.url("collection.json")
    results = []
    try:
        for w in a.workloads.split(","):
            outs = {k: tempfile.mkdtemp(prefix=f"{k}-{w}-") for k in ("local", "swath", "python")}
            cmds = {
                "local": [a.swath, "--threads", str(threads), "-f",
                          sql_file(w, local, outs["local"])],
                "swath": [a.swath, "--threads", str(threads), "-f",
                          sql_file(w, remote, outs["swath"])],
                "python": [sys.executable, os.path.join(HERE, "python_workloads.py"), remote, w,
                           outs["python"], "--bbox", ",".join(map(str, box_of[0]))],
            }
            times = {k: [] for k in cmds}
            counts = {}
            for r in range(a.runs):
                order = list(cmds.items())
                if r % 2:
                    order.reverse()
                for side, cmd in order:
                    server.clear()
                    wall, _ = measure(cmd)
                    times[side].append(wall)
                    counts[side] = server.counts()
            a_out = os.path.join(outs["swath"], OUTPUT[w])
            b_out = os.path.join(outs["python"], OUTPUT[w])
            if OUTPUT[w].endswith(".csv"):
                diff, p99, n, one = compare_csv(a_out, b_out, VALUE[w])
            else:
                diff, p99, n, one = compare_cog(a_out, b_out)
            row = {"workload": w, "latency_ms": a.latency}
            for side in cmds:
                row[f"{side}_s"] = statistics.median(times[side])
            for side in ("swath", "python"):
                tifs, sent, headers, jsons = counts[side]
                row[f"{side}_cog_requests"] = tifs
                row[f"{side}_cog_bytes"] = sent
                row[f"{side}_header_requests"] = headers
                row[f"{side}_json_requests"] = jsons
            row.update(max_abs_diff=diff, p99_abs_diff=p99, compared=n, one_side_only=one)
            row["speedup"] = row["python_s"] / row["swath_s"]
            row["remote_over_local"] = row["swath_s"] / row["local_s"]
            results.append(row)
            print(f"{w} over HTTP at {a.latency:g} ms: swath {row['swath_s']:.2f} s "
                  f"({row['swath_cog_requests']} COG requests, {row['swath_cog_bytes'] / 2**20:.1f} MiB), "
                  f"python {row['python_s']:.2f} s ({row['python_cog_requests']} requests, "
                  f"{row['python_cog_bytes'] / 2**20:.1f} MiB): {row['speedup']:.1f}x; "
                  f"swath local {row['local_s']:.2f} s ({row['remote_over_local']:.2f}x); "
                  f"|diff| max {diff:.3g} over {n} values, {one} on one side only", flush=True)

        # W2 again with a header index: no header request at all.
        if "w2" in a.workloads.split(","):
            out = tempfile.mkdtemp(prefix="swath-w2-index-")
            index = os.path.join(out, "headers.parquet")
            subprocess.run([a.swath, "index", remote, "--bands", "blue,green,red,nir,scl",
                            "-o", index], check=True, stdout=subprocess.DEVNULL)
            cmd = [a.swath, "--threads", str(threads), "-f",
                   sql_file("w2", remote, out, f"header_index '{index}'")]
            walls = []
            for _ in range(a.runs):
                server.clear()
                wall, _ = measure(cmd)
                walls.append(wall)
            tifs, sent, headers, _ = server.counts()
            row = {"workload": "w2+index", "latency_ms": a.latency, "swath_s": statistics.median(walls),
                   "swath_cog_requests": tifs, "swath_cog_bytes": sent, "swath_header_requests": headers}
            results.append(row)
            print(f"w2 with the header index: swath {row['swath_s']:.2f} s, {tifs} COG requests, "
                  f"{headers} header requests", flush=True)
    finally:
        server.stop()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"size": a.size, "scenes": a.scenes, "runs": a.runs, "threads": threads,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
