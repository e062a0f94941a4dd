#!/usr/bin/env python3
"""An S3-compatible server (moto, S3 only) on 127.0.0.1 for tests, with a request log.

    s3_server.py --bucket NAME --log requests.jsonl [--public NAME] [--lifetime 300]

Creates the bucket (and, with --public, a second bucket whose objects anyone may
read, as public Earth-observation archives are), prints the port on stdout, and logs every request as one JSON
line (method, path, range header, status) to --log. Stops when stdin reaches EOF
(the test drops its pipe), after --lifetime seconds, or on SIGTERM/SIGINT.
"""
import argparse
import json
import select
import signal
import sys
import threading
import time
import urllib.request

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


class Logged:
    def __init__(self, app, path):
        self.app = app
        self.out = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        record = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "range": environ.get("HTTP_RANGE"),
        }

        def start(status, headers, exc_info=None):
            record["status"] = int(status.split()[0])
            with self.lock:
                self.out.write(json.dumps(record) + "\n")
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bucket", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--public", default=None, help="a bucket readable without credentials")
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()
    app = Logged(DomainDispatcherApplication(create_backend_app), a.log)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/{a.bucket}", method="PUT")
    urllib.request.urlopen(req, timeout=30).read()
    if a.public:
        base = f"http://127.0.0.1:{port}/{a.public}"
        urllib.request.urlopen(urllib.request.Request(base, method="PUT"), timeout=30).read()
        policy = {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{a.public}/*"],
            }],
        }
        req = urllib.request.Request(base + "?policy", data=json.dumps(policy).encode(),
                                     method="PUT",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()
    print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deadline = time.time() + a.lifetime
    while time.time() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 1.0)
        if r and not sys.stdin.buffer.read1(1024):
            break
    server.shutdown()


if __name__ == "__main__":
    main()
