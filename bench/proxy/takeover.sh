#!/usr/bin/env bash
# Restarts through socket takeover under load: basalt-proxy is replaced
# RESTARTS times (`serve --takeover`, the same binary) while clients run the
# whole time, and the report counts what they saw. The goal (issue 19): zero
# refused connections and zero failed requests.
#
#   keep-alive   wrk -t1 -cKA_CONNECTIONS, HTTP/1.1 keep-alive, GET /1k
#   new-conn     wrk -t1 -cCLOSE_CONNECTIONS -H 'Connection: close': a new
#                TCP connection per request
#   h2c          bench/proxy/h2_client.mjs (Node's http2): H2_CONNECTIONS
#                connections x H2_STREAMS requests at a time, HTTP/2 by prior
#                knowledge, GET /1k. It reconnects after GOAWAY and counts a
#                request its own HTTP/2 library refused on the GOAWAY (never
#                sent, safe to retry, RFC 9113 8.7) apart from failures.
#                (h2load stops a client for good at its first GOAWAY, so it
#                cannot load a server through restarts.)
#   tcp-stream   STREAMS raw TCP connections through a TCP route to an echo
#                backend, each a 64-byte round trip every 100 ms; a stream the
#                proxy closes (its generation's drain limit, or the close of
#                the generation before the last) reconnects
#
# Setup: an nginx backend serving /1k; basalt-proxy with WORKERS workers,
# drainTimeout DRAIN_MS, an HTTP route and a TCP route on two ports of
# 127.0.0.1. After WARMUP seconds a new generation takes over every INTERVAL
# seconds (each waits until it serves before the next starts); the clients
# stop WARMUP seconds after the last. Then every generation but the last
# must have exited, and the last one stops on SIGTERM with exit code 0.
# Nothing is pinned (the counts, not the speed, are the result).
#
#   bench/proxy/takeover.sh [BUILD_DIR] > report.md     (default build/release)
#
# Needs: nginx, wrk, node, python3. Tunables
# (environment): RESTARTS=10 INTERVAL=3 WARMUP=3 DRAIN_MS=5000 WORKERS=2
# KA_CONNECTIONS=32 CLOSE_CONNECTIONS=4 H2_CONNECTIONS=4 H2_STREAMS=8 STREAMS=8;
# LOGS=DIR keeps the generations' logs (debug level) and the clients' output there.
set -euo pipefail

build=${1:-build/release}
bin=$build/bin
restarts=${RESTARTS:-10}
interval=${INTERVAL:-3}
warmup=${WARMUP:-3}
drain_ms=${DRAIN_MS:-5000}
workers=${WORKERS:-2}
ka_connections=${KA_CONNECTIONS:-32}
close_connections=${CLOSE_CONNECTIONS:-4}
h2_connections=${H2_CONNECTIONS:-4}
h2_streams=${H2_STREAMS:-8}
streams=${STREAMS:-8}
me=takeover.sh

for tool in nginx wrk node python3; do
  command -v "$tool" >/dev/null || { echo "$me: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -x "$bin/basalt-proxy" ] || { echo "$me: $bin/basalt-proxy is not built" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

. "$(dirname "$0")/../lib/processes.sh"  # $work, pids, cleanup, free_port, wait_ports, stop
leftovers=$(pgrep -af 'bench-proxy-' || true)
if [ -n "$leftovers" ]; then
  echo "$me: processes of an earlier run are still up, stop them first:" >&2
  echo "$leftovers" >&2
  exit 1
fi
cp "$bin/basalt-proxy" "$work/basalt-proxy"
proxy_bin=$work/basalt-proxy
duration=$((warmup + restarts * interval + warmup))

# --- Backends: nginx for HTTP, a Python echo server for the TCP streams.
mkdir -p "$work/www" "$work/bench-proxy-takeover-backend"
head -c 1024 /dev/urandom >"$work/www/1k"
chmod 711 "$work"
chmod 755 "$work/www"
chmod 644 "$work/www/1k"
backend_port=$(free_port)
dir=$work/bench-proxy-takeover-backend
cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 600s;
  types {}
  default_type application/octet-stream;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server { listen 127.0.0.1:$backend_port backlog=4096; root $work/www; }
}
EOF
nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off; master_process on;' >"$dir/out" 2>&1 &
pids+=($!)
wait_ports "$!" backend "$dir/error.log" "$backend_port"

echo_port=$(free_port)
cat >"$work/echo.py" <<'EOF'
import asyncio, sys
async def serve(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
EOF
python3 "$work/echo.py" "$echo_port" bench-proxy-takeover-echo &
pids+=($!)
wait_ports "$!" echo /dev/null "$echo_port"

# --- The proxy generations.
http_port=$(free_port)
tcp_port=$(free_port)
while [ "$tcp_port" = "$http_port" ]; do tcp_port=$(free_port); done
pdir=$work/bench-proxy-takeover
mkdir -p "$pdir"
cat >"$pdir/proxy.yaml" <<EOF
drainTimeout: $drain_ms
bindAddresses: [127.0.0.1]
routes:
  - name: web
    match: {ports: $http_port, protocol: http}
    action: {type: forward, targets: [{host: 127.0.0.1, port: $backend_port}]}
  - name: stream
    match: {ports: $tcp_port}
    action: {type: forward, targets: [{host: 127.0.0.1, port: $echo_port}]}
EOF
gen_pids=()
start_generation() {  # start_generation N [--takeover]: until it serves
  local n=$1
  shift
  "$proxy_bin" serve --config "$pdir/proxy.yaml" --workers "$workers" --state-dir "$pdir" \
    --management-socket "$pdir/management.sock" ${LOGS:+--log-level debug} "$@" 2>"$pdir/gen$n.log" &
  local pid=$!
  pids+=("$pid")
  gen_pids+=("$pid")
  local want="basalt-proxy: "
  [ $# -gt 0 ] && want="took over from pid"
  for _ in $(seq 200); do
    grep -q "$want" "$pdir/gen$n.log" && return
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$me: generation $n did not start; its log:" >&2
  cat "$pdir/gen$n.log" >&2
  exit 1
}
start_generation 1
wait_ports "${gen_pids[0]}" proxy "$pdir/gen1.log" "$http_port" "$tcp_port"

# --- The clients, for the whole run.
cat >"$work/streams.py" <<'EOF'
# N echo streams: a 64-byte round trip every 100 ms each; a closed stream reconnects.
import asyncio, json, sys, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
counts = {"connects": 0, "refused": 0, "echoes": 0, "mismatches": 0, "closed_by_proxy": 0}
async def stream(i, end):
    seq = 0
    while time.monotonic() < end:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts["refused"] += 1
            await asyncio.sleep(0.1)
            continue
        counts["connects"] += 1
        try:
            while time.monotonic() < end:
                msg = f"{i:04d}:{seq:010d}:".encode().ljust(64, b"x")
                seq += 1
                writer.write(msg)
                await writer.drain()
                got = await asyncio.wait_for(reader.readexactly(64), 10)
                if got != msg:
                    counts["mismatches"] += 1
                counts["echoes"] += 1
                await asyncio.sleep(0.1)
            writer.close()
            return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            counts["closed_by_proxy"] += 1
            writer.close()
async def main():
    end = time.monotonic() + seconds
    await asyncio.gather(*(stream(i, end) for i in range(n)))
    print(json.dumps(counts))
asyncio.run(main())
EOF
url=http://127.0.0.1:$http_port/1k
wrk -t1 -c"$ka_connections" -d"${duration}s" "$url" >"$work/wrk-ka.txt" 2>&1 &
ka_pid=$!
wrk -t1 -c"$close_connections" -d"${duration}s" -H 'Connection: close' "$url" >"$work/wrk-close.txt" 2>&1 &
close_pid=$!
node "$(dirname "$0")/h2_client.mjs" "$url" "$h2_connections" "$h2_streams" "$duration" >"$work/h2.txt" 2>&1 &
h2_pid=$!
python3 "$work/streams.py" "$tcp_port" "$streams" "$duration" >"$work/streams.txt" 2>&1 &
streams_pid=$!

sleep "$warmup"
started=$(date -u +%FT%TZ)
for n in $(seq 2 $((restarts + 1))); do
  t0=$(date +%s.%N)
  start_generation "$n" --takeover
  took=$(python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$t0" "$(date +%s.%N)")
  echo "generation $n took over in ${took} ms" >>"$work/restarts.txt"
  sleep "$interval"
done
wait "$ka_pid" "$close_pid" "$h2_pid" "$streams_pid" || true

# --- Every old generation has exited; the last one stops cleanly.
last=${gen_pids[-1]}
left=()
for i in "${!gen_pids[@]}"; do
  p=${gen_pids[$i]}
  [ "$p" = "$last" ] && continue
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && left+=("generation $((i + 1)) (pid $p)")
done
kill -TERM "$last"
last_exit=0
wait "$last" || last_exit=$?

if [ -n "${LOGS:-}" ]; then
  mkdir -p "$LOGS"
  cp "$pdir"/gen*.log "$work"/*.txt "$LOGS"/
fi

# --- Report.
cat >"$work/summary.py" <<'EOF'
# One table row per client, from their output files: "name|requests|refused|failed|notes".
import json, re, sys
work = sys.argv[1]
def text(name):
    try:
        return open(f"{work}/{name}").read()
    except OSError:
        return ""
def last_json(name):
    try:
        return json.loads(text(name).strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
for name, file in (("keep-alive", "wrk-ka.txt"), ("new-conn", "wrk-close.txt")):
    t = text(file)
    req = re.search(r"(\d+) requests in", t)
    err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    connect = err.group(1) if err else "0"
    others = sum(int(x) for x in err.groups()[1:]) if err else 0
    failed = others + (int(non.group(1)) if non else 0)
    notes = "socket errors: connect %s, read %s, write %s, timeout %s" % err.groups() if err else "no socket errors"
    print(name, req.group(1) if req else "?", connect, failed, notes, sep="|")
h2 = last_json("h2.txt")
if h2:
    notes = "%d GOAWAYs, %d connections; %d requests refused by the client's own HTTP/2 library on a GOAWAY (never sent), retried" % (
        h2["goaways"], h2["connections"], h2["refused"] + h2["unsent"])
    if h2["errors"]:
        notes += "; errors: " + "; ".join(h2["errors"])
    print("h2c", h2["requests"], 0, h2["failed"], notes, sep="|")
else:
    print("h2c", "?", "?", "?", "no result: " + text("h2.txt")[:200].replace("\n", " "), sep="|")
st = last_json("streams.txt")
if st:
    print("tcp-stream", st["echoes"], st["refused"], st["mismatches"],
          "%d connects; %d streams closed by the proxy (drain limit or close-now) and reopened" % (
              st["connects"], st["closed_by_proxy"]), sep="|")
else:
    print("tcp-stream", "?", "?", "?", "no result: " + text("streams.txt")[:200].replace("\n", " "), sep="|")
EOF
rows=$(python3 "$work/summary.py" "$work")
describe() {
  case $1 in
    keep-alive) echo "\`wrk -t1 -c$ka_connections\`, HTTP/1.1 keep-alive" ;;
    new-conn) echo "\`wrk -t1 -c$close_connections -H 'Connection: close'\`" ;;
    h2c) echo "h2_client.mjs, $h2_connections connections x $h2_streams streams" ;;
    tcp-stream) echo "$streams echo streams, 64 B every 100 ms" ;;
  esac
}

cat <<EOF
# Socket takeover under load

\`bench/proxy/takeover.sh\`: basalt-proxy ($workers workers, drainTimeout
$drain_ms ms) replaced $restarts times through \`serve --takeover\` with the
same binary, one every $interval s after $warmup s of warm-up, while the
clients below ran for the whole ${duration} s. Run of $started.

| client | load | requests (streams: round trips) | refused connections | failed | notes |
|---|---|---|---|---|---|
$(while IFS='|' read -r name req refused failed notes; do
  echo "| $name | $(describe "$name") | $req | $refused | $failed | $notes |"
done <<<"$rows")

Old generations left running after the run: ${#left[@]} ${left[*]:-}
Last generation's exit code on SIGTERM: $last_exit

Takeover times (start of the new process to "took over"):

\`\`\`
$(cat "$work/restarts.txt")
\`\`\`

Raw client output:

\`\`\`
$(cat "$work/wrk-ka.txt")
---
$(cat "$work/wrk-close.txt")
---
$(cat "$work/h2.txt")
---
$(cat "$work/streams.txt")
\`\`\`
EOF
