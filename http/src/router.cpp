#include "basalt/http/router.hpp"

#include <algorithm>

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
  table_->routes[std::move(path)] = Route{std::move(methods), std::move(handler)};
  return *this;
}

Router& Router::fallback(Handler handler) {
  table_->fallback = std::move(handler);
  return *this;
}

namespace {
// A free coroutine with the table by value: a member coroutine would keep
// `this`, and the Router may be gone before the request is routed.
template <class Table>
boost::asio::awaitable<Response> route(std::shared_ptr<Table> table, Request request) {
  auto it = table->routes.find(request.path);
  if (it == table->routes.end()) co_return co_await table->fallback(std::move(request));
  const auto& route = it->second;
  if (!route.methods.empty()) {
    auto allowed = [&](std::string_view m) {
      return std::find(route.methods.begin(), route.methods.end(), m) != route.methods.end();
    };
    if (!allowed(request.method) && !(request.method == "HEAD" && allowed("GET"))) {
      Response r = Response::text(405, "Method Not Allowed");
      std::string allow;
      for (auto& m : route.methods) {
        if (!allow.empty()) allow += ", ";
        allow += m;
      }
      r.headers.set("allow", allow);
      co_return r;
    }
  }
  co_return co_await route.handler(std::move(request));
}
}  // namespace

Handler Router::handler() const {
  return [table = table_](Request request) { return route(table, std::move(request)); };
}

boost::asio::awaitable<Response> Router::operator()(Request request) const {
  return route(table_, std::move(request));
}

}  // namespace basalt::http
