#!/usr/bin/env bash
# DNS server under attack: basalt-dns and Knot DNS, given the same zone and
# the same hostile clients on loopback in one run. For each attack it records
# what the legitimate client got and what the server's memory did.
#
#   pipeline  3 TCP connections pipelining queries for a 1.7 KB answer as fast
#             as the server takes them, never reading (20 s). Server RSS
#             before / peak / after, queries taken, when the server closed
#             them; TCP queries of a legitimate client meanwhile.
#   axfr      64 KB of AXFR queries on one connection that never reads (20 s).
#   idle      2000 idle TCP connections from one address (15 s); a
#             legitimate TCP client from another network meanwhile
#             (answered / attempted).
#   flood     UDP at full speed (dnsperf, 16 clients, 5000 outstanding) with a
#             legitimate UDP client at 200 q/s: its p50 / p99 latency and
#             losses, for the zone unsigned and signed, for basalt-dns with
#             several UDP socket buffer sizes and for Knot.
#   sat       saturation without a flood (dnsperf -q 500, 10 s): queries lost
#             for each buffer size (too small a buffer drops bursts).
#
#   bench/dns-abuse/run.sh [BUILD_DIR]          (default build/release)
#
# Needs: knotd, dnsperf, kdig, taskset, python3 (scripts/setup installs them).
# Tunables: BUFFERS="default 131072 1048576 4194304" (udp.receive_buffer and
# send_buffer values tried; default: the key left out, the system's default),
# ROUNDS=1 (flood rounds), SERVER_CPU=1 CLIENT_CPU=0,
# ATTACKS="pipeline axfr idle flood sat".
# Prints a Markdown report on stdout.
set -euo pipefail

build=${1:-build/release}
bin=$build/bin
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}
buffers=${BUFFERS:-default 131072 1048576 4194304}
attacks=${ATTACKS:-pipeline axfr idle flood sat}
hosts=10000
here=$(cd "$(dirname "$0")" && pwd)
clients=$here/clients.py

for tool in knotd dnsperf kdig taskset python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -x "$bin/basalt-dns" ] || { echo "run.sh: $bin/basalt-dns is not built" >&2; exit 1; }
ulimit -n 16384  # the idle attack holds 2000 sockets

source "$here/../lib/dnsperf.sh"

apex=bench.test
{
  bench_zone "$apex" 1
  for i in $(seq 1 8); do printf 'big IN TXT "%s%0200d"\n' "$i" 0; done
} >"$work/$apex.zone"
awk -v n="$hosts" -v apex="$apex" 'BEGIN { for (k = 0; k < 100000; k++) printf "host-%d.%s A\n", k % n, apex }' \
  >"$work/queries.txt"

# start_server KIND [UDP_BUFFER]: KIND is ours, ours-signed, knot or knot-signed.
start_server() {
  local kind=$1 buffer=${2:-}
  port=$(free_port)
  case "$kind" in
    ours | ours-signed)
      {
        echo "listen: [127.0.0.1:$port]"
        echo "zones: [{file: $work/$apex.zone}]"
        echo "transfer: {allow: [127.0.0.0/8]}"
        echo "workers: 2"
        echo "state_dir: $work/state"
        echo "log: {level: error}"
        if [ -n "$buffer" ] && [ "$buffer" != default ]; then
          echo "udp: {receive_buffer: $buffer, send_buffer: $buffer}"
        fi
        [ "$kind" = ours-signed ] && echo "dnssec: {zone: $apex, key_dir: $work/ours-keys}"
      } >"$work/ours.yaml"
      "${pin_server[@]}" "$bin/basalt-dns" serve --config "$work/ours.yaml" 2>>"$work/ours.log" &
      ;;
    knot | knot-signed)
      rm -rf "$work/knot" && mkdir -p "$work/knot"
      local user="" dnssec=""
      [ "$(id -u)" = 0 ] && user="  user: root:root"
      [ "$kind" = knot-signed ] && dnssec="    dnssec-signing: on"
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
  kasp-db: $work/knot-keys
acl:
  - id: transfer
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: $work/knot
zone:
  - domain: $apex
    file: $work/$apex.zone
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    acl: transfer
$dnssec
CONF
      "${pin_server[@]}" knotd -c "$work/knot.conf" 2>>"$work/knot.log" &
      ;;
  esac
  server_pid=$!
  local deadline=$((SECONDS + 30)) want=A
  case "$kind" in *-signed) want=RRSIG ;; esac
  until kdig @127.0.0.1 -p "$port" +time=1 +retry=0 +dnssec +noall +answer "host-1.$apex" A 2>/dev/null | grep -q "$want"; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "run.sh: $kind did not start answering" >&2
      cat "$work"/*.log >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -n "$server_cpu" ]; then taskset -a -c -p "$server_cpu" "$server_pid" >/dev/null; fi
}

# Samples the server's RSS every 0.2 s into $work/rss until it exits or the file $work/stop-sampling appears.
sample_rss() {
  rm -f "$work/stop-sampling" "$work/rss"
  (while [ ! -e "$work/stop-sampling" ] && kill -0 "$server_pid" 2>/dev/null; do
    rss_kib >>"$work/rss"
    sleep 0.2
  done) &
  sampler=$!
}
stop_sampling() {
  touch "$work/stop-sampling"
  wait "$sampler" 2>/dev/null || true
  sort -n "$work/rss" | tail -n 1
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

rows=$work/rows.md
: >"$rows"
attack_pipeline() {
  local kind=$1
  start_server "$kind"
  local before after peak hog legit
  before=$(rss_kib)
  sample_rss
  "${pin_client[@]}" python3 "$clients" pipeline "$port" "big.$apex" TXT 3 20 127.0.0.2 >"$work/hog.txt" &
  local hog_pid=$!
  sleep 2
  legit=$("${pin_client[@]}" python3 "$clients" tcp-legit "$port" "host-1.$apex" 15 127.1.0)
  wait "$hog_pid"
  sleep 3
  peak=$(stop_sampling)
  after=$(rss_kib)
  hog=$(cat "$work/hog.txt")
  stop_server
  echo "| pipeline | $kind | $(mib "$before") / $(mib "$peak") / $(mib "$after") | $legit | $hog |" >>"$rows"
}
attack_axfr() {
  local kind=$1
  start_server "$kind"
  local before peak after hog
  before=$(rss_kib)
  sample_rss
  hog=$("${pin_client[@]}" python3 "$clients" axfr "$port" "$apex" 65536 20 127.0.0.2)
  sleep 3
  peak=$(stop_sampling)
  after=$(rss_kib)
  stop_server
  echo "| axfr | $kind | $(mib "$before") / $(mib "$peak") / $(mib "$after") | | $hog |" >>"$rows"
}
attack_idle() {
  local kind=$1
  start_server "$kind"
  local before peak after legit idle
  before=$(rss_kib)
  sample_rss
  "${pin_client[@]}" python3 "$clients" idle "$port" 2000 15 127.0.0.2 >"$work/idle.txt" &
  local idle_pid=$!
  sleep 3
  legit=$("${pin_client[@]}" python3 "$clients" tcp-legit "$port" "host-1.$apex" 10 127.1.0)
  wait "$idle_pid"
  peak=$(stop_sampling)
  after=$(rss_kib)
  idle=$(tr '\n' ' ' <"$work/idle.txt")
  stop_server
  echo "| idle | $kind | $(mib "$before") / $(mib "$peak") / $(mib "$after") | $legit | $idle |" >>"$rows"
}

flood_rows=$work/flood.md
: >"$flood_rows"
flood() {  # flood KIND BUFFER
  local kind=$1 buffer=${2:-}
  start_server "$kind" "$buffer"
  local flags=()
  case "$kind" in *-signed) flags=(-D) ;; esac
  "${pin_client[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 14 -T 2 -c 16 -q 5000 "${flags[@]}" \
    >"$work/flood.txt" 2>&1 &
  local flood_pid=$!
  sleep 2
  local legit
  legit=$("${pin_client[@]}" python3 "$clients" udp-legit "$port" "host-1.$apex" 200 10)
  wait "$flood_pid" || true
  stop_server
  echo "| $kind | ${buffer:-default} | $(qps "$work/flood.txt") | $legit |" >>"$flood_rows"
}

sat_rows=$work/sat.md
: >"$sat_rows"
saturate() {  # saturate KIND BUFFER
  local kind=$1 buffer=${2:-}
  start_server "$kind" "$buffer"
  "${pin_client[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 10 -T 1 -c 8 -q 500 >"$work/sat.txt" 2>&1
  stop_server
  local sent=$(($(completed "$work/sat.txt") + $(lost "$work/sat.txt")))
  echo "| $kind | ${buffer:-default} | $(qps "$work/sat.txt") | $(lost "$work/sat.txt") / $sent |" >>"$sat_rows"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for attack in $attacks; do
  case "$attack" in
    pipeline | axfr | idle) for kind in ours knot; do "attack_$attack" "$kind"; done ;;
    flood)
      for round in $(seq 1 "${ROUNDS:-1}"); do
        for kind in ours ours-signed; do for b in $buffers; do flood "$kind" "$b"; done; done
        flood knot
        flood knot-signed
      done
      ;;
    sat)
      for b in $buffers; do saturate ours "$b"; done
      saturate knot
      ;;
  esac
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- command: \`BUFFERS=\"$buffers\" SERVER_CPU=$server_cpu CLIENT_CPU=$client_cpu bench/dns-abuse/run.sh $build\`"
echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
echo "- $(knotd --version 2>&1 | head -n 1); $(dnsperf -h 2>&1 | grep -m1 '^Version' | sed 's/^Version/dnsperf/')"
echo
if [ -s "$rows" ]; then
  echo "TCP attacks (RSS MiB before / peak / 3 s after; the legitimate client's TCP queries meanwhile):"
  echo
  echo "| attack | server | RSS MiB | legitimate client | attacker |"
  echo "|---|---|---|---|---|"
  cat "$rows"
  echo
fi
if [ -s "$flood_rows" ]; then
  echo "UDP flood (dnsperf -T 2 -c 16 -q 5000) with a legitimate client at 200 q/s:"
  echo
  echo "| server | udp buffer (bytes asked) | flood q/s answered | legitimate client |"
  echo "|---|---|---|---|"
  cat "$flood_rows"
  echo
fi
if [ -s "$sat_rows" ]; then
  echo "Saturation without a flood (dnsperf -T 1 -c 8 -q 500 -l 10):"
  echo
  echo "| server | udp buffer | q/s | lost / sent |"
  echo "|---|---|---|---|"
  cat "$sat_rows"
fi
