#include "routes/ip_pattern.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace basalt::proxy {

namespace {

// Characters an address glob may hold: the address alphabet plus glob syntax.
bool is_address_glob(std::string_view text) {
  if (text.find_first_of("*?[{") == std::string_view::npos) return false;
  for (char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && std::string_view(".:*?[]{},-!^").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// The longest address text: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
using TextBuffer = std::array<char, 48>;

std::size_t put_decimal(char* out, unsigned v) noexcept {
  char digits[3];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  return n;
}

std::size_t put_v4(char* out, const std::uint8_t* b) noexcept {
  std::size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    if (i != 0) out[n++] = '.';
    n += put_decimal(out + n, b[i]);
  }
  return n;
}

std::size_t put_hex16(char* out, unsigned v) noexcept {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::size_t n = 0;
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    unsigned digit = (v >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      out[n++] = kHex[digit];
      started = true;
    }
  }
  return n;
}

// The address as core::IpAddress::to_string() writes it (dotted quad, or
// RFC 5952 with ::ffff:a.b.c.d for mapped addresses), without the scope and
// without allocating.
std::string_view format(const core::IpAddress& a, TextBuffer& buf) noexcept {
  auto bytes = a.bytes();
  char* out = buf.data();
  if (a.is_v4()) return {out, put_v4(out, bytes.data())};
  std::array<unsigned, 8> groups{};
  for (std::size_t i = 0; i < 8; ++i) groups[i] = (unsigned{bytes[2 * i]} << 8) | bytes[2 * i + 1];
  std::size_t n = 0;
  if (a.is_v4_mapped()) {
    constexpr std::string_view kPrefix = "::ffff:";
    for (char c : kPrefix) out[n++] = c;
    n += put_v4(out + n, bytes.data() + 12);
    return {out, n};
  }
  // The longest run of two or more zero groups (the first of equal runs).
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  for (int i = 0; i < 8;) {
    if (i == best_start) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len;
      continue;
    }
    if (i != 0 && i != best_start + best_len) out[n++] = ':';
    n += put_hex16(out + n, groups[i]);
    ++i;
  }
  return {out, n};
}

}  // namespace

std::optional<IpPatternList> IpPatternList::compile(const std::vector<std::string>& patterns,
                                                    std::string* error, std::size_t* bad_index) {
  IpPatternList list;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const std::string& text = patterns[i];
    std::string reason;
    if (auto prefix = core::Cidr::parse(text, &reason)) {
      list.prefixes_.push_back(*prefix);
      continue;
    }
    if (text.find('/') == std::string::npos && is_address_glob(text)) {
      std::string glob_error;
      if (auto glob = core::Glob::compile(text, {.case_insensitive = true}, &glob_error)) {
        list.globs_.push_back(std::move(*glob));
        continue;
      }
      reason = glob_error;
    } else if (text.find('/') == std::string::npos) {
      reason = "is not an IP address, a CIDR prefix or a glob such as 192.168.*";
    }
    if (error) *error = reason;
    if (bad_index) *bad_index = i;
    return std::nullopt;
  }
  return list;
}

bool IpPatternList::matches(const core::IpAddress& address) const noexcept {
  for (const auto& prefix : prefixes_) {
    if (prefix.contains(address)) return true;
  }
  if (globs_.empty()) return false;
  // Globs see the IPv4 text of a mapped client, and its mapped text too.
  TextBuffer buf;
  const core::IpAddress plain = address.unmapped();
  const std::string_view text = format(plain, buf);
  TextBuffer mapped_buf;
  const std::string_view mapped_text =
      address.is_v4_mapped() ? format(address, mapped_buf) : std::string_view{};
  for (const auto& glob : globs_) {
    if (glob.match(text)) return true;
    if (!mapped_text.empty() && glob.match(mapped_text)) return true;
  }
  return false;
}

}  // namespace basalt::proxy
