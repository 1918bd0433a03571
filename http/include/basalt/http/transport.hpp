// A byte stream a session reads and writes: plain TCP or TLS over TCP.
//
// Sessions (HTTP/1.1, HTTP/2, server and client) are written once against
// this interface instead of being templates over the stream type, which
// keeps the heavy session code in one compiled copy. A program that accepts
// and ends TLS itself (the proxy) implements it over its own stream and
// hands it to a ConnectionServer (connection_server.hpp). Operations report
// failures through error codes, never exceptions. One read and one write may
// be in flight at the same time (HTTP/2 reads while it writes). All calls on
// the executor of the underlying socket.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <span>
#include <string>

struct ssl_st;

namespace boost::asio::ssl {
class context;
}

namespace basalt::http {

class Transport {
 public:
  virtual ~Transport() = default;

  // Reads at least one byte; 0 with `ec` set on failure or EOF.
  virtual boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer,
                                                        boost::system::error_code& ec) = 0;
  // Writes all buffers.
  virtual boost::asio::awaitable<void> write(std::span<const boost::asio::const_buffer> buffers,
                                             boost::system::error_code& ec) = 0;
  // A coroutine (not a forwarding function) so `buffer` lives in its frame.
  boost::asio::awaitable<void> write(boost::asio::const_buffer buffer, boost::system::error_code& ec) {
    co_await write(std::span<const boost::asio::const_buffer>(&buffer, 1), ec);
  }
  // Ends the stream politely: TLS close_notify (bounded by the caller's
  // watchdog), then TCP FIN. Errors are ignored.
  virtual boost::asio::awaitable<void> shutdown() = 0;
  // Sends FIN (cleartext) so the peer sees the end of our response while we
  // drain what it still sends; a no-op on TLS.
  virtual void shutdown_send() noexcept = 0;
  // Cancels pending reads and writes (they complete with operation_aborted).
  virtual void cancel() noexcept = 0;
  // Closes the socket; pending operations complete with an error.
  virtual void close() noexcept = 0;
  virtual bool is_open() const noexcept = 0;
  virtual bool secure() const noexcept = 0;
  virtual ssl_st* ssl() noexcept { return nullptr; }
  virtual boost::asio::ip::tcp::socket& socket() noexcept = 0;
};

std::unique_ptr<Transport> make_plain_transport(boost::asio::ip::tcp::socket socket);
// A TLS stream over `socket` from `context`; the handshake is not done yet.
std::unique_ptr<Transport> make_tls_transport(boost::asio::ip::tcp::socket socket,
                                              boost::asio::ssl::context& context);
// The TLS handshake of a transport from make_tls_transport (server or client
// side). Fails with the TLS error; no-op for plain transports.
boost::asio::awaitable<void> tls_handshake(Transport& transport, bool server, boost::system::error_code& ec);

}  // namespace basalt::http
