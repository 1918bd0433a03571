#!/usr/bin/env bash
# HTTP server benchmark: basalt-bench-http (an http::Server on one Runtime
# worker) against nginx with worker_processes 1, both serving the same 1 KiB
# and 100 KiB bodies on loopback, alternating in one run.
#
#   h1-1k      HTTP/1.1 keep-alive, GET /1k         wrk -t1 -c64 -dDURATION
#   tls-1k     the same over TLS 1.3 (https)        wrk -t1 -c64 -dDURATION
#   h2-tls-1k  HTTP/2 over TLS 1.3 (ALPN h2)        h2load -t1 -n H2_REQUESTS -c16 -m16
#   h1-100k    HTTP/1.1 keep-alive, GET /100k       wrk -t1 -c64 -dDURATION
#   memory     ours only: one GET /download?bytes=RSS_BYTES read by a slow
#              reader (curl --limit-rate RSS_RATE), then one chunked POST
#              /upload of RSS_BYTES at full speed; the server's VmRSS is
#              sampled every 0.2 s (and its VmHWM, reset before each
#              transfer, catches shorter peaks); the peak growth over its idle
#              RSS is reported (nginx cannot count an upload, so it is not run
#              here).
#
# Every round runs each row against both servers back to back (ours first in
# odd rounds, nginx first in even ones); both servers stay up for the whole
# run and get a short unmeasured warm-up first. Per run it records req/s,
# MiB/s (wrk/h2load bytes read, heads included), server CPU µs per request
# (utime+stime delta of the server's processes from /proc over the client
# run, divided by the requests completed) and errors (socket errors, non-2xx,
# failed streams). Prints a Markdown report on stdout: every run, medians over
# the rounds, ratios ours/nginx and the goals of the issue. The per-run
# "server CPU %" (server CPU time over the run's length) tells a saturated
# server (near 100) from one held back by the client or by other processes
# on its CPU.
#
# Configuration, kept equivalent on both sides (see nginx.conf below and
# bench_limits() in server.cpp): keep-alive for 100000 requests per
# connection (nginx: keepalive_requests, ours: max_requests_per_connection),
# idle connections closed after 60 s, no request body limit, TLS 1.3 only,
# the same self-signed ECDSA P-256 certificate. nginx serves the bodies as
# files (sendfile on, tcp_nopush on, as Debian's nginx.conf ships), with
# access_log off; ours copies them from memory into each response.
#
#   bench/http/run.sh [BUILD_DIR]          (default build/bench)
#
# Build first: cmake --build BUILD_DIR --target basalt-bench-http
# Needs: nginx (1.22, nginx-light), wrk, h2load (nghttp2-client), curl,
# openssl, taskset, python3. Tunables (environment): ROUNDS=3 DURATION=15
# (wrk seconds) H2_REQUESTS=200000 WARMUP=2 (seconds per row and server, 0 =
# none) RSS_BYTES=1073741824 RSS_RATE=20M (curl --limit-rate of the slow
# reader) SERVER_CPU=1 CLIENT_CPU=0 (taskset CPU lists; empty = no pinning)
# ROWS="h1-1k tls-1k h2-tls-1k h1-100k memory". QUICK=1 is a smoke test: the
# defaults become ROUNDS=1 DURATION=2 H2_REQUESTS=20000 WARMUP=1
# RSS_BYTES=64 MiB (explicit settings still win).
set -euo pipefail

build=${1:-build/bench}
bin=$build/bin
if [ "${QUICK:-0}" = 1 ]; then
  rounds=${ROUNDS:-1} duration=${DURATION:-2} h2_requests=${H2_REQUESTS:-20000} warmup=${WARMUP:-1}
  rss_bytes=${RSS_BYTES:-$((64 << 20))}
else
  rounds=${ROUNDS:-3} duration=${DURATION:-15} h2_requests=${H2_REQUESTS:-200000} warmup=${WARMUP:-2}
  rss_bytes=${RSS_BYTES:-$((1 << 30))}
fi
rss_rate=${RSS_RATE:-20M}
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}
rows=${ROWS:-h1-1k tls-1k h2-tls-1k h1-100k memory}

for tool in nginx wrk h2load curl openssl taskset python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
[ -x "$bin/basalt-bench-http" ] || { echo "run.sh: $bin/basalt-bench-http is not built" >&2; exit 1; }

# --- Work directory, pinning, processes (stopped at exit).
. "$(dirname "$0")/../lib/processes.sh"  # $work, pids, cleanup on exit, free_port
pin_server=()
pin_client=()
[ -n "$server_cpu" ] && pin_server=(taskset -c "$server_cpu")
[ -n "$client_cpu" ] && pin_client=(taskset -c "$client_cpu")
clk_tck=$(getconf CLK_TCK)

# cpu_ticks and rss_kib (bench/lib/processes.sh) count a server with its
# children (nginx's workers).
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

wait_http() {  # wait_http URL PID NAME LOG
  local deadline=$((SECONDS + 20))
  until curl -skf -o /dev/null "$1"; do
    if ! kill -0 "$2" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "run.sh: $3 does not answer $1; its log:" >&2
      cat "$4" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
}

# --- Certificate (one for both servers) and bodies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# --- Ours.
ours_port=$(free_port)
ours_tls_port=$(free_port)
"${pin_server[@]}" "$bin/basalt-bench-http" --listen "127.0.0.1:$ours_port" --tls-listen "127.0.0.1:$ours_tls_port" \
  --cert "$work/cert.pem" --key "$work/key.pem" >"$work/ours.out" 2>"$work/ours.log" &
ours_pid=$!
pids+=("$ours_pid")
wait_http "http://127.0.0.1:$ours_port/1k" "$ours_pid" ours "$work/ours.log"

# nginx serves the very bytes ours does, as files.
mkdir -p "$work/www" "$work/nginx/logs"
curl -sf -o "$work/www/1k" "http://127.0.0.1:$ours_port/1k"
curl -sf -o "$work/www/100k" "http://127.0.0.1:$ours_port/100k"
# As root, nginx's worker runs as nobody: it must reach the files.
chmod 711 "$work"
chmod 755 "$work/www"
chmod 644 "$work/www/"*

# --- nginx.
nginx_port=$(free_port)
nginx_tls_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events {
  worker_connections 1024;
}
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  # = ours: max_requests_per_connection 100000, idle_timeout 60 s.
  keepalive_requests 100000;
  keepalive_timeout 60s;
  # = ours: max_body_bytes (64 GiB, in effect none).
  client_max_body_size 0;
  types {}
  default_type application/octet-stream;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  ssl_protocols TLSv1.3;
  ssl_certificate $work/cert.pem;
  ssl_certificate_key $work/key.pem;
  server {
    listen 127.0.0.1:$nginx_port;
    listen 127.0.0.1:$nginx_tls_port ssl http2;
    root $work/www;
    location / {
    }
  }
}
EOF
"${pin_server[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off; master_process on;' \
  >"$work/nginx.out" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
wait_http "http://127.0.0.1:$nginx_port/1k" "$nginx_pid" nginx "$work/nginx/error.log"
for body in 1k 100k; do
  for url in "http://127.0.0.1:$nginx_port/$body" "https://127.0.0.1:$nginx_tls_port/$body" \
    "https://127.0.0.1:$ours_tls_port/$body"; do
    curl -skf "$url" | cmp -s - "$work/www/$body" || { echo "run.sh: $url does not serve the same $body body" >&2; exit 1; }
  done
done
for url in "https://127.0.0.1:$ours_tls_port/1k" "https://127.0.0.1:$nginx_tls_port/1k"; do
  proto=$(curl -sk --http2 -o /dev/null -w '%{http_version}' "$url")
  [ "$proto" = 2 ] || { echo "run.sh: $url does not answer HTTP/2 (got $proto)" >&2; exit 1; }
done

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
h2load_run() {  # h2load_run URL REQUESTS
  "${pin_client[@]}" h2load -t1 -c16 -m16 -n "$2" "$1" >"$work/client.out" 2>&1 || true
  awk '/^Application protocol:/ { proto = $3 }
       /^finished in/ { s = $3; sub(/,$/, "", s)
                        if (s ~ /ms$/) { sub(/ms$/, "", s); s /= 1000 } else { sub(/s$/, "", s) } }
       /^requests:/ { ok = $8; bad = $10 + $12 + $14 }
       /^status codes:/ { non2xx = $5 + $7 + $9 }
       /^traffic:/ { b = $3; gsub(/[()]/, "", b) }
       END { if (proto != "h2" || s == "") { print 0, 0, 1, 1 } else print ok - non2xx, b, s, bad + non2xx }' \
    "$work/client.out"
}
measure() {  # measure ROW PID PORT TLS_PORT SECONDS|REQUESTS -> "requests bytes seconds errors ticks"
  local row=$1 pid=$2 port=$3 tls_port=$4 amount=$5 t0 t1 out
  t0=$(cpu_ticks "$pid")
  case "$row" in
    h1-1k) out=$(wrk_run "http://127.0.0.1:$port/1k" "$amount") ;;
    tls-1k) out=$(wrk_run "https://127.0.0.1:$tls_port/1k" "$amount") ;;
    h2-tls-1k) out=$(h2load_run "https://127.0.0.1:$tls_port/1k" "$amount") ;;
    h1-100k) out=$(wrk_run "http://127.0.0.1:$port/100k" "$amount") ;;
  esac
  t1=$(cpu_ticks "$pid")
  echo "$out $((t1 - t0))"
}
server_args() {  # server_args NAME -> "PID PORT TLS_PORT"
  if [ "$1" = ours ]; then echo "$ours_pid $ours_port $ours_tls_port"; else echo "$nginx_pid $nginx_port $nginx_tls_port"; fi
}
throughput_rows=""
for row in $rows; do [ "$row" != memory ] && throughput_rows="$throughput_rows $row"; done

# --- Throughput rows.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$work/results.tsv
printf 'round\trow\tserver\treq_s\tmib_s\tcpu_us\tcpu_pct\terrors\n' >"$results"
if [ "$warmup" != 0 ] && [ -n "$throughput_rows" ]; then
  for server in ours nginx; do
    read -r pid port tls_port <<<"$(server_args "$server")"
    for row in $throughput_rows; do
      amount=$warmup
      [ "$row" = h2-tls-1k ] && amount=$((h2_requests / 10))
      measure "$row" "$pid" "$port" "$tls_port" "$amount" >/dev/null
    done
  done
fi
for round in $(seq 1 "$rounds"); do
  order="ours nginx"
  [ $((round % 2)) = 0 ] && order="nginx ours"
  for row in $throughput_rows; do
    for server in $order; do
      read -r pid port tls_port <<<"$(server_args "$server")"
      amount=$duration
      [ "$row" = h2-tls-1k ] && amount=$h2_requests
      read -r n bytes secs errors ticks <<<"$(measure "$row" "$pid" "$port" "$tls_port" "$amount")"
      awk -v r="$round" -v row="$row" -v s="$server" -v n="$n" -v b="$bytes" -v t="$secs" -v e="$errors" \
        -v ticks="$ticks" -v hz="$clk_tck" 'BEGIN {
          printf "%s\t%s\t%s\t%.0f\t%.1f\t%.2f\t%.0f\t%d\n", r, row, s, n / t, b / t / 1048576,
            (n > 0 ? ticks / hz / n * 1e6 : 0), ticks / hz / t * 100, e }' >>"$results"
      tail -n 1 "$results" >&2
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
ours_rss=$(rss_kib "$ours_pid")
nginx_worker=$(pgrep -P "$nginx_pid" | head -n 1)
nginx_rss=$(rss_kib "$nginx_worker")
ours_head=$(curl -s -D - -o /dev/null "http://127.0.0.1:$ours_port/1k" | wc -c)
nginx_head=$(curl -s -D - -o /dev/null "http://127.0.0.1:$nginx_port/1k" | wc -c)
kill "$nginx_pid" "$ours_pid"
wait "$nginx_pid" "$ours_pid" 2>/dev/null || true
pids=()

# --- Memory row (ours only): a fresh server, one slow download, one upload.
memory_report=""
if [[ " $rows " == *" memory "* ]]; then
  port=$(free_port)
  "${pin_server[@]}" "$bin/basalt-bench-http" --listen "127.0.0.1:$port" >/dev/null 2>"$work/memory.log" &
  mem_pid=$!
  pids+=("$mem_pid")
  wait_http "http://127.0.0.1:$port/1k" "$mem_pid" ours "$work/memory.log"
  sample_rss() {  # sample_rss PID OUT: VmRSS every 0.2 s until killed
    while :; do rss_kib "$1" >>"$2" 2>/dev/null || break; sleep 0.2; done
  }
  transfer() {  # transfer NAME -> "kib_before kib_peak kib_after seconds result"
    local before sampler peak after t0 t1 result
    sleep 0.5
    before=$(rss_kib "$mem_pid")
    # Reset VmHWM (the kernel's peak RSS) to the current RSS: it catches a
    # peak shorter than the sampling interval.
    echo 5 >"/proc/$mem_pid/clear_refs" 2>/dev/null || true
    : >"$work/rss.$1"
    sample_rss "$mem_pid" "$work/rss.$1" &
    sampler=$!
    t0=$(date +%s.%N)
    case "$1" in
      download)
        result=$("${pin_client[@]}" curl -s -o /dev/null --limit-rate "$rss_rate" -w '%{http_code}:%{size_download}' \
          "http://127.0.0.1:$port/download?bytes=$rss_bytes" || echo failed)
        ;;
      upload)
        result=$(head -c "$rss_bytes" /dev/zero |
          "${pin_client[@]}" curl -s -T - -X POST -w ':%{http_code}' "http://127.0.0.1:$port/upload" | tr -d '\n' ||
          echo failed)
        ;;
    esac
    t1=$(date +%s.%N)
    kill "$sampler"
    wait "$sampler" 2>/dev/null || true
    sleep 0.5
    after=$(rss_kib "$mem_pid")
    peak=$( (cat "$work/rss.$1"; hwm_kib "$mem_pid") | sort -n | tail -n 1)
    echo "$before ${peak:-$before} $after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') $result"
  }
  for what in download upload; do
    read -r before peak after secs result <<<"$(transfer "$what")"
    if [ "$what" = download ]; then expect="200:$rss_bytes"; how="GET /download, curl --limit-rate $rss_rate"
    else expect="$rss_bytes:200"; how="chunked POST /upload (head -c piped to curl -T -), full speed"; fi
    ok=yes
    [ "$result" = "$expect" ] || ok="no (got $result, expected $expect)"
    memory_report+=$(awk -v w="$what" -v how="$how" -v b="$before" -v p="$peak" -v a="$after" -v s="$secs" \
      -v n="$rss_bytes" -v ok="$ok" 'BEGIN {
        g = (p - b) / 1024
        printf "| %s | %s | %.0f MiB | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", w, how, n / 1048576, s, b / 1024,
          g, (a - b) / 1024, ok, (g < 16 ? "met" : "missed")
      }')$'\n'
    echo "memory $what: before $before KiB, peak $peak KiB, after $after KiB, $secs s, $result" >&2
  done
  kill "$mem_pid"
  wait "$mem_pid" 2>/dev/null || true
  pids=()
fi

# --- Report.
echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- command: \`ROUNDS=$rounds DURATION=$duration H2_REQUESTS=$h2_requests WARMUP=$warmup RSS_BYTES=$rss_bytes" \
  "RSS_RATE=$rss_rate SERVER_CPU=$server_cpu CLIENT_CPU=$client_cpu bench/http/run.sh $build\`"
echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr)"
echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
echo "- $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2);" \
  "$(h2load --version | head -n 1); $(curl --version | head -n 1 | cut -d' ' -f1-2)"
echo "- response head of GET /1k: ours $ours_head bytes, nginx $nginx_head bytes;" \
  "RSS after the throughput runs: ours $((ours_rss / 1024)) MiB, nginx worker $((nginx_rss / 1024)) MiB"
echo
if [ -n "$throughput_rows" ]; then
  echo "Every run (wrk: \`-t1 -c64 -d${duration}s\`; h2load: \`-t1 -c16 -m16 -n $h2_requests\`):"
  echo
  echo "| round | row | server | req/s | MiB/s | CPU µs/req | server CPU % | errors |"
  echo "|---|---|---|---|---|---|---|---|"
  tail -n +2 "$results" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
  echo
  echo "Medians over the rounds, ratios ours/nginx:"
  echo
  awk -F'\t' -v order="$throughput_rows" '
    NR > 1 { k = $2 SUBSEP $3; n[k]++; for (c = 4; c <= 6; c++) v[k, c, n[k]] = $c }
    function median(k, c,   i, j, m, t, a) {
      m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    END {
      print "| row | req/s ours | req/s nginx | ratio | MiB/s ours | MiB/s nginx | ratio | CPU µs/req ours | nginx | ratio | goal | met |"
      print "|---|---|---|---|---|---|---|---|---|---|---|---|"
      split(order, rows, " ")
      for (i = 1; i in rows; i++) {
        r = rows[i]; o = r SUBSEP "ours"; x = r SUBSEP "nginx"
        rq = ratio(median(o, 4), median(x, 4)); mb = ratio(median(o, 5), median(x, 5)); cpu = ratio(median(o, 6), median(x, 6))
        if (r == "h1-1k") { goal = "req/s >= nginx, CPU µs/req <= nginx"; met = rq >= 1 && cpu <= 1 }
        else if (r == "h1-100k") { goal = "MiB/s >= nginx"; met = mb >= 1 }
        else { goal = "req/s >= nginx"; met = rq >= 1 }
        printf "| %s | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %s | %s |\n", r,
          median(o, 4), median(x, 4), rq, median(o, 5), median(x, 5), mb, median(o, 6), median(x, 6), cpu,
          goal, (met ? "yes" : "**no**")
      }
    }' "$results"
  echo
fi
if [ -n "$memory_report" ]; then
  echo "Memory (ours only, a fresh server; goal: RSS grows by < 16 MiB):"
  echo
  echo "| transfer | how | size | seconds | idle RSS MiB | peak growth MiB | growth after MiB | complete | goal |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s' "$memory_report"
fi
