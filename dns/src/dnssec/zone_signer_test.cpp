#include "basalt/dns/dnssec/zone_signer.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <thread>

#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

Name N(std::string_view s) {
  return *Name::from_text(s);
}
Bytes A(std::string_view text) {
  std::string error;
  return *rdata_from_text(RRType::kA, text, Name(), &error);
}

// An independent check of an RRSIG: rebuilds the signed data of RFC 4034
// §3.1.8.1 and verifies it with OpenSSL against the DNSKEY's public key.
bool verify(const Bytes& dnskey_rdata, const Bytes& rrsig_rdata, const Name& owner, RRType type,
            std::vector<Bytes> rdatas) {
  auto key = rdata::DNSKEY::decode(dnskey_rdata);
  auto sig = rdata::RRSIG::decode(rrsig_rdata);
  if (!key || !sig || sig->key_tag != key->key_tag() || sig->algorithm != key->algorithm) return false;
  Bytes data = sig->encode_without_signature();
  std::sort(rdatas.begin(), rdatas.end());
  Name o = owner.lowercased();
  for (const auto& rd : rdatas) {
    data.insert(data.end(), o.wire().begin(), o.wire().end());
    std::uint8_t fixed[10] = {static_cast<std::uint8_t>(static_cast<std::uint16_t>(type) >> 8),
                              static_cast<std::uint8_t>(type),
                              0,
                              1,
                              static_cast<std::uint8_t>(sig->original_ttl >> 24),
                              static_cast<std::uint8_t>(sig->original_ttl >> 16),
                              static_cast<std::uint8_t>(sig->original_ttl >> 8),
                              static_cast<std::uint8_t>(sig->original_ttl),
                              static_cast<std::uint8_t>(rd.size() >> 8),
                              static_cast<std::uint8_t>(rd.size())};
    data.insert(data.end(), fixed, fixed + 10);
    data.insert(data.end(), rd.begin(), rd.end());
  }
  EVP_PKEY* pkey = nullptr;
  Bytes der;
  const EVP_MD* md = EVP_sha256();
  const auto& pub = key->public_key;
  if (key->algorithm == 15) {
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size());
    md = nullptr;
    der = sig->signature;
  } else {
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = nullptr, *e = nullptr;
    Bytes point{4};
    if (key->algorithm == 13) {
      point.insert(point.end(), pub.begin(), pub.end());
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
      ECDSA_SIG* es = ECDSA_SIG_new();
      ECDSA_SIG_set0(es, BN_bin2bn(sig->signature.data(), 32, nullptr),
                     BN_bin2bn(sig->signature.data() + 32, 32, nullptr));
      der.resize(80);
      unsigned char* p = der.data();
      der.resize(static_cast<std::size_t>(i2d_ECDSA_SIG(es, &p)));
      ECDSA_SIG_free(es);
    } else {
      std::size_t elen = pub[0];
      e = BN_bin2bn(pub.data() + 1, static_cast<int>(elen), nullptr);
      n = BN_bin2bn(pub.data() + 1 + elen, static_cast<int>(pub.size() - 1 - elen), nullptr);
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
      der = sig->signature;
    }
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, key->algorithm == 13 ? "EC" : "RSA", nullptr);
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
  }
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  bool ok = pkey && EVP_DigestVerifyInit(mctx, nullptr, md, nullptr, pkey) == 1 &&
            EVP_DigestVerify(mctx, der.data(), der.size(), data.data(), data.size()) == 1;
  EVP_MD_CTX_free(mctx);
  EVP_PKEY_free(pkey);
  return ok;
}

class SignerPerAlgorithm : public ::testing::TestWithParam<Algorithm> {};

TEST_P(SignerPerAlgorithm, SignaturesVerifyOverTheCanonicalForm) {
  auto key = SigningKey::generate(GetParam(), SigningKey::kKskFlags, 0);
  std::int64_t now = 1'800'000'000;
  ZoneSigner signer(N("Example.Test."), {key}, {.clock = [&] { return now; }});
  std::vector<Bytes> rdatas{A("192.0.2.2"), A("192.0.2.1")};
  auto sigs = signer.sign(N("WWW.example.test."), RRType::kA, 300, rdatas);
  ASSERT_EQ(sigs->size(), 1u);
  auto rrsig = rdata::RRSIG::decode(sigs->front());
  ASSERT_TRUE(rrsig);
  EXPECT_EQ(rrsig->labels, 3);
  EXPECT_EQ(rrsig->original_ttl, 300u);
  EXPECT_EQ(rrsig->signer.to_string(), "example.test.");  // lowercase, RFC 6840 §5.1
  EXPECT_EQ(rrsig->inception, now - 3600);                // set back for clock skew
  EXPECT_EQ(rrsig->expiration, now + 14 * 86400);
  EXPECT_TRUE(verify(key.dnskey_rdata(), sigs->front(), N("www.example.test."), RRType::kA, rdatas));
  EXPECT_FALSE(
      verify(key.dnskey_rdata(), sigs->front(), N("www.example.test."), RRType::kA, {A("192.0.2.1")}));
  // The DNSKEY RRset of the apex verifies with the key itself.
  auto ksig = signer.sign(N("example.test."), RRType::kDNSKEY, 3600, signer.dnskey().rdatas);
  EXPECT_TRUE(
      verify(key.dnskey_rdata(), ksig->front(), N("example.test."), RRType::kDNSKEY, signer.dnskey().rdatas));
}

TEST_P(SignerPerAlgorithm, ThreadsSigningAtOnceAllGetValidSignatures) {
  // Workers share one key: each sign() takes its own OpenSSL context.
  auto key = SigningKey::generate(GetParam(), SigningKey::kKskFlags, 0);
  ZoneSigner signer(N("example.test."), {key});
  constexpr int kThreads = 4, kEach = 20;
  std::vector<std::vector<std::shared_ptr<const ZoneSigner::Signatures>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto owner = N("h" + std::to_string(t * kEach + i) + ".example.test.");
        got[t].push_back(signer.sign(owner, RRType::kA, 300, {{A("192.0.2.1")}}));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      auto owner = N("h" + std::to_string(t * kEach + i) + ".example.test.");
      EXPECT_TRUE(verify(key.dnskey_rdata(), got[t][i]->front(), owner, RRType::kA, {A("192.0.2.1")}))
          << owner.to_string();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SignerPerAlgorithm,
                         ::testing::Values(Algorithm::kEcdsaP256Sha256, Algorithm::kEd25519,
                                           Algorithm::kRsaSha256));

TEST(ZoneSigner, WildcardSignaturesCountLabelsWithoutTheStar) {
  auto key = SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0);
  ZoneSigner signer(N("example.test."), {key});
  auto sigs = signer.sign(N("*.apps.example.test."), RRType::kA, 60, {{A("192.0.2.9")}});
  EXPECT_EQ(rdata::RRSIG::decode(sigs->front())->labels, 3);
  EXPECT_TRUE(
      verify(key.dnskey_rdata(), sigs->front(), N("*.apps.example.test."), RRType::kA, {A("192.0.2.9")}));
}

TEST(ZoneSigner, ReusesSignaturesUntilTheyAreDueForRefresh) {
  std::int64_t now = 1'800'000'000;
  ZoneSigner signer(N("example.test."), {SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0)},
                    {.validity = std::chrono::hours(24 * 4), .clock = [&] { return now; }});
  auto first = signer.sign(N("www.example.test."), RRType::kA, 300, {{A("192.0.2.1"), A("192.0.2.2")}});
  // Same RRset in another case and order: the cached signatures.
  EXPECT_EQ(signer.sign(N("WwW.ExAmple.test."), RRType::kA, 300, {{A("192.0.2.2"), A("192.0.2.1")}}), first);
  EXPECT_NE(signer.sign(N("www.example.test."), RRType::kA, 301, {{A("192.0.2.1"), A("192.0.2.2")}}), first);
  now += 3 * 86400 - 1;  // refresh is a quarter of the validity: one day left
  EXPECT_EQ(signer.sign(N("www.example.test."), RRType::kA, 300, {{A("192.0.2.1"), A("192.0.2.2")}}), first);
  now += 1;
  auto fresh = signer.sign(N("www.example.test."), RRType::kA, 300, {{A("192.0.2.1"), A("192.0.2.2")}});
  EXPECT_NE(fresh, first);
  EXPECT_EQ(rdata::RRSIG::decode(fresh->front())->inception, now - 3600);
}

TEST(ZoneSigner, EmbeddedNamesAreSignedInLowercase) {
  auto key = SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0);
  ZoneSigner signer(N("example.test."), {key});
  std::string error;
  auto mx = [&](std::string_view text) { return *rdata_from_text(RRType::kMX, text, Name(), &error); };
  auto upper =
      signer.sign(N("example.test."), RRType::kMX, 300, {{mx("10 MAIL.Example.TEST."), mx("20 b.")}});
  // The same RRset as the lowercase one (cached), and its signature covers the lowercase form.
  EXPECT_EQ(signer.sign(N("example.test."), RRType::kMX, 300, {{mx("20 b."), mx("10 mail.example.test.")}}),
            upper);
  EXPECT_TRUE(verify(key.dnskey_rdata(), upper->front(), N("example.test."), RRType::kMX,
                     {mx("10 mail.example.test."), mx("20 b.")}));
}

TEST(ZoneSigner, KskSignsTheKeysAndZskTheRest) {
  auto ksk = SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kKskFlags, 0);
  auto zsk = SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kZskFlags, 0);
  ZoneSigner signer(N("example.test."), {ksk, zsk});
  EXPECT_EQ(signer.dnskey().rdatas.size(), 2u);
  EXPECT_EQ(signer.cdnskey().rdatas, std::vector<Bytes>{ksk.dnskey_rdata()});
  EXPECT_EQ(signer.cds().rdatas, std::vector<Bytes>{ds_rdata(N("example.test."), ksk.dnskey_rdata())});
  auto keys = signer.sign(N("example.test."), RRType::kDNSKEY, 3600, signer.dnskey().rdatas);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(rdata::RRSIG::decode(keys->front())->key_tag, ksk.key_tag());
  auto a = signer.sign(N("www.example.test."), RRType::kA, 300, {{A("192.0.2.1")}});
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ(rdata::RRSIG::decode(a->front())->key_tag, zsk.key_tag());
  EXPECT_TRUE(verify(zsk.dnskey_rdata(), a->front(), N("www.example.test."), RRType::kA, {A("192.0.2.1")}));
}

TEST(ZoneSigner, KeysArePublishedAndUsedOnlyInTheirTime) {
  std::int64_t now = 1'800'000'000;
  auto active = SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0);
  auto next = SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0);
  // A pre-published successor: in the DNSKEY RRset, not signing yet.
  auto text = next.bind_private_text();
  auto future = format_key_time(now + 86400);
  text.replace(text.find("Activate: 19700101000000"), 24, "Activate: " + future);
  auto prepublished = SigningKey::from_bind(next.bind_key_text(N("example.test.")), text);
  ZoneSigner signer(N("example.test."), {active, prepublished}, {.clock = [&] { return now; }});
  EXPECT_EQ(signer.dnskey().rdatas.size(), 2u);
  auto sigs = signer.sign(N("www.example.test."), RRType::kA, 300, {{A("192.0.2.1")}});
  ASSERT_EQ(sigs->size(), 1u);
  EXPECT_EQ(rdata::RRSIG::decode(sigs->front())->key_tag, active.key_tag());
  EXPECT_THROW(ZoneSigner(N("example.test."), {}), std::invalid_argument);
}

}  // namespace
}  // namespace basalt::dns
