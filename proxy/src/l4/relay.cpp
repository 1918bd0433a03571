#include "l4/relay.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cerrno>
#include <memory>

#include "l4/byte_stream.hpp"
#include "l4/pipe_pool.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t kCopyBuffer = 16 * 1024;
constexpr std::size_t kSpliceChunk = 64 * 1024;

void add(Traffic& traffic, bool from_client, std::uint64_t n) {
  if (from_client)
    traffic.add(n, 0);
  else
    traffic.add(0, n);
}

// One direction through a buffer.
asio::awaitable<void> copy(ByteStream& from, ByteStream& to, bool from_client, Traffic& traffic) {
  auto buffer = std::make_unique<std::array<std::uint8_t, kCopyBuffer>>();
  std::span<std::uint8_t> whole(buffer->data(), buffer->size());
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = co_await from.read_some(whole, ec);
    if (ec) {
      from.close();
      to.close();
      co_return;
    }
    if (n == 0) {
      to.shutdown_write();
      co_return;
    }
    std::span<const std::uint8_t> chunk(buffer->data(), n);
    co_await to.write_all(chunk, ec);
    if (ec) {
      from.close();
      to.close();
      co_return;
    }
    add(traffic, from_client, n);
  }
}

// Moves what the pipe holds to `to`; false on an error.
//
// Descriptors are read from the sockets again after every suspension and
// never kept across one: the other direction may close both sockets while
// this one waits (a wait that completed just before the close still
// resumes with success), and the kernel hands a closed descriptor's number
// to the next connection accepted.
asio::awaitable<bool> drain(PipePool::Pipe pipe, std::size_t& pending, ByteStream& to) {
  while (pending > 0) {
    if (!to.socket().is_open()) co_return false;
    ssize_t m = ::splice(pipe.read_fd, nullptr, to.socket().native_handle(), nullptr, pending,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (m > 0) {
      pending -= static_cast<std::size_t>(m);
      continue;
    }
    if (m < 0 && (errno == EAGAIN || errno == EINTR)) {
      auto [e] =
          co_await to.socket().async_wait(asio::socket_base::wait_write, asio::as_tuple(asio::use_awaitable));
      if (e) co_return false;
      continue;
    }
    co_return false;
  }
  co_return true;
}

// One direction through a pipe; falls back to copying when no pipe is free.
asio::awaitable<void> splice_direction(ByteStream& from, ByteStream& to, bool from_client, PipePool& pipes,
                                       Traffic& traffic) {
  for (;;) {
    auto [e] =
        co_await from.socket().async_wait(asio::socket_base::wait_read, asio::as_tuple(asio::use_awaitable));
    if (e || !from.socket().is_open()) {  // see drain(): no descriptor is kept across a wait
      to.close();
      co_return;
    }
    const int in = from.socket().native_handle();
    auto pipe = pipes.take();
    if (!pipe.valid()) {
      co_await copy(from, to, from_client, traffic);
      co_return;
    }
    ssize_t n =
        ::splice(in, nullptr, pipe.write_fd, nullptr, kSpliceChunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      std::size_t pending = static_cast<std::size_t>(n);
      bool ok = co_await drain(pipe, pending, to);
      if (!ok) {
        pipes.discard(pipe);
        from.close();
        to.close();
        co_return;
      }
      pipes.give_back(pipe);
      add(traffic, from_client, static_cast<std::uint64_t>(n));
      continue;
    }
    pipes.give_back(pipe);
    if (n == 0) {
      to.shutdown_write();
      co_return;
    }
    if (errno == EAGAIN || errno == EINTR) continue;
    from.close();
    to.close();
    co_return;
  }
}

bool plain(ByteStream& s) {
  return dynamic_cast<PlainStream*>(&s) != nullptr;
}

}  // namespace

asio::awaitable<void> relay(ByteStream& client, ByteStream& backend, PipePool& pipes, Traffic& traffic) {
  traffic.last_activity = std::chrono::steady_clock::now();
  if (plain(client) && plain(backend)) {
    boost::system::error_code ignored;
    client.socket().native_non_blocking(true, ignored);
    backend.socket().native_non_blocking(true, ignored);
    co_await (splice_direction(client, backend, true, pipes, traffic) &&
              splice_direction(backend, client, false, pipes, traffic));
  } else {
    co_await (copy(client, backend, true, traffic) && copy(backend, client, false, traffic));
  }
}

}  // namespace basalt::proxy
