// basalt-proxy as an HTTP reverse proxy, against real peers on loopback:
// curl (HTTP/1.1, HTTP/2, chunked uploads) in front; basalt's own HTTP
// server and nginx behind. Routing by Host and path, forwarded headers,
// header templates, the built-in HTTP handlers, basic auth and rate limits,
// the answers the proxy writes itself, load balancing and health.
#include <gmock/gmock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string target(std::uint16_t port) {
  return "[{host: 127.0.0.1, port: " + std::to_string(port) + "}]";
}

// curl -w: the body, then a line "<status> <http version>".
struct Answer {
  int exit_code = -1;
  int status = 0;
  std::string version;
  std::string body;
};

Answer fetch(std::vector<std::string> args) {
  args.insert(args.begin(), {"-w", "\n%{http_code} %{http_version}"});
  auto r = curl(std::move(args));
  Answer a;
  a.exit_code = r.exit_code;
  auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return a;
  a.body = r.out.substr(0, nl);
  auto line = r.out.substr(nl + 1);
  a.status = std::atoi(line.c_str());
  if (auto sp = line.find(' '); sp != std::string::npos) a.version = line.substr(sp + 1);
  return a;
}

std::string url(std::uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

class ProxyHttp : public ::testing::Test {
 protected:
  void start(const std::string& routes, const std::string& extra = "") {
    port_ = testing::free_port();
    std::string yaml = extra + "routes:\n" + routes;
    auto pos = std::string::npos;
    while ((pos = yaml.find("PORT")) != std::string::npos) yaml.replace(pos, 4, std::to_string(port_));
    proxy_.emplace(dir_, yaml, port_);
    ASSERT_TRUE(proxy_->ready()) << proxy_->log();
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<ProxyDaemon> proxy_;
};

TEST_F(ProxyHttp, RoutesEachRequestByHostAndPath) {
  HttpBackend api("api"), web("web"), fallback("fallback");
  start(
      "  - {name: api, match: {ports: PORT, domains: a.test, path: \"/api/*\"}, action: {type: forward, "
      "targets: " +
      target(api.port()) + "}}\n" +
      "  - {name: web, match: {ports: PORT, domains: [a.test, \"*.b.test\"]}, action: {type: forward, "
      "targets: " +
      target(web.port()) + "}}\n" +
      "  - {name: exact, match: {ports: PORT, domains: x.b.test}, action: {type: forward, targets: " +
      target(fallback.port()) + "}}\n");
  EXPECT_EQ(fetch({"-H", "Host: a.test", url(port_, "/api/v1/users")}).body, "backend api /api/v1/users");
  EXPECT_EQ(fetch({"-H", "Host: A.TEST:8080", url(port_, "/index.html")}).body, "backend web /index.html");
  EXPECT_EQ(fetch({"-H", "Host: y.b.test.", url(port_, "/name")}).body, "backend web");
  // An exact domain wins over a wildcard of the same priority.
  EXPECT_EQ(fetch({"-H", "Host: x.b.test", url(port_, "/name")}).body, "backend fallback");
  auto none = fetch({"-H", "Host: nowhere.test", url(port_, "/x")});
  EXPECT_EQ(none.status, 404);
  EXPECT_THAT(none.body, HasSubstr("no route for host \"nowhere.test\""));
  EXPECT_THAT(none.body, HasSubstr("request id: "));

  // One keep-alive connection carries requests for different routes.
  auto both = curl({"-H", "Host: a.test", url(port_, "/api/one"), "--next", "-H", "Host: a.test",
                    url(port_, "/two"), "-w", "%{num_connects}"});
  EXPECT_THAT(both.out, HasSubstr("backend api /api/one"));
  EXPECT_THAT(both.out, HasSubstr("backend web /two"));
}

TEST_F(ProxyHttp, ForwardsHeadersAndRewritesThem) {
  HttpBackend b("b");
  start("  - name: r\n    match: {ports: PORT, protocol: http}\n    action: {type: forward, targets: " +
            target(b.port()) +
            ", advanced: {urlRewrite: {pattern: \"^/old/(.*)\", target: \"/new/$1\"}}}\n"
            "    headers: {request: {x-route: \"{routeName} {clientIp} {domain}\", x-secret: null},"
            " response: {x-served-by: basalt, server: null}}\n",
        "http: {via: true, forwarded: true}\n");
  auto r = curl({"-i", "-H", "Host: shop.test", "-H", "X-Forwarded-For: 6.6.6.6", "-H", "X-Secret: s", "-H",
                 "Connection: keep-alive, X-Hop", "-H", "X-Hop: gone", url(port_, "/headers?q=1")});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("authority: shop.test"));          // the client's Host is passed on
  EXPECT_THAT(r.out, HasSubstr("x-forwarded-for: 127.0.0.1\n"));  // a forged value is replaced
  EXPECT_THAT(r.out, HasSubstr("x-forwarded-proto: http\n"));
  EXPECT_THAT(r.out, HasSubstr("x-forwarded-host: shop.test\n"));
  EXPECT_THAT(r.out, HasSubstr("forwarded: for=127.0.0.1;proto=http;host=\"shop.test\""));
  EXPECT_THAT(r.out, HasSubstr("via: 1.1 basalt-proxy"));
  EXPECT_THAT(r.out, HasSubstr("x-route: r 127.0.0.1 shop.test"));
  EXPECT_THAT(r.out, Not(HasSubstr("x-secret")));
  EXPECT_THAT(r.out, Not(HasSubstr("x-hop")));  // named by Connection: hop-by-hop
  EXPECT_THAT(r.out, HasSubstr("target: /headers?q=1"));
  EXPECT_THAT(r.out, HasSubstr("x-served-by: basalt"));
  EXPECT_EQ(fetch({url(port_, "/old/a/b?x=1")}).body, "backend b /new/a/b");
}

TEST_F(ProxyHttp, TrustedProxiesExtendForwardedFor) {
  HttpBackend b("b");
  start("  - {name: r, match: {ports: PORT, protocol: http}, action: {type: forward, targets: " +
            target(b.port()) + "}}\n",
        "proxyIPs: [127.0.0.1]\n");
  auto r =
      fetch({"-H", "X-Forwarded-For: 203.0.113.9", "-H", "X-Forwarded-Proto: https", url(port_, "/headers")});
  EXPECT_THAT(r.body, HasSubstr("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"));
  EXPECT_THAT(r.body, HasSubstr("X-Forwarded-Proto: https\n"));  // kept as the trusted peer sent it
}

TEST_F(ProxyHttp, StreamsBodiesBothWays) {
  HttpBackend b("b");
  start("  - {name: r, match: {ports: PORT, path: \"/*\"}, action: {type: forward, targets: " +
        target(b.port()) + "}}\n");
  // 8 MiB uploaded chunked and echoed back, over HTTP/1.1 and h2c.
  const std::string file = dir_.file("upload.bin");
  {
    std::ofstream out(file, std::ios::binary);
    std::string block(1 << 20, 'x');
    for (int i = 0; i < 8; ++i) {
      block[0] = static_cast<char>('a' + i);
      out << block;
    }
  }
  for (const std::string mode : {"--http1.1", "--http2-prior-knowledge"}) {
    auto r = curl({mode, "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file, "-o",
                   dir_.file("echo.bin"), "-w", "%{http_code} %{size_download}", url(port_, "/echo")});
    EXPECT_EQ(r.out, "200 8388608") << mode << " " << r.err;
  }
}

TEST_F(ProxyHttp, HttpSocketHandlers) {
  start(
      "  - {name: redirect, match: {ports: PORT, domains: old.test}, action: {type: socket-handler, "
      "socketHandler: "
      "{type: httpRedirect, location: \"https://new.test{path}?from={domain}\", status: 308}}}\n"
      "  - {name: block, match: {ports: PORT, path: \"/admin/*\"}, action: {type: socket-handler, "
      "socketHandler: "
      "{type: httpBlock, status: 451, body: \"not here: {path}\"}}}\n"
      "  - {name: static, match: {ports: PORT}, action: {type: socket-handler, socketHandler: "
      "{type: httpStatic, headers: {content-type: application/json, x-route: \"{routeName}\"}, body: "
      "\"{\\\"ok\\\":true}\"}}}\n");
  auto r = curl({"-i", "-H", "Host: old.test", url(port_, "/a/b")});
  EXPECT_THAT(r.out, HasSubstr("HTTP/1.1 308"));
  EXPECT_THAT(r.out, HasSubstr("location: https://new.test/a/b?from=old.test"));
  auto blocked = fetch({url(port_, "/admin/x")});
  EXPECT_EQ(blocked.status, 451);
  EXPECT_EQ(blocked.body, "not here: /admin/x");
  auto s = curl({"-i", url(port_, "/anything")});
  EXPECT_THAT(s.out, HasSubstr("content-type: application/json"));
  EXPECT_THAT(s.out, HasSubstr("x-route: static"));
  EXPECT_THAT(s.out, HasSubstr("{\"ok\":true}"));
}

TEST_F(ProxyHttp, BasicAuthAndRateLimit) {
  HttpBackend b("b");
  start("  - name: r\n    match: {ports: PORT, protocol: http}\n    action: {type: forward, targets: " +
        target(b.port()) +
        "}\n    security:\n"
        "      basicAuth: {users: [{username: alice, password: s3cret}], realm: shop, excludePaths: "
        "[\"/public/*\"]}\n"
        "      rateLimit: {maxRequests: 5, window: 60}\n");
  // Five requests per minute, counted before credentials are checked (so
  // password guessing is limited too).
  auto denied = curl({"-i", url(port_, "/name")});
  EXPECT_THAT(denied.out, HasSubstr("HTTP/1.1 401"));
  EXPECT_THAT(denied.out, HasSubstr("www-authenticate: Basic realm=\"shop\""));
  EXPECT_EQ(fetch({"-u", "alice:wrong", url(port_, "/name")}).status, 401);
  EXPECT_EQ(fetch({"-u", "alice:s3cret", url(port_, "/name")}).body, "backend b");
  EXPECT_EQ(fetch({url(port_, "/public/x")}).status, 200);
  EXPECT_EQ(fetch({url(port_, "/public/y")}).status, 200);
  // Five in the window so far: the next is refused with Retry-After.
  auto limited = curl({"-i", url(port_, "/public/z")});
  EXPECT_THAT(limited.out, HasSubstr("HTTP/1.1 429"));
  EXPECT_THAT(limited.out, HasSubstr("retry-after: "));
  EXPECT_EQ(b.requests(), 3);
}

TEST_F(ProxyHttp, AnswersForBackendFailures) {
  HttpBackend slow("slow");
  const auto refused = testing::free_port();
  start("  - {name: dead, match: {ports: PORT, path: \"/dead/*\"}, action: {type: forward, targets: " +
            target(refused) + "}}\n" +
            "  - {name: slow, match: {ports: PORT}, action: {type: forward, targets: " + target(slow.port()) +
            "}}\n",
        "http: {backendTimeout: 500}\n");
  auto bad = fetch({url(port_, "/dead/x")});
  EXPECT_EQ(bad.status, 502);
  EXPECT_THAT(bad.body, HasSubstr("Connection refused"));
  const auto id_at = bad.body.find("request id: ");
  ASSERT_NE(id_at, std::string::npos);
  const std::string id = bad.body.substr(id_at + 12, 16);
  EXPECT_TRUE(eventually([&] { return proxy_->log().find(id) != std::string::npos; })) << "id in the log";
  auto late = fetch({url(port_, "/slow/3000")});
  EXPECT_EQ(late.status, 504);
  EXPECT_THAT(late.body, HasSubstr("timed out"));
  // A backend that dies mid-response: the client sees a cut response, not a success.
  auto cut = fetch({url(port_, "/die")});
  EXPECT_NE(cut.exit_code, 0);
  // The proxy still serves.
  EXPECT_EQ(fetch({url(port_, "/slow/10")}).body, "slow slow");
}

TEST_F(ProxyHttp, MetricsAndAccessLog) {
  HttpBackend b("b");
  start("  - {name: web, match: {ports: PORT, path: \"/*\"}, action: {type: forward, targets: " +
            target(b.port()) + "}}\n",
        "http: {accessLog: true}\n");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fetch({url(port_, "/name")}).status, 200);
  EXPECT_EQ(fetch({url(port_, "/status/503")}).status, 503);
  auto m = proxy_->call("getMetrics").as_object();
  const auto& requests = m.at("requests").as_object();
  EXPECT_EQ(requests.at("total").to_number<std::uint64_t>(), 6u);
  const auto& web = requests.at("byRoute").as_object().at("web").as_object();
  EXPECT_EQ(web.at("byStatus").as_object().at("2xx").to_number<std::uint64_t>(), 5u);
  EXPECT_EQ(web.at("byStatus").as_object().at("5xx").to_number<std::uint64_t>(), 1u);
  const auto& buckets = web.at("latencyMs").as_object().at("buckets").as_array();
  EXPECT_EQ(buckets.back().as_object().at("count").to_number<std::uint64_t>(),
            6u);  // +Inf holds every request
  // Six requests from six curl runs: at most one pooled backend connection per worker (two).
  const auto opened = m.at("upstream").as_object().at("connectionsOpened").to_number<std::uint64_t>();
  EXPECT_GE(opened, 1u);
  EXPECT_LE(opened, 2u);
  const auto& backends = m.at("backends").as_array();
  ASSERT_EQ(backends.size(), 1u);
  EXPECT_TRUE(backends[0].as_object().at("healthy").as_bool());
  EXPECT_EQ(backends[0].as_object().at("failures").to_number<std::uint64_t>(), 1u);  // the 503
  EXPECT_TRUE(eventually([&] {
    auto log = proxy_->log();
    return log.find(R"("type":"access")") != std::string::npos &&
           log.find(R"("path":"/status/503","status":503)") != std::string::npos;
  })) << proxy_->log();
}

TEST_F(ProxyHttp, BalancesAndRetriesOnAnotherBackend) {
  HttpBackend one("one"), two("two");
  const auto refused = testing::free_port();
  start(
      "  - name: r\n    match: {ports: PORT, protocol: http}\n    action:\n      type: forward\n"
      "      targets: [{host: 127.0.0.1, port: " +
      std::to_string(one.port()) + "}, {host: 127.0.0.1, port: " + std::to_string(two.port()) +
      "}, {host: 127.0.0.1, port: " + std::to_string(refused) +
      "}]\n"
      "      loadBalancing: {algorithm: round-robin}\n");
  std::map<std::string, int> seen;
  for (int i = 0; i < 30; ++i) {
    auto a = fetch({url(port_, "/name")});
    EXPECT_EQ(a.status, 200) << a.body;  // the refusing backend is retried elsewhere, then ejected
    ++seen[a.body];
  }
  EXPECT_GE(seen["backend one"], 10);
  EXPECT_GE(seen["backend two"], 10);
}

TEST_F(ProxyHttp, IpHashKeepsAClientOnOneBackend) {
  HttpBackend one("one"), two("two");
  start(
      "  - name: r\n    match: {ports: PORT, protocol: http}\n    action:\n      type: forward\n"
      "      targets: [{host: 127.0.0.1, port: " +
      std::to_string(one.port()) + "}, {host: 127.0.0.1, port: " + std::to_string(two.port()) +
      "}]\n"
      "      loadBalancing: {algorithm: ip-hash}\n");
  // The ring hashes the backends' "host:port", and the ports change from run
  // to run: 16 clients all landing on one of two backends has a chance of
  // about 2^-15 for an even ring (six clients had 3%, and did).
  std::map<std::string, std::set<std::string>> by_client;
  for (int client = 1; client <= 16; ++client) {
    const std::string source = "127.0.0." + std::to_string(client);
    for (int i = 0; i < 3; ++i)
      by_client[source].insert(fetch({"--interface", source, url(port_, "/name")}).body);
  }
  std::set<std::string> used;
  for (const auto& [source, backends] : by_client) {
    EXPECT_EQ(backends.size(), 1u) << source;
    used.insert(backends.begin(), backends.end());
  }
  EXPECT_EQ(used.size(), 2u) << "16 clients all hashed to one backend";
}

TEST_F(ProxyHttp, HealthChecksMoveTrafficAway) {
  auto one = std::make_unique<HttpBackend>("one");
  HttpBackend two("two");
  const auto one_port = one->port();
  start(
      "  - name: r\n    match: {ports: PORT, protocol: http}\n    action:\n      type: forward\n"
      "      targets: [{host: 127.0.0.1, port: " +
      std::to_string(one_port) + "}, {host: 127.0.0.1, port: " + std::to_string(two.port()) +
      "}]\n"
      "      loadBalancing:\n        healthCheck: {path: /name, interval: 100, timeout: 80, "
      "unhealthyThreshold: 2, "
      "healthyThreshold: 2}\n        passiveHealthCheck: {consecutiveFailures: 0}\n");
  EXPECT_TRUE(eventually([&] { return one->requests() >= 2; })) << "active checks reach the backend";
  one->stop();
  // After two failed checks every request goes to "two"; none fails.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fetch({url(port_, "/name")}).body, "backend two");
  // Back up on the same port (once the kernel lets it be bound again): traffic returns.
  one.reset();
  ASSERT_TRUE(eventually([&] {
    try {
      one = std::make_unique<HttpBackend>("one", one_port);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }));
  EXPECT_TRUE(eventually([&] { return fetch({url(port_, "/name")}).body == "backend one"; }));
}

TEST_F(ProxyHttp, TerminatedTlsServesHttp2AndHttp11) {
  HttpBackend b("b");
  write_certificate(dir_, "front", {"web.test"});
  start("  - {name: web, match: {ports: PORT, domains: web.test}, action: {type: forward, targets: " +
        target(b.port()) + ", tls: {mode: terminate, certificate: {cert: front.pem, key: front.key}}}}\n");
  const std::string resolve = "web.test:" + std::to_string(port_) + ":127.0.0.1";
  const std::string u = "https://web.test:" + std::to_string(port_) + "/headers";
  auto h2 = fetch({"--http2", "--cacert", dir_.file("front.pem"), "--resolve", resolve, u});
  EXPECT_EQ(h2.version, "2");
  EXPECT_THAT(h2.body, HasSubstr("x-forwarded-proto: https"));
  EXPECT_THAT(h2.body, HasSubstr("authority: web.test:" + std::to_string(port_)));
  auto h1 = fetch({"--http1.1", "--cacert", dir_.file("front.pem"), "--resolve", resolve, u});
  EXPECT_EQ(h1.version, "1.1");
  EXPECT_EQ(h1.status, 200);
  // No ALPN (as wrk): the request line says HTTP.
  auto plain =
      testing::run({"sh", "-c",
                    "printf 'GET /name HTTP/1.1\\r\\nHost: web.test\\r\\nConnection: close\\r\\n\\r\\n' | "
                    "openssl s_client -quiet -connect 127.0.0.1:" +
                        std::to_string(port_) + " -servername web.test 2>/dev/null"},
                   std::chrono::seconds(20));
  EXPECT_THAT(plain.out, HasSubstr("backend b"));
}

// A backend that closes idle keep-alive connections just as the proxy
// reuses them: the pooled client retries a safe request on a new
// connection, so no 502 reaches the client.
TEST_F(ProxyHttp, BackendClosingIdleConnectionsCausesNoErrors) {
  HttpBackend b("b", 0, std::chrono::milliseconds(150));
  start("  - {name: r, match: {ports: PORT, protocol: http}, action: {type: forward, targets: " +
        target(b.port()) + "}}\n");
  int failures = 0;
  for (int i = 0; i < 24; ++i) {
    // Around the backend's idle timeout, so some reuses race its close.
    std::this_thread::sleep_for(std::chrono::milliseconds(130 + (i % 6) * 8));
    if (fetch({url(port_, "/name")}).status != 200) ++failures;
  }
  EXPECT_EQ(failures, 0);
}

// nghttpd speaks nothing but HTTP/2: h2c by prior knowledge to a plain
// backend (backendProtocol: http2), and h2 chosen by ALPN towards a TLS one.
TEST_F(ProxyHttp, Http2BackendsH2cAndH2OverTls) {
  BASALT_REQUIRE_TOOL("nghttpd");
  write_certificate(dir_, "back", {"backend.test"});
  const std::string docroot = dir_.file("docroot");
  std::filesystem::create_directories(docroot);
  std::ofstream(docroot + "/hello.txt") << "hello from nghttpd\n";
  const auto h2c_port = testing::free_port();
  const auto h2_port = testing::free_port();
  Process h2c({.argv = {"nghttpd", "--no-tls", "-d", docroot, std::to_string(h2c_port)}});
  Process h2({.argv = {"nghttpd", "-d", docroot, std::to_string(h2_port), dir_.file("back.key"),
                       dir_.file("back.pem")}});
  ASSERT_TRUE(wait_listening(h2c_port) && wait_listening(h2_port));
  write_certificate(dir_, "front", {"web.test"});
  start(
      "  - {name: h2c, match: {ports: PORT, path: \"/plain/*\"}, action: {type: forward, targets: " +
      target(h2c_port) +
      ", options: {backendProtocol: http2}, advanced: {urlRewrite: {pattern: \"^/plain\", target: \"\"}}}}\n"
      "  - name: tls\n    match: {ports: PORT, domains: web.test}\n    action: {type: forward, targets: " +
      target(h2_port) +
      ",\n      tls: {mode: terminate-and-reencrypt, certificate: {cert: front.pem, key: front.key}, "
      "backend: {ca: "
      "back.pem, serverName: backend.test}}}\n"
      "    headers: {response: {x-via-route: tls}}\n");
  auto plain = fetch({"--http1.1", url(port_, "/plain/hello.txt")});
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "hello from nghttpd\n");
  auto tls = curl({"-i", "--cacert", dir_.file("front.pem"), "--resolve",
                   "web.test:" + std::to_string(port_) + ":127.0.0.1",
                   "https://web.test:" + std::to_string(port_) + "/hello.txt"});
  EXPECT_THAT(tls.out, HasSubstr("hello from nghttpd"));
  EXPECT_THAT(tls.out, HasSubstr("x-via-route: tls"));
}

// websocket: {pingInterval, pingTimeout}: an idle tunnel gets the proxy's
// own Ping on both sides; the client's Pong is swallowed (the backend never
// sees it); a backend that never answers has the tunnel closed.
// A WebSocket backend that answers the upgrade with 101, then only records
// what it receives until the proxy closes (or 6 s pass).
class SilentWebSocketBackend {
 public:
  SilentWebSocketBackend() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 4) != 0)
      return;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string head;
      while (head.find("\r\n\r\n") == std::string::npos) {
        auto more = read_some_until(fd, 1, std::chrono::seconds(3));
        if (more.empty()) break;
        head += more;
      }
      send_all(fd,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
      got_ = read_some_until(fd, 1 << 16, std::chrono::seconds(6));
      ::close(fd);
    });
  }
  ~SilentWebSocketBackend() {
    ::shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }
  // After the proxy closed: everything that arrived.
  const std::string& received() {
    if (thread_.joinable()) thread_.join();
    return got_;
  }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string got_;
};

// websocket: {pingInterval, pingTimeout}: an idle tunnel gets the proxy's
// own Ping on both sides; the client's Pong is swallowed (the backend never
// sees it); a backend that never answers has the tunnel closed.
TEST_F(ProxyHttp, WebSocketKeepalivePingsBothSidesAndClosesADeadTunnel) {
  SilentWebSocketBackend backend;
  ASSERT_NE(backend.port(), 0);
  start("  - {name: ws, match: {ports: PORT, protocol: http}, action: {type: forward, targets: " +
        target(backend.port()) + ", websocket: {pingInterval: 300, pingTimeout: 700}}}\n");
  int client = connect_to(port_);
  ASSERT_GE(client, 0);
  send_all(client,
           "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  // The 101, then (after 300 ms of silence) the proxy's Ping: unmasked
  // towards the client, an 8-byte token.
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos || got.size() < got.find("\r\n\r\n") + 4 + 10) {
    auto more = read_some_until(client, 1, std::chrono::seconds(3));
    if (more.empty()) break;
    got += more;
  }
  ASSERT_THAT(got, HasSubstr("HTTP/1.1 101"));
  const std::string frames = got.substr(got.find("\r\n\r\n") + 4);
  ASSERT_GE(frames.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(frames[0]), 0x89);  // FIN + Ping
  EXPECT_EQ(static_cast<unsigned char>(frames[1]), 0x08);  // not masked, 8 bytes
  // Our Pong with the token, masked as a client must.
  std::string pong{static_cast<char>(0x8a), static_cast<char>(0x88), 1, 2, 3, 4};
  for (int i = 0; i < 8; ++i) pong.push_back(static_cast<char>(frames[2 + i] ^ (i % 4 + 1)));
  send_all(client, pong);
  // The backend never answers its own Ping: within the timeout the tunnel ends.
  const auto since = std::chrono::steady_clock::now();
  read_some_until(client, 1 << 20, std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - since, std::chrono::seconds(4))
      << "the dead tunnel stayed open";
  ::close(client);
  const std::string& at_backend = backend.received();
  ASSERT_GE(at_backend.size(), 14u);
  EXPECT_EQ(static_cast<unsigned char>(at_backend[0]), 0x89);  // the proxy's Ping to the backend
  EXPECT_EQ(static_cast<unsigned char>(at_backend[1]), 0x88);  // masked, 8 bytes
  EXPECT_EQ(at_backend.size(), 14u) << "more than the proxy's Ping reached the backend (the client's Pong?)";
  EXPECT_TRUE(eventually([&] { return proxy_->log().find("did not answer a ping") != std::string::npos; }));
}

TEST_F(ProxyHttp, UpdateRoutesUnderLoadFailsNoRequest) {
  HttpBackend one("one"), two("two");
  start("  - {name: r, match: {ports: PORT, protocol: http}, action: {type: forward, targets: " +
        target(one.port()) + "}}\n");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, done{0};
  std::thread load([&] {
    while (!stop) {
      auto a = fetch({url(port_, "/name")});
      if (a.status != 200) ++failures;
      ++done;
    }
  });
  for (int i = 0; i < 4; ++i) {
    const auto port = (i % 2 == 0 ? two : one).port();
    boost::json::array routes;
    routes.push_back(
        boost::json::parse("{\"name\":\"r\",\"match\":{\"ports\":" + std::to_string(port_) +
                           ",\"protocol\":\"http\"},\"action\":{\"type\":\"forward\",\"targets\":[{"
                           "\"host\":\"127.0.0.1\",\"port\":" +
                           std::to_string(port) + "}]}}"));
    proxy_->call("updateRoutes", {{"routes", routes}});
    const int before = done;
    EXPECT_TRUE(eventually([&] { return done >= before + 3; }));
  }
  stop = true;
  load.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(one.requests(), 0);
  EXPECT_GT(two.requests(), 0);
}

}  // namespace
}  // namespace basalt::proxy_test
