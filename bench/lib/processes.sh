# Sourced by the bench scripts (dns-doh, http, proxy): CPU pinning, a work
# directory and the background processes, both cleaned up on exit, a free
# loopback port, the CPU time and RSS of a process, and waiting for a
# background server to listen or stopping it.
pin() { local cpus=$1; shift; if [ -n "$cpus" ]; then taskset -c "$cpus" "$@"; else "$@"; fi; }
# For background servers: exec, so that $! is the server itself.
pin_exec() { local cpus=$1; shift; if [ -n "$cpus" ]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# A process and its children (nginx's workers).
family_pids() { echo "$1"; pgrep -P "$1" || true; }
cpu_ticks() {  # cpu_ticks PID -> utime+stime of PID and its children, in clock ticks
  local t=0 p
  for p in $(family_pids "$1"); do
    # Field 2 (comm) is in parentheses and may hold spaces: count after ')'.
    t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$t"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Background servers: wait until one listens, stop one.
wait_ports() {  # wait_ports PID NAME LOG PORT...: until every port accepts, or fail
  local pid=$1 name=$2 log=$3
  shift 3
  python3 -c '
import os, socket, sys, time
pid, ports = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
deadline = time.monotonic() + 20
while ports and time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", ports[0]), 1).close()
        ports.pop(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1 if ports else 0)' "$pid" "$@" && return
  echo "$(basename "$0"): $name does not listen on all of its ports; its log:" >&2
  cat "$log" >&2 || true
  exit 1
}
stop() {  # stop PID: SIGTERM, wait, drop from the cleanup list
  local p=$1 keep=() q
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  pids=("${keep[@]}")
}
