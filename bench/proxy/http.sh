#!/usr/bin/env bash
# HTTP reverse proxy benchmark: basalt-proxy against nginx 1.22
# (proxy_pass), HAProxy 2.6 (mode http) and Caddy 2.6 (reverse_proxy), all
# four forwarding to the same nginx HTTP backend on loopback, alternating
# in one run.
#
#   http-1k    HTTP/1.1 keep-alive, GET /1k          wrk -t1 -c64 -dDURATION http://
#   https-1k   the same over TLS (1.3)               wrk -t1 -c64 -dDURATION https://
#   h2-tls     HTTP/2 over TLS (ALPN h2), GET /1k    h2load -t1 -n H2_REQUESTS -c16 -m16 https://
#   http-big   HTTP/1.1 keep-alive, GET /big         wrk -t1 -c64 -dDURATION http://
#              (100 KiB)
#   tls-new    a new TLS connection per request:     h2load -t1 -n HANDSHAKES -c50 -m1 --h1
#              handshake, one GET /1k, close          -H 'Connection: close' https://
#   rss        not a client run: VmRSS of each proxy (its process family)
#              after the rounds (and when it started, for reference)
#
# Setup: one nginx backend (worker_processes 1, keep-alive, access_log off,
# /1k and /big as files) and the clients (wrk, h2load) pinned to
# CLIENT_CPU; the four proxies pinned to PROXY_CPU, one worker each:
# basalt-proxy --workers 1; HAProxy nbthread 1, mode http, http-reuse
# always (server-side keep-alive is HAProxy's default); nginx
# worker_processes 1 with an upstream block (keepalive 64,
# proxy_http_version 1.1, proxy_set_header Connection ""); Caddy with
# GOMAXPROCS=1, reverse_proxy over its http transport (keep-alive, 64 idle
# connections per host), the admin API off, automatic HTTPS off. Each proxy
# listens on two ports: plain HTTP and TLS (TLS 1.2 and 1.3, ALPN h2 and
# http/1.1, the same self-signed ECDSA P-256 certificate); all four speak
# HTTP/1.1 to the backend. Client-side keep-alive is unlimited or raised
# (nginx: keepalive_requests 100000, its default 1000 would add reconnects);
# otherwise every peer keeps its defaults (nginx buffers responses, HAProxy
# and nginx add no X-Forwarded-* fields, Caddy and basalt-proxy do). All four
# stay up for the whole run. Before anything is measured the script checks
# that every peer answers 200 with the backend's exact bodies over plain
# HTTP/1.1, TLS HTTP/1.1 and TLS HTTP/2, negotiates TLS 1.3 and h2, and
# fails loudly when one does not.
#
# Every round runs each row against the four back to back, in an order that
# rotates each round; one unmeasured warm-up per row and proxy first. Per
# run: req/s (2xx answers over the client's time), MiB/s (bytes the client
# read, heads included; h2load counts none with Connection: close), proxy
# CPU µs per request (utime+stime delta of the proxy's process family from
# /proc over the client run, divided by the 2xx answers), proxy CPU % (that
# CPU time over the run's length: near 100 the proxy was the bottleneck)
# and errors (socket errors, non-2xx, failed streams). A run with errors
# keeps its client output, and a proxy that dies is recorded with its log
# and restarted; both go into the report. Prints a Markdown report on
# stdout: every run, medians over the rounds, ratios ours/best-of-the-others
# and ours/each, the goals.
#
#   bench/proxy/http.sh [BUILD_DIR] > report.md     (default build/release)
#
# Needs: haproxy (2.6), nginx (1.22, nginx-light), caddy (2.6), wrk, h2load
# (nghttp2-client), curl, openssl, taskset, python3 (scripts/setup installs
# them). Tunables (environment): ROUNDS=3 DURATION=15 (wrk seconds)
# H2_REQUESTS=200000 HANDSHAKES=5000 WARMUP=2 (seconds per wrk row and
# proxy; h2load rows warm up with a tenth of their requests; 0 = none)
# PROXY_CPU=0 CLIENT_CPU=1 (taskset CPU lists; empty = no pinning)
# PEERS="ours haproxy nginx caddy" (ours first: the ratios are against it)
# ROWS="http-1k https-1k h2-tls http-big tls-new". PERF_DIR=DIR: after the
# rounds, one more unmeasured run of each row in PERF_ROWS (default http-1k)
# against ours under `perf record -F PERF_FREQ --call-graph PERF_CALL_GRAPH`
# (999, fp); DIR/<row>.txt gets `perf report --no-children --stdio`,
# DIR/<row>.dso the same by shared object, DIR/<row>.stat `perf stat` counts
# (task-clock, context switches, page faults, syscalls, madvise) of a second
# such run (DIR/<row>.client, <row>.stat-client: "requests bytes seconds
# errors" of the two runs). basalt-proxy runs from a copy of BUILD_DIR's
# binary taken at the start. QUICK=1 is a smoke test: the
# defaults become ROUNDS=1 DURATION=2 H2_REQUESTS=20000 HANDSHAKES=1000
# WARMUP=1 (explicit settings still win).
set -euo pipefail

# --- Tunables, all in one place.
build=${1:-build/release}
bin=$build/bin
if [ "${QUICK:-0}" = 1 ]; then
  rounds=${ROUNDS:-1} duration=${DURATION:-2} h2_requests=${H2_REQUESTS:-20000}
  handshakes=${HANDSHAKES:-1000} warmup=${WARMUP:-1}
else
  rounds=${ROUNDS:-3} duration=${DURATION:-15} h2_requests=${H2_REQUESTS:-200000}
  handshakes=${HANDSHAKES:-5000} warmup=${WARMUP:-2}
fi
proxy_cpu=${PROXY_CPU-0}
client_cpu=${CLIENT_CPU-1}
peers=${PEERS:-ours haproxy nginx caddy}
rows=${ROWS:-http-1k https-1k h2-tls http-big tls-new}
perf_dir=${PERF_DIR:-}
perf_rows=${PERF_ROWS:-http-1k}
perf_call_graph=${PERF_CALL_GRAPH:-fp}
perf_freq=${PERF_FREQ:-999}
me=http.sh

for tool in haproxy nginx caddy wrk h2load curl openssl taskset python3; do
  command -v "$tool" >/dev/null || { echo "$me: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -x "$bin/basalt-proxy" ] || { echo "$me: $bin/basalt-proxy is not built" >&2; exit 1; }
[ -z "$perf_dir" ] || command -v perf >/dev/null || { echo "$me: PERF_DIR needs perf" >&2; exit 1; }
[[ "$peers" == ours* ]] || { echo "$me: PEERS must start with ours" >&2; exit 1; }
[ -z "$perf_dir" ] || { mkdir -p "$perf_dir"; perf_dir=$(realpath "$perf_dir"); }
ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)

# --- Work directory, pinning, processes (stopped at exit).
. "$(dirname "$0")/../lib/processes.sh"  # $work, pids, cleanup, free_port, cpu_ticks, rss_kib, wait_ports, stop
pin_proxy=()
pin_client=()
[ -n "$proxy_cpu" ] && pin_proxy=(taskset -c "$proxy_cpu")
[ -n "$client_cpu" ] && pin_client=(taskset -c "$client_cpu")
clk_tck=$(getconf CLK_TCK)

# Leftovers of an earlier run (this bench's or bench/proxy/run.sh's) would
# share the CPUs: refuse to start. Every server started here has
# "bench-proxy-" in its command line.
leftovers=$(pgrep -af 'bench-proxy-' || true)
if [ -n "$leftovers" ]; then
  echo "$me: processes of an earlier run are still up, stop them first:" >&2
  echo "$leftovers" >&2
  exit 1
fi

family_rss_kib() {  # VmRSS of a process and its children (nginx: master + worker)
  local t=0 p
  for p in $(family_pids "$1"); do t=$((t + $(rss_kib "$p"))); done
  echo "$t"
}

# basalt-proxy runs from a copy: a rebuild during the run then neither
# changes what is measured nor leaves perf with a deleted binary.
cp "$bin/basalt-proxy" "$work/basalt-proxy"
proxy_bin=$work/basalt-proxy
"$proxy_bin" --help >/dev/null ||
  { echo "$me: $bin/basalt-proxy does not run" >&2; exit 1; }

# --- Certificate (one for all proxies) and bodies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
  -addext "subjectAltName=DNS:bench.test,DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/bench.key" -out "$work/bench.pem" 2>/dev/null
cat "$work/bench.pem" "$work/bench.key" >"$work/bench-haproxy.pem"  # HAProxy wants both in one file
mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k"
head -c 102400 /dev/urandom >"$work/www/big"
# As root, nginx's workers run as nobody: they must reach the files.
chmod 711 "$work"
chmod 755 "$work/www"
chmod 644 "$work/www/"* "$work/bench.pem" "$work/bench.key"

# --- Backend: nginx, pinned with the clients.
start_backend() {
  backend_port=$(free_port)
  local dir=$work/bench-proxy-http-backend
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $fd_limit;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 600s;
  types {}
  default_type application/octet-stream;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$backend_port backlog=4096;
    root $work/www;
    location / {
    }
  }
}
EOF
  "${pin_client[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off; master_process on;' \
    >"$dir/out" 2>&1 &
  backend_pid=$!
  pids+=("$backend_pid")
  wait_ports "$backend_pid" backend "$dir/error.log" "$backend_port"
}

# --- The proxies. start_<peer> DIR writes its config for the ports
# $http_port (plain HTTP) and $tls_port (TLS), starts it pinned and sets
# $started_pid; its log goes to DIR/log.
start_ours() {
  local dir=$1
  cat >"$dir/proxy.yaml" <<EOF
workers: 1
bindAddresses: [127.0.0.1]
routes:
  - name: web
    match: {ports: $http_port, protocol: http}
    action: {type: forward, targets: [{host: 127.0.0.1, port: $backend_port}]}
  - name: tls
    match: {ports: $tls_port, protocol: http}
    action: {type: forward, targets: [{host: 127.0.0.1, port: $backend_port}],
             tls: {mode: terminate, certificate: {cert: $work/bench.pem, key: $work/bench.key}}}
EOF
  "${pin_proxy[@]}" "$proxy_bin" serve --config "$dir/proxy.yaml" --workers 1 --state-dir "$dir" \
    --log-level warn >"$dir/out" 2>"$dir/log" &
  started_pid=$!
}
start_haproxy() {
  local dir=$1
  cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 600s
  timeout server 600s
  timeout http-keep-alive 600s
  http-reuse always
frontend web
  bind 127.0.0.1:$http_port
  bind 127.0.0.1:$tls_port ssl crt $work/bench-haproxy.pem alpn h2,http/1.1 ssl-min-ver TLSv1.2
  default_backend be
backend be
  server s1 127.0.0.1:$backend_port
EOF
  "${pin_proxy[@]}" haproxy -db -f "$dir/haproxy.cfg" >"$dir/out" 2>"$dir/log" &
  started_pid=$!
}
start_nginx() {
  local dir=$1
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $fd_limit;
pid $dir/nginx.pid;
error_log $dir/log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 600s;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream be {
    server 127.0.0.1:$backend_port;
    keepalive 64;
    keepalive_requests 100000;
    keepalive_timeout 600s;
  }
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$tls_port ssl http2;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $work/bench.pem;
    ssl_certificate_key $work/bench.key;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  "${pin_proxy[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off; master_process on;' >"$dir/out" 2>&1 &
  started_pid=$!
}
start_caddy() {
  local dir=$1
  python3 - "$dir/caddy.json" "$http_port" "$tls_port" "$backend_port" "$work/bench.pem" "$work/bench.key" <<'EOF'
import json, sys
out, http_port, tls_port, backend, cert, key = sys.argv[1:]
route = {"handle": [{
    "handler": "reverse_proxy",
    "upstreams": [{"dial": f"127.0.0.1:{backend}"}],
    "transport": {"protocol": "http", "keep_alive": {"enabled": True, "max_idle_conns_per_host": 64}},
}]}
config = {
    "admin": {"disabled": True, "config": {"persist": False}},
    "logging": {"logs": {"default": {"level": "WARN"}}},
    "apps": {
        "http": {"servers": {
            "web": {"listen": [f"127.0.0.1:{http_port}"], "routes": [route],
                    "automatic_https": {"disable": True}, "protocols": ["h1", "h2"]},
            "tls": {"listen": [f"127.0.0.1:{tls_port}"], "routes": [route],
                    "automatic_https": {"disable": True}, "protocols": ["h1", "h2"],
                    "tls_connection_policies": [{
                        "certificate_selection": {"any_tag": ["bench"]},
                        "protocol_min": "tls1.2", "protocol_max": "tls1.3",
                        "alpn": ["h2", "http/1.1"], "default_sni": "bench.test"}]},
        }},
        "tls": {"certificates": {"load_files": [{"certificate": cert, "key": key, "tags": ["bench"]}]}},
    },
}
json.dump(config, open(out, "w"), indent=1)
EOF
  # Caddy keeps data and autosaved config under XDG dirs: keep them in DIR.
  XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config GOMAXPROCS=1 \
    "${pin_proxy[@]}" caddy run --config "$dir/caddy.json" >"$dir/out" 2>"$dir/log" &
  started_pid=$!
}
declare -A proxy_pid peer_http peer_tls
start_peer() {  # start_peer PEER: starts it (on its ports, picked the first time) and waits for them
  local peer=$1 dir=$work/bench-proxy-http-$1
  mkdir -p "$dir"
  if [ -z "${peer_http[$peer]:-}" ]; then
    peer_http[$peer]=$(free_port)
    peer_tls[$peer]=$(free_port)
    while [ "${peer_tls[$peer]}" = "${peer_http[$peer]}" ]; do peer_tls[$peer]=$(free_port); done
  fi
  http_port=${peer_http[$peer]} tls_port=${peer_tls[$peer]}
  "start_$peer" "$dir"
  pids+=("$started_pid")
  proxy_pid[$peer]=$started_pid
  local log=$dir/log
  [ "$peer" = nginx ] && log=$dir/out
  wait_ports "$started_pid" "$peer" "$log" "$http_port" "$tls_port"
}
peer_log() {  # the file with a peer's diagnostics
  if [ "$1" = nginx ]; then cat "$work/bench-proxy-http-nginx/log" "$work/bench-proxy-http-nginx/out" 2>/dev/null
  else cat "$work/bench-proxy-http-$1/log" 2>/dev/null; fi
}

# --- Checks: every peer answers 200 with the backend's exact bytes.
check_peer() {
  local peer=$1 body url proto got
  for body in 1k big; do
    for url in "http://127.0.0.1:${peer_http[$peer]}/$body" "https://127.0.0.1:${peer_tls[$peer]}/$body"; do
      for proto in --http1.1 --http2; do
        [[ "$url" == http:* && "$proto" == --http2 ]] && continue
        got=$(curl -sk "$proto" -o "$work/check.body" -w '%{http_code} %{http_version}' "$url" 2>&1) || true
        if [ "$got" != "200 ${proto#--http}" ] || ! cmp -s "$work/check.body" "$work/www/$body"; then
          echo "$me: $peer: curl $proto $url: expected 200 over HTTP ${proto#--http} with the backend's" \
            "$body, got '$got' and $(wc -c <"$work/check.body" 2>/dev/null || echo 0) bytes; its log:" >&2
          peer_log "$peer" | tail -n 20 >&2
          exit 1
        fi
      done
    done
  done
  proto=$(openssl s_client -connect "127.0.0.1:${peer_tls[$peer]}" -alpn h2,http/1.1 </dev/null 2>/dev/null |
    awk '/^New, / { sub(/,$/, "", $2); p = $2 } /^ALPN protocol:/ { a = $3 } END { print p, a }')
  [ "$proto" = "TLSv1.3 h2" ] || { echo "$me: $peer negotiates '$proto', not 'TLSv1.3 h2'" >&2; exit 1; }
  # And the h2load clients themselves (they must see 2xx only).
  got=$("${pin_client[@]}" h2load -n 64 -c 4 -m 4 "https://127.0.0.1:${peer_tls[$peer]}/1k" 2>&1 |
    awk '/^status codes:/ { print $3 }')
  [ "$got" = 64 ] || { echo "$me: $peer: h2load over h2 got ${got:-no} 2xx answers of 64" >&2; exit 1; }
  got=$("${pin_client[@]}" h2load --h1 -n 64 -c 4 -m 1 -H 'Connection: close' \
    "https://127.0.0.1:${peer_tls[$peer]}/1k" 2>&1 | awk '/^status codes:/ { print $3 }')
  [ "$got" = 64 ] || { echo "$me: $peer: h2load --h1 with Connection: close got ${got:-no} 2xx of 64" >&2; exit 1; }
}

# --- Clients. Each prints "ok_requests bytes seconds errors" and leaves
# its output in $work/client.out.
cat >"$work/summary.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SUMMARY %d %d %.6f %d\n", summary.requests, summary.bytes,
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout + e.status))
end
EOF
wrk_run() {  # wrk_run URL SECONDS
  "${pin_client[@]}" wrk -t1 -c64 -d"$2"s -s "$work/summary.lua" "$1" >"$work/client.out" 2>&1 || true
  # wrk counts non-2xx/3xx answers in requests and in errors.status.
  awk '/^SUMMARY/ { print $2 - $5, $3, $4, $5; found = 1 } END { if (!found) print 0, 0, 1, 1 }' "$work/client.out"
}
h2load_run() {  # h2load_run URL REQUESTS ARGS...
  local url=$1 n=$2
  shift 2
  "${pin_client[@]}" h2load -t1 -n "$n" "$@" "$url" >"$work/client.out" 2>&1 || true
  awk -v n="$n" '/^finished in/ { s = $3; sub(/,$/, "", s)
                        if (s ~ /ms$/) { sub(/ms$/, "", s); s /= 1000 } else { sub(/s$/, "", s) } }
       /^status codes:/ { ok = $3 }
       /^traffic:/ { b = $3; gsub(/[()]/, "", b) }
       END { if (s == "" || s == 0) { print 0, 0, 1, n } else print ok + 0, b + 0, s, n - ok }' "$work/client.out"
}
client_run() {  # client_run ROW PEER AMOUNT
  local h=127.0.0.1:${peer_http[$2]} t=127.0.0.1:${peer_tls[$2]}
  case "$1" in
    http-1k) wrk_run "http://$h/1k" "$3" ;;
    https-1k) wrk_run "https://$t/1k" "$3" ;;
    h2-tls) h2load_run "https://$t/1k" "$3" -c16 -m16 ;;
    http-big) wrk_run "http://$h/big" "$3" ;;
    tls-new) h2load_run "https://$t/1k" "$3" -c50 -m1 --h1 -H 'Connection: close' ;;
  esac
}
amount_of() {  # amount_of ROW [warm-up] -> seconds (wrk) or requests (h2load)
  local n
  case "$1" in
    h2-tls) n=$h2_requests ;;
    tls-new) n=$handshakes ;;
    *) if [ -n "${2:-}" ]; then echo "$warmup"; else echo "$duration"; fi; return ;;
  esac
  if [ -n "${2:-}" ]; then echo $((n / 10)); else echo "$n"; fi
}
measure() {  # measure ROW PEER -> "requests bytes seconds errors ticks"
  local pid=${proxy_pid[$2]} t0 t1 out
  t0=$(cpu_ticks "$pid")
  out=$(client_run "$1" "$2" "$(amount_of "$1")")
  t1=$(cpu_ticks "$pid" 2>/dev/null || echo "$t0")
  echo "$out $((t1 - t0))"
}
# Problems go to $work/incidents.md, quoted in the report.
incident() {  # incident TITLE FILE...: a heading and the files' last lines
  local title=$1 f
  shift
  {
    echo
    echo "- $title"
    echo
    echo '```'
    for f in "$@"; do tail -n 15 "$f" 2>/dev/null || true; done
    echo '```'
  } >>"$work/incidents.md"
  echo "$me: $title" >&2
}
check_alive() {  # check_alive PEER WHAT: record and restart a proxy that died
  local peer=$1 pid=${proxy_pid[$1]} status=0
  kill -0 "$pid" 2>/dev/null && return 0
  wait "$pid" 2>/dev/null || status=$?
  peer_log "$peer" >"$work/dead.log"
  incident "$peer (pid $pid) died during $2, exit status $status; its log:" "$work/dead.log"
  start_peer "$peer"
  return 1
}

start_backend
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/incidents.md"
results=$work/results.tsv
printf 'round\trow\tproxy\treq_s\tmib_s\tcpu_us\tcpu_pct\terrors\n' >"$results"
declare -A rss_start rss_end
for peer in $peers; do start_peer "$peer"; done
for peer in $peers; do check_peer "$peer"; done
sleep 1
for peer in $peers; do rss_start[$peer]=$(family_rss_kib "${proxy_pid[$peer]}"); done
echo "$me: all peers answer; rounds start" >&2

if [ "$warmup" != 0 ]; then
  for peer in $peers; do
    for row in $rows; do
      client_run "$row" "$peer" "$(amount_of "$row" warm-up)" >/dev/null
      check_alive "$peer" "$row (warm-up)" || true
    done
  done
fi
read -ra peer_list <<<"$peers"
for round in $(seq 1 "$rounds"); do
  # Rotate the order: round 1 ours first, round 2 the second peer first, ...
  order=()
  for i in "${!peer_list[@]}"; do order+=("${peer_list[$(((i + round - 1) % ${#peer_list[@]}))]}"); done
  for row in $rows; do
    for peer in "${order[@]}"; do
      read -r n bytes secs errors ticks <<<"$(measure "$row" "$peer")"
      if [ "$errors" != 0 ]; then
        cp "$work/client.out" "$work/errors-$round-$row-$peer.out"
        peer_log "$peer" >"$work/errors-$round-$row-$peer.log"
        incident "round $round, $row, $peer: $errors errors; the client's output (and the proxy's log, if any):" \
          "$work/errors-$round-$row-$peer.out" "$work/errors-$round-$row-$peer.log"
      fi
      check_alive "$peer" "round $round, $row" || true
      awk -v r="$round" -v row="$row" -v p="$peer" -v n="$n" -v b="$bytes" -v t="$secs" -v e="$errors" \
        -v ticks="$ticks" -v hz="$clk_tck" 'BEGIN {
          printf "%s\t%s\t%s\t%.0f\t%.1f\t%.2f\t%.0f\t%d\n", r, row, p, n / t, b / t / 1048576,
            (n > 0 ? ticks / hz / n * 1e6 : 0), ticks / hz / t * 100, e }' >>"$results"
      tail -n 1 "$results" >&2
    done
  done
done
for peer in $peers; do rss_end[$peer]=$(family_rss_kib "${proxy_pid[$peer]}"); done

# Profile of ours: one more run per PERF_ROWS row under perf, not measured.
if [ -n "$perf_dir" ]; then
  for row in $perf_rows; do
    perf record -F "$perf_freq" --call-graph "$perf_call_graph" -o "$perf_dir/$row.data" \
      -p "${proxy_pid[ours]}" 2>"$perf_dir/$row.record.log" &
    perf_pid=$!
    sleep 0.5
    client_run "$row" ours "$(amount_of "$row")" >"$perf_dir/$row.client"
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$perf_dir/$row.data" --no-children --stdio >"$perf_dir/$row.txt" 2>/dev/null || true
    perf report -i "$perf_dir/$row.data" --no-children --stdio --sort dso -g none >"$perf_dir/$row.dso" 2>/dev/null || true
    perf stat -e task-clock,context-switches,page-faults,raw_syscalls:sys_enter,syscalls:sys_enter_madvise \
      -p "${proxy_pid[ours]}" -o "$perf_dir/$row.stat" &
    perf_pid=$!
    sleep 0.5
    client_run "$row" ours "$(amount_of "$row")" >"$perf_dir/$row.stat-client"
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
    echo "perf: $row -> $perf_dir/$row.txt" >&2
  done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
for peer in $peers; do stop "${proxy_pid[$peer]}"; done
stop "$backend_pid"

# --- Report.
name_of() {
  case "$1" in ours) echo basalt-proxy ;; haproxy) echo HAProxy ;; nginx) echo nginx ;; caddy) echo Caddy ;; *) echo "$1" ;; esac
}
echo "# basalt-proxy (HTTP) vs HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), nginx" \
  "$(nginx -v 2>&1 | sed 's|.*/||') and Caddy $(caddy version | awk '{ print $1 }')"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average before $load_before, after $load_after."
echo "ROUNDS=$rounds DURATION=$duration H2_REQUESTS=$h2_requests HANDSHAKES=$handshakes WARMUP=$warmup" \
  "PROXY_CPU=$proxy_cpu CLIENT_CPU=$client_cpu"
echo
echo "| round | row | proxy | req/s | MiB/s | CPU µs/req | proxy CPU % | errors |"
echo "|---|---|---|---|---|---|---|---|"
tail -n +2 "$results" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
echo
echo "Medians over the rounds. \"best\" is the best of the other peers in that column"
echo "(highest req/s or MiB/s, lowest CPU µs/req); ratios are ours/best and ours/each."
others=${peers#ours}
summary_awk='
  NR > 1 { k = $2 SUBSEP $3; n[k]++; for (c = 4; c <= 8; c++) v[k, c, n[k]] = $c }
  function median(k, c,   i, j, m, t, a) {
    m = n[k]; if (!m) return 0
    for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function ratio(a, b) { return b > 0 ? a / b : 0 }
  function best(r, c, low,   i, b, x) {
    b = -1
    for (i = 1; i in others; i++) { x = median(r SUBSEP others[i], c); if (b < 0 || (low ? x < b : x > b)) b = x }
    return b
  }
  function errsum(k,   i, s) { s = 0; for (i = 1; i <= n[k]; i++) s += v[k, 8, i]; return s }
  function table(c, title, fmt, low,   i, r, o, line) {
    printf "\n%s:\n\n| row | ours", title
    for (i = 1; i in others; i++) printf " | %s", names[others[i]]
    printf " | ours/best"
    for (i = 1; i in others; i++) printf " | ours/%s", names[others[i]]
    printf " |\n|---|---"
    for (i = 1; i in others; i++) printf "|---"
    printf "|---"
    for (i = 1; i in others; i++) printf "|---"
    printf "|\n"
    for (j = 1; j in rows; j++) {
      r = rows[j]; o = median(r SUBSEP "ours", c)
      printf "| %s | " fmt, r, o
      for (i = 1; i in others; i++) printf " | " fmt, median(r SUBSEP others[i], c)
      printf " | %.2f", ratio(o, best(r, c, low))
      for (i = 1; i in others; i++) printf " | %.2f", ratio(o, median(r SUBSEP others[i], c))
      printf " |\n"
    }
  }
  BEGIN { split(row_list, rows, " "); split(other_list, others, " "); split(name_list, nl, " ")
          for (i = 1; i in nl; i++) { split(nl[i], kv, "="); names[kv[1]] = kv[2] } }
  END {
    table(4, "req/s (2xx answers per second)", "%.0f", 0)
    table(5, "MiB/s read by the client (h2load reports none for tls-new)", "%.1f", 0)
    table(6, "Proxy CPU µs per request (lower is better; ours/best < 1 means cheaper than all)", "%.2f", 1)
    table(7, "Proxy CPU % during the run (near 100: the proxy was the bottleneck)", "%.0f", 1)
    printf "\nErrors, summed over the rounds:\n\n| row | ours"
    for (i = 1; i in others; i++) printf " | %s", names[others[i]]
    printf " |\n|---|---"
    for (i = 1; i in others; i++) printf "|---"
    printf "|\n"
    for (j = 1; j in rows; j++) {
      r = rows[j]; printf "| %s | %d", r, errsum(r SUBSEP "ours")
      for (i = 1; i in others; i++) printf " | %d", errsum(r SUBSEP others[i])
      printf " |\n"
    }
    printf "\nGoals:\n\n| row | goal | ours | met |\n|---|---|---|---|\n"
    for (j = 1; j in rows; j++) {
      r = rows[j]; o = median(r SUBSEP "ours", 4); e = errsum(r SUBSEP "ours")
      if (r == "http-1k") {
        cpu = median(r SUBSEP "ours", 6)
        goal = "req/s ≥ the best; ≤ 25 µs proxy CPU per request"
        got = sprintf("%.2f of the best, %.2f µs", ratio(o, best(r, 4, 0)), cpu)
        met = ratio(o, best(r, 4, 0)) >= 1 && cpu <= 25
      } else if (r == "http-big") {
        m = median(r SUBSEP "ours", 5)
        goal = "req/s ≥ the best; ≥ 1,000 MiB/s"
        got = sprintf("%.2f of the best, %.0f MiB/s", ratio(o, best(r, 4, 0)), m)
        met = ratio(o, best(r, 4, 0)) >= 1 && m >= 1000
      } else if (r == "tls-new") {
        goal = "req/s ≥ nginx"
        got = sprintf("%.2f of nginx", ratio(o, median(r SUBSEP "nginx", 4)))
        met = ratio(o, median(r SUBSEP "nginx", 4)) >= 1
      } else {
        goal = "req/s ≥ the best"
        got = sprintf("%.2f of the best", ratio(o, best(r, 4, 0)))
        met = ratio(o, best(r, 4, 0)) >= 1
      }
      if (e) { got = got sprintf(", %d errors", e); met = 0 }
      printf "| %s | %s | %s | %s |\n", r, goal, got, (met ? "yes" : "**no**")
    }
    printf "| rss | VmRSS of ours after the rounds ≤ 20 MiB | %.1f MiB | %s |\n", rss_ours / 1024,
      (rss_ours / 1024 <= 20 ? "yes" : "**no**")
  }'
names=""
for peer in $peers; do names="$names $peer=$(name_of "$peer")"; done
awk -F'\t' -v row_list="$rows" -v other_list="$others" -v name_list="$names" -v rss_ours="${rss_end[ours]}" \
  "$summary_awk" "$results"
echo
echo "VmRSS of each proxy's processes (nginx: master + worker), MiB, when started (after the checks) and after the rounds:"
echo
echo "| proxy | started | after the rounds |"
echo "|---|---|---|"
for peer in $peers; do
  awk -v p="$(name_of "$peer")" -v a="${rss_start[$peer]}" -v b="${rss_end[$peer]}" \
    'BEGIN { printf "| %s | %.1f | %.1f |\n", p, a / 1024, b / 1024 }'
done
if [ -s "$work/incidents.md" ]; then
  echo
  echo "Incidents (errors, proxies that died):"
  cat "$work/incidents.md"
fi
