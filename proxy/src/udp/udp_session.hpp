// One UDP session: a client address and port on one listening socket, the
// route it matched and the connected socket towards the backend chosen for
// it. Datagrams from the client go out on that socket; what comes back on
// it goes to the client from the listening socket, from the address the
// client sent to. A session keeps its route set (and so its route, backend
// and limits) until it ends, whatever `updateRoutes` does meanwhile.
//
// Owned by its worker's UdpSessionTable; the backend read loop holds a
// shared_ptr while it waits. Worker thread only.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "balance/backend_pool.hpp"
#include "basalt/core/ip.hpp"
#include "metrics/worker_metrics.hpp"
#include "security/connection_limits.hpp"
#include "udp/datagram_batch.hpp"
#include "udp/udp_counters.hpp"

namespace basalt::proxy {

struct Route;
struct RouteSet;
class RouteRetirement;
struct UdpRouteLimits;
class UdpListenerSocket;

// A client of one listening socket: the table's key. Compared and hashed
// as plain bytes (the address is stored zero-padded).
struct UdpSessionKey {
  std::uint32_t listener = 0;  // UdpListenerSocket::id()
  std::uint16_t port = 0;      // the client's port
  std::uint8_t family = 0;     // AF_INET / AF_INET6
  std::uint8_t pad = 0;
  std::array<std::uint8_t, 16> address{};

  // The key of a datagram from `source` on `listener`.
  static UdpSessionKey of(std::uint32_t listener, const sockaddr_storage& source) noexcept;
  bool operator==(const UdpSessionKey&) const = default;
};

struct UdpSession {
  using Clock = std::chrono::steady_clock;

  UdpSession(boost::asio::io_context& io, const UdpSessionKey& k) : key(k), backend(io) {}

  UdpSessionKey key;
  boost::asio::ip::udp::socket backend;         // connected to the backend
  std::shared_ptr<UdpListenerSocket> listener;  // where answers leave
  sockaddr_storage client_address{};            // where answers go
  socklen_t client_length = 0;
  LocalAddress local;  // the address the client sent to
  core::Endpoint client;
  std::uint16_t port = 0;  // the listening port

  std::shared_ptr<const RouteSet> routes;  // the snapshot `route` belongs to
  const Route* route = nullptr;
  std::shared_ptr<const RouteRetirement> retirement;
  std::shared_ptr<UdpRouteLimits> limits;  // outlives `ticket`
  ConnectionTicket ticket;
  std::shared_ptr<const BackendPool> pool;  // outlives `lease`
  BackendPool::Lease lease;
  std::size_t backend_index = 0;
  ConnectionHandle metrics;
  RouteDatagrams* datagrams = nullptr;

  Clock::duration timeout{};
  Clock::time_point last_activity{};
  Clock::time_point opened{};
  bool answered = false;  // the backend has sent something
  bool closed = false;

  // Datagrams that came while the backend's name was being resolved
  // (bounded: kMaxPending; more are dropped and counted).
  static constexpr std::size_t kMaxPending = 16;
  std::vector<std::vector<std::byte>> pending;
  bool connecting = false;
};

}  // namespace basalt::proxy
