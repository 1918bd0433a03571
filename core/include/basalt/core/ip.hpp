// IP addresses, CIDR prefixes and address:port endpoints.
//
// Use these for listen addresses, upstreams and ACLs in configs, and for the
// client addresses the data plane sees. Parsing accepts numeric addresses
// only (host names are never resolved), never throws, and optionally writes
// the reason for a failure into `error` in a form that reads after the quoted
// input, e.g. `"127.0.0.1:70000" has no valid port (1-65535)`. IPv6 text
// output is the RFC 5952 canonical form. An IPv4 address and its
// IPv4-mapped IPv6 form (`::ffff:192.0.2.1`, what a dual-stack socket reports
// for an IPv4 client) are distinct values but match the same CIDR prefixes.
// All types are small regular values: copyable, comparable, hashable and
// thread-compatible.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace basalt::core {

class IpAddress {
 public:
  enum class Family : std::uint8_t { kV4, kV6 };

  // 0.0.0.0
  constexpr IpAddress() = default;

  static IpAddress v4(std::array<std::uint8_t, 4> bytes) noexcept;
  // `host_order` as in 0x7f000001 for 127.0.0.1.
  static IpAddress v4(std::uint32_t host_order) noexcept;
  static IpAddress v6(std::array<std::uint8_t, 16> bytes, std::uint32_t scope_id = 0) noexcept;
  static IpAddress v4_loopback() noexcept { return v4(0x7f000001u); }
  static IpAddress v6_loopback() noexcept;
  static IpAddress v4_any() noexcept { return {}; }
  static IpAddress v6_any() noexcept { return v6({}); }

  // Parses dotted-quad IPv4 (exactly four decimal parts, no leading zeros)
  // or IPv6 text (RFC 4291 §2.2, including a trailing dotted quad and a
  // `%scope` suffix that is a number or an interface name). Surrounding
  // whitespace and brackets are not accepted. On failure returns nullopt and
  // sets `error` to "is not an IP address" (or a more specific reason).
  static std::optional<IpAddress> parse(std::string_view text, std::string* error = nullptr) noexcept;

  Family family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == Family::kV4; }
  bool is_v6() const noexcept { return family_ == Family::kV6; }
  // 4 or 16 bytes, network order. Valid while this object lives.
  std::span<const std::uint8_t> bytes() const noexcept { return {bytes_.data(), is_v4() ? 4u : 16u}; }
  // IPv4 only: the address as a host-order integer.
  std::uint32_t v4_value() const noexcept;
  // IPv6 only: the zone (interface index) from `%scope`, 0 if none.
  std::uint32_t scope_id() const noexcept { return scope_id_; }

  bool is_v4_mapped() const noexcept;
  // ::ffff:a.b.c.d -> a.b.c.d; any other address unchanged.
  IpAddress unmapped() const noexcept;
  // a.b.c.d -> ::ffff:a.b.c.d; IPv6 addresses unchanged.
  IpAddress to_v6() const noexcept;

  bool is_unspecified() const noexcept;
  bool is_loopback() const noexcept;  // 127.0.0.0/8, ::1 (and mapped 127/8)
  bool is_multicast() const noexcept;
  bool is_link_local() const noexcept;  // 169.254.0.0/16, fe80::/10

  // Dotted quad, or RFC 5952 text: lowercase, no leading zeros, the longest
  // run of two or more zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d,
  // and a numeric %scope suffix when scope_id() is set.
  std::string to_string() const;
  // The same text without the scope, written into `out` without allocating
  // (for hot paths that match address text, such as IP globs).
  using TextBuffer = std::array<char, 48>;
  std::string_view format(TextBuffer& out) const noexcept;

  friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;
  friend constexpr bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::kV4;
  std::array<std::uint8_t, 16> bytes_{};  // IPv4 uses the first 4
  std::uint32_t scope_id_ = 0;
};

// A network prefix such as 10.0.0.0/8 or 2001:db8::/32.
class Cidr {
 public:
  // 0.0.0.0/0
  Cidr() = default;
  // Clears host bits of `address`; `prefix_length` is clamped to 32 / 128.
  Cidr(IpAddress address, int prefix_length) noexcept;

  // Parses "addr/len" or a bare address (meaning /32 or /128). The prefix
  // length is decimal without sign or leading zeros. Host bits set below the
  // prefix ("10.1.2.3/8") are an error unless `allow_host_bits`, because they
  // usually mean a typo; the error names the intended network:
  // `has host bits set (did you mean 10.0.0.0/8?)`. Other reasons: "is not
  // an IP address", "has no valid prefix length (0-32)". A scope id is
  // rejected. Never throws.
  static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr,
                                   bool allow_host_bits = false) noexcept;

  // The network address (host bits zero).
  const IpAddress& address() const noexcept { return address_; }
  int prefix_length() const noexcept { return prefix_; }
  IpAddress::Family family() const noexcept { return address_.family(); }

  // True if `addr` lies in this prefix. An IPv4-mapped IPv6 address matches
  // IPv4 prefixes, and an IPv4 address matches IPv6 prefixes that contain
  // its mapped form (::ffff:0:0/96, ::/0). Scope ids are ignored.
  bool contains(const IpAddress& addr) const noexcept;

  // "10.0.0.0/8", "2001:db8::/32"; always with the length.
  std::string to_string() const;

  friend auto operator<=>(const Cidr&, const Cidr&) = default;
  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  IpAddress address_;
  int prefix_ = 0;
};

struct EndpointParseOptions {
  // Used when the text has no port ("127.0.0.1", "::1", "[::1]").
  std::optional<std::uint16_t> default_port;
  // Accept port 0 (bind to an ephemeral port).
  bool allow_port_zero = false;
};

// An IP address and a port.
struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  // Parses "192.0.2.1:53" or "[2001:db8::1]:53" (IPv6 must be bracketed when
  // a port follows); without a port, "192.0.2.1", "::1" and "[::1]" take
  // options.default_port. Reasons on failure: "is not an IP address",
  // "has no valid port (1-65535)" (or 0-65535 with allow_port_zero),
  // "has no port" (for an unbracketed IPv6 address: "has no port (write
  // IPv6 with a port as [address]:port)"). Never throws.
  static std::optional<Endpoint> parse(std::string_view text, std::string* error = nullptr,
                                       EndpointParseOptions options = {}) noexcept;

  // From a sockaddr_in / sockaddr_in6 (e.g. recvfrom's peer). nullopt for
  // other families or a too-short length. Mapped addresses stay IPv6; use
  // unmapped() to fold them.
  static std::optional<Endpoint> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;
  static std::optional<Endpoint> from_sockaddr(const sockaddr_storage& ss) noexcept {
    return from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), sizeof ss);
  }
  // Fills `out` with a sockaddr_in or sockaddr_in6 and returns its length.
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;

  Endpoint unmapped() const noexcept { return {address.unmapped(), port}; }

  // "192.0.2.1:53", "[2001:db8::1]:53".
  std::string to_string() const;

  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace basalt::core

template <>
struct std::hash<basalt::core::IpAddress> {
  std::size_t operator()(const basalt::core::IpAddress& a) const noexcept;
};
template <>
struct std::hash<basalt::core::Endpoint> {
  std::size_t operator()(const basalt::core::Endpoint& e) const noexcept {
    return std::hash<basalt::core::IpAddress>{}(e.address) * 31 + e.port;
  }
};
