#include "basalt/dns/dnssec/nsec3.hpp"

#include <gtest/gtest.h>

#include "basalt/dns/wire/base32hex.hpp"
#include "basalt/dns/wire/rdata_types.hpp"

namespace basalt::dns {
namespace {

Name N(std::string_view s) {
  return *Name::from_text(s);
}

std::string hashed(std::string_view name, const Nsec3Params& p) {
  return base32hex_encode(nsec3_hash(N(name), p), /*lowercase=*/true);
}

// RFC 5155 Appendix A: salt aabbccdd, 12 more iterations.
TEST(Nsec3, HashesAreThoseOfRfc5155AppendixA) {
  const Nsec3Params p{.iterations = 12, .salt = {0xaa, 0xbb, 0xcc, 0xdd}};
  EXPECT_EQ(hashed("example.", p), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
  EXPECT_EQ(hashed("a.example.", p), "35mthgpgcu1qg68fab165klnsnk3dpvl");
  EXPECT_EQ(hashed("ai.example.", p), "gjeqe526plbf1g8mklp59enfd789njgi");
  EXPECT_EQ(hashed("ns1.example.", p), "2t7b4g4vsa5smi47k61mv5bv1a22bojr");
  EXPECT_EQ(hashed("w.example.", p), "k8udemvp1j2f7eg6jebps17vp3n8i58h");
  EXPECT_EQ(hashed("*.w.example.", p), "r53bq7cc2uvmubfu5ocmm6pers9tk9en");
  EXPECT_EQ(hashed("x.y.w.example.", p), "2vptu5timamqttgl4luu9kg21e0aor3s");
  // Case does not change the hash (the lowercase wire form is hashed).
  EXPECT_EQ(hashed("X.Y.W.Example.", p), "2vptu5timamqttgl4luu9kg21e0aor3s");
}

TEST(Nsec3, RfcNineTwoSevenSixDefaultsHashOnce) {
  const Nsec3Params none;
  EXPECT_EQ(none.iterations, 0);
  EXPECT_TRUE(none.salt.empty());
  EXPECT_NE(nsec3_hash(N("example."), none), nsec3_hash(N("example."), {.iterations = 1, .salt = {}}));
  EXPECT_EQ(nsec3_owner(nsec3_hash(N("example."), none), N("example.")).label_count(), 2u);
}

TEST(Nsec3, NeighboursWrapAround) {
  Nsec3Hash zero{};
  Nsec3Hash ones;
  ones.fill(0xff);
  EXPECT_EQ(nsec3_predecessor(zero), ones);
  EXPECT_EQ(nsec3_successor(ones), zero);
  Nsec3Hash h{};
  h[19] = 0xff;
  Nsec3Hash next{};
  next[18] = 1;
  EXPECT_EQ(nsec3_successor(h), next);
  EXPECT_EQ(nsec3_predecessor(next), h);
}

TEST(Nsec3, RdataDecodesToWhatWasAsked) {
  const Nsec3Params p{.iterations = 0, .salt = {0x01, 0x02}};
  Nsec3Hash next{};
  next[0] = 0x42;
  auto rd = rdata::NSEC3::decode(nsec3_rdata(p, next, {RRType::kRRSIG, RRType::kA, RRType::kA}));
  ASSERT_TRUE(rd);
  EXPECT_EQ(rd->hash_algorithm, 1);
  EXPECT_EQ(rd->flags, 0);
  EXPECT_EQ(rd->salt, p.salt);
  EXPECT_EQ(rd->next_hashed_owner, Bytes(next.begin(), next.end()));
  EXPECT_EQ(rd->types.types, (std::vector<RRType>{RRType::kA, RRType::kRRSIG}));
  auto param = rdata::NSEC3PARAM::decode(nsec3param_rdata(p));
  ASSERT_TRUE(param);
  EXPECT_EQ(param->iterations, 0);
  EXPECT_EQ(param->salt, p.salt);
}

}  // namespace
}  // namespace basalt::dns
