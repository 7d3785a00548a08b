#!/usr/bin/python3
"""Hostile HTTP clients for the HTTP-01 responder tests (issue 13 finding 1).

hostile_clients.py --port P [--idle N] [--drip N] [--wait-port S] [--duration S]
                   --ready FILE --stats FILE

Waits (up to --wait-port seconds) until 127.0.0.1:P accepts, then holds N idle
connections (every other one sent half a request line) and N slow-drip clients
(one byte of a long request every 90 ms) open. A connection the server closes is
counted and opened again, so the pressure stays on. Writes FILE --ready once all
are connected ("COUNT SECONDS_AFTER_THE_PORT_OPENED EPOCH_MS"), and the statistics as JSON to --stats when it stops: on SIGTERM,
after --duration seconds, or when the port stops accepting. Loopback only.
"""
import argparse
import json
import os
import select
import signal
import socket
import sys
import time

DRIP_EVERY = 0.09
HOST = "127.0.0.1"


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(True)
    s.settimeout(2)
    s.connect((HOST, port))
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--drip", type=int, default=1)
    ap.add_argument("--wait-port", type=float, default=30)
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stats", required=True)
    a = ap.parse_args()
    if not (0 <= a.idle <= 500 and 0 <= a.drip <= 10 and a.duration <= 300):
        sys.exit("hostile_clients: bounds: idle <= 500, drip <= 10, duration <= 300")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    waiting = time.monotonic()
    while True:
        try:
            connect(a.port).close()
            break
        except OSError:
            if time.monotonic() - waiting > a.wait_port:
                sys.exit(f"hostile_clients: nothing accepts on {HOST}:{a.port}")
            time.sleep(0.002)
    started = time.monotonic()  # the port is open

    stats = {"idle_opened": 0, "idle_closed_by_server": 0, "drip_opened": 0,
             "drip_closed_by_server": 0, "drip_lifetimes_s": [], "drip_bytes_sent": [],
             "answered": 0, "reconnect_refused": 0, "max_open": 0, "port_closed": False}
    request = ("GET /.well-known/acme-challenge/" + "d" * 43 + " HTTP/1.1\r\nHost: a.test\r\n" +
               "X-Pad: " + "p" * 4000 + "\r\n\r\n").encode()
    conns = {}  # socket -> {"kind", "opened", "sent"}

    def open_one(kind):
        try:
            s = connect(a.port)
        except OSError:
            stats["reconnect_refused"] += 1
            return False
        conns[s] = {"kind": kind, "opened": time.monotonic(), "sent": 0}
        stats[kind + "_opened"] += 1
        if kind == "idle" and stats["idle_opened"] % 2 == 0:
            s.send(b"GET /.well-known/acme-chall")
        return True

    for _ in range(a.idle):
        open_one("idle")
    for _ in range(a.drip):
        open_one("drip")
    with open(a.ready, "w") as f:
        f.write(f"{len(conns)} {time.monotonic() - started:.3f} {int(time.time() * 1000)}\n")

    next_drip = time.monotonic()
    while not stop and time.monotonic() - started < a.duration:
        stats["max_open"] = max(stats["max_open"], len(conns))
        readable, _, _ = select.select(list(conns), [], [], DRIP_EVERY / 3)
        for s in readable:
            info = conns.pop(s)
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            s.close()
            if data.startswith(b"HTTP/1.1 "):
                stats["answered"] += 1
            stats[info["kind"] + "_closed_by_server"] += 1
            if info["kind"] == "drip":
                stats["drip_lifetimes_s"].append(round(time.monotonic() - info["opened"], 3))
                stats["drip_bytes_sent"].append(info["sent"])
            if not open_one(info["kind"]):
                stats["port_closed"] = True
                stop.append(1)
                break
        if time.monotonic() >= next_drip:
            next_drip += DRIP_EVERY
            for s, info in list(conns.items()):
                if info["kind"] == "drip" and info["sent"] < len(request):
                    try:
                        info["sent"] += s.send(request[info["sent"]:info["sent"] + 1])
                    except OSError:
                        pass
    stats["open_at_end"] = len(conns)
    for s in conns:
        s.close()
    with open(a.stats + ".tmp", "w") as f:
        json.dump(stats, f)
    os.rename(a.stats + ".tmp", a.stats)


if __name__ == "__main__":
    main()
