// One DNSSEC signature per algorithm: what a cache miss costs the server
// (an NXDOMAIN for a new name, a first answer for an RRset).
//
//   BM_Sign/<alg>              SigningKey::sign() returning the signature
//   BM_SignInto/<alg>          the same into a caller's buffer (no allocation)
//   BM_Sign/<alg>/threads:2    two threads signing with one key at once
//   BM_FreshContext/<alg>      what sign() did before keeping contexts: a new
//                              EVP_MD_CTX and EVP_DigestSignInit per signature
//   BM_ZoneSignerMiss/<alg>    ZoneSigner::sign() of a new white-lie NSEC
//                              (canonical form, cache key, signature, entry)
//   BM_ZoneSignerHit           ZoneSigner::sign() of an RRset already cached
//
// bench/dnssec/sign_cost.sh runs these next to `openssl speed` (the same
// signatures through OpenSSL's own loop) and prints the ratios.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <memory>

#include "basalt/dns/dnssec/signing_key.hpp"
#include "basalt/dns/dnssec/white_lies.hpp"
#include "basalt/dns/dnssec/zone_signer.hpp"

namespace basalt::dns {
namespace {

constexpr std::size_t kDataSize = 120;  // about an NSEC RRset with its RRSIG header

void BM_Sign(benchmark::State& state, Algorithm algorithm) {
  // One key for all threads of a run: thread 0 makes it before the loop's
  // start, which every thread waits for.
  static std::unique_ptr<SigningKey> shared;
  if (state.thread_index() == 0) {
    shared = std::make_unique<SigningKey>(SigningKey::generate(algorithm, SigningKey::kKskFlags, 0));
  }
  Bytes data(kDataSize, 0x5a);
  data[1] = static_cast<std::uint8_t>(state.thread_index());
  for (auto _ : state) {
    data[0]++;
    benchmark::DoNotOptimize(shared->sign(data));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Sign, ecdsa_p256, Algorithm::kEcdsaP256Sha256);
BENCHMARK_CAPTURE(BM_Sign, ed25519, Algorithm::kEd25519);
BENCHMARK_CAPTURE(BM_Sign, rsa_sha256, Algorithm::kRsaSha256);
BENCHMARK_CAPTURE(BM_Sign, ecdsa_p256, Algorithm::kEcdsaP256Sha256)->Threads(2)->UseRealTime();

void BM_SignInto(benchmark::State& state, Algorithm algorithm) {
  auto key = SigningKey::generate(algorithm, SigningKey::kKskFlags, 0);
  Bytes data(kDataSize, 0x5a);
  Bytes sig(key.signature_size());
  for (auto _ : state) {
    data[0]++;
    benchmark::DoNotOptimize(key.sign(data, sig));
  }
}
BENCHMARK_CAPTURE(BM_SignInto, ecdsa_p256, Algorithm::kEcdsaP256Sha256);
BENCHMARK_CAPTURE(BM_SignInto, ed25519, Algorithm::kEd25519);
BENCHMARK_CAPTURE(BM_SignInto, rsa_sha256, Algorithm::kRsaSha256);

void BM_FreshContext(benchmark::State& state, Algorithm algorithm) {
  EVP_PKEY* key = algorithm == Algorithm::kEcdsaP256Sha256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                  : algorithm == Algorithm::kEd25519
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  if (!key) {
    state.SkipWithError("key generation failed");
    return;
  }
  const EVP_MD* md = algorithm == Algorithm::kEd25519 ? nullptr : EVP_sha256();
  Bytes data(kDataSize, 0x5a);
  for (auto _ : state) {
    data[0]++;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size());
    Bytes sig(len);
    EVP_DigestSign(ctx, sig.data(), &len, data.data(), data.size());
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(sig);
  }
  EVP_PKEY_free(key);
}
BENCHMARK_CAPTURE(BM_FreshContext, ecdsa_p256, Algorithm::kEcdsaP256Sha256);
BENCHMARK_CAPTURE(BM_FreshContext, ed25519, Algorithm::kEd25519);
BENCHMARK_CAPTURE(BM_FreshContext, rsa_sha256, Algorithm::kRsaSha256);

void BM_ZoneSignerMiss(benchmark::State& state, Algorithm algorithm) {
  auto apex = *Name::from_text("example.test.");
  std::vector<SigningKey> keys;
  keys.push_back(SigningKey::generate(algorithm, SigningKey::kKskFlags, 0));
  ZoneSigner signer(apex, std::move(keys));
  std::uint64_t n = 0;
  for (auto _ : state) {
    // A new random-looking name each time, as a random-subdomain flood sends.
    auto name = *apex.prepend("r" + std::to_string(n++ * 2654435761u));
    std::vector<Bytes> rd{nsec_rdata(white_lie_successor(name), {RRType::kRRSIG, RRType::kNSEC})};
    benchmark::DoNotOptimize(signer.sign(*white_lie_predecessor(name), RRType::kNSEC, 300, rd));
  }
}
BENCHMARK_CAPTURE(BM_ZoneSignerMiss, ecdsa_p256, Algorithm::kEcdsaP256Sha256);
BENCHMARK_CAPTURE(BM_ZoneSignerMiss, ed25519, Algorithm::kEd25519);

// The cache hit every signed answer makes: two AAAA records asked in mixed case.
void BM_ZoneSignerHit(benchmark::State& state) {
  auto apex = *Name::from_text("example.test.");
  std::vector<SigningKey> keys;
  keys.push_back(SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kKskFlags, 0));
  ZoneSigner signer(apex, std::move(keys));
  auto owner = *Name::from_text("Host-1234.Example.TEST.");
  std::vector<Bytes> rd{Bytes(16, 0x20), Bytes(16, 0x01)};
  signer.sign(owner, RRType::kAAAA, 3600, rd);
  for (auto _ : state) benchmark::DoNotOptimize(signer.sign(owner, RRType::kAAAA, 3600, rd));
}
BENCHMARK(BM_ZoneSignerHit);

}  // namespace
}  // namespace basalt::dns
