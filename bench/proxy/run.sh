#!/usr/bin/env bash
# L4/TLS proxy benchmark: basalt-proxy against HAProxy 2.6 (mode tcp) and
# nginx 1.22's stream module, all three relaying to the same nginx HTTP
# backend on loopback, alternating in one run.
#
#   l4-1k      plain TCP forward, GET /1k keep-alive     wrk -t1 -c64 -dDURATION http://
#   l4-100k    plain TCP forward, GET /100k keep-alive   wrk -t1 -c64 -dDURATION http://
#   tls-1k     TLS terminate -> plain backend, /1k       wrk -t1 -c64 -dDURATION https://
#   tls-new    new TLS connections: one GET /1k per      h2load --h1 -t1 -c16 -n HANDSHAKES
#              connection ("Connection: close"): a       -H 'Connection: close' https://
#              TLS handshake, a backend connection
#              and one request per connection
#   memory     each proxy started fresh with 100 routes (50 plain forward, 50
#              TLS terminate, one port each): idle VmRSS; then IDLE_CONNS
#              keep-alive connections through one plain route, each after
#              one GET /1k, held idle (bench/proxy/hold.py): RSS growth per
#              connection
#
# Setup: one nginx backend (worker_processes 1, keep-alive, access_log off,
# /1k and /100k as files) and the clients (wrk, h2load, hold.py) pinned to
# CLIENT_CPU; the three proxies pinned to PROXY_CPU, one worker each:
# basalt-proxy --workers 1, HAProxy nbthread 1, nginx worker_processes 1.
# All three stay up for the whole throughput part. Every round runs each row
# against the three back to back, in an order that rotates each round; one
# unmeasured warm-up per row and proxy first. Per run: req/s, MiB/s (wrk /
# h2load bytes read, heads included), proxy CPU µs per request (utime+stime
# delta of the proxy's processes from /proc over the client run, divided by
# the requests completed), proxy CPU % (that CPU time over the run's
# length: near 100 the proxy was the bottleneck) and errors. Prints a
# Markdown report on stdout: every run, medians over the rounds, ratios
# ours/HAProxy and ours/nginx, and the goals.
#
# The same self-signed ECDSA P-256 certificate for all three; TLS 1.2 and
# 1.3 enabled on each (nginx 1.22's default lacks 1.3, so its config names
# both); every client here negotiates TLS 1.3. Session tickets are on in all
# three (their default; basalt-proxy has no switch for them), and h2load and
# wrk resume their sessions: in tls-new nearly every connection is a TLS 1.3
# resumption (PSK with ECDHE, no certificate signature), not a full
# handshake.
#
#   bench/proxy/run.sh [BUILD_DIR] > report.md     (default build/release)
#
# Build first: cmake --build BUILD_DIR --target basalt-proxy
# Needs: haproxy (2.6), nginx (1.22, nginx-light) with libnginx-mod-stream,
# wrk, h2load (nghttp2-client), curl, openssl, taskset, python3 (scripts/setup
# installs them). Needs an open-file limit of 2 × IDLE_CONNS + ROUTES + 256
# (the script raises it if it may). Tunables (environment): ROUNDS=3 DURATION=15 (wrk seconds)
# HANDSHAKES=20000 (h2load connections per run) WARMUP=2 (seconds per row and
# proxy, 0 = none) IDLE_CONNS=10000 ROUTES=100 PROXY_CPU=0 CLIENT_CPU=1
# (taskset CPU lists; empty = no pinning) PEERS="ours haproxy nginx"
# ROWS="l4-1k l4-100k tls-1k tls-new memory". PERF_DIR=DIR: after the rounds,
# one more unmeasured run of each throughput row against ours under
# `perf record -F PERF_FREQ --call-graph PERF_CALL_GRAPH` (999, fp);
# DIR/<row>.txt gets `perf report --no-children --stdio`, DIR/<row>.dso the
# same by shared object, and
# DIR/<row>.stat `perf stat` counts of a second such run. OURS_SIGPIPE=default
# starts basalt-proxy without SIGPIPE ignored (see start_ours). QUICK=1 is a smoke
# test: the defaults become ROUNDS=1 DURATION=2 HANDSHAKES=2000 WARMUP=1
# IDLE_CONNS=1000 (explicit settings still win).
set -euo pipefail

# --- Tunables, all in one place.
build=${1:-build/release}
bin=$build/bin
if [ "${QUICK:-0}" = 1 ]; then
  rounds=${ROUNDS:-1} duration=${DURATION:-2} handshakes=${HANDSHAKES:-2000} warmup=${WARMUP:-1}
  idle_conns=${IDLE_CONNS:-1000}
else
  rounds=${ROUNDS:-3} duration=${DURATION:-15} handshakes=${HANDSHAKES:-20000} warmup=${WARMUP:-2}
  idle_conns=${IDLE_CONNS:-10000}
fi
routes=${ROUTES:-100}
proxy_cpu=${PROXY_CPU-0}
client_cpu=${CLIENT_CPU-1}
peers=${PEERS:-ours haproxy nginx}
rows=${ROWS:-l4-1k l4-100k tls-1k tls-new memory}
perf_dir=${PERF_DIR:-}
perf_call_graph=${PERF_CALL_GRAPH:-fp}  # fp, or dwarf (callers through libcrypto, bigger files)
perf_freq=${PERF_FREQ:-999}
ours_sigpipe=${OURS_SIGPIPE:-ignored}  # or default: see start_ours
stream_module=/usr/lib/nginx/modules/ngx_stream_module.so

for tool in haproxy nginx wrk h2load curl openssl taskset python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -f "$stream_module" ] || { echo "run.sh: $stream_module is missing (run scripts/setup)" >&2; exit 1; }
[ -x "$bin/basalt-proxy" ] || { echo "run.sh: $bin/basalt-proxy is not built" >&2; exit 1; }
[ -z "$perf_dir" ] || command -v perf >/dev/null || { echo "run.sh: PERF_DIR needs perf" >&2; exit 1; }
proxy_bin=$(realpath "$bin/basalt-proxy")
hold_py=$(realpath "$(dirname "$0")/hold.py")

# Each held connection is two sockets in the proxy (basalt-proxy's splice
# pipes are taken only while bytes are in flight); the client and the
# backend hold one each. Raising the hard limit needs CAP_SYS_RESOURCE.
want_fds=$((2 * idle_conns + routes + 256))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want_fds" ]; then
  ulimit -Hn "$want_fds" 2>/dev/null || {
    echo "run.sh: IDLE_CONNS=$idle_conns needs an open-file limit of $want_fds, the hard limit is" \
      "$(ulimit -Hn) and cannot be raised here: lower IDLE_CONNS" >&2
    exit 1
  }
fi
ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)  # for nginx's worker_rlimit_nofile

# --- Work directory, pinning, processes (stopped at exit).
. "$(dirname "$0")/../lib/processes.sh"  # $work, pids, cleanup, free_port, wait_ports, stop
pin_proxy=()
pin_client=()
[ -n "$proxy_cpu" ] && pin_proxy=(taskset -c "$proxy_cpu")
[ -n "$client_cpu" ] && pin_client=(taskset -c "$client_cpu")
clk_tck=$(getconf CLK_TCK)

# Leftovers of an earlier run would share the CPUs: refuse to start. Every
# server this script starts, and hold.py, has "bench-proxy-" in its command
# line (wrk and h2load end with their run).
leftovers=$(pgrep -af 'bench-proxy-' || true)
if [ -n "$leftovers" ]; then
  echo "run.sh: processes of an earlier run are still up, stop them first:" >&2
  echo "$leftovers" >&2
  exit 1
fi

free_ports() {  # free_ports N -> N distinct free loopback ports, one a line
  python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
for s in socks: print(s.getsockname()[1])' "$1"
}
# cpu_ticks (bench/lib/processes.sh) counts a proxy with its children
# (nginx's worker). The process that holds the connections: nginx's worker, else the pid.
worker_of() { local w; w=$(pgrep -P "$1" | awk 'NR == 1' || true); echo "${w:-$1}"; }
alive() {  # alive PEER ROW: fail the run when the proxy died during ROW
  local pid=${proxy_pid[$1]} status=0
  kill -0 "$pid" 2>/dev/null && return
  wait "$pid" 2>/dev/null || status=$?
  echo "run.sh: $1 (pid $pid) died during $2, exit status $status; its log:" >&2
  tail -n 20 "$work/bench-proxy-$1/log" >&2 || true
  exit 1
}

# --- Certificate (one for all proxies) and bodies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
  -addext "subjectAltName=DNS:bench.test,DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/bench.key" -out "$work/bench.pem" 2>/dev/null
cat "$work/bench.pem" "$work/bench.key" >"$work/bench-haproxy.pem"  # HAProxy wants both in one file
mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k"
head -c 102400 /dev/urandom >"$work/www/100k"
# As root, nginx's workers run as nobody: they must reach the files.
chmod 711 "$work"
chmod 755 "$work/www"
chmod 644 "$work/www/"* "$work/bench.pem" "$work/bench.key"

# --- Backend: nginx, pinned with the clients.
start_backend() {
  backend_port=$(free_port)
  mkdir -p "$work/bench-proxy-backend"
  cat >"$work/bench-proxy-backend/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $fd_limit;
pid $work/bench-proxy-backend/nginx.pid;
error_log $work/bench-proxy-backend/error.log warn;
events {
  worker_connections $((idle_conns + 1024));
}
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 600s;
  types {}
  default_type application/octet-stream;
  client_body_temp_path $work/bench-proxy-backend/body;
  proxy_temp_path $work/bench-proxy-backend/proxy;
  fastcgi_temp_path $work/bench-proxy-backend/fastcgi;
  uwsgi_temp_path $work/bench-proxy-backend/uwsgi;
  scgi_temp_path $work/bench-proxy-backend/scgi;
  server {
    listen 127.0.0.1:$backend_port backlog=4096;
    root $work/www;
    location / {
    }
  }
}
EOF
  "${pin_client[@]}" nginx -p "$work/bench-proxy-backend" -c "$work/bench-proxy-backend/nginx.conf" -g 'daemon off; master_process on;' \
    >"$work/bench-proxy-backend.out" 2>&1 &
  backend_pid=$!
  pids+=("$backend_pid")
  wait_ports "$backend_pid" backend "$work/bench-proxy-backend/error.log" "$backend_port"
}

# --- The proxies. start_<peer> DIR N_ROUTES starts one with N_ROUTES routes
# on ports from DIR/ports (route i: plain forward when i is odd, TLS
# terminate when even; 2 routes = the throughput setup) and sets $started_pid.
# Timeouts are long on every side so that held connections stay.
start_ours() {
  local dir=$1 n=$2 i port
  {
    echo "inactivityTimeout: 600000"
    echo "bindAddresses: [127.0.0.1]"
    echo "routes:"
    i=0
    while read -r port; do
      i=$((i + 1))
      if [ $((i % 2)) = 1 ]; then
        echo "  - name: l4-$i"
        echo "    match: {ports: $port}"
        echo "    action: {type: forward, targets: [{host: 127.0.0.1, port: $backend_port}]}"
      else
        echo "  - name: tls-$i"
        echo "    match: {ports: $port}"
        echo "    action: {type: forward, targets: [{host: 127.0.0.1, port: $backend_port}],"
        echo "             tls: {mode: terminate, certificate: {cert: $work/bench.pem, key: $work/bench.key}}}"
      fi
    done < <(head -n "$n" "$dir/ports")
  } >"$dir/proxy.yaml"
  # basalt-proxy ignores SIGPIPE only when it serves a management socket;
  # without one, a client that closes while a splice(2) writes to it kills
  # the whole process (see bench/results/proxy-l4.md). wrk closes its
  # connections mid-response at the end of every l4-100k run, so unless
  # OURS_SIGPIPE=default it is started with SIGPIPE ignored (inherited
  # across exec), as it would be with --management-socket.
  (
    [ "$ours_sigpipe" = default ] || trap '' PIPE
    exec "${pin_proxy[@]}" "$proxy_bin" serve --config "$dir/proxy.yaml" --workers 1 --state-dir "$dir" \
      --log-level warn >"$dir/out" 2>"$dir/log"
  ) &
  started_pid=$!
}
start_haproxy() {
  local dir=$1 n=$2 i port
  {
    echo "global"
    echo "  nbthread 1"
    echo "  maxconn $((idle_conns + 64))"  # client connections; HAProxy sets its fd limit from it
    echo "defaults"
    echo "  mode tcp"
    echo "  timeout connect 5s"
    echo "  timeout client 600s"
    echo "  timeout server 600s"
    echo "backend be"
    echo "  server s1 127.0.0.1:$backend_port"
    i=0
    while read -r port; do
      i=$((i + 1))
      echo "frontend f$i"
      if [ $((i % 2)) = 1 ]; then
        echo "  bind 127.0.0.1:$port"
      else
        echo "  bind 127.0.0.1:$port ssl crt $work/bench-haproxy.pem"
      fi
      echo "  default_backend be"
    done < <(head -n "$n" "$dir/ports")
  } >"$dir/haproxy.cfg"
  "${pin_proxy[@]}" haproxy -db -f "$dir/haproxy.cfg" >"$dir/out" 2>"$dir/log" &
  started_pid=$!
}
start_nginx() {
  local dir=$1 n=$2 i port
  {
    echo "load_module $stream_module;"
    echo "worker_processes 1;"
    echo "worker_rlimit_nofile $fd_limit;"
    echo "pid $dir/nginx.pid;"
    echo "error_log $dir/log warn;"
    echo "events { worker_connections $((2 * idle_conns + routes + 128)); }"  # client and upstream both count
    echo "stream {"
    echo "  proxy_timeout 600s;"
    echo "  upstream be { server 127.0.0.1:$backend_port; }"
    i=0
    while read -r port; do
      i=$((i + 1))
      if [ $((i % 2)) = 1 ]; then
        echo "  server { listen 127.0.0.1:$port; proxy_pass be; }"
      else
        echo "  server { listen 127.0.0.1:$port ssl; proxy_pass be;"
        echo "    ssl_protocols TLSv1.2 TLSv1.3;"
        echo "    ssl_certificate $work/bench.pem; ssl_certificate_key $work/bench.key; }"
      fi
    done < <(head -n "$n" "$dir/ports")
    echo "}"
  } >"$dir/nginx.conf"
  "${pin_proxy[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off; master_process on;' >"$dir/out" 2>&1 &
  started_pid=$!
}
declare -A proxy_pid l4_port tls_port
start_peer() {  # start_peer PEER DIR N_ROUTES: starts it and waits for its first two ports
  local peer=$1 dir=$2 n=$3
  mkdir -p "$dir"
  free_ports "$n" >"$dir/ports"
  "start_$peer" "$dir" "$n"
  pids+=("$started_pid")
  proxy_pid[$peer]=$started_pid
  l4_port[$peer]=$(sed -n 1p "$dir/ports")
  tls_port[$peer]=$(sed -n 2p "$dir/ports")
  # Every listener up before anything is measured.
  local ports
  mapfile -t ports <"$dir/ports"
  wait_ports "$started_pid" "$peer" "$dir/log" "${ports[@]}"
}

# --- Clients. Each prints "requests bytes seconds errors".
cat >"$work/summary.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SUMMARY %d %d %.6f %d\n", summary.requests, summary.bytes,
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout + e.status))
end
EOF
wrk_run() {  # wrk_run URL SECONDS
  "${pin_client[@]}" wrk -t1 -c64 -d"$2"s -s "$work/summary.lua" "$1" >"$work/client.out" 2>&1 || true
  awk '/^SUMMARY/ { print $2, $3, $4, $5; found = 1 } END { if (!found) print 0, 0, 1, 1 }' "$work/client.out"
}
h2load_new() {  # h2load_new URL CONNECTIONS: one request per connection
  "${pin_client[@]}" h2load --h1 -t1 -c16 -n "$2" -H 'Connection: close' "$1" >"$work/client.out" 2>&1 || true
  awk '/^finished in/ { s = $3; sub(/,$/, "", s)
                        if (s ~ /ms$/) { sub(/ms$/, "", s); s /= 1000 } else { sub(/s$/, "", s) } }
       /^requests:/ { ok = $8; bad = $10 + $12 + $14 }
       /^status codes:/ { non2xx = $5 + $7 + $9 }
       /^traffic:/ { b = $3; gsub(/[()]/, "", b) }
       END { if (s == "") { print 0, 0, 1, 1 } else print ok - non2xx, b, s, bad + non2xx }' "$work/client.out"
}
client_run() {  # client_run ROW PEER AMOUNT
  case "$1" in
    l4-1k) wrk_run "http://127.0.0.1:${l4_port[$2]}/1k" "$3" ;;
    l4-100k) wrk_run "http://127.0.0.1:${l4_port[$2]}/100k" "$3" ;;
    tls-1k) wrk_run "https://127.0.0.1:${tls_port[$2]}/1k" "$3" ;;
    tls-new) h2load_new "https://127.0.0.1:${tls_port[$2]}/1k" "$3" ;;
  esac
}
amount_of() {  # amount_of ROW -> seconds (wrk) or connections (h2load)
  if [ "$1" = tls-new ]; then echo "$handshakes"; else echo "$duration"; fi
}
measure() {  # measure ROW PEER -> "requests bytes seconds errors ticks"
  local pid=${proxy_pid[$2]} t0 t1 out
  t0=$(cpu_ticks "$pid")
  out=$(client_run "$1" "$2" "$(amount_of "$1")")
  t1=$(cpu_ticks "$pid")
  echo "$out $((t1 - t0))"
}

throughput_rows=""
for row in $rows; do [ "$row" != memory ] && throughput_rows="$throughput_rows $row"; done
start_backend
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Throughput rows: all proxies up, 2 routes each.
results=$work/results.tsv
printf 'round\trow\tproxy\treq_s\tmib_s\tcpu_us\tcpu_pct\terrors\n' >"$results"
if [ -n "$throughput_rows" ]; then
  for peer in $peers; do start_peer "$peer" "$work/bench-proxy-$peer" 2; done
  for peer in $peers; do  # every proxy relays the backend's bytes unchanged
    for body in 1k 100k; do
      curl -sf "http://127.0.0.1:${l4_port[$peer]}/$body" | cmp -s - "$work/www/$body" ||
        { echo "run.sh: $peer does not relay /$body over plain TCP" >&2; exit 1; }
      curl -skf "https://127.0.0.1:${tls_port[$peer]}/$body" | cmp -s - "$work/www/$body" ||
        { echo "run.sh: $peer does not relay /$body over TLS" >&2; exit 1; }
    done
    proto=$(openssl s_client -connect "127.0.0.1:${tls_port[$peer]}" </dev/null 2>/dev/null |
      awk '/^New, / { sub(/,$/, "", $2); p = $2 } END { print p }')
    [ "$proto" = TLSv1.3 ] || { echo "run.sh: $peer negotiates ${proto:-nothing}, not TLSv1.3" >&2; exit 1; }
  done
  if [ "$warmup" != 0 ]; then
    for peer in $peers; do
      for row in $throughput_rows; do
        amount=$warmup
        [ "$row" = tls-new ] && amount=$((handshakes / 10))
        client_run "$row" "$peer" "$amount" >/dev/null
        alive "$peer" "$row (warm-up)"
      done
    done
  fi
  read -ra peer_list <<<"$peers"
  for round in $(seq 1 "$rounds"); do
    # Rotate the order: round 1 ours first, round 2 the second peer first, ...
    order=()
    for i in "${!peer_list[@]}"; do order+=("${peer_list[$(((i + round - 1) % ${#peer_list[@]}))]}"); done
    for row in $throughput_rows; do
      for peer in "${order[@]}"; do
        read -r n bytes secs errors ticks <<<"$(measure "$row" "$peer")"
        alive "$peer" "$row"
        awk -v r="$round" -v row="$row" -v p="$peer" -v n="$n" -v b="$bytes" -v t="$secs" -v e="$errors" \
          -v ticks="$ticks" -v hz="$clk_tck" 'BEGIN {
            printf "%s\t%s\t%s\t%.0f\t%.1f\t%.2f\t%.0f\t%d\n", r, row, p, n / t, b / t / 1048576,
              (n > 0 ? ticks / hz / n * 1e6 : 0), ticks / hz / t * 100, e }' >>"$results"
        tail -n 1 "$results" >&2
      done
    done
  done
  # Profile of ours: one more run per row under perf, not measured.
  if [ -n "$perf_dir" ] && [[ " $peers " == *" ours "* ]]; then
    mkdir -p "$perf_dir"
    for row in $throughput_rows; do
      perf record -F "$perf_freq" --call-graph "$perf_call_graph" -o "$perf_dir/$row.data" -p "${proxy_pid[ours]}" 2>"$perf_dir/$row.record.log" &
      perf_pid=$!
      client_run "$row" ours "$(amount_of "$row")" >"$perf_dir/$row.client"
      kill -INT "$perf_pid"
      wait "$perf_pid" 2>/dev/null || true
      perf report -i "$perf_dir/$row.data" --no-children --stdio >"$perf_dir/$row.txt" 2>/dev/null
      perf report -i "$perf_dir/$row.data" --no-children --stdio --sort dso -g none >"$perf_dir/$row.dso" 2>/dev/null
      perf stat -e task-clock,context-switches,syscalls:sys_enter_splice,syscalls:sys_enter_epoll_wait,raw_syscalls:sys_enter \
        -p "${proxy_pid[ours]}" -o "$perf_dir/$row.stat" &
      perf_pid=$!
      client_run "$row" ours "$(amount_of "$row")" >"$perf_dir/$row.stat-client"
      kill -INT "$perf_pid"
      wait "$perf_pid" 2>/dev/null || true
      echo "perf: $row -> $perf_dir/$row.txt, $row.stat" >&2
    done
  fi
  for peer in $peers; do stop "${proxy_pid[$peer]}"; done
fi

# --- Memory row: each proxy fresh with $routes routes, idle, then held connections.
memory_results=$work/memory.tsv
printf 'proxy\tidle_kib\theld_kib\tothers_kib\theld\n' >"$memory_results"
if [[ " $rows " == *" memory "* ]]; then
  for peer in $peers; do
    dir=$work/bench-proxy-$peer-memory
    start_peer "$peer" "$dir" "$routes"
    pid=${proxy_pid[$peer]}
    worker=$(worker_of "$pid")
    sleep 1
    idle=$(rss_kib "$worker")
    others=0  # nginx's master
    [ "$worker" = "$pid" ] || others=$(rss_kib "$pid")
    "${pin_client[@]}" python3 "$hold_py" "${l4_port[$peer]}" "$idle_conns" /1k?bench-proxy-hold >"$dir/hold.out" 2>"$dir/hold.err" &
    hold_pid=$!
    pids+=("$hold_pid")
    deadline=$((SECONDS + 120))
    until grep -qs '^ready' "$dir/hold.out"; do
      if ! kill -0 "$hold_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
        echo "run.sh: $peer: could not hold $idle_conns connections:" >&2
        cat "$dir/hold.err" >&2
        tail -n 20 "$dir/log" >&2 || true
        exit 1
      fi
      sleep 0.2
    done
    sleep 1
    held=$(rss_kib "$worker")
    count=$(awk '/^ready/ { print $2 }' "$dir/hold.out")
    stop "$hold_pid"
    stop "$pid"
    printf '%s\t%s\t%s\t%s\t%s\n' "$peer" "$idle" "$held" "$others" "$count" >>"$memory_results"
    echo "memory $peer: idle $idle KiB, with $count held $held KiB (others $others KiB)" >&2
  done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
stop "$backend_pid"

# --- Report.
echo "# basalt-proxy vs HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }') and nginx stream $(nginx -v 2>&1 | sed 's|.*/||')"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average before $load_before, after $load_after."
echo "ROUNDS=$rounds DURATION=$duration HANDSHAKES=$handshakes WARMUP=$warmup IDLE_CONNS=$idle_conns ROUTES=$routes" \
  "PROXY_CPU=$proxy_cpu CLIENT_CPU=$client_cpu"
if [ -n "$throughput_rows" ]; then
  echo
  echo "| round | row | proxy | req/s | MiB/s | CPU µs/req | proxy CPU % | errors |"
  echo "|---|---|---|---|---|---|---|---|"
  tail -n +2 "$results" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
  echo
  echo "Medians over the rounds; ratios ours/HAProxy (vs hap) and ours/nginx (vs ngx):"
  echo
  awk -F'\t' -v order="$throughput_rows" '
    NR > 1 { k = $2 SUBSEP $3; n[k]++; for (c = 4; c <= 6; c++) v[k, c, n[k]] = $c }
    function median(k, c,   i, j, m, t, a) {
      m = n[k]; if (!m) return 0
      for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    END {
      print "| row | req/s ours | HAProxy | nginx | vs hap | vs ngx | MiB/s ours | HAProxy | nginx | vs hap | vs ngx | CPU µs/req ours | HAProxy | nginx | vs hap | vs ngx | goal | met |"
      print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
      split(order, rows, " ")
      for (i = 1; i in rows; i++) {
        r = rows[i]; o = r SUBSEP "ours"; h = r SUBSEP "haproxy"; x = r SUBSEP "nginx"
        rh = ratio(median(o, 4), median(h, 4)); rx = ratio(median(o, 4), median(x, 4))
        mh = ratio(median(o, 5), median(h, 5)); mx = ratio(median(o, 5), median(x, 5))
        ch = ratio(median(o, 6), median(h, 6)); cx = ratio(median(o, 6), median(x, 6))
        if (r == "l4-1k") { goal = "req/s ≥ HAProxy, CPU µs/req ≤ HAProxy"; met = rh >= 1 && ch <= 1 }
        else if (r == "l4-100k") { goal = "MiB/s ≥ HAProxy, ≥ 1000 MiB/s"; met = mh >= 1 && median(o, 5) >= 1000 }
        else if (r == "tls-1k") { goal = "req/s ≥ HAProxy and nginx"; met = rh >= 1 && rx >= 1 }
        else { goal = "handshakes/s ≥ nginx"; met = rx >= 1 }
        printf "| %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s |\n",
          r, median(o, 4), median(h, 4), median(x, 4), rh, rx, median(o, 5), median(h, 5), median(x, 5), mh, mx,
          median(o, 6), median(h, 6), median(x, 6), ch, cx, goal, (met ? "yes" : "**no**")
      }
    }' "$results"
fi
if [ "$(wc -l <"$memory_results")" -gt 1 ]; then
  echo
  echo "Memory: VmRSS of the process holding the connections (nginx: its worker; \"others\" is its master),"
  echo "idle with $routes routes, then with the connections held (goal: ours ≤ 20 MiB idle, per connection ≤ HAProxy):"
  echo
  echo "| proxy | idle RSS MiB | others MiB | held connections | RSS held MiB | KiB per connection | goal |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' 'NR > 1 { per[$1] = ($3 - $2) / $5; line[NR] = $0 }
    END {
      for (i = 2; i in line; i++) {
        split(line[i], f, "\t"); g = ""
        if (f[1] == "ours") {
          g = (f[2] / 1024 <= 20 ? "idle: yes" : "idle: **no**")
          if ("haproxy" in per) g = g (per["ours"] <= per["haproxy"] ? ", per connection: yes" : ", per connection: **no**") \
            sprintf(" (%.2f of HAProxy)", per["haproxy"] > 0 ? per["ours"] / per["haproxy"] : 0)
        }
        printf "| %s | %.1f | %.1f | %d | %.1f | %.2f | %s |\n", f[1], f[2] / 1024, f[4] / 1024, f[5], f[3] / 1024,
          per[f[1]], g
      }
    }' "$memory_results"
fi
