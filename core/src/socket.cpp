#include "basalt/core/socket.hpp"

#include "basalt/core/runtime.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <system_error>

namespace basalt::core {
namespace {

template <class Endpoint>
std::string describe(const Endpoint& at, const char* proto) {
  auto addr = at.address();
  return addr.is_v6() ? fmt::format("[{}]:{}/{}", addr.to_string(), at.port(), proto)
                      : fmt::format("{}:{}/{}", addr.to_string(), at.port(), proto);
}

void check(const boost::system::error_code& ec, const char* step, const std::string& where) {
  if (ec) throw std::system_error(ec.value(), std::system_category(), fmt::format("{} {}", step, where));
}

template <class Socket>
void apply_common(Socket& s, const SocketOptions& o, const std::string& where) {
  boost::system::error_code ec;
  s.set_option(boost::asio::socket_base::reuse_address(true), ec);
  check(ec, "SO_REUSEADDR", where);
  if (o.reuse_port) {
    int one = 1;
    if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw std::system_error(errno, std::system_category(), "SO_REUSEPORT " + where);
    }
  }
  if (o.receive_buffer > 0) s.set_option(boost::asio::socket_base::receive_buffer_size(o.receive_buffer), ec);
  if (o.send_buffer > 0) s.set_option(boost::asio::socket_base::send_buffer_size(o.send_buffer), ec);
}

}  // namespace

boost::asio::ip::udp::socket open_udp(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& at,
                                      const SocketOptions& options) {
  auto where = describe(at, "udp");
  boost::asio::ip::udp::socket s(io);
  boost::system::error_code ec;
  s.open(at.protocol(), ec);
  check(ec, "open", where);
  apply_common(s, options, where);
  if (at.address().is_v6()) s.set_option(boost::asio::ip::v6_only(true), ec);
  s.bind(at, ec);
  check(ec, "bind", where);
  return s;
}

boost::asio::ip::tcp::acceptor open_tcp(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at,
                                        const SocketOptions& options) {
  auto where = describe(at, "tcp");
  boost::asio::ip::tcp::acceptor a(io);
  boost::system::error_code ec;
  a.open(at.protocol(), ec);
  check(ec, "open", where);
  apply_common(a, options, where);
  if (at.address().is_v6()) a.set_option(boost::asio::ip::v6_only(true), ec);
  a.bind(at, ec);
  check(ec, "bind", where);
  a.listen(options.backlog, ec);
  check(ec, "listen", where);
  return a;
}

std::vector<boost::asio::ip::udp::socket> open_udp_per_worker(Runtime& runtime,
                                                              boost::asio::ip::udp::endpoint at,
                                                              const SocketOptions& options) {
  std::vector<boost::asio::ip::udp::socket> sockets;
  SocketOptions o = options;
  o.reuse_port = o.reuse_port || runtime.workers() > 1;
  for (std::size_t i = 0; i < runtime.workers(); ++i) {
    sockets.push_back(open_udp(runtime.worker(i), at, o));
    if (i == 0) at.port(sockets.front().local_endpoint().port());  // port 0: share the chosen port
  }
  return sockets;
}

std::vector<boost::asio::ip::tcp::acceptor> open_tcp_per_worker(Runtime& runtime,
                                                                boost::asio::ip::tcp::endpoint at,
                                                                const SocketOptions& options) {
  std::vector<boost::asio::ip::tcp::acceptor> acceptors;
  SocketOptions o = options;
  o.reuse_port = o.reuse_port || runtime.workers() > 1;
  for (std::size_t i = 0; i < runtime.workers(); ++i) {
    acceptors.push_back(open_tcp(runtime.worker(i), at, o));
    if (i == 0) at.port(acceptors.front().local_endpoint().port());
  }
  return acceptors;
}

}  // namespace basalt::core
