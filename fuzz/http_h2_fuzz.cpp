// A server-side HTTP/2 session (nghttp2 plus our callbacks, limits, flood
// budgets and the streaming bodies) fed untrusted bytes after a valid
// preface, with its output drained as a peer would read it. Every request
// is handed to a simulated handler chosen by the input: buffered answers,
// streaming echoes with trailers, partial readers that abort, handlers
// that reset, write a short content-length body, answer before reading, or
// 1xx first; now and then every deadline is made to pass.
#include "h2_server_protocol.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using basalt::http::Body;
using basalt::http::H2ServerProtocol;
using basalt::http::Headers;
using basalt::http::Response;
using basalt::http::ResponseHead;
using basalt::http::ServerRequest;

struct Handler {
  std::int32_t id = 0;
  ServerRequest request;
  unsigned mode = 0;
  unsigned steps = 0;
  std::shared_ptr<Body> out;
  std::string got;
  bool done = false;
};

// Takes up to `n` request bytes without waiting.
std::size_t take(Handler& h, std::size_t n) {
  std::array<std::uint8_t, 512> buf;
  std::size_t total = 0;
  while (total < n) {
    auto k = h.request.body->take(std::span(buf).first(std::min(buf.size(), n - total)));
    if (k == 0) break;
    h.got.append(reinterpret_cast<const char*>(buf.data()), k);
    if (h.got.size() > 8192) h.got.erase(0, 4096);
    total += k;
  }
  return total;
}

// One step of a simulated handler; sets h.done when it would return.
void step(H2ServerProtocol& server, Handler& h, boost::asio::io_context& io) {
  auto& body = *h.request.body;
  ++h.steps;
  switch (h.mode) {
    case 0:  // buffered: whole body, then one response
      take(h, 1 << 20);
      if (body.error() || body.done()) {
        Response r(200, h.got + h.request.path);
        r.headers.add("X-Method", h.request.method);
        if (!body.error()) server.respond(h.id, std::move(r), h.request.method == "HEAD");
        h.done = true;
      }
      break;
    case 1: {  // streaming echo with trailers
      if (!h.out) {
        h.out = std::make_shared<Body>(io.get_executor(), 1024);
        ResponseHead head;
        head.headers.add("content-type", "application/grpc");
        if (server.send_head(h.id, head, h.out)) {
          h.done = true;
          break;
        }
      }
      std::size_t before = h.got.size();
      if (h.out->buffered() < h.out->capacity() && take(h, 700) > 0)
        h.out->push(h.got.substr(std::min(before, h.got.size())));
      if (h.out->error() || body.error()) {
        h.done = true;
      } else if (body.done()) {
        Headers trailers = body.trailers();
        trailers.add("grpc-status", "0");
        h.out->finish(std::move(trailers));
        h.done = true;
      }
      break;
    }
    case 2:  // reads a little, then gives up on the body
      take(h, 100);
      if (h.steps > 2) {
        body.abort();
        server.respond(h.id, Response(400, "enough"), false);
        h.done = true;
      }
      break;
    case 3:  // resets after a while
      take(h, 300);
      if (h.steps > 1) {
        server.reset(h.id, 2);
        h.done = true;
      }
      break;
    case 4: {  // 1xx, then a head announcing more than it sends
      ResponseHead interim;
      interim.status = 103;
      interim.headers.add("link", "</a>; rel=preload");
      (void)server.send_interim(h.id, interim);
      h.out = std::make_shared<Body>(io.get_executor(), 256);
      ResponseHead head;
      head.headers.add("content-length", "1000");
      if (!server.send_head(h.id, head, h.out)) {
        h.out->push(std::string(10, 'x'));
        server.reset(h.id, 2);  // what the writer does for a short body
      }
      h.done = true;
      break;
    }
    default:  // answers at once without reading (the rest is discarded)
      server.respond(h.id, Response(204), false);
      h.done = true;
      break;
  }
}

void drain(H2ServerProtocol& server) {
  for (auto out = server.next_output(); !out.empty(); out = server.next_output()) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::asio::io_context io;
  basalt::http::Limits limits;
  limits.max_header_bytes = 2048;
  limits.max_header_count = 20;
  limits.max_body_bytes = 4096;
  limits.max_concurrent_streams = 8;
  limits.max_resets_per_window = 20;
  limits.max_settings_per_window = 20;
  limits.max_pings_per_window = 20;
  limits.max_empty_frames_per_window = 20;
  // Small windows: flow control and its WINDOW_UPDATEs are exercised.
  limits.initial_window_size = 1024;
  limits.connection_window_size = 4096;
  basalt::http::Stats stats;
  H2ServerProtocol server(io.get_executor(), limits, stats, {}, true);
  static const std::string kPreface =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\x04\0\0\0\0\0", 9);
  server.receive({reinterpret_cast<const std::uint8_t*>(kPreface.data()), kPreface.size()});
  std::vector<Handler> handlers;
  std::size_t pos = 0;
  bool alive = true;
  while (alive && pos < size) {
    std::uint8_t control = data[pos];
    std::size_t chunk = std::min<std::size_t>(size - pos, 1 + (control % 97));
    alive = server.receive({data + pos, chunk});
    pos += chunk;
    for (auto& [id, request] : server.take_requests()) {
      Handler h;
      h.id = id;
      h.request = std::move(request);
      h.mode = (control + static_cast<unsigned>(id)) % 6;
      handlers.push_back(std::move(h));
    }
    for (auto& h : handlers) {
      if (!h.done) step(server, h, io);
      if (h.done) server.handler_finished(h.id);
    }
    std::erase_if(handlers, [](const Handler& h) { return h.done; });
    if (control == 0xff) server.expire(H2ServerProtocol::Clock::now() + std::chrono::hours(1));
    drain(server);
  }
  server.shutdown_notice();
  drain(server);
  server.close();
  for (auto& h : handlers) server.handler_finished(h.id);
  return 0;
}
