#!/usr/bin/env python3
"""Run a real STAC API server on 127.0.0.1 for tests, with a bounded lifetime.

    PY=$(scripts/py-env)
    "$PY" tests/scripts/stac_api_server.py [--port-file /tmp/x.port] \\
        --data items.json [--data more.json | items.parquet ...] \\
        [--backend rustac|static] [--lifetime 300] [--log requests.jsonl] \\
        [--server-output server.log]

Backends (both installed by tests/requirements.txt):

* ``rustac`` (default): ``rustac serve`` from the rustac wheel (stac-server-rs,
  in-memory backend). Loads ItemCollection / Item JSON, NDJSON and
  stac-geoparquet files directly (``--use-duckdb false`` is always passed: the
  DuckDB backend needs extensions downloaded from the internet and hangs).
  Paging: ``next`` links carry ``skip``. It does NOT implement CQL2 ``filter``
  (a filter with ``filter-lang`` returns 0 items, without it the filter is
  ignored) and ignores ``sortby``.
* ``static``: stac-fastapi-static serving a static catalog that this script
  writes to a temp dir from the inputs. Implements CQL2 (json and text) with
  token paging on POST; its GET ``next`` links drop the query parameters.
  With ``--log FILE``, every request is appended to FILE as one JSON line
  (``method``, ``path``, ``query``, ``body``: the parsed JSON body or null)
  before the API answers it.

The script picks a free port, starts the server, polls ``GET /`` until it
answers 200, then writes the port (decimal, newline-terminated) into
``--port-file`` (atomically) and prints ``http://127.0.0.1:PORT`` on stdout.
It stops the server and removes the port file when any of these happens:
its stdin reaches EOF (so a test keeps a pipe open to it and just drops it),
``--lifetime`` seconds pass, it gets SIGTERM/SIGINT/SIGHUP, or the server
exits. The server child also gets PR_SET_PDEATHSIG, so it dies with this
script even on SIGKILL. Use ``--ignore-stdin`` when stdin is not a pipe you
keep open (e.g. /dev/null); then only the lifetime/signals stop it.
Exit code: 0 after a normal stop, 1 when the server could not be started or
died on its own.
"""

import argparse
import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1


def log(msg: str) -> None:
    print(f"stac_api_server: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """preexec_fn: SIGKILL the child when this wrapper dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


# ---------------------------------------------------------------- inputs ---


def read_items(path: str) -> list:
    """Items from an ItemCollection/Item/array JSON, NDJSON or stac-geoparquet."""
    lower = path.lower()
    if lower.endswith((".parquet", ".geoparquet")):
        import rustac

        value = rustac.read_sync(path)
        return list(value.get("features", []))
    with open(path) as f:
        text = f.read()
    if lower.endswith((".ndjson", ".jsonl")):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    value = json.loads(text)
    if isinstance(value, list):
        return value
    if value.get("type") == "FeatureCollection":
        return list(value.get("features", []))
    if value.get("type") == "Feature":
        return [value]
    raise SystemExit(f"stac_api_server: {path}: not an Item / ItemCollection")


def build_static_catalog(items: list, root: str) -> str:
    """Write a best-practice-layout static catalog; return catalog.json's path."""
    link = lambda rel, href, typ="application/json": {"rel": rel, "href": href, "type": typ}
    by_collection: dict = {}
    for item in items:
        by_collection.setdefault(item.get("collection") or "default-collection-id", []).append(item)
    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": "swath-test-catalog",
        "description": "Synthetic catalog served for Swath tests",
        "links": [link("root", "./catalog.json")],
    }
    for cid, members in sorted(by_collection.items()):
        cdir = os.path.join(root, cid)
        os.makedirs(cdir, exist_ok=True)
        boxes = [m["bbox"] for m in members if m.get("bbox")]
        times = sorted(
            t
            for m in members
            for t in (
                m["properties"].get("datetime"),
                m["properties"].get("start_datetime"),
                m["properties"].get("end_datetime"),
            )
            if t
        )
        bbox = (
            [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
            if boxes
            else [-180, -90, 180, 90]
        )
        collection = {
            "type": "Collection",
            "stac_version": "1.1.0",
            "id": cid,
            "description": cid,
            "license": "other",
            "extent": {
                "spatial": {"bbox": [bbox]},
                "temporal": {"interval": [[times[0], times[-1]] if times else [None, None]]},
            },
            "links": [link("root", "../catalog.json"), link("parent", "../catalog.json")],
        }
        for item in members:
            iid = item["id"]
            idir = os.path.join(cdir, iid)
            os.makedirs(idir, exist_ok=True)
            item = dict(item, collection=cid)
            item["links"] = [
                link("root", "../../catalog.json"),
                link("parent", "../collection.json"),
                link("collection", "../collection.json"),
            ]
            with open(os.path.join(idir, iid + ".json"), "w") as f:
                json.dump(item, f)
            collection["links"].append(link("item", f"./{iid}/{iid}.json", "application/geo+json"))
        with open(os.path.join(cdir, "collection.json"), "w") as f:
            json.dump(collection, f)
        catalog["links"].append(link("child", f"./{cid}/collection.json"))
    path = os.path.join(root, "catalog.json")
    with open(path, "w") as f:
        json.dump(catalog, f)
    return path


# ---------------------------------------------------------------- server ---

STATIC_SERVE = """
import json, sys, uvicorn
from stac_fastapi.static.api import Settings, make_api
settings = Settings(catalog_href=sys.argv[1], reload=False, log_level="warning",
                    assume_best_practice_layout=True, assume_absolute_hrefs=False)
api = make_api(settings).app
log_path = sys.argv[4]

async def app(scope, receive, send):
    # The request log: one JSON line per request, written before the API answers.
    if scope["type"] != "http" or not log_path:
        return await api(scope, receive, send)
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    with open(log_path, "a") as f:
        f.write(json.dumps({"method": scope["method"], "path": scope["path"],
                            "query": scope.get("query_string", b"").decode(),
                            "body": parsed}) + "\\n")
    replayed = False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    await api(scope, replay, send)

uvicorn.run(app, host=sys.argv[2], port=int(sys.argv[3]),
            log_level="warning", access_log=False)
"""


def server_command(args, port: int, catalog, tmpdir: str) -> list:
    if args.backend == "static":
        log = os.path.abspath(args.log) if args.log else ""
        return [sys.executable, "-c", STATIC_SERVE, "file://" + catalog, HOST, str(port), log]
    # What the `rustac` console script does. rustac.main() parses the process
    # argv minus its first entry, so it must run from a script file, not -c.
    shim = os.path.join(tmpdir, "rustac_cli.py")
    with open(shim, "w") as f:
        f.write("import sys, rustac\nsys.exit(rustac.main())\n")
    return [
        sys.executable,
        shim,
        "serve",
        "--addr",
        f"{HOST}:{port}",
        "--use-duckdb",
        "false",
        *args.rustac_arg,
        *[os.path.abspath(p) for p in args.data],
    ]


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start(args, catalog, tmpdir, log_file, deadline: float):
    """Start the server on a free port; return (proc, port) once GET / is 200."""
    for attempt in range(1, 4):
        port = free_port()
        cmd = server_command(args, port, catalog, tmpdir)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            preexec_fn=die_with_parent,
        )
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if answers(port):
                return proc, port
            time.sleep(0.1)
        stop(proc)
        if time.monotonic() >= deadline:
            break
        log(f"attempt {attempt}: server exited with {proc.returncode} before answering; retrying")
    raise RuntimeError("server did not answer GET / with 200 in time")


def main() -> int:
    ap = argparse.ArgumentParser(description="Run a STAC API server for tests.")
    ap.add_argument("--port-file", help="written with the port once the server answers")
    ap.add_argument("--data", action="append", required=True, help="Item/ItemCollection JSON, NDJSON or stac-geoparquet; repeatable")
    ap.add_argument("--backend", choices=["rustac", "static"], default="rustac")
    ap.add_argument("--lifetime", type=float, default=300.0, help="hard stop after this many seconds (default 300)")
    ap.add_argument("--startup-timeout", type=float, default=60.0)
    ap.add_argument("--ignore-stdin", action="store_true", help="do not stop on stdin EOF")
    ap.add_argument("--log", help="JSON-lines request log (static backend only)")
    ap.add_argument("--server-output", help="server stdout/stderr go here (default: this script's stderr)")
    ap.add_argument("--rustac-arg", action="append", default=[], help="extra argument for `rustac serve` (repeatable)")
    args = ap.parse_args()

    started = time.monotonic()
    hard_deadline = started + args.lifetime
    for path in args.data:
        if not os.path.isfile(path):
            ap.error(f"--data {path}: no such file")
    if args.log and args.backend != "static":
        ap.error("--log: only the static backend keeps a request log")

    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    tmpdir = tempfile.mkdtemp(prefix="swath-stac-api-")
    log_file = open(args.server_output, "ab") if args.server_output else sys.stderr
    proc = None
    wrote_port_file = False
    code = 1
    try:
        catalog = None
        if args.backend == "static":
            items = [item for path in args.data for item in read_items(path)]
            catalog = build_static_catalog(items, os.path.join(tmpdir, "catalog"))
        proc, port = start(args, catalog, tmpdir, log_file, min(hard_deadline, time.monotonic() + args.startup_timeout))
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{port}\n")
            os.replace(tmp, args.port_file)
            wrote_port_file = True
        print(f"http://{HOST}:{port}", flush=True)
        log(f"{args.backend} server pid {proc.pid} ready on port {port} after {time.monotonic() - started:.2f}s")

        watch_stdin = not args.ignore_stdin
        stdin_fd = sys.stdin.fileno() if watch_stdin and sys.stdin is not None else None
        while True:
            if stopping["signal"] is not None:
                log(f"signal {stopping['signal']}: stopping")
                code = 0
                break
            if proc.poll() is not None:
                log(f"server exited on its own with {proc.returncode}")
                break
            remaining = hard_deadline - time.monotonic()
            if remaining <= 0:
                log(f"lifetime of {args.lifetime:.0f}s reached: stopping")
                code = 0
                break
            wait = min(0.5, remaining)
            if stdin_fd is None:
                time.sleep(wait)
                continue
            try:
                ready, _, _ = select.select([stdin_fd], [], [], wait)
            except InterruptedError:
                continue
            if ready:
                try:
                    chunk = os.read(stdin_fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    log("stdin closed: stopping")
                    code = 0
                    break
    except RuntimeError as e:
        log(str(e))
    finally:
        if proc is not None:
            stop(proc)
        if wrote_port_file:
            try:
                os.remove(args.port_file)
            except OSError:
                pass
        shutil.rmtree(tmpdir, ignore_errors=True)
        if args.server_output:
            log_file.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
