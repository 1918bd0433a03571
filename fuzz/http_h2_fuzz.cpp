// A server-side HTTP/2 session (nghttp2 plus our callbacks, limits and
// flood budgets) fed untrusted bytes after a valid preface, answering every
// request it completes, with its output drained as a peer would read it.
#include "h2_server_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  basalt::http::Limits limits;
  limits.max_header_bytes = 2048;
  limits.max_body_bytes = 4096;
  limits.max_concurrent_streams = 8;
  limits.max_resets_per_window = 20;
  limits.max_settings_per_window = 20;
  limits.max_pings_per_window = 20;
  limits.max_empty_frames_per_window = 20;
  basalt::http::Stats stats;
  basalt::http::H2ServerProtocol server(limits, stats, {}, true);
  static const std::string kPreface =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\x04\0\0\0\0\0", 9);
  server.receive({reinterpret_cast<const std::uint8_t*>(kPreface.data()), kPreface.size()});
  std::size_t pos = 0;
  bool alive = true;
  while (alive && pos < size) {
    std::size_t chunk = std::min<std::size_t>(size - pos, 1 + (data[pos] % 97));
    alive = server.receive({data + pos, chunk});
    pos += chunk;
    for (auto& [id, request] : server.take_requests()) {
      basalt::http::Response r(200, request.body + request.path);
      r.headers.add("X-Method", request.method);
      server.respond(id, std::move(r), request.method == "HEAD");
    }
    for (auto out = server.next_output(); !out.empty(); out = server.next_output()) {
    }
  }
  server.shutdown_notice();
  for (auto out = server.next_output(); !out.empty(); out = server.next_output()) {
  }
  return 0;
}
