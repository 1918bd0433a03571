// One end of a socket-takeover connection between two basalt-proxy
// processes (docs/proxy.md, "Reloads, takeover and drain"): a Unix stream
// socket carrying one JSON object per line both ways, each with the protocol
// version ("v": 1) and an "op"; a `sockets` line carries listening sockets
// (SCM_RIGHTS, at most core::kMaxFdsPerSend) and says how many.
//
//   TakeoverChannel channel(std::move(fd));
//   channel.send("hello", {{"pid", getpid()}});
//   auto answer = channel.receive(deadline);     // nullopt: the peer closed
//
// Bounded: a line longer than kMaxTakeoverLine, anything but an object of
// this version with a known op, or descriptors nobody announced end the
// connection with a TakeoverError (the caller answers `error` and closes;
// nothing else changes). Sends time out after 5 s.
//
// Thread-safety: one thread receives; send() may be called from another
// thread at the same time (it touches only the socket).
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/unique_fd.hpp"

namespace basalt::proxy {

inline constexpr std::int64_t kTakeoverVersion = 1;
inline constexpr std::size_t kMaxTakeoverLine = 64 * 1024;

// The protocol was broken, refused, or timed out; what() says how.
class TakeoverError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TakeoverMessage {
  std::string op;
  boost::json::object body;  // the whole line's object

  // A non-negative integer field, else TakeoverError naming it.
  std::uint64_t number(std::string_view key) const;
  // A string field ("" when absent or not a string).
  std::string text(std::string_view key) const;
};

// Parses one line (without its '\n'): an object with "v": kTakeoverVersion
// and a known "op" (hello, sockets, ready, drain, draining, status, close,
// error). Throws TakeoverError.
TakeoverMessage parse_takeover_line(std::string_view line);

class TakeoverChannel {
 public:
  explicit TakeoverChannel(core::UniqueFd socket);
  int fd() const noexcept { return fd_.get(); }

  // Sends {"v": 1, "op": op, ...fields} as one line with `fds` attached.
  // Throws TakeoverError when the peer is gone or does not read.
  void send(std::string_view op, const boost::json::object& fields = {}, std::span<const int> fds = {});

  // The next message, waiting until `deadline`; nullopt once the peer has
  // closed. Throws TakeoverError on a timeout or a broken protocol.
  std::optional<TakeoverMessage> receive(std::chrono::steady_clock::time_point deadline);

  // For a poll loop: reads what the socket has (call when it is readable;
  // false once the peer has closed), then take complete messages with next().
  bool read_available();
  std::optional<TakeoverMessage> next();

  // Descriptors received and not yet taken, oldest first: the `count` a
  // `sockets` line announced. Throws TakeoverError when fewer arrived.
  std::vector<core::UniqueFd> take_fds(std::size_t count);
  std::size_t pending_fds() const noexcept { return fds_.size(); }

 private:
  core::UniqueFd fd_;
  std::string buffer_;
  std::vector<core::UniqueFd> fds_;
  bool closed_ = false;
};

}  // namespace basalt::proxy
