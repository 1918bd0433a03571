// DNS over HTTPS (RFC 8484) on basalt-dns serve and on dns::Server, driven
// by real curl (HTTP/2 and HTTP/1.1) and kdig +https: GET and POST wire
// messages, the JSON form, every error status, the self-signed certificate
// kept in the state directory, a certificate swap while a connection
// stays open, and query events that name the DoH client as they name UDP
// and TCP clients.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>

#include "basalt/core/encoding.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 2026112901 7200 3600 1209600 300
@        IN NS   ns1
ns1      IN A    127.0.0.1
www  120 IN A    192.0.2.80
www   60 IN A    192.0.2.81
api      IN CNAME www
)";

std::string query_bytes(std::string_view name, dns::RRType type, std::uint16_t id = 0) {
  dns::Message m;
  m.header.id = id;
  m.header.rd = true;
  m.questions.push_back({*dns::Name::from_text(name), type, dns::RRClass::kIN});
  auto wire = m.to_wire();
  return std::string(wire.begin(), wire.end());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Answer {
  std::string version;  // "2" or "1.1"
  int status = 0;
  std::string headers;  // lowercased
  std::string body;
};

class DohDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("curl");
    BASALT_REQUIRE_TOOL("dig");
    std::ofstream(dir_.file("example.test.zone")) << kZone;
    start();
  }

  void start() {
    udp_ = free_port();
    doh_ = free_port();
    server_.emplace(Process::Options{
        .argv = {binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(udp_),
                 "--zone-file", dir_.file("example.test.zone"), "--doh", "127.0.0.1:" + std::to_string(doh_),
                 "--state-dir", dir_.file("state"), "--management-socket", dir_.file("mgmt.sock"),
                 "--log-level", "warn"}});
    // (An exact match: dig's "connection refused" message also names 127.0.0.1.)
    ASSERT_TRUE(wait_for_answer(udp_, "ns1.example.test", "A", "127.0.0.1", *server_))
        << "basalt-dns did not start";
  }

  void TearDown() override {
    if (server_ && server_->running()) {
      server_->signal(SIGTERM);
      EXPECT_EQ(server_->wait(10s), 0);
    }
  }

  std::string url(std::string_view rest = "/dns-query") const {
    return "https://127.0.0.1:" + std::to_string(doh_) + std::string(rest);
  }

  // curl -k with the given HTTP version flag and extra arguments.
  Answer curl(std::string_view version_flag, std::vector<std::string> args) {
    std::vector<std::string> argv = {"curl",       "-sS",
                                     "-k",         std::string(version_flag),
                                     "--max-time", "10",
                                     "-o",         dir_.file("body"),
                                     "-D",         dir_.file("headers"),
                                     "-w",         "%{http_version} %{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::remove(dir_.file("body").c_str());
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Answer a;
    std::istringstream w(r.out);
    w >> a.version >> a.status;
    a.headers = read_file(dir_.file("headers"));
    for (auto& c : a.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    a.body = read_file(dir_.file("body"));
    return a;
  }

  TempDir dir_;
  std::uint16_t udp_ = 0, doh_ = 0;
  std::optional<Process> server_;
};

dns::Message parse(const std::string& body) {
  dns::Message m;
  auto err = dns::Message::parse({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()}, m);
  EXPECT_EQ(err, dns::WireError::kOk) << "response is not a DNS message (" << body.size() << " bytes)";
  return m;
}

TEST_F(DohDaemonTest, GetAndPostOverHttp2AndHttp1AnswerTheDnsMessageWithMaxAgeOfTheSmallestTtl) {
  auto q = query_bytes("WwW.Example.TEST", dns::RRType::kA, 0);
  std::ofstream(dir_.file("q.bin"), std::ios::binary) << q;
  auto b64 = core::base64url_encode(core::as_bytes(q));
  for (std::string version : {"--http2", "--http1.1"}) {
    for (bool post : {false, true}) {
      SCOPED_TRACE(version + (post ? " POST" : " GET"));
      auto a = post ? curl(version, {"--data-binary", "@" + dir_.file("q.bin"), "-H",
                                     "Content-Type: application/dns-message", url()})
                    : curl(version, {url("/dns-query?dns=" + b64)});
      EXPECT_EQ(a.version, version == "--http2" ? "2" : "1.1");
      EXPECT_EQ(a.status, 200);
      EXPECT_TRUE(contains(a.headers, "content-type: application/dns-message")) << a.headers;
      EXPECT_TRUE(contains(a.headers, "cache-control: max-age=60\r")) << a.headers;
      auto m = parse(a.body);
      EXPECT_TRUE(m.header.aa);
      ASSERT_EQ(m.questions.size(), 1u);
      EXPECT_EQ(m.questions[0].name.to_string(), "WwW.Example.TEST.");  // the question's case echoed
      ASSERT_EQ(m.answers.size(), 2u);
      EXPECT_EQ(m.answers[0].owner.to_string(), "WwW.Example.TEST.");
    }
  }
}

TEST_F(DohDaemonTest, NegativeAnswersCarryTheSoaTtlAsMaxAge) {
  auto b64 = core::base64url_encode(core::as_bytes(query_bytes("nothing.example.test", dns::RRType::kA)));
  auto a = curl("--http2", {url("/dns-query?dns=" + b64)});
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(contains(a.headers, "cache-control: max-age=300\r")) << a.headers;
  EXPECT_EQ(parse(a.body).rcode(), static_cast<std::uint16_t>(dns::Rcode::kNXDomain));
}

TEST_F(DohDaemonTest, KdigOverHttpsWithPostAndGet) {
  BASALT_REQUIRE_TOOL("kdig");
  for (std::string method : {"+https", "+https-get"}) {
    auto r = kdig(doh_, {method, "api.example.test", "A"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
    EXPECT_TRUE(contains(r.out, method == "+https" ? "(HTTP/2-POST)" : "(HTTP/2-GET)")) << r.out;
    EXPECT_TRUE(contains(r.out, "api.example.test.")) << r.out;
    EXPECT_TRUE(contains(r.out, "192.0.2.80")) << r.out;
  }
}

TEST_F(DohDaemonTest, JsonFormAsGoogleAndCloudflareServeIt) {
  for (std::string version : {"--http2", "--http1.1"}) {
    auto a =
        curl(version, {"-H", "accept: application/dns-json", url("/dns-query?name=api.example.test&type=A")});
    EXPECT_EQ(a.status, 200);
    EXPECT_TRUE(contains(a.headers, "content-type: application/dns-json")) << a.headers;
    auto j = boost::json::parse(a.body).as_object();
    EXPECT_EQ(j.at("Status").as_int64(), 0);
    EXPECT_EQ(j.at("Question").as_array().at(0).at("name").as_string(), "api.example.test.");
    const auto& answer = j.at("Answer").as_array();
    ASSERT_EQ(answer.size(), 3u) << a.body;  // the CNAME, then the two A records it leads to
    EXPECT_EQ(answer[0].at("type").as_int64(), 5);
    EXPECT_EQ(answer[0].at("data").as_string(), "www.example.test.");
    EXPECT_EQ(answer[1].at("type").as_int64(), 1);
    EXPECT_EQ(answer[1].at("data").as_string(), "192.0.2.80");
  }
  auto typed = curl("--http2", {url("/dns-query?name=example.test&type=28")});
  auto j = boost::json::parse(typed.body).as_object();
  EXPECT_EQ(j.at("Status").as_int64(), 0);
  EXPECT_FALSE(j.contains("Answer"));
  EXPECT_EQ(j.at("Authority").as_array().at(0).at("type").as_int64(), 6);  // NODATA: SOA
}

TEST_F(DohDaemonTest, ErrorsAnswerTheirHttpStatus) {
  std::ofstream(dir_.file("q.bin"), std::ios::binary) << query_bytes("www.example.test", dns::RRType::kA);
  std::ofstream(dir_.file("big.bin"), std::ios::binary) << std::string(70000, '\0');
  std::ofstream(dir_.file("junk.bin"), std::ios::binary) << std::string("hello, not dns");
  for (std::string version : {"--http2", "--http1.1"}) {
    SCOPED_TRACE(version);
    EXPECT_EQ(curl(version, {url("/dns-query?dns=%21%21%21")}).status, 400);  // not base64url
    EXPECT_EQ(curl(version, {url("/dns-query?dns=AAAA")}).status, 400);       // 3 octets: no message
    EXPECT_EQ(curl(version, {url("/dns-query")}).status, 400);                // no parameter
    EXPECT_EQ(curl(version, {url("/dns-query?name=a..b")}).status, 400);      // bad name
    EXPECT_EQ(curl(version, {url("/dns-query?name=www.example.test&type=NOPE")}).status, 400);
    EXPECT_EQ(curl(version, {"--data-binary", "@" + dir_.file("junk.bin"), "-H",
                             "Content-Type: application/dns-message", url()})
                  .status,
              400);
    EXPECT_EQ(
        curl(version, {"--data-binary", "@" + dir_.file("q.bin"), "-H", "Content-Type: text/plain", url()})
            .status,
        415);
    EXPECT_EQ(curl(version, {"--data-binary", "@" + dir_.file("big.bin"), "-H",
                             "Content-Type: application/dns-message", url()})
                  .status,
              413);
    auto put = curl(version, {"-X", "PUT", "--data-binary", "@" + dir_.file("q.bin"), url()});
    EXPECT_EQ(put.status, 405);
    EXPECT_TRUE(contains(put.headers, "allow:")) << put.headers;
    EXPECT_EQ(curl(version, {url("/elsewhere")}).status, 404);
  }
}

TEST_F(DohDaemonTest, QueryEventsNameTheDohClientAndMetricsCountHttps) {
  // A management client enables query events; each DoH query's event names
  // the address curl connected from.
  Process client(
      {.argv = {"python3", "-c",
                "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
                "f=s.makefile();print(f.readline(),end='',flush=True);"
                "s.sendall(b'{\"id\":1,\"method\":\"setQueryEvents\",\"params\":{\"enabled\":true}}\\n');"
                "[print(f.readline(),end='',flush=True) for _ in range(4)]",
                dir_.file("mgmt.sock")}});
  ASSERT_TRUE(contains(client.read_line().value_or(""), "ready"));
  ASSERT_TRUE(contains(client.read_line().value_or(""), "\"enabled\":true"));
  for (std::string version : {"--http2", "--http1.1"}) {
    SCOPED_TRACE(version);
    auto r = run({"curl", "-sS", "-k", version, "--max-time", "10", "-o", "/dev/null", "-w", "%{local_port}",
                  url("/dns-query?name=Www.Example.test")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto event = client.read_line().value_or("");
    EXPECT_TRUE(contains(event, "\"event\":\"query\"")) << event;
    EXPECT_TRUE(contains(event, "\"name\":\"Www.Example.test.\"")) << event;
    EXPECT_TRUE(contains(event, "\"transport\":\"https\"")) << event;
    EXPECT_TRUE(contains(event, "\"rcode\":\"NOERROR\"")) << event;
    EXPECT_TRUE(contains(event, "\"client\":\"127.0.0.1:" + r.out + "\"")) << event << " curl port " << r.out;
  }
  // A message that is no DNS query: 400, and the event says FORMERR.
  auto junk = curl("--http2", {url("/dns-query?dns=AAAAAAAAAAAAAAAAAAAAAAAA")});
  EXPECT_EQ(junk.status, 400);
  auto event = client.read_line().value_or("");
  EXPECT_TRUE(contains(event, "\"transport\":\"https\"")) << event;
  EXPECT_TRUE(contains(event, "\"rcode\":\"FORMERR\"")) << event;
  EXPECT_EQ(client.wait(5s), 0);

  auto metrics = run(
      {"python3", "-c",
       "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile();f.readline();"
       "s.sendall(b'{\"id\":1,\"method\":\"getMetrics\"}\\n');print(f.readline())",
       dir_.file("mgmt.sock")});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.err;
  EXPECT_TRUE(contains(metrics.out, "\"https\":3")) << metrics.out;
}

TEST_F(DohDaemonTest, SelfSignedCertificateIsKeptInTheStateDirectoryAcrossRestarts) {
  auto cert = dir_.file("state/doh-cert.pem");
  auto key = dir_.file("state/doh-key.pem");
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto first = read_file(cert);
  ASSERT_TRUE(contains(first, "BEGIN CERTIFICATE"));
  // Verifiable for 127.0.0.1 with the certificate as its own CA.
  auto verified = run({"curl", "-sS", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}",
                       url("/dns-query?name=www.example.test")});
  EXPECT_EQ(verified.out, "200") << verified.err;

  server_->signal(SIGTERM);
  ASSERT_EQ(server_->wait(10s), 0);
  start();
  EXPECT_EQ(read_file(cert), first);
}

// In-process: the certificate is replaced while an HTTP/1.1 connection made
// with the old one stays open and keeps being served.
TEST(DohCertificates, SwapKeepsOpenConnectionsAndNewHandshakesGetTheNewCertificate) {
  BASALT_REQUIRE_TOOL("curl");
  BASALT_REQUIRE_TOOL("openssl");
  TempDir dir;
  auto make = [&](std::string name) {
    auto pem =
        core::generate_self_signed({.dns_names = {name}, .ip_addresses = {core::IpAddress::v4_loopback()}});
    std::ofstream(dir.file(name + ".pem")) << pem->certificate;
    std::ofstream(dir.file(name + ".key")) << pem->private_key;
    return *pem;
  };
  auto old_cert = make("old.test");
  make("new.test");

  dns::ServerConfig config;
  config.zones = {{.apex = "swap.test"}};
  config.workers = 2;
  config.doh = {{.listen = core::Endpoint{core::IpAddress::v4_loopback(), 0}}};
  config.tls = service::TlsConfig{.cert = old_cert.certificate, .key = old_cert.private_key};  // inline PEM
  dns::Server server(config);
  server.start();
  auto port = std::to_string(server.doh_endpoints().at(0).port);
  // HEAD: the answer is a status line and headers only, so it ends with an empty line.
  std::string request = "HEAD /dns-query?name=swap.test&type=SOA HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

  Process held({.argv = {"openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + port, "-alpn",
                         "http/1.1", "-verify_return_error", "-CAfile", dir.file("old.test.pem")},
                .capture_stderr = true});
  auto read_status = [&] {
    // Reads one response's status line and headers.
    std::string status;
    for (int i = 0; i < 50; ++i) {
      auto line = held.read_line(10s);
      if (!line) break;
      if (line->starts_with("HTTP/1.1 ")) status = line->substr(9, 3);
      if (!status.empty() && (line->empty() || *line == "\r")) return status;
    }
    return std::string("none");
  };
  ASSERT_TRUE(held.write(request));
  ASSERT_EQ(read_status(), "200");

  server.update_certs({dir.file("new.test.pem"), dir.file("new.test.key")});

  auto check = [&](const std::string& ca) {
    return run({"curl", "-sS", "--http2", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}",
                "https://127.0.0.1:" + port + "/dns-query?name=swap.test"})
        .out;
  };
  EXPECT_EQ(check(dir.file("new.test.pem")), "200");
  EXPECT_NE(check(dir.file("old.test.pem")), "200");
  // The connection made before the swap still answers.
  ASSERT_TRUE(held.write(request));
  EXPECT_EQ(read_status(), "200");

  // A certificate that does not load changes nothing.
  EXPECT_THROW(server.update_certs({dir.file("new.test.pem"), dir.file("old.test.key")}),
               std::invalid_argument);
  EXPECT_EQ(check(dir.file("new.test.pem")), "200");
  held.close_stdin();
  server.stop();
}

// In-process: the query observer gets the client's address for DoH (over
// HTTP/2 and HTTP/1.1) as for UDP and TCP, from the DNS worker that served it.
TEST(DohQueryEvents, ObserversSeeTheClientOfEveryTransport) {
  BASALT_REQUIRE_TOOL("curl");
  BASALT_REQUIRE_TOOL("dig");
  TempDir dir;
  std::ofstream(dir.file("example.test.zone")) << kZone;
  dns::ServerConfig config;
  config.listen = {core::Endpoint{core::IpAddress::v4_loopback(), 0}};
  config.zones = {{.file = dir.file("example.test.zone")}};
  config.workers = 2;
  config.doh = {{.listen = core::Endpoint{core::IpAddress::v4_loopback(), 0}}};
  config.state_dir = dir.file("state");
  dns::Server server(config);
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<dns::QueryEvent> events;
  server.set_query_observer([&](const dns::QueryEvent& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
    arrived.notify_all();
  });
  server.start();
  auto next_event = [&]() -> std::optional<dns::QueryEvent> {
    std::unique_lock lock(mutex);
    if (!arrived.wait_for(lock, 10s, [&] { return !events.empty(); })) return std::nullopt;
    auto e = events.front();
    events.pop_front();
    return e;
  };
  auto doh_port = std::to_string(server.doh_endpoints().at(0).port);
  auto dns_port = server.udp_endpoints().at(0).port;

  for (std::string version : {"--http2", "--http1.1"}) {
    SCOPED_TRACE(version);
    auto r = run({"curl", "-sS", "-k", version, "--max-time", "10", "-o", "/dev/null", "-w", "%{local_port}",
                  "https://127.0.0.1:" + doh_port + "/dns-query?name=api.example.test"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto e = next_event();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->transport, dns::Transport::kHttps);
    EXPECT_EQ(e->question.name.to_string(), "api.example.test.");
    EXPECT_EQ(e->rcode, dns::Rcode::kNoError);
    EXPECT_TRUE(e->answered);
    ASSERT_TRUE(e->client);
    EXPECT_EQ(e->client->to_string(), "127.0.0.1:" + r.out);
  }
  for (std::string transport : {"+notcp", "+tcp"}) {
    SCOPED_TRACE(transport);
    auto from = free_port();
    auto r = dig(dns_port, {"-b", "127.0.0.1#" + std::to_string(from), transport, "www.example.test", "A"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto e = next_event();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->transport, transport == "+tcp" ? dns::Transport::kTcp : dns::Transport::kUdp);
    EXPECT_EQ(e->question.name.to_string(), "www.example.test.");
    ASSERT_TRUE(e->client);
    EXPECT_EQ(e->client->to_string(), "127.0.0.1:" + std::to_string(from));
  }
  // Manual mode has no client.
  dns::Message q;
  q.questions.push_back({*dns::Name::from_text("www.example.test"), dns::RRType::kA, dns::RRClass::kIN});
  EXPECT_FALSE(server.process_packet(q.to_wire()).empty());
  auto manual = next_event();
  ASSERT_TRUE(manual);
  EXPECT_EQ(manual->transport, dns::Transport::kManual);
  EXPECT_FALSE(manual->client);
  EXPECT_EQ(server.metrics().queries_by_transport["https"], 2u);
  server.stop();
}

}  // namespace
}  // namespace basalt::testing
