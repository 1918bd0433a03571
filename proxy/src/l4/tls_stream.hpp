// A TLS session over a TCP socket, driven straight on OpenSSL: OpenSSL reads
// and writes the socket's descriptor itself (no extra copy through Asio's
// SSL engine), and the coroutines wait for readiness on the Asio socket.
//
// The proxy reads the ClientHello before it knows whether and how to end
// TLS; those bytes are handed to the server side as `prefix` and OpenSSL
// reads them before the socket. The descriptor-level design keeps the door
// open for kernel TLS later (the session's keys could be handed to the
// socket after the handshake).
//
// Lifetime: owns the socket and the SSL object. Thread-safety: as
// ByteStream (one worker thread; one read and one write at a time).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "l4/byte_stream.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace basalt::proxy {

class TlsStream final : public ByteStream {
 public:
  // A server session from `ctx`; `prefix` = bytes already read from the socket.
  static std::unique_ptr<TlsStream> server(ssl_ctx_st* ctx, boost::asio::ip::tcp::socket socket,
                                           std::vector<std::uint8_t> prefix);
  // A client session from `ctx` (prepare it with SSL functions on native()
  // before handshake(): SNI, host check, ALPN).
  static std::unique_ptr<TlsStream> client(ssl_ctx_st* ctx, boost::asio::ip::tcp::socket socket);
  ~TlsStream() override;

  // Runs the handshake; on failure `ec` is set and reason() says why.
  boost::asio::awaitable<void> handshake(boost::system::error_code& ec);
  // Why the handshake or the last operation failed ("" if it did not).
  const std::string& reason() const noexcept { return reason_; }
  ssl_st* native() const noexcept { return ssl_; }

  boost::asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buffer,
                                                boost::system::error_code& ec) override;
  boost::asio::awaitable<void> write_all(std::span<const std::uint8_t> bytes,
                                         boost::system::error_code& ec) override;
  void shutdown_write() noexcept override;
  void close() noexcept override;
  boost::asio::ip::tcp::socket& socket() noexcept override { return socket_; }

  struct BioState {
    int fd = -1;
    std::vector<std::uint8_t> prefix;
    std::size_t offset = 0;
  };

 private:
  TlsStream(ssl_ctx_st* ctx, boost::asio::ip::tcp::socket socket, std::vector<std::uint8_t> prefix);
  // Waits for what OpenSSL asked for after `result`; false: a real error (ec set).
  boost::asio::awaitable<bool> wait_for(int result, boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  BioState bio_state_;
  ssl_st* ssl_ = nullptr;
  std::string reason_;
};

}  // namespace basalt::proxy
