// One DNSSEC signature per algorithm: what a cache miss costs the server
// (an NXDOMAIN for a new name, a first answer for an RRset).
#include <benchmark/benchmark.h>

#include "basalt/dns/dnssec/signing_key.hpp"

namespace basalt::dns {
namespace {

void BM_Sign(benchmark::State& state, Algorithm algorithm) {
  auto key = SigningKey::generate(algorithm, SigningKey::kKskFlags, 0);
  Bytes data(120, 0x5a);  // about an NSEC RRset with its RRSIG header
  for (auto _ : state) {
    data[0]++;
    benchmark::DoNotOptimize(key.sign(data));
  }
}
BENCHMARK_CAPTURE(BM_Sign, ecdsa_p256, Algorithm::kEcdsaP256Sha256);
BENCHMARK_CAPTURE(BM_Sign, ed25519, Algorithm::kEd25519);
BENCHMARK_CAPTURE(BM_Sign, rsa_sha256, Algorithm::kRsaSha256);

}  // namespace
}  // namespace basalt::dns
