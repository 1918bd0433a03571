#!/usr/bin/env bash
# DNS-over-HTTPS benchmark, against our own UDP path in the same run:
#   - UDP: dnsperf against basalt-dns serve (static zone);
#   - DoH over HTTP/2: h2load, CLIENTS connections x STREAMS concurrent
#     streams, each a POST of the same application/dns-message query;
#   - DoH over HTTP/1.1: h2load --h1 with H1_CLIENTS connections (one request
#     in flight each; smartdns 7.9.0's DoH speaks only this);
#   - engine mode: dnsperf over UDP against basalt-dns --management driven by
#     @push.rocks/smartdns@7.9.0's DnsServer with one TypeScript handler (every
#     query makes the dnsQuery JSON round trip). Skipped if npm cannot install.
# Server (and the node driver) pinned to SERVER_CPU, load generators to
# CLIENT_CPU. Prints a Markdown report on stdout.
#
#   bench/dns-doh/run.sh [BUILD_DIR]     (default build/bench)
#
# Needs: dnsperf, h2load (nghttp2-client), dig, taskset, python3; node + npm
# for the engine run. Tunables: DURATION=10 CLIENTS=4 STREAMS=64 H1_CLIENTS=64
# ROUNDS=2 ENGINE_RATE=5000 (fixed-rate engine run) SERVER_CPU=1 CLIENT_CPU=0
set -euo pipefail

build=${1:-build/bench}
bin=$build/bin
duration=${DURATION:-10}
clients=${CLIENTS:-4}
streams=${STREAMS:-64}
h1_clients=${H1_CLIENTS:-64}
rounds=${ROUNDS:-2}
engine_rate=${ENGINE_RATE:-5000}
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}
here=$(cd "$(dirname "$0")" && pwd)

for tool in dnsperf h2load dig taskset python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -x "$bin/basalt-dns" ] || { echo "run.sh: $bin/basalt-dns is not built" >&2; exit 1; }

. "$(dirname "$0")/../lib/processes.sh"
wait_dns() {  # port name
  for _ in $(seq 100); do
    dig @127.0.0.1 -p "$1" "$2" A +short +time=1 +tries=1 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  echo "run.sh: no answer on port $1" >&2; exit 1
}

cat > "$work/example.test.zone" <<'ZONE'
$ORIGIN example.test.
$TTL 3600
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@    IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.80
ZONE
printf 'www.example.test A\n' > "$work/udp.queries"
printf 'www.example.com A\n' > "$work/engine.queries"
python3 - "$work/query.bin" <<'PY'
import sys
name = b''.join(bytes([len(l)]) + l for l in b'www.example.test'.split(b'.')) + b'\0'
open(sys.argv[1], 'wb').write(bytes([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + name + bytes([0, 1, 0, 1]))
PY

udp_port=$(free_port)
doh_port=$(free_port)
(pin_exec "$server_cpu" "$bin/basalt-dns" serve --listen "127.0.0.1:$udp_port" --doh "127.0.0.1:$doh_port" \
  --zone-file "$work/example.test.zone" --state-dir "$work/state" --log-level warn) &
pids+=($!)
wait_dns "$udp_port" www.example.test

dnsperf_run() {  # port queries-file [extra dnsperf args] -> "qps avg_ms"
  local port=$1 file=$2; shift 2
  pin "$client_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$duration" -c 4 -q 500 "$@" 2>/dev/null |
    awk '/Queries per second/ {q=$4} /Average Latency/ {gsub(/s/,"",$4); l=$4*1000} END {printf "%.0f %.2f", q, l}'
}
h2load_run() {  # extra args... -> "rps mean_ms completed_ratio"
  # h2load of nghttp2 < 1.64 (Debian 12 has 1.52) may never end a -D run over
  # HTTP/1.1 when the server closes connections (ours does after
  # max_requests_per_connection; nghttp2 issue 2250): such a run is cut off
  # and shows as 0 req/s.
  local pinned=()
  [ -n "$client_cpu" ] && pinned=(taskset -c "$client_cpu")
  timeout $((duration + 30)) "${pinned[@]}" h2load -D "$duration" -t 1 -d "$work/query.bin" \
    -H 'content-type: application/dns-message' "$@" "https://127.0.0.1:$doh_port/dns-query" 2>/dev/null |
    awk '/^finished in/ {for (i=1;i<=NF;i++) if ($i ~ /req\/s/) {r=$(i-1)}}
         /^requests:/ {t=$2; s=$8}
         /^time for request:/ {m=$6; if (m ~ /us$/) {sub(/us/,"",m); m=m/1000} else if (m ~ /ms$/) {sub(/ms/,"",m)} else {sub(/s/,"",m); m=m*1000}}
         END {printf "%.0f %.2f %s/%s", r, m, s, t}'
}

echo "# DNS over HTTPS, $(date -u +%Y-%m-%d), $(nproc) CPUs, duration ${duration}s"
echo
echo "| round | UDP q/s (avg ms) | DoH h2 req/s (mean ms, ok/total) | h2/UDP | DoH h1.1 req/s (mean ms, ok/total) | h1.1/UDP |"
echo "| --- | --- | --- | --- | --- | --- |"
for r in $(seq "$rounds"); do
  read -r uq ul <<<"$(dnsperf_run "$udp_port" "$work/udp.queries")"
  read -r hq hl hok <<<"$(h2load_run -c "$clients" -m "$streams")"
  read -r oq ol ook <<<"$(h2load_run --h1 -c "$h1_clients" -m 1)"
  printf '| %s | %s (%s) | %s (%s, %s) | %.2f | %s (%s, %s) | %.2f |\n' "$r" "$uq" "$ul" "$hq" "$hl" "$hok" \
    "$(echo "$hq / $uq" | bc -l)" "$oq" "$ol" "$ook" "$(echo "$oq / $uq" | bc -l)"
done
echo
echo "h2: $clients connections x $streams streams; h1.1: $h1_clients connections; UDP: dnsperf -c 4 -q 500."

# Engine mode through the TypeScript package.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo; echo "Engine mode: skipped (node/npm missing)."; exit 0
fi
if ! npm install --prefix "$work/node" --no-audit --no-fund --ignore-scripts --loglevel=error \
      @push.rocks/smartdns@7.9.0 >/dev/null 2>&1; then
  echo; echo "Engine mode: skipped (npm install failed: registry unreachable?)."; exit 0
fi
dist="$work/node/node_modules/@push.rocks/smartdns/dist_rust"
for f in rustdns_linux_amd64 rustdns_linux_arm64; do rm -f "$dist/$f"; cp "$bin/basalt-dns" "$dist/$f"; done
cp "$here/engine_driver.mjs" "$work/node/driver.mjs"
engine_port=$(free_port)
(BASALT_DNS_STATE_DIR="$work/engine-state" pin_exec "$server_cpu" node "$work/node/driver.mjs" "$engine_port" \
  >"$work/driver.log" 2>&1) &
pids+=($!)
wait_dns "$engine_port" www.example.com
echo
echo "## Engine mode: dnsQuery round trip through @push.rocks/smartdns@7.9.0 (one handler)"
echo
echo "| round | saturated q/s | avg ms | at -Q $engine_rate: q/s | avg ms |"
echo "| --- | --- | --- | --- | --- |"
for r in $(seq "$rounds"); do
  read -r eq el <<<"$(dnsperf_run "$engine_port" "$work/engine.queries")"
  read -r fq fl <<<"$(dnsperf_run "$engine_port" "$work/engine.queries" -Q "$engine_rate")"
  printf '| %s | %s | %s | %s | %s |\n' "$r" "$eq" "$el" "$fq" "$fl"
done
engine_pid=$(pgrep -P "${pids[0]}" | head -1)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$engine_pid/status" 2>/dev/null || echo "?")
node_rss=$(awk '/VmRSS/ {print $2}' "/proc/${pids[0]}/status" 2>/dev/null || echo "?")
echo
echo "Resident memory after the runs: engine (basalt-dns --management) ${rss} kB, node driver ${node_rss} kB."
