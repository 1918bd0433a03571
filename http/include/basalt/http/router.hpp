// A small router: exact-path (and optionally method) matching plus a
// fallback handler.
//
// Build it before the server starts, then pass `router.handler()` (or the
// router itself, it is callable) to Server. Lookup is a hash-map hit per
// request. Not safe to modify while serving; build a new Router instead.
#pragma once

#include "basalt/http/handler.hpp"

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
  // For paths no route matches; the default answers 404.
  Router& fallback(Handler handler);

  // A Handler that shares this router's table (cheap copy, shared state).
  Handler handler() const;
  boost::asio::awaitable<Response> operator()(Request request) const;

 private:
  struct Route {
    std::vector<std::string> methods;
    Handler handler;
  };
  struct Table {
    std::unordered_map<std::string, Route> routes;
    Handler fallback;
  };
  std::shared_ptr<Table> table_;
};

}  // namespace basalt::http
