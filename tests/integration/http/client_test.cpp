// The client against our server (HTTP/2 multiplexing, HTTP/1.1 reuse,
// cleartext) and against a real third-party server (openssl s_server -www),
// with verification, timeouts and no redirect following.
#include "fixture.hpp"

#include "basalt/http/client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <thread>

namespace basalt::http::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using basalt::testing::TempDir;

Router client_router() {
  Router r;
  r.add("/echo", [](Request req) -> asio::awaitable<Response> {
    Response resp(200, req.method + " " + req.target + " " + req.body, "text/plain");
    resp.headers.add("Replay-Nonce", "nonce-" + std::to_string(req.body.size()));
    co_return resp;
  });
  r.add("/slow", [](Request) -> asio::awaitable<Response> {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(5s);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return Response(200, "late");
  });
  r.add("/moved", [](Request) -> asio::awaitable<Response> {
    Response resp(302);
    resp.headers.set("Location", "/echo");
    co_return resp;
  });
  return r;
}

ClientOptions trusting(const TestCert& cert, std::uint16_t port) {
  ClientOptions o;
  o.tls.ca = cert.pem.certificate;
  o.resolve["localhost:" + std::to_string(port)] = {core::IpAddress::v4_loopback(), port};
  return o;
}

class ClientTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(ClientTest, Http2MultiplexesConcurrentRequestsOnOneConnection) {
  auto cert = make_cert(dir_, "a.example");
  TestServer s(client_router(), {}, &cert);
  with_client(trusting(cert, s.port()), [&](Client& client) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    int done = 0;
    asio::steady_timer all(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 10; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> asio::awaitable<void> {
            ClientRequest req1{
                .method = "POST", .url = s.url("/echo?i=" + std::to_string(i)), .body = std::string(i, 'x')};
            auto r = co_await client.request(req1);
            EXPECT_TRUE(r) << r.error.message() << " " << r.detail;
            EXPECT_EQ(r.version, Version::http2);
            EXPECT_EQ(r.response.status, 200);
            EXPECT_EQ(r.response.body, "POST /echo?i=" + std::to_string(i) + " " + std::string(i, 'x'));
            EXPECT_EQ(r.response.headers.get("replay-nonce").value_or(""), "nonce-" + std::to_string(i));
            if (++done == 10) all.cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    co_await all.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(client.connections_opened(), 1u);
  });
  EXPECT_EQ(s.server().stats().snapshot().connections_accepted, 1u);
  EXPECT_EQ(s.server().stats().snapshot().requests_http2, 10u);
}

TEST_F(ClientTest, Http11ReusesKeptAliveConnections) {
  auto cert = make_cert(dir_, "a.example");
  TestServer s(client_router(), {}, &cert);
  auto options = trusting(cert, s.port());
  options.http2 = false;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      ClientRequest req2{.url = s.url("/echo")};
      auto r = co_await client.request(req2);
      EXPECT_TRUE(r) << r.error.message() << " " << r.detail;
      EXPECT_EQ(r.version, Version::http1_1);
      EXPECT_EQ(r.response.body, "GET /echo ");
    }
    ClientRequest req3{.method = "HEAD", .url = s.url("/echo")};
    auto head = co_await client.request(req3);
    EXPECT_EQ(head.response.status, 200);
    EXPECT_EQ(head.response.body, "");
    EXPECT_EQ(head.response.headers.get("content-length").value_or(""), "11");  // "HEAD /echo "
    EXPECT_EQ(client.connections_opened(), 1u);
  });
  EXPECT_EQ(s.server().stats().snapshot().requests_http1, 4u);
}

TEST_F(ClientTest, CleartextAndRedirectsAreNotFollowed) {
  TestServer s(client_router());
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest moved{.url = s.url("/moved")};
    auto r = co_await client.request(std::move(moved));
    EXPECT_TRUE(r) << r.error.message();
    EXPECT_EQ(r.response.status, 302);
    EXPECT_EQ(r.response.headers.get("location").value_or(""), "/echo");
    ClientRequest ftp{.url = "ftp://127.0.0.1/"};
    auto bad = co_await client.request(std::move(ftp));
    EXPECT_EQ(bad.error, ClientError::kBadUrl);
  });
}

TEST_F(ClientTest, VerificationFailureAndTimeoutAreErrors) {
  auto cert = make_cert(dir_, "a.example");
  auto other = make_cert(dir_, "b.example");
  TestServer s(client_router(), {}, &cert);
  with_client(trusting(other, s.port()), [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req4{.url = s.url("/echo")};
    auto r = co_await client.request(req4);
    EXPECT_EQ(r.error, ClientError::kTlsFailed);
    EXPECT_NE(r.detail.find("verify"), std::string::npos) << r.detail;
  });
  with_client(trusting(cert, s.port()), [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req5{.url = s.url("/slow"), .timeout = 300ms};
    auto slow = co_await client.request(req5);
    EXPECT_EQ(slow.error, ClientError::kTimeout);
    // The connection (HTTP/2) still serves the next request.
    ClientRequest req6{.url = s.url("/echo")};
    auto ok = co_await client.request(req6);
    EXPECT_TRUE(ok) << ok.error.message();
    EXPECT_EQ(client.connections_opened(), 1u);
  });
  EXPECT_EQ(s.server().stats().snapshot().tls_handshake_failures, 1u);
}

TEST_F(ClientTest, AgainstOpensslSServer) {
  BASALT_REQUIRE_TOOL("openssl");
  auto cert = make_cert(dir_, "a.example");
  auto key = dir_.file("key.pem");
  { std::ofstream(key) << cert.pem.private_key; }
  auto port = basalt::testing::free_port();
  basalt::testing::Process server(
      {.argv = {"openssl", "s_server", "-www", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                cert.cert_file, "-key", key, "-naccept", "1"},
       .capture_stderr = true});
  // Wait until it accepts: s_server prints ACCEPT when listening.
  for (auto line = server.read_line(); line; line = server.read_line()) {
    if (line->find("ACCEPT") != std::string::npos) break;
  }
  with_client(trusting(cert, port), [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req7{.url = "https://localhost:" + std::to_string(port) + "/"};
    auto r = co_await client.request(req7);
    EXPECT_TRUE(r) << r.error.message() << " " << r.detail;
    EXPECT_EQ(r.version, Version::http1_1);  // s_server offers no ALPN
    EXPECT_EQ(r.response.status, 200);
    EXPECT_NE(r.response.body.find("Ciphers"), std::string::npos) << r.response.body;
  });
}

}  // namespace
}  // namespace basalt::http::testing
