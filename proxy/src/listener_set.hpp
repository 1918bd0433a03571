// The proxy's listening ports: one acceptor per (bind address, worker),
// opened with SO_REUSEPORT, reference-counted by the routes (and
// `addListeningPort`) that use each port.
//
// Changing the set is two steps so a route update is all or nothing:
// prepare() binds every port the new set adds (on failure it closes what it
// opened and throws, changing nothing); commit() starts accepting on them and
// closes the ports the new set no longer has. Bind failures name the address:
// "0.0.0.0:443/tcp is already in use".
//
// Socket takeover: prepare() may be given the listening sockets a running
// proxy handed over (Inherited); it adopts every one of a (port, address) it
// needs, spread over the workers whatever their number (closing one of an
// SO_REUSEPORT group would reset the connections queued on it), and binds
// only what none of them covers. duplicate() gives a successor copies of
// every open socket.
//
// Thread-safety: control thread only (the proxy serialises calls); accept
// loops run on the workers and acceptors are closed on their own worker.
#pragma once

#include <boost/asio/ip/tcp.hpp>

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

class ListenerSet {
 public:
  // Called on worker `index`'s thread for each accepted connection.
  using OnAccept = std::function<void(std::size_t worker, boost::asio::ip::tcp::socket, std::uint16_t port)>;

  ListenerSet(core::Runtime& runtime, std::vector<core::IpAddress> bind_addresses, OnAccept on_accept);
  ~ListenerSet();

  struct Port;
  // Ports bound by prepare() and not yet committed; closed if dropped.
  struct Pending {
    std::vector<std::unique_ptr<Port>> ports;
    Pending();
    ~Pending();
  };
  // A listening TCP socket received from the process this one takes over from.
  struct Inherited {
    core::UniqueFd fd;
    core::IpAddress address;
    std::uint16_t port = 0;
    // What a received descriptor is: nullopt unless a listening TCP socket
    // of IPv4 or IPv6 (the caller then closes it).
    static std::optional<Inherited> inspect(core::UniqueFd fd);
  };

  // Binds the ports of `wanted` that are not open yet. With `inherited`:
  // first adopts the inherited sockets of each (port, bind address) needed
  // (taking them out of the list); what is left there is not needed.
  std::unique_ptr<Pending> prepare(const std::set<std::uint16_t>& wanted,
                                   std::vector<Inherited>* inherited = nullptr);
  // Makes `wanted` the open set: starts the prepared ports, closes the rest.
  // When the workers run, it returns once they have closed the dropped
  // ports' acceptors (so a port reported closed refuses connections).
  void commit(std::unique_ptr<Pending> pending, const std::set<std::uint16_t>& wanted);
  // Closes every port (shutdown).
  void close_all();

  std::vector<std::uint16_t> ports() const;
  // A duplicate (O_CLOEXEC) of every open listening socket, for a successor.
  std::vector<core::UniqueFd> duplicate() const;

 private:
  void start(Port& port);
  bool adopt(Port& port, const core::IpAddress& address, std::vector<Inherited>& inherited);
  core::Runtime& runtime_;
  std::vector<core::IpAddress> bind_addresses_;
  OnAccept on_accept_;
  std::map<std::uint16_t, std::unique_ptr<Port>> open_;
};

}  // namespace basalt::proxy
