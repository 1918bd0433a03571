// The order in which weighted round-robin serves a pool's backends, computed
// once when the pool is built, so that picking is one atomic increment.
//
// Each backend appears `weight` times per cycle (weights divided by their
// greatest common divisor), spread out rather than in runs: a backend's k-th
// turn falls at (k + 1/2) / weight of the cycle, as in stride scheduling, so
// weights 1 and 3 give B A B B and every window of the cycle is close to the
// weights' proportions, as with nginx's smooth weighted round-robin. Ties go
// to the lower index.
//
// Bounded: a cycle has at most kMaxRoundRobinOrder entries (or one per
// backend, if there are more backends); larger weight sums are scaled down in
// proportion, each backend keeping at least one turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace basalt::proxy {

inline constexpr std::size_t kMaxRoundRobinOrder = std::size_t{1} << 16;

// Backend indexes in serving order for one cycle. Weights below 1 count as 1.
std::vector<std::uint32_t> round_robin_order(std::span<const std::uint32_t> weights);

}  // namespace basalt::proxy
