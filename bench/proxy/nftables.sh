#!/usr/bin/env bash
# Kernel forwarding against the user-space relay: iperf3 throughput through
# basalt-proxy's nftables DNAT (forwardingEngine: nftables), through its
# user-space TCP relay (the same proxy process, another route), and straight
# to the backend (routed by the proxy host, no proxy), alternating in one
# run; medians over ROUNDS.
#
# Setup: three network namespaces made for the run (client, proxy, backend)
# joined by veth pairs, TEST-NET addresses that exist only inside them; the
# proxy namespace forwards IPv4. iperf3 -s in the backend namespace;
# basalt-proxy (--workers WORKERS) in the proxy namespace with
#   kernel  route: 192.0.2.1:6201 -> 198.51.100.2:5201 (nftables DNAT + masquerade)
#   user    route: 192.0.2.1:7201 -> 198.51.100.2:5201 (user-space relay)
# and iperf3 -c in the client namespace (one stream, DURATION seconds).
# "proxy CPU" is the basalt-proxy process's user+system time during the
# run, per second of it (the kernel path's work is softirq time, not the
# process's).
#
#   bench/proxy/nftables.sh [BUILD_DIR] > report.md     (default build/release)
#
# Needs root, iproute2, nftables, iperf3. Tunables (environment):
# DURATION=5 ROUNDS=3 WORKERS=1.
set -euo pipefail

build=${1:-build/release}
bin=$build/bin
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
workers=${WORKERS:-1}
if [ "$(id -u)" -ne 0 ]; then
  echo "nftables.sh: needs root (network namespaces, nftables)" >&2
  exit 1
fi
for tool in ip nft iperf3 python3; do
  command -v $tool >/dev/null || { echo "nftables.sh: $tool is missing (scripts/setup)" >&2; exit 1; }
done

id=$$
c=bnbc$id p=bnbp$id b=bnbb$id
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $c $p $b; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for ns in $c $p $b; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add c0$id netns $c type veth peer name p0$id netns $p
ip link add p1$id netns $p type veth peer name b0$id netns $b
ip -n $c addr add 192.0.2.2/24 dev c0$id
ip -n $p addr add 192.0.2.1/24 dev p0$id
ip -n $p addr add 198.51.100.1/24 dev p1$id
ip -n $b addr add 198.51.100.2/24 dev b0$id
for l in "$c c0$id" "$p p0$id" "$p p1$id" "$b b0$id"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n $c route add default via 192.0.2.1
ip -n $b route add default via 198.51.100.1
ip netns exec $p sysctl -qw net.ipv4.ip_forward=1

ip netns exec $b iperf3 -s -p 5201 >/dev/null 2>&1 &
pids+=($!)
cat > "$work/proxy.yaml" <<YAML
routes:
  - {name: kernel, match: {ports: 6201}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 5201}]}}
  - {name: user, match: {ports: 7201}, action: {type: forward, targets: [{host: 198.51.100.2, port: 5201}]}}
YAML
ip netns exec $p "$bin/basalt-proxy" serve --config "$work/proxy.yaml" --workers "$workers" \
  --state-dir "$work/state" --log-level warn 2>"$work/proxy.log" &
proxy_pid=$!
pids+=($proxy_pid)
for _ in $(seq 50); do
  ip netns exec $p nft list tables 2>/dev/null | grep -q basalt_proxy && break
  sleep 0.1
done
sleep 0.5

cpu_ticks() { awk '{print $14 + $15}' "/proc/$proxy_pid/stat"; }
hz=$(getconf CLK_TCK)

# path host port -> "gbits cpu"
measure() {
  local before after json
  before=$(cpu_ticks)
  json=$(ip netns exec $c iperf3 -c "$2" -p "$3" -t "$duration" -J)
  after=$(cpu_ticks)
  python3 - "$json" "$before" "$after" "$hz" "$duration" <<'PY'
import json, sys
doc = json.loads(sys.argv[1])
bps = doc["end"]["sum_received"]["bits_per_second"]
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) / float(sys.argv[5])
print(f"{bps / 1e9:.2f} {cpu:.2f}")
PY
}

declare -A results
for round in $(seq "$rounds"); do
  results[direct]+="$(measure direct 198.51.100.2 5201);"
  results[kernel]+="$(measure kernel 192.0.2.1 6201);"
  results[user]+="$(measure user 192.0.2.1 7201);"
  echo "round $round done" >&2
done

median() { tr ';' '\n' | grep -v '^$' | awk -v f="$1" '{print $f}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(echo "${results[direct]}" | median 1)
k=$(echo "${results[kernel]}" | median 1)
u=$(echo "${results[user]}" | median 1)
kc=$(echo "${results[kernel]}" | median 2)
uc=$(echo "${results[user]}" | median 2)

echo "| path | Gbit/s (median of $rounds × ${duration} s) | vs direct | proxy CPU (s per s) | every round (Gbit/s proxy-CPU) |"
echo "|---|---|---|---|---|"
echo "| direct (routed, no proxy) | $d | 1.00 | – | ${results[direct]} |"
echo "| kernel (nftables DNAT) | $k | $(python3 -c "print(f'{$k/$d:.2f}')") | $kc | ${results[kernel]} |"
echo "| user space (basalt-proxy relay) | $u | $(python3 -c "print(f'{$u/$d:.2f}')") | $uc | ${results[user]} |"
echo
echo "kernel / user space: $(python3 -c "print(f'{$k/$u:.2f}')")"
kill -TERM $proxy_pid
wait $proxy_pid || true
if ip netns exec $p nft list tables | grep -q basalt_proxy; then
  echo "nftables.sh: the table is still there after SIGTERM" >&2
  exit 1
fi
