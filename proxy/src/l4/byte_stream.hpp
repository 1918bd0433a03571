// One side of a relayed connection as a byte stream: a plain TCP socket or a
// TLS session on one. The relay (relay.hpp) moves bytes between two of them
// without knowing which kind each is.
//
// All operations run on the socket's own worker thread; a read and a write
// may be in flight at once (the relay's two directions), nothing else.
// Failures are reported through the error_code, never thrown; a read of 0
// bytes without an error is the peer's orderly end of its direction.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace basalt::proxy {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual boost::asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buffer,
                                                        boost::system::error_code& ec) = 0;
  virtual boost::asio::awaitable<void> write_all(std::span<const std::uint8_t> bytes,
                                                 boost::system::error_code& ec) = 0;
  // Ends this side's sending direction (TCP FIN; TLS close_notify then FIN).
  virtual void shutdown_write() noexcept = 0;
  // Closes at once; pending operations complete with an error.
  virtual void close() noexcept = 0;
  virtual boost::asio::ip::tcp::socket& socket() noexcept = 0;
};

// A plain TCP socket.
class PlainStream final : public ByteStream {
 public:
  explicit PlainStream(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  boost::asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buffer,
                                                boost::system::error_code& ec) override;
  boost::asio::awaitable<void> write_all(std::span<const std::uint8_t> bytes,
                                         boost::system::error_code& ec) override;
  void shutdown_write() noexcept override;
  void close() noexcept override;
  boost::asio::ip::tcp::socket& socket() noexcept override { return socket_; }

 private:
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace basalt::proxy
