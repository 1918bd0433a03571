#!/usr/bin/env bash
# The cost of one DNSSEC signature: ours against OpenSSL's own loop, in one run.
#
#   ours     BM_Sign/<alg> of dns/src/dnssec/signing_key_benchmark.cpp:
#            SigningKey::sign() over 120 octets (an NSEC RRset with its RRSIG
#            header), the signature in DNSSEC's wire form, returned in a new
#            vector; also BM_SignInto (into a caller's buffer) and
#            BM_FreshContext (a new EVP_MD_CTX + EVP_DigestSignInit per
#            signature: what sign() did before it kept contexts);
#   openssl  `openssl speed -seconds S ecdsap256 ed25519 rsa2048`: EVP_PKEY_sign
#            of a ready digest (ECDSA, RSA) or EVP_DigestSign (Ed25519) with a
#            context made once — the floor for a signature on this machine.
#
# ROUNDS rounds (default 3), the two alternating within each round, both
# pinned to CPU (default 1); S = SECONDS_PER (default 5) per measurement.
# Prints a Markdown table of the medians (µs per signature) and the ratios
# ours / openssl.
#
#   bench/dnssec/sign_cost.sh [BUILD_DIR]        (default build/release)
set -euo pipefail

build=${1:-build/release}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER:-5}
cpu=${CPU:-1}
bench="$build/dns/basalt_dns_benchmark"
[[ -x "$bench" ]] || { echo "no $bench: cmake --build $build --target basalt_dns_benchmark" >&2; exit 1; }
# KEEP=DIR keeps the raw outputs there.
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT

for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: ours" >&2
  taskset -c "$cpu" "$bench" --benchmark_filter='^BM_(Sign|SignInto|FreshContext)/[a-z0-9_]+$' \
    --benchmark_min_time="$seconds" --benchmark_format=json >"$work/ours.$r.json"
  echo "round $r/$rounds: openssl speed" >&2
  taskset -c "$cpu" openssl speed -seconds "$seconds" -mr ecdsap256 ed25519 rsa2048 2>/dev/null |
    grep '^+F' >"$work/speed.$r.txt"
done

python3 - "$work" "$rounds" <<'EOF'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
ours = {}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{work}/ours.{r}.json"))["benchmarks"]:
        ours.setdefault(b["name"], []).append(b["cpu_time"] * scale[b["time_unit"]])
# openssl speed -mr: +F2:n:2048:sign/s:verify/s (RSA), +F4:n:256:... (ECDSA),
# +F6:n:253:Ed25519:sign/s:verify/s (EdDSA): sign/s is always the second last field.
tags = {"+F2": "rsa_sha256", "+F4": "ecdsa_p256", "+F6": "ed25519"}
theirs = {}
for r in range(1, rounds + 1):
    for line in open(f"{work}/speed.{r}.txt"):
        f = line.strip().split(":")
        if f[0] in tags:
            theirs.setdefault(tags[f[0]], []).append(1e6 / float(f[-2]))
med = lambda v: statistics.median(v) if v else float("nan")
print(f"Medians of {rounds} rounds, µs per signature (CPU time).\n")
print("| algorithm | openssl speed | ours: sign() | ours / openssl | sign() into a buffer | fresh context per signature (before) | before / openssl |")
print("|---|---|---|---|---|---|---|")
for alg in ("ecdsa_p256", "ed25519", "rsa_sha256"):
    o, i, f = (med(ours.get(f"{n}/{alg}", [])) for n in ("BM_Sign", "BM_SignInto", "BM_FreshContext"))
    t = med(theirs.get(alg, []))
    print(f"| {alg} | {t:.1f} | {o:.1f} | **{o / t:.2f}** | {i:.1f} | {f:.1f} | {f / t:.2f} |")
print("\nEvery round (ours BM_Sign / openssl):")
for alg in ("ecdsa_p256", "ed25519", "rsa_sha256"):
    o, t = ours.get(f"BM_Sign/{alg}", []), theirs.get(alg, [])
    print(f"- {alg}: " + ", ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(o, t)))
EOF
