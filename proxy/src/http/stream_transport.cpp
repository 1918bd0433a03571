// make_stream_transport (stream_transport.hpp).
#include "http/stream_transport.hpp"

#include <array>
#include <cstring>
#include <vector>

#include "l4/relay.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Buffers up to this size together are written as one piece (one TLS
// record, one send) instead of one write each.
constexpr std::size_t kCoalesceBytes = 16 * 1024;

class StreamTransport final : public http::Transport {
 public:
  StreamTransport(std::unique_ptr<ByteStream> stream, ssl_st* tls, Traffic& traffic)
      : stream_(std::move(stream)), tls_(tls), traffic_(traffic) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
    std::span<std::uint8_t> out(static_cast<std::uint8_t*>(buffer.data()), buffer.size());
    std::size_t n = co_await stream_->read_some(out, ec);
    if (!ec && n == 0) ec = asio::error::eof;
    if (n > 0) traffic_.add(n, 0);
    co_return n;
  }

  asio::awaitable<void> write(std::span<const asio::const_buffer> buffers, error_code& ec) override {
    std::size_t total = 0;
    for (const auto& b : buffers) total += b.size();
    traffic_.add(0, total);
    if (buffers.size() > 1 && total <= kCoalesceBytes) {
      joined_.resize(total);
      std::size_t at = 0;
      for (const auto& b : buffers) {
        if (b.size() == 0) continue;  // an empty buffer may have no data pointer at all
        std::memcpy(joined_.data() + at, b.data(), b.size());
        at += b.size();
      }
      std::span<const std::uint8_t> all(joined_.data(), total);
      co_await stream_->write_all(all, ec);
      co_return;
    }
    for (const auto& b : buffers) {
      if (b.size() == 0) continue;
      std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(b.data()), b.size());
      co_await stream_->write_all(bytes, ec);
      if (ec) co_return;
    }
  }

  asio::awaitable<void> shutdown() override {
    stream_->shutdown_write();
    co_return;
  }
  void shutdown_send() noexcept override {
    if (!tls_) stream_->shutdown_write();
  }
  void cancel() noexcept override {
    error_code ignored;
    stream_->socket().cancel(ignored);
  }
  void close() noexcept override { stream_->close(); }
  bool is_open() const noexcept override { return stream_->socket().is_open(); }
  bool secure() const noexcept override { return tls_ != nullptr; }
  ssl_st* ssl() noexcept override { return tls_; }
  asio::ip::tcp::socket& socket() noexcept override { return stream_->socket(); }

 private:
  std::unique_ptr<ByteStream> stream_;
  ssl_st* tls_;
  Traffic& traffic_;
  std::vector<std::uint8_t> joined_;
};

}  // namespace

std::unique_ptr<http::Transport> make_stream_transport(std::unique_ptr<ByteStream> stream, ssl_st* tls,
                                                       Traffic& traffic) {
  return std::make_unique<StreamTransport>(std::move(stream), tls, traffic);
}

}  // namespace basalt::proxy
