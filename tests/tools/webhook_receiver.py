#!/usr/bin/env python3
"""A webhook receiver for the integration tests (Python 3 standard library only).

Every request is appended to LOG as one JSON line: method, path, headers and body. The
path chooses the answer:

  /ok         204
  /fail       500 "busy"
  /redirect   302 to /ok on the same server
  /hang       reads the request and never answers
  /slow       answers 200 after 20 seconds
  /big        200 with a 10 MB body

and, as a business's look-up script:

  /lookup     200 with a JSON object about the value posted ({"value": …})
  /notjson    200 with an HTML page
  /huge       200 with a JSON object of 1 MB

The port it listens on is written to PORT_FILE once it listens.
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        entry = {
            "method": "POST",
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        with LOCK:
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())
        path = self.path.split("?")[0]
        if path == "/hang":
            time.sleep(3600)
            return
        if path == "/slow":
            time.sleep(20)
            self.answer(200, b"late")
            return
        if path == "/lookup":
            try:
                value = json.loads(body).get("value")
            except ValueError:
                value = None
            answer = {
                "order": value,
                "status": "shipped",
                "carrier": {"name": "DHL", "tracking": "00340434"},
                "items": 3,
                "note": "<img src=x onerror=alert(1)>",
            }
            self.answer(200, json.dumps(answer).encode(), "application/json")
            return
        if path == "/notjson":
            self.answer(200, b"<html><body>Order page</body></html>", "text/html")
            return
        if path == "/huge":
            filler = "x" * (1024 * 1024)
            self.answer(200, json.dumps({"filler": filler}).encode(), "application/json")
            return
        if path == "/fail":
            self.answer(500, b"busy")
            return
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/big":
            chunk = b"x" * 65536
            self.send_response(200)
            self.send_header("Content-Length", str(160 * len(chunk)))
            self.end_headers()
            try:
                for _ in range(160):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.answer(204, b"")

    def answer(self, status, body, content_type=None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    a = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.log_path = a.log
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
