// Who may hold one of the server's TCP connections. Shared by the TCP
// listeners of every worker: a server-wide limit, and a share per client
// address and per client network (/24 for IPv4, /56 for IPv6 by default) so
// that one source cannot take every slot. When the server-wide limit is
// reached, the oldest idle connection of the heaviest network is closed to
// make room for the newcomer (an idle connection costs the server a slot and
// serves nobody); only when no connection is idle is the newcomer refused.
//
// Thread-safety: every member may be called from any thread. A Ticket keeps
// the admission alive, so tickets may outlive the listeners.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "basalt/core/ip.hpp"

namespace basalt::dns {

struct TcpAdmissionLimits {
  std::size_t max_connections = 1024;  // server-wide
  std::size_t per_address = 64;        // from one client address
  std::size_t per_prefix = 256;        // from one client network
  int prefix_v4 = 24;                  // what a network is, in bits
  int prefix_v6 = 56;
};

class TcpAdmission : public std::enable_shared_from_this<TcpAdmission> {
 public:
  enum class Verdict { kAdmitted, kAddressFull, kPrefixFull, kServerFull };

  // A held slot. Tell it when the connection waits for its next query with
  // nothing in flight and nothing queued (idle), and when it does not; drop
  // it when the connection ends.
  class Ticket {
   public:
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    void set_idle(bool idle) noexcept { idle_.store(idle, std::memory_order_relaxed); }

   private:
    friend class TcpAdmission;
    Ticket(std::shared_ptr<TcpAdmission> owner, core::IpAddress address, core::Cidr prefix,
           std::function<void()> evict)
        : owner_(std::move(owner)), address_(address), prefix_(prefix), evict_(std::move(evict)) {}
    std::shared_ptr<TcpAdmission> owner_;
    core::IpAddress address_;
    core::Cidr prefix_;
    std::function<void()> evict_;  // closes the connection, from any thread
    std::atomic<bool> idle_{false};
    bool evicted_ = false;  // (under the owner's mutex)
  };

  static std::shared_ptr<TcpAdmission> create(TcpAdmissionLimits limits);

  // A slot for a connection from `client`, or null and why not. `evict`
  // closes that connection when it must make room for another; it is called
  // under no lock of this class and must not block.
  std::unique_ptr<Ticket> admit(const core::IpAddress& client, std::function<void()> evict, Verdict& verdict);

  std::size_t open() const;
  std::size_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }

 private:
  explicit TcpAdmission(TcpAdmissionLimits limits) : limits_(limits) {}
  void release(Ticket& ticket);
  core::Cidr network_of(const core::IpAddress& a) const;
  Ticket* pick_victim();  // (under mutex_)

  struct Network {
    std::list<Ticket*> tickets;  // in the order they were admitted: oldest first
  };

  TcpAdmissionLimits limits_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<core::IpAddress, std::size_t> per_address_;
  std::unordered_map<core::IpAddress, Network> per_network_;  // keyed by the prefix's first address
  std::atomic<std::size_t> evicted_{0};
};

}  // namespace basalt::dns
