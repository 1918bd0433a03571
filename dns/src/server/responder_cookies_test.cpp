// DNS Cookies in the Responder's answers (RFC 7873 §5.2, RFC 9018).
#include <gtest/gtest.h>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/server/responder.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

constexpr std::string_view kZone = R"(
$ORIGIN example.test.
$TTL 3600
@       IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.80
)";

const ServerCookies::Secret kSecret = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
                                       0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf};
constexpr std::string_view kClientCookie = "2464c4abcf10c957";

Name N(std::string_view s) {
  return *Name::from_text(s);
}

Bytes hex(std::string_view h) {
  return *core::hex_decode(h);
}

class ResponderCookiesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZoneParseOptions opts;
    opts.origin = N("example.test.");
    auto d = std::make_shared<ServerData>();
    d->zones.put(std::make_shared<Zone>(Zone::build(N("example.test."), parse_zone(kZone, opts))));
    d->handlers.add(std::make_shared<HandlerEntry>(
        HandlerEntry{.id = 1,
                     .glob = *core::Glob::compile("*.dyn.example.test", {.case_insensitive = true}),
                     .types = {RRType::kA},
                     .sync = [](const Query& q) {
                       std::string err;
                       return std::vector<Record>{{q.question.name, RRType::kA, RRClass::kIN, 60,
                                                   *rdata_from_text(RRType::kA, "10.0.0.1", Name(), &err)}};
                     }}));
    data_ = d;
  }

  Responder responder(bool require) {
    return Responder({.cookies = std::make_shared<const ServerCookies>(
                          ServerCookiesOptions{.secret = kSecret, .require = require})});
  }

  // A query for `name` with this COOKIE option (hex; empty: none).
  static Bytes query(std::string_view cookie, std::string_view name = "www.example.test.",
                     Opcode opcode = Opcode::kQuery, std::uint8_t version = 0) {
    Message q;
    q.header.id = 0x4242;
    q.header.opcode = opcode;
    q.questions.push_back(Question{N(name), RRType::kA, RRClass::kIN});
    q.edns = Edns{};
    q.edns->version = version;
    if (!cookie.empty())
      q.edns->options.push_back({static_cast<std::uint16_t>(EdnsOptionCode::kCookie), hex(cookie)});
    return q.to_wire();
  }

  Message answer(const Responder& r, const Bytes& q, Transport t = Transport::kUdp,
                 std::optional<core::Endpoint> from = core::Endpoint::parse("198.51.100.100:5300")) {
    Bytes out(65535);
    std::size_t size = 0;
    state_.reset(t, from);
    auto status = r.respond(q, data_, state_, out, size);
    if (status == Responder::Status::kNeedsHandlers) size = r.run_sync_handlers(state_, out);
    Message m;
    EXPECT_EQ(Message::parse(ByteSpan(out.data(), size), m), WireError::kOk);
    return m;
  }

  // The answer's COOKIE option in hex ("" if none).
  static std::string cookie_of(const Message& m) {
    if (!m.edns) return "";
    const auto* o = m.edns->find(EdnsOptionCode::kCookie);
    return o ? core::hex_encode(o->data) : "";
  }

  std::shared_ptr<const ServerData> data_;
  QueryState state_;
};

TEST_F(ResponderCookiesTest, AClientCookieGetsTheAnswerAndAServerCookie) {
  auto r = responder(false);
  auto m = answer(r, query(kClientCookie));
  EXPECT_EQ(m.rcode(), 0);
  ASSERT_EQ(m.answers.size(), 1u);
  auto cookie = cookie_of(m);
  ASSERT_EQ(cookie.size(), 48u) << cookie;
  EXPECT_EQ(cookie.substr(0, 16), kClientCookie);
  EXPECT_EQ(cookie.substr(16, 8), "01000000");  // RFC 9018 version 1, reserved 0
  EXPECT_EQ(state_.cookie_check, CookieCheck::kClientOnly);
  EXPECT_FALSE(state_.valid_server_cookie);

  // Sent back, it is valid: the same answer, the same cookie echoed.
  auto again = answer(r, query(cookie));
  EXPECT_EQ(again.rcode(), 0);
  EXPECT_EQ(again.answers.size(), 1u);
  EXPECT_EQ(cookie_of(again), cookie);
  EXPECT_EQ(state_.cookie_check, CookieCheck::kValid);
  EXPECT_TRUE(state_.valid_server_cookie);

  // From another address it is not ours: answered, with a fresh cookie.
  auto moved = answer(r, query(cookie), Transport::kUdp, core::Endpoint::parse("198.51.100.101:5300"));
  EXPECT_EQ(moved.answers.size(), 1u);
  EXPECT_FALSE(state_.valid_server_cookie);
  EXPECT_EQ(state_.cookie_check, CookieCheck::kInvalid);
  EXPECT_NE(cookie_of(moved), cookie);
}

TEST_F(ResponderCookiesTest, ACookieOlderThanHalfAnHourIsRenewed) {
  auto r = responder(false);
  Cookie c = *Cookie::parse(hex(kClientCookie));
  std::uint32_t then = ServerCookies::now() - 2400;
  auto old = ServerCookies::make(kSecret, std::span<const std::uint8_t, 8>(c.client), {0, 0, 0}, then,
                                 *core::IpAddress::parse("198.51.100.100"));
  std::string sent(kClientCookie);
  sent += core::hex_encode(old);
  auto m = answer(r, query(sent));
  EXPECT_TRUE(state_.valid_server_cookie);
  EXPECT_EQ(m.answers.size(), 1u);
  auto renewed = cookie_of(m);
  ASSERT_EQ(renewed.size(), 48u);
  EXPECT_NE(renewed, sent);
  EXPECT_EQ(renewed.substr(0, 16), kClientCookie);
}

TEST_F(ResponderCookiesTest, AnInvalidServerCookieIsAnsweredUnlessCookiesAreRequired) {
  const std::string tampered =
      "2464c4abcf10c957010000005cf79f111f8130c3eee29480";  // not made for this client
  auto lenient = responder(false);
  auto m = answer(lenient, query(tampered));
  EXPECT_EQ(m.rcode(), 0);
  EXPECT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(state_.cookie_check, CookieCheck::kInvalid);
  auto fresh = cookie_of(m);
  ASSERT_EQ(fresh.size(), 48u);
  EXPECT_NE(fresh, tampered);

  auto strict = responder(true);
  for (const std::string& sent : {tampered, std::string(kClientCookie)}) {
    auto bad = answer(strict, query(sent));
    EXPECT_EQ(bad.rcode(), static_cast<std::uint16_t>(Rcode::kBadCookie)) << sent;
    EXPECT_TRUE(bad.answers.empty());
    ASSERT_EQ(bad.questions.size(), 1u);
    auto retry_with = cookie_of(bad);
    ASSERT_EQ(retry_with.size(), 48u);
    EXPECT_EQ(retry_with.substr(0, 16), kClientCookie);
    // The retry with the cookie from BADCOOKIE is answered.
    auto retried = answer(strict, query(retry_with));
    EXPECT_EQ(retried.rcode(), 0);
    EXPECT_EQ(retried.answers.size(), 1u);
    EXPECT_TRUE(state_.valid_server_cookie);
  }
  // TCP cannot be spoofed: never required there.
  auto tcp = answer(strict, query(tampered), Transport::kTcp);
  EXPECT_EQ(tcp.rcode(), 0);
  EXPECT_EQ(tcp.answers.size(), 1u);
  EXPECT_EQ(cookie_of(tcp).size(), 48u);
  // A client that sends no cookie is not asked for one (as BIND).
  EXPECT_EQ(answer(strict, query("")).answers.size(), 1u);
}

TEST_F(ResponderCookiesTest, ErrorsAndHandlerAnswersCarryTheCookieToo) {
  auto r = responder(false);
  auto refused = answer(r, query(kClientCookie, "www.elsewhere.test."));
  EXPECT_EQ(refused.rcode(), static_cast<std::uint16_t>(Rcode::kRefused));
  EXPECT_EQ(cookie_of(refused).size(), 48u);
  auto notimp = answer(r, query(kClientCookie, "example.test.", Opcode::kUpdate));
  EXPECT_EQ(notimp.rcode(), static_cast<std::uint16_t>(Rcode::kNotImp));
  EXPECT_EQ(cookie_of(notimp).size(), 48u);
  auto badvers = answer(r, query(kClientCookie, "www.example.test.", Opcode::kQuery, 1));
  EXPECT_EQ(badvers.rcode(), static_cast<std::uint16_t>(Rcode::kBadVers));
  EXPECT_EQ(cookie_of(badvers).size(), 48u);
  auto handler = answer(r, query(kClientCookie, "x.dyn.example.test."));
  EXPECT_EQ(handler.answers.size(), 1u);
  EXPECT_EQ(cookie_of(handler).size(), 48u);
  // RFC 7873 §5.2.2: a malformed cookie is FORMERR, and nothing to echo.
  auto formerr = answer(r, query("2464c4abcf10c9"));
  EXPECT_EQ(formerr.rcode(), static_cast<std::uint16_t>(Rcode::kFormErr));
  EXPECT_EQ(cookie_of(formerr), "");
}

TEST_F(ResponderCookiesTest, WithoutAClientAddressOrWithCookiesOffTheOptionIsIgnored) {
  auto r = responder(true);
  auto manual = answer(r, query(kClientCookie), Transport::kManual, std::nullopt);
  EXPECT_EQ(manual.rcode(), 0);
  EXPECT_EQ(manual.answers.size(), 1u);
  EXPECT_EQ(cookie_of(manual), "");
  EXPECT_EQ(state_.cookie_check, CookieCheck::kNone);

  Responder off;
  auto m = answer(off, query(kClientCookie));
  EXPECT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(cookie_of(m), "");
  EXPECT_FALSE(state_.valid_server_cookie);
}

}  // namespace
}  // namespace basalt::dns
