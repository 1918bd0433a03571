// The server against real curl (HTTP/1.1, HTTP/2 over TLS, h2c), h2load and
// raw sockets: versions, keep-alive, limits and their status codes, handler
// failures, certificate hot swap, graceful stop.
#include "fixture.hpp"

#include "basalt/core/shutdown.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

namespace basalt::http::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using basalt::testing::TempDir;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

Router test_router() {
  Router r;
  r.add("/echo", [](Request req) -> asio::awaitable<Response> {
    std::string out = req.method + " " + req.path + " v=" + std::string(to_string(req.version)) +
                      " q=" + std::string(req.query_param("q").value_or("-")) +
                      " h=" + std::string(req.headers.get("X-Test").value_or("-")) +
                      " body=" + std::to_string(req.body.size()) + " scheme=" + req.scheme +
                      " remote=" + req.remote.address.to_string();
    Response resp(200, out, "text/plain");
    resp.headers.add("X-Reply", "yes");
    co_return resp;
  });
  r.add("/slow", [](Request req) -> asio::awaitable<Response> {
    co_await sleep_for(
        std::chrono::milliseconds(std::stoi(std::string(req.query_param("ms").value_or("200")))));
    co_return Response(200, "slow done");
  });
  r.add("/throw", [](Request) -> asio::awaitable<Response> {
    throw std::runtime_error("handler bug");
    co_return Response(200);
  });
  r.add("/big",
        [](Request) -> asio::awaitable<Response> { co_return Response(200, std::string(300000, 'x')); });
  r.add("/only-post", {"POST"},
        [](Request) -> asio::awaitable<Response> { co_return Response(201, "made"); });
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { BASALT_REQUIRE_TOOL("curl"); }
  TempDir dir_;
};

TEST_F(ServerTest, Http1CleartextRequestFieldsReachTheHandler) {
  TestServer s(test_router());
  auto r = curl({"--http1.1", "-H", "x-test: hello", "--data-binary", "abc"}, s.url("/echo?q=a%20b+c&z"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.http_version, "1.1");
  EXPECT_EQ(r.body, "POST /echo v=HTTP/1.1 q=a b c h=hello body=3 scheme=http remote=127.0.0.1");
  EXPECT_EQ(s.server().stats().snapshot().requests_http1, 1u);
}

TEST_F(ServerTest, Http1KeepAliveReusesTheConnection) {
  TestServer s(test_router());
  // Two URLs in one curl run: the second transfer makes no new connection.
  auto r = curl({"--http1.1", "-o", "/dev/null", s.url("/echo")}, s.url("/echo?q=2"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.num_connects, 0);
  EXPECT_EQ(s.server().stats().snapshot().connections_accepted, 1u);
}

TEST_F(ServerTest, Http2PriorKnowledgeCleartext) {
  TestServer s(test_router());
  auto r = curl({"--http2-prior-knowledge", "-H", "x-test: h2c"}, s.url("/echo?q=1"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.http_version, "2");
  EXPECT_EQ(r.body, "GET /echo v=HTTP/2 q=1 h=h2c body=0 scheme=http remote=127.0.0.1");
}

TEST_F(ServerTest, TlsAlpnPicksHttp2OrHttp11) {
  auto cert = make_cert(dir_, "a.example");
  TestServer s(test_router(), {}, &cert);
  auto h2 = curl({"--http2", "--cacert", cert.cert_file, "-H", "x-test: t"}, s.url("/echo?q=x"));
  ASSERT_EQ(h2.exit_code, 0) << h2.stderr_text;
  EXPECT_EQ(h2.http_version, "2");
  EXPECT_EQ(h2.body, "GET /echo v=HTTP/2 q=x h=t body=0 scheme=https remote=127.0.0.1");
  auto h1 = curl({"--http1.1", "--cacert", cert.cert_file}, s.url("/echo"));
  ASSERT_EQ(h1.exit_code, 0) << h1.stderr_text;
  EXPECT_EQ(h1.http_version, "1.1");
  EXPECT_EQ(h1.status, 200);
  // Large bodies and several requests on one HTTP/2 connection.
  auto big = curl({"--http2", "--cacert", cert.cert_file, "-o", "/dev/null", s.url("/big")}, s.url("/big"));
  ASSERT_EQ(big.exit_code, 0) << big.stderr_text;
  EXPECT_EQ(big.num_connects, 0);
}

TEST_F(ServerTest, HandlerFailuresAffectOnlyTheirRequest) {
  Limits limits;
  limits.handler_timeout = 200ms;
  TestServer s(test_router(), limits);
  for (auto version : {"--http1.1", "--http2-prior-knowledge"}) {
    auto thrown = curl({version}, s.url("/throw"));
    EXPECT_EQ(thrown.status, 500) << version;
    auto slow = curl({version}, s.url("/slow?ms=5000"));
    EXPECT_EQ(slow.status, 503) << version;
    auto fine = curl({version}, s.url("/echo"));
    EXPECT_EQ(fine.status, 200) << version;
    EXPECT_EQ(curl({version}, s.url("/nowhere")).status, 404);
    EXPECT_EQ(curl({version}, s.url("/only-post")).status, 405);
  }
  auto st = s.server().stats().snapshot();
  EXPECT_EQ(st.handler_exceptions, 2u);
  EXPECT_EQ(st.handler_timeouts, 2u);
}

TEST_F(ServerTest, SlowHandlerDoesNotBlockOtherStreams) {
  auto cert = make_cert(dir_, "a.example");
  TestServer s(test_router(), {}, &cert);
  // curl multiplexes parallel transfers over one HTTP/2 connection; the
  // fast one must not wait for the slow one (asserted by order of output).
  auto r = basalt::testing::run(
      {"curl", "-sS", "--http2", "--parallel", "--parallel-immediate", "--cacert", cert.cert_file,
       "--resolve", "localhost:" + std::to_string(s.port()) + ":127.0.0.1", "-w", "%{url_effective}\n", "-o",
       "/dev/null", s.url("/slow?ms=3000"), "-o", "/dev/null", s.url("/echo")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.out.find("/echo"), r.out.find("/slow")) << r.out;
}

TEST_F(ServerTest, HeaderTooLargeIs431) {
  Limits limits;
  limits.max_header_bytes = 4096;
  TestServer s(test_router(), limits);
  std::string big = "x-big: " + std::string(8000, 'a');
  EXPECT_EQ(curl({"--http1.1", "-H", big}, s.url("/echo")).status, 431);
  EXPECT_EQ(curl({"--http2-prior-knowledge", "-H", big}, s.url("/echo")).status, 431);
  EXPECT_EQ(s.server().stats().snapshot().header_too_large, 2u);
}

TEST_F(ServerTest, BodyTooLargeIs413) {
  Limits limits;
  limits.max_body_bytes = 10000;
  TestServer s(test_router(), limits);
  auto file = dir_.file("body");
  std::ofstream(file) << std::string(200000, 'b');
  EXPECT_EQ(curl({"--http1.1", "--data-binary", "@" + file}, s.url("/echo")).status, 413);
  // Chunked: the limit is found while reading.
  EXPECT_EQ(
      curl({"--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file}, s.url("/echo"))
          .status,
      413);
  auto h2 = curl({"--http2-prior-knowledge", "--data-binary", "@" + file}, s.url("/echo"));
  EXPECT_EQ(h2.status, 413) << h2.stderr_text;
  auto ok = curl({"--http2-prior-knowledge", "--data-binary", std::string(9000, 'c')}, s.url("/echo"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(s.server().stats().snapshot().body_too_large, 3u);
}

// A raw cleartext socket that sends part of a request and reads the answer.
std::string partial_request(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::address_v4::loopback(), port});
  asio::write(sock, asio::buffer(bytes));
  std::string out;
  boost::system::error_code ec;
  std::array<char, 4096> buf;
  for (;;) {
    auto n = sock.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf.data(), n);
  }
  return out;
}

TEST_F(ServerTest, IncompleteRequestGets408AndIdleConnectionCloses) {
  Limits limits;
  limits.request_timeout = 300ms;
  limits.idle_timeout = 300ms;
  TestServer s(test_router(), limits);
  auto reply = partial_request(s.port(), "GET /echo HTTP/1.1\r\nHost: x\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 408 Request Timeout\r\n")) << reply;
  // Idle: no byte sent; the server closes without an answer.
  EXPECT_EQ(partial_request(s.port(), ""), "");
  // Complete request, then idle keep-alive: answered, then closed.
  auto served = partial_request(s.port(), "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(served.starts_with("HTTP/1.1 200 OK\r\n")) << served;
  auto st = s.server().stats().snapshot();
  EXPECT_EQ(st.request_timeouts, 1u);
  EXPECT_GE(st.idle_timeouts, 2u);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  TestServer s(test_router());
  EXPECT_TRUE(
      partial_request(s.port(), "GET /echo HTTP/1.1\r\nBad Header\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(
      partial_request(s.port(), "GET /echo HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));  // no Host
  EXPECT_EQ(s.server().stats().snapshot().bad_requests, 2u);
}

TEST_F(ServerTest, H2loadManyStreamsOverTls) {
  BASALT_REQUIRE_TOOL("h2load");
  auto cert = make_cert(dir_, "a.example");
  TestServer s(test_router(), {}, &cert);
  auto r = basalt::testing::run({"h2load", "-n", "400", "-c", "4", "-m", "20",
                                 "https://127.0.0.1:" + std::to_string(s.port()) + "/echo"},
                                60s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("400 succeeded, 0 failed, 0 errored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Application protocol: h2"), std::string::npos) << r.out;
  EXPECT_EQ(s.server().stats().snapshot().requests_http2, 400u);
}

// The subject CN of the certificate a fresh handshake gets.
std::string subject_of(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
}

TEST_F(ServerTest, CertificateHotSwapKeepsOpenConnections) {
  auto a = make_cert(dir_, "a.example");
  auto b = make_cert(dir_, "b.example");
  TestServer s(test_router(), {}, &a);

  // A raw HTTP/1.1 connection opened before the swap.
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  asio::ssl::stream<asio::ip::tcp::socket> old_conn(io, ctx);
  old_conn.next_layer().connect({asio::ip::address_v4::loopback(), s.port()});
  old_conn.handshake(asio::ssl::stream_base::client);
  EXPECT_EQ(subject_of(old_conn.native_handle()), "/CN=a.example");
  auto request = [&](asio::ssl::stream<asio::ip::tcp::socket>& c) {
    std::string req = "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n";
    asio::write(c, asio::buffer(req));
    std::string out;
    std::array<char, 4096> buf;
    while (out.find("scheme=https") == std::string::npos) {
      boost::system::error_code ec;
      auto n = c.read_some(asio::buffer(buf), ec);
      if (ec) break;
      out.append(buf.data(), n);
    }
    return out;
  };
  EXPECT_TRUE(request(old_conn).starts_with("HTTP/1.1 200 OK"));

  ASSERT_TRUE(s.tls()->set_certificates({{b.pem.certificate, b.pem.private_key}}));

  // The old connection keeps working, on the same TCP connection.
  EXPECT_TRUE(request(old_conn).starts_with("HTTP/1.1 200 OK"));
  EXPECT_EQ(s.server().stats().snapshot().connections_accepted, 1u);
  // New handshakes see the new certificate; curl trusts only the new one.
  asio::ssl::stream<asio::ip::tcp::socket> new_conn(io, ctx);
  new_conn.next_layer().connect({asio::ip::address_v4::loopback(), s.port()});
  new_conn.handshake(asio::ssl::stream_base::client);
  EXPECT_EQ(subject_of(new_conn.native_handle()), "/CN=b.example");
  EXPECT_EQ(curl({"--http2", "--cacert", b.cert_file}, s.url("/echo")).status, 200);
  EXPECT_NE(curl({"--http2", "--cacert", a.cert_file}, s.url("/echo")).exit_code, 0);
}

TEST_F(ServerTest, GracefulStopFinishesInFlightRequests) {
  auto cert = make_cert(dir_, "a.example");
  for (auto version : {"--http1.1", "--http2"}) {
    core::Runtime runtime({.workers = 1});
    core::Shutdown shutdown(runtime, 10s);
    std::promise<void> started;
    std::atomic<bool> once{false};
    Router r;
    r.add("/slow", [&](Request) -> asio::awaitable<Response> {
      if (!once.exchange(true)) started.set_value();
      co_await sleep_for(500ms);
      co_return Response(200, "finished");
    });
    Server server(runtime, r.handler());
    server.attach(shutdown);
    auto tls = core::TlsServerContext::create(
        {.certificates = {{cert.pem.certificate, cert.pem.private_key}}, .alpn = alpn_protocols()});
    ASSERT_TRUE(tls);
    auto port = server.listen({.tls = *tls});
    std::thread runner([&] { runtime.run(); });
    auto url = "https://localhost:" + std::to_string(port) + "/slow";
    auto pending = std::async(std::launch::async, [&] {
      return curl({version, "--cacert", cert.cert_file}, url);
    });
    ASSERT_EQ(started.get_future().wait_for(20s), std::future_status::ready);
    shutdown.begin("test");
    auto r1 = pending.get();
    EXPECT_EQ(r1.status, 200) << version << r1.stderr_text;
    EXPECT_EQ(r1.body, "finished");
    runner.join();  // the runtime stopped once the request drained
    // The listener is closed: new connections are refused.
    auto after = curl({version, "--cacert", cert.cert_file}, url);
    EXPECT_NE(after.exit_code, 0);
  }
}

}  // namespace
}  // namespace basalt::http::testing
