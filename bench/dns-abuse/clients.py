#!/usr/bin/env python3
"""Hostile and legitimate DNS clients for bench/dns-abuse/run.sh.

  clients.py pipeline PORT QNAME QTYPE CONNECTIONS SECONDS SOURCE
      CONNECTIONS TCP connections from SOURCE, each pipelining queries as fast
      as the server takes them (up to 1,000,000) and never reading. Prints,
      per connection, the queries the server took and when (if) it closed the
      connection.
  clients.py axfr PORT ZONE BYTES SECONDS SOURCE
      One connection sending BYTES of AXFR queries, never reading.
  clients.py idle PORT COUNT SECONDS SOURCE
      COUNT idle TCP connections from SOURCE, held for SECONDS.
  clients.py tcp-legit PORT QNAME SECONDS SOURCE_PREFIX
      For SECONDS, one query per new TCP connection, one at a time, from
      SOURCE_PREFIX.1-250; each waits up to 2 s. Prints answered/attempted.
  clients.py udp-legit PORT QNAME RATE SECONDS
      RATE queries/s over UDP for SECONDS; prints p50/p99 latency (ms) and the
      share unanswered after 2 s.

Every client reports one line of `key=value` pairs on stdout.
"""
import errno
import os
import select
import socket
import struct
import sys
import threading
import time

TYPES = {"A": 1, "NS": 2, "MX": 15, "TXT": 16, "AAAA": 28, "AXFR": 252}


def query(qid, name, qtype):
    wire = struct.pack(">HHHHHH", qid & 0xFFFF, 0x0100 if qtype != 252 else 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\0" + struct.pack(">HH", TYPES.get(qtype, qtype) if isinstance(qtype, str) else qtype, 1)


def framed(msg):
    return struct.pack(">H", len(msg)) + msg


def tcp_from(source, port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_by_peer(s):
    """True if the peer closed or reset (without consuming data)."""
    try:
        p = select.poll()
        p.register(s, select.POLLIN)
        if not p.poll(0):
            return False
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except OSError:
        return True


def hog(s, payload, limit, seconds, result):
    """Sends `payload` repeatedly (limit frames in all) without reading."""
    s.setblocking(False)
    start = time.monotonic()
    sent_frames = 0
    frames_per_payload = result["frames_per_payload"]
    offset = 0
    closed_at = None
    while time.monotonic() - start < seconds:
        if sent_frames < limit:
            try:
                n = s.send(payload[offset:])
                offset += n
                if offset == len(payload):
                    offset = 0
                    sent_frames += frames_per_payload
                continue
            except BlockingIOError:
                pass
            except OSError:
                closed_at = time.monotonic() - start
                break
        p = select.poll()
        p.register(s, select.POLLOUT)
        p.poll(100)
        if closed_by_peer(s):
            closed_at = time.monotonic() - start
            break
    result["sent"] = sent_frames
    result["closed_after_s"] = "%.1f" % closed_at if closed_at is not None else "never"


def pipeline(port, qname, qtype, connections, seconds, source):
    batch = b"".join(framed(query(i, qname, qtype)) for i in range(1000))
    threads, results = [], []
    for _ in range(int(connections)):
        s = tcp_from(source, int(port), rcvbuf=4096)
        r = {"frames_per_payload": 1000}
        results.append((s, r))
        threads.append(threading.Thread(target=hog, args=(s, batch, 1_000_000, float(seconds), r)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join("conn%d_sent=%d conn%d_closed_after_s=%s" % (i, r["sent"], i, r["closed_after_s"])
                   for i, (_, r) in enumerate(results)))


def axfr(port, zone, nbytes, seconds, source):
    one = framed(query(1, zone, 252))
    count = max(1, int(nbytes) // len(one))
    s = tcp_from(source, int(port), rcvbuf=4096)
    r = {"frames_per_payload": count}
    hog(s, one * count, count, float(seconds), r)
    print("axfr_queries=%d closed_after_s=%s" % (r["sent"], r["closed_after_s"]))


def idle(port, count, seconds, source):
    conns, failed = [], 0
    for _ in range(int(count)):
        try:
            conns.append(tcp_from(source, int(port)))
        except OSError:
            failed += 1
    print("idle_opened=%d idle_failed=%d" % (len(conns), failed), flush=True)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        time.sleep(0.2)
    alive = sum(1 for c in conns if not closed_by_peer(c))
    print("idle_still_open=%d" % alive)


def tcp_legit(port, qname, seconds, prefix):
    attempted = answered = 0
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        attempted += 1
        try:
            s = tcp_from("%s.%d" % (prefix, 1 + attempted % 250), int(port))
            s.settimeout(2)
            s.sendall(framed(query(attempted, qname, "A")))
            head = s.recv(2, socket.MSG_WAITALL)
            if len(head) == 2:
                body = s.recv(struct.unpack(">H", head)[0], socket.MSG_WAITALL)
                if len(body) >= 12 and struct.unpack(">H", body[:2])[0] == attempted & 0xFFFF:
                    answered += 1
            s.close()
        except OSError:
            pass
    print("tcp_answered=%d tcp_attempted=%d" % (answered, attempted))


def udp_legit(port, qname, rate, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.3", 0))
    s.connect(("127.0.0.1", int(port)))
    sent_at, latencies = {}, []
    total = int(float(rate) * float(seconds))
    done = threading.Event()

    def receive():
        s.settimeout(0.2)
        while not done.is_set():
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            qid = struct.unpack(">H", data[:2])[0]
            t = sent_at.pop(qid, None)
            if t is not None:
                latencies.append(time.monotonic() - t)

    rx = threading.Thread(target=receive)
    rx.start()
    start = time.monotonic()
    for i in range(total):
        due = start + i / float(rate)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent_at[i & 0xFFFF] = time.monotonic()
        s.send(query(i, qname, "A"))
    time.sleep(2)
    done.set()
    rx.join()
    latencies = sorted(l for l in latencies if l <= 2.0)
    def pct(p):
        return 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else float("nan")
    print("udp_p50_ms=%.1f udp_p99_ms=%.1f udp_lost_pct=%.1f" %
          (pct(0.5), pct(0.99), 100.0 * (total - len(latencies)) / total))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"pipeline": pipeline, "axfr": axfr, "idle": idle, "tcp-legit": tcp_legit, "udp-legit": udp_legit}[mode](*args)
