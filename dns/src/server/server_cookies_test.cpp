#include "basalt/dns/server/server_cookies.hpp"

#include <gtest/gtest.h>

#include <string>

#include "basalt/core/encoding.hpp"

namespace basalt::dns {
namespace {

ServerCookies::Secret secret(std::string_view hex) {
  auto b = core::hex_decode(hex);
  ServerCookies::Secret s{};
  EXPECT_TRUE(b && b->size() == s.size()) << hex;
  if (b) std::copy_n(b->begin(), std::min(b->size(), s.size()), s.begin());
  return s;
}

core::IpAddress ip(std::string_view text) {
  return *core::IpAddress::parse(text);
}

Cookie cookie(std::string_view hex) {
  auto b = core::hex_decode(hex);
  EXPECT_TRUE(b) << hex;
  auto c = Cookie::parse(*b);
  EXPECT_TRUE(c) << hex;
  return c.value_or(Cookie{});
}

std::string made(std::string_view secret_hex, std::string_view client_hex, std::string_view address,
                 std::uint32_t timestamp) {
  Cookie c = cookie(client_hex);
  return core::hex_encode(ServerCookies::make(secret(secret_hex), std::span<const std::uint8_t, 8>(c.client),
                                              {0, 0, 0}, timestamp, ip(address)));
}

// The example exchanges of RFC 9018 Appendix A, byte for byte.
TEST(ServerCookies, MakesTheCookiesOfRfc9018AppendixA) {
  // A.1: learning a new server cookie.
  EXPECT_EQ(made("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559731985),
            "010000005cf79f111f8130c3eee29480");
  // A.2: the same client, renewed 40 minutes later.
  EXPECT_EQ(made("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559734385),
            "010000005cf7a871d4a564a1442aca77");
  // A.3: another client, renewed.
  EXPECT_EQ(made("e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203", 1559734700),
            "010000005cf7a9acf73a7810aca2381e");
  // A.4: an IPv6 client, after the secret was rolled over.
  EXPECT_EQ(made("445536bcd2513298075a5d379663c962", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8",
                 1559741961),
            "010000005cf7c609a6bb79d16625507a");
  // ... and the cookie the old secret had made for it.
  EXPECT_EQ(made("dd3bdf9344b678b185a6f5cb60fca715", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8",
                 1559741817),
            "010000005cf7c57926556bd0934c72f8");
  // An IPv4 client seen through a dual-stack socket is the same client.
  EXPECT_EQ(made("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "::ffff:198.51.100.100", 1559731985),
            "010000005cf79f111f8130c3eee29480");
}

TEST(ServerCookies, ReservedOctetsAnotherServerSetArePartOfTheHash) {
  // A.3's query: a cookie made by an implementation that sets the reserved octets.
  Cookie c = cookie("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
  ServerCookies cookies({.secret = secret("e5e973e5a6b2a43f48e7dc849e37bfcf")});
  const std::uint32_t stamp = 0x5cf78f71;
  auto r = cookies.check(c, ip("203.0.113.203"), stamp + 60);
  EXPECT_EQ(r.check, CookieCheck::kValid);
  EXPECT_EQ(core::hex_encode(r.option), "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");  // echoed
  EXPECT_EQ(cookies.check(c, ip("203.0.113.204"), stamp + 60).check, CookieCheck::kInvalid);
  // A.3 itself: 1h52m later, past the lifetime; the answer carries A.3's new cookie.
  auto late = cookies.check(c, ip("203.0.113.203"), 1559734700);
  EXPECT_EQ(late.check, CookieCheck::kInvalid);
  EXPECT_EQ(core::hex_encode(late.option), "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
}

TEST(ServerCookies, AClientCookieAloneGetsAFreshServerCookie) {
  ServerCookies cookies({.secret = secret("e5e973e5a6b2a43f48e7dc849e37bfcf")});
  auto r = cookies.check(cookie("2464c4abcf10c957"), ip("198.51.100.100"), 1559731985);
  EXPECT_EQ(r.check, CookieCheck::kClientOnly);
  EXPECT_EQ(core::hex_encode(r.option), "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
}

// RFC 9018 §4.3: valid from 5 minutes ahead of our clock to an hour old;
// renewed once older than half an hour (A.2).
TEST(ServerCookies, ServerCookiesLiveAnHourAndAreRenewedAfterHalfAnHour) {
  ServerCookies cookies({.secret = secret("e5e973e5a6b2a43f48e7dc849e37bfcf")});
  Cookie c = cookie("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  const std::uint32_t stamp = 1559731985;
  const auto client = ip("198.51.100.100");
  const std::string same = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
  auto at = [&](std::int64_t offset) {
    return cookies.check(c, client, static_cast<std::uint32_t>(stamp + offset));
  };
  EXPECT_EQ(at(0).check, CookieCheck::kValid);
  EXPECT_EQ(core::hex_encode(at(0).option), same);
  EXPECT_EQ(core::hex_encode(at(1800).option), same);
  EXPECT_EQ(at(-300).check, CookieCheck::kValid);
  EXPECT_EQ(at(-301).check, CookieCheck::kInvalid);
  EXPECT_EQ(at(3600).check, CookieCheck::kValid);
  EXPECT_EQ(at(3601).check, CookieCheck::kInvalid);
  // 40 minutes later: valid, and the answer carries A.2's renewed cookie.
  auto renewed = at(2400);
  EXPECT_EQ(renewed.check, CookieCheck::kValid);
  EXPECT_EQ(core::hex_encode(renewed.option), "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
}

TEST(ServerCookies, TamperedOrForeignCookiesAreInvalid) {
  ServerCookies cookies({.secret = secret("e5e973e5a6b2a43f48e7dc849e37bfcf")});
  const auto client = ip("198.51.100.100");
  const std::uint32_t now = 1559731985;
  for (const char* hex : {
           "2464c4abcf10c957010000005cf79f111f8130c3eee29481",          // hash
           "2464c4abcf10c957010000015cf79f111f8130c3eee29480",          // reserved
           "2464c4abcf10c957010000005cf79f121f8130c3eee29480",          // timestamp
           "2464c4abcf10c957020000005cf79f111f8130c3eee29480",          // version
           "2564c4abcf10c957010000005cf79f111f8130c3eee29480",          // client cookie
           "2464c4abcf10c957010000005cf79f11",                          // 8 octets: not RFC 9018's
           "2464c4abcf10c957010000005cf79f111f8130c3eee2948000000000",  // 24 octets
       }) {
    auto r = cookies.check(cookie(hex), client, now);
    EXPECT_EQ(r.check, CookieCheck::kInvalid) << hex;
    // The answer carries a fresh cookie for the client cookie received.
    std::string expect(hex, 16);
    expect += made("e5e973e5a6b2a43f48e7dc849e37bfcf", std::string(hex, 16), "198.51.100.100", now);
    EXPECT_EQ(core::hex_encode(r.option), expect) << hex;
  }
  ServerCookies other({.secret = secret("445536bcd2513298075a5d379663c962")});
  EXPECT_EQ(other.check(cookie("2464c4abcf10c957010000005cf79f111f8130c3eee29480"), client, now).check,
            CookieCheck::kInvalid);
}

TEST(ServerCookies, TheAgeSurvivesTheTimestampWrap) {
  ServerCookies cookies;
  const auto client = ip("192.0.2.1");
  Cookie c = cookie("0102030405060708");
  const std::uint32_t before_wrap = 0xFFFFFF00u;
  auto first = cookies.check(c, client, before_wrap);
  Cookie back = cookie(core::hex_encode(first.option));
  EXPECT_EQ(cookies.check(back, client, before_wrap + 600u).check, CookieCheck::kValid);  // wrapped
}

// A random secret rotates: the cookie a client holds stays valid across a
// rotation for its lifetime, and the answer then carries one made with the
// new secret; a secret given in the config is used as is.
TEST(ServerCookies, ARandomSecretRotatesWithoutInvalidatingCookies) {
  ServerCookies cookies({.rotate = std::chrono::hours(1)});
  EXPECT_NE(cookies.secret_for(3600 * 1000), cookies.secret_for(3600 * 1001));
  EXPECT_EQ(cookies.secret_for(3600 * 1000), cookies.secret_for(3600 * 1000 + 3599));
  const auto client = ip("2001:db8::1");
  Cookie c = cookie("0102030405060708");
  const std::uint32_t t = 3600 * 1000 + 3500;  // 100 s before a rotation
  auto first = cookies.check(c, client, t);
  EXPECT_EQ(first.check, CookieCheck::kClientOnly);
  Cookie held = cookie(core::hex_encode(first.option));
  auto same = cookies.check(held, client, t + 50);
  EXPECT_EQ(same.check, CookieCheck::kValid);
  EXPECT_EQ(same.option, first.option);
  auto after = cookies.check(held, client, t + 200);  // rotated
  EXPECT_EQ(after.check, CookieCheck::kValid);
  EXPECT_NE(after.option, first.option);
  Cookie renewed = cookie(core::hex_encode(after.option));
  EXPECT_EQ(cookies.check(renewed, client, t + 250).option, after.option);

  // Two servers with random secrets do not accept each other's cookies.
  ServerCookies other({.rotate = std::chrono::hours(1)});
  EXPECT_EQ(other.check(held, client, t + 50).check, CookieCheck::kInvalid);

  auto fixed = secret("e5e973e5a6b2a43f48e7dc849e37bfcf");
  ServerCookies configured({.secret = fixed, .rotate = std::chrono::hours(1)});
  EXPECT_EQ(configured.secret_for(0), fixed);
  EXPECT_EQ(configured.secret_for(3600 * 1000), fixed);
}

}  // namespace
}  // namespace basalt::dns
