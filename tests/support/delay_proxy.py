#!/usr/bin/python3
"""A TCP relay on loopback that delays what the client sends (a slow network).

    delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Accepts on 127.0.0.1:LISTEN_PORT, connects each client to 127.0.0.1:TARGET_PORT
and relays both ways; every chunk from the client waits DELAY_MS (0..2000) before
it is passed on. TLS passes through untouched. Stops on SIGTERM.
"""
import socket
import sys
import threading
import time


def relay(src, dst, delay):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if delay:
                time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    listen_port, target_port, delay_ms = (int(a) for a in sys.argv[1:4])
    if not 0 <= delay_ms <= 2000:
        sys.exit("delay_proxy: DELAY_MS must be 0..2000")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        try:
            up = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            up.settimeout(None)
        except OSError:
            conn.close()
            continue
        threading.Thread(target=relay, args=(conn, up, delay_ms / 1000), daemon=True).start()
        threading.Thread(target=relay, args=(up, conn, 0), daemon=True).start()


if __name__ == "__main__":
    main()
