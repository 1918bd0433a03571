// Opening listening sockets, one per worker, with SO_REUSEPORT.
//
// Use open_udp_per_worker() / open_tcp_per_worker() to give every Runtime
// worker its own socket on the same address: the kernel spreads packets and
// connections over them, and each worker serves its socket without locks.
// Port 0 picks one free port, shared by all the workers' sockets.
//
// SO_REUSEPORT would also let another process of the same user bind the same
// address and silently take part of the traffic, so the per-worker functions
// first bind one probe socket without it: an address anyone already holds
// (another process, or an overlapping wildcard) fails the start with
// AddressInUse instead. Sockets of one call share the port; a second call for
// the same address fails like another process would.
//
// Failure: throws std::system_error whose message names the address and the
// protocol ("bind 127.0.0.1:53/udp: Permission denied"), or AddressInUse
// ("127.0.0.1:5353/udp is already in use").
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <string>
#include <system_error>
#include <vector>

namespace basalt::core {

class Runtime;

// The address is bound by another socket: what() is "127.0.0.1:5353/udp is
// already in use", code() is EADDRINUSE.
class AddressInUse : public std::system_error {
 public:
  explicit AddressInUse(const std::string& where);
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

struct SocketOptions {
  bool reuse_port = true;  // SO_REUSEPORT; TCP sockets also get SO_REUSEADDR (restart over TIME_WAIT)
  int receive_buffer = 0;  // SO_RCVBUF bytes (past rmem_max with CAP_NET_ADMIN); 0: the system default
  int send_buffer = 0;     // SO_SNDBUF bytes (past wmem_max with CAP_NET_ADMIN); 0: the system default
  int backlog = 1024;      // TCP listen backlog
};

boost::asio::ip::udp::socket open_udp(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& at,
                                      const SocketOptions& options = {});

boost::asio::ip::tcp::acceptor open_tcp(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at,
                                        const SocketOptions& options = {});

// One socket per runtime worker, all bound to the same address and port,
// after a probe bind without SO_REUSEPORT has shown nobody else holds it
// (TCP port 0 needs no probe: the kernel picks a port nobody listens on).
std::vector<boost::asio::ip::udp::socket> open_udp_per_worker(Runtime& runtime,
                                                              boost::asio::ip::udp::endpoint at,
                                                              const SocketOptions& options = {});
std::vector<boost::asio::ip::tcp::acceptor> open_tcp_per_worker(Runtime& runtime,
                                                                boost::asio::ip::tcp::endpoint at,
                                                                const SocketOptions& options = {});

}  // namespace basalt::core
