#!/usr/bin/env python3
"""A static HTTP server on 127.0.0.1 for tests and benchmarks, with Range support and
a request log.

    http_server.py --root DIR --log requests.jsonl [--latency MS] [--no-range]
                   [--require-query Q] [--fail N] [--stall PATH] [--lifetime 300]

Serves the files under --root with GET and HEAD, answering a single `Range: bytes=a-b`
(also `a-` and `-n`) with 206 Partial Content, with an ETag from the file's size and
modification time, and 412 to an `If-Match` that names another ETag. Logs every request as one JSON line
(method, path, query, range, status, bytes sent). Prints the port on stdout, then
serves until stdin reaches EOF (the test drops its pipe), --lifetime seconds pass, or
SIGTERM/SIGINT.

Faults for tests: --latency adds a delay before every answer; --no-range answers
ranges with the whole file (200), as servers without Range support do;
--require-query answers 403 unless the request's query string is exactly Q (for
paths ending with --require-query-for, default all); --fail N
answers 503 to the first N requests for each path; --stall PATH never answers
requests for PATH within the server's lifetime (a slow server).
"""
import argparse
import json
import os
import re
import select
import signal
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--latency", type=float, default=0.0, help="milliseconds per request")
    p.add_argument("--no-range", action="store_true")
    p.add_argument("--require-query", default=None)
    p.add_argument("--require-query-for", default="", help="only for paths ending so")
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--stall", default=None)
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()
    root = os.path.realpath(a.root)
    out = open(a.log, "a", buffering=1)
    lock = threading.Lock()
    failures = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def record(self, status, sent):
            url = urllib.parse.urlsplit(self.path)
            with lock:
                out.write(
                    json.dumps(
                        {
                            "method": self.command,
                            "path": urllib.parse.unquote(url.path),
                            "query": url.query,
                            "range": self.headers.get("Range"),
                            "status": status,
                            "bytes": sent,
                        }
                    )
                    + "\n"
                )

        def reply(self, status, body=b"", headers=None):
            # Logged before the answer leaves, so a client that has its answer finds
            # the request in the log.
            self.record(status, 0 if self.command == "HEAD" else len(body))
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def serve(self):
            if a.latency:
                time.sleep(a.latency / 1000.0)
            url = urllib.parse.urlsplit(self.path)
            rel = urllib.parse.unquote(url.path)
            if a.stall and rel == a.stall:
                time.sleep(a.lifetime)
                return
            if (a.require_query is not None and rel.endswith(a.require_query_for)
                    and url.query != a.require_query):
                return self.reply(403, b"Forbidden: a valid token is required")
            with lock:
                seen = failures.get(rel, 0)
                failures[rel] = seen + 1
            if seen < a.fail:
                return self.reply(503, b"Service Unavailable")
            path = os.path.realpath(os.path.join(root, rel.lstrip("/")))
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                return self.reply(404, b"Not Found")
            size = os.path.getsize(path)
            headers = {
                "Last-Modified": formatdate(os.path.getmtime(path), usegmt=True),
                "ETag": '"%x-%x"' % (int(os.path.getmtime(path) * 1e6), size),
                "Accept-Ranges": "none" if a.no_range else "bytes",
                "Content-Type": "application/octet-stream",
            }
            match = self.headers.get("If-Match")
            if match is not None and match.strip() != headers["ETag"]:
                return self.reply(412, b"Precondition Failed", headers)
            rng = self.headers.get("Range")
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
            with open(path, "rb") as f:
                if m and not a.no_range:
                    start, end = m.group(1), m.group(2)
                    if start == "":
                        n = int(end)
                        start, end = max(size - n, 0), size - 1
                    else:
                        start = int(start)
                        end = min(int(end), size - 1) if end else size - 1
                    if start >= size or start > end:
                        headers["Content-Range"] = "bytes */%d" % size
                        return self.reply(416, b"", headers)
                    f.seek(start)
                    body = f.read(end - start + 1)
                    headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
                    return self.reply(206, body, headers)
                return self.reply(200, f.read(), headers)

        def do_GET(self):
            self.serve()

        def do_HEAD(self):
            self.serve()

    class Server(ThreadingHTTPServer):
        # Clients open many connections at once: a short accept queue would drop
        # them and make them wait for TCP's retransmission (a second or more).
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    deadline = time.time() + a.lifetime
    while not stop.is_set() and time.time() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 0.5)
        if r and not sys.stdin.read(1):
            break
    server.shutdown()


if __name__ == "__main__":
    main()
