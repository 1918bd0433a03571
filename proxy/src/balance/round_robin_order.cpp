#include "balance/round_robin_order.hpp"

#include <algorithm>
#include <numeric>

namespace basalt::proxy {

std::vector<std::uint32_t> round_robin_order(std::span<const std::uint32_t> weights) {
  std::uint32_t divisor = 0;
  for (auto w : weights) divisor = std::gcd(divisor, std::max(w, 1u));
  std::vector<std::uint64_t> turns;
  std::uint64_t total = 0;
  for (auto w : weights) {
    turns.push_back(std::max(w, 1u) / divisor);
    total += turns.back();
  }
  if (total > kMaxRoundRobinOrder) {
    for (auto& t : turns) t = std::max<std::uint64_t>(1, t * kMaxRoundRobinOrder / total);
  }

  struct Turn {
    std::uint64_t k;       // the backend's k-th turn ...
    std::uint64_t weight;  // ... of `weight`: at (2k + 1) / (2 weight)
    std::uint32_t backend;
  };
  std::vector<Turn> all;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    for (std::uint64_t k = 0; k < turns[i]; ++k) all.push_back({k, turns[i], static_cast<std::uint32_t>(i)});
  }
  std::sort(all.begin(), all.end(), [](const Turn& a, const Turn& b) {
    const std::uint64_t left = (2 * a.k + 1) * b.weight;
    const std::uint64_t right = (2 * b.k + 1) * a.weight;
    return left != right ? left < right : a.backend < b.backend;
  });
  std::vector<std::uint32_t> order;
  order.reserve(all.size());
  for (const auto& t : all) order.push_back(t.backend);
  return order;
}

}  // namespace basalt::proxy
