// Opening listening sockets, one per worker, with SO_REUSEPORT.
//
// Use open_udp_per_worker() / open_tcp_per_worker() to give every Runtime
// worker its own socket on the same address: the kernel spreads packets and
// connections over them, and each worker serves its socket without locks.
// Port 0 picks one free port, shared by all the workers' sockets.
//
// Failure: throws std::system_error whose message names the address and the
// protocol ("bind 127.0.0.1:53/udp: Permission denied").
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <vector>

namespace basalt::core {

class Runtime;

struct SocketOptions {
  bool reuse_port = true;
  int receive_buffer = 0;  // SO_RCVBUF bytes; 0 keeps the system default
  int send_buffer = 0;     // SO_SNDBUF bytes; 0 keeps the system default
  int backlog = 1024;      // TCP listen backlog
};

boost::asio::ip::udp::socket open_udp(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& at,
                                      const SocketOptions& options = {});

boost::asio::ip::tcp::acceptor open_tcp(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at,
                                        const SocketOptions& options = {});

// One socket per runtime worker, all bound to the same address and port.
std::vector<boost::asio::ip::udp::socket> open_udp_per_worker(Runtime& runtime,
                                                              boost::asio::ip::udp::endpoint at,
                                                              const SocketOptions& options = {});
std::vector<boost::asio::ip::tcp::acceptor> open_tcp_per_worker(Runtime& runtime,
                                                                boost::asio::ip::tcp::endpoint at,
                                                                const SocketOptions& options = {});

}  // namespace basalt::core
