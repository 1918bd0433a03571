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
  core::IpAddress::TextBuffer buf;
  const core::IpAddress plain = address.unmapped();
  const std::string_view text = plain.format(buf);
  core::IpAddress::TextBuffer mapped_buf;
  const std::string_view mapped_text =
      address.is_v4_mapped() ? address.format(mapped_buf) : std::string_view{};
  for (const auto& glob : globs_) {
    if (glob.match(text)) return true;
    if (!mapped_text.empty() && glob.match(mapped_text)) return true;
  }
  return false;
}

}  // namespace basalt::proxy
