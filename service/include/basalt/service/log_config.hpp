// The `log` section every basalt daemon shares: the level of the log lines a
// daemon writes to stderr (trace, debug, info, warn, error, off).
//
//   log: {level: info}
#pragma once

#include <boost/describe/class.hpp>

#include "basalt/core/log.hpp"

namespace basalt::service {

struct LogConfig {
  core::LogLevel level = core::LogLevel::info;
};
BOOST_DESCRIBE_STRUCT(LogConfig, (), (level))

}  // namespace basalt::service
