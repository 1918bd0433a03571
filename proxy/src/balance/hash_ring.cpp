#include "balance/hash_ring.hpp"

#include <cstring>
#include <numeric>

#include "basalt/core/hash_mix.hpp"

namespace basalt::proxy {
namespace {

// FNV-1a, then mixed: FNV alone spreads short similar strings poorly.
std::uint64_t hash_bytes(const void* data, std::size_t size,
                         std::uint64_t h = 0xcbf29ce484222325ull) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::uint32_t point_position(std::string_view name, std::uint32_t point) noexcept {
  std::uint64_t h = hash_bytes(name.data(), name.size());
  h = hash_bytes(&point, sizeof point, h);
  return static_cast<std::uint32_t>(core::mix64(h) >> 32);
}

}  // namespace

HashRing::HashRing(std::span<const Member> members) {
  std::uint32_t divisor = 0;
  for (const auto& m : members) divisor = std::gcd(divisor, std::max(m.weight, 1u));
  std::vector<std::uint64_t> counts;
  std::uint64_t total = 0;
  for (const auto& m : members) {
    counts.push_back(std::uint64_t{kPointsPerWeight} * (std::max(m.weight, 1u) / divisor));
    total += counts.back();
  }
  if (total > kMaxPoints) {
    for (auto& c : counts) c = std::max<std::uint64_t>(1, c * kMaxPoints / total);
  }
  points_.reserve(std::min<std::uint64_t>(total, kMaxPoints + members.size()));
  for (std::size_t i = 0; i < members.size(); ++i) {
    for (std::uint32_t p = 0; p < counts[i]; ++p) {
      points_.push_back({point_position(members[i].name, p), static_cast<std::uint32_t>(i)});
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.position != b.position ? a.position < b.position : a.member < b.member;
  });
}

std::uint32_t HashRing::hash(const core::IpAddress& client) noexcept {
  const core::IpAddress address = client.unmapped();
  const auto bytes = address.bytes();
  std::uint64_t h = hash_bytes(bytes.data(), bytes.size());
  return static_cast<std::uint32_t>(core::mix64(h) >> 32);
}

}  // namespace basalt::proxy
