#!/usr/bin/env bash
# DNSSEC benchmark: dnsperf against basalt-dns signing online and against Knot
# DNS with automatic signing of the same zone, each next to its own unsigned
# run — in one run, alternating, so the machine's load hits all of them alike.
#
# Servers (SERVERS, the order within a round):
#   ours         basalt-dns, the zone without DNSSEC, queries without DO
#   ours-signed  basalt-dns --dnssec-zone (online signing), queries with DO
#   knot         knotd, the same zone unsigned, queries without DO
#   knot-signed  knotd, dnssec-signing: on (pre-signs the whole zone with an
#                NSEC chain at load; the script waits until it has), DO
#   ours-half    basalt-bench-dns-handler: the same zone signed online, plus
#                a handler for *.dyn.<apex> (A, AAAA) that answers nothing
#                there; measured on the nxhalf mix only (not by default)
# Unsigned servers get EDNS without DO (dnsperf -e), signed ones EDNS with DO
# (dnsperf -D), so signed / unsigned measures DNSSEC and nothing else.
#
# Query mixes (MIXES), each measured separately on every server:
#   pos  names that exist: 60% A and 30% AAAA of hosts, 10% apex MX (with
#        additional A/AAAA) — 100,000 lines, fixed seed; the warm-up asks
#        every one of these RRsets once, so what is measured is answering
#        with signatures already made (cached) — the steady state;
#   nx   A of random names that do not exist (NXDOMAIN), every name
#        different (NX_LINES per run; separate files for the warm-up, the
#        saturation and the fixed-rate run, so no name repeats within a
#        server's life): both signed servers answer from their NSEC chain,
#        signed once at start (basalt-dns answers with white lies, a fresh
#        signature per name, until its chain is ready; the script waits).
#   nxhalf  as nx, but every second name is below dyn.<apex>: for ours-half
#        a handler's region (white lies: one NODATA signature per new name),
#        for the others plain NXDOMAIN from the chain. Pair it with
#        SERVERS="ours-half knot-signed" (and ours-signed for comparison).
#
# For every server, mix and round it records:
#   - saturation: answers/s, server CPU per answer, average response size
#     (dnsperf -q 500 for DURATION seconds);
#   - fixed rate (dnsperf -Q RATE for pos, -Q NX_RATE for nx): server CPU per
#     answer, average and p99 latency (from dnsperf -v per-query output);
#   - resident memory (VmRSS) after the runs.
# Server CPU is the utime+stime delta of /proc/<pid>/stat over a run divided
# by the answers dnsperf received in it. Prints a Markdown report on stdout
# (when stopped by SIGTERM or SIGINT: of the runs finished until then) and
# each run's row on stderr as it finishes.
#
#   bench/dnssec/run.sh [BUILD_DIR]          (default build/release)
#
# Before measuring, round 1 checks with delv (bind9-dnsutils; skipped if
# missing) that each signed server's answers validate.
#
# Needs: knotd, dnsperf, kdig, taskset (scripts/setup installs them). Build
# first: cmake --build BUILD_DIR --target basalt-dns
# Tunables (environment): ALGORITHM=ecdsa-p256 (or ed25519, rsa-sha256;
# both servers use it) ROUNDS=3 DURATION=10 RATE=30000 NX_RATE=3000 (300
# for rsa-sha256, where ours signs ~1,000 NXDOMAIN answers/s at most)
# HOSTS=10000 NX_LINES=1000000 SERVER_CPU=1 CLIENT_CPU=0 (taskset CPU lists;
# empty = no pinning) SERVERS="ours ours-signed knot knot-signed"
# MIXES="pos nx" SIGN_TIMEOUT=600 (seconds to wait for Knot to sign)
# DENIAL=nsec (or nsec3: both signed servers deny with NSEC3, RFC 9276
# parameters — no extra iterations, no salt, no opt-out; ours-half not
# offered: a zone a handler reaches has no NSEC3 chain).
set -euo pipefail

build=${1:-build/release}
bin=$build/bin
algorithm=${ALGORITHM:-ecdsa-p256}
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
rate=${RATE:-30000}
nx_rate=${NX_RATE:-3000}
hosts=${HOSTS:-10000}
nx_lines=${NX_LINES:-1000000}
server_cpu=${SERVER_CPU-1}
client_cpu=${CLIENT_CPU-0}
servers=${SERVERS:-ours ours-signed knot knot-signed}
mixes=${MIXES:-pos nx}
sign_timeout=${SIGN_TIMEOUT:-600}
denial=${DENIAL:-nsec}
case "$denial" in
  nsec) knot_nsec3=off ;;
  nsec3) knot_nsec3=on ;;
  *) echo "run.sh: DENIAL is nsec or nsec3, not $denial" >&2; exit 1 ;;
esac

case "$algorithm" in
  ecdsa-p256) knot_algorithm=ecdsap256sha256 ;;
  ecdsa-p384) knot_algorithm=ecdsap384sha384 ;;
  ed25519) knot_algorithm=ed25519 ;;
  rsa-sha256) knot_algorithm=rsasha256 ;;
  *) echo "run.sh: unknown ALGORITHM $algorithm" >&2; exit 1 ;;
esac

for tool in knotd dnsperf kdig taskset; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/setup)" >&2; exit 1; }
done
case " $servers " in
  *" ours "* | *" ours-signed "*)
    [ -x "$bin/basalt-dns" ] || { echo "run.sh: $bin/basalt-dns is not built" >&2; exit 1; } ;;
esac
case " $servers " in
  *" ours-half "*)
    [ -x "$bin/basalt-bench-dns-handler" ] || { echo "run.sh: $bin/basalt-bench-dns-handler is not built" >&2; exit 1; } ;;
esac
case " $servers " in
  *" ours-signed "*)
    "$bin/basalt-dns" serve --help 2>&1 | grep -q -- --dnssec-zone ||
      { echo "run.sh: $bin/basalt-dns has no --dnssec-zone (drop ours-signed from SERVERS)" >&2; exit 1; } ;;
esac

# shellcheck source=../lib/dnsperf.sh
source "$(dirname "$0")/../lib/dnsperf.sh"

# --- Data: the zone (as in bench/dns) and the query files.
apex=example.test
bench_zone "$apex" 1 >"$work/$apex.zone"

awk -v n="$hosts" -v apex="$apex" 'BEGIN {
  seed = 12345
  for (k = 0; k < 100000; k++) {
    seed = (seed * 1103515245 + 12345) % 2147483648; r = seed % 100
    seed = (seed * 1103515245 + 12345) % 2147483648; h = seed % n
    if (r < 60) printf "host-%d.%s A\n", h, apex
    else if (r < 90) printf "host-%d.%s AAAA\n", h, apex
    else printf "%s MX\n", apex
  }
}' >"$work/pos.txt"
{
  awk -v n="$hosts" -v apex="$apex" 'BEGIN { for (i = 0; i < n; i++) printf "host-%d.%s A\nhost-%d.%s AAAA\n", i, apex, i, apex }'
  echo "$apex MX"
} >"$work/pos-warm.txt"

# gen_nx TAG LINES: distinct non-existent names, a random 8-letter label
# (spread over the whole NSEC chain) plus a counter that keeps them unique.
gen_nx() {
  awk -v tag="$1" -v lines="$2" -v apex="$apex" 'BEGIN {
    seed = 4242 + length(tag) * 7919; a = "abcdefghijklmnopqrstuvwxyz"
    for (k = 0; k < lines; k++) {
      s = ""
      for (j = 0; j < 8; j++) { seed = (seed * 1103515245 + 12345) % 2147483648; s = s substr(a, int(seed / 65536) % 26 + 1, 1) }
      printf "%s-%s%d.%s A\n", s, tag, k, apex
    }
  }' >"$work/nx-$1.txt"
}
gen_nx w $((nx_rate * 3))
gen_nx s "$nx_lines"
gen_nx f $((nx_rate * (duration + 2)))
# The nxhalf files: the same names, every second one moved below dyn.<apex>.
for t in w s f; do
  awk -v apex="$apex" 'NR % 2 == 0 { sub("\\." apex " ", ".dyn." apex " ") } { print }' \
    "$work/nx-$t.txt" >"$work/nxh-$t.txt"
done

# --- Servers.
knot_conf() {  # knot_conf PORT SIGNED
  local user="" dnssec=""
  [ "$(id -u)" = 0 ] && user="  user: root:root"
  [ "$2" = 1 ] && dnssec="    dnssec-signing: on
    dnssec-policy: bench"
  local sizes=""
  [ "$knot_algorithm" = rsasha256 ] && sizes="    ksk-size: 2048
    zsk-size: 2048"
  cat <<EOF
server:
  listen: 127.0.0.1@$1
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
  kasp-db: $work/knot-keys-$algorithm
policy:
  - id: bench
    algorithm: $knot_algorithm
$sizes
    single-type-signing: on
    nsec3: $knot_nsec3
    nsec3-iterations: 0
    nsec3-salt-length: 0
    nsec3-opt-out: off
template:
  - id: default
    storage: $work/knot
zone:
  - domain: $apex
    file: $work/$apex.zone
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
$dnssec
EOF
}

# ready KIND PORT: true once the server gives the answers it will be measured on.
ready() {
  local q=(kdig @127.0.0.1 -p "$2" +time=1 +retry=0)
  case "$1" in
    *-signed | ours-half)
      # An RRSIG on the first and on the last host, and an NSEC of the chain
      # (owned by a name of the zone, not a white lie's \255 name) proving an
      # NXDOMAIN: Knot serves the zone only once signed, basalt-dns answers
      # with white lies until its chain is signed; this waits for both.
      # NSEC3 white lies look like the chain's records: for ours, its log
      # line saying the chain is signed (knotd: an NSEC3 at all).
      "${q[@]}" +dnssec +noall +answer "host-0.$apex" A 2>/dev/null | grep -q 'RRSIG' &&
        "${q[@]}" +dnssec +noall +answer "host-$((hosts - 1)).$apex" AAAA 2>/dev/null | grep -q 'RRSIG' &&
        if [ "$denial" = nsec3 ]; then
          "${q[@]}" +dnssec +noall +authority "no-such-name.$apex" A 2>/dev/null | grep -q 'NSEC3' &&
            { [ "$1" = knot-signed ] || grep -q "NSEC3 chain of $apex" "$work/$1.log"; }
        else
          "${q[@]}" +dnssec +noall +authority "no-such-name.$apex" A 2>/dev/null |
            awk '$4 == "NSEC" && $1 !~ /\\/ { chain = 1 } END { exit !chain }'
        fi
      ;;
    *) "${q[@]}" +short "host-1.$apex" A 2>/dev/null | grep -q '^10\.0\.0\.1$' ;;
  esac
}

# validate PORT: "yes" when delv, with the zone's DNSKEYs as trust anchor,
# fully validates a positive answer and an NXDOMAIN (unmeasured check that
# the signed answers are answers a validator accepts).
validate() {
  command -v delv >/dev/null || { echo "not checked (no delv)"; return; }
  kdig @127.0.0.1 -p "$1" +noall +answer "$apex" DNSKEY | awk '$4 == "DNSKEY" { k = ""; for (i = 8; i <= NF; i++) k = k $i
    printf "trust-anchors { %s static-key %s %s %s \"%s\"; };\n", $1, $5, $6, $7, k }' >"$work/anchor.conf"
  local d=(delv @127.0.0.1 -p "$1" -a "$work/anchor.conf" +root="$apex")
  if "${d[@]}" "host-7.$apex" A 2>&1 | grep -q '^; fully validated' &&
    "${d[@]}" "$apex" MX 2>&1 | grep -q '^; fully validated' &&
    "${d[@]}" "no-such-name.$apex" A 2>&1 | grep -q '^; negative response, fully validated'; then
    echo yes
  else
    echo "**no**"
  fi
}

start_server() {  # start_server KIND PORT; sets server_pid
  local kind=$1 port=$2 timeout=20
  case "$kind" in
    ours | ours-signed)
      [ "$kind" = ours-signed ] && timeout=$sign_timeout
      cat >"$work/basalt-dns.yaml" <<EOF
listen: [127.0.0.1:$port]
workers: 2
state_dir: $work/state
log: {level: warn}
EOF
      local dnssec=() level=warn
      [ "$kind" = ours-signed ] && dnssec=(--dnssec-zone "$apex" --key-dir "$work/ours-keys-$algorithm"
        --dnssec-algorithm "$algorithm")
      if [ "$kind" = ours-signed ] && [ "$denial" = nsec3 ]; then
        # Denial is a config key, not a flag; info level for the "chain signed" line ready() waits for.
        dnssec=()
        level=info
        echo "dnssec: {zone: $apex, key_dir: $work/ours-keys-$algorithm, algorithm: $algorithm, denial: nsec3}" \
          >>"$work/basalt-dns.yaml"
      fi
      "${pin_server[@]}" "$bin/basalt-dns" serve --config "$work/basalt-dns.yaml" --listen "127.0.0.1:$port" \
        --zone-file "$work/$apex.zone" "${dnssec[@]}" --log-level "$level" 2>>"$work/$kind.log" &
      ;;
    ours-half)
      timeout=$sign_timeout
      "${pin_server[@]}" "$bin/basalt-bench-dns-handler" --listen "127.0.0.1:$port" --workers 2 \
        --zone-file "$work/$apex.zone" --pattern "*.dyn.$apex" --dnssec-zone "$apex" \
        --key-dir "$work/ours-keys-$algorithm" --dnssec-algorithm "$algorithm" 2>>"$work/$kind.log" &
      ;;
    knot | knot-signed)
      mkdir -p "$work/knot"
      local signed=0
      [ "$kind" = knot-signed ] && signed=1 timeout=$sign_timeout
      knot_conf "$port" "$signed" >"$work/$kind.conf"
      "${pin_server[@]}" knotd -c "$work/$kind.conf" 2>>"$work/$kind.log" &
      ;;
  esac
  server_pid=$!
  local t0=$SECONDS deadline=$((SECONDS + timeout))
  until ready "$kind" "$port"; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "run.sh: $kind did not start answering (signed: with RRSIG and NSEC); its log:" >&2
      cat "$work/$kind.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  start_seconds=$((SECONDS - t0))
  # knotd pins its UDP workers to CPUs of its own choosing (one of them onto
  # dnsperf's CPU); put every thread of every server back on the server CPU.
  if [ -n "$server_cpu" ]; then taskset -a -c -p "$server_cpu" "$server_pid" >/dev/null; fi
}

dnsperf_run() {  # dnsperf_run PORT FILE OUT [extra dnsperf flags]; measures server CPU around it
  local port=$1 file=$2 out=$3
  shift 3
  local t0 t1
  t0=$(cpu_ticks)
  "${pin_client[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$duration" -T 1 -c 8 "$@" >"$out" 2>&1
  t1=$(cpu_ticks)
  echo $((t1 - t0))
}

results=$work/results.tsv
printf 'round\tserver\tmix\tqps\tsat_cpu_us\tresp_bytes\tfixed_qps\tfixed_avg_us\tfixed_p99_us\tfixed_cpu_us\trss_mib\tlost\trcode_pct\tstart_s\n' >"$results"
looped=""
validated=""
interrupted=""

# --- Report (also of the runs done so far, if the script is stopped).
report() {
  echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC'), $algorithm, $denial"
  echo
  echo "- command: \`ALGORITHM=$algorithm DENIAL=$denial ROUNDS=$rounds DURATION=$duration RATE=$rate NX_RATE=$nx_rate HOSTS=$hosts NX_LINES=$nx_lines SERVER_CPU=$server_cpu CLIENT_CPU=$client_cpu bench/dnssec/run.sh $build\`"
  echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
  [ -z "$interrupted" ] || echo "- **stopped by a signal during $interrupted**: the tables hold the runs finished before it"
  echo "- basalt-dns: $bin/basalt-dns built $bin_built$([ "$bin_built" = "$(bin_mtime)" ] || echo " **and rebuilt during the run**, $(bin_mtime)"), tree at $tree_at; $(knotd --version 2>&1 | head -n 1); $(dnsperf -h 2>&1 | grep -m1 '^Version' | sed 's/^Version/dnsperf/')"
  [ -n "$validated" ] && echo "- delv validates a positive answer, an apex MX and an NXDOMAIN (trust anchor: the served DNSKEYs):$validated"
  [ -n "$looped" ] && echo "- **the nx saturation file ($nx_lines names) was used up and restarted** in:$looped (names repeated from there on)"
  echo
  echo "Each run (saturation: \`dnsperf -T 1 -c 8 -q 500 -l $duration\`; fixed rate: the same with \`-Q $rate\` (pos) or \`-Q $nx_rate\` (nx) and \`-v\`; \`-e\` unsigned, \`-D\` signed). rcode %: answers with NOERROR (pos) or NXDOMAIN (nx); start s: seconds until the server answered (signed: until signed):"
  echo
  echo "| round | server | mix | q/s | CPU µs/answer | resp. bytes | fixed q/s | avg µs | p99 µs | CPU µs/answer | RSS MiB | lost (sat / fixed) | rcode % | start s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  tail -n +2 "$results" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
  echo
  echo "Medians over the rounds; ratios of the medians (ours-signed/knot-signed, and signed/unsigned for each server):"
  echo
  awk -F'\t' -v mixes="$mixes" '
    NR > 1 { k = $2 SUBSEP $3; n[k]++; for (c = 4; c <= 11; c++) v[k, c, n[k]] = $c; have[k] = 1 }
    function median(k, c,   i, j, m, t, a) {
      m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    function row(s, mx,   k) {
      k = s SUBSEP mx; if (!(k in have)) return
      printf "| %s | %s | %.0f | %.2f | %.0f | %.1f | %.1f | %.2f | %.1f |\n", s, mx, median(k, 4), median(k, 5),
        median(k, 6), median(k, 8), median(k, 9), median(k, 10), median(k, 11)
    }
    function r(x, y,   q) {  # a ratio, with more digits when small
      if (y == 0) return "-"
      q = x / y; return sprintf(q < 0.1 ? "%.4f" : "%.2f", q)
    }
    function ratio(a, b, mx,   ka, kb) {
      ka = a SUBSEP mx; kb = b SUBSEP mx; if (!(ka in have) || !(kb in have)) return
      printf "| %s / %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", a, b, mx,
        r(median(ka, 4), median(kb, 4)), r(median(ka, 5), median(kb, 5)), r(median(ka, 6), median(kb, 6)),
        r(median(ka, 8), median(kb, 8)), r(median(ka, 9), median(kb, 9)), r(median(ka, 10), median(kb, 10)),
        r(median(ka, 11), median(kb, 11))
    }
    END {
      print "| server | mix | q/s | sat CPU µs/answer | resp. bytes | fixed avg µs | fixed p99 µs | fixed CPU µs/answer | RSS MiB |"
      print "|---|---|---|---|---|---|---|---|---|"
      nm = split(mixes, m, " ")
      for (i = 1; i <= nm; i++) { row("ours", m[i]); row("ours-signed", m[i]); row("ours-half", m[i]); row("knot", m[i]); row("knot-signed", m[i]) }
      for (i = 1; i <= nm; i++) { ratio("ours-signed", "knot-signed", m[i]); ratio("ours-half", "knot-signed", m[i]); ratio("ours", "knot", m[i]) }
      for (i = 1; i <= nm; i++) { ratio("ours-signed", "ours", m[i]); ratio("knot-signed", "knot", m[i]) }
    }' "$results"
}
trap 'load_after=$(cut -d" " -f1-3 /proc/loadavg); interrupted="round ${round-}, ${kind-}"; report; exit 143' TERM INT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bin_mtime() { date -u -r "$bin/basalt-dns" '+%H:%M:%S UTC' 2>/dev/null || echo '?'; }
bin_built=$(bin_mtime)
tree_at="$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$(dirname "$0")" diff --quiet HEAD -- dns apps core 2>/dev/null || echo ' + uncommitted changes in dns/ apps/ core/')"
for round in $(seq 1 "$rounds"); do
  for kind in $servers; do
    port=$(free_port)
    start_server "$kind" "$port"
    edns=(-e)
    case "$kind" in *-signed | ours-half) edns=(-D) ;; esac
    if [ "$round" = 1 ] && [ "${kind%-signed}" != "$kind" ]; then
      validated="$validated $kind: $(validate "$port");"
    fi
    for mix in $mixes; do
      [ "$kind" = ours-half ] && [ "$mix" != nxhalf ] && continue  # its handler is for nxhalf
      if [ "$mix" = pos ]; then
        warm=$work/pos-warm.txt sat=$work/pos.txt fixed=$work/pos.txt mix_rate=$rate rcode=NOERROR
        warm_flags=(-q 500 -n 1 -l 300)
      elif [ "$mix" = nxhalf ]; then
        warm=$work/nxh-w.txt sat=$work/nxh-s.txt fixed=$work/nxh-f.txt mix_rate=$nx_rate rcode=NXDOMAIN
        warm_flags=(-Q "$nx_rate" -l 2)
      else
        warm=$work/nx-w.txt sat=$work/nx-s.txt fixed=$work/nx-f.txt mix_rate=$nx_rate rcode=NXDOMAIN
        warm_flags=(-Q "$nx_rate" -l 2)
      fi
      # Warm-up (not measured): caches, page faults, socket buffers. For pos
      # it asks every RRset of the query file once, so online signing has
      # made (and cached) all its signatures before the measured runs.
      dnsperf_run "$port" "$warm" "$work/warm.txt" "${edns[@]}" "${warm_flags[@]}" >/dev/null
      sat_ticks=$(dnsperf_run "$port" "$sat" "$work/sat.txt" "${edns[@]}" -q 500)
      fixed_ticks=$(dnsperf_run "$port" "$fixed" "$work/fixed.txt" "${edns[@]}" -q 500 -Q "$mix_rate" -v)
      rss=$(rss_kib)
      sat_n=$(completed "$work/sat.txt")
      fixed_n=$(completed "$work/fixed.txt")
      # Only online signing keeps per-name state (cached NSEC signatures).
      if [ "$kind" = ours-signed ] && [ "$mix" = nx ] && [ $((sat_n + $(lost "$work/sat.txt"))) -gt "$nx_lines" ]; then
        looped="$looped $round/$kind"
      fi
      printf '%s\t%s\t%s\t%.0f\t%s\t%s\t%.0f\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n' "$round" "$kind" "$mix" \
        "$(qps "$work/sat.txt")" "$(per_query_us "$sat_ticks" "$sat_n")" "$(response_bytes "$work/sat.txt")" \
        "$(qps "$work/fixed.txt")" "$(avg_latency_us "$work/fixed.txt")" "$(p99_us "$work/fixed.txt")" \
        "$(per_query_us "$fixed_ticks" "$fixed_n")" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
        "$(lost "$work/sat.txt") / $(lost "$work/fixed.txt")" \
        "$(rcode_share "$work/sat.txt" "$rcode")" "$start_seconds" >>"$results"
      tail -n 1 "$results" >&2
    done
    stop_server
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

report
