// ACME certificates for basalt-dns from a real CA: pebble (the Let's Encrypt
// test server) validates dns-01 by asking our daemon, which serves the
// challenge records through its handler table. Covered: a name and its
// wildcard through `basalt-dns cert` (management protocol) and through the
// config's `acme:` section; DoH then verifies with curl against pebble's
// root CA; a restart with a valid stored certificate never contacts pebble;
// a CA that cannot validate (it asks another DNS server, which has no
// challenge records) gives a clear error and the old certificate keeps
// serving; names the server is not authoritative for are refused locally;
// badNonce refusals are retried.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "basalt/acme/problem.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/dns/daemon/daemon.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 300
@        IN SOA  ns1 hostmaster 2026120101 7200 3600 1209600 60
@        IN NS   ns1
ns1      IN A    127.0.0.1
www      IN A    192.0.2.80
sub      IN NS   ns.elsewhere.invalid.
)";

// Reads a child's merged output line by line into `text` without blocking long.
struct Log {
  Process process;
  std::string text;

  explicit Log(Process p) : process(std::move(p)) {}
  void pump(std::chrono::milliseconds wait = 50ms) {
    while (auto line = process.read_line(wait)) {
      text += *line;
      text += '\n';
      wait = 1ms;
    }
  }
  // Waits until `part` appears in the output (or the process exits or `timeout` passes).
  bool wait_for(const std::string& part, std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!contains(text, part)) {
      if (std::chrono::steady_clock::now() > deadline || !process.running()) {
        pump(10ms);
        return contains(text, part);
      }
      pump(100ms);
    }
    return true;
  }
};

// `sh -c 'exec "$@" 2>&1'`: one stream for a program that logs to stderr.
Process merged(std::vector<std::string> argv, std::vector<std::string> env = {}) {
  std::vector<std::string> full = {"sh", "-c", "exec \"$@\" 2>&1", "sh"};
  full.insert(full.end(), argv.begin(), argv.end());
  return Process({.argv = std::move(full), .env = std::move(env)});
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class AcmeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("pebble");
    BASALT_REQUIRE_TOOL("curl");
    BASALT_REQUIRE_TOOL("dig");
    std::ofstream(dir_.file("example.test.zone")) << kZone;
    // pebble's own HTTPS certificate, made here; our client trusts it through --directory-ca.
    auto pem = core::generate_self_signed(
        {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}});
    ASSERT_TRUE(pem);
    std::ofstream(dir_.file("pebble-cert.pem")) << pem->certificate;
    std::ofstream(dir_.file("pebble-key.pem")) << pem->private_key;
    dns_port_ = free_port();
    doh_port_ = free_port();
  }

  // Starts pebble using the DNS server on `resolver_port` for its challenge lookups.
  std::unique_ptr<Log> start_pebble(const std::string& name, std::uint16_t resolver_port,
                                    std::vector<std::string> env = {}) {
    auto acme = free_port(), management = free_port();
    std::ofstream(dir_.file(name + ".json"))
        << R"({"pebble": {"listenAddress": "127.0.0.1:)" << acme
        << R"(", "managementListenAddress": "127.0.0.1:)" << management << R"(", "certificate": ")"
        << dir_.file("pebble-cert.pem") << R"(", "privateKey": ")" << dir_.file("pebble-key.pem")
        << R"(", "httpPort": )" << free_port() << R"(, "tlsPort": )" << free_port()
        << R"(, "ocspResponderURL": "", "externalAccountBindingRequired": false}})";
    env.push_back("PEBBLE_VA_NOSLEEP=1");
    auto log = std::make_unique<Log>(merged({"pebble", "-config", dir_.file(name + ".json"), "-dnsserver",
                                             "127.0.0.1:" + std::to_string(resolver_port)},
                                            env));
    EXPECT_TRUE(log->wait_for("ACME directory available")) << log->text;
    directories_[log.get()] = "https://127.0.0.1:" + std::to_string(acme) + "/dir";
    // The root of the chains this pebble instance issues (a new one per run).
    // pebble logs "directory available" before its management listener is
    // up: curl retries a refused connection.
    auto root =
        run({"curl", "-sS", "--retry", "20", "--retry-connrefused", "--retry-max-time", "30", "--cacert",
             dir_.file("pebble-cert.pem"), "https://127.0.0.1:" + std::to_string(management) + "/roots/0"});
    EXPECT_EQ(root.exit_code, 0) << root.err;
    std::ofstream(dir_.file(name + "-root.pem")) << root.out;
    return log;
  }

  std::string directory(const Log& pebble) { return directories_.at(&pebble); }

  // A second pebble that resolves through another server: the same zone, but
  // without our challenge records (they are withheld from this CA).
  std::unique_ptr<Log> start_blind_pebble() {
    auto port = free_port();
    other_dns_ = std::make_unique<Log>(
        merged({binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--zone-file",
                dir_.file("example.test.zone"), "--state-dir", dir_.file("other-state")}));
    EXPECT_TRUE(wait_for_answer(port, "www.example.test", "A", "192.0.2.80", other_dns_->process))
        << other_dns_->text;
    return start_pebble("blind", port, {"PEBBLE_AUTHZREUSE=0"});
  }

  std::unique_ptr<Log> start_daemon(const std::string& extra_config = {}) {
    std::ofstream(dir_.file("basalt-dns.yaml"))
        << "listen: [127.0.0.1:" << dns_port_ << "]\n"
        << "zones: [{file: " << dir_.file("example.test.zone") << "}]\n"
        << "doh: [{listen: 127.0.0.1:" << doh_port_ << "}]\n"
        << "state_dir: " << dir_.file("state") << "\n"
        << extra_config;
    auto log =
        std::make_unique<Log>(merged({binary("basalt-dns"), "serve", "--config", dir_.file("basalt-dns.yaml"),
                                      "--management-socket", dir_.file("mgmt.sock")}));
    EXPECT_TRUE(wait_for_answer(dns_port_, "www.example.test", "A", "192.0.2.80", log->process)) << log->text;
    EXPECT_TRUE(log->wait_for("serving DNS on")) << log->text;
    return log;
  }

  void stop_daemon(std::unique_ptr<Log>& daemon) {
    daemon->process.signal(SIGTERM);
    auto code = daemon->process.wait(15s);
    daemon->pump(1ms);
    EXPECT_EQ(code, 0) << daemon->text;
    daemon.reset();
  }

  RunResult cert(const Log& pebble, std::vector<std::string> domains) {
    std::vector<std::string> argv = {binary("basalt-dns"),
                                     "cert",
                                     "--email",
                                     "ops@example.test",
                                     "--directory",
                                     directory(pebble),
                                     "--directory-ca",
                                     dir_.file("pebble-cert.pem"),
                                     "--management-socket",
                                     dir_.file("mgmt.sock")};
    for (auto& d : domains) {
      argv.push_back("--domain");
      argv.push_back(d);
    }
    return run(argv, 120s);
  }

  // A DoH query for www.example.test with `host` as the TLS name, verified against `ca`.
  RunResult doh(const std::string& host, const std::string& ca) {
    std::string port = std::to_string(doh_port_);
    return run({"curl", "-sS", "--max-time", "10", "--cacert", ca, "--resolve",
                host + ":" + port + ":127.0.0.1", "-H", "accept: application/dns-json",
                "https://" + host + ":" + port + "/dns-query?name=www.example.test&type=A"});
  }

  // Polls doh() until it verifies (the daemon obtains its certificate in the background).
  bool wait_for_verified_doh(const std::string& host, const std::string& ca,
                             std::chrono::seconds timeout = 90s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (doh(host, ca).exit_code == 0) return true;
      std::this_thread::sleep_for(200ms);  // polling a background job, not synchronising on it
    }
    return false;
  }

  TempDir dir_;
  std::uint16_t dns_port_ = 0, doh_port_ = 0;
  std::map<const Log*, std::string> directories_;
  std::unique_ptr<Log> other_dns_;  // the blind pebble's resolver
};

TEST_F(AcmeTest, CliObtainsANameAndItsWildcardAndDohVerifiesAgainstTheCa) {
  auto daemon = start_daemon();
  auto pebble = start_pebble("pebble", dns_port_);
  auto root = dir_.file("pebble-root.pem");
  // Before: the self-signed DoH certificate does not verify against the CA.
  EXPECT_NE(doh("example.test", root).exit_code, 0);

  auto r = cert(*pebble, {"example.test", "*.example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon->text;
  EXPECT_TRUE(contains(r.out, "issued: ")) << r.out;
  EXPECT_TRUE(contains(r.err, "validation: *.example.test validated")) << r.err;
  EXPECT_TRUE(contains(r.err, "validation: example.test validated")) << r.err;

  // The apex name and any name under the wildcard verify against pebble's root.
  auto apex = doh("example.test", root);
  EXPECT_EQ(apex.exit_code, 0) << apex.err;
  EXPECT_TRUE(contains(apex.out, "192.0.2.80")) << apex.out;
  auto under = doh("anything.example.test", root);
  EXPECT_EQ(under.exit_code, 0) << under.err;
  // A name the certificate does not cover fails verification.
  EXPECT_NE(doh("a.b.example.test", root).exit_code, 0);

  // The challenge records are gone again.
  auto txt = dig(dns_port_, {"_acme-challenge.example.test", "TXT"});
  EXPECT_TRUE(contains(txt.out, "ANSWER: 0")) << txt.out;

  // Stored with the key private.
  auto key = std::filesystem::path(dir_.file("state/certs/example.test/current/privkey.pem"));
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Asking again while the certificate is valid does not contact the CA.
  pebble->pump();
  auto requests = count(pebble->text, "calling handler");
  auto again = cert(*pebble, {"*.example.test", "example.test"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(contains(again.out, "already held")) << again.out;
  pebble->pump();
  EXPECT_EQ(count(pebble->text, "calling handler"), requests) << pebble->text;
}

TEST_F(AcmeTest, ConfigObtainsInTheBackgroundAndARestartDoesNotOrderAgain) {
  // The daemon must be the CA's resolver before it starts ordering.
  auto port = dns_port_;
  auto pebble = start_pebble("pebble", port);
  std::string acme = "acme: {email: ops@example.test, directory: " + directory(*pebble) +
                     ", directory_ca: " + dir_.file("pebble-cert.pem") +
                     ", domains: [www.example.test, \"*.www.example.test\"], account_key_type: rsa-2048}\n";
  auto daemon = start_daemon(acme);
  auto root = dir_.file("pebble-root.pem");
  ASSERT_TRUE(wait_for_verified_doh("www.example.test", root)) << daemon->text << pebble->text;
  EXPECT_TRUE(wait_for_verified_doh("x.www.example.test", root));
  ASSERT_TRUE(daemon->wait_for("renewal at")) << daemon->text;
  auto first = std::filesystem::read_symlink(dir_.file("state/certs/www.example.test/current"));
  stop_daemon(daemon);
  // The account was made with an RSA key (RS256), as configured.
  std::filesystem::path account_key;
  for (const auto& e : std::filesystem::directory_iterator(dir_.file("state/certs/accounts"))) {
    account_key = e.path() / "account.key";
  }
  auto pkey = run({"openssl", "pkey", "-in", account_key.string(), "-noout", "-text"});
  EXPECT_TRUE(contains(pkey.out, "Private-Key: (2048 bit")) << pkey.out << pkey.err;

  pebble->pump();
  auto requests = count(pebble->text, "calling handler");
  ASSERT_GT(requests, 0u);
  daemon = start_daemon(acme);
  // The stored certificate serves at once; the manager decides to wait for renewal time.
  EXPECT_EQ(doh("www.example.test", root).exit_code, 0);
  ASSERT_TRUE(daemon->wait_for("renewal at")) << daemon->text;
  EXPECT_TRUE(contains(daemon->text, "serving the stored certificate")) << daemon->text;
  pebble->pump(500ms);
  EXPECT_EQ(count(pebble->text, "calling handler"), requests) << "pebble was contacted:\n" << pebble->text;
  EXPECT_EQ(std::filesystem::read_symlink(dir_.file("state/certs/www.example.test/current")), first);
}

TEST_F(AcmeTest, AFailureAtTheCaKeepsThePreviousCertificateServing) {
  auto daemon = start_daemon();
  auto pebble = start_pebble("pebble", dns_port_);
  auto root = dir_.file("pebble-root.pem");
  auto r = cert(*pebble, {"example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon->text;
  ASSERT_EQ(doh("example.test", root).exit_code, 0);

  auto blind = start_blind_pebble();

  auto failed = cert(*blind, {"example.test", "www.example.test"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_TRUE(contains(failed.err, "validation of")) << failed.err;
  EXPECT_TRUE(contains(failed.err, "could not validate the dns-01 challenge")) << failed.err;
  EXPECT_TRUE(contains(failed.err, "unauthorized")) << failed.err;  // pebble's problem type

  // The earlier certificate is still the one DoH serves, and the daemon is fine.
  auto still = doh("example.test", root);
  EXPECT_EQ(still.exit_code, 0) << still.err;
  EXPECT_TRUE(contains(still.out, "192.0.2.80"));
  auto txt = dig(dns_port_, {"_acme-challenge.www.example.test", "TXT"});
  EXPECT_TRUE(contains(txt.out, "ANSWER: 0")) << txt.out;
  EXPECT_TRUE(daemon->process.running());
}

// The background renewal of the config path: a renewal that fails at the CA
// keeps the stored certificate serving and schedules another attempt.
TEST_F(AcmeTest, AFailedRenewalKeepsTheStoredCertificateServing) {
  auto daemon = start_daemon();
  auto pebble = start_pebble("pebble", dns_port_);
  auto r = cert(*pebble, {"www.example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon->text;
  stop_daemon(daemon);

  auto blind = start_blind_pebble();
  // A renewal period longer than the lifetime: renewal is due at once.
  daemon = start_daemon("acme: {email: ops@example.test, directory: " + directory(*blind) +
                        ", directory_ca: " + dir_.file("pebble-cert.pem") +
                        ", domains: [www.example.test], renew_before: 36500d}\n");
  EXPECT_TRUE(daemon->wait_for("the current certificate stays in use; next attempt in 60 s", 60s))
      << daemon->text;
  EXPECT_TRUE(contains(daemon->text, "could not validate the dns-01 challenge")) << daemon->text;
  auto still = doh("www.example.test", dir_.file("pebble-root.pem"));
  EXPECT_EQ(still.exit_code, 0) << still.err;
  EXPECT_TRUE(daemon->process.running());
}

// renew_before longer than what the CA issues must not turn into one order
// after another.
TEST_F(AcmeTest, ARenewalPeriodLongerThanTheLifetimeDoesNotReorderInALoop) {
  // No refused nonces: a new-order resent after one would count as a second order.
  auto pebble = start_pebble("pebble", dns_port_, {"PEBBLE_WFE_NONCEREJECT=0"});
  auto daemon = start_daemon("acme: {email: ops@example.test, directory: " + directory(*pebble) +
                             ", directory_ca: " + dir_.file("pebble-cert.pem") +
                             ", domains: [www.example.test], renew_before: 36500d}\n");
  ASSERT_TRUE(daemon->wait_for("renewing at half of it instead", 60s)) << daemon->text;
  ASSERT_TRUE(daemon->wait_for("renewal at")) << daemon->text;
  pebble->pump(500ms);
  EXPECT_EQ(count(pebble->text, "POST /order-plz"), 1u) << pebble->text;
  EXPECT_EQ(doh("www.example.test", dir_.file("pebble-root.pem")).exit_code, 0);
}

TEST_F(AcmeTest, NamesThisServerIsNotAuthoritativeForAreRefusedBeforeTheCa) {
  auto daemon = start_daemon();
  auto pebble = start_pebble("pebble", dns_port_);
  pebble->pump();
  auto requests = count(pebble->text, "calling handler");

  auto outside = cert(*pebble, {"example.test", "www.other.test"});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_TRUE(contains(outside.err, "\"www.other.test\" is not in a zone this server is authoritative for"))
      << outside.err;
  auto delegated = cert(*pebble, {"*.sub.example.test"});
  EXPECT_EQ(delegated.exit_code, 1);
  EXPECT_TRUE(contains(delegated.err, "delegated away at sub.example.test")) << delegated.err;
  auto malformed = cert(*pebble, {"exa mple.test"});
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_TRUE(contains(malformed.err, "is not a domain name a CA can certify")) << malformed.err;

  pebble->pump();
  EXPECT_EQ(count(pebble->text, "calling handler"), requests) << pebble->text;
}

TEST_F(AcmeTest, RefusedNoncesAreRetried) {
  auto daemon = start_daemon();
  // Many more refusals than pebble's default 5%, so that this order surely meets some.
  auto pebble = start_pebble("pebble", dns_port_, {"PEBBLE_WFE_NONCEREJECT=40"});
  auto r = cert(*pebble, {"www.example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon->text;
  daemon->pump();
  EXPECT_GT(count(daemon->text, "(badNonce); retrying"), 0u) << daemon->text;
  EXPECT_EQ(doh("www.example.test", dir_.file("pebble-root.pem")).exit_code, 0);
}

// The library face: dns::Daemon::retrieve_certificate in-process, with
// progress; a stored certificate is reused only for the key type asked for.
TEST_F(AcmeTest, LibraryRetrieveCertificateServesTheNewCertificateOnDoh) {
  dns::Daemon daemon({.listen = {*core::Endpoint::parse("127.0.0.1:" + std::to_string(dns_port_))},
                      .zones = {{.file = dir_.file("example.test.zone")}},
                      .state_dir = dir_.file("state"),
                      .doh = {{.listen = *core::Endpoint::parse("127.0.0.1:" + std::to_string(doh_port_))}},
                      .log = {.level = core::LogLevel::warn}});
  // Before start() the CA could not reach us: refused at once.
  service::CertificateRequest early{
      .domains = {"example.test"}, .email = "ops@example.test", .directory = "https://127.0.0.1:1/dir"};
  EXPECT_THROW(daemon.retrieve_certificate(early), acme::Error);
  daemon.start();
  auto pebble = start_pebble("pebble", dns_port_);

  std::vector<std::string> steps;
  auto progress = [&steps](const acme::Progress& p) { steps.push_back(p.step); };
  service::CertificateRequest request{.domains = {"WWW.Example.Test"},
                                      .email = "ops@example.test",
                                      .directory = directory(*pebble),
                                      .directory_ca = dir_.file("pebble-cert.pem")};
  auto ecdsa = daemon.retrieve_certificate(request, progress);
  EXPECT_TRUE(ecdsa.issued);
  EXPECT_EQ(ecdsa.certificate.domains, std::vector<std::string>{"www.example.test"});
  EXPECT_TRUE(contains(ecdsa.certificate.private_key_pem, "BEGIN PRIVATE KEY"));
  EXPECT_NE(std::find(steps.begin(), steps.end(), "validation"), steps.end());
  EXPECT_NE(std::find(steps.begin(), steps.end(), "certificate"), steps.end());
  auto served = doh("www.example.test", dir_.file("pebble-root.pem"));
  EXPECT_EQ(served.exit_code, 0) << served.err;
  auto key_of = [&](const acme::Obtained& o) {
    return run({"openssl", "x509", "-noout", "-text", "-in", o.certificate.certificate_path.string()}).out;
  };
  EXPECT_TRUE(contains(key_of(ecdsa), "id-ecPublicKey"));

  // RSA asked while a valid ECDSA certificate is held: a new, RSA one.
  request.key_type = acme::KeyType::kRsa2048;
  auto rsa = daemon.retrieve_certificate(request, progress);
  EXPECT_TRUE(rsa.issued);
  EXPECT_TRUE(contains(key_of(rsa), "rsaEncryption"));

  // The same names and key type again: answered from the store.
  auto again = daemon.retrieve_certificate(request, progress);
  EXPECT_FALSE(again.issued);
  EXPECT_EQ(again.certificate.certificate_pem, rsa.certificate.certificate_pem);
  daemon.stop();
  daemon.wait();
}

// Two requests for the same names at once: one order at the CA, both get
// the certificate.
TEST_F(AcmeTest, ConcurrentRequestsForTheSameNamesShareOneOrder) {
  auto daemon = start_daemon();
  // No refused nonces: a new-order resent after one would count as a second order.
  auto pebble = start_pebble("pebble", dns_port_, {"PEBBLE_WFE_NONCEREJECT=0"});
  std::vector<std::string> argv = {binary("basalt-dns"),
                                   "cert",
                                   "--email",
                                   "ops@example.test",
                                   "--directory",
                                   directory(*pebble),
                                   "--directory-ca",
                                   dir_.file("pebble-cert.pem"),
                                   "--management-socket",
                                   dir_.file("mgmt.sock"),
                                   "--domain",
                                   "www.example.test"};
  Process first({.argv = argv}), second({.argv = argv});
  EXPECT_EQ(first.wait(120s), 0);
  EXPECT_EQ(second.wait(120s), 0);
  pebble->pump(500ms);
  EXPECT_EQ(count(pebble->text, "POST /order-plz"), 1u) << pebble->text;
  EXPECT_EQ(doh("www.example.test", dir_.file("pebble-root.pem")).exit_code, 0);

  // getCertificates lists what DoH serves: the ACME certificate (the
  // default), then the self-signed one of the state directory.
  auto r = run({"python3", "-c",
                "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile();"
                "f.readline();s.sendall(b'{\"id\":1,\"method\":\"getCertificates\"}\\n');print(f.readline())",
                dir_.file("mgmt.sock")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, R"({"domains":["www.example.test"],)")) << r.out;
  EXPECT_TRUE(contains(r.out, R"("source":"acme","keyType":"ecdsa-p256","default":true})")) << r.out;
  EXPECT_TRUE(contains(r.out, R"({"domains":["localhost"],)")) << r.out;
  EXPECT_TRUE(contains(r.out, R"("source":"self-signed","keyType":"ecdsa-p256","default":false})")) << r.out;
}

TEST_F(AcmeTest, BadAcmeConfigIsRejectedAtStartNamingTheKey) {
  auto write = [&](const std::string& acme) {
    std::ofstream(dir_.file("bad.yaml")) << "listen: [127.0.0.1:" << dns_port_ << "]\n"
                                         << "zones: [{file: " << dir_.file("example.test.zone") << "}]\n"
                                         << "state_dir: " << dir_.file("state") << "\n"
                                         << "acme: " << acme << "\n";
    return run({binary("basalt-dns"), "serve", "--config", dir_.file("bad.yaml")});
  };
  auto r =
      write("{email: ops@example.test, directory: https://ca.test/dir, domains: [example.test, other.test]}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "acme.domains[1]")) << r.err;
  EXPECT_TRUE(contains(r.err, "not in a zone this server is authoritative for")) << r.err;
  r = write("{email: ops@example.test, directory: http://ca.test/dir, domains: [example.test]}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "acme.directory")) << r.err;
  r = write("{email: nobody, directory: https://ca.test/dir, domains: [example.test]}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "acme.email")) << r.err;
  r = write(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [example.test], key_type: dsa}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "acme.key_type")) << r.err;
  r = write(
      "{email: ops@example.test, directory: https://ca.test/dir, domains: [example.test], renew_before: "
      "soon}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "acme.renew_before")) << r.err;
  r = write("{email: ops@example.test, directory: https://ca.test/dir, domain: [example.test]}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "domain")) << r.err;
}

}  // namespace
}  // namespace basalt::testing
