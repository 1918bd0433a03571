#!/usr/bin/env bash
# DNS server benchmark: dnsperf against basalt-dns (static zone), against our
# server answering from a C++ handler, and against Knot DNS serving the same
# zone — in one run, alternating, so the machine's load hits all of them alike.
#
# For every server and round it records:
#   - saturation: queries/s, average latency, server CPU per query
#     (dnsperf with many queries outstanding for DURATION seconds);
#   - fixed rate (dnsperf -Q RATE, where every server keeps up): server CPU per
#     query, average and p99 latency (from dnsperf -v per-query output);
#   - resident memory (VmRSS) after the runs.
# Server CPU is the utime+stime delta of /proc/<pid>/stat over a run divided
# by the queries answered in it. Prints a Markdown report on stdout.
#
#   bench/dns/run.sh [BUILD_DIR]          (default build/bench)
#
# Needs (scripts/setup installs them): knotd, dnsperf, kdig, taskset. Build
# first: cmake --build BUILD_DIR --target basalt-dns basalt-bench-dns-handler
# Tunables (environment): ROUNDS=3 DURATION=10 RATE=30000 HOSTS=10000
# SERVER_CPU=1 CLIENT_CPU=0 (taskset CPU lists; empty = no pinning)
# SERVERS="ours knot handler" (the order within a round).
set -euo pipefail

build=${1:-build/bench}
bin=$build/bin
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
rate=${RATE:-30000}
hosts=${HOSTS:-10000}
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}
servers=${SERVERS:-ours knot handler}

for tool in knotd dnsperf kdig taskset; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
for prog in basalt-dns basalt-bench-dns-handler; do
  [ -x "$bin/$prog" ] || { echo "run.sh: $bin/$prog is not built" >&2; exit 1; }
done

source "$(dirname "$0")/../lib/dnsperf.sh"

# --- Data: the zone, the same zone without host names (for the handler), queries.
apex=bench.test
bench_zone "$apex" 1 >"$work/bench.test.zone"
bench_zone "$apex" 0 >"$work/apex.zone"

# 100k queries: 55% A and 25% AAAA of existing hosts, 10% MX at the apex
# (with additional A/AAAA), 10% A of names that do not exist (NXDOMAIN).
awk -v n="$hosts" -v apex="$apex" 'BEGIN {
  seed = 12345
  for (k = 0; k < 100000; k++) {
    seed = (seed * 1103515245 + 12345) % 2147483648; r = seed % 100
    seed = (seed * 1103515245 + 12345) % 2147483648; h = seed % n
    if (r < 55) printf "host-%d.%s A\n", h, apex
    else if (r < 80) printf "host-%d.%s AAAA\n", h, apex
    else if (r < 90) printf "%s MX\n", apex
    else printf "nx-%d.%s A\n", h, apex
  }
}' >"$work/queries.txt"

# --- Servers.
start_server() {  # start_server KIND PORT; sets server_pid
  local kind=$1 port=$2
  case "$kind" in
    ours)
      cat >"$work/basalt-dns.yaml" <<EOF
listen: [127.0.0.1:$port]
zones:
  - file: $work/bench.test.zone
workers: 2
state_dir: $work/state
log: {level: warn}
EOF
      "${pin_server[@]}" "$bin/basalt-dns" serve --config "$work/basalt-dns.yaml" 2>>"$work/ours.log" &
      ;;
    handler)
      "${pin_server[@]}" "$bin/basalt-bench-dns-handler" --listen "127.0.0.1:$port" \
        --zone-file "$work/apex.zone" --workers 2 2>>"$work/handler.log" &
      ;;
    knot)
      mkdir -p "$work/knot"
      local user=""
      [ "$(id -u)" = 0 ] && user="  user: root:root"
      cat >"$work/knot.conf" <<EOF
server:
  listen: 127.0.0.1@$port
  rundir: $work/knot
$user
  udp-workers: 2
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: $work/knot
template:
  - id: default
    storage: $work/knot
zone:
  - domain: $apex
    file: $work/bench.test.zone
    zonefile-sync: -1
    journal-content: none
EOF
      "${pin_server[@]}" knotd -c "$work/knot.conf" 2>>"$work/knot.log" &
      ;;
  esac
  server_pid=$!
  local deadline=$((SECONDS + 20))
  until kdig @127.0.0.1 -p "$port" +time=1 +retry=0 +short "host-1.$apex" A 2>/dev/null | grep -q '^10\.0\.0\.1$'; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "run.sh: $kind did not start answering; its log:" >&2
      cat "$work/$kind.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  # knotd pins its UDP workers to CPUs of its own choosing (one of them onto
  # dnsperf's CPU); put every thread of every server back on the server CPU.
  if [ -n "$server_cpu" ]; then taskset -a -c -p "$server_cpu" "$server_pid" >/dev/null; fi
}



dnsperf_run() {  # dnsperf_run PORT OUT [extra dnsperf flags]; measures server CPU around it
  local port=$1 out=$2
  shift 2
  local t0 t1
  t0=$(cpu_ticks)
  "${pin_client[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$duration" -T 1 -c 8 "$@" >"$out" 2>&1
  t1=$(cpu_ticks)
  echo $((t1 - t0))
}

results=$work/results.tsv
printf 'round\tserver\tqps\tsat_avg_us\tsat_cpu_us\tfixed_qps\tfixed_avg_us\tfixed_p99_us\tfixed_cpu_us\trss_mib\tlost\n' >"$results"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$rounds"); do
  for kind in $servers; do
    port=$(free_port)
    start_server "$kind" "$port"
    # Warm-up (not measured): caches, page faults, socket buffers.
    dnsperf_run "$port" "$work/warm.txt" -Q "$rate" -l 2 >/dev/null
    sat_ticks=$(dnsperf_run "$port" "$work/sat.txt" -q 500)
    fixed_ticks=$(dnsperf_run "$port" "$work/fixed.txt" -q 500 -Q "$rate" -v)
    rss=$(rss_kib)
    stop_server
    sat_n=$(completed "$work/sat.txt")
    fixed_n=$(completed "$work/fixed.txt")
    lost="$(awk '/Queries lost:/ { print $3 }' "$work/sat.txt") / $(awk '/Queries lost:/ { print $3 }' "$work/fixed.txt")"
    printf '%s\t%s\t%.0f\t%s\t%s\t%.0f\t%s\t%s\t%s\t%.1f\t%s\n' "$round" "$kind" \
      "$(qps "$work/sat.txt")" "$(avg_latency_us "$work/sat.txt")" "$(per_query_us "$sat_ticks" "$sat_n")" \
      "$(qps "$work/fixed.txt")" "$(avg_latency_us "$work/fixed.txt")" "$(p99_us "$work/fixed.txt")" \
      "$(per_query_us "$fixed_ticks" "$fixed_n")" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$lost" >>"$results"
    tail -n 1 "$results" >&2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Report.
echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- command: \`ROUNDS=$rounds DURATION=$duration RATE=$rate HOSTS=$hosts SERVER_CPU=$server_cpu CLIENT_CPU=$client_cpu bench/dns/run.sh $build\`"
echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
echo "- $(knotd --version 2>&1 | head -n 1); $(dnsperf -h 2>&1 | grep -m1 '^Version' | sed 's/^Version/dnsperf/')"
echo
echo "Each run (saturation: \`dnsperf -T 1 -c 8 -q 500 -l $duration\`; fixed rate: the same with \`-Q $rate -v\`):"
echo
echo "| round | server | q/s | avg µs | CPU µs/q | fixed q/s | avg µs | p99 µs | CPU µs/q | RSS MiB | lost (sat / fixed) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
tail -n +2 "$results" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
echo
echo "Medians over the rounds, and ratios to Knot (ours/knot):"
echo
awk -F'\t' '
  NR > 1 { k = $2; n[k]++; for (c = 3; c <= 10; c++) v[k, c, n[k]] = $c; kinds[k] = 1 }
  function median(k, c,   i, j, m, t, a) {
    m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  END {
    print "| server | q/s | sat avg µs | sat CPU µs/q | fixed avg µs | fixed p99 µs | fixed CPU µs/q | RSS MiB |"
    print "|---|---|---|---|---|---|---|---|"
    split("ours handler knot", order, " ")
    for (o = 1; o <= 3; o++) {
      k = order[o]; if (!(k in kinds)) continue
      printf "| %s | %.0f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f |\n", k, median(k, 3), median(k, 4), median(k, 5),
        median(k, 7), median(k, 8), median(k, 9), median(k, 10)
    }
    if ("knot" in kinds) for (o = 1; o <= 2; o++) {
      k = order[o]; if (!(k in kinds)) continue
      printf "| %s/knot | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", k,
        median(k, 3) / median("knot", 3), median(k, 4) / median("knot", 4), median(k, 5) / median("knot", 5),
        median(k, 7) / median("knot", 7), median(k, 8) / median("knot", 8), median(k, 9) / median("knot", 9),
        median(k, 10) / median("knot", 10)
    }
  }' "$results"
