#include "basalt/dns/server/server_cookies.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace basalt::dns {
namespace {

void put32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

ServerCookies::ServerCookies(ServerCookiesOptions options) : require_(options.require) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  if (options.secret) {
    secret_ = *options.secret;
    return;
  }
  randombytes_buf(secret_.data(), secret_.size());
  rotating_ = true;
  auto seconds = options.rotate.count();
  period_ = static_cast<std::uint32_t>(std::clamp<std::int64_t>(seconds, 1, 0xFFFFFFFF));
}

ServerCookies::ServerCookie ServerCookies::make(const Secret& secret,
                                                std::span<const std::uint8_t, 8> client_cookie,
                                                std::array<std::uint8_t, 3> reserved, std::uint32_t timestamp,
                                                const core::IpAddress& client) noexcept {
  // Hash input (RFC 9018 §4.4): client cookie | version | reserved | timestamp | client IP.
  std::array<std::uint8_t, 32> in{};
  std::copy(client_cookie.begin(), client_cookie.end(), in.begin());
  ServerCookie out{};
  out[0] = kVersion;
  std::copy(reserved.begin(), reserved.end(), out.begin() + 1);
  put32(out.data() + 4, timestamp);
  std::copy_n(out.begin(), 8, in.begin() + 8);
  core::IpAddress ip = client.unmapped();
  auto addr = ip.bytes();
  std::copy(addr.begin(), addr.end(), in.begin() + 16);
  crypto_shorthash_siphash24(out.data() + 8, in.data(), 16 + addr.size(), secret.data());
  return out;
}

ServerCookies::Secret ServerCookies::secret_for(std::uint32_t timestamp) const noexcept {
  if (!rotating_) return secret_;
  // One secret per period: SipHash-2-4 (128-bit output) of the period's
  // number, keyed with the random secret.
  std::array<std::uint8_t, 4> period{};
  put32(period.data(), timestamp / period_);
  Secret s;
  crypto_shorthash_siphashx24(s.data(), period.data(), period.size(), secret_.data());
  return s;
}

ServerCookies::Result ServerCookies::check(const Cookie& cookie, const core::IpAddress& client,
                                           std::uint32_t now) const noexcept {
  Result r;
  std::copy(cookie.client.begin(), cookie.client.end(), r.option.begin());
  std::span<const std::uint8_t, 8> client_cookie(cookie.client);
  r.check = cookie.server_size == 0 ? CookieCheck::kClientOnly : CookieCheck::kInvalid;
  if (cookie.server_size == 16 && cookie.server[0] == kVersion) {
    const std::uint8_t* sc = cookie.server.data();
    std::uint32_t stamp = get32(sc + 4);
    // Serial number arithmetic (RFC 1982): the age survives the 2106 wrap.
    auto age = static_cast<std::int32_t>(now - stamp);
    if (age <= kLifetime && age >= -kSkew) {
      auto expect = make(secret_for(stamp), client_cookie, {sc[1], sc[2], sc[3]}, stamp, client);
      if (sodium_memcmp(expect.data() + 8, sc + 8, 8) == 0) {
        r.check = CookieCheck::kValid;
        bool same_secret = !rotating_ || stamp / period_ == now / period_;
        if (age <= kRefresh && same_secret) {
          std::copy_n(sc, 16, r.option.begin() + 8);
          return r;
        }
      }
    }
  }
  auto fresh = make(secret_for(now), client_cookie, {0, 0, 0}, now, client);
  std::copy(fresh.begin(), fresh.end(), r.option.begin() + 8);
  return r;
}

std::uint32_t ServerCookies::now() noexcept {
  auto s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return static_cast<std::uint32_t>(s.count());
}

}  // namespace basalt::dns
