// The HTTP Retry-After header (RFC 9110 §10.2.3): delay-seconds or an
// HTTP-date, as ACME servers send it with 429, 503 and while an order or
// authorization is still processing (RFC 8555 §6.6, §7.4).
//
// Pure function over untrusted text; never throws; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace basalt::acme {

// The wait the header asks for, counted from `now` (a date in the past is 0).
// nullopt for an empty or malformed value.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace basalt::acme
