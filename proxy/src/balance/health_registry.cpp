#include "balance/health_registry.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace basalt::proxy {

HealthRegistry::HealthRegistry(std::size_t max_backends) : max_backends_(max_backends) {}

std::string HealthRegistry::key(std::string_view route_id, std::string_view host, std::uint16_t port) {
  const bool bracket = host.find(':') != std::string_view::npos;
  return fmt::format("{}|{}{}{}:{}", route_id, bracket ? "[" : "", host, bracket ? "]" : "", port);
}

std::shared_ptr<BackendState> HealthRegistry::state(std::string_view route_id, std::string_view host,
                                                    std::uint16_t port) {
  std::string k = key(route_id, host, port);
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(k); it != entries_.end()) return it->second.state;
  if (entries_.size() >= max_backends_) {
    throw std::length_error(
        fmt::format("route {}: backend {}: more than {} backends in all routes (the health registry's bound)",
                    route_id, k.substr(route_id.size() + 1), max_backends_));
  }
  auto state = std::make_shared<BackendState>();
  entries_.emplace(std::move(k), Entry{std::string(route_id), std::string(host), port, state});
  return state;
}

void HealthRegistry::retain(const std::set<std::string, std::less<>>& keys) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const auto& item) { return !keys.contains(item.first); });
}

std::vector<BackendSnapshot> HealthRegistry::snapshot(BackendState::Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::vector<BackendSnapshot> out;
  out.reserve(entries_.size());
  for (const auto& [k, e] : entries_) {
    out.push_back({.route_id = e.route_id,
                   .host = e.host,
                   .port = e.port,
                   .healthy = e.state->up(),
                   .ejected = e.state->ejected(now),
                   .active = e.state->in_flight(),
                   .counters = e.state->counters()});
  }
  return out;
}

std::size_t HealthRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace basalt::proxy
