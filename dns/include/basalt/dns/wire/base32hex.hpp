// Base32 with the "extended hex" alphabet (RFC 4648 §7), unpadded, as NSEC3
// uses it for hashed owner names (RFC 5155 §3.3). Core's encoding.hpp has the
// other encodings; this one is DNS-specific. Pure, thread-safe, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::dns {

// Uppercase digits, no padding ("0123456789ABCDEFGHIJKLMNOPQRSTUV").
std::string base32hex_encode(std::span<const std::uint8_t> data, bool lowercase = false);
// Case-insensitive; rejects padding, bad characters and non-zero trailing bits.
std::optional<std::vector<std::uint8_t>> base32hex_decode(std::string_view text);

}  // namespace basalt::dns
