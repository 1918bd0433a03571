// The UDP engine's counters in the Prometheus text format, appended to the
// proxy's /metrics: datagrams and bytes per route and direction, sessions,
// and drops by reason. Takes the `udp` object of getStatistics (its
// numbers summed over the workers), so both always agree.
#pragma once

#include <boost/json/object.hpp>

#include <string>

namespace basalt::proxy {

std::string udp_prometheus(const boost::json::object& udp);

}  // namespace basalt::proxy
