#include "basalt/core/socket.hpp"

#include "basalt/core/runtime.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <system_error>
#include <type_traits>

namespace basalt::core {

AddressInUse::AddressInUse(const std::string& where)
    : std::system_error(EADDRINUSE, std::system_category(), where), message_(where + " is already in use") {}

namespace {

using boost::asio::ip::tcp;
using boost::asio::ip::udp;

template <class Endpoint>
std::string describe(const Endpoint& at, const char* proto) {
  auto addr = at.address();
  return addr.is_v6() ? fmt::format("[{}]:{}/{}", addr.to_string(), at.port(), proto)
                      : fmt::format("{}:{}/{}", addr.to_string(), at.port(), proto);
}

// A buffer size the operator asked for: with CAP_NET_ADMIN (root) past
// net.core.rmem_max / wmem_max (the FORCE option), else capped by the kernel.
// 0 keeps the system's default.
void set_buffer(int fd, int force_option, int option, int bytes) {
  if (bytes <= 0) return;
  if (::setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) == 0) return;
  ::setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

void check(const boost::system::error_code& ec, const char* step, const std::string& where) {
  if (ec == boost::asio::error::address_in_use) throw AddressInUse(where);
  if (ec) throw std::system_error(ec.value(), std::system_category(), fmt::format("{} {}", step, where));
}

// An open socket bound to `at` (not yet listening).
template <class Socket>
Socket bound(boost::asio::io_context& io, const typename Socket::endpoint_type& at, const SocketOptions& o) {
  constexpr bool is_tcp = std::is_same_v<Socket, tcp::acceptor>;
  auto where = describe(at, is_tcp ? "tcp" : "udp");
  Socket s(io);
  boost::system::error_code ec;
  s.open(at.protocol(), ec);
  check(ec, "open", where);
  // TCP: a restart may bind over connections still in TIME_WAIT. Not UDP:
  // there SO_REUSEADDR would let any other socket that sets it bind our
  // address too.
  if constexpr (is_tcp) {
    s.set_option(boost::asio::socket_base::reuse_address(true), ec);
    check(ec, "SO_REUSEADDR", where);
  }
  if (o.reuse_port) {
    int one = 1;
    if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw std::system_error(errno, std::system_category(), "SO_REUSEPORT " + where);
    }
  }
  set_buffer(s.native_handle(), SO_RCVBUFFORCE, SO_RCVBUF, o.receive_buffer);
  set_buffer(s.native_handle(), SO_SNDBUFFORCE, SO_SNDBUF, o.send_buffer);
  if (at.address().is_v6()) s.set_option(boost::asio::ip::v6_only(true), ec);
  s.bind(at, ec);
  check(ec, "bind", where);
  return s;
}

// Binds `at` once without SO_REUSEPORT and returns the port bound (the one
// the kernel chose for port 0). Throws AddressInUse when any socket holds an
// overlapping address: a listening TCP socket or any UDP socket, whatever its
// options — which the SO_REUSEPORT binds that follow would not notice when it
// belongs to another process of the same user.
template <class Socket>
std::uint16_t probe(const typename Socket::endpoint_type& at) {
  boost::asio::io_context io;
  return bound<Socket>(io, at, {.reuse_port = false}).local_endpoint().port();
}

}  // namespace

udp::socket open_udp(boost::asio::io_context& io, const udp::endpoint& at, const SocketOptions& options) {
  return bound<udp::socket>(io, at, options);
}

tcp::acceptor open_tcp(boost::asio::io_context& io, const tcp::endpoint& at, const SocketOptions& options) {
  auto a = bound<tcp::acceptor>(io, at, options);
  boost::system::error_code ec;
  a.listen(options.backlog, ec);
  check(ec, "listen", describe(at, "tcp"));
  return a;
}

std::vector<udp::socket> open_udp_per_worker(Runtime& runtime, udp::endpoint at,
                                             const SocketOptions& options) {
  SocketOptions o = options;
  o.reuse_port = o.reuse_port || runtime.workers() > 1;
  at.port(probe<udp::socket>(at));  // port 0: the probe's port, shared by all
  std::vector<udp::socket> sockets;
  for (std::size_t i = 0; i < runtime.workers(); ++i) sockets.push_back(open_udp(runtime.worker(i), at, o));
  return sockets;
}

std::vector<tcp::acceptor> open_tcp_per_worker(Runtime& runtime, tcp::endpoint at,
                                               const SocketOptions& options) {
  SocketOptions o = options;
  o.reuse_port = o.reuse_port || runtime.workers() > 1;
  // For TCP port 0 the kernel never picks a port a listening socket holds,
  // even with SO_REUSEPORT, so no probe: it would only open a window in which
  // the port it found could be taken. (UDP port 0 may join another
  // SO_REUSEPORT group of the same user, so there the probe picks the port.)
  if (at.port() != 0) probe<tcp::acceptor>(at);
  std::vector<tcp::acceptor> acceptors;
  for (std::size_t i = 0; i < runtime.workers(); ++i) {
    acceptors.push_back(open_tcp(runtime.worker(i), at, o));
    if (i == 0) at.port(acceptors.front().local_endpoint().port());
  }
  return acceptors;
}

}  // namespace basalt::core
