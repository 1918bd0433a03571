// The proxy's UDP ports: one socket per (bind address, worker), opened with
// SO_REUSEPORT, for every port of a UDP route (match.transport udp or all).
// The UDP counterpart of ListenerSet, with the same two steps: prepare()
// binds what the new set adds (on failure it closes what it opened and
// throws, changing nothing), commit() hands the new sockets to their
// workers and closes the ports the new set no longer has (their sessions
// end with them).
//
// Socket takeover: UDP sockets are handed to a successor like TCP ones
// (duplicate()); prepare() adopts inherited sockets of a (port, address)
// it needs. A successor reads the very same sockets, so clients keep their
// worker and nothing queued is lost.
//
// Thread-safety: control thread only (the proxy serialises calls); the
// sockets live on their workers and are started, stopped and closed there.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/core/unique_fd.hpp"

namespace basalt::core {
class Runtime;
}

namespace basalt::proxy {

class UdpListenerSocket;

class UdpListenerSet {
 public:
  // Run on the socket's worker thread.
  struct Hooks {
    std::function<void(std::size_t worker, std::shared_ptr<UdpListenerSocket>)> start;
    // close: the port is gone; stop_reading: the proxy drains.
    std::function<void(std::size_t worker, std::shared_ptr<UdpListenerSocket>)> close;
    std::function<void(std::size_t worker, std::shared_ptr<UdpListenerSocket>)> stop_reading;
  };

  UdpListenerSet(core::Runtime& runtime, std::vector<core::IpAddress> bind_addresses, Hooks hooks);
  ~UdpListenerSet();

  struct Port;
  struct Pending {
    std::vector<std::unique_ptr<Port>> ports;
    Pending();
    ~Pending();
  };
  // A bound UDP socket received from the process this one takes over from.
  struct Inherited {
    core::UniqueFd fd;
    core::IpAddress address;
    std::uint16_t port = 0;
    // nullopt unless `fd` is a bound UDP socket of IPv4 or IPv6.
    static std::optional<Inherited> inspect(core::UniqueFd fd);
  };

  std::unique_ptr<Pending> prepare(const std::set<std::uint16_t>& wanted,
                                   std::vector<Inherited>* inherited = nullptr);
  void commit(std::unique_ptr<Pending> pending, const std::set<std::uint16_t>& wanted);
  // Stops reading every socket (drain, shutdown); sessions still answer.
  void stop_reading();

  std::vector<std::uint16_t> ports() const;
  std::vector<core::UniqueFd> duplicate() const;

 private:
  void post_all(const Port& port,
                const std::function<void(std::size_t, std::shared_ptr<UdpListenerSocket>)>& f, bool wait);
  std::shared_ptr<UdpListenerSocket> make(std::size_t worker, int fd, std::uint16_t port, bool v6);
  core::Runtime& runtime_;
  std::vector<core::IpAddress> bind_addresses_;
  Hooks hooks_;
  std::map<std::uint16_t, std::unique_ptr<Port>> open_;
  std::uint32_t next_id_ = 1;
  bool reading_ = true;
};

}  // namespace basalt::proxy
