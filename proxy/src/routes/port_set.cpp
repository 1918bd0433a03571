// PortSet (options.hpp): the ports a route listens on.
#include <algorithm>

#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

bool PortSet::contains(std::uint16_t port) const noexcept {
  return std::any_of(ranges.begin(), ranges.end(),
                     [port](const PortRange& r) { return r.from <= port && port <= r.to; });
}

std::vector<std::uint16_t> PortSet::expand() const {
  std::vector<PortRange> sorted = ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const PortRange& a, const PortRange& b) { return a.from < b.from; });
  std::vector<std::uint16_t> ports;
  std::uint32_t next = 0;  // the lowest port not yet listed
  for (const auto& r : sorted) {
    for (std::uint32_t p = std::max<std::uint32_t>(r.from, next); p <= r.to; ++p)
      ports.push_back(static_cast<std::uint16_t>(p));
    next = std::max<std::uint32_t>(next, std::uint32_t{r.to} + 1);
  }
  return ports;
}

}  // namespace basalt::proxy
