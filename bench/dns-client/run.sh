#!/bin/sh
# dns::Client against kdig, same names, same loopback basalt-dns server.
# Usage: bench/dns-client/run.sh [BIN_DIR]   (default build/release/bin)
set -eu
BIN=${1:-build/release/bin}
PORT=${PORT:-15391}
N=${N:-20000}
"$BIN/basalt-dns" serve --listen 127.0.0.1:$PORT --zone-file examples/dns/example.test.zone 2>/dev/null &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 1
echo "== dns::Client, 1 in flight"; "$BIN/basalt-bench-dns-client" --server 127.0.0.1:$PORT --queries $N --concurrency 1
echo "== dns::Client, 64 in flight"; "$BIN/basalt-bench-dns-client" --server 127.0.0.1:$PORT --queries $N --concurrency 64 --pending 5000
# kdig: one process, N sequential queries for the same names.
ARGS=""
i=0
while [ $i -lt $((N / 3)) ]; do ARGS="$ARGS www.example.test mail.example.test ns1.example.test"; i=$((i + 1)); done
echo "== kdig, 1 in flight, $((N / 3 * 3)) queries"
START=$(date +%s.%N)
kdig @127.0.0.1 -p $PORT +retry=0 +noall +answer $ARGS > /dev/null
END=$(date +%s.%N)
echo "qps $(echo "$((N / 3 * 3)) / ($END - $START)" | bc -l | cut -d. -f1)"
