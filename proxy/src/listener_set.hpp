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
// Thread-safety: control thread only (the proxy serialises calls); accept
// loops run on the workers and acceptors are closed on their own worker.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "basalt/core/ip.hpp"

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
  // Binds the ports of `wanted` that are not open yet.
  std::unique_ptr<Pending> prepare(const std::set<std::uint16_t>& wanted);
  // Makes `wanted` the open set: starts the prepared ports, closes the rest.
  // When the workers run, it returns once they have closed the dropped
  // ports' acceptors (so a port reported closed refuses connections).
  void commit(std::unique_ptr<Pending> pending, const std::set<std::uint16_t>& wanted);
  // Closes every port (shutdown).
  void close_all();

  std::vector<std::uint16_t> ports() const;

 private:
  void start(Port& port);
  core::Runtime& runtime_;
  std::vector<core::IpAddress> bind_addresses_;
  OnAccept on_accept_;
  std::map<std::uint16_t, std::unique_ptr<Port>> open_;
};

}  // namespace basalt::proxy
