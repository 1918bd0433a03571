#!/usr/bin/env python3
"""The legitimate client of bench/dns-rrl/run.sh.

  legit.py PORT SOURCE ZONE HOSTS RATE SECONDS

RATE UDP queries a second from SOURCE for SECONDS, for existing names
host-0..host-(HOSTS-1).ZONE in turn (one name at RATE/HOSTS a second: a real
resolver does not ask one name 200 times a second, and rate limiting counts
answers per question). Prints one line of key=value pairs: the share answered
within 100 ms (complete answers only; a truncated one does not count, a real
client would need a TCP round trip more), the share answered at all within
2 s, truncated answers, and p50/p99 latency of the answers in ms.
"""
import socket
import struct
import sys
import threading
import time


def query(qid, name):
    wire = struct.pack(">HHHHHH", qid & 0xFFFF, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\0" + struct.pack(">HH", 1, 1)


def main(port, source, zone, hosts, rate, seconds):
    rate, seconds, hosts = float(rate), float(seconds), int(hosts)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.connect(("127.0.0.1", int(port)))
    total = int(rate * seconds)
    sent_at = [None] * total
    latency = [None] * total
    truncated = [0]
    pending = {}
    done = threading.Event()

    def receive():
        s.settimeout(0.2)
        while not done.is_set():
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            now = time.monotonic()
            qid, flags = struct.unpack(">HH", data[:4])
            i = pending.pop(qid, None)  # (IDs wrap at 65536: the latest query with this one)
            if i is None:
                continue
            if flags & 0x0200:
                truncated[0] += 1
            else:
                latency[i] = now - sent_at[i]

    rx = threading.Thread(target=receive)
    rx.start()
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent_at[i] = time.monotonic()
        pending[i & 0xFFFF] = i
        s.send(query(i, "host-%d.%s" % (i % hosts, zone)))
    time.sleep(2)
    done.set()
    rx.join()
    ok = sorted(l for l in latency if l is not None and l <= 2.0)
    within = sum(1 for l in ok if l <= 0.1)

    def pct(p):
        return 1000 * ok[min(len(ok) - 1, int(len(ok) * p))] if ok else float("nan")

    print("within_100ms_pct=%.2f answered_pct=%.2f truncated=%d p50_ms=%.2f p99_ms=%.2f" %
          (100.0 * within / total, 100.0 * len(ok) / total, truncated[0], pct(0.5), pct(0.99)))


if __name__ == "__main__":
    main(*sys.argv[1:])
