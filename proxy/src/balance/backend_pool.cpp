#include "balance/backend_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "balance/health_registry.hpp"
#include "balance/round_robin_order.hpp"

namespace basalt::proxy {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

bool contains(std::span<const std::size_t> list, std::size_t i) noexcept {
  return std::find(list.begin(), list.end(), i) != list.end();
}

bool speaks_tls(const RouteAction& action) noexcept {
  return action.tls &&
         (action.tls->mode == TlsMode::kPassthrough || action.tls->mode == TlsMode::kTerminateAndReencrypt);
}

}  // namespace

std::shared_ptr<BackendPool> BackendPool::build(std::string route_id, const RouteAction& action,
                                                HealthRegistry& registry) {
  std::shared_ptr<BackendPool> pool(new BackendPool());
  pool->route_id_ = std::move(route_id);
  const LoadBalancing balancing = action.load_balancing.value_or(LoadBalancing{});
  pool->algorithm_ = balancing.algorithm;
  pool->passive_ = balancing.passive;
  pool->max_pending_ = balancing.max_pending_requests;
  pool->health_check_ = balancing.health_check;
  pool->backend_tls_ = speaks_tls(action);

  auto& backends = pool->backends_;
  for (const auto& target : action.targets) {
    const std::uint16_t port = target.preserve_port ? 0 : target.port;
    const std::uint32_t weight = std::max(target.weight, 1u);
    for (const auto& host : target.host) {
      auto same = std::find_if(backends.begin(), backends.end(),
                               [&](const Backend& b) { return b.host == host && b.port == port; });
      if (same != backends.end()) {
        same->weight += weight;
        continue;
      }
      Backend& b = backends.emplace_back();
      b.host = host;
      b.port = port;
      b.weight = weight;
      b.key = HealthRegistry::key(pool->route_id_, host, port);
      b.checked = pool->health_check_ && !pool->backend_tls_ && port != 0;
      b.state_ = registry.state(pool->route_id_, host, port);
      if (!b.checked) b.state_->reset_check();
      pool->active_checks_ = pool->active_checks_ || b.checked;
    }
  }

  std::vector<std::uint32_t> weights;
  std::vector<std::string> names;
  for (const auto& b : backends) {
    weights.push_back(b.weight);
    names.push_back(b.key.substr(pool->route_id_.size() + 1));  // "host:port"
  }
  if (pool->algorithm_ == BalanceAlgorithm::kRoundRobin) pool->order_ = round_robin_order(weights);
  if (pool->algorithm_ == BalanceAlgorithm::kIpHash) {
    std::vector<HashRing::Member> members;
    for (std::size_t i = 0; i < backends.size(); ++i) members.push_back({names[i], weights[i]});
    pool->ring_ = HashRing(members);
  }
  return pool;
}

bool BackendPool::available(std::size_t i, Clock::time_point now) const noexcept {
  const Backend& b = backends_[i];
  if (b.checked && !b.state_->up()) return false;
  if (b.state_->ejected(now)) return false;
  return b.state_->in_flight() < max_pending_;
}

bool BackendPool::usable(std::size_t i, std::span<const std::size_t> exclude,
                         Clock::time_point now) const noexcept {
  return !contains(exclude, i) && available(i, now);
}

std::optional<std::size_t> BackendPool::pick(const core::IpAddress& client,
                                             std::span<const std::size_t> exclude,
                                             Clock::time_point now) const noexcept {
  if (backends_.empty()) return std::nullopt;
  switch (algorithm_) {
    case BalanceAlgorithm::kRoundRobin:
      return pick_round_robin(exclude, now);
    case BalanceAlgorithm::kLeastConnections:
      return pick_least_connections(exclude, now);
    case BalanceAlgorithm::kIpHash:
      return pick_ip_hash(client, exclude, now);
  }
  return std::nullopt;
}

std::optional<std::size_t> BackendPool::scan(std::size_t start, std::span<const std::size_t> exclude,
                                             Clock::time_point now) const noexcept {
  for (std::size_t k = 0; k < backends_.size(); ++k) {
    const std::size_t i = (start + k) % backends_.size();
    if (usable(i, exclude, now)) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> BackendPool::pick_round_robin(std::span<const std::size_t> exclude,
                                                         Clock::time_point now) const noexcept {
  std::size_t i = 0;
  for (std::size_t tries = 0; tries < kRoundRobinTries; ++tries) {
    i = order_[next_.fetch_add(1, kRelaxed) % order_.size()];
    if (usable(i, exclude, now)) return i;
  }
  return scan(i + 1, exclude, now);
}

std::optional<std::size_t> BackendPool::pick_least_connections(std::span<const std::size_t> exclude,
                                                               Clock::time_point now) const noexcept {
  const std::size_t start = next_.fetch_add(1, kRelaxed) % backends_.size();
  std::optional<std::size_t> best;
  std::uint64_t best_load = 0;
  std::uint64_t best_weight = 1;
  for (std::size_t k = 0; k < backends_.size(); ++k) {
    const std::size_t i = (start + k) % backends_.size();
    if (!usable(i, exclude, now)) continue;
    const std::uint64_t load = backends_[i].state_->in_flight();
    const std::uint64_t weight = backends_[i].weight;
    // load / weight < best_load / best_weight, without division.
    if (!best || load * best_weight < best_load * weight) {
      best = i;
      best_load = load;
      best_weight = weight;
    }
  }
  return best;
}

std::optional<std::size_t> BackendPool::pick_ip_hash(const core::IpAddress& client,
                                                     std::span<const std::size_t> exclude,
                                                     Clock::time_point now) const noexcept {
  // Without this check a pool with nothing available would walk the whole ring.
  if (!scan(0, exclude, now)) return std::nullopt;
  return ring_.find(HashRing::hash(client), [&](std::size_t i) { return usable(i, exclude, now); });
}

std::optional<BackendPool::Lease> BackendPool::acquire(std::size_t i) const noexcept {
  BackendState* state = backends_[i].state_.get();
  if (!state->try_acquire(max_pending_)) return std::nullopt;
  return Lease(state, i);
}

void BackendPool::report_success(std::size_t i) const noexcept {
  backends_[i].state_->report_success();
}

void BackendPool::report_failure(std::size_t i, Clock::time_point now) const {
  // Never eject the last backend that is still usable (see the header).
  bool others = false;
  for (std::size_t k = 0; k < backends_.size() && !others; ++k) {
    const Backend& b = backends_[k];
    others = k != i && (!b.checked || b.state_->up()) && !b.state_->ejected(now);
  }
  const auto ejection = backends_[i].state_->report_failure(passive_, now, others);
  if (ejection && ejection->in_a_row == 1) {
    const std::uint32_t failures = passive_.consecutive_failures;
    spdlog::warn("route {}: backend {} ejected for {} ms after {} failure{} in a row", route_id_,
                 backends_[i].key.substr(route_id_.size() + 1), ejection->time.count(), failures,
                 failures == 1 ? "" : "s");
  } else if (ejection) {
    spdlog::warn(
        "route {}: backend {} failed again after its ejection; ejected for {} ms (ejection {} in a row)",
        route_id_, backends_[i].key.substr(route_id_.size() + 1), ejection->time.count(), ejection->in_a_row);
  }
}

BackendPool::Lease::Lease(Lease&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)), index_(other.index_) {}

BackendPool::Lease& BackendPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::exchange(other.state_, nullptr);
    index_ = other.index_;
  }
  return *this;
}

void BackendPool::Lease::release() noexcept {
  if (state_) state_->release();
  state_ = nullptr;
}

}  // namespace basalt::proxy
