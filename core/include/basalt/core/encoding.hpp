// Binary-to-text encodings: base64 (RFC 4648 §4), base64url (§5) and hex.
//
// Use these for DNS RDATA presentation (DNSKEY, DS, TLSA), DoH `?dns=`
// parameters, JOSE/ACME payloads and the management protocol's packets.
// Decoders are strict (no whitespace, correct padding, no trailing bits) and
// return std::nullopt on any malformed input; they never throw. All functions
// are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::core {

using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Standard alphabet, always padded with '='.
std::string base64_encode(ByteView data);
// Accepts padded input; unpadded input is accepted too when `require_padding` is false.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text, bool require_padding = true);

// URL-safe alphabet ('-', '_'); unpadded by default, as DoH and JOSE use it.
std::string base64url_encode(ByteView data, bool pad = false);
// Accepts input with or without padding.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

// Lowercase hex by default.
std::string hex_encode(ByteView data, bool uppercase = false);
// Accepts upper- and lowercase digits; an odd length is an error.
std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view text);

}  // namespace basalt::core
