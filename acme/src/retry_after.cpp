#include "basalt/acme/retry_after.hpp"

#include <charconv>
#include <ctime>
#include <string>

namespace basalt::acme {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    // More than ten years is nonsense; cap instead of overflowing.
    constexpr std::uint64_t kMax = 10ull * 365 * 24 * 3600;
    return std::chrono::seconds(static_cast<std::int64_t>(n > kMax ? kMax : n));
  }
  // IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". The
  // obsolete formats are not sent by ACME servers.
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(t);
  if (at <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(at - now);
}

}  // namespace basalt::acme
