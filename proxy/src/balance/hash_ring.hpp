// A consistent-hash ring (Ketama style) for `ip-hash` load balancing: the
// same client address lands on the same backend, and adding or removing a
// backend moves only about that backend's share of clients.
//
// Each member owns kPointsPerWeight (160) points per unit of weight (weights
// divided by their greatest common divisor, so equal weights of any size give
// 160 points each), placed by a hash of its name ("host:port") and the point
// number: a member's points do not depend on the others. A client hashes to a
// position and belongs to the first point at or after it. The ring holds at
// most kMaxPoints points; beyond that every member's count is scaled down in
// proportion (at least one point each), which keeps the shares but moves more
// clients when members change.
//
// The hashes are fixed (no per-process seed) so a client keeps its backend
// across route updates and restarts. A client can choose its own address and
// so its backend, nothing more.
//
// Thread-safety: immutable after construction; find() may run on any number
// of threads at once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"

namespace basalt::proxy {

class HashRing {
 public:
  static constexpr std::uint32_t kPointsPerWeight = 160;
  static constexpr std::size_t kMaxPoints = std::size_t{1} << 16;

  struct Member {
    std::string_view name;  // placement; e.g. "10.0.0.1:8080"
    std::uint32_t weight = 1;
  };

  HashRing() = default;
  explicit HashRing(std::span<const Member> members);

  // The ring position of a client. IPv4-mapped IPv6 hashes as its IPv4 address.
  static std::uint32_t hash(const core::IpAddress& client) noexcept;

  // Walks the ring from `position`: calls accept(member index) for each
  // point's member in ring order and returns the first index it accepts;
  // nullopt after a whole turn (or for an empty ring).
  template <class Accept>
  std::optional<std::size_t> find(std::uint32_t position, Accept&& accept) const {
    if (points_.empty()) return std::nullopt;
    const auto first = std::lower_bound(points_.begin(), points_.end(), position,
                                        [](const Point& p, std::uint32_t h) { return p.position < h; });
    const std::size_t start = static_cast<std::size_t>(first - points_.begin());
    for (std::size_t k = 0; k < points_.size(); ++k) {
      const std::uint32_t member = points_[(start + k) % points_.size()].member;
      if (accept(static_cast<std::size_t>(member))) return member;
    }
    return std::nullopt;
  }

  std::size_t points() const noexcept { return points_.size(); }

 private:
  struct Point {
    std::uint32_t position;
    std::uint32_t member;
  };
  std::vector<Point> points_;  // sorted by position, then member
};

}  // namespace basalt::proxy
