// The set of zones a server is authoritative for, and which one answers a name.
//
// find() returns the closest enclosing zone (longest suffix), so a child
// zone served here answers for itself rather than its parent's referral.
// Immutable once built and safe to share between threads; servers publish a
// new ZoneSet through core::Snapshot to add, replace or remove zones.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "basalt/dns/zone/zone.hpp"

namespace basalt::dns {

class ZoneSet {
 public:
  // Adds or replaces the zone with the same apex.
  void put(std::shared_ptr<const Zone> zone) { zones_[zone->apex()] = std::move(zone); }
  bool remove(const Name& apex) { return zones_.erase(apex) > 0; }

  // The zone whose apex is the longest suffix of `name`, or nullptr.
  const Zone* find(const Name& name) const noexcept {
    if (zones_.empty()) return nullptr;
    Name n = name;
    for (;;) {
      if (auto it = zones_.find(n); it != zones_.end()) return it->second.get();
      if (n.is_root()) return nullptr;
      n = n.parent();
    }
  }
  std::shared_ptr<const Zone> get(const Name& apex) const {
    auto it = zones_.find(apex);
    return it == zones_.end() ? nullptr : it->second;
  }

  std::size_t size() const noexcept { return zones_.size(); }
  std::vector<std::shared_ptr<const Zone>> zones() const {
    std::vector<std::shared_ptr<const Zone>> out;
    for (const auto& [apex, z] : zones_) out.push_back(z);
    return out;
  }

 private:
  std::unordered_map<Name, std::shared_ptr<const Zone>> zones_;
};

}  // namespace basalt::dns
