#include "basalt/dns/wire/record_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace basalt::dns {
namespace {

namespace json = boost::json;

Bytes rd(RRType type, std::string_view text) {
  std::string err;
  auto r = rdata_from_text(type, text, Name(), &err);
  EXPECT_TRUE(r) << err;
  return r.value_or(Bytes{});
}

// Each type maps to the management protocol's `data` shape and back.
TEST(RecordJson, ManagementProtocolShapes) {
  struct Case {
    RRType type;
    std::string_view text;
    std::string_view json;
  };
  const Case cases[] = {
      {RRType::kA, "192.0.2.1", R"("192.0.2.1")"},
      {RRType::kAAAA, "2001:db8::1", R"("2001:db8::1")"},
      {RRType::kCNAME, "target.example.com.", R"("target.example.com")"},
      {RRType::kNS, "ns1.example.com.", R"("ns1.example.com")"},
      {RRType::kPTR, "host.example.com.", R"("host.example.com")"},
      {RRType::kTXT, "\"v=spf1 -all\"", R"("v=spf1 -all")"},
      {RRType::kTXT, "\"a\" \"b\"", R"(["a","b"])"},
      {RRType::kMX, "10 mail.example.com.", R"({"preference":10,"exchange":"mail.example.com"})"},
      {RRType::kSRV, "1 2 443 www.example.com.",
       R"({"priority":1,"weight":2,"port":443,"target":"www.example.com"})"},
      {RRType::kSOA, "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
       R"({"mname":"ns1.example.com","rname":"hostmaster.example.com","serial":2024010101,"refresh":7200,"retry":3600,"expire":1209600,"minimum":300})"},
      {RRType::kCAA, "0 issue \"letsencrypt.org\"", R"({"flags":0,"tag":"issue","value":"letsencrypt.org"})"},
      {RRType::kDS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
       R"({"keyTag":60485,"algorithm":5,"digestType":1,"digest":"2BB183AF5F22588179A53B0A98631FAD1A292118"})"},
      {RRType::kNSEC, "www.example.com. A RRSIG NSEC",
       R"({"nextDomain":"www.example.com","types":["A","RRSIG","NSEC"]})"},
      {RRType::kHTTPS, "1 . alpn=h2,h3 port=443",
       R"({"priority":1,"target":".","params":"alpn=h2,h3 port=443"})"},
      {static_cast<RRType>(65280), "\\# 2 ABCD", R"("\\# 2 ABCD")"},
  };
  for (const auto& c : cases) {
    Bytes wire = rd(c.type, c.text);
    json::value v = rdata_to_json(c.type, wire);
    EXPECT_EQ(json::serialize(v), c.json) << c.text;
    std::string err;
    auto back = rdata_from_json(c.type, json::parse(c.json), &err);
    ASSERT_TRUE(back) << c.json << ": " << err;
    EXPECT_EQ(*back, wire) << c.json;
  }
}

TEST(RecordJson, AcceptsPresentationStringsAndSplitsLongText) {
  std::string err;
  auto mx = rdata_from_json(RRType::kMX, json::value("5 mx.example.org."), &err);
  ASSERT_TRUE(mx) << err;
  EXPECT_EQ(rdata_to_text(RRType::kMX, *mx), "5 mx.example.org.");
  auto txt = rdata_from_json(RRType::kTXT, json::value(std::string(300, 'z')), &err);
  ASSERT_TRUE(txt) << err;
  EXPECT_EQ(txt->size(), 302u);
  // Backslashes and quotes in TXT data are octets, not escapes.
  auto raw = rdata_from_json(RRType::kTXT, json::value(R"(a\b"c)"), &err);
  ASSERT_TRUE(raw) << err;
  EXPECT_EQ(json::serialize(rdata_to_json(RRType::kTXT, *raw)), R"("a\\b\"c")");
}

TEST(RecordJson, ReportsWhatIsWrong) {
  std::string err;
  EXPECT_FALSE(rdata_from_json(RRType::kMX, json::parse(R"({"preference":10})"), &err));
  EXPECT_EQ(err, "missing field 'exchange'");
  EXPECT_FALSE(rdata_from_json(RRType::kMX, json::parse(R"({"preference":-1,"exchange":"x"})"), &err));
  EXPECT_EQ(err, "preference: must not be negative");
  EXPECT_FALSE(rdata_from_json(RRType::kMX, json::parse(R"({"preference":70000,"exchange":"x"})"), &err));
  EXPECT_EQ(err, "preference: expected 0-65535");
  EXPECT_FALSE(
      rdata_from_json(RRType::kMX, json::parse(R"({"preference":1,"exchange":"x","extra":1})"), &err));
  EXPECT_EQ(err, "unknown field 'extra' for MX");
  EXPECT_FALSE(rdata_from_json(RRType::kA, json::value("not-an-ip"), &err));
  EXPECT_FALSE(rdata_from_json(RRType::kA, json::value(5), &err));
  EXPECT_EQ(err, "address: expected a string");
}

TEST(RecordJson, WholeRecords) {
  Record r{*Name::from_text("www.example.com."), RRType::kA, RRClass::kIN, 300, rd(RRType::kA, "192.0.2.7")};
  auto o = record_to_json(r);
  EXPECT_EQ(json::serialize(o),
            R"({"name":"www.example.com","type":"A","class":"IN","ttl":300,"data":"192.0.2.7"})");
  std::string err;
  auto back = record_from_json(o, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(*back, r);
  auto defaults = record_from_json(
      json::parse(
          R"({"name":"example.com.","type":"mx","data":{"preference":1,"exchange":"mx.example.com"}})"),
      &err, 60);
  ASSERT_TRUE(defaults) << err;
  EXPECT_EQ(defaults->to_text(), "example.com. 60 IN MX 1 mx.example.com.");
  EXPECT_FALSE(record_from_json(json::parse(R"({"name":"a..b","type":"A","data":"1.2.3.4"})"), &err));
  EXPECT_EQ(err, "name: empty label");
  EXPECT_FALSE(record_from_json(json::parse(R"({"name":"a","type":"BOGUS","data":"1.2.3.4"})"), &err));
  EXPECT_EQ(err, "type: unknown type 'BOGUS'");
}

}  // namespace
}  // namespace basalt::dns
