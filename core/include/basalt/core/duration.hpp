// Durations as people write them in configs and flags: `500ms`, `90s`, `15m`,
// `12h`, `14d`, `2w`, and sums like `1h30m`.
//
// Pure functions; thread-safe; parse_duration never throws.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::core {

// Text for error messages: what parse_duration accepts.
inline constexpr std::string_view kDurationHelp = "a duration such as 500ms, 90s, 15m, 12h, 14d";

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact text for `d` in the units above ("14d", "90s", "1500ms").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace basalt::core
