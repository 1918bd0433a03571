#include "metrics/ip_table.hpp"

#include <bit>
#include <cstring>
#include <functional>

namespace basalt::proxy {
namespace {

constexpr std::uint64_t kFamilyV4 = 1;
constexpr std::uint64_t kFamilyV6 = 2;

core::IpAddress decode_key(std::uint64_t w0, std::uint64_t w1, std::uint64_t w2) {
  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), &w0, 8);
  std::memcpy(bytes.data() + 8, &w1, 8);
  if ((w2 & 0xff) == kFamilyV4) return core::IpAddress::v4({bytes[0], bytes[1], bytes[2], bytes[3]});
  return core::IpAddress::v6(bytes, static_cast<std::uint32_t>(w2 >> 32));
}

IpSample read_counters(const IpEntry& e, std::int64_t from, std::int64_t to) {
  IpSample s;
  s.active = e.active.load();
  s.total = e.total.load();
  s.bytes_in = e.bytes_in.load();
  s.bytes_out = e.bytes_out.load();
  s.window = e.window.sum(from, to);
  return s;
}

}  // namespace

IpTable::IpTable(std::size_t capacity)
    : capacity_(capacity),
      entries_(std::make_unique<IpEntry[]>(capacity)),
      keys_(capacity),
      hashes_(capacity) {
  // At most half full, so probes stay short.
  index_.assign(std::bit_ceil(std::max<std::size_t>(2 * capacity, 2)), kEmpty);
  mask_ = index_.size() - 1;
}

std::size_t IpTable::find(const core::IpAddress& ip, std::size_t hash) const noexcept {
  auto pos = hash & mask_;
  while (index_[pos] != kEmpty && keys_[index_[pos]] != ip) pos = (pos + 1) & mask_;
  return pos;
}

// Backward-shift deletion: keeps every probe chain unbroken without tombstones.
void IpTable::erase_index(std::size_t pos) noexcept {
  auto hole = pos;
  auto next = pos;
  for (;;) {
    next = (next + 1) & mask_;
    if (index_[next] == kEmpty) break;
    auto home = hashes_[index_[next]] & mask_;
    // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
    bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    index_[hole] = index_[next];
    hole = next;
  }
  index_[hole] = kEmpty;
}

std::uint32_t IpTable::pick_victim() noexcept {
  // Called only when idle_ > 0, so the scan finds at least one.
  std::uint32_t best = kEmpty;
  std::uint64_t best_bytes = 0;
  std::size_t found = 0;
  for (std::size_t n = 0; n < capacity_ && found < kEvictionCandidates; ++n) {
    auto i = static_cast<std::uint32_t>(cursor_);
    cursor_ = cursor_ + 1 == capacity_ ? 0 : cursor_ + 1;
    const auto& e = entries_[i];
    if (e.active.load() != 0) continue;
    ++found;
    auto bytes = e.bytes_in.load() + e.bytes_out.load();
    if (best == kEmpty || bytes < best_bytes) {
      best = i;
      best_bytes = bytes;
    }
  }
  return best;
}

void IpTable::set_key(std::uint32_t i, const core::IpAddress& ip) noexcept {
  auto& e = entries_[i];
  auto seq = e.seq.load(std::memory_order_relaxed);
  e.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  std::uint64_t w0 = 0, w1 = 0;
  auto bytes = ip.bytes();
  std::array<std::uint8_t, 16> raw{};
  std::memcpy(raw.data(), bytes.data(), bytes.size());
  std::memcpy(&w0, raw.data(), 8);
  std::memcpy(&w1, raw.data() + 8, 8);
  e.key[0].store(w0, std::memory_order_relaxed);
  e.key[1].store(w1, std::memory_order_relaxed);
  e.key[2].store((ip.is_v4() ? kFamilyV4 : kFamilyV6) | (std::uint64_t{ip.scope_id()} << 32),
                 std::memory_order_relaxed);
  e.active.reset();
  e.total.reset();
  e.bytes_in.reset();
  e.bytes_out.reset();
  e.window.reset();
  e.seq.store(seq + 2, std::memory_order_release);
}

IpEntry& IpTable::open(const core::IpAddress& address) noexcept {
  auto ip = address.unmapped();
  auto hash = std::hash<core::IpAddress>{}(ip);
  std::uint32_t i = kEmpty;
  if (capacity_ > 0) {
    auto pos = find(ip, hash);
    if (index_[pos] != kEmpty) {
      i = index_[pos];
      if (entries_[i].active.load() == 0) --idle_;
    } else {
      auto used = used_.load(std::memory_order_relaxed);
      if (used < capacity_) {
        i = static_cast<std::uint32_t>(used);
      } else if (idle_ > 0) {
        i = pick_victim();
        erase_index(find(keys_[i], hashes_[i]));
        --idle_;
        evictions_.add(1);
        pos = find(ip, hash);  // the erase may have moved entries
      }
      if (i != kEmpty) {
        keys_[i] = ip;
        hashes_[i] = hash;
        index_[pos] = i;
        set_key(i, ip);
        if (used < capacity_) used_.store(used + 1, std::memory_order_release);
      }
    }
  }
  if (i == kEmpty) {
    overflows_.add(1);
    other_.active.add(1);
    other_.total.add(1);
    return other_;
  }
  auto& e = entries_[i];
  e.active.add(1);
  e.total.add(1);
  return e;
}

void IpTable::close(IpEntry& entry) noexcept {
  entry.active.sub(1);
  if (&entry != &other_ && entry.active.load() == 0) ++idle_;
}

std::vector<IpSample> IpTable::sample(std::int64_t from, std::int64_t to) const {
  std::vector<IpSample> out;
  auto used = used_.load(std::memory_order_acquire);
  out.reserve(used);
  for (std::size_t i = 0; i < used; ++i) {
    const auto& e = entries_[i];
    for (int attempt = 0; attempt < 4; ++attempt) {
      auto before = e.seq.load(std::memory_order_acquire);
      if (before & 1) continue;
      auto w0 = e.key[0].load(std::memory_order_relaxed);
      auto w1 = e.key[1].load(std::memory_order_relaxed);
      auto w2 = e.key[2].load(std::memory_order_relaxed);
      auto s = read_counters(e, from, to);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (e.seq.load(std::memory_order_relaxed) != before || w2 == 0) continue;
      s.ip = decode_key(w0, w1, w2);
      out.push_back(s);
      break;
    }
  }
  return out;
}

IpSample IpTable::other(std::int64_t from, std::int64_t to) const {
  return read_counters(other_, from, to);
}

}  // namespace basalt::proxy
