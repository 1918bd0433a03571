// The takeover socket's reader (proxy/src/daemon/takeover_channel.hpp) as a
// running proxy runs it on what a client sends: bytes through a real Unix
// socket in pieces (byte 0 picks the piece size), split into lines, each
// parsed. Every line either parses into a message of version 1 with a known
// op, or is refused with TakeoverError, after which the reader stops (as
// the server closes the connection); no line ever exceeds the limit.
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/takeover_channel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using basalt::proxy::TakeoverChannel;
  using basalt::proxy::TakeoverError;
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64 * 67;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  basalt::core::UniqueFd writer(fds[0]);
  TakeoverChannel reader{basalt::core::UniqueFd(fds[1])};
  try {
    for (std::size_t at = 0; at < input.size(); at += piece) {
      auto chunk = input.substr(at, piece);
      if (::send(writer.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(chunk.size()))
        std::abort();
      if (!reader.read_available()) std::abort();  // the writer is still open
      while (auto message = reader.next()) {
        if (message->op.empty() || message->body.at("v").as_int64() != basalt::proxy::kTakeoverVersion)
          std::abort();
        try {
          message->number("count");
        } catch (const TakeoverError&) {
        }
      }
    }
  } catch (const TakeoverError&) {
    return 0;
  }
  writer.reset();
  if (reader.read_available()) std::abort();  // end of stream
  if (reader.pending_fds() != 0) std::abort();
  return 0;
}
