// Passing open file descriptors to another process over a connected Unix
// stream socket (SCM_RIGHTS), as a restarting basalt-proxy hands its
// listening sockets to the process that replaces it (Envoy's hot restart,
// HAProxy's `-x`). The receiver gets new descriptors for the same open
// sockets: both processes may use them until one closes its copy.
//
//   core::send_with_fds(sock, "{\"op\":\"sockets\",\"count\":2}\n", std::array{fd1, fd2});
//   std::vector<core::UniqueFd> fds;
//   auto n = core::receive_with_fds(sock, buffer, fds);   // bytes read; fds appended
//
// Bytes are an ordinary stream: the descriptors of one send travel with its
// first byte, and a receive returns them with the bytes it reads (it never
// reads past the bytes of one send that carries descriptors). A protocol
// built on this says in its bytes how many descriptors a message carries.
//
// Both calls block (unless the socket is non-blocking), retry EINTR, and
// honour SO_SNDTIMEO / SO_RCVTIMEO (a timeout throws). Every received
// descriptor is O_CLOEXEC. Failures throw std::system_error naming the step.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "basalt/core/unique_fd.hpp"

namespace basalt::core {

// Most descriptors one send may carry (the kernel's own limit, SCM_MAX_FD,
// is 253); receive_with_fds() has room for exactly this many.
inline constexpr std::size_t kMaxFdsPerSend = 64;

// Writes all of `data` (not empty) to `socket`, with `fds` (at most
// kMaxFdsPerSend) attached to its first byte; what a short write leaves is
// sent after it without descriptors. The caller keeps its descriptors (the
// receiver gets duplicates). SIGPIPE is never raised. Throws
// std::invalid_argument for empty data or too many descriptors,
// std::system_error when the socket fails or times out.
void send_with_fds(int socket, std::string_view data, std::span<const int> fds = {});

// Reads up to `buffer.size()` bytes (at least 1) from `socket` and appends
// the descriptors that came with them to `fds`, each O_CLOEXEC. Returns the
// number of bytes read; 0 when the peer has closed. When the sender attached
// more descriptors than kMaxFdsPerSend (the kernel then drops the rest and
// reports MSG_CTRUNC) or the message was truncated, every descriptor of this
// receive is closed and it throws std::system_error (EMSGSIZE): the stream
// can no longer be trusted. A timeout or socket error throws too.
std::size_t receive_with_fds(int socket, std::span<char> buffer, std::vector<UniqueFd>& fds);

}  // namespace basalt::core
