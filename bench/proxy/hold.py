#!/usr/bin/env python3
"""Opens N keep-alive connections through a proxy and holds them idle.

    hold.py PORT N PATH

Each connection sends one `GET PATH` (HTTP/1.1, keep-alive) and reads the
whole response, so the proxy has its backend connection up and has relayed
both ways; then it stays open and silent. At most 256 connections are being
set up at a time. When all N have their response, prints "ready N" on
stdout and holds them until the process is killed. Exits 1 with a message
on stderr when a connection fails or nothing moves for 30 s.
"""
import selectors
import socket
import sys
import time


def main() -> int:
    port, total, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    held = []
    started = 0
    in_flight = 0

    def start_one() -> None:
        nonlocal started, in_flight
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE, {"buf": b"", "sent": False})
        started += 1
        in_flight += 1

    while len(held) < total:
        while in_flight < 256 and started < total:
            start_one()
        events = sel.select(timeout=30)
        if not events:
            print(f"hold.py: no progress for 30 s after {len(held)} held", file=sys.stderr)
            return 1
        for key, _ in events:
            s, st = key.fileobj, key.data
            if not st["sent"]:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    print(f"hold.py: connect failed after {len(held)} held: {err}", file=sys.stderr)
                    return 1
                s.sendall(request)
                st["sent"] = True
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            chunk = s.recv(262144)
            if not chunk:
                print(f"hold.py: connection closed after {len(held)} held", file=sys.stderr)
                return 1
            st["buf"] += chunk
            head, sep, body = st["buf"].partition(b"\r\n\r\n")
            if not sep:
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(body) >= length:
                sel.unregister(s)
                held.append(s)
                in_flight -= 1
    print(f"ready {len(held)}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
