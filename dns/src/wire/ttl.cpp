#include "basalt/dns/wire/ttl.hpp"

namespace basalt::dns {

std::optional<std::uint32_t> parse_ttl(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0;
  std::uint64_t current = 0;
  bool have_digits = false;
  bool used_unit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      current = current * 10 + static_cast<unsigned>(c - '0');
      if (current > 0xFFFFFFFFull) return std::nullopt;
      have_digits = true;
      continue;
    }
    if (!have_digits) return std::nullopt;
    std::uint64_t mult;
    switch (c) {
      case 's':
      case 'S':
        mult = 1;
        break;
      case 'm':
      case 'M':
        mult = 60;
        break;
      case 'h':
      case 'H':
        mult = 3600;
        break;
      case 'd':
      case 'D':
        mult = 86400;
        break;
      case 'w':
      case 'W':
        mult = 604800;
        break;
      default:
        return std::nullopt;
    }
    total += current * mult;
    if (total > 0xFFFFFFFFull) return std::nullopt;
    current = 0;
    have_digits = false;
    used_unit = true;
  }
  if (have_digits) {
    // A bare number after units ("1h30") counts as seconds, as BIND does.
    total += current;
  } else if (!used_unit) {
    return std::nullopt;
  }
  if (total > 0xFFFFFFFFull) return std::nullopt;
  return static_cast<std::uint32_t>(total);
}

}  // namespace basalt::dns
