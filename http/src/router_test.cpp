#include "basalt/http/router.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace basalt::http {
namespace {

namespace asio = boost::asio;

Response call(const Handler& h, std::string method, std::string target) {
  asio::io_context io;
  Request r;
  r.method = std::move(method);
  r.set_target(target);
  Response out;
  asio::co_spawn(io, h(std::move(r)), [&](std::exception_ptr e, Response resp) {
    if (e) std::rethrow_exception(e);
    out = std::move(resp);
  });
  io.run();
  return out;
}

TEST(Router, ExactPathsMethodsAndFallback) {
  Handler h;
  {
    Router r;  // the handler outlives the router
    r.add("/a", [](Request req) -> asio::awaitable<Response> { co_return Response(200, "a " + req.method); });
    r.add("/b", {"POST"}, [](Request) -> asio::awaitable<Response> { co_return Response(201, "b"); });
    r.add("/c", {"GET"}, [](Request) -> asio::awaitable<Response> { co_return Response(200, "c"); });
    h = r.handler();
  }
  EXPECT_EQ(call(h, "GET", "/a?x=1").body, "a GET");
  EXPECT_EQ(call(h, "GET", "/a/").status, 404);
  EXPECT_EQ(call(h, "POST", "/b").status, 201);
  auto wrong = call(h, "GET", "/b");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers.get("allow").value_or(""), "POST");
  EXPECT_EQ(call(h, "HEAD", "/c").status, 200);  // HEAD served by GET
}

TEST(Router, CustomFallback) {
  Router r;
  r.fallback([](Request req) -> asio::awaitable<Response> { co_return Response(418, req.path); });
  EXPECT_EQ(call(r.handler(), "GET", "/x").body, "/x");
}

}  // namespace
}  // namespace basalt::http
