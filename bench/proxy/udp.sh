#!/usr/bin/env bash
# UDP proxy benchmark: DNS queries with dnsperf to one basalt-dns backend on
# loopback, three ways in one run, alternating: directly ("direct"),
# through basalt-proxy (a `transport: udp` forward route) and through
# nginx's stream module (`listen ... udp`, proxy_pass, one session per
# client address and port until proxy_timeout, as basalt-proxy does).
#
#   dnsperf -c CLIENTS -q OUTSTANDING -l DURATION -d queries.txt
#   (CLIENTS client sockets = CLIENTS sessions in each proxy)
#
# Pinning: both proxies on PROXY_CPU, one worker each (basalt-proxy
# --workers 1, nginx worker_processes 1); dnsperf and basalt-dns on
# CLIENT_CPU. Per run: queries/s and lost queries as dnsperf reports them,
# and the proxy's CPU µs per query (utime+stime delta from /proc over the
# run, divided by the queries completed). Prints a Markdown report on
# stdout: every run, the medians over the rounds and the ratios ours/nginx
# and ours/direct.
#
#   bench/proxy/udp.sh [BUILD_DIR] > report.md     (default build/release)
#
# Needs: nginx (nginx-light) with libnginx-mod-stream, dnsperf, dig, taskset,
# python3 (scripts/setup installs them). Tunables (environment): ROUNDS=3
# DURATION=10 CLIENTS=64 OUTSTANDING=256 PROXY_CPU=0 CLIENT_CPU=1 (empty =
# no pinning). PERF_DIR=DIR: one more unmeasured run through ours under
# `perf record -g`; DIR/udp.txt gets `perf report --no-children --stdio`.
# QUICK=1: ROUNDS=1 DURATION=3.
set -euo pipefail

build=${1:-build/release}
bin=$build/bin
if [ "${QUICK:-0}" = 1 ]; then
  rounds=${ROUNDS:-1} duration=${DURATION:-3}
else
  rounds=${ROUNDS:-3} duration=${DURATION:-10}
fi
clients=${CLIENTS:-64}
outstanding=${OUTSTANDING:-256}
proxy_cpu=${PROXY_CPU-0}
client_cpu=${CLIENT_CPU-1}
perf_dir=${PERF_DIR:-}
stream_module=/usr/lib/nginx/modules/ngx_stream_module.so

for tool in nginx dnsperf dig taskset python3; do
  command -v "$tool" >/dev/null || { echo "udp.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -f "$stream_module" ] || { echo "udp.sh: $stream_module is missing (run scripts/setup)" >&2; exit 1; }
for b in basalt-proxy basalt-dns; do
  [ -x "$bin/$b" ] || { echo "udp.sh: $bin/$b is not built" >&2; exit 1; }
done
proxy_bin=$(realpath "$bin/basalt-proxy")
dns_bin=$(realpath "$bin/basalt-dns")

. "$(dirname "$0")/../lib/processes.sh"  # $work, pids, cleanup, free_port, cpu_ticks, stop
clk_tck=$(getconf CLK_TCK)

# A UDP port answered by a DNS server: until dig gets an answer.
wait_dns() {  # wait_dns PORT NAME
  for _ in $(seq 100); do
    [ "$(dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short www.bench.test A 2>/dev/null)" = 192.0.2.80 ] && return
    sleep 0.1
  done
  echo "udp.sh: $2 does not answer on port $1" >&2
  exit 1
}

# --- The backend: basalt-dns with one small zone.
cat >"$work/bench.test.zone" <<'EOF2'
$ORIGIN bench.test.
$TTL 3600
@    IN SOA ns1 hostmaster 2026120301 7200 3600 1209600 300
@    IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.80
www  IN AAAA 2001:db8::80
mail IN A   192.0.2.25
@    IN MX  10 mail
EOF2
printf 'www.bench.test A\nwww.bench.test AAAA\nbench.test MX\nbench.test NS\nns1.bench.test A\nmissing.bench.test A\n' \
  >"$work/queries.txt"
dns_port=$(free_port)
(pin_exec "$client_cpu" "$dns_bin" serve --listen "127.0.0.1:$dns_port" --zone-file "$work/bench.test.zone" \
  --log-level warn >"$work/bench-proxy-dns.log" 2>&1) &
pids+=($!)
wait_dns "$dns_port" basalt-dns

# --- basalt-proxy.
ours_port=$(free_port)
mkdir -p "$work/bench-proxy-ours"
cat >"$work/bench-proxy-ours/proxy.yaml" <<EOF2
routes:
  - name: dns
    match: {ports: $ours_port, transport: udp}
    action:
      type: forward
      targets: [{host: 127.0.0.1, port: $dns_port}]
      udp: {sessionTimeout: 60000}
EOF2
(pin_exec "$proxy_cpu" "$proxy_bin" serve --config "$work/bench-proxy-ours/proxy.yaml" --workers 1 \
  --state-dir "$work/bench-proxy-ours" --log-level warn >"$work/bench-proxy-ours/log" 2>&1) &
ours_pid=$!
pids+=("$ours_pid")
wait_dns "$ours_port" basalt-proxy

# --- nginx stream.
nginx_port=$(free_port)
mkdir -p "$work/bench-proxy-nginx"
cat >"$work/bench-proxy-nginx/nginx.conf" <<EOF2
load_module $stream_module;
worker_processes 1;
pid $work/bench-proxy-nginx/nginx.pid;
error_log $work/bench-proxy-nginx/error.log error;
events { worker_connections 4096; }
stream {
  server {
    listen 127.0.0.1:$nginx_port udp;
    proxy_pass 127.0.0.1:$dns_port;
    proxy_timeout 60s;
  }
}
EOF2
(pin_exec "$proxy_cpu" nginx -p "$work/bench-proxy-nginx" -c "$work/bench-proxy-nginx/nginx.conf" \
  -g 'daemon off; master_process on;' >"$work/bench-proxy-nginx/out" 2>&1) &
nginx_pid=$!
pids+=("$nginx_pid")
wait_dns "$nginx_port" nginx

declare -A port_of=([direct]=$dns_port [ours]=$ours_port [nginx]=$nginx_port)
declare -A pid_of=([ours]=$ours_pid [nginx]=$nginx_pid)
peers=(direct ours nginx)

# One dnsperf run: "qps lost cpu_us_per_query".
measure() {  # measure PEER
  local peer=$1 before=0 after=0 out qps lost completed cpu
  [ "$peer" = direct ] || before=$(cpu_ticks "${pid_of[$peer]}")
  out=$(pin "$client_cpu" dnsperf -s 127.0.0.1 -p "${port_of[$peer]}" -d "$work/queries.txt" -c "$clients" \
    -q "$outstanding" -l "$duration" -t 2 2>&1)
  [ "$peer" = direct ] || after=$(cpu_ticks "${pid_of[$peer]}")
  qps=$(awk '/Queries per second:/ { print $4 }' <<<"$out")
  lost=$(awk '/Queries lost:/ { print $3 }' <<<"$out")
  completed=$(awk '/Queries completed:/ { print $3 }' <<<"$out")
  if [ "$peer" = direct ] || [ "${completed:-0}" = 0 ]; then
    cpu=-
  else
    cpu=$(python3 -c "print(f'{($after - $before) * 1e6 / $clk_tck / $completed:.2f}')")
  fi
  echo "${qps:-0} ${lost:-?} $cpu"
}

median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:] if x != "-"]; print(f"{statistics.median(v):.2f}" if v else "-")' "$@"; }

declare -A qps_runs cpu_runs
echo "# UDP proxy: basalt-proxy against nginx stream (UDP) and the direct path"
echo
echo "dnsperf -c $clients -q $outstanding -l $duration s, ${rounds} rounds; proxies on CPU ${proxy_cpu:-any}, one worker each;"
echo "dnsperf and basalt-dns on CPU ${client_cpu:-any}. $(nproc) CPUs, $(uname -r)."
echo
echo "| round | peer | queries/s | lost | proxy CPU µs/query |"
echo "|---|---|---|---|---|"
for peer in "${peers[@]}"; do measure "$peer" >/dev/null; done  # warm-up
for ((r = 1; r <= rounds; r++)); do
  order=("${peers[@]}")
  for ((k = 0; k < (r - 1) % 3; k++)); do order=("${order[@]:1}" "${order[0]}"); done
  for peer in "${order[@]}"; do
    read -r qps lost cpu <<<"$(measure "$peer")"
    qps_runs[$peer]+="$qps "
    cpu_runs[$peer]+="$cpu "
    echo "| $r | $peer | $qps | $lost | $cpu |"
  done
done
echo
echo "| peer | median queries/s | median proxy CPU µs/query |"
echo "|---|---|---|"
declare -A med_qps med_cpu
for peer in "${peers[@]}"; do
  # shellcheck disable=SC2086
  med_qps[$peer]=$(median ${qps_runs[$peer]})
  # shellcheck disable=SC2086
  med_cpu[$peer]=$(median ${cpu_runs[$peer]})
  echo "| $peer | ${med_qps[$peer]} | ${med_cpu[$peer]} |"
done
echo
ratio() { python3 -c "import sys; a, b = sys.argv[1:]; print(f'{float(a) / float(b):.2f}' if a != '-' and float(b) else '-')" "$1" "$2"; }
echo "- queries/s ours/nginx: **$(ratio "${med_qps[ours]}" "${med_qps[nginx]}")** (goal ≥ 1.00)"
echo "- queries/s ours/direct: **$(ratio "${med_qps[ours]}" "${med_qps[direct]}")**"
echo "- CPU per query ours/nginx: **$(ratio "${med_cpu[ours]}" "${med_cpu[nginx]}")**"

if [ -n "$perf_dir" ]; then
  mkdir -p "$perf_dir"
  perf record -g -o "$perf_dir/udp.data" -p "$ours_pid" -- sleep "$duration" >/dev/null 2>&1 &
  perf_pid=$!
  pin "$client_cpu" dnsperf -s 127.0.0.1 -p "$ours_port" -d "$work/queries.txt" -c "$clients" \
    -q "$outstanding" -l "$duration" >/dev/null 2>&1
  wait "$perf_pid" || true
  perf report -i "$perf_dir/udp.data" --no-children --stdio >"$perf_dir/udp.txt" 2>/dev/null || true
fi
