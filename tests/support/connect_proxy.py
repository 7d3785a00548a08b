#!/usr/bin/python3
"""A minimal HTTP CONNECT proxy for the transport tests.

    connect_proxy.py PORT LOGFILE

Listens on 127.0.0.1:PORT, appends one line per request to LOGFILE ("CONNECT
host:port" or "REFUSED <request line>" for anything but CONNECT, which gets 405),
and relays bytes both ways for each tunnel. Stops on SIGTERM.
"""
import socket
import sys
import threading


def relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(conn, logfile):
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.recv(1)
        if not data:
            conn.close()
            return
        head += data
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    with open(logfile, "a") as log:
        if len(parts) != 3 or parts[0] != "CONNECT":
            log.write("REFUSED %s\n" % line)
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        log.write("CONNECT %s\n" % parts[1])
    host, port = parts[1].rsplit(":", 1)
    try:
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    except OSError:
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    upstream.settimeout(None)
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=relay, args=(conn, upstream), daemon=True).start()
    relay(upstream, conn)


def main():
    port, logfile = int(sys.argv[1]), sys.argv[2]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, logfile), daemon=True).start()


if __name__ == "__main__":
    main()
