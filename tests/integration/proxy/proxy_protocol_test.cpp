// The PROXY protocol against real peers on loopback: HAProxy in front of
// basalt-proxy (send-proxy, send-proxy-v2), nginx behind it listening with
// proxy_protocol and logging $proxy_protocol_addr. Clients connect from
// 127.0.0.2 / 127.0.0.3, so the address carried is told apart from the
// 127.0.0.1 every hop between them uses.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// nginx with three servers, each writing its own access log (one line per
// request: "$proxy_protocol_addr $proxy_protocol_server_port
// $http_x_forwarded_for" or, for TLS, "$proxy_protocol_addr"):
//   pp_port:   HTTP behind a PROXY header;
//   plain_port: plain HTTP (the proxy's HTTP routes);
//   tls_port:  HTTPS (certificate <dir>/tls.pem) behind a PROXY header.
class ProxyProtocolNginx {
 public:
  explicit ProxyProtocolNginx(const TempDir& dir) : prefix_(dir.file("nginx")) {
    testing::run({"/bin/sh", "-c", "mkdir -p " + prefix_ + "/html " + prefix_ + "/tmp"});
    std::ofstream(prefix_ + "/html/hello.txt") << "hello\n";
    pp_port = testing::free_port();
    plain_port = testing::free_port();
    tls_port = testing::free_port();
    std::ofstream conf(prefix_ + "/nginx.conf");
    conf << "worker_processes 1;\nerror_log " << prefix_ << "/error.log;\npid " << prefix_ << "/nginx.pid;\n"
         << "events { worker_connections 256; }\nhttp {\n"
         << "  client_body_temp_path " << prefix_ << "/tmp;\n"
         << "  log_format pp '$proxy_protocol_addr $proxy_protocol_server_port $http_x_forwarded_for';\n"
         << "  server { listen 127.0.0.1:" << pp_port << " proxy_protocol; root " << prefix_ << "/html;\n"
         << "    access_log " << log("pp") << " pp; }\n"
         << "  server { listen 127.0.0.1:" << plain_port << "; root " << prefix_ << "/html;\n"
         << "    access_log " << log("plain") << " pp; }\n"
         << "  server { listen 127.0.0.1:" << tls_port << " ssl proxy_protocol; root " << prefix_
         << "/html;\n"
         << "    ssl_certificate " << dir.file("tls.pem") << "; ssl_certificate_key " << dir.file("tls.key")
         << ";\n    access_log " << log("tls") << " pp; }\n"
         << "}\n";
    conf.close();
    process_.emplace(
        Process::Options{.argv = {"nginx", "-c", prefix_ + "/nginx.conf", "-p", prefix_, "-g", "daemon off;"},
                         .capture_stderr = true});
    ready = wait_listening(pp_port) && wait_listening(plain_port) && wait_listening(tls_port);
  }
  ~ProxyProtocolNginx() {
    process_->signal(SIGTERM);
    process_->wait(std::chrono::seconds(5));
  }
  std::string log(const std::string& name) const { return prefix_ + "/" + name + ".log"; }
  // Lines of a log once it has `count` of them (nginx writes after the answer).
  std::vector<std::string> lines(const std::string& name, std::size_t count) const {
    std::vector<std::string> out;
    eventually([&] {
      out.clear();
      std::istringstream in(read_file(log(name)));
      for (std::string line; std::getline(in, line);) out.push_back(line);
      return out.size() >= count;
    });
    return out;
  }

  std::uint16_t pp_port = 0, plain_port = 0, tls_port = 0;
  bool ready = false;

 private:
  std::string prefix_;
  std::optional<Process> process_;
};

// HAProxy in TCP mode: one frontend per entry, each to a basalt-proxy port
// with `send-proxy` or `send-proxy-v2`.
class HaproxyFront {
 public:
  struct Frontend {
    std::uint16_t to;
    std::string send;  // "send-proxy" | "send-proxy-v2"
    std::uint16_t port = 0;
  };
  HaproxyFront(const TempDir& dir, std::vector<Frontend> frontends) : frontends_(std::move(frontends)) {
    const std::string path = dir.file("haproxy.cfg");
    std::ofstream conf(path);
    conf << "global\n  maxconn 256\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n"
         << "  timeout server 30s\n";
    for (std::size_t i = 0; i < frontends_.size(); ++i) {
      auto& f = frontends_[i];
      f.port = testing::free_port();
      conf << "frontend f" << i << "\n  bind 127.0.0.1:" << f.port << "\n  default_backend b" << i << "\n"
           << "backend b" << i << "\n  server s 127.0.0.1:" << f.to << " " << f.send << "\n";
    }
    conf.close();
    process_.emplace(Process::Options{.argv = {"haproxy", "-db", "-f", path}, .capture_stderr = true});
    ready = true;
    for (const auto& f : frontends_) ready = ready && wait_listening(f.port);
  }
  ~HaproxyFront() {
    process_->signal(SIGTERM);
    process_->wait(std::chrono::seconds(5));
  }
  std::uint16_t port(std::size_t i) const { return frontends_[i].port; }
  bool ready = false;

 private:
  std::vector<Frontend> frontends_;
  std::optional<Process> process_;
};

int refused(ProxyDaemon& proxy, const std::string& reason) {
  auto metrics = proxy.call("getMetrics");
  const auto& by = metrics.at("refused").at("byReason").as_object();
  auto it = by.find(reason);
  return it == by.end() ? 0 : static_cast<int>(it->value().to_number<double>());
}

// A one-connection TCP listener that keeps the first bytes it is sent.
class CaptureBackend {
 public:
  CaptureBackend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~CaptureBackend() { ::close(fd_); }
  // Accepts one connection and reads until `want` bytes or 10 s.
  std::string receive(std::size_t want) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 10'000) != 1) return {};
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return {};
    std::string got = read_some_until(c, want);
    ::close(c);
    return got;
  }
  std::uint16_t port = 0;

 private:
  int fd_ = -1;
};

std::string route(const std::string& name, std::uint16_t port, std::uint16_t to,
                  const std::string& extra_match, const std::string& extra_action,
                  const std::string& extra = "") {
  return "  - name: " + name + "\n    match: {ports: " + std::to_string(port) + extra_match +
         "}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " + std::to_string(to) + "}]" +
         extra_action + "}\n" + extra;
}

TEST(ProxyProtocol, HaproxyInFrontNginxBehind) {
  BASALT_REQUIRE_TOOL("haproxy");
  BASALT_REQUIRE_TOOL("nginx");
  BASALT_REQUIRE_TOOL("curl");
  TempDir dir;
  write_certificate(dir, "tls", {"a.test"});
  ProxyProtocolNginx nginx(dir);
  ASSERT_TRUE(nginx.ready) << read_file(nginx.log("error"));
  const auto tcp = testing::free_port();
  const auto web = testing::free_port();
  const auto tls = testing::free_port();
  const auto term = testing::free_port();
  const std::string certificate = "{cert: " + dir.file("tls.pem") + ", key: " + dir.file("tls.key") + "}";
  ProxyDaemon proxy(
      dir,
      "acceptProxyProtocol: true\nproxyIPs: [127.0.0.1]\nroutes:\n" +
          route("tcp", tcp, nginx.pp_port, "", ", sendProxyProtocol: true",
                "    security: {ipBlockList: [127.0.0.3]}\n") +
          route("web", web, nginx.plain_port, ", protocol: http", "") +
          route("pass", tls, nginx.tls_port, ", domains: a.test",
                ", tls: {mode: passthrough}, sendProxyProtocol: true, proxyProtocolVersion: 2") +
          route("term", term, nginx.pp_port, ", domains: a.test",
                ", tls: {mode: terminate, certificate: " + certificate + "}, sendProxyProtocol: true"),
      tcp);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  HaproxyFront haproxy(dir, {{tcp, "send-proxy"},
                             {tcp, "send-proxy-v2"},
                             {web, "send-proxy"},
                             {web, "send-proxy-v2"},
                             {tls, "send-proxy-v2"}});
  ASSERT_TRUE(haproxy.ready);
  auto get = [](std::uint16_t port, const std::string& source) {
    return curl({"-s", "--max-time", "10", "--interface", source,
                 "http://127.0.0.1:" + std::to_string(port) + "/hello.txt"});
  };

  // TCP route: HAProxy's v1 and v2 headers give basalt the client, and
  // basalt's own header gives it to nginx (with the address HAProxy was
  // reached on).
  for (std::size_t front : {0u, 1u}) {
    auto r = get(haproxy.port(front), "127.0.0.2");
    EXPECT_EQ(r.out, "hello\n") << front << " " << r.err << proxy.log();
  }
  auto pp = nginx.lines("pp", 2);
  ASSERT_EQ(pp.size(), 2u);
  EXPECT_EQ(pp[0], "127.0.0.2 " + std::to_string(haproxy.port(0)) + " -");
  EXPECT_EQ(pp[1], "127.0.0.2 " + std::to_string(haproxy.port(1)) + " -");

  // HTTP route: the carried address is the one X-Forwarded-For names.
  for (std::size_t front : {2u, 3u}) {
    auto r = get(haproxy.port(front), "127.0.0.2");
    EXPECT_EQ(r.out, "hello\n") << front << " " << r.err << proxy.log();
  }
  auto plain = nginx.lines("plain", 2);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0], "- - 127.0.0.2");
  EXPECT_EQ(plain[1], "- - 127.0.0.2");

  // The route's ipBlockList applies to the carried address.
  auto blocked = get(haproxy.port(0), "127.0.0.3");
  EXPECT_NE(blocked.out, "hello\n");
  EXPECT_TRUE(eventually([&] { return refused(proxy, "ip_blocked") >= 1; }));
  EXPECT_EQ(nginx.lines("pp", 2).size(), 2u);  // nothing reached nginx

  // TLS passthrough behind a v2 header is still routed by SNI, and the
  // client reaches nginx's TLS server with its own address.
  const std::string url = "https://a.test:" + std::to_string(haproxy.port(4)) + "/hello.txt";
  auto s = curl({"-s", "-k", "--max-time", "10", "--interface", "127.0.0.2", "--resolve",
                 "a.test:" + std::to_string(haproxy.port(4)) + ":127.0.0.1", url});
  EXPECT_EQ(s.out, "hello\n") << s.err << proxy.log();
  auto tls_lines = nginx.lines("tls", 1);
  ASSERT_EQ(tls_lines.size(), 1u);
  EXPECT_EQ(tls_lines[0], "127.0.0.2 " + std::to_string(haproxy.port(4)) + " -");
  // A terminated connection (the client straight to basalt-proxy, not in
  // proxyIPs) is relayed as bytes behind basalt-proxy's header.
  auto t = curl({"-s", "-k", "--max-time", "10", "--interface", "127.0.0.2", "--resolve",
                 "a.test:" + std::to_string(term) + ":127.0.0.1",
                 "https://a.test:" + std::to_string(term) + "/hello.txt"});
  EXPECT_EQ(t.out, "hello\n") << t.err << proxy.log();
  auto pp_after = nginx.lines("pp", 3);
  ASSERT_EQ(pp_after.size(), 3u);
  EXPECT_EQ(pp_after[2], "127.0.0.2 " + std::to_string(term) + " -");

  auto other = curl({"-s", "-k", "--max-time", "10", "--resolve",
                     "b.test:" + std::to_string(haproxy.port(4)) + ":127.0.0.1",
                     "https://b.test:" + std::to_string(haproxy.port(4)) + "/hello.txt"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_TRUE(eventually([&] { return refused(proxy, "no_route") >= 1; }));
}

TEST(ProxyProtocol, HeadersFromOtherPeersAndMissingHeadersClose) {
  CaptureBackend backend;
  TempDir dir;
  const auto tcp = testing::free_port();
  const auto web = testing::free_port();
  const auto tls = testing::free_port();
  ProxyDaemon proxy(
      dir,
      "acceptProxyProtocol: true\nproxyIPs: [127.0.0.1]\ninitialDataTimeout: 1000\nroutes:\n" +
          route("tcp", tcp, backend.port, "", ", sendProxyProtocol: true, proxyProtocolVersion: 1") +
          route("web", web, backend.port, ", protocol: http", "") +
          route("pass", tls, backend.port, ", domains: a.test", ", tls: {mode: passthrough}"),
      tcp);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  // From a proxyIPs peer: a v2 header and the client's first bytes in one
  // segment; the backend gets basalt's v1 header, then those bytes.
  {
    int fd = connect_to(tcp, "127.0.0.1");
    ASSERT_GE(fd, 0);
    const std::string v2 = std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16) +
                           std::string("\x7f\x00\x00\x09\x7f\x00\x00\x01\x15\xb3\x00\x50", 12);
    ASSERT_TRUE(send_all(fd, v2 + "hello after the header"));
    const std::string expected = "PROXY TCP4 127.0.0.9 127.0.0.1 5555 80\r\nhello after the header";
    EXPECT_EQ(backend.receive(expected.size()), expected);
    ::close(fd);
  }

  // From a peer not in proxyIPs, a header where the proxy reads the first
  // bytes (the hello of a TLS port, an HTTP request) closes the connection.
  for (auto port : {tls, web}) {
    int fd = connect_to(port, "127.0.0.2");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "PROXY TCP4 10.9.9.9 127.0.0.1 1 2\r\n"));
    EXPECT_TRUE(closed_by_peer(fd)) << port;
    ::close(fd);
  }
  EXPECT_TRUE(eventually([&] { return refused(proxy, "untrusted_proxy_header") >= 2; })) << proxy.log();

  // From a proxyIPs peer, bytes that are not a header close the connection;
  // so does a header that does not arrive within initialDataTimeout.
  {
    int fd = connect_to(tcp, "127.0.0.1");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\r\n\r\n"));
    EXPECT_TRUE(closed_by_peer(fd));
    ::close(fd);
  }
  EXPECT_TRUE(eventually([&] { return refused(proxy, "bad_proxy_header") >= 1; })) << proxy.log();
  {
    int fd = connect_to(tcp, "127.0.0.1");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "PROXY TCP4 127.0.0.9"));  // and nothing more
    EXPECT_TRUE(closed_by_peer(fd));
    ::close(fd);
  }
  EXPECT_TRUE(eventually([&] { return refused(proxy, "initial_data_timeout") >= 1; })) << proxy.log();
}

}  // namespace
}  // namespace basalt::proxy_test
