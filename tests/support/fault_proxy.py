#!/usr/bin/python3
"""A TLS-terminating HTTP/1.1 proxy on loopback in front of a private Pebble that
answers chosen requests with faults instead (issue 13, "Faults to inject").

    fault_proxy.py --port P --control-port C --upstream-port U
                   --cert PEM --key PEM --upstream-ca PEM

How it works, and why this way:
  * acmectl talks HTTPS to 127.0.0.1:P. The proxy terminates TLS there with the
    certificate Pebble's fixture made with openssl for its own listener (SAN
    127.0.0.1), so acmectl's --ca-bundle stays "$PEBBLE_CA_BUNDLE" and TLS
    verification stays on. A TCP relay could not answer a request: it never sees
    one inside TLS.
  * Every request is forwarded to Pebble on 127.0.0.1:U over TLS (verified with
    --upstream-ca) with its Host header unchanged. Pebble builds every URL it hands
    out (directory, Location, Link, order/authz/finalize/certificate URLs) from
    the Host header, so once the client fetched the directory through the proxy,
    every later request comes back through it, and the JWS "url" the client signs
    matches the URL Pebble sees.
  * Unless a fault rule matches: then the proxy answers itself. Kinds:
      500    HTTP 500 with an RFC 7807 serverInternal problem document
      503    HTTP 503 "Service Unavailable" (text/html, as a load balancer answers)
             with Retry-After
      429    HTTP 429 with an RFC 8555 urn:ietf:params:acme:error:rateLimited problem
             and Retry-After
      drop   the request IS forwarded (the CA acts on it), then the status line, the
             headers (with the real Content-Length) and half of the body are sent
             and the TCP connection is closed without a TLS close_notify
      stall  the request is read, then nothing is sent until the client gives up
             (closes) or --stall-seconds (default 75) pass; then the connection
             is closed without an answer
      delay  the request is held delay_ms (at most 20000) milliseconds, then
             forwarded and answered normally (to hold a window open for a race)
      replace  the request is forwarded, and Pebble's answer is passed on with its
             status and headers but the body replaced by the contents of body_file
             (a hostile CA's answer, e.g. a certificate for another key)
    A rule matches the request path (without the query) by a Python regular
    expression (re.search) and, optionally, the method; it fires COUNT times
    (-1: until cleared). The first matching rule with shots left wins.

Control endpoint (plain HTTP on 127.0.0.1:C; use curl):
    POST /fault?path=RE&kind=KIND[&count=N][&retry_after=S][&method=M][&delay_ms=MS]
                       [&body_file=PATH]  add a rule
    POST /clear        drop every rule (counts are kept)
    POST /reset        drop every rule and zero the counts
    GET  /counts       JSON: {"requests": N, "by_path": {"/order-plz": n, ...},
                       "by_prefix": {"/my-order": n, ...}, "by_method_prefix":
                       {"POST /order-plz": n, ...}, "faults": {"503": n, ...},
                       "statuses": {"200": n, ...}, "answers": {"POST /order-plz 201":
                       n, ...} and "problems": {"badNonce": n, ...} (the answers
                       Pebble gave to the requests forwarded),
                       "rules": [...], "log": [[t_unix, method, path, action, status,
                       problem], ...]} (action: forward or the fault's kind; status
                       and problem: Pebble's answer to a forwarded request, else 0, "")
    GET  /healthz      "ok"
Counts include requests answered with a fault; the log keeps the last 2000.

Loopback only; every wait is bounded; stops on SIGTERM. Python 3 standard library.
"""
import argparse
import http.client
import http.server
import json
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "content-length",
}
KINDS = ("500", "503", "429", "drop", "stall", "delay", "replace")
MAX_BODY = 8 * 1024 * 1024


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.reset_counts()

    def reset_counts(self):
        self.requests = 0
        self.by_path = {}
        self.by_prefix = {}
        self.by_method_prefix = {}
        self.faults = {}
        self.statuses = {}
        self.answers = {}
        self.problems = {}
        self.log = []

    def see(self, method, path):
        """Counts the request; returns the rule to apply (a copy) or None, and its log
        entry."""
        prefix = "/" + path.lstrip("/").split("/", 1)[0]
        with self.lock:
            self.requests += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1
            self.by_prefix[prefix] = self.by_prefix.get(prefix, 0) + 1
            key = method + " " + prefix
            self.by_method_prefix[key] = self.by_method_prefix.get(key, 0) + 1
            chosen = None
            for rule in self.rules:
                if rule["count"] == 0:
                    continue
                if rule["method"] and rule["method"] != method:
                    continue
                if not re.search(rule["path"], path):
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                rule["fired"] += 1
                chosen = dict(rule)
                self.faults[rule["kind"]] = self.faults.get(rule["kind"], 0) + 1
                break
            entry = [round(time.time(), 3), method, path,
                     chosen["kind"] if chosen else "forward", 0, ""]
            self.log.append(entry)
            del self.log[:-2000]
            return chosen, entry

    def answered(self, entry, status, problem_type):
        """Records the upstream's answer to a request forwarded."""
        method, path = entry[1], entry[2]
        prefix = "/" + path.lstrip("/").split("/", 1)[0]
        with self.lock:
            entry[4], entry[5] = status, problem_type
            key = str(status)
            self.statuses[key] = self.statuses.get(key, 0) + 1
            key = "%s %s %d" % (method, prefix, status)
            self.answers[key] = self.answers.get(key, 0) + 1
            if problem_type:
                self.problems[problem_type] = self.problems.get(problem_type, 0) + 1

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "by_path": dict(self.by_path),
                "by_prefix": dict(self.by_prefix),
                "by_method_prefix": dict(self.by_method_prefix),
                "faults": dict(self.faults),
                "statuses": dict(self.statuses),
                "answers": dict(self.answers),
                "problems": dict(self.problems),
                "rules": [dict(r) for r in self.rules],
                "log": [list(e) for e in self.log],
            }


STATE = State()
ARGS = None


def upstream_context():
    ctx = ssl.create_default_context(cafile=ARGS.upstream_ca)
    return ctx


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault_proxy"
    sys_version = ""

    def setup(self):
        # The TLS handshake runs here, in the connection's own thread, bounded.
        self.request.settimeout(10)
        self.request.do_handshake()
        self.request.settimeout(ARGS.idle_seconds)
        super().setup()
        self.upstream = None

    def log_message(self, fmt, *args):  # noqa: N802 (BaseHTTPRequestHandler's name)
        if ARGS.verbose:
            sys.stderr.write("fault_proxy: " + (fmt % args) + "\n")

    def do_GET(self):  # noqa: N802
        self.handle_one()

    def do_HEAD(self):  # noqa: N802
        self.handle_one()

    def do_POST(self):  # noqa: N802
        self.handle_one()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n) if n else b""

    def handle_one(self):
        body = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        rule, self.entry = STATE.see(self.command, path)
        kind = rule["kind"] if rule else None
        if kind in ("500", "503", "429"):
            self.canned(rule)
        elif kind == "stall":
            self.stall()
        elif kind == "delay":
            time.sleep(rule["delay_ms"] / 1000.0)
            self.forward(body)
        elif kind == "replace":
            with open(rule["body_file"], "rb") as f:
                self.forward(body, replacement=f.read())
        else:
            self.forward(body, drop=(kind == "drop"))

    def canned(self, rule):
        status = int(rule["kind"])
        headers = []
        if status == 500:
            ctype = "application/problem+json"
            body = json.dumps({"type": "urn:ietf:params:acme:error:serverInternal",
                               "detail": "fault_proxy: injected internal error \u001b[31mESC\u001b[0m",
                               "status": 500}).encode()
        elif status == 503:
            ctype = "text/html"
            body = (b"<html><body><h1>503 Service Unavailable</h1>"
                    b"fault_proxy: injected</body></html>\n")
        else:
            ctype = "application/problem+json"
            body = json.dumps({"type": "urn:ietf:params:acme:error:rateLimited",
                               "detail": "fault_proxy: too many new orders recently",
                               "status": 429}).encode()
        if rule["retry_after"] and status != 500:
            headers.append(("Retry-After", rule["retry_after"]))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def abort(self):
        """Closes the TCP connection at once: no close_notify, RST if data is unread."""
        self.close_connection = True
        try:
            raw = self.request
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stall(self):
        deadline = time.monotonic() + ARGS.stall_seconds
        sock = self.request
        while time.monotonic() < deadline:
            r, _, _ = select.select([sock], [], [], min(1.0, max(0.0, deadline - time.monotonic())))
            if r:
                try:
                    if not sock.recv(4096):
                        break  # the client gave up
                except (OSError, ssl.SSLError):
                    break
        self.abort()

    def upstream_send(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        for attempt in (0, 1):
            if self.upstream is None:
                self.upstream = http.client.HTTPSConnection(
                    "127.0.0.1", ARGS.upstream_port, context=upstream_context(), timeout=30)
            try:
                self.upstream.putrequest(self.command, self.path, skip_host=True,
                                         skip_accept_encoding=True)
                for k, v in headers.items():
                    self.upstream.putheader(k, v)
                if body or self.command == "POST":
                    self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body if body else None)
                resp = self.upstream.getresponse()
                data = resp.read()
                return resp, data
            except (OSError, http.client.HTTPException):
                self.upstream.close()
                self.upstream = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    def forward(self, body, drop=False, replacement=None):
        try:
            resp, data = self.upstream_send(body)
        except (OSError, http.client.HTTPException) as e:
            msg = ("fault_proxy: upstream: %s\n" % e).encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        problem = ""
        if "problem+json" in (resp.getheader("Content-Type") or ""):
            try:
                problem = str(json.loads(data).get("type", "")).rsplit(":", 1)[-1]
            except (ValueError, AttributeError):
                problem = "unparsable"
        STATE.answered(self.entry, resp.status, problem)
        if replacement is not None:
            data = replacement
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() not in ("server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            data = b""
        if drop:
            # Half of the body (at least one byte short), then the connection dies.
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.abort()
            return
        self.wfile.write(data)
        self.wfile.flush()


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # noqa: N802
        pass

    def reply(self, status, obj):
        body = (json.dumps(obj, indent=1) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        path = urllib.parse.urlsplit(self.path).path
        if path == "/counts":
            self.reply(200, STATE.snapshot())
        elif path == "/healthz":
            self.reply(200, "ok")
        else:
            self.reply(404, {"error": "unknown path"})

    def do_POST(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/fault":
            kind = q.get("kind", "")
            if kind not in KINDS or "path" not in q:
                self.reply(400, {"error": "need path=RE and kind=" + "|".join(KINDS)})
                return
            try:
                re.compile(q["path"])
                count = int(q.get("count", "1"))
                delay_ms = int(q.get("delay_ms", "0"))
                if not 0 <= delay_ms <= 20000:
                    raise ValueError("delay_ms must be 0..20000")
            except (re.error, ValueError) as e:
                self.reply(400, {"error": str(e)})
                return
            if kind == "replace" and not q.get("body_file"):
                self.reply(400, {"error": "replace needs body_file=PATH"})
                return
            rule = {"path": q["path"], "kind": kind, "count": count, "fired": 0,
                    "body_file": q.get("body_file", ""),
                    "delay_ms": delay_ms,
                    "method": q.get("method", ""), "retry_after": q.get("retry_after", "")}
            with STATE.lock:
                STATE.rules.append(rule)
            self.reply(200, rule)
        elif url.path == "/clear":
            with STATE.lock:
                STATE.rules = []
            self.reply(200, "cleared")
        elif url.path == "/reset":
            with STATE.lock:
                STATE.rules = []
                STATE.reset_counts()
            self.reply(200, "reset")
        else:
            self.reply(404, {"error": "unknown path"})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if ARGS.verbose:
            super().handle_error(request, client_address)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--control-port", type=int, required=True)
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--upstream-ca", required=True)
    ap.add_argument("--stall-seconds", type=float, default=75)
    ap.add_argument("--idle-seconds", type=float, default=30)
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    if not 0 < ARGS.stall_seconds <= 300:
        sys.exit("fault_proxy: --stall-seconds must be in (0, 300]")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    proxy = Server(("127.0.0.1", ARGS.port), ProxyHandler)
    proxy.socket = ctx.wrap_socket(proxy.socket, server_side=True,
                                   do_handshake_on_connect=False)
    control = Server(("127.0.0.1", ARGS.control_port), ControlHandler)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    proxy.serve_forever()


if __name__ == "__main__":
    main()
