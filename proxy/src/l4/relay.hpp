// Moves bytes both ways between a client and a backend until both
// directions have ended.
//
// Plain TCP to plain TCP goes through splice(2) (socket -> pipe -> socket,
// pipes from the worker's PipePool, held only while bytes are in flight);
// anything with TLS on one side copies through one 16 KiB buffer per
// direction. An orderly end of one direction (EOF) is passed on as a
// half-close (FIN, or close_notify + FIN) and the other direction carries on,
// so protocols that half-close keep working; an error on either side closes
// both. The caller bounds the relay's life (inactivity, lifetime, shutdown)
// by closing the streams, which ends it.
//
// Thread-safety: runs on the streams' worker thread. Never throws.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>

namespace basalt::proxy {

class ByteStream;
class PipePool;

// What a relay has moved; the relay updates it as it goes, so a watchdog or
// a metrics reader on the same thread sees progress.
struct Traffic {
  std::uint64_t from_client = 0;  // bytes read from the client and written to the backend
  std::uint64_t to_client = 0;    // bytes read from the backend and written to the client
  std::chrono::steady_clock::time_point last_activity{};
  // Called on every chunk moved, with the byte counts of that chunk.
  void (*report)(void* context, std::uint64_t from_client, std::uint64_t to_client) = nullptr;
  void* report_context = nullptr;

  void add(std::uint64_t in, std::uint64_t out) noexcept {
    from_client += in;
    to_client += out;
    last_activity = std::chrono::steady_clock::now();
    if (report) report(report_context, in, out);
  }
};

boost::asio::awaitable<void> relay(ByteStream& client, ByteStream& backend, PipePool& pipes,
                                   Traffic& traffic);

}  // namespace basalt::proxy
