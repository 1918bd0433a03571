// A 64-bit integer mixer: splitmix64's finalizer, which spreads every input
// bit over the whole result. For hash tables and hash rings keyed by values
// whose low bits are alike (addresses, counters); not for anything an
// attacker must not predict (use a keyed hash for that).
#pragma once

#include <cstdint>

namespace basalt::core {

constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace basalt::core
