// Logging to stderr through spdlog.
//
// Daemons call init_logging() once in main() with the level from their config
// or `--log-level`; library code then logs with spdlog::info(...) etc. Logs
// always go to stderr: stdout belongs to the management protocol.
#pragma once

#include <boost/describe/enum.hpp>

#include <optional>
#include <string_view>

namespace basalt::core {

enum class LogLevel { trace, debug, info, warn, error, off };
// Described, so config files decode `log: {level: debug}` directly.
BOOST_DESCRIBE_ENUM(LogLevel, trace, debug, info, warn, error, off)

// "trace", "debug", "info", "warn" (or "warning"), "error", "off"; any case.
std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level);

// The text listing the accepted names, for error messages.
inline constexpr std::string_view kLogLevelNames = "trace, debug, info, warn, error, off";

// Installs a stderr logger as spdlog's default logger at `level`. Call from
// main() before starting threads; calling again changes the level.
void init_logging(LogLevel level);

}  // namespace basalt::core
