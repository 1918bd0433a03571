#include "basalt/dns/wire/message.hpp"

#include <gtest/gtest.h>

#include <random>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {
namespace {

Bytes hex(std::string_view h) {
  return *core::hex_decode(h);
}
Name N(std::string_view text) {
  return *Name::from_text(text);
}
Bytes rd(RRType type, std::string_view text) {
  std::string err;
  auto r = rdata_from_text(type, text, N("example.com."), &err);
  EXPECT_TRUE(r) << err;
  return r.value_or(Bytes{});
}

// Queries captured from the real tools on loopback (dig 9.18, kdig 3.2).
constexpr std::string_view kDigDnssecCookie =
    "b3e801200001000000000001076578616d706c6503636f6d000001000100002904d000008000000c000a0008177c2984baea"
    "f59a";
constexpr std::string_view kDigMixedCaseNsid =
    "1de100200001000000000001074578416d506c4503436f4d00000f000100002904d000000000001000030000000a00087d1e"
    "d71ae9c92d4e";
constexpr std::string_view kDigNoEdns =
    "056001200001000000000000045f343433045f74637003777777076578616d706c65036f72670000410001";
constexpr std::string_view kKdigDnssecCookie =
    "9af301200001000000000001076578616d706c6503636f6d00001c0001000029100000008000000c000a000893181f3319e1"
    "401d";
constexpr std::string_view kKdigPaddingSubnet =
    "98d101200001000000000001076578616d706c65036e65740000100001000029100000000000005300030000000800070001"
    "1800c00002000c00400000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000";

TEST(MessageView, ParsesDigQueryWithDnssecAndCookie) {
  Bytes wire = hex(kDigDnssecCookie);
  MessageView v;
  ASSERT_EQ(v.parse(wire), WireError::kOk);
  EXPECT_EQ(v.header().id, 0xb3e8);
  EXPECT_FALSE(v.header().qr);
  EXPECT_TRUE(v.header().rd);
  EXPECT_TRUE(v.header().ad);
  EXPECT_EQ(v.header().qdcount, 1);
  auto q = v.question();
  EXPECT_TRUE(q.name.equals(N("example.com")));
  EXPECT_EQ(q.type, RRType::kA);
  EXPECT_EQ(q.rclass, RRClass::kIN);
  ASSERT_TRUE(v.has_edns());
  auto e = v.edns();
  EXPECT_EQ(e.udp_payload_size, 1232);
  EXPECT_TRUE(e.dnssec_ok);
  EXPECT_EQ(e.version, 0);
  bool malformed = true;
  auto cookie = e.cookie(&malformed);
  ASSERT_TRUE(cookie);
  EXPECT_FALSE(malformed);
  EXPECT_EQ(core::hex_encode(cookie->client), "177c2984baeaf59a");
  EXPECT_EQ(cookie->server_size, 0);
}

TEST(MessageView, KeepsQuestionCaseAndNsid) {
  Bytes wire = hex(kDigMixedCaseNsid);
  MessageView v;
  ASSERT_EQ(v.parse(wire), WireError::kOk);
  EXPECT_EQ(v.question().name.to_string(), "ExAmPlE.CoM.");
  EXPECT_EQ(v.question().type, RRType::kMX);
  auto nsid = v.edns().find(EdnsOptionCode::kNsid);
  ASSERT_TRUE(nsid);
  EXPECT_TRUE(nsid->empty());
  EXPECT_TRUE(v.edns().cookie());
}

TEST(MessageView, ParsesQueryWithoutEdns) {
  Bytes wire = hex(kDigNoEdns);
  MessageView v;
  ASSERT_EQ(v.parse(wire), WireError::kOk);
  EXPECT_FALSE(v.has_edns());
  EXPECT_TRUE(v.header().rd);
  EXPECT_EQ(v.question().name.to_string(), "_443._tcp.www.example.org.");
  EXPECT_EQ(v.question().type, RRType::kHTTPS);
}

TEST(MessageView, ParsesKdigQueries) {
  MessageView v;
  Bytes a = hex(kKdigDnssecCookie);
  ASSERT_EQ(v.parse(a), WireError::kOk);
  EXPECT_EQ(v.question().type, RRType::kAAAA);
  EXPECT_EQ(v.edns().udp_payload_size, 4096);
  EXPECT_TRUE(v.edns().dnssec_ok);
  EXPECT_TRUE(v.edns().cookie());

  Bytes b = hex(kKdigPaddingSubnet);
  ASSERT_EQ(v.parse(b), WireError::kOk);
  EXPECT_EQ(v.question().type, RRType::kTXT);
  auto edns = v.edns().to_edns();
  ASSERT_EQ(edns.options.size(), 3u);
  EXPECT_EQ(edns.options[0].code, 3);  // NSID
  ASSERT_TRUE(edns.find(EdnsOptionCode::kClientSubnet));
  EXPECT_EQ(core::hex_encode(edns.find(EdnsOptionCode::kClientSubnet)->data), "00011800c00002");
  EXPECT_EQ(edns.find(EdnsOptionCode::kPadding)->data.size(), 64u);
  // Whole message round-trips byte for byte (no names to compress differently).
  Message m;
  ASSERT_EQ(Message::parse(b, m), WireError::kOk);
  EXPECT_EQ(m.to_wire(), b);
}

TEST(MessageView, CapturedQueriesRoundTripExactly) {
  for (auto h : {kDigDnssecCookie, kDigMixedCaseNsid, kDigNoEdns, kKdigDnssecCookie, kKdigPaddingSubnet}) {
    Bytes wire = hex(h);
    Message m;
    ASSERT_EQ(Message::parse(wire, m), WireError::kOk);
    EXPECT_EQ(m.to_wire(), wire) << h;
  }
}

TEST(MessageView, RejectsMalformedMessages) {
  MessageView v;
  Bytes q = hex(kDigNoEdns);
  EXPECT_EQ(v.parse(ByteSpan(q.data(), 11)), WireError::kTruncated);
  EXPECT_EQ(v.parse(ByteSpan(q.data(), q.size() - 1)), WireError::kTruncated);
  Bytes trailing = q;
  trailing.push_back(0);
  EXPECT_EQ(v.parse(trailing), WireError::kTrailingData);
  EXPECT_EQ(v.header().id, 0x0560);  // header still readable for a FORMERR reply

  Message m;
  m.header.id = 1;
  m.questions.push_back({N("example.com"), RRType::kA, RRClass::kIN});
  m.edns.emplace();
  Bytes two_opts = m.to_wire();
  // Append a second OPT and bump ARCOUNT.
  Bytes opt = {0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0};
  two_opts.insert(two_opts.end(), opt.begin(), opt.end());
  two_opts[11] = 2;
  EXPECT_EQ(v.parse(two_opts), WireError::kDuplicateOpt);

  // OPT in the answer section.
  Bytes opt_in_answer = q;
  opt_in_answer.insert(opt_in_answer.end(), opt.begin(), opt.end());
  opt_in_answer[7] = 1;
  EXPECT_EQ(v.parse(opt_in_answer), WireError::kBadOpt);

  // RDLENGTH past the end.
  Bytes bad_len = q;
  Bytes rr = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4};
  bad_len.insert(bad_len.end(), rr.begin(), rr.end());
  bad_len[7] = 1;
  EXPECT_EQ(v.parse(bad_len), WireError::kTruncated);
  // A record with 5 octets of RDATA is not a valid A record.
  bad_len.push_back(5);
  EXPECT_EQ(v.parse(bad_len), WireError::kRdataLength);
}

TEST(MessageWriter, CompressesAndEchoesQuestionCase) {
  std::array<std::uint8_t, 512> buf;
  MessageWriter w(buf);
  w.header().id = 7;
  w.header().qr = true;
  w.header().aa = true;
  Name qname = N("WwW.ExAmPlE.CoM");
  ASSERT_TRUE(w.add_question(qname, RRType::kMX, RRClass::kIN));
  // The zone spells the owner in lowercase: the answer must still echo the question's case.
  ASSERT_TRUE(w.add_record(Section::kAnswer, N("www.example.com"), RRType::kMX, RRClass::kIN, 300,
                           rd(RRType::kMX, "10 mail.example.com.")));
  ASSERT_TRUE(w.add_record(Section::kAdditional, N("mail.example.com"), RRType::kA, RRClass::kIN, 300,
                           rd(RRType::kA, "192.0.2.1")));
  std::size_t n = w.finish();
  // 12 header + 17 qname + 4 + (2 ptr + 10 + 2 pref + 18 "mail.example.com") + (2 ptr + 10 + 4)
  EXPECT_EQ(n, 12u + 17 + 4 + 2 + 10 + 2 + 18 + 2 + 10 + 4);
  MessageView v;
  ASSERT_EQ(v.parse(ByteSpan(buf.data(), n)), WireError::kOk);
  auto ans = *v.answers().begin();
  EXPECT_EQ(ans.owner.to_name().to_string(), "WwW.ExAmPlE.CoM.");
  Bytes rdata;
  ans.uncompressed_rdata(rdata);
  // RDATA names keep their own case (compressed only against identical octets).
  EXPECT_EQ(rdata_to_text(RRType::kMX, rdata), "10 mail.example.com.");
  auto add = *v.additional().begin();
  EXPECT_EQ(add.owner.to_string(), "mail.example.com.");
}

TEST(MessageWriter, TruncatesCleanlyAndKeepsOpt) {
  std::array<std::uint8_t, 4096> buf;
  MessageWriter w(buf, 512);
  w.header().qr = true;
  ASSERT_TRUE(w.set_edns(1232, 0, true));
  ASSERT_TRUE(w.add_question(N("big.example.com"), RRType::kTXT, RRClass::kIN));
  Bytes txt = rd(RRType::kTXT, std::string(200, 'x'));
  int written = 0;
  while (w.add_record(Section::kAnswer, N("big.example.com"), RRType::kTXT, RRClass::kIN, 60, txt)) ++written;
  EXPECT_TRUE(w.truncated());
  EXPECT_GT(written, 0);
  EXPECT_FALSE(w.add_record(Section::kAdditional, N("x.example.com"), RRType::kA, RRClass::kIN, 60,
                            rd(RRType::kA, "192.0.2.1")));
  std::size_t n = w.finish();
  EXPECT_LE(n, 512u);
  MessageView v;
  ASSERT_EQ(v.parse(ByteSpan(buf.data(), n)), WireError::kOk);
  EXPECT_TRUE(v.header().tc);
  EXPECT_EQ(v.header().ancount, written);
  ASSERT_TRUE(v.has_edns());
  EXPECT_TRUE(v.edns().dnssec_ok);
}

TEST(MessageWriter, AdditionalOverflowDoesNotSetTc) {
  std::array<std::uint8_t, 512> buf;
  MessageWriter w(buf, 100);
  ASSERT_TRUE(w.add_question(N("example.com"), RRType::kA, RRClass::kIN));
  ASSERT_TRUE(w.add_record(Section::kAnswer, N("example.com"), RRType::kA, RRClass::kIN, 60,
                           rd(RRType::kA, "192.0.2.1")));
  EXPECT_FALSE(w.add_record(Section::kAdditional, N("example.com"), RRType::kTXT, RRClass::kIN, 60,
                            rd(RRType::kTXT, std::string(100, 'y'))));
  EXPECT_FALSE(w.truncated());
  EXPECT_TRUE(w.add_record(Section::kAdditional, N("example.com"), RRType::kA, RRClass::kIN, 60,
                           rd(RRType::kA, "192.0.2.2")));
  std::size_t n = w.finish();
  MessageView v;
  ASSERT_EQ(v.parse(ByteSpan(buf.data(), n)), WireError::kOk);
  EXPECT_EQ(v.header().arcount, 1);
}

TEST(MessageWriter, RollbackDropsAWholeRRset) {
  std::array<std::uint8_t, 512> buf;
  MessageWriter w(buf);
  ASSERT_TRUE(w.add_question(N("example.com"), RRType::kA, RRClass::kIN));
  auto cp = w.checkpoint();
  ASSERT_TRUE(w.add_record(Section::kAnswer, N("other.example.net"), RRType::kA, RRClass::kIN, 60,
                           rd(RRType::kA, "192.0.2.1")));
  w.rollback(cp);
  ASSERT_TRUE(w.add_record(Section::kAnswer, N("example.net"), RRType::kA, RRClass::kIN, 60,
                           rd(RRType::kA, "192.0.2.1")));
  std::size_t n = w.finish();
  Message m;
  ASSERT_EQ(Message::parse(ByteSpan(buf.data(), n), m), WireError::kOk);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].owner.to_string(), "example.net.");
}

TEST(MessageWriter, ExtendedRcodeGoesToOpt) {
  Message m;
  m.header.qr = true;
  m.edns.emplace();
  m.set_rcode(static_cast<std::uint16_t>(Rcode::kBadVers));
  Bytes wire = m.to_wire();
  MessageView v;
  ASSERT_EQ(v.parse(wire), WireError::kOk);
  EXPECT_EQ(v.header().rcode, 0);
  EXPECT_EQ(v.edns().extended_rcode, 1);
  EXPECT_EQ(v.rcode(), static_cast<std::uint16_t>(Rcode::kBadVers));
}

TEST(MessageWriter, TooSmallBufferWritesNothing) {
  std::array<std::uint8_t, 8> buf;
  MessageWriter w(buf);
  EXPECT_FALSE(w.add_question(N("example.com"), RRType::kA, RRClass::kIN));
  EXPECT_EQ(w.finish(), 0u);
}

// A generated message of random records of many types survives
// write -> parse -> write -> parse unchanged (and the two wires are equal).
TEST(Message, RoundTripProperty) {
  const std::vector<std::pair<RRType, std::string>> samples = {
      {RRType::kA, "192.0.2.1"},
      {RRType::kAAAA, "2001:db8::1"},
      {RRType::kNS, "ns1.example.com."},
      {RRType::kCNAME, "Target.Example.com."},
      {RRType::kDNAME, "example.net."},
      {RRType::kSOA, "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
      {RRType::kPTR, "host.example.com."},
      {RRType::kMX, "10 mail.example.com."},
      {RRType::kTXT, "\"hello world\" \"second\""},
      {RRType::kSRV, "0 5 443 www.example.com."},
      {RRType::kCAA, "0 issue \"letsencrypt.org\""},
      {RRType::kDS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
      {RRType::kDNSKEY,
       "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="},
      {RRType::kRRSIG, "A 13 2 3600 20240201000000 20240101000000 12345 example.com. AAECAwQ="},
      {RRType::kNSEC, "www.example.com. A AAAA RRSIG NSEC"},
      {RRType::kNSEC3, "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"},
      {RRType::kNSEC3PARAM, "1 0 0 AABBCCDD"},
      {RRType::kHTTPS, "1 . alpn=h2,h3 ipv4hint=192.0.2.1"},
      {RRType::kTLSA, "3 1 1 0123456789ABCDEF"},
      {RRType::kSSHFP, "4 2 0123456789ABCDEF"},
      {RRType::kHINFO, "\"PC\" \"Linux\""},
      {static_cast<RRType>(65280), "\\# 3 010203"},
  };
  const std::vector<std::string> owners = {"example.com.", "www.example.com.", "Mail.Example.COM.",
                                           "a.b.c.example.net.", "."};
  std::mt19937 rng(42);
  for (int iter = 0; iter < 300; ++iter) {
    Message m;
    m.header.id = static_cast<std::uint16_t>(rng());
    m.header.qr = rng() & 1;
    m.header.aa = rng() & 1;
    m.header.rd = rng() & 1;
    m.questions.push_back(
        {N(owners[rng() % owners.size()]), samples[rng() % samples.size()].first, RRClass::kIN});
    std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
    for (auto* s : sections) {
      int n = static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) {
        const auto& [type, text] = samples[rng() % samples.size()];
        s->push_back({N(owners[rng() % owners.size()]), type, RRClass::kIN, static_cast<std::uint32_t>(rng()),
                      rd(type, text)});
      }
    }
    if (rng() & 1) {
      m.edns.emplace();
      m.edns->dnssec_ok = rng() & 1;
      m.edns->options.push_back({10, Bytes(8, 0xAB)});
    }
    Bytes wire = m.to_wire();
    Message back;
    ASSERT_EQ(Message::parse(wire, back), WireError::kOk) << m.to_text();
    back.header.qdcount = back.header.ancount = back.header.nscount = back.header.arcount = 0;
    // Compare with exact case too.
    ASSERT_EQ(back, m) << m.to_text() << "\n---\n" << back.to_text();
    EXPECT_EQ(back.to_wire(), wire);
  }
}

}  // namespace
}  // namespace basalt::dns

namespace basalt::dns {
namespace {

TEST(Edns, CookieLengthsFollowRfc7873) {
  for (std::size_t len : {8u, 16u, 24u, 40u}) EXPECT_TRUE(Cookie::parse(Bytes(len, 1))) << len;
  for (std::size_t len : {0u, 7u, 9u, 15u, 41u}) EXPECT_FALSE(Cookie::parse(Bytes(len, 1))) << len;
  auto c = Cookie::parse(Bytes(24, 7));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server_cookie().size(), 16u);
  Bytes back;
  c->append_to(back);
  EXPECT_EQ(back, Bytes(24, 7));
}

TEST(Edns, MalformedCookieIsReported) {
  Message m;
  m.questions.push_back({*Name::from_text("example.com"), RRType::kA, RRClass::kIN});
  m.edns.emplace();
  m.edns->options.push_back({10, Bytes(9, 1)});
  Bytes wire = m.to_wire();
  MessageView v;
  ASSERT_EQ(v.parse(wire), WireError::kOk);
  bool malformed = false;
  EXPECT_FALSE(v.edns().cookie(&malformed));
  EXPECT_TRUE(malformed);
}

TEST(Edns, UnknownOptionsFlagsAndVersionPassThrough) {
  Message m;
  m.edns.emplace();
  m.edns->udp_payload_size = 4096;
  m.edns->version = 1;  // a server answers BADVERS to this
  m.edns->z = 0x1234;
  m.edns->dnssec_ok = true;
  m.edns->options.push_back({65001, Bytes{1, 2, 3}});
  m.edns->options.push_back({12, Bytes(5, 0)});
  Bytes wire = m.to_wire();
  Message back;
  ASSERT_EQ(Message::parse(wire, back), WireError::kOk);
  EXPECT_EQ(back.edns, m.edns);
  MessageView v;
  ASSERT_EQ(v.parse(wire), WireError::kOk);
  EXPECT_EQ(v.edns().version, 1);
  EXPECT_EQ(v.edns().z, 0x1234);
  auto opt = v.edns().find(static_cast<EdnsOptionCode>(65001));
  ASSERT_TRUE(opt);
  EXPECT_EQ(Bytes(opt->begin(), opt->end()), (Bytes{1, 2, 3}));
}

TEST(Edns, MalformedOptionListIsFormErr) {
  // OPT with RDLENGTH 3: a truncated option header.
  Bytes wire = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 3, 0, 10, 0};
  MessageView v;
  EXPECT_EQ(v.parse(wire), WireError::kBadOpt);
}

TEST(Message, TextDumpIsReadable) {
  Message m;
  m.header.qr = true;
  m.header.aa = true;
  m.questions.push_back({*Name::from_text("example.com"), RRType::kMX, RRClass::kIN});
  m.answers.push_back({*Name::from_text("example.com"), RRType::kMX, RRClass::kIN, 60,
                       *rdata_from_text(RRType::kMX, "10 mx.example.com.", Name(), nullptr)});
  std::string text = m.to_text();
  EXPECT_NE(text.find("flags: qr aa"), std::string::npos) << text;
  EXPECT_NE(text.find("example.com. 60 IN MX 10 mx.example.com."), std::string::npos) << text;
}

}  // namespace
}  // namespace basalt::dns

namespace basalt::dns {
namespace {

TEST(MessageWriter, SetEdnsKeepsAHeaderRcodeSetDirectly) {
  std::array<std::uint8_t, 512> buf;
  MessageWriter w(buf);
  w.header().rcode = static_cast<std::uint8_t>(Rcode::kNXDomain);
  Edns e;
  ASSERT_TRUE(w.set_edns(e));
  std::size_t n = w.finish();
  MessageView v;
  ASSERT_EQ(v.parse(ByteSpan(buf.data(), n)), WireError::kOk);
  EXPECT_EQ(v.rcode(), static_cast<std::uint16_t>(Rcode::kNXDomain));
}

}  // namespace
}  // namespace basalt::dns

namespace basalt::dns {
namespace {

// An answer's COOKIE option (RFC 7873 §4) is written with the OPT record:
// it is there even when the answer is truncated, and BADCOOKIE (23) puts
// its upper bits in the OPT record.
TEST(MessageWriter, WritesACookieOptionAndBadcookie) {
  Bytes option = hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  std::array<std::uint8_t, 4096> buf;
  MessageWriter w(buf, 512);
  w.header().qr = true;
  EdnsOptionRef cookie{static_cast<std::uint16_t>(EdnsOptionCode::kCookie), option};
  ASSERT_TRUE(w.set_edns(1232, 0, false, std::span<const EdnsOptionRef>(&cookie, 1)));
  ASSERT_TRUE(w.add_question(N("big.example.com"), RRType::kTXT, RRClass::kIN));
  Bytes txt = rd(RRType::kTXT, std::string(200, 'x'));
  while (w.add_record(Section::kAnswer, N("big.example.com"), RRType::kTXT, RRClass::kIN, 60, txt)) {
  }
  w.set_rcode(static_cast<std::uint16_t>(Rcode::kBadCookie));
  std::size_t n = w.finish();
  EXPECT_LE(n, 512u);
  MessageView v;
  ASSERT_EQ(v.parse(ByteSpan(buf.data(), n)), WireError::kOk);
  EXPECT_TRUE(v.header().tc);
  EXPECT_EQ(v.rcode(), static_cast<std::uint16_t>(Rcode::kBadCookie));
  bool malformed = false;
  auto c = v.edns().cookie(&malformed);
  ASSERT_TRUE(c);
  EXPECT_FALSE(malformed);
  Bytes back;
  c->append_to(back);
  EXPECT_EQ(back, option);
  Message m;
  ASSERT_EQ(Message::parse(ByteSpan(buf.data(), n), m), WireError::kOk);
  ASSERT_TRUE(m.edns);
  EXPECT_EQ(m.edns->find(EdnsOptionCode::kCookie)->data, option);
  EXPECT_EQ(m.to_text().find("BADCOOKIE") != std::string::npos, true) << m.to_text();
}

}  // namespace
}  // namespace basalt::dns
