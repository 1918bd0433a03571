#!/usr/bin/env bash
# DNS over HTTPS, two builds side by side: basalt-dns from BUILD_A and from
# BUILD_B serve the same zone at the same time (both pinned to SERVER_CPU),
# and h2load (on CLIENT_CPU) drives them in turn, alternating which goes
# first, PAIRS times for HTTP/2 and for HTTP/1.1. For a before/after
# comparison on a shared machine: both builds see the same load, and the
# server CPU per request (utime+stime of the server over the run, divided by
# the requests answered) moves much less with that load than req/s does.
# Prints a Markdown table on stdout.
#
#   bench/dns-doh/compare.sh BUILD_A BUILD_B     (e.g. a build of the base commit, then build/release)
#
# Needs: h2load (nghttp2-client), curl, taskset, python3, bc. Tunables:
# DURATION=5 PAIRS=3 CLIENTS=4 STREAMS=64 H1_CLIENTS=64 SERVER_CPU=1 CLIENT_CPU=0
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BUILD_A BUILD_B" >&2; exit 2; }
builds=("$1" "$2")
duration=${DURATION:-5}
pairs=${PAIRS:-3}
clients=${CLIENTS:-4}
streams=${STREAMS:-64}
h1_clients=${H1_CLIENTS:-64}
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}

for tool in h2load curl taskset python3 bc; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
for b in "${builds[@]}"; do
  [ -x "$b/bin/basalt-dns" ] || { echo "compare.sh: $b/bin/basalt-dns is not built" >&2; exit 1; }
done

. "$(dirname "$0")/../lib/processes.sh"

cat > "$work/example.test.zone" <<'ZONE'
$ORIGIN example.test.
$TTL 3600
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@    IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.80
ZONE
python3 - "$work/query.bin" <<'PY'
import sys
name = b''.join(bytes([len(l)]) + l for l in b'www.example.test'.split(b'.')) + b'\0'
open(sys.argv[1], 'wb').write(bytes([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + name + bytes([0, 1, 0, 1]))
PY

ports=()
for i in 0 1; do
  udp=$(free_port)
  doh=$(free_port)
  (pin_exec "$server_cpu" "${builds[$i]}/bin/basalt-dns" serve --listen "127.0.0.1:$udp" --doh "127.0.0.1:$doh" \
    --zone-file "$work/example.test.zone" --state-dir "$work/state-$i" --log-level warn 2>>"$work/server-$i.log") &
  pids+=($!)
  ports+=("$doh")
  for _ in $(seq 100); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$doh/dns-query?name=www.example.test")" = 200 ] && break
    sleep 0.1
  done
  [ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$doh/dns-query?name=www.example.test")" = 200 ] ||
    { echo "compare.sh: ${builds[$i]} does not answer DoH; its log:" >&2; cat "$work/server-$i.log" >&2; exit 1; }
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run INDEX MODE -> "req/s cpu_us_per_request"
run() {
  local i=$1 mode=$2 args t0 t1 out
  if [ "$mode" = h1.1 ]; then args=(--h1 -c "$h1_clients" -m 1); else args=(-c "$clients" -m "$streams"); fi
  t0=$(cpu_ticks "${pids[$i]}")
  # (h2load before nghttp2 1.64 may not end a -D run over HTTP/1.1 when the
  # server closes connections, nghttp2 issue 2250: cut off, reported as 0)
  local pinned=()
  [ -n "$client_cpu" ] && pinned=(taskset -c "$client_cpu")
  out=$(timeout $((duration + 25)) "${pinned[@]}" h2load -D "$duration" -t 1 -d "$work/query.bin" \
    -H 'content-type: application/dns-message' "${args[@]}" "https://127.0.0.1:${ports[$i]}/dns-query" 2>/dev/null || true)
  t1=$(cpu_ticks "${pids[$i]}")
  echo "$out" | awk -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
    /^finished in/ { for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) r = $(i - 1) }
    /^requests:/ { ok = $8 }
    END { printf "%.0f %.2f", r, (ok > 0 ? ticks / hz * 1e6 / ok : 0) }'
}

echo "A: ${builds[0]}, B: ${builds[1]}; $(nproc) CPUs; h2load -D $duration: HTTP/2 $clients connections x $streams streams, HTTP/1.1 $h1_clients connections."
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| pair | HTTP | A req/s | A CPU µs/req | B req/s | B CPU µs/req | B/A req/s | B/A CPU |"
echo "|---|---|---|---|---|---|---|---|"
for p in $(seq "$pairs"); do
  for mode in h2 h1.1; do
    if [ $((p % 2)) = 1 ]; then order="0 1"; else order="1 0"; fi
    declare -A result=()
    for i in $order; do result[$i]=$(run "$i" "$mode"); done
    read -r ar ac <<<"${result[0]}"
    read -r br bc <<<"${result[1]}"
    printf '| %s | %s | %s | %s | %s | %s | %.2f | %.2f |\n' "$p" "$mode" "$ar" "$ac" "$br" "$bc" \
      "$(echo "if ($ar > 0) $br / $ar else 0" | bc -l)" "$(echo "if ($ac > 0) $bc / $ac else 0" | bc -l)"
  done
done
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
