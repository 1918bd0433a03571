#include "basalt/dns/dnssec/signing_key.hpp"

#include <gtest/gtest.h>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

Name N(std::string_view s) {
  return *Name::from_text(s);
}

// Made by `dnssec-keygen -a ECDSAP256SHA256 -f KSK example.test` (BIND 9.18).
constexpr std::string_view kBindEcdsaKey = R"(; This is a key-signing key, keyid 8406, for example.test.
; Created: 20261201203043 (Tue Dec  1 20:30:43 2026)
; Publish: 20261201203043 (Tue Dec  1 20:30:43 2026)
; Activate: 20261201203043 (Tue Dec  1 20:30:43 2026)
example.test. IN DNSKEY 257 3 13 c6gU6GhlHWux1oDWfFDvGjkTGikHo637qMxXGpFyBvvhcEv9/Uus5tKi F+dalEEM3eZmkc7UHo4BAims3Zs3Lg==
)";
constexpr std::string_view kBindEcdsaPrivate = R"(Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: +VsU9redoCL7LiLHhjduBASLRZL3D9Ww54pBEXvo4ew=
Created: 20261201203043
Publish: 20261201203043
Activate: 20261201203043
)";
// `dnssec-dsfromkey -2` of that key.
constexpr std::string_view kBindEcdsaDs =
    "8406 13 2 245D9C245D2E5934BE960352D90C0B5994446433EE8F1661CEB2BEF3467D3F4B";

// Made by `dnssec-keygen -a ED25519 example.test` (a zone-signing key).
constexpr std::string_view kBindEd25519Key =
    "example.test. IN DNSKEY 256 3 15 gt28HiRDVkSLH/Pdv1CndvMUw6iKxunBS/p75iUvpE8=\n";
constexpr std::string_view kBindEd25519Private = R"(Private-key-format: v1.3
Algorithm: 15 (ED25519)
PrivateKey: BcKHSJ5f55+gKB45+gjfusNV1tgXLb3dyiWlIGAN+DY=
Created: 20261201203043
Publish: 20261201203043
Activate: 20261201203043
)";

TEST(SigningKey, ImportsDnssecKeygenKeys) {
  auto k = SigningKey::from_bind(kBindEcdsaKey, kBindEcdsaPrivate);
  EXPECT_EQ(k.algorithm(), Algorithm::kEcdsaP256Sha256);
  EXPECT_EQ(k.key_tag(), 8406);
  EXPECT_TRUE(k.is_ksk());
  EXPECT_EQ(k.timing().activate, parse_key_time("20261201203043"));
  EXPECT_EQ(rdata_to_text(RRType::kDS, ds_rdata(N("example.test."), k.dnskey_rdata())), kBindEcdsaDs);
  EXPECT_EQ(k.file_stem(N("Example.Test.")), "Kexample.test.+013+08406");

  auto z = SigningKey::from_bind(kBindEd25519Key, kBindEd25519Private);
  EXPECT_EQ(z.algorithm(), Algorithm::kEd25519);
  EXPECT_EQ(z.key_tag(), 24573);
  EXPECT_FALSE(z.is_ksk());
  EXPECT_EQ(z.sign(core::as_bytes("data")).size(), 64u);
}

TEST(SigningKey, ImportsLdnsKeygenKeys) {
  // `ldns-keygen -a ED25519 -k example.test` (ldns 1.8): a comment after the record.
  auto k = SigningKey::from_bind(
      "example.test.\tIN\tDNSKEY\t257 3 15 ffff7EHUU8ce4NwU+q7kSUZowiE8HucEpLyubYUbmNw= ;{id = 28237 (ksk), "
      "size = 256b}\n",
      "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: "
      "XEmSwq67gzwe+94kqukmzuYT02Y7VhZ+8ciDmsn5Lpk=\n");
  EXPECT_EQ(k.key_tag(), 28237);
  // Its .ds file: "example.test. IN DS 28237 15 2 6b10242f...".
  EXPECT_EQ(rdata_to_text(RRType::kDS, ds_rdata(N("example.test."), k.dnskey_rdata())),
            "28237 15 2 6B10242F916BA09A47731BAA0437F9AFC943114A50257BBD1343D7B9970D21F4");
}

TEST(SigningKey, RefusesKeyFilesThatDoNotBelongTogether) {
  EXPECT_THROW(SigningKey::from_bind(kBindEd25519Key, kBindEcdsaPrivate), std::invalid_argument);
  EXPECT_THROW(SigningKey::from_bind("; nothing\n", kBindEcdsaPrivate), std::invalid_argument);
  std::string other(kBindEcdsaPrivate);
  other.replace(other.find("PrivateKey: +"), 13, "PrivateKey: A");
  EXPECT_THROW(SigningKey::from_bind(kBindEcdsaKey, other), std::invalid_argument);
  std::string dsa = "Private-key-format: v1.3\nAlgorithm: 3 (DSA)\n";
  try {
    SigningKey::from_bind(kBindEcdsaKey, dsa);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("Algorithm: \"3 (DSA)\""), std::string::npos) << e.what();
  }
}

class EveryAlgorithm : public ::testing::TestWithParam<Algorithm> {};

TEST_P(EveryAlgorithm, GeneratedKeysSurviveTheirBindFiles) {
  auto k = SigningKey::generate(GetParam(), SigningKey::kZskFlags, 1'800'000'000);
  auto again = SigningKey::from_bind(k.bind_key_text(N("example.test.")), k.bind_private_text());
  EXPECT_EQ(again.dnskey_rdata(), k.dnskey_rdata());
  EXPECT_EQ(again.key_tag(), k.key_tag());
  EXPECT_EQ(again.flags(), SigningKey::kZskFlags);
  EXPECT_EQ(again.timing().created, 1'800'000'000);
  auto d = rdata::DNSKEY::decode(k.dnskey_rdata());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->algorithm, static_cast<std::uint8_t>(GetParam()));
  std::size_t expected = GetParam() == Algorithm::kEd25519     ? 64
                         : GetParam() == Algorithm::kRsaSha256 ? 256
                                                               : 64;
  EXPECT_EQ(k.sign(core::as_bytes("x")).size(), expected);
}

TEST(SigningKey, EcdsaScalarsWithLeadingZerosKeepTheirLength) {
  // One key in 256 has a private scalar below 2^248; its file must still say 32 octets.
  for (int i = 0; i < 3000; ++i) {
    auto k = SigningKey::generate(Algorithm::kEcdsaP256Sha256, SigningKey::kKskFlags, 0);
    auto text = k.bind_private_text();
    auto line = text.substr(text.find("PrivateKey: ") + 12);
    auto scalar = core::base64_decode(line.substr(0, line.find('\n')));
    ASSERT_TRUE(scalar);
    ASSERT_EQ(scalar->size(), 32u);
    if ((*scalar)[0] != 0) continue;
    EXPECT_EQ(SigningKey::from_bind(k.bind_key_text(N("example.test.")), text).dnskey_rdata(),
              k.dnskey_rdata());
    return;
  }
  FAIL() << "no scalar with a leading zero octet in 3000 keys (chance: 1e-5)";
}

INSTANTIATE_TEST_SUITE_P(Algorithms, EveryAlgorithm,
                         ::testing::Values(Algorithm::kEcdsaP256Sha256, Algorithm::kEd25519,
                                           Algorithm::kRsaSha256));

TEST(SigningKey, TimingDecidesPublishedAndActive) {
  std::string text(kBindEcdsaPrivate);
  text.append("Inactive: 20270101000000\nDelete: 20270201000000\n");
  auto k = SigningKey::from_bind(kBindEcdsaKey, text);
  auto t = [](std::string_view s) { return *parse_key_time(s); };
  EXPECT_FALSE(k.published(t("20261201000000")));
  EXPECT_TRUE(k.active(t("20261215000000")));
  EXPECT_FALSE(k.active(t("20270115000000")));
  EXPECT_TRUE(k.published(t("20270115000000")));
  EXPECT_FALSE(k.published(t("20270301000000")));
}

TEST(Algorithm, AcceptsEveryNameOfAnAlgorithm) {
  for (auto s : {"ecdsa-p256", "ECDSAP256SHA256", "13", "ECDSA", "Ecdsa-P256"})
    EXPECT_EQ(parse_algorithm(s), Algorithm::kEcdsaP256Sha256) << s;
  for (auto s : {"ed25519", "ED25519", "15"}) EXPECT_EQ(parse_algorithm(s), Algorithm::kEd25519) << s;
  for (auto s : {"rsa-sha256", "RSASHA256", "8", "008"})
    EXPECT_EQ(parse_algorithm(s), Algorithm::kRsaSha256) << s;
  for (auto s : {"", "rsa", "7", "ed448", "99999999"}) EXPECT_FALSE(parse_algorithm(s)) << s;
}

TEST(KeyTime, RoundTrips) {
  EXPECT_EQ(format_key_time(0), "19700101000000");
  EXPECT_EQ(parse_key_time("20261201203043"), 1796157043);
  EXPECT_EQ(format_key_time(1796157043), "20261201203043");
  EXPECT_FALSE(parse_key_time("2026120120304"));
  EXPECT_FALSE(parse_key_time("20261301203043"));
}

}  // namespace
}  // namespace basalt::dns
