#!/usr/bin/env python3
"""W2 and W4 on a Swath cluster of 1 and 2 executors, each pinned to one core,
against dask.distributed with the same workers, on the same GDAL-written catalogue.

    cluster.py [--size 2048] [--scenes 24] [--runs 3] [--workloads w2,w4]
               [--swath PATH] [--catalogs DIR] [--json FILE]

Swath: `swath scheduler` and N `swath executor --concurrent-tasks 1`, executor i
under `taskset -c i`, started once per N and not timed; each run times the client
`swath --cluster df://… -f wK.sql` (planning, the job, the COG written). Python:
`python_workloads.py --scheduler distributed --workers N --threads-per-worker 1`
under `taskset -c 0..N-1`, timed inside the process around the workload (without
imports and LocalCluster's start-up, so the Python figures are flattering). Peak RSS
is sampled every 20 ms for every process: scheduler, each executor, client; the
Python process and each worker. The outputs are compared pixel by pixel as in run.py.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from run import box, compare_cog  # noqa: E402


def free_port_pair():
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                    return port
                except OSError:
                    continue
    raise SystemExit("no two free ports")


class Sampler:
    """Peak RSS of named processes (and, for `tree` ones, their children)."""

    def __init__(self):
        self.procs = {}
        self.peaks = {}

    def watch(self, name, pid, tree=False):
        self.procs[name] = (psutil.Process(pid), tree)
        self.peaks.setdefault(name, 0)

    def sample(self):
        for name, (p, tree) in list(self.procs.items()):
            try:
                if tree:
                    for i, c in enumerate(p.children(recursive=True)):
                        key = f"{name} child {i}"
                        self.peaks[key] = max(self.peaks.get(key, 0), c.memory_info().rss)
                self.peaks[name] = max(self.peaks[name], p.memory_info().rss)
            except psutil.Error:
                pass


def run_sampled(cmd, sampler, name, tree=False, timeout=None):
    """Run `cmd`, sampling RSS; its wall seconds and stdout. None for both if it
    ran past `timeout` seconds (the process tree is killed)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler.watch(name, p.pid, tree)
    while p.poll() is None:
        sampler.sample()
        if timeout and time.perf_counter() - start > timeout:
            for c in psutil.Process(p.pid).children(recursive=True):
                c.kill()
            p.kill()
            p.communicate()
            return None, None
        time.sleep(0.02)
    out, err = p.communicate()
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.decode()[-3000:]}")
    return wall, out.decode()


def start_cluster(swath, n, logdir):
    port = free_port_pair()
    procs = [subprocess.Popen(
        [swath, "scheduler", "--bind", f"127.0.0.1:{port}", "--executor-timeout", "30"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(logdir, "scheduler.log"), "w"))]
    for i in range(n):
        bind = free_port_pair()
        work = tempfile.mkdtemp(prefix=f"swath-exec{i}-")
        procs.append(subprocess.Popen(
            ["taskset", "-c", str(i), swath, "executor", "--scheduler", f"127.0.0.1:{port}",
             "--bind", f"127.0.0.1:{bind}", "--concurrent-tasks", "1", "--heartbeat", "1",
             "--work-dir", work],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(logdir, f"executor{i}.log"), "w")))
    url = f"df://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        out = subprocess.run([swath, "--cluster", url, "--format", "csv", "-c",
                              "SELECT count(*) AS n FROM swath.executors"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.splitlines()[1:] == [str(n)]:
            return url, procs
        if time.time() > deadline:
            raise SystemExit(f"the cluster did not start: {out.stderr}")
        time.sleep(0.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--scenes", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", default="w2,w4")
    ap.add_argument("--executors", default="1,2")
    ap.add_argument("--swath", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "fast", "swath"))
    ap.add_argument("--catalogs", default=os.path.expanduser("~/.cache/swath/bench-catalogs"))
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--python-timeout", type=float, default=900,
                    help="seconds after which a Python run counts as not finished")
    a = ap.parse_args()
    cat_dir = os.path.join(a.catalogs, f"{a.size}x{a.scenes}")
    subprocess.run([sys.executable, os.path.join(HERE, "make_catalog.py"), cat_dir,
                    "--size", str(a.size), "--height", str(a.size),
                    "--scenes", str(a.scenes)], check=True)
    collection = os.path.join(cat_dir, "collection.json")
    west, south, east, north = box(collection)
    results = []
    for n in [int(v) for v in a.executors.split(",")]:
        logdir = tempfile.mkdtemp(prefix=f"swath-cluster{n}-")
        url, procs = start_cluster(a.swath, n, logdir)
        try:
            for w in a.workloads.split(","):
                out_s = tempfile.mkdtemp(prefix=f"swath-{w}-")
                out_p = tempfile.mkdtemp(prefix=f"python-{w}-")
                sql = open(os.path.join(HERE, "sql", f"{w}.sql")).read().format(
                    collection=collection, out=out_s, west=west, south=south, east=east,
                    north=north)
                sql_path = os.path.join(out_s, f"{w}.sql")
                with open(sql_path, "w") as f:
                    f.write(sql)
                cores = ",".join(str(i) for i in range(n))
                py_cmd = ["taskset", "-c", cores, sys.executable,
                          os.path.join(HERE, "python_workloads.py"), collection, w, out_p,
                          "--scheduler", "distributed", "--workers", str(n),
                          "--threads-per-worker", "1",
                          "--bbox", f"{west},{south},{east},{north}"]
                times = {"swath": [], "python": []}
                sw, py = Sampler(), Sampler()
                sw.watch("scheduler", procs[0].pid)
                for i, p in enumerate(procs[1:]):
                    sw.watch(f"executor {i}", p.pid)
                for r in range(a.runs):
                    order = ["swath", "python"] if r % 2 == 0 else ["python", "swath"]
                    for side in order:
                        if side == "swath":
                            wall, _ = run_sampled([a.swath, "--cluster", url, "-f", sql_path],
                                                  sw, "client")
                            times["swath"].append(wall)
                        elif not times["python"] or times["python"][-1] is not None:
                            _, out = run_sampled(py_cmd, py, "python", tree=True,
                                                 timeout=a.python_timeout)
                            times["python"].append(None if out is None else float(
                                [l for l in out.splitlines() if l.startswith("ELAPSED")][-1]
                                .split()[1]))
                finished = [t for t in times["python"] if t is not None]
                python_s = statistics.median(finished) if finished else None
                if python_s is not None:
                    diff, p99, cmp_n, one = compare_cog(os.path.join(out_s, f"{w}.tif"),
                                                         os.path.join(out_p, f"{w}.tif"))
                else:
                    diff = p99 = float("nan")
                    cmp_n = one = 0
                row = {"workload": w, "executors": n,
                       "swath_s": statistics.median(times["swath"]),
                       "python_s": python_s,
                       "swath_peak_mib": {k: v / 2**20 for k, v in sw.peaks.items()},
                       "python_peak_mib": {k: v / 2**20 for k, v in py.peaks.items()},
                       "max_abs_diff": diff, "p99_abs_diff": p99, "compared": cmp_n,
                       "one_side_only": one}
                row["speedup"] = python_s / row["swath_s"] if python_s else None
                results.append(row)
                py_text = (f"{python_s:.2f} s ({row['speedup']:.1f}x)" if python_s else
                           f"did not finish in {a.python_timeout} s")
                print(f"{w} on {n} executor(s): swath {row['swath_s']:.2f} s, dask.distributed "
                      f"{py_text}; peak RSS MiB swath "
                      f"{ {k: round(v) for k, v in row['swath_peak_mib'].items()} }, python "
                      f"{ {k: round(v) for k, v in row['python_peak_mib'].items()} }; "
                      f"|diff| max {diff:.3g}, p99 {p99:.3g} over {cmp_n}, {one} one side",
                      flush=True)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    by = {(r["workload"], r["executors"]): r for r in results}
    for w in a.workloads.split(","):
        if (w, 1) in by and (w, 2) in by:
            p1, p2 = by[(w, 1)]["python_s"], by[(w, 2)]["python_s"]
            print(f"{w}: 2 executors vs 1: {by[(w, 1)]['swath_s'] / by[(w, 2)]['swath_s']:.2f}x; "
                  f"dask.distributed 2 workers vs 1: "
                  + (f"{p1 / p2:.2f}x" if p1 and p2 else "n/a"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"size": a.size, "scenes": a.scenes, "runs": a.runs,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
