#!/usr/bin/env bash
# Response rate limiting under a random-subdomain flood: basalt-dns and Knot
# DNS (mod-rrl) in the same run, configured alike (rate 20 a second, slip 2,
# /24 and /56 networks, 4 s of burst, which is Knot's fixed bucket size).
#
# For each server, with and without RRL: a flood of random names under the
# zone (NXDOMAIN) at full speed from 127.0.1.2 (basalt-bench-dns-flood: 4
# sockets, sendmmsg, never waits for answers) and, meanwhile, a legitimate
# client on 127.0.2.3 (another /24) asking existing names at 200 q/s
# (legit.py). Reported: the share of the legitimate queries answered within
# 100 ms (complete answers), the flood's send rate and what it got back, and
# the datagrams the kernel dropped for full socket buffers meanwhile
# (RcvbufErrors, system-wide: the server's and the flood's own sockets).
#
#   bench/dns-rrl/run.sh [BUILD_DIR]          (default build/release)
#
# Tunables: SECONDS_PER_RUN=10, ROUNDS=3, RATE=20, SLIP=2, FLOOD_QPS=0 (full
# speed; else the flood's pace),
# KINDS="ours ours-steered ours-norrl knot knot-norrl" (ours-steered: ours
# plus udp.steering: source_network), SERVER_CPU=1 CLIENT_CPU=0
# (the flood and the legitimate client share CLIENT_CPU).
# Needs knotd, kdig, taskset, python3. Prints a Markdown report on stdout.
set -euo pipefail

build=${1:-build/release}
bin=$build/bin
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}
duration=${SECONDS_PER_RUN:-10}
rounds=${ROUNDS:-3}
rate=${RATE:-20}
slip=${SLIP:-2}
flood_qps=${FLOOD_QPS:-0}
kinds=${KINDS:-ours ours-steered ours-norrl knot knot-norrl}
hosts=10000
here=$(cd "$(dirname "$0")" && pwd)

for tool in knotd kdig taskset python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
for b in basalt-dns basalt-bench-dns-flood; do
  [ -x "$bin/$b" ] || { echo "run.sh: $bin/$b is not built" >&2; exit 1; }
done

source "$here/../lib/dnsperf.sh"

apex=bench.test
bench_zone "$apex" 1 >"$work/$apex.zone"

# start_server KIND: ours, ours-steered, ours-norrl, knot or knot-norrl.
start_server() {
  local kind=$1
  port=$(free_port)
  case "$kind" in
    ours | ours-steered | ours-norrl)
      {
        echo "listen: [127.0.0.1:$port]"
        echo "zones: [{file: $work/$apex.zone}]"
        echo "workers: 2"
        echo "state_dir: $work/state"
        echo "log: {level: error}"
        [ "$kind" = ours-norrl ] || echo "rrl: {rate: $rate, slip: $slip, burst: 4s, ipv4_prefix: 24, ipv6_prefix: 56}"
        [ "$kind" = ours-steered ] && echo "udp: {steering: source_network}"
      } >"$work/ours.yaml"
      "${pin_server[@]}" "$bin/basalt-dns" serve --config "$work/ours.yaml" 2>>"$work/ours.log" &
      ;;
    knot | knot-norrl)
      rm -rf "$work/knot" && mkdir -p "$work/knot"
      local user="" module="" global=""
      [ "$(id -u)" = 0 ] && user="  user: root:root"
      if [ "$kind" = knot ]; then
        module="mod-rrl:
  - id: default
    rate-limit: $rate
    slip: $slip"
        global="    global-module: mod-rrl/default"
      fi
      cat >"$work/knot.conf" <<CONF
server:
  listen: 127.0.0.1@$port
  rundir: $work/knot
$user
  udp-workers: 2
  tcp-workers: 2
  background-workers: 1
log:
  - target: stderr
    any: error
database:
  storage: $work/knot
$module
template:
  - id: default
    storage: $work/knot
$global
zone:
  - domain: $apex
    file: $work/$apex.zone
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
CONF
      "${pin_server[@]}" knotd -c "$work/knot.conf" 2>>"$work/knot.log" &
      ;;
  esac
  server_pid=$!
  local deadline=$((SECONDS + 30))
  until kdig @127.0.0.1 -p "$port" +time=1 +retry=0 +noall +answer "host-1.$apex" A 2>/dev/null | grep -q A; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "run.sh: $kind did not start answering" >&2
      cat "$work"/*.log >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -n "$server_cpu" ]; then taskset -a -c -p "$server_cpu" "$server_pid" >/dev/null; fi
}

# Datagrams the kernel dropped for full receive buffers, system-wide (/proc/net/snmp).
rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp; }

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

rows=$work/rows.md
: >"$rows"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$rounds"); do
  for kind in $kinds; do
    start_server "$kind"
    drops_before=$(rcvbuf_errors)
    "${pin_client[@]}" "$bin/basalt-bench-dns-flood" "$port" 127.0.1.2 "$apex" $((duration + 2)) "$flood_qps" >"$work/flood.txt" &
    flood_pid=$!
    sleep 1
    legit=$("${pin_client[@]}" python3 "$here/legit.py" "$port" 127.0.2.3 "$apex" "$hosts" 200 "$duration")
    wait "$flood_pid"
    flood=$(cat "$work/flood.txt")
    drops=$(($(rcvbuf_errors) - drops_before))
    stop_server
    echo "| $round | $kind | $(field within_100ms_pct "$legit") | $(field answered_pct "$legit") | $(field truncated "$legit") | $(field p50_ms "$legit") | $(field p99_ms "$legit") | $(field sent_qps "$flood") | $(field answers "$flood") / $(field sent "$flood") | $(field truncated "$flood") | $drops |" >>"$rows"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- command: \`SECONDS_PER_RUN=$duration ROUNDS=$rounds RATE=$rate SLIP=$slip FLOOD_QPS=$flood_qps SERVER_CPU=$server_cpu CLIENT_CPU=$client_cpu bench/dns-rrl/run.sh $build\`"
echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
echo "- $(knotd --version 2>&1 | head -n 1); $(nproc) CPUs"
echo
echo "Flood of random names from 127.0.1.2 ($duration s + 2, pace: ${flood_qps/#0/full speed} q/s), legitimate client on 127.0.2.3 at 200 q/s for $duration s:"
echo
echo "| round | server | legit ≤100 ms % | legit answered % | legit TC | p50 ms | p99 ms | flood sent q/s | flood answers / sent | flood TC | kernel drops |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$rows"
echo
echo "Medians of the legitimate client's share within 100 ms:"
echo
for kind in $kinds; do
  awk -F'|' -v k=" $kind " '$3 == k { print $4 + 0 }' "$rows" | sort -g |
    awk -v k="$kind" '{ v[NR] = $1 } END { if (NR) printf "- %s: %.2f %%\n", k, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
done
