// The HTTP side of a client connection: the handler the http/ module's
// sessions call for every request on a connection the route engine made
// HTTP (a plain port with HTTP routes, or a terminated TLS stream that
// speaks HTTP). Each request is matched on its own (RouteTable::
// for_request) against the route table current when it arrives, then
// checked (ipAllowList/ipBlockList, basicAuth, rateLimit), then answered by
// an http* socket handler or forwarded to a backend chosen by the route's
// BackendPool through the worker's pooled clients, bodies streamed both
// ways. WebSocket upgrades (HTTP/1.1 Upgrade, and RFC 8441 on HTTP/2,
// carried to the backend as an HTTP/1.1 Upgrade) become byte tunnels.
//
// Answers the proxy writes itself carry a short text naming the cause and
// the request id, which is also in the log line: 404 no route, 403 blocked,
// 401 credentials, 429 rate, 502 backend refused / reset / bad response,
// 503 no healthy backend, 504 backend timeout. docs/proxy.md lists them.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "basalt/core/ip.hpp"
#include "basalt/http/stream_handler.hpp"

namespace basalt::proxy {

struct Worker;
class RouteRetirement;
class WebSocketKeepalive;

// What the requests of one client connection share.
struct HttpConnection {
  Worker& worker;
  std::uint16_t port = 0;
  core::Endpoint client;
  core::Endpoint local;
  bool terminated = false;  // basalt ended the client's TLS
  std::string sni;
  std::string tls_version;
  // The route the connection matched (by SNI when terminated): a request
  // whose Host matches no route is matched against it alone, without its
  // domains (clients that send an address or another name as Host).
  std::string route_id;
  std::uint64_t id = 0;

  // The requests in flight and their routes, for drainGrace: an update
  // that removes a route cuts what it still carries when the grace ends.
  struct InFlight {
    const RouteRetirement* route;
    // Set while the request is a WebSocket tunnel the proxy pings: it gets
    // a Close frame (1001) instead of a cut.
    std::weak_ptr<WebSocketKeepalive> keepalive;
  };
  std::list<InFlight> in_flight;  // the worker's thread only
  // The earliest deadline of a removed route among them (max: none).
  std::chrono::steady_clock::time_point retired_at() const;
  // The grace is over: the pinged WebSockets of removed routes send Close
  // frames and end. True when there was one (give them a moment).
  bool go_away();
};

// The handler for the connection's requests.
std::shared_ptr<const http::StreamHandler> make_http_handler(std::shared_ptr<HttpConnection> connection);

}  // namespace basalt::proxy
