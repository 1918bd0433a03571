#include "basalt/dns/wire/rdata.hpp"

#include <gtest/gtest.h>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/base32hex.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/dns/wire/ttl.hpp"

namespace basalt::dns {
namespace {

Name N(std::string_view text) {
  return *Name::from_text(text);
}
Bytes rd(RRType type, std::string_view text) {
  std::string err;
  auto r = rdata_from_text(type, text, N("example.com."), &err);
  EXPECT_TRUE(r) << to_string(type) << " " << text << ": " << err;
  return r.value_or(Bytes{});
}
std::string hex(const Bytes& b) {
  return core::hex_encode(b);
}

TEST(Rdata, SvcbMatchesRfc9460TestVectors) {
  // RFC 9460 Appendix D.2, "A generic key and quoted value with a decimal escape".
  EXPECT_EQ(hex(rd(RRType::kSVCB, R"(1 foo.example.com. key667="hello\210qoo")")),
            "000103666f6f076578616d706c6503636f6d00029b000968656c6c6fd2716f6f");
  // "Two quoted IPv6 hints".
  EXPECT_EQ(hex(rd(RRType::kSVCB, R"(1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1")")),
            "000103666f6f076578616d706c6503636f6d000006002020010db800000000000000000000000120010db80000000000"
            "00000000530001");
  // "All the keys, in reverse order" (mandatory sorted; alpn list).
  EXPECT_EQ(hex(rd(RRType::kSVCB,
                   R"(16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1)")),
            "001003666f6f076578616d706c65036f726700000000040001000400010009026832056833"
            "2d313900040004c0000201");
  // Failure cases from Appendix D.3.
  std::string err;
  EXPECT_FALSE(rdata_from_text(RRType::kSVCB, "1 foo.example.com. key123=abc key123=def", N("."), &err));
  EXPECT_FALSE(rdata_from_text(RRType::kSVCB, "1 foo.example.com. no-default-alpn=abc", N("."), &err));
  EXPECT_FALSE(rdata_from_text(RRType::kSVCB, "1 foo.example.com. port", N("."), &err));
}

TEST(Rdata, CanonicalFormLowercasesTheRightNames) {
  Bytes mx = rd(RRType::kMX, "10 MAIL.Example.COM.");
  canonicalize_rdata(RRType::kMX, mx);
  EXPECT_EQ(rdata_to_text(RRType::kMX, mx), "10 mail.example.com.");
  Bytes rrsig = rd(RRType::kRRSIG, "A 13 2 3600 20240201000000 20240101000000 1 EXAMPLE.com. AAAA");
  canonicalize_rdata(RRType::kRRSIG, rrsig);
  EXPECT_EQ(rdata_to_text(RRType::kRRSIG, rrsig),
            "A 13 2 3600 20240201000000 20240101000000 1 example.com. AAAA");
  // RFC 6840 §5.1: NSEC next names are not lowercased.
  Bytes nsec = rd(RRType::kNSEC, "WWW.example.com. A");
  canonicalize_rdata(RRType::kNSEC, nsec);
  EXPECT_EQ(rdata_to_text(RRType::kNSEC, nsec), "WWW.example.com. A");
  Bytes txt = rd(RRType::kTXT, "\"ABC\"");
  canonicalize_rdata(RRType::kTXT, txt);
  EXPECT_EQ(rdata_to_text(RRType::kTXT, txt), "\"ABC\"");
}

TEST(Rdata, GenericFormForAnyType) {
  EXPECT_EQ(rdata_to_text(static_cast<RRType>(731), Bytes{1, 2}), "\\# 2 0102");
  EXPECT_EQ(rdata_to_text(static_cast<RRType>(731), Bytes{}), "\\# 0");
  EXPECT_EQ(rd(RRType::kA, "\\# 4 C0000201"), rd(RRType::kA, "192.0.2.1"));
  std::string err;
  EXPECT_FALSE(rdata_from_text(RRType::kA, "\\# 3 C00002", N("."), &err));
  EXPECT_EQ(err, "\\# data is not valid A RDATA");
  EXPECT_FALSE(rdata_from_text(RRType::kA, "\\# 4 C000", N("."), &err));
  EXPECT_FALSE(rdata_from_text(static_cast<RRType>(731), "abc", N("."), &err));
}

TEST(Rdata, RejectsInvalidWireRdata) {
  EXPECT_FALSE(is_valid_rdata(RRType::kA, Bytes{1, 2, 3}));
  EXPECT_FALSE(is_valid_rdata(RRType::kMX, Bytes{0, 1, 0xC0, 0}));  // no pointers in stored RDATA
  EXPECT_FALSE(is_valid_rdata(RRType::kTXT, Bytes{}));
  EXPECT_FALSE(is_valid_rdata(RRType::kTXT, Bytes{5, 'a'}));
  EXPECT_FALSE(is_valid_rdata(RRType::kNSEC, Bytes{0, 0, 0}));              // zero-length bitmap window
  EXPECT_FALSE(is_valid_rdata(RRType::kNSEC, Bytes{0, 1, 1, 0, 1, 0x40}));  // trailing zero octet
  EXPECT_FALSE(is_valid_rdata(RRType::kCAA, Bytes{0, 0}));
  EXPECT_TRUE(is_valid_rdata(static_cast<RRType>(731), Bytes{}));
}

TEST(Rdata, TimesAndTtls) {
  Bytes sig = rd(RRType::kRRSIG, "A 13 2 3600 1700000000 20231114221320 1 example.com. AAAA");
  auto r = rdata::RRSIG::decode(sig);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expiration, 1700000000u);
  EXPECT_EQ(r->inception, 1700000000u);
  EXPECT_EQ(parse_ttl("1h30m"), 5400u);
  EXPECT_EQ(parse_ttl("1W2d"), 777600u);
  EXPECT_EQ(parse_ttl("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_ttl("4294967296"));
  EXPECT_FALSE(parse_ttl("h"));
  EXPECT_FALSE(parse_ttl(""));
}

TEST(Rdata, TypedStructsRoundTrip) {
  rdata::SOA soa{N("ns1.example.com"), N("hostmaster.example.com"), 1, 2, 3, 4, 5};
  EXPECT_EQ(rdata_to_text(RRType::kSOA, soa.encode()), "ns1.example.com. hostmaster.example.com. 1 2 3 4 5");
  EXPECT_EQ(*rdata::SOA::decode(soa.encode()), soa);
  rdata::TXT txt{{std::string(300, 'a'), "b"}};
  auto back = rdata::TXT::decode(txt.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->strings.size(), 3u);
  rdata::NSEC nsec{N("b.example.com"), {{RRType::kRRSIG, RRType::kA, RRType::kNSEC, RRType::kCAA}}};
  EXPECT_EQ(rdata_to_text(RRType::kNSEC, nsec.encode()), "b.example.com. A RRSIG NSEC CAA");
  // The DNSKEY of RFC 4034 §2.3; its RRSIG example (§3.3) gives key tag 2642.
  auto key = rdata::DNSKEY::decode(rd(RRType::kDNSKEY,
                                      "256 3 5 "
                                      "AQPSKmynfzW4kyBv015MUG2DeIQ3Cbl+BBZH4b/"
                                      "0PY1kxkmvHjcZc8nokfzj31GajIQKY+"
                                      "5CptLr3buXA10hWqTkF7H6RfoRqXQeogmMHfpftf6zMv1LyBUgia7za6ZEzOJBOztyvhjL"
                                      "742iU/TpPSEDhm2SNKLijfUppn1UaNvv4w=="));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->key_tag(), 2642);
  rdata::NSEC3 n3;
  n3.iterations = 12;
  n3.salt = {0xAA, 0xBB};
  n3.next_hashed_owner = *base32hex_decode("2T7B4G4VSA5SMI47K61MV5BV1A22BOJR");
  n3.types.types = {RRType::kA};
  EXPECT_EQ(rdata_to_text(RRType::kNSEC3, n3.encode()), "1 0 12 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A");
  EXPECT_EQ(*rdata::NSEC3::decode(n3.encode()), n3);
  EXPECT_FALSE(rdata::MX::decode(Bytes{1}));
}

TEST(Base32Hex, Rfc4648Vectors) {
  auto enc = [](std::string_view s) { return base32hex_encode(core::as_bytes(s)); };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "CO");
  EXPECT_EQ(enc("fo"), "CPNG");
  EXPECT_EQ(enc("foo"), "CPNMU");
  EXPECT_EQ(enc("foob"), "CPNMUOG");
  EXPECT_EQ(enc("fooba"), "CPNMUOJ1");
  EXPECT_EQ(enc("foobar"), "CPNMUOJ1E8");
  EXPECT_EQ(base32hex_decode("cpnmuoj1e8").value(), Bytes({'f', 'o', 'o', 'b', 'a', 'r'}));
  EXPECT_FALSE(base32hex_decode("CP"));  // non-zero trailing bits
  EXPECT_FALSE(base32hex_decode("W"));
}

}  // namespace
}  // namespace basalt::dns
