#!/usr/bin/env python3
"""A webhook receiver for the notification tests: POSTs are appended, one JSON
document per line, to LOG; the answer depends on the file MODE_FILE (re-read on
every request): "ok" answers 204, "500" answers 500, "hang" reads the request
and never answers (until the client gives up).

usage: notify_receiver.py PORT LOG MODE_FILE
"""
import http.server
import sys
import time

PORT, LOG, MODE_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(body.replace("\n", " ") + "\n")
        try:
            with open(MODE_FILE, encoding="utf-8") as f:
                mode = f.read().strip()
        except OSError:
            mode = "ok"
        if mode == "hang":
            time.sleep(3600)
            return
        self.send_response(500 if mode == "500" else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
