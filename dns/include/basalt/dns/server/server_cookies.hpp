// DNS Cookies for an authoritative server (RFC 7873), with the interoperable
// server cookies of RFC 9018: version 1, three reserved octets, a 32-bit
// timestamp and SipHash-2-4 over the client cookie, those fields and the
// client's address, keyed with a 16-octet secret.
//
// The secret is either given (the same on every server of an anycast
// address, used as is, so BIND, Knot or PowerDNS configured with it accept
// our cookies and we theirs) or random at start and rotated: the secret
// that makes a cookie is derived from the random one and the period of its
// timestamp (one every `rotate`), so a cookie made just before a rotation
// stays valid for its whole lifetime and checking needs no lock or timer.
// A server cookie is valid for an hour (not more than 5 minutes ahead of
// our clock, RFC 9018 §4.3); one older than half an hour, or made before
// the last rotation, is replaced by a fresh one in the answer.
//
// Immutable once built and thread-safe; check() allocates nothing. Wiring
// into answers: Responder (responder.hpp), config: CookiesConfig
// (server_config.hpp), docs/dns.md, "Cookies".
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "basalt/core/ip.hpp"
#include "basalt/dns/wire/edns.hpp"

namespace basalt::dns {

// What a query's COOKIE option turned out to be (for QueryState and metrics).
enum class CookieCheck : std::uint8_t {
  kNone,        // no COOKIE option, or cookies are off
  kClientOnly,  // a client cookie alone (the client's first query)
  kValid,       // with a server cookie we made for this client and still accept
  kInvalid,     // with a server cookie we did not make, made for another address, or too old
};

struct ServerCookiesOptions {
  // Absent: random at start, rotated every `rotate`.
  std::optional<std::array<std::uint8_t, 16>> secret;
  std::chrono::seconds rotate{std::chrono::hours(26)};
  // BADCOOKIE (and no answer) for UDP queries with a cookie but no valid server cookie.
  bool require = false;
};

class ServerCookies {
 public:
  using Secret = std::array<std::uint8_t, 16>;
  using ServerCookie = std::array<std::uint8_t, 16>;
  static constexpr std::uint8_t kVersion = 1;
  static constexpr std::int64_t kLifetime = 3600;  // seconds a server cookie is valid
  static constexpr std::int64_t kRefresh = 1800;   // seconds after which a fresh one is sent
  static constexpr std::int64_t kSkew = 300;       // seconds a timestamp may be ahead of our clock

  explicit ServerCookies(ServerCookiesOptions options = {});

  // The RFC 9018 version 1 server cookie for `client_cookie` from `client`
  // (an IPv4-mapped address counts as IPv4).
  static ServerCookie make(const Secret& secret, std::span<const std::uint8_t, 8> client_cookie,
                           std::array<std::uint8_t, 3> reserved, std::uint32_t timestamp,
                           const core::IpAddress& client) noexcept;

  struct Result {
    CookieCheck check = CookieCheck::kNone;
    // The answer's COOKIE option: the client cookie and our server cookie
    // (the one received when still fresh, else a new one).
    std::array<std::uint8_t, 24> option{};
  };
  // Checks a query's cookie option from `client` at `now` (seconds since
  // 1970, modulo 2^32, as the timestamp).
  Result check(const Cookie& cookie, const core::IpAddress& client, std::uint32_t now) const noexcept;

  bool require() const noexcept { return require_; }
  // The secret that makes and checks cookies stamped `timestamp`.
  Secret secret_for(std::uint32_t timestamp) const noexcept;
  // Seconds since 1970 (the system clock), modulo 2^32.
  static std::uint32_t now() noexcept;

 private:
  Secret secret_{};
  bool rotating_ = false;
  std::uint32_t period_ = 0;  // seconds, when rotating
  bool require_ = false;
};

}  // namespace basalt::dns
