#include "basalt/acme/retry_after.hpp"

#include <charconv>
#include <ctime>
#include <string>

namespace basalt::acme {
namespace {

// More than ten years is nonsense; cap instead of overflowing.
constexpr std::int64_t kMaxWait = 10LL * 365 * 24 * 3600;

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (end != value.data() + value.size()) return std::nullopt;
    // Beyond 2^64 - 1 is still delay-seconds: capped like the rest.
    if (ec == std::errc::result_out_of_range) return std::chrono::seconds(kMaxWait);
    if (ec != std::errc()) return std::nullopt;
    if (n > static_cast<std::uint64_t>(kMaxWait)) return std::chrono::seconds(kMaxWait);
    return std::chrono::seconds(static_cast<std::int64_t>(n));
  }
  // IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". The
  // obsolete formats are not sent by ACME servers.
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || end != text.c_str() + text.size()) return std::nullopt;  // also after a NUL
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  // In whole seconds: a year like 9999 overflows the clock's nanoseconds.
  // `t` is a whole second, so rounding `now` down rounds the wait up.
  const std::int64_t now_s = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  if (t <= now_s) return std::chrono::seconds(0);
  const std::int64_t wait = static_cast<std::int64_t>(t) - now_s;
  return std::chrono::seconds(wait > kMaxWait ? kMaxWait : wait);
}

}  // namespace basalt::acme
