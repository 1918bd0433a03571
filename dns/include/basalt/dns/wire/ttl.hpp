// TTL values in presentation format: plain seconds ("3600") or BIND-style
// units ("1h30m", "2d", "1w"). Used by zone files and SOA timer fields.
// Pure, thread-safe, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace basalt::dns {

// Accepts decimal seconds up to 2^32-1, or a sequence of <number><unit> with
// units s, m, h, d, w (case-insensitive). Nullopt on anything else or overflow.
std::optional<std::uint32_t> parse_ttl(std::string_view text);

}  // namespace basalt::dns
