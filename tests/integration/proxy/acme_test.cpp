// ACME certificates for basalt-proxy routes (`certificate: auto`) from a
// real CA: pebble with validation on, resolving the test names through a
// basalt-dns on loopback. Covered: HTTP-01 on the proxy's acme.port,
// TLS-ALPN-01 on the route's own port, DNS-01 for a wildcard through
// basalt-dns's management socket; the full chain is served and curl and
// openssl verify it against pebble's root; a name whose first certificate
// is not there yet gets an unrecognized_name alert; a restart serves the
// stored certificate without contacting the CA; a renewal the CA refuses
// reports the CA's reason and the old certificate keeps serving; two proxies
// sharing one store place one order; with `certProvision: driver` the proxy
// asks the driver on its management socket (certificateRequest) and serves
// the certificate it provides, or orders from the CA when it answers
// `acme: true`; provideCertificate refuses bad input, naming it, and is
// refused without `certProvision: driver`; configuration errors at load.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "basalt/core/tls.hpp"
#include "fixture.hpp"
#include "pebble.hpp"

namespace basalt::proxy_test {
namespace {

using namespace std::chrono_literals;

// The test names: each has A 127.0.0.1 in the zone pebble resolves through.
const std::vector<std::string> kNames = {"a", "b", "t", "w", "two", "p", "r", "f"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string field(const boost::json::object& o, const char* key) {
  if (const auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return "";
}

// The acme: section, pointing at `pebble` (or a directory URL), with
// `extra` lines (two-space indented) appended.
struct AcmeConfig {
  std::string directory;
  std::string directory_ca;
  std::uint16_t port = 0;  // HTTP-01
  std::string store;
  std::string challenge_types = "[http-01]";
  std::string extra;
};

std::string acme_yaml(const AcmeConfig& a) {
  return "acme:\n  email: ops@example.test\n  directory: " + a.directory +
         "\n  directoryCa: " + a.directory_ca + "\n  port: " + std::to_string(a.port) +
         "\n  certificateStore: " + a.store + "\n  challengeTypes: " + a.challenge_types + "\n" + a.extra;
}

// A terminating route with an ACME certificate that answers every request
// itself with "hello <Host>".
std::string auto_route(const std::string& name, std::uint16_t port, const std::string& domains) {
  return "  - name: " + name + "\n    match: {ports: " + std::to_string(port) + ", domains: " + domains +
         "}\n    action: {type: socket-handler, socketHandler: {type: httpStatic, body: \"hello "
         "{domain}\"},\n"
         "             tls: {mode: terminate, certificate: auto}}\n";
}

// getCertificateStatus {routeName}; a failed call comes back as {callError}.
boost::json::object certificate_status(ProxyDaemon& proxy, const std::string& route) {
  boost::json::object out;
  try {
    auto v = proxy.call("getCertificateStatus", {{"routeName", route}});
    if (v.is_object()) return v.as_object();
    out["callError"] = "not an object: " + boost::json::serialize(v);
  } catch (const std::exception& e) {
    out["callError"] = e.what();
  }
  return out;
}

// Polls the route's status until it is `valid` (the proxy orders in the
// background); `last` is the last status seen.
bool wait_valid(ProxyDaemon& proxy, const std::string& route, boost::json::object& last,
                std::chrono::milliseconds timeout = 60s) {
  return eventually(
      [&] {
        last = certificate_status(proxy, route);
        return field(last, "status") == "valid";
      },
      timeout);
}

// GET https://<name>:<port>/ verified against `ca`.
testing::RunResult https_get(const std::string& name, std::uint16_t port, const std::string& ca) {
  return curl({"--cacert", ca, "--resolve", name + ":" + std::to_string(port) + ":127.0.0.1",
               "https://" + name + ":" + std::to_string(port) + "/"});
}

// openssl s_client with SNI `name`, verifying chain and host name against `ca`; merged output.
testing::RunResult s_client(std::uint16_t port, const std::string& name, const std::string& ca) {
  return testing::run({"/bin/sh", "-c",
                       "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -servername " +
                           name + " -verify_hostname " + name + " -CAfile " + ca +
                           " -showcerts </dev/null 2>&1"});
}

// The first certificate (the leaf) in s_client -showcerts output.
std::string leaf_pem(const std::string& out) {
  auto begin = out.find("-----BEGIN CERTIFICATE-----");
  auto end = out.find("-----END CERTIFICATE-----", begin);
  if (begin == std::string::npos || end == std::string::npos) return "";
  return out.substr(begin, end - begin);
}

// ---- certProvision: driver ---------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// openssl with `args`; adds a failure with its output when it fails.
bool openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  auto r = testing::run(args);
  if (r.exit_code != 0) ADD_FAILURE() << "openssl " << args[1] << ": " << r.err;
  return r.exit_code == 0;
}

// A CA of the test's own, as a driver's certificates might come from:
// <dir>/driver-ca.{pem,key}; the certificate's path ("" if openssl failed).
std::string make_driver_ca(const TempDir& dir) {
  bool ok =
      openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               dir.file("driver-ca.key"), "-out", dir.file("driver-ca.pem"), "-subj",
               "/CN=basalt test driver CA", "-days", "60", "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  return ok ? dir.file("driver-ca.pem") : "";
}

struct Pem {
  std::string cert;
  std::string key;
};

// A server certificate for `name` (30 days) signed by make_driver_ca's CA,
// as PEM text; empty when openssl failed.
Pem issue_from_driver_ca(const TempDir& dir, const std::string& name) {
  const std::string stem = dir.file("driver-" + name);
  std::ofstream(stem + ".ext") << "subjectAltName=DNS:" << name << "\nextendedKeyUsage=serverAuth\n";
  if (!openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                stem + ".key", "-out", stem + ".csr", "-subj", "/CN=" + name}) ||
      !openssl({"x509", "-req", "-in", stem + ".csr", "-CA", dir.file("driver-ca.pem"), "-CAkey",
                dir.file("driver-ca.key"), "-CAcreateserial", "-days", "30", "-out", stem + ".pem",
                "-extfile", stem + ".ext"})) {
    return {};
  }
  return {read_text(stem + ".pem"), read_text(stem + ".key")};
}

// The certificate's notBefore and notAfter as the proxy reports them
// (ISO 8601 UTC, "2026-01-02T03:04:05Z").
std::pair<std::string, std::string> validity(const std::string& pem_file) {
  auto r = testing::run(
      {"openssl", "x509", "-in", pem_file, "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601"});
  auto value = [&](const std::string& key) {
    auto at = r.out.find(key + "=");
    if (at == std::string::npos) return std::string();
    auto v = r.out.substr(at + key.size() + 1, 20);
    std::replace(v.begin(), v.end(), ' ', 'T');
    return v;
  };
  return {value("notBefore"), value("notAfter")};
}

// A route (as updateRoutes takes it, and as YAML flow style in a config)
// answering "hello <Host>" on TLS terminated with `certificate`.
boost::json::object route_json(const std::string& name, std::uint16_t port, const std::string& domain,
                               boost::json::value certificate) {
  boost::json::object match;
  match["ports"] = port;
  match["domains"] = boost::json::array{boost::json::value(domain)};
  boost::json::object handler;
  handler["type"] = "httpStatic";
  handler["body"] = "hello {domain}";
  boost::json::object tls;
  tls["mode"] = "terminate";
  tls["certificate"] = std::move(certificate);
  boost::json::object action;
  action["type"] = "socket-handler";
  action["socketHandler"] = std::move(handler);
  action["tls"] = std::move(tls);
  boost::json::object route;
  route["name"] = name;
  route["match"] = std::move(match);
  route["action"] = std::move(action);
  return route;
}

boost::json::object auto_route_json(const std::string& name, std::uint16_t port, const std::string& domain) {
  return route_json(name, port, domain, "auto");
}

// With the certificate <dir>/<stem>.{pem,key} (write_certificate).
boost::json::object static_route_json(const std::string& name, std::uint16_t port, const std::string& domain,
                                      const TempDir& dir, const std::string& stem) {
  boost::json::object files;
  files["cert"] = dir.file(stem + ".pem");
  files["key"] = dir.file(stem + ".key");
  return route_json(name, port, domain, std::move(files));
}

// Matches an event whose data has this domain.
std::function<bool(const boost::json::object&)> for_domain(const std::string& domain) {
  return [domain](const boost::json::object& data) { return field(data, "domain") == domain; };
}

boost::json::object provide_params(const std::string& domain, const Pem& pem) {
  boost::json::object p;
  p["domain"] = domain;
  p["cert"] = pem.cert;
  p["key"] = pem.key;
  return p;
}

bool succeeded(const boost::json::object& answer) {
  const auto* ok = answer.if_contains("success");
  return ok && ok->is_bool() && ok->as_bool();
}

std::size_t count_events(const std::vector<boost::json::object>& events, const std::string& name,
                         const std::string& domain) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const auto& e) {
    const auto* data = e.if_contains("data");
    return e.at("event") == name.c_str() && data && data->is_object() &&
           field(data->as_object(), "domain") == domain;
  }));
}

class ProxyAcme : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"pebble", "curl", "openssl", "dig"}) BASALT_REQUIRE_TOOL(tool);
    dns_.emplace(dir_, "dns", kNames);
    ASSERT_TRUE(dns_->ready()) << dns_->log();
    store_ = dir_.file("certs");
  }

  // pebble asking our basalt-dns; `http_port`/`tls_port` where it validates.
  std::unique_ptr<Pebble> start_pebble(const std::string& name, std::uint16_t http_port,
                                       std::uint16_t tls_port = 0, std::vector<std::string> env = {},
                                       std::uint16_t listen_port = 0) {
    auto p = std::make_unique<Pebble>(dir_, name,
                                      PebbleOptions{.dns_port = dns_->port(),
                                                    .http_port = http_port,
                                                    .tls_port = tls_port,
                                                    .listen_port = listen_port,
                                                    .env = std::move(env)});
    EXPECT_TRUE(p->ready()) << p->log();
    return p;
  }

  AcmeConfig acme_for(const Pebble& pebble, std::uint16_t acme_port) {
    return {.directory = pebble.directory(),
            .directory_ca = pebble.https_ca(),
            .port = acme_port,
            .store = store_};
  }

  // Checks that `name` on `port` serves a certificate that verifies against
  // `pebble`'s root, with the full chain (leaf + pebble's intermediate).
  void expect_served(const std::string& name, std::uint16_t port, const Pebble& pebble) {
    auto r = https_get(name, port, pebble.root());
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(r.out, "hello " + name);
    auto s = s_client(port, name, pebble.root());
    EXPECT_TRUE(contains(s.out, "Verify return code: 0 (ok)")) << s.out;
    EXPECT_EQ(count(s.out, "-----BEGIN CERTIFICATE-----"), 2u) << "leaf and intermediate:\n" << s.out;
    EXPECT_TRUE(contains(s.out, "Pebble Intermediate CA")) << s.out;
  }

  TempDir dir_;
  std::optional<TestDns> dns_;
  std::string store_;
};

TEST_F(ProxyAcme, Http01OnTheAcmePortGivesACertificateThatVerifiesWithItsChain) {
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  auto pebble = start_pebble("pebble", acme_port);
  ASSERT_TRUE(pebble->ready());
  auto acme = acme_for(*pebble, acme_port);
  acme.extra =
      "  renewThresholdDays: 30\n  autoRenew: true\n  renewCheckIntervalHours: 24\n  certProvision: acme\n";
  ProxyDaemon proxy(dir_, acme_yaml(acme) + "routes:\n" + auto_route("site", port, "[a.example.test]"), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  // The challenge port is open although no route uses it.
  EXPECT_TRUE(wait_listening(acme_port));

  boost::json::object status;
  ASSERT_TRUE(wait_valid(proxy, "site", status)) << status << "\n" << proxy.log() << pebble->log();
  EXPECT_EQ(field(status, "domain"), "a.example.test") << status;
  EXPECT_EQ(field(status, "source"), "acme") << status;
  EXPECT_TRUE(status.contains("expiryDate")) << status;
  EXPECT_TRUE(status.contains("issueDate")) << status;
  EXPECT_TRUE(!status.contains("error") || status.at("error").is_null()) << status;
  // pebble's tls-alpn-01 port goes nowhere and there is no dns01: HTTP-01 it was.
  expect_served("a.example.test", port, *pebble);

  // renewCertificate orders again although the certificate is valid: a new one serves.
  auto before = leaf_pem(s_client(port, "a.example.test", pebble->root()).out);
  ASSERT_FALSE(before.empty());
  auto orders = pebble->orders();
  boost::json::value renewed;
  try {
    renewed = proxy.call("renewCertificate", {{"routeName", "site"}});
  } catch (const std::exception& e) {
    ADD_FAILURE() << "renewCertificate: " << e.what() << "\n" << proxy.log() << pebble->log();
  }
  ASSERT_TRUE(renewed.is_object()) << renewed;
  EXPECT_EQ(field(renewed.as_object(), "status"), "valid") << renewed;
  EXPECT_GT(pebble->orders(), orders) << pebble->log();
  auto after = leaf_pem(s_client(port, "a.example.test", pebble->root()).out);
  EXPECT_NE(after, before);
  EXPECT_TRUE(contains(s_client(port, "a.example.test", pebble->root()).out, "Verify return code: 0 (ok)"));
}

TEST_F(ProxyAcme, TlsAlpn01IsAnsweredOnTheRoutesPort) {
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  // pebble's http-01 port is one nobody listens on: only TLS-ALPN-01 can succeed.
  auto pebble = start_pebble("pebble", 0, port);
  ASSERT_TRUE(pebble->ready());
  auto acme = acme_for(*pebble, acme_port);
  acme.challenge_types = "[tls-alpn-01]";
  auto yaml = acme_yaml(acme);
  // The package's other name for the account address.
  yaml.replace(yaml.find("  email:"), 8, "  accountEmail:");
  ProxyDaemon proxy(dir_, yaml + "routes:\n" + auto_route("site", port, "[t.example.test]"), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  boost::json::object status;
  ASSERT_TRUE(wait_valid(proxy, "site", status)) << status << "\n" << proxy.log() << pebble->log();
  EXPECT_EQ(field(status, "domain"), "t.example.test") << status;
  EXPECT_EQ(field(status, "source"), "acme") << status;
  expect_served("t.example.test", port, *pebble);
}

TEST_F(ProxyAcme, Dns01ThroughBasaltDnsCoversAWildcard) {
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  auto pebble = start_pebble("pebble", acme_port);
  ASSERT_TRUE(pebble->ready());
  auto acme = acme_for(*pebble, acme_port);
  acme.extra = "  dns01: {managementSocket: " + dns_->management_socket() + "}\n";
  ProxyDaemon proxy(
      dir_,
      acme_yaml(acme) + "routes:\n" + auto_route("site", port, "[w.example.test, \"*.w.example.test\"]"),
      port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  boost::json::object status;
  ASSERT_TRUE(wait_valid(proxy, "site", status)) << status << "\n"
                                                 << proxy.log() << pebble->log() << dns_->log();
  EXPECT_EQ(field(status, "source"), "acme") << status;
  expect_served("x.w.example.test", port, *pebble);
  expect_served("w.example.test", port, *pebble);
  // The wildcard does not reach two labels down.
  EXPECT_NE(https_get("y.x.w.example.test", port, pebble->root()).exit_code, 0);
  // The challenge records are removed again.
  testing::RunResult txt;
  EXPECT_TRUE(eventually([&] {
    txt = testing::run({"dig", "@127.0.0.1", "-p", std::to_string(dns_->port()), "+time=1", "+tries=1",
                        "+short", "_acme-challenge.w.example.test", "TXT"});
    return txt.exit_code == 0 && txt.out.empty();
  })) << txt.out;
}

TEST_F(ProxyAcme, ANameWithoutItsFirstCertificateYetGetsUnrecognizedName) {
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  auto pebble_port = testing::free_port();
  // The proxy starts while its CA is not there yet: the first certificate cannot be ordered.
  AcmeConfig acme{.directory = Pebble::directory_at(pebble_port),
                  .directory_ca = Pebble::write_https_certificate(dir_, "pebble"),
                  .port = acme_port,
                  .store = store_};
  ProxyDaemon proxy(dir_, acme_yaml(acme) + "routes:\n" + auto_route("site", port, "[p.example.test]"), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  auto before = certificate_status(proxy, "site");
  EXPECT_NE(field(before, "status"), "valid") << before;
  auto refused = https_get("p.example.test", port, acme.directory_ca);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.err, "unrecognized name")) << refused.err;
  auto alert = s_client(port, "p.example.test", acme.directory_ca);
  EXPECT_TRUE(contains(alert.out, "unrecognized name")) << alert.out;

  // The CA comes up: ordering now succeeds.
  auto pebble = start_pebble("pebble", acme_port, 0, {}, pebble_port);
  ASSERT_TRUE(pebble->ready());
  boost::json::value provisioned;
  try {
    provisioned = proxy.call("provisionCertificate", {{"routeName", "site"}});
  } catch (const std::exception& e) {
    ADD_FAILURE() << "provisionCertificate: " << e.what() << "\n" << proxy.log() << pebble->log();
  }
  ASSERT_TRUE(provisioned.is_object()) << provisioned;
  EXPECT_EQ(field(provisioned.as_object(), "status"), "valid") << provisioned;
  EXPECT_EQ(field(certificate_status(proxy, "site"), "status"), "valid");
  expect_served("p.example.test", port, *pebble);
}

TEST_F(ProxyAcme, ARestartServesTheStoredCertificateWithoutAskingTheCa) {
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  auto pebble = start_pebble("pebble", acme_port);
  ASSERT_TRUE(pebble->ready());
  auto yaml =
      acme_yaml(acme_for(*pebble, acme_port)) + "routes:\n" + auto_route("site", port, "[r.example.test]");
  std::string first_leaf;
  {
    ProxyDaemon proxy(dir_, yaml, port);
    ASSERT_TRUE(proxy.ready()) << proxy.log();
    boost::json::object status;
    ASSERT_TRUE(wait_valid(proxy, "site", status)) << status << "\n" << proxy.log() << pebble->log();
    first_leaf = leaf_pem(s_client(port, "r.example.test", pebble->root()).out);
    ASSERT_FALSE(first_leaf.empty());
    EXPECT_EQ(proxy.stop(), 0) << proxy.log();
  }
  auto requests = pebble->requests();
  ASSERT_GT(requests, 0u);
  std::filesystem::remove(dir_.file("proxy.sock"));

  ProxyDaemon again(dir_, yaml, port);
  ASSERT_TRUE(again.ready()) << again.log();
  // At once: no waiting for an order.
  auto r = https_get("r.example.test", port, pebble->root());
  EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << again.log();
  EXPECT_EQ(leaf_pem(s_client(port, "r.example.test", pebble->root()).out), first_leaf);
  auto status = certificate_status(again, "site");
  EXPECT_EQ(field(status, "status"), "valid") << status;
  EXPECT_EQ(field(status, "source"), "acme") << status;
  // The daemon is up and answering: any contact with the CA at startup has happened by now.
  EXPECT_EQ(pebble->requests(), requests) << "pebble was contacted:\n" << pebble->log();
}

TEST_F(ProxyAcme, ARenewalTheCaRefusesReportsItsReasonAndTheOldCertificateKeepsServing) {
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  auto pebble = start_pebble("pebble", acme_port);
  ASSERT_TRUE(pebble->ready());
  auto routes = "routes:\n" + auto_route("site", port, "[f.example.test]");
  std::string first_leaf;
  {
    ProxyDaemon proxy(dir_, acme_yaml(acme_for(*pebble, acme_port)) + routes, port);
    ASSERT_TRUE(proxy.ready()) << proxy.log();
    boost::json::object status;
    ASSERT_TRUE(wait_valid(proxy, "site", status)) << status << "\n" << proxy.log() << pebble->log();
    first_leaf = leaf_pem(s_client(port, "f.example.test", pebble->root()).out);
    ASSERT_FALSE(first_leaf.empty());
    EXPECT_EQ(proxy.stop(), 0) << proxy.log();
  }
  std::filesystem::remove(dir_.file("proxy.sock"));

  // A CA that cannot validate: its http-01 connections go to a port nobody listens on.
  auto blind = start_pebble("blind", 0, 0, {"PEBBLE_AUTHZREUSE=0"});
  ASSERT_TRUE(blind->ready());
  ProxyDaemon proxy(dir_, acme_yaml(acme_for(*blind, acme_port)) + routes, port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  EXPECT_EQ(field(certificate_status(proxy, "site"), "status"), "valid");

  std::string reason;
  try {
    auto v = proxy.call("renewCertificate", {{"routeName", "site"}});
    ASSERT_TRUE(v.is_object()) << v;
    EXPECT_EQ(field(v.as_object(), "status"), "error") << v;
    reason = field(v.as_object(), "error");
  } catch (const std::exception& e) {
    reason = e.what();  // the command failed: its error is the reason
  }
  EXPECT_TRUE(contains(lower(reason), "connection") || contains(lower(reason), "unauthorized"))
      << "the CA's reason should be reported: " << reason << "\n"
      << blind->log();
  EXPECT_GT(blind->orders(), 0u) << "the renewal went to the blind CA:\n" << blind->log();

  // The earlier certificate still serves.
  auto still = https_get("f.example.test", port, pebble->root());
  EXPECT_EQ(still.exit_code, 0) << still.err;
  EXPECT_EQ(leaf_pem(s_client(port, "f.example.test", pebble->root()).out), first_leaf);
  EXPECT_TRUE(proxy.process().running());
}

TEST_F(ProxyAcme, TwoProxiesSharingAStorePlaceOneOrder) {
  auto acme_a = testing::free_port(), acme_b = testing::free_port();
  auto port_a = testing::free_port(), port_b = testing::free_port();
  // pebble validates only at A's challenge port; B's challenges, if B orders,
  // are answered by A from the shared store. No refused nonces: a new-order
  // sent again after one would count as a second order.
  auto pebble = start_pebble("pebble", acme_a, 0, {"PEBBLE_WFE_NONCEREJECT=0"});
  ASSERT_TRUE(pebble->ready());
  TempDir dir_a, dir_b;
  ProxyDaemon a(
      dir_a,
      acme_yaml(acme_for(*pebble, acme_a)) + "routes:\n" + auto_route("site", port_a, "[two.example.test]"),
      port_a);
  ProxyDaemon b(
      dir_b,
      acme_yaml(acme_for(*pebble, acme_b)) + "routes:\n" + auto_route("site", port_b, "[two.example.test]"),
      port_b);
  ASSERT_TRUE(a.ready()) << a.log();
  ASSERT_TRUE(b.ready()) << b.log();

  boost::json::object status;
  ASSERT_TRUE(wait_valid(a, "site", status)) << status << "\n" << a.log() << b.log() << pebble->log();
  ASSERT_TRUE(wait_valid(b, "site", status)) << status << "\n" << a.log() << b.log() << pebble->log();
  expect_served("two.example.test", port_a, *pebble);
  expect_served("two.example.test", port_b, *pebble);
  EXPECT_EQ(leaf_pem(s_client(port_a, "two.example.test", pebble->root()).out),
            leaf_pem(s_client(port_b, "two.example.test", pebble->root()).out));
  EXPECT_EQ(pebble->orders(), 1u) << pebble->log();
}

// ---- certProvision: driver ---------------------------------------------------

// A proxy with `certProvision: driver`, a route with a static certificate
// (s.example.test) and a driver connected to its management socket. The
// `auto` routes are added with updateRoutes once the driver is connected:
// events go only to clients connected when they are emitted.
class ProxyAcmeDriver : public ProxyAcme {
 protected:
  void SetUp() override {
    ProxyAcme::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    pebble_ = start_pebble("pebble", acme_port_);
    ASSERT_TRUE(pebble_->ready());
    driver_ca_ = make_driver_ca(dir_);
    ASSERT_FALSE(driver_ca_.empty());
    write_certificate(dir_, "static", {"s.example.test"});
    routes_.push_back(static_route_json("static", port_, "s.example.test", dir_, "static"));
    auto acme = acme_for(*pebble_, acme_port_);
    acme.extra = "  certProvision: driver\n";
    // JSON is YAML: the config's routes are the ones updateRoutes sends.
    proxy_.emplace(dir_, acme_yaml(acme) + "routes: " + boost::json::serialize(routes_) + "\n", port_);
    ASSERT_TRUE(proxy_->ready()) << proxy_->log();
    driver_.emplace(proxy_->socket());
    ASSERT_TRUE(driver_->connected()) << driver_->error();
  }

  // Adds an `auto` route for `domain` (updateRoutes); the certificateRequest
  // the driver then gets for it.
  std::optional<boost::json::object> add_auto_route(const std::string& name, const std::string& domain) {
    routes_.push_back(auto_route_json(name, port_, domain));
    auto answer = driver_->request("updateRoutes", {{"routes", routes_}});
    EXPECT_TRUE(succeeded(answer)) << answer << "\n" << proxy_->log();
    return driver_->wait_event("certificateRequest", for_domain(domain));
  }

  // The leaf `name` serves on the routes' port ("" when the handshake fails).
  std::string served_leaf(const std::string& name) { return leaf_pem(s_client(port_, name, driver_ca_).out); }

  std::uint16_t acme_port_ = testing::free_port();
  std::uint16_t port_ = testing::free_port();
  std::unique_ptr<Pebble> pebble_;
  std::string driver_ca_;
  boost::json::array routes_;
  std::optional<ProxyDaemon> proxy_;
  std::optional<ManagementConnection> driver_;
};

TEST_F(ProxyAcmeDriver, TheDriverIsAskedAndItsCertificateOrAnAcmeOrderServes) {
  // (a) The driver answers with a certificate from its own CA.
  auto request = add_auto_route("a", "a.example.test");
  ASSERT_TRUE(request) << driver_->error() << "\n" << proxy_->log();
  EXPECT_EQ(request->at("domains"), boost::json::array{"a.example.test"}) << *request;
  EXPECT_EQ(field(*request, "routeName"), "a") << *request;
  EXPECT_EQ(field(certificate_status(*proxy_, "a"), "status"), "pending");

  auto pem = issue_from_driver_ca(dir_, "a.example.test");
  ASSERT_FALSE(pem.cert.empty());
  auto answer = driver_->request("provideCertificate", provide_params("a.example.test", pem));
  ASSERT_TRUE(succeeded(answer)) << answer;
  auto issued = driver_->wait_event("certificateIssued", for_domain("a.example.test"));
  ASSERT_TRUE(issued) << driver_->error() << "\n" << proxy_->log();
  auto [not_before, not_after] = validity(dir_.file("driver-a.example.test.pem"));
  ASSERT_FALSE(not_before.empty() || not_after.empty());
  EXPECT_EQ(field(*issued, "routeName"), "a") << *issued;
  EXPECT_EQ(issued->at("domains"), boost::json::array{"a.example.test"}) << *issued;
  EXPECT_EQ(field(*issued, "source"), "custom") << *issued;
  EXPECT_EQ(field(*issued, "issueDate"), not_before) << *issued;
  EXPECT_EQ(field(*issued, "expiryDate"), not_after) << *issued;

  auto status = certificate_status(*proxy_, "a");
  EXPECT_EQ(field(status, "status"), "valid") << status;
  EXPECT_EQ(field(status, "source"), "custom") << status;
  EXPECT_EQ(field(status, "expiryDate"), not_after) << status;
  auto r = https_get("a.example.test", port_, driver_ca_);
  EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << proxy_->log();
  EXPECT_EQ(r.out, "hello a.example.test");
  // The CA was never asked for this name.
  EXPECT_EQ(pebble_->orders(), 0u) << pebble_->log();
  EXPECT_FALSE(contains(proxy_->log(), "ordering a certificate for a.example.test")) << proxy_->log();

  // (b) For the next name the driver says "order it": the CA's certificate serves.
  request = add_auto_route("b", "b.example.test");
  ASSERT_TRUE(request) << driver_->error() << "\n" << proxy_->log();
  EXPECT_EQ(field(*request, "routeName"), "b") << *request;
  boost::json::object use_acme;
  use_acme["domain"] = "b.example.test";
  use_acme["acme"] = true;
  answer = driver_->request("provideCertificate", use_acme);
  ASSERT_TRUE(succeeded(answer)) << answer;
  issued = driver_->wait_event("certificateIssued", for_domain("b.example.test"), 60s);
  ASSERT_TRUE(issued) << driver_->error() << "\n" << proxy_->log() << pebble_->log();
  EXPECT_EQ(field(*issued, "routeName"), "b") << *issued;
  EXPECT_EQ(field(*issued, "source"), "acme") << *issued;
  EXPECT_EQ(issued->at("domains"), boost::json::array{"b.example.test"}) << *issued;
  EXPECT_FALSE(field(*issued, "expiryDate").empty()) << *issued;
  EXPECT_FALSE(field(*issued, "issueDate").empty()) << *issued;
  status = certificate_status(*proxy_, "b");
  EXPECT_EQ(field(status, "status"), "valid") << status;
  EXPECT_EQ(field(status, "source"), "acme") << status;
  EXPECT_EQ(field(status, "expiryDate"), field(*issued, "expiryDate")) << status;
  expect_served("b.example.test", port_, *pebble_);
  EXPECT_EQ(pebble_->orders(), 1u) << pebble_->log();

  // The update that added b asked nothing about a, whose certificate is held.
  EXPECT_EQ(count_events(driver_->events(), "certificateRequest", "a.example.test"), 0u);
  EXPECT_EQ(https_get("a.example.test", port_, driver_ca_).exit_code, 0);
  // A static certificate next to them still reports itself as such.
  status = certificate_status(*proxy_, "static");
  EXPECT_EQ(field(status, "source"), "static") << status;
  EXPECT_EQ(field(status, "status"), "valid") << status;
  EXPECT_EQ(field(status, "domain"), "s.example.test") << status;
}

TEST_F(ProxyAcmeDriver, ABadProvideCertificateIsRefusedNamingTheProblemAndChangesNothing) {
  auto request = add_auto_route("a", "a.example.test");
  ASSERT_TRUE(request) << driver_->error() << "\n" << proxy_->log();
  auto good = issue_from_driver_ca(dir_, "a.example.test");
  auto other = issue_from_driver_ca(dir_, "b.example.test");
  ASSERT_FALSE(good.cert.empty() || other.cert.empty());

  struct Bad {
    const char* what;
    boost::json::object params;
    std::vector<std::string> parts;  // each in the error
  };
  std::vector<Bad> bad;
  bad.push_back({"a key that does not match the certificate",
                 provide_params("a.example.test", {good.cert, other.key}),
                 {"key: private key does not match the certificate"}});
  bad.push_back({"a certificate for another name",
                 provide_params("a.example.test", other),
                 {"cert: does not cover \"a.example.test\"", "b.example.test"}});
  auto path_instead = provide_params("a.example.test", good);
  path_instead["cert"] = dir_.file("driver-ca.pem");
  bad.push_back({"a file path instead of PEM text", path_instead, {"cert: is not PEM text"}});
  // Valid for one second from now: expired once that second has passed.
  auto expired =
      core::generate_self_signed({.dns_names = {"a.example.test"}, .validity = std::chrono::seconds(1)});
  ASSERT_TRUE(expired);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  bad.push_back({"a certificate that has expired",
                 provide_params("a.example.test", Pem{expired->certificate, expired->private_key}),
                 {"cert: expired on"}});
  bad.push_back({"a domain on no route",
                 provide_params("nowhere.example.test", good),
                 {"nowhere.example.test", "certificate: auto"}});
  bad.push_back({"the domain of a route with a static certificate",
                 provide_params("s.example.test", good),
                 {"s.example.test", "certificate: auto"}});
  auto no_key = provide_params("a.example.test", good);
  no_key.erase("key");
  bad.push_back({"no key", no_key, {"key:", "required"}});
  auto no_cert = provide_params("a.example.test", good);
  no_cert.erase("cert");
  bad.push_back({"no cert", no_cert, {"cert:", "required"}});
  auto no_domain = provide_params("a.example.test", good);
  no_domain.erase("domain");
  bad.push_back({"no domain", no_domain, {"domain:", "required"}});

  auto check_refused = [&] {
    for (const auto& b : bad) {
      SCOPED_TRACE(b.what);
      auto answer = driver_->request("provideCertificate", b.params);
      ASSERT_FALSE(answer.empty()) << "no answer: " << driver_->error();
      EXPECT_FALSE(succeeded(answer)) << answer;
      auto error = field(answer, "error");
      for (const auto& part : b.parts)
        EXPECT_TRUE(contains(error, part)) << "missing \"" << part << "\": " << error;
    }
  };

  // While the proxy waits for the driver: refused, and it keeps waiting.
  check_refused();
  auto status = certificate_status(*proxy_, "a");
  EXPECT_EQ(field(status, "status"), "pending") << status;
  EXPECT_TRUE(contains(https_get("a.example.test", port_, driver_ca_).err, "unrecognized name"));
  // The good answer is still taken: nothing before it ended the wait (the
  // proxy did not go to the CA, nor install anything).
  auto answer = driver_->request("provideCertificate", provide_params("a.example.test", good));
  ASSERT_TRUE(succeeded(answer)) << answer;
  auto issued = driver_->wait_event("certificateIssued", for_domain("a.example.test"));
  ASSERT_TRUE(issued) << driver_->error() << "\n" << proxy_->log();
  EXPECT_EQ(field(*issued, "source"), "custom") << *issued;
  EXPECT_EQ(count_events(driver_->events(), "certificateIssued", "a.example.test"), 0u);
  EXPECT_EQ(pebble_->orders(), 0u) << pebble_->log();
  const auto leaf = served_leaf("a.example.test");
  ASSERT_FALSE(leaf.empty());
  ASSERT_TRUE(contains(good.cert, leaf));

  // With the certificate installed: refused, and it keeps serving.
  check_refused();
  EXPECT_EQ(served_leaf("a.example.test"), leaf);
  status = certificate_status(*proxy_, "a");
  EXPECT_EQ(field(status, "status"), "valid") << status;
  EXPECT_EQ(field(status, "source"), "custom") << status;
  EXPECT_EQ(field(certificate_status(*proxy_, "static"), "source"), "static");
  EXPECT_EQ(count_events(driver_->events(), "certificateIssued", "a.example.test"), 0u);
}

TEST_F(ProxyAcme, ProvideCertificateIsRefusedWithoutDriverProvision) {
  auto driver_ca = make_driver_ca(dir_);
  ASSERT_FALSE(driver_ca.empty());
  auto pem = issue_from_driver_ca(dir_, "a.example.test");
  ASSERT_FALSE(pem.cert.empty());

  // certProvision: acme (the default): the CA's certificate stays.
  auto acme_port = testing::free_port();
  auto port = testing::free_port();
  auto pebble = start_pebble("pebble", acme_port);
  ASSERT_TRUE(pebble->ready());
  ProxyDaemon proxy(
      dir_,
      acme_yaml(acme_for(*pebble, acme_port)) + "routes:\n" + auto_route("site", port, "[a.example.test]"),
      port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  boost::json::object status;
  ASSERT_TRUE(wait_valid(proxy, "site", status)) << status << "\n" << proxy.log() << pebble->log();
  const auto leaf = leaf_pem(s_client(port, "a.example.test", pebble->root()).out);
  auto error = proxy.call_error("provideCertificate", provide_params("a.example.test", pem));
  EXPECT_TRUE(contains(error, "certProvision: driver")) << error;
  status = certificate_status(proxy, "site");
  EXPECT_EQ(field(status, "source"), "acme") << status;
  EXPECT_EQ(leaf_pem(s_client(port, "a.example.test", pebble->root()).out), leaf);
  EXPECT_NE(https_get("a.example.test", port, driver_ca).exit_code, 0);

  // No acme section at all.
  TempDir plain;
  write_certificate(plain, "static", {"a.example.test"});
  auto plain_port = testing::free_port();
  ProxyDaemon without(plain,
                      "routes: " +
                          boost::json::serialize(boost::json::array{
                              static_route_json("static", plain_port, "a.example.test", plain, "static")}) +
                          "\n",
                      plain_port);
  ASSERT_TRUE(without.ready()) << without.log();
  error = without.call_error("provideCertificate", provide_params("a.example.test", pem));
  EXPECT_TRUE(contains(error, "certProvision: driver")) << error;
  EXPECT_EQ(field(certificate_status(without, "static"), "source"), "static");
  EXPECT_NE(https_get("a.example.test", plain_port, driver_ca).exit_code, 0);
  EXPECT_EQ(https_get("a.example.test", plain_port, plain.file("static.pem")).exit_code, 0);
}

// ---- configuration errors (no CA needed) -----------------------------------

class ProxyAcmeConfig : public ::testing::Test {
 protected:
  void SetUp() override { write_certificate(dir_, "ca", {"localhost"}); }

  std::string acme() {
    return "acme: {email: ops@example.test, directory: \"https://127.0.0.1:1/dir\", directoryCa: " +
           dir_.file("ca.pem") + ", port: " + std::to_string(testing::free_port()) +
           ", certificateStore: " + dir_.file("certs") + "}\n";
  }

  testing::RunResult check(const std::string& yaml) {
    std::ofstream(dir_.file("proxy.yaml")) << yaml;
    return testing::run({testing::binary("basalt-proxy"), "check", "--config", dir_.file("proxy.yaml")});
  }

  // Both `check` (which "validates a file, like nginx -t") and `serve` must
  // refuse `yaml`: exit 2 with every one of `parts` in the message.
  void expect_refused(const std::string& yaml, const std::vector<std::string>& parts) {
    std::ofstream(dir_.file("proxy.yaml")) << yaml;
    for (std::string command : {"check", "serve"}) {
      SCOPED_TRACE("basalt-proxy " + command);
      std::vector<std::string> argv{testing::binary("basalt-proxy"), command, "--config",
                                    dir_.file("proxy.yaml")};
      if (command == "serve") argv.insert(argv.end(), {"--state-dir", dir_.path()});
      testing::RunResult r;
      try {
        r = testing::run(argv, 10s);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "accepted the file and kept running: " << e.what();
        continue;
      }
      EXPECT_EQ(r.exit_code, 2) << r.err;
      for (const auto& part : parts)
        EXPECT_TRUE(contains(r.err, part)) << "missing \"" << part << "\": " << r.err;
    }
  }

  TempDir dir_;
  std::uint16_t port_ = testing::free_port();
};

TEST_F(ProxyAcmeConfig, AGoodAcmeConfigPassesCheck) {
  auto r = check(acme() + "routes:\n" + auto_route("site", port_, "[a.example.test, b.example.test]"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ProxyAcmeConfig, AutoWithoutDomainsNamesTheRoute) {
  expect_refused(acme() + "routes:\n  - name: nameless\n    match: {ports: " + std::to_string(port_) +
                     "}\n    action: {type: socket-handler, socketHandler: {type: httpStatic, body: x},\n"
                     "             tls: {mode: terminate, certificate: auto}}\n",
                 {"routes[0]", "nameless", "domains"});
}

TEST_F(ProxyAcmeConfig, AGlobThatIsNotAWildcardIsRefused) {
  expect_refused(acme() + "routes:\n" + auto_route("site", port_, "[\"a*.example.test\"]"),
                 {"routes[0]", "a*.example.test"});
}

TEST_F(ProxyAcmeConfig, AWildcardNeedsDns01) {
  expect_refused(acme() + "routes:\n" + auto_route("site", port_, "[\"*.w.example.test\"]"),
                 {"routes[0]", "*.w.example.test", "acme.dns01"});
}

TEST_F(ProxyAcmeConfig, AutoWithoutAnAcmeSectionNamesAcme) {
  expect_refused("routes:\n" + auto_route("site", port_, "[a.example.test]"), {"routes[0]", "acme"});
}

TEST_F(ProxyAcmeConfig, UnknownChallengeTypesAndKeysAreRefused) {
  expect_refused(
      "acme: {email: ops@example.test, directory: \"https://127.0.0.1:1/dir\", challengeTypes: "
      "[smtp-01]}\nroutes:\n" +
          auto_route("site", port_, "[a.example.test]"),
      {"acme.challengeTypes"});
  expect_refused(
      "acme: {email: ops@example.test, directory: \"https://127.0.0.1:1/dir\", colour: blue}\nroutes:\n" +
          auto_route("site", port_, "[a.example.test]"),
      {"acme.colour"});
}

}  // namespace
}  // namespace basalt::proxy_test
