#include "basalt/http/transport.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
    co_return co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers, error_code& ec) override {
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> shutdown() override {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    co_return;
  }
  void shutdown_send() noexcept override {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  void cancel() noexcept override {
    error_code ignored;
    socket_.cancel(ignored);
  }
  void close() noexcept override {
    error_code ignored;
    socket_.close(ignored);
  }
  bool is_open() const noexcept override { return socket_.is_open(); }
  bool secure() const noexcept override { return false; }
  asio::ip::tcp::socket& socket() noexcept override { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
};

class TlsTransport final : public Transport {
 public:
  TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& context)
      : stream_(std::move(socket), context) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
    co_return co_await stream_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers, error_code& ec) override {
    co_await asio::async_write(stream_, buffers, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> shutdown() override {
    error_code ignored;
    co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
    stream_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  void shutdown_send() noexcept override {}
  void cancel() noexcept override {
    error_code ignored;
    stream_.next_layer().cancel(ignored);
  }
  void close() noexcept override {
    error_code ignored;
    stream_.next_layer().close(ignored);
  }
  bool is_open() const noexcept override { return stream_.next_layer().is_open(); }
  bool secure() const noexcept override { return true; }
  ssl_st* ssl() noexcept override { return stream_.native_handle(); }
  asio::ip::tcp::socket& socket() noexcept override { return stream_.next_layer(); }

  asio::awaitable<void> handshake(bool server, error_code& ec) {
    co_await stream_.async_handshake(server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
  }

 private:
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
};

}  // namespace

std::unique_ptr<Transport> make_plain_transport(asio::ip::tcp::socket socket) {
  return std::make_unique<PlainTransport>(std::move(socket));
}

std::unique_ptr<Transport> make_tls_transport(asio::ip::tcp::socket socket, asio::ssl::context& context) {
  return std::make_unique<TlsTransport>(std::move(socket), context);
}

asio::awaitable<void> tls_handshake(Transport& transport, bool server, error_code& ec) {
  if (auto* tls = dynamic_cast<TlsTransport*>(&transport)) co_await tls->handshake(server, ec);
}

}  // namespace basalt::http
