#include "l4/byte_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace basalt::proxy {

namespace asio = boost::asio;

asio::awaitable<std::size_t> PlainStream::read_some(std::span<std::uint8_t> buffer,
                                                    boost::system::error_code& ec) {
  auto buf = asio::buffer(buffer.data(), buffer.size());
  auto [e, n] = co_await socket_.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
  if (e == asio::error::eof) {
    ec = {};
    co_return 0;
  }
  ec = e;
  co_return n;
}

asio::awaitable<void> PlainStream::write_all(std::span<const std::uint8_t> bytes,
                                             boost::system::error_code& ec) {
  auto buf = asio::buffer(bytes.data(), bytes.size());
  auto [e, n] = co_await asio::async_write(socket_, buf, asio::as_tuple(asio::use_awaitable));
  ec = e;
}

void PlainStream::shutdown_write() noexcept {
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

void PlainStream::close() noexcept {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace basalt::proxy
