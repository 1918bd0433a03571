#include "basalt/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <string>

namespace basalt::core {

std::optional<LogLevel> parse_log_level(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "warning") return LogLevel::warn;
  for (auto l :
       {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
    if (to_string(l) == lower) return l;
  }
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  static constexpr std::array<std::string_view, 6> kNames{"trace", "debug", "info", "warn", "error", "off"};
  return kNames[static_cast<std::size_t>(level)];
}

void init_logging(LogLevel level) {
  auto to_spdlog = [](LogLevel l) {
    switch (l) {
      case LogLevel::trace:
        return spdlog::level::trace;
      case LogLevel::debug:
        return spdlog::level::debug;
      case LogLevel::info:
        return spdlog::level::info;
      case LogLevel::warn:
        return spdlog::level::warn;
      case LogLevel::error:
        return spdlog::level::err;
      case LogLevel::off:
        return spdlog::level::off;
    }
    return spdlog::level::info;
  };
  auto current = spdlog::default_logger();
  if (!current || current->name() != "basalt") {
    auto logger = spdlog::stderr_color_mt("basalt");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
  }
  spdlog::set_level(to_spdlog(level));
}

}  // namespace basalt::core
