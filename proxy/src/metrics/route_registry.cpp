#include "metrics/route_registry.hpp"

namespace basalt::proxy {

RouteRegistry::RouteRegistry(std::size_t capacity) : capacity_(capacity) {}

std::vector<RouteSlot> RouteRegistry::assign(std::span<const std::string> ids) {
  std::vector<RouteSlot> out;
  out.reserve(ids.size());
  for (auto& e : entries_) e.current = false;
  overflow_current_ = false;
  for (const auto& id : ids) {
    auto it = slots_.find(id);
    if (it == slots_.end()) {
      if (entries_.size() >= capacity_) {
        ++overflowed_ids_;
        overflow_current_ = true;
        out.push_back(overflow_slot());
        continue;
      }
      auto slot = static_cast<RouteSlot>(entries_.size());
      entries_.push_back({id, false});
      it = slots_.emplace(id, slot).first;
    }
    entries_[it->second].current = true;
    out.push_back(it->second);
  }
  return out;
}

}  // namespace basalt::proxy
