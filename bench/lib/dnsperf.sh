# Shared by the dnsperf benchmarks (bench/dns, bench/dnssec): a work
# directory removed at exit with the server in it stopped, CPU pinning,
# free ports, the server's CPU and memory from /proc, and dnsperf's summary.
# Source it after setting server_cpu and client_cpu (taskset CPU lists, empty
# for no pinning); it sets work, server_pid, clk_tck, pin_server, pin_client.

work=$(mktemp -d)
server_pid=""
clk_tck=$(getconf CLK_TCK)
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Command prefixes that pin the server and dnsperf to their CPUs. (taskset
# execs its command, so $! of a pinned server is the server's own pid.)
pin_server=()
pin_client=()
[ -n "$server_cpu" ] && pin_server=(taskset -c "$server_cpu")
[ -n "$client_cpu" ] && pin_client=(taskset -c "$client_cpu")

# A free loopback port (UDP and TCP), found by binding port 0.
free_port() {
  python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]
u=socket.socket(type=socket.SOCK_DGRAM); u.bind(("127.0.0.1",p)); print(p)'
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }

# dnsperf's summary: completed queries, queries/s, latency, sizes, rcodes.
completed() { awk '/Queries completed:/ { print $3 }' "$1"; }
lost() { awk '/Queries lost:/ { print $3 }' "$1"; }
qps() { awk '/Queries per second:/ { print $4 }' "$1"; }
avg_latency_us() { awk '/Average Latency \(s\):/ { printf "%.1f", $4 * 1e6 }' "$1"; }
response_bytes() { awk '/Average packet size:/ { print $NF }' "$1"; }
# Share (%) of answers with the rcode the mix expects.
rcode_share() {  # rcode_share OUT RCODE
  awk -v rc="$2" '/Response codes:/ { for (i = 3; i <= NF; i++) if ($i == rc) { v = $(i + 2); gsub(/[(%),]/, "", v); print v; found = 1 } }
    END { if (!found) print 0 }' "$1"
}
# p99 of the per-query latencies dnsperf -v prints ("> NOERROR name type 0.000123").
p99_us() {
  awk '/^> / { print $NF }' "$1" | sort -g | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f", v[i] * 1e6 }'
}
per_query_us() {  # per_query_us TICKS QUERIES
  awk -v t="$1" -v q="$2" -v hz="$clk_tck" 'BEGIN { printf "%.2f", (q > 0 ? t / hz / q * 1e6 : 0) }'
}

# The benchmark zone of bench/dns and bench/dnssec: apex records, plus
# $hosts host names with an A and an AAAA each when WITH_HOSTS is 1 (the same
# answers as bench/dns/handler_server.cpp computes).
bench_zone() {  # bench_zone APEX WITH_HOSTS
  cat <<EOF
\$ORIGIN $1.
\$TTL 3600
@     IN SOA ns1 hostmaster 1 86400 3600 1209600 300
@     IN NS  ns1
@     IN MX  10 mail
ns1   IN A   10.1.0.1
mail  IN A   10.1.0.2
mail  IN AAAA 2001:db8:1::2
EOF
  if [ "$2" = 1 ]; then
    awk -v n="$hosts" 'BEGIN { for (i = 0; i < n; i++)
      printf "host-%d IN A 10.0.%d.%d\nhost-%d IN AAAA 2001:db8::%x\n", i, int(i / 256), i % 256, i, i }'
  fi
}
