// Serves DNS over TCP on one worker thread (RFC 7766): 2-byte length
// framing, pipelined queries answered as they complete (possibly out of
// order), an idle timeout that also bounds how long one query may take to
// arrive (so a client sending a byte a second is cut off), a server-wide
// connection limit and a per-connection limit on queries in flight. AXFR is
// served here to the addresses the transfer ACL allows.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/dns/server/server_config.hpp"
#include "server/worker.hpp"

namespace basalt::dns {

struct TcpLimits {
  std::chrono::milliseconds idle_timeout{10'000};
  std::size_t max_pipelined = 64;
  std::size_t max_connections = 1024;
};

class TcpListener {
 public:
  TcpListener(boost::asio::ip::tcp::acceptor acceptor, Worker& worker, TcpLimits limits,
              std::atomic<std::size_t>& open_connections, std::vector<core::Cidr> transfer_allow);
  ~TcpListener();
  void start();
  void close();  // from the acceptor's worker thread: stops accepting, closes connections

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace basalt::dns
