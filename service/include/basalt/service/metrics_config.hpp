// The `metrics` section every basalt daemon shares: where the Prometheus
// text endpoint listens (metrics_listener.hpp). Absent `listen`: no endpoint.
//
//   metrics: {listen: 127.0.0.1:9153}
#pragma once

#include <optional>

#include <boost/describe/class.hpp>

#include "basalt/core/config_ip.hpp"

namespace basalt::service {

struct MetricsConfig {
  std::optional<core::Endpoint> listen;  // Prometheus text at /metrics
};
BOOST_DESCRIBE_STRUCT(MetricsConfig, (), (listen))

}  // namespace basalt::service
