// basalt-proxy's TLS modes against real peers: curl and openssl s_client in
// front; nginx (HTTP and HTTPS with h2) behind; SNI routing, passthrough,
// termination, re-encryption with ALPN passed through, resumption.
#include <unistd.h>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

std::string resolve(const std::string& name, std::uint16_t port) {
  return name + ":" + std::to_string(port) + ":127.0.0.1";
}

std::string url(const std::string& name, std::uint16_t port, const std::string& path) {
  return "https://" + name + ":" + std::to_string(port) + path;
}

class ProxyTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto m = testing::missing_tool("nginx")) {
      if (testing::in_ci()) FAIL() << *m;
      GTEST_SKIP() << *m;
    }
    write_certificate(dir_, "front", {"web.test", "*.web.test"});
    write_certificate(dir_, "back", {"pass.test", "backend.test"});
    plain_.emplace(dir_, "plain");
    tls_.emplace(dir_, "tls", "back");
    ASSERT_TRUE(plain_->ready() && tls_->ready());
    port_ = testing::free_port();
    std::string p = std::to_string(port_);
    std::string yaml =
        "initialDataTimeout: 2000\nroutes:\n"
        "  - name: terminate\n    match: {ports: " +
        p +
        ", domains: [web.test, \"*.web.test\"]}\n"
        "    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(plain_->http_port()) +
        "}],\n"
        "             tls: {mode: terminate, certificate: {cert: front.pem, key: front.key}}}\n"
        "  - name: pass\n    match: {ports: " +
        p +
        ", domains: pass.test}\n"
        "    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(tls_->https_port()) +
        "}],\n"
        "             tls: {mode: passthrough}}\n"
        "  - name: reencrypt\n    match: {ports: " +
        p +
        ", domains: re.web.test}\n"
        "    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(tls_->https_port()) +
        "}],\n"
        "             tls: {mode: terminate-and-reencrypt, certificate: {cert: front.pem, key: front.key},\n"
        "                   backend: {ca: back.pem, serverName: backend.test}}}\n"
        "  - name: untrusted\n    match: {ports: " +
        p +
        ", domains: bad.web.test}\n"
        "    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(tls_->https_port()) +
        "}],\n"
        "             tls: {mode: terminate-and-reencrypt, certificate: {cert: front.pem, key: front.key},\n"
        "                   backend: {ca: front.pem, serverName: backend.test}}}\n"
        "  - name: tls12\n    match: {ports: " +
        p +
        ", domains: old.web.test}\n    priority: 5\n"
        "    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(plain_->http_port()) +
        "}],\n"
        "             tls: {mode: terminate, certificate: {cert: front.pem, key: front.key}, versions: "
        "[TLSv1.2]}}\n";
    proxy_.emplace(dir_, yaml, port_);
    ASSERT_TRUE(proxy_->ready()) << proxy_->log();
  }

  testing::RunResult get(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--resolve", resolve(name, port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url(name, port_, "/hello.txt"));
    return curl(args);
  }

  TempDir dir_;
  std::optional<NginxBackend> plain_, tls_;
  std::uint16_t port_ = 0;
  std::optional<ProxyDaemon> proxy_;
};

TEST_F(ProxyTls, TerminateServesTheRouteCertificateOverTls12And13) {
  auto v13 = get("web.test", {"--cacert", dir_.file("front.pem"), "--tlsv1.3"});
  EXPECT_EQ(v13.exit_code, 0) << v13.err;
  EXPECT_EQ(v13.out, "hello from nginx plain\n");
  auto v12 = get("a.web.test", {"--cacert", dir_.file("front.pem"), "--tlsv1.2", "--tls-max", "1.2"});
  EXPECT_EQ(v12.exit_code, 0) << v12.err;
  EXPECT_EQ(v12.out, "hello from nginx plain\n");
  // A terminated stream that offers h2 is served as HTTP/2; the plain
  // backend still gets HTTP/1.1 from the proxy's own client.
  auto version = get("web.test", {"--cacert", dir_.file("front.pem"), "--http2", "-o", "/dev/null", "-w",
                                  "%{http_version}"});
  EXPECT_EQ(version.out, "2") << version.err;
}

TEST_F(ProxyTls, CertificateStatusPerRoute) {
  auto status = proxy_->call("getCertificateStatus", {{"routeName", "terminate"}});
  EXPECT_EQ(status.at("domain"), "web.test") << status;
  EXPECT_EQ(status.at("status"), "valid");
  EXPECT_EQ(status.at("source"), "static");
  EXPECT_NE(
      proxy_->call_error("getCertificateStatus", {{"routeName", "pass"}}).find("does not terminate TLS"),
      std::string::npos);
  EXPECT_NE(proxy_->call_error("getCertificateStatus", {{"routeName", "nope"}}).find("is not a route"),
            std::string::npos);
}

TEST_F(ProxyTls, RouteTlsVersionsAreEnforced) {
  auto v13 = get("old.web.test", {"--cacert", dir_.file("front.pem"), "--tlsv1.3"});
  EXPECT_NE(v13.exit_code, 0) << "TLS 1.3 must be refused on a TLSv1.2-only route";
  auto v12 = get("old.web.test", {"--cacert", dir_.file("front.pem"), "--tls-max", "1.2"});
  EXPECT_EQ(v12.exit_code, 0) << v12.err;
}

TEST_F(ProxyTls, PassthroughForwardsTheBackendsOwnTls) {
  // Verifies against the backend's certificate: the proxy did not touch TLS.
  auto r = get("pass.test", {"--cacert", dir_.file("back.pem"), "--http2", "-w", " %{http_version}"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from nginx tls\n 2");
}

TEST_F(ProxyTls, ReencryptPassesTheClientsAlpnToTheBackend) {
  auto h2 = get("re.web.test", {"--cacert", dir_.file("front.pem"), "--http2", "-w", " %{http_version}"});
  EXPECT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_EQ(h2.out, "hello from nginx tls\n 2");
  auto h1 = get("re.web.test", {"--cacert", dir_.file("front.pem"), "--http1.1", "-w", " %{http_version}"});
  EXPECT_EQ(h1.exit_code, 0) << h1.err;
  EXPECT_EQ(h1.out, "hello from nginx tls\n 1.1");
}

TEST_F(ProxyTls, ReencryptRefusesAnUntrustedBackend) {
  auto r = get("bad.web.test", {"--cacert", dir_.file("front.pem")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    return proxy_->log().find("certificate verify failed") != std::string::npos;
  })) << proxy_->log();
}

TEST_F(ProxyTls, UnknownOrMissingSniGetsAnAlert) {
  BASALT_REQUIRE_TOOL("openssl");
  auto unknown = testing::run({"/bin/sh", "-c",
                               "openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                                   " -servername nobody.test </dev/null 2>&1"});
  EXPECT_NE(unknown.out.find("unrecognized name"), std::string::npos) << unknown.out;
  auto none = testing::run(
      {"/bin/sh", "-c",
       "openssl s_client -connect 127.0.0.1:" + std::to_string(port_) + " -noservername </dev/null 2>&1"});
  EXPECT_NE(none.out.find("handshake failure"), std::string::npos) << none.out;
}

TEST_F(ProxyTls, SplitClientHellosAreRoutedBySni) {
  auto client = testing::binary("basalt-test-hello-client");
  auto base = std::vector<std::string>{client, "--connect", "127.0.0.1:" + std::to_string(port_), "--send",
                                       "GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n"};
  auto one_byte = base;
  one_byte.insert(one_byte.end(),
                  {"--servername", "pass.test", "--ca", dir_.file("back.pem"), "--byte-per-segment"});
  auto r1 = testing::run(one_byte, std::chrono::seconds(60));
  EXPECT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_NE(r1.out.find("hello from nginx tls"), std::string::npos) << r1.out << r1.err;

  auto records = base;
  records.insert(records.end(), {"--servername", "web.test", "--ca", dir_.file("front.pem"), "--pad", "9000",
                                 "--split-records", "700"});
  auto r2 = testing::run(records, std::chrono::seconds(60));
  EXPECT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_NE(r2.out.find("hello from nginx plain"), std::string::npos) << r2.out << r2.err;
}

TEST_F(ProxyTls, SessionsResumeWithTickets) {
  BASALT_REQUIRE_TOOL("openssl");
  auto session = dir_.file("session.pem");
  auto connect = "openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                 " -servername web.test -tls1_2 -CAfile " + dir_.file("front.pem");
  auto first = testing::run({"/bin/sh", "-c", connect + " -sess_out " + session + " </dev/null 2>&1"});
  ASSERT_NE(first.out.find("New, TLSv1.2"), std::string::npos) << first.out;
  auto second = testing::run({"/bin/sh", "-c", connect + " -sess_in " + session + " </dev/null 2>&1"});
  EXPECT_NE(second.out.find("Reused, TLSv1.2"), std::string::npos) << second.out;
}

}  // namespace
}  // namespace basalt::proxy_test
