#include "basalt/http/router.hpp"

#include "buffered_handler.hpp"

#include <algorithm>
#include <optional>

namespace basalt::http {

namespace {
boost::asio::awaitable<Response> not_found(Request) {
  co_return Response::text(404, "Not Found");
}
}  // namespace

Router::Router() : table_(std::make_shared<Table>()) {
  table_->fallback = not_found;
}

Router& Router::add(std::string path, Handler handler) {
  return add(std::move(path), {}, std::move(handler));
}

Router& Router::add(std::string path, std::vector<std::string> methods, Handler handler) {
  table_->routes[std::move(path)] = Route{std::move(methods), std::move(handler), {}};
  return *this;
}

Router& Router::add_stream(std::string path, std::vector<std::string> methods, StreamHandler handler) {
  table_->routes[std::move(path)] = Route{std::move(methods), {}, std::move(handler)};
  return *this;
}

Router& Router::fallback(Handler handler) {
  table_->fallback = std::move(handler);
  return *this;
}

namespace {
template <class Route>
std::optional<Response> method_not_allowed(const Route& route, std::string_view method) {
  if (route.methods.empty()) return std::nullopt;
  auto allowed = [&](std::string_view m) {
    return std::find(route.methods.begin(), route.methods.end(), m) != route.methods.end();
  };
  if (allowed(method) || (method == "HEAD" && allowed("GET"))) return std::nullopt;
  Response r = Response::text(405, "Method Not Allowed");
  std::string allow;
  for (auto& m : route.methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  r.headers.set("allow", allow);
  return r;
}

// Free coroutines with the table by value: a member coroutine would keep
// `this`, and the Router may be gone before the request is routed.
template <class Table>
boost::asio::awaitable<Response> route(std::shared_ptr<Table> table, Request request) {
  auto it = table->routes.find(request.path);
  if (it == table->routes.end() || !it->second.handler)
    co_return co_await table->fallback(std::move(request));
  const auto& route = it->second;
  if (auto refused = method_not_allowed(route, request.method)) co_return std::move(*refused);
  co_return co_await route.handler(std::move(request));
}

template <class Table>
boost::asio::awaitable<void> route_stream(std::shared_ptr<Table> table, std::size_t limit,
                                          ServerRequest request, ResponseWriter& writer) {
  auto it = table->routes.find(request.path);
  if (it == table->routes.end()) {
    co_await serve_buffered(table->fallback, limit, std::move(request), writer);
    co_return;
  }
  const auto& route = it->second;
  if (auto refused = method_not_allowed(route, request.method)) {
    boost::system::error_code ec;
    co_await writer.respond(std::move(*refused), ec);
    co_return;
  }
  if (route.stream) {
    co_await route.stream(std::move(request), writer);
  } else {
    co_await serve_buffered(route.handler, limit, std::move(request), writer);
  }
}
}  // namespace

Handler Router::handler() const {
  return [table = table_](Request request) { return route(table, std::move(request)); };
}

StreamHandler Router::stream_handler(std::size_t max_body_bytes) const {
  return [table = table_, max_body_bytes](ServerRequest request, ResponseWriter& writer) {
    return route_stream(table, max_body_bytes, std::move(request), writer);
  };
}

boost::asio::awaitable<Response> Router::operator()(Request request) const {
  return route(table_, std::move(request));
}

}  // namespace basalt::http
