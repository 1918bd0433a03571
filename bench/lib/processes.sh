# Sourced by the bench scripts (dns-doh, http, proxy): CPU pinning, a work
# directory and the background processes, both cleaned up on exit, a free
# loopback port, and the CPU time and RSS of a process.
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
