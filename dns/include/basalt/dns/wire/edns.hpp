// EDNS(0) (RFC 6891): the OPT pseudo-record's fields as an owned value, its
// options (kept verbatim and passed through), and DNS cookies (RFC 7873).
//
// Use `Edns` when building or keeping a message; on the query hot path read
// the same fields without copying through MessageView::edns() (OptView).
// Values are plain data; parsing functions never throw.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "basalt/dns/wire/rdata.hpp"

namespace basalt::dns {

enum class EdnsOptionCode : std::uint16_t {
  kNsid = 3,
  kClientSubnet = 8,
  kExpire = 9,
  kCookie = 10,
  kTcpKeepalive = 11,
  kPadding = 12,
  kChain = 13,
  kKeyTag = 14,
  kExtendedError = 15,
};

struct EdnsOption {
  std::uint16_t code = 0;
  Bytes data;
  friend bool operator==(const EdnsOption&, const EdnsOption&) = default;
};

// A non-owning option, for writing without allocating.
struct EdnsOptionRef {
  std::uint16_t code = 0;
  ByteSpan data;
};

struct Edns {
  // RFC 6891 §6.2.5: values below 512 are treated as 512 by readers of this
  // struct's users; the raw value is kept here for pass-through.
  std::uint16_t udp_payload_size = 1232;
  std::uint8_t extended_rcode = 0;  // upper 8 bits of the 12-bit RCODE
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::uint16_t z = 0;  // the other 15 flag bits, kept as received (DO excluded)
  std::vector<EdnsOption> options;

  // The OPT record's TTL field.
  std::uint32_t ttl_field() const noexcept {
    return (std::uint32_t{extended_rcode} << 24) | (std::uint32_t{version} << 16) |
           (dnssec_ok ? 0x8000u : 0u) | (z & 0x7FFFu);
  }
  // Reads the fields from an OPT record's CLASS, TTL and RDATA. Returns
  // nullopt if the option list is malformed.
  static std::optional<Edns> from_record(std::uint16_t rclass, std::uint32_t ttl, ByteSpan rdata);
  // RDATA (the options) in wire form.
  Bytes rdata() const;
  // First option with this code, or nullptr.
  const EdnsOption* find(EdnsOptionCode code) const noexcept;

  friend bool operator==(const Edns&, const Edns&) = default;
};

// A DNS cookie option (RFC 7873 §4): 8-octet client cookie and an optional
// 8-32 octet server cookie.
struct Cookie {
  std::array<std::uint8_t, 8> client{};
  std::array<std::uint8_t, 32> server{};
  std::uint8_t server_size = 0;

  ByteSpan server_cookie() const noexcept { return {server.data(), server_size}; }
  // Parses option data; nullopt unless the length is 8 or 16-40 (RFC 7873
  // §5.2.2: anything else is FORMERR).
  static std::optional<Cookie> parse(ByteSpan option_data) noexcept;
  // Appends the option data form.
  void append_to(Bytes& out) const;
};

// Iterates RFC 6891 options in OPT RDATA: calls `bool fn(code, data)` for
// each until it returns false. Returns false if the list is malformed.
template <typename Fn>
bool for_each_edns_option(ByteSpan rdata, Fn&& fn) {
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    if (rdata.size() - pos < 4) return false;
    std::uint16_t code = static_cast<std::uint16_t>((rdata[pos] << 8) | rdata[pos + 1]);
    std::size_t len = static_cast<std::size_t>((rdata[pos + 2] << 8) | rdata[pos + 3]);
    if (rdata.size() - pos - 4 < len) return false;
    if (!fn(code, rdata.subspan(pos + 4, len))) return true;
    pos += 4 + len;
  }
  return true;
}

}  // namespace basalt::dns
