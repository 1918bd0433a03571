#include "basalt/dns/wire/base32hex.hpp"

namespace basalt::dns {

std::string base32hex_encode(std::span<const std::uint8_t> data, bool lowercase) {
  static constexpr char kUpper[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
  static constexpr char kLower[] = "0123456789abcdefghijklmnopqrstuv";
  const char* alphabet = lowercase ? kLower : kUpper;
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::optional<std::vector<std::uint8_t>> base32hex_decode(std::string_view text) {
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'A' && c <= 'V')
      v = c - 'A' + 10;
    else if (c >= 'a' && c <= 'v')
      v = c - 'a' + 10;
    else
      return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
    buffer &= (1u << bits) - 1;
  }
  // Leftover bits must be fewer than 5 and zero (canonical encoding).
  if (bits >= 5 || buffer != 0) return std::nullopt;
  return out;
}

}  // namespace basalt::dns
