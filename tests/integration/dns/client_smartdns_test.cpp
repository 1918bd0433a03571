// smartdns 7.9.0's `Smartdns` client class running on our binary as its
// `rustdns-client` engine: the package is installed from npm into a temp
// dir (skipped with the reason when the registry cannot be reached), our
// basalt-dns is put at dist_rust/rustdns-client_linux_amd64, and the `udp`
// and `doh` strategies resolve against our own server on loopback, named
// through BASALT_DNS_UDP_UPSTREAM / BASALT_DNS_DOH_URL / BASALT_DNS_CA_FILE.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "basalt/core/tls.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

class ClientPackage {
 public:
  static ClientPackage& get() {
    static ClientPackage p;
    return p;
  }
  std::optional<std::string> skip;
  std::string error;
  std::string dir() const { return dir_.path(); }

 private:
  ClientPackage() {
    auto r = run({"npm", "install", "--prefix", dir_.path(), "--no-audit", "--no-fund", "--ignore-scripts",
                  "--loglevel=error", "@push.rocks/smartdns@7.9.0"},
                 600s);
    if (r.exit_code != 0) {
      if (run({"npm", "ping", "--loglevel=error"}, 60s).exit_code != 0) {
        skip = "the npm registry cannot be reached";
      } else {
        error = "npm install @push.rocks/smartdns@7.9.0 failed: " + r.err;
      }
      return;
    }
    auto dist = fs::path(dir_.path()) / "node_modules/@push.rocks/smartdns/dist_rust";
    for (std::string name : {"rustdns-client_linux_amd64", "rustdns-client_linux_arm64"}) {
      fs::remove(dist / name);
      fs::copy_file(binary("basalt-dns"), dist / name);
      fs::permissions(dist / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    }
    fs::copy_file(fs::path(source_dir()) / "tests/integration/dns/client_smartdns_driver.mjs",
                  fs::path(dir_.path()) / "client_driver.mjs");
  }
  TempDir dir_;
};

class SmartdnsClient : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("node");
    BASALT_REQUIRE_TOOL("npm");
    auto& pkg = ClientPackage::get();
    if (pkg.skip) GTEST_SKIP() << *pkg.skip;
    ASSERT_TRUE(pkg.error.empty()) << pkg.error;
    cert_ = *core::generate_self_signed(
        {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}});
    std::ofstream(dir_.file("ca.pem")) << cert_.certificate;
    dns::ServerConfig c;
    c.listen = {*core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})};
    c.zones = {{.file = source_dir() + "/examples/dns/example.test.zone"}};
    c.workers = 1;
    c.state_dir = dir_.path();
    c.doh = {{.listen = *core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})}};
    c.tls = service::TlsConfig{.cert = cert_.certificate, .key = cert_.private_key};
    server_.emplace(c);
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  json::array resolve(const std::string& strategy, const std::string& name, const std::string& type) {
    Process node(
        {.argv = {"node", ClientPackage::get().dir() + "/client_driver.mjs", strategy, name, type},
         .env = {"BASALT_DNS_UDP_UPSTREAM=127.0.0.1:" + std::to_string(server_->udp_endpoints().at(0).port),
                 "BASALT_DNS_DOH_URL=https://127.0.0.1:" +
                     std::to_string(server_->doh_endpoints().at(0).port) + "/dns-query",
                 "BASALT_DNS_CA_FILE=" + dir_.file("ca.pem")}});
    auto line = node.read_line(60s);
    node.wait(30s);
    EXPECT_TRUE(line) << "the driver printed nothing";
    if (!line) return {};
    auto v = json::parse(*line).as_object();
    EXPECT_FALSE(v.contains("error")) << *line;
    return v.contains("records") ? v.at("records").as_array() : json::array{};
  }
  TempDir dir_;
  core::PemCertificate cert_;
  std::optional<dns::Server> server_;
};

TEST_F(SmartdnsClient, UdpAndDohStrategiesResolveAgainstOurServer) {
  for (std::string strategy : {"udp", "doh"}) {
    SCOPED_TRACE(strategy);
    auto a = resolve(strategy, "www.example.test", "A");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].at("value").as_string(), "127.0.0.1");
    EXPECT_EQ(a[0].at("type").as_string(), "A");
    EXPECT_EQ(a[0].at("name").as_string(), "www.example.test");
    EXPECT_EQ(a[0].at("dnsSecEnabled").as_bool(), false);
    auto txt = resolve(strategy, "example.test", "TXT");
    ASSERT_EQ(txt.size(), 1u);
    EXPECT_EQ(txt[0].at("value").as_string(), "v=spf1 mx -all");
    auto mx = resolve(strategy, "example.test", "MX");
    ASSERT_EQ(mx.size(), 1u);
    EXPECT_EQ(mx[0].at("value").as_string(), "10 mail.example.test");
    EXPECT_TRUE(resolve(strategy, "nope.example.test", "A").empty());
  }
}

}  // namespace
}  // namespace basalt::testing
