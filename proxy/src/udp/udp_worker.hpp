// The UDP engine of one worker: reads its listening sockets in batches
// (recvmmsg), finds or opens the session of each datagram's client, and
// relays: client datagrams out on the session's connected backend socket,
// backend datagrams back to the client (sendmmsg) from the address the
// client sent to. A socket-handler route answers without a session (echo
// sends the datagram back; block drops it).
//
// Sessions end when idle for the route's udp.sessionTimeout (datagrams in
// either direction count), when the backend answers with ICMP port
// unreachable, when their route was removed and drainGrace has passed, or
// when their port closes. While the proxy drains, the listening sockets are
// no longer read (a successor reads them) and a session idle for a second
// ends; the worker holds a shutdown token while it has sessions, so
// answers in flight still reach their clients.
//
// Cost per datagram in steady state: one hash lookup, one send(2) towards
// the backend, a share of one recvmmsg(2) and one sendmmsg(2); no
// allocation. New sessions allocate (the session, its socket, its read loop).
//
// Thread-safety: every member runs on the worker's thread, except
// counters(), which any thread may read.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <optional>

#include "basalt/core/shutdown.hpp"
#include "udp/datagram_batch.hpp"
#include "udp/udp_counters.hpp"
#include "udp/udp_session_table.hpp"

namespace basalt::proxy {

struct Worker;
struct Route;
class UdpListenerSocket;

class UdpWorker {
 public:
  UdpWorker(Worker& worker, std::size_t route_slots);
  ~UdpWorker();
  UdpWorker(const UdpWorker&) = delete;
  UdpWorker& operator=(const UdpWorker&) = delete;

  // Worker thread: a listening socket to read; one to close (with its
  // sessions); one to stop reading (drain).
  void start_listener(std::shared_ptr<UdpListenerSocket> listener);
  void close_listener(const std::shared_ptr<UdpListenerSocket>& listener);
  void stop_reading(const std::shared_ptr<UdpListenerSocket>& listener);

  // Any thread.
  const UdpCounters& counters() const noexcept { return counters_; }

 private:
  using Clock = UdpSession::Clock;
  boost::asio::awaitable<void> read_loop(std::shared_ptr<UdpListenerSocket> listener);
  boost::asio::awaitable<void> backend_loop(std::shared_ptr<UdpSession> session);
  boost::asio::awaitable<void> connect_later(std::shared_ptr<UdpSession> session, std::string host,
                                             std::uint16_t port);
  boost::asio::awaitable<void> sweep_loop();

  void on_datagram(UdpListenerSocket& listener, const std::shared_ptr<UdpListenerSocket>& shared,
                   std::size_t i, Clock::time_point now);
  void open_session(const std::shared_ptr<UdpListenerSocket>& listener, const Route* route, std::size_t i,
                    const UdpSessionKey& key, const core::Endpoint& client, Clock::time_point now);
  void forward(UdpSession& session, std::span<const std::byte> data, Clock::time_point now);
  bool connect_backend(UdpSession& session, const core::IpAddress& address, std::uint16_t port);
  void close_session(const std::shared_ptr<UdpSession>& session, bool expired);
  void end_session(const UdpSessionKey& key, bool expired);
  void track_sessions();

  Worker& worker_;
  UdpCounters counters_;
  UdpSessionTable table_;
  DatagramBatch batch_;
  std::optional<core::Shutdown::Token> hold_;  // while sessions are open
  bool sweeping_ = false;
};

}  // namespace basalt::proxy
