// Serves DNS over TCP on one worker thread (RFC 7766): 2-byte length
// framing, pipelined queries answered as they complete (possibly out of
// order), and the bounds that keep one client from costing the server more
// than a fixed amount:
//  - an idle timeout that also bounds how long one query may take to arrive
//    (a client sending a byte a second is cut off);
//  - a bound on the answer bytes queued per connection: over it the
//    connection stops reading queries until the client reads its answers,
//    and a client that reads nothing for the write timeout is disconnected;
//  - a limit on queries in flight (awaiting handlers) per connection;
//  - connection slots from the server's shared TcpAdmission (per address,
//    per network, server-wide, idle connections evicted when full);
//  - accept() paused, not spun, when out of file descriptors.
// AXFR is served here to the addresses the transfer ACL allows, one message
// at a time as the client reads.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "basalt/core/ip.hpp"
#include "server/tcp_admission.hpp"
#include "server/worker.hpp"

namespace basalt::dns {

struct TcpLimits {
  std::chrono::milliseconds idle_timeout{10'000};
  std::chrono::milliseconds write_timeout{2'000};  // no answer byte taken by the client for this long
  std::size_t max_pipelined = 64;
  std::size_t max_queued_bytes = 64 * 1024;  // answers waiting for the client; over it, stop reading
};

class TcpListener {
 public:
  TcpListener(boost::asio::ip::tcp::acceptor acceptor, Worker& worker, TcpLimits limits,
              std::shared_ptr<TcpAdmission> admission, std::vector<core::Cidr> transfer_allow);
  ~TcpListener();
  void start();
  void close();  // from the acceptor's worker thread: stops accepting, closes connections

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace basalt::dns
