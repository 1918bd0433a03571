#include "client/resolv_conf.hpp"

namespace basalt::dns::client_detail {

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
}  // namespace

std::vector<core::IpAddress> parse_resolv_conf(std::string_view text) {
  std::vector<core::IpAddress> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (auto c = line.find_first_of("#;"); c != std::string_view::npos) line = line.substr(0, c);
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i])) ++i;
    constexpr std::string_view kKeyword = "nameserver";
    if (line.substr(i, kKeyword.size()) != kKeyword) continue;
    i += kKeyword.size();
    if (i >= line.size() || !is_space(line[i])) continue;
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t end = i;
    while (end < line.size() && !is_space(line[end])) ++end;
    // glibc accepts a scope id (fe80::1%eth0); core::IpAddress parses it too.
    if (auto addr = core::IpAddress::parse(line.substr(i, end - i))) {
      if (out.size() < 3) out.push_back(*addr);
    }
  }
  return out;
}

}  // namespace basalt::dns::client_detail
