// A small router: exact-path (and optionally method) matching plus a
// fallback handler.
//
// Build it before the server starts, then pass `router.stream_handler()`
// (every route) or `router.handler()` (buffered routes only) to Server. Lookup is a hash-map hit per
// request. Not safe to modify while serving; build a new Router instead.
#pragma once

#include "basalt/http/handler.hpp"
#include "basalt/http/stream_handler.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace basalt::http {

class Router {
 public:
  Router();

  // Routes requests whose path is exactly `path`. With methods given, other
  // methods get 405 with an Allow header; HEAD is served by a GET route.
  Router& add(std::string path, Handler handler);
  Router& add(std::string path, std::vector<std::string> methods, Handler handler);
  // A streaming route (stream_handler.hpp); reachable through
  // stream_handler() only (handler() answers 404 for it).
  Router& add_stream(std::string path, std::vector<std::string> methods, StreamHandler handler);
  // For paths no route matches; the default answers 404.
  Router& fallback(Handler handler);

  // A Handler that shares this router's table (cheap copy, shared state).
  Handler handler() const;
  // A StreamHandler over every route; buffered routes read at most
  // `max_body_bytes` of body (0: 1 MiB; see http::buffered).
  StreamHandler stream_handler(std::size_t max_body_bytes = 0) const;
  boost::asio::awaitable<Response> operator()(Request request) const;

 private:
  struct Route {
    std::vector<std::string> methods;
    Handler handler;       // buffered route, or
    StreamHandler stream;  // streaming route
  };
  struct Table {
    std::unordered_map<std::string, Route> routes;
    Handler fallback;
  };
  std::shared_ptr<Table> table_;
};

}  // namespace basalt::http
