// Per-client-IP connection and byte counters of one worker, in a table of
// fixed size: `connections.byIP`, `topIPs` and `throughput.byIP`.
//
// Bounded: at most `capacity` addresses (default 10,000 per worker), all
// memory allocated at construction (about 240 bytes per address). A new
// address in a full table takes the place of one with no open connection
// (approximately the one with the fewest bytes: the least of the next 8 idle
// entries from a rotating cursor), counted in evictions(). When every
// address has an open connection the connection is counted in the "other"
// entry instead (overflows()). A flood from random source addresses
// therefore evicts idle addresses or lands in "other"; it never grows the
// table. IPv4-mapped IPv6 addresses count as their IPv4 address.
//
// Per address: open connections, connections ever, bytes in and out, and
// bytes per second for the last kWindowSeconds seconds.
//
// Thread-safety: one writer (the worker that owns the table) calls open(),
// close() and IpEntry::add_bytes(); any thread may call sample(), other(),
// evictions() and overflows(). Each entry is guarded by a sequence counter,
// so a reader never sees one address with another's counters (it skips an
// entry that is being replaced). No allocation and no lock on the writer's
// side.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "basalt/core/ip.hpp"
#include "metrics/counter.hpp"
#include "metrics/second_ring.hpp"

namespace basalt::proxy {

struct IpEntry {
  static constexpr std::size_t kWindowSeconds = 10;

  // Writer only.
  void add_bytes(std::int64_t second, std::uint64_t in, std::uint64_t out) noexcept {
    if (in) bytes_in.add(in);
    if (out) bytes_out.add(out);
    window.add(second, in, out);
  }

  std::atomic<std::uint32_t> seq{0};                // odd while the key changes
  std::array<std::atomic<std::uint64_t>, 3> key{};  // address bytes, then family/scope (0: unused)
  Counter active;
  Counter total;
  Counter bytes_in;
  Counter bytes_out;
  SecondRing<kWindowSeconds> window;
};

// What a reader sees of one address.
struct IpSample {
  core::IpAddress ip;
  std::uint64_t active = 0;
  std::uint64_t total = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  ByteCount window;  // bytes in the seconds asked for
};

class IpTable {
 public:
  static constexpr std::size_t kDefaultCapacity = 10000;
  static constexpr std::size_t kEvictionCandidates = 8;

  explicit IpTable(std::size_t capacity = kDefaultCapacity);
  IpTable(const IpTable&) = delete;
  IpTable& operator=(const IpTable&) = delete;

  // Writer: counts a new connection from `ip` and returns its entry (the
  // "other" entry when the table is full of open connections). The entry
  // stays valid, and keeps meaning `ip`, until close() is called for it.
  IpEntry& open(const core::IpAddress& ip) noexcept;
  // Writer: the connection counted by open() ended.
  void close(IpEntry& entry) noexcept;

  // Any thread: every address in the table, with the bytes of the seconds
  // [from, to]. Allocates the result.
  std::vector<IpSample> sample(std::int64_t from, std::int64_t to) const;
  // Any thread: the connections that found the table full.
  IpSample other(std::int64_t from, std::int64_t to) const;
  std::uint64_t evictions() const noexcept { return evictions_.load(); }
  std::uint64_t overflows() const noexcept { return overflows_.load(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xffffffffu;

  std::size_t find(const core::IpAddress& ip, std::size_t hash) const noexcept;  // index position
  void erase_index(std::size_t pos) noexcept;
  std::uint32_t pick_victim() noexcept;
  void set_key(std::uint32_t i, const core::IpAddress& ip) noexcept;

  std::size_t capacity_;
  std::unique_ptr<IpEntry[]> entries_;
  std::atomic<std::size_t> used_{0};  // entries_[0, used_) have a key
  IpEntry other_;
  Counter evictions_;
  Counter overflows_;

  // Writer-private: open addressing (linear probing) from address to entry.
  std::vector<std::uint32_t> index_;
  std::size_t mask_ = 0;
  std::vector<core::IpAddress> keys_;
  std::vector<std::size_t> hashes_;
  std::size_t idle_ = 0;  // entries with a key and no open connection
  std::size_t cursor_ = 0;
};

}  // namespace basalt::proxy
