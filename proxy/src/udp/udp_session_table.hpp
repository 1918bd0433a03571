// The UDP sessions of one worker, by client (UdpSessionKey): found once per
// datagram without allocating, swept for idle sessions by the worker's
// timer. Bounded: at most `capacity` sessions (a safety net above the
// routes' own limits, which count over every worker); insert() refuses more.
//
// The hash is keyed with a per-table random seed, so that clients cannot
// choose source ports that collide.
//
// Not thread-safe: one per worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "udp/udp_session.hpp"

namespace basalt::proxy {

class UdpSessionTable {
 public:
  using Clock = UdpSession::Clock;
  static constexpr std::size_t kDefaultCapacity = 262'144;

  explicit UdpSessionTable(std::size_t capacity = kDefaultCapacity);

  UdpSession* find(const UdpSessionKey& key) const noexcept {
    auto it = sessions_.find(key);
    return it == sessions_.end() ? nullptr : it->second.get();
  }
  // False when the table is full or the key is taken.
  bool insert(std::shared_ptr<UdpSession> session);
  // Removes the session (it stays alive while someone else holds it).
  std::shared_ptr<UdpSession> erase(const UdpSessionKey& key);

  // The sessions for which `expired(session)` is true, removed from the table.
  std::vector<std::shared_ptr<UdpSession>> sweep(const std::function<bool(const UdpSession&)>& expired);
  // Every session, removed from the table.
  std::vector<std::shared_ptr<UdpSession>> take_all();

  std::size_t size() const noexcept { return sessions_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Hash {
    std::uint64_t seed;
    std::size_t operator()(const UdpSessionKey& key) const noexcept;
  };
  std::size_t capacity_;
  std::unordered_map<UdpSessionKey, std::shared_ptr<UdpSession>, Hash> sessions_;
};

}  // namespace basalt::proxy
