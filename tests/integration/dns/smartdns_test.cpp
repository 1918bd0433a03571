// basalt-dns --management as the engine of the published smartdns TypeScript
// package: @push.rocks/smartdns@7.9.0 is installed from npm into a temporary
// directory, our binary is put where its bridge looks for its engine, and its
// DnsServer runs handlers written in TypeScript; dig (UDP) and kdig/curl
// (DoH) check the answers. The engine protocol's failure paths (a silent
// driver, a late answer, bad commands) are driven directly over stdio.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Installs the package once for all tests of this file; nullopt + reason if
// the registry cannot be reached.
class Package {
 public:
  static Package& get() {
    static Package p;
    return p;
  }
  const std::optional<std::string>& skip_reason() const { return skip_; }
  const std::string& error() const { return error_; }
  std::string dir() const { return dir_.path(); }

 private:
  Package() {
    auto r = run({"npm", "install", "--prefix", dir_.path(), "--no-audit", "--no-fund", "--ignore-scripts",
                  "--loglevel=error", "@push.rocks/smartdns@7.9.0"},
                 600s);
    if (r.exit_code != 0) {
      auto ping = run({"npm", "ping", "--loglevel=error"}, 60s);
      if (ping.exit_code != 0) {
        skip_ = "the npm registry cannot be reached (npm ping: " + ping.err + ")";
      } else {
        error_ = "npm install @push.rocks/smartdns@7.9.0 failed: " + r.err;
      }
      return;
    }
    // Our binary where the bridge looks for its engine (dist_rust/rustdns_<platform>).
    auto dist = fs::path(dir_.path()) / "node_modules/@push.rocks/smartdns/dist_rust";
    for (std::string name : {"rustdns_linux_amd64", "rustdns_linux_arm64"}) {
      fs::remove(dist / name);
      fs::copy_file(binary("basalt-dns"), dist / name);
      fs::permissions(dist / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    }
    fs::copy_file(fs::path(source_dir()) / "tests/integration/dns/smartdns_driver.mjs",
                  fs::path(dir_.path()) / "driver.mjs");
  }
  TempDir dir_;
  std::optional<std::string> skip_;
  std::string error_;
};

#define REQUIRE_PACKAGE()                                        \
  do {                                                           \
    BASALT_REQUIRE_TOOL("node");                                 \
    BASALT_REQUIRE_TOOL("npm");                                  \
    auto& pkg_ = Package::get();                                 \
    if (pkg_.skip_reason()) GTEST_SKIP() << *pkg_.skip_reason(); \
    ASSERT_TRUE(pkg_.error().empty()) << pkg_.error();           \
  } while (0)

// smartdns_driver.mjs running a DnsServer on our engine. `ready` holds the
// JSON of its READY line, `failure` the error of START_FAILED.
class Driver {
 public:
  Driver(std::uint16_t udp, std::uint16_t https, const std::string& state_dir,
         std::vector<std::string> env = {})
      : process_(make(udp, https, state_dir, std::move(env))) {
    while (auto line = process_.read_line(30s)) {
      if (line->starts_with("READY ")) {
        ready = line->substr(6);
        return;
      }
      if (line->starts_with("START_FAILED ")) {
        failure = line->substr(13);
        return;
      }
    }
    failure = "neither READY nor START_FAILED";
  }

  // Closes stdin: the driver stops the server; its lines until STOPPED and
  // whether it got there.
  bool stop(std::string* output = nullptr) {
    process_.close_stdin();
    while (auto line = process_.read_line(15s)) {
      if (*line == "STOPPED") return process_.wait(15s) == 0;
      if (output) output->append(*line).append("\n");
    }
    return false;
  }

  std::string ready;
  std::string failure;

 private:
  static Process make(std::uint16_t udp, std::uint16_t https, const std::string& state_dir,
                      std::vector<std::string> env) {
    env.push_back("BASALT_DNS_STATE_DIR=" + state_dir);
    return Process(
        {.argv = {"node", Package::get().dir() + "/driver.mjs", std::to_string(udp), std::to_string(https)},
         .env = std::move(env)});
  }
  Process process_;
};

// dig's record lines with single spaces, one per line.
std::string records(const std::string& dig_output) {
  std::string out;
  for (auto& line : record_lines(dig_output)) out.append(line).append("\n");
  return out;
}

TEST(SmartdnsPackage, TypeScriptHandlersAnswerOverUdpAndDoh) {
  BASALT_REQUIRE_TOOL("dig");
  REQUIRE_PACKAGE();
  TempDir state;
  auto udp = free_port();
  auto https = free_port();
  Driver driver(udp, https, state.path());
  const std::string& ready = driver.ready;
  ASSERT_FALSE(ready.empty()) << "the TypeScript DnsServer did not start on our engine: " << driver.failure;

  // processRawDnsPacketAsync: a raw query through the engine, answered by a handler.
  {
    auto raw = core::base64_decode(boost::json::parse(ready).at("raw").as_string());
    ASSERT_TRUE(raw);
    dns::Message m;
    ASSERT_EQ(dns::Message::parse(*raw, m), dns::WireError::kOk);
    EXPECT_EQ(m.header.id, 0x4242);
    ASSERT_EQ(m.answers.size(), 1u);
    EXPECT_EQ(m.answers[0].owner.to_string(), "Raw.Example.com.");
    EXPECT_EQ(m.answers[0].to_text(), "Raw.Example.com. 300 IN A 10.0.0.1");
  }

  // Mixed case reaches the lowercase-matching TypeScript handler; the answer echoes the case.
  auto r = dig(udp, {"WwW.ExAmPlE.CoM", "A", "+norec"});
  EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
  EXPECT_TRUE(contains(r.out, "flags: qr aa;")) << r.out;
  EXPECT_TRUE(contains(records(r.out), "WwW.ExAmPlE.CoM. 300 IN A 10.0.0.1")) << r.out;
  EXPECT_TRUE(contains(r.out, "ANSWER: 1,")) << r.out;  // asked for two spellings, answered once

  // Two handlers contribute to one answer.
  r = dig(udp, {"multi.example.com", "A", "+short"});
  EXPECT_TRUE(contains(r.out, "10.0.0.1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "10.0.0.2\n")) << r.out;

  // Structured data: TXT with several strings, MX.
  EXPECT_EQ(dig(udp, {"example.com", "TXT", "+short"}).out, "\"hello\" \"world\"\n");
  EXPECT_EQ(dig(udp, {"mail.example.com", "MX", "+short"}).out, "10 mx.example.com.\n");

  // A handler registered after start().
  EXPECT_EQ(dig(udp, {"late.example.com", "AAAA", "+short"}).out, "2001:db8::1\n");

  // A name no handler answers: NODATA with the zone's SOA in AUTHORITY, never NXDOMAIN.
  r = dig(udp, {"nobody.example.com", "AAAA"});
  EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
  EXPECT_TRUE(contains(r.out, "ANSWER: 0, AUTHORITY: 1")) << r.out;
  EXPECT_TRUE(contains(records(r.out), "example.com. 300 IN SOA ns1.example.com.")) << r.out;

  // Outside the zone: offered to the handlers, REFUSED when none answers.
  EXPECT_EQ(dig(udp, {"outside.org", "A", "+short"}).out, "10.9.9.9\n");
  EXPECT_TRUE(contains(dig(udp, {"elsewhere.org", "A"}).out, "status: REFUSED"));

  // Also over TCP (smartdns's own engine has no TCP listener).
  EXPECT_EQ(dig(udp, {"multi.example.com", "A", "+short", "+tcp"}).out.size(),
            std::string("10.0.0.1\n10.0.0.2\n").size());

  // DoH on httpsPort with the self-signed certificate kept in BASALT_DNS_STATE_DIR.
  EXPECT_TRUE(fs::exists(state.file("doh-cert.pem")));
  if (!missing_tool("kdig")) {
    for (std::string method : {"+https", "+https-get"}) {
      auto k = kdig(https, {method, "Late.Example.Com", "AAAA"});
      EXPECT_TRUE(contains(k.out, "status: NOERROR")) << k.out << k.err;
      EXPECT_TRUE(contains(k.out, "late.example.com.")) << k.out;  // kdig prints names lowercased
      EXPECT_TRUE(contains(k.out, "2001:db8::1")) << k.out;
    }
  }
  BASALT_REQUIRE_TOOL("curl");
  auto c = run({"curl", "-sS", "--http2", "--cacert", state.file("doh-cert.pem"),
                "https://127.0.0.1:" + std::to_string(https) + "/dns-query?name=multi.example.com&type=A"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_TRUE(contains(c.out, "\"data\":\"10.0.0.2\"")) << c.out;

  EXPECT_TRUE(driver.stop());
}

// The package matches its patterns case-sensitively against the names the
// engine sends: a pattern with capitals must still find a query spelled
// like it (the engine sent only the lowercase name).
TEST(SmartdnsPackage, APatternWithCapitalsAnswersAQuerySpelledLikeIt) {
  BASALT_REQUIRE_TOOL("dig");
  REQUIRE_PACKAGE();
  TempDir state;
  auto udp = free_port();
  Driver driver(udp, free_port(), state.path());
  ASSERT_FALSE(driver.ready.empty()) << driver.failure;
  auto r = dig(udp, {"UPPER.example.com", "TXT"});
  EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
  EXPECT_EQ(records(dig(udp, {"UPPER.example.com", "TXT", "+noall", "+answer"}).out),
            "UPPER.example.com. 60 IN TXT \"upper\"\n");
  EXPECT_TRUE(driver.stop());
}

// A handler returning an invalid record (data "not-an-ip" for an A record)
// made the whole dnsQueryResult fail, so the valid records of the other
// handlers were not answered either.
TEST(SmartdnsPackage, OneInvalidRecordDoesNotDropTheValidOnes) {
  BASALT_REQUIRE_TOOL("dig");
  REQUIRE_PACKAGE();
  TempDir state;
  auto udp = free_port();
  Driver driver(udp, free_port(), state.path());
  ASSERT_FALSE(driver.ready.empty()) << driver.failure;
  EXPECT_EQ(dig(udp, {"bad.example.com", "AAAA", "+short"}).out, "2001:db8::5\n");
  EXPECT_TRUE(driver.stop());
}

// ANY went to the package's handlers as type ANY, which none of them is
// registered for, so it ended as NODATA. Engine mode follows RFC 8482 as the
// daemon does: over UDP one HINFO, over TCP everything the handlers have.
TEST(SmartdnsPackage, AnyIsAnsweredPerRfc8482) {
  BASALT_REQUIRE_TOOL("dig");
  REQUIRE_PACKAGE();
  TempDir state;
  auto udp = free_port();
  Driver driver(udp, free_port(), state.path());
  ASSERT_FALSE(driver.ready.empty()) << driver.failure;
  auto minimal = dig(udp, {"mail.example.com", "ANY", "+notcp", "+noall", "+answer"});
  EXPECT_EQ(records(minimal.out), "mail.example.com. 3600 IN HINFO \"RFC8482\" \"\"\n") << minimal.out;
  // The MX handler and the wildcard A handler both answer, once each.
  auto full = dig(udp, {"mail.example.com", "ANY", "+tcp", "+noall", "+answer"});
  auto lines = record_lines(full.out);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"mail.example.com. 300 IN A 10.0.0.1",
                                             "mail.example.com. 60 IN MX 10 mx.example.com."}))
      << full.out;
  EXPECT_TRUE(driver.stop());
}

// SO_REUSEPORT let a second engine bind the same ports and take part of the
// traffic; now the second DnsServer's start() fails, naming the address.
TEST(SmartdnsPackage, ASecondServerOnTheSamePortsFailsToStartNamingTheAddress) {
  BASALT_REQUIRE_TOOL("dig");
  REQUIRE_PACKAGE();
  TempDir state1, state2, state3;
  auto udp = free_port();
  auto https = free_port();
  Driver first(udp, https, state1.path());
  ASSERT_FALSE(first.ready.empty()) << first.failure;

  Driver second(udp, https, state2.path());
  EXPECT_TRUE(second.ready.empty());
  EXPECT_TRUE(contains(second.failure, "127.0.0.1:" + std::to_string(udp) + "/udp is already in use"))
      << second.failure;
  Driver third(free_port(), https, state3.path());  // only the DoH port taken
  EXPECT_TRUE(third.ready.empty());
  EXPECT_TRUE(contains(third.failure, "127.0.0.1:" + std::to_string(https) + "/tcp is already in use"))
      << third.failure;

  // The first server still gets every query.
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(dig(udp, {"late.example.com", "AAAA", "+short"}).out, "2001:db8::1\n");
  EXPECT_TRUE(first.stop());
}

// The UDP port serves DNS over TCP too, so an httpsPort equal to it would
// split TCP connections between DoH and DNS over TCP: start() is refused.
TEST(SmartdnsPackage, UdpPortEqualToHttpsPortIsRefusedNamingBothSettings) {
  REQUIRE_PACKAGE();
  TempDir state;
  auto port = free_port();
  Driver driver(port, port, state.path());
  EXPECT_TRUE(driver.ready.empty());
  EXPECT_TRUE(contains(driver.failure, "config.httpsPort: " + std::to_string(port) + " is also udpPort"))
      << driver.failure;
}

// The engine protocol without the package: stdio lines.
class EngineProtocol : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    auto env = environment();
    env.push_back("BASALT_DNS_STATE_DIR=" + state_.path());
    engine_.emplace(
        Process::Options{.argv = {binary("basalt-dns"), "--management"}, .env = env, .capture_stderr = true});
    auto ready = engine_->read_line(10s).value_or("");
    ASSERT_TRUE(contains(ready, "\"event\":\"ready\"")) << ready << engine_->read_all_stderr();
  }

  void TearDown() override {
    if (engine_ && engine_->running()) {
      auto log = finish();
      if (HasFailure()) std::cerr << "engine log:\n" << log;
    }
  }

  // Extra environment of the engine process.
  virtual std::vector<std::string> environment() const { return {}; }

  // Ends the engine as the driver going away does (stdin EOF) and returns its log (stderr).
  std::string finish() {
    engine_->close_stdin();
    EXPECT_EQ(engine_->wait(10s), 0);
    return engine_->read_all_stderr();
  }

  // Sends a request and returns its answer line (events before it are kept in events_).
  boost::json::object request(const std::string& id, const std::string& method, boost::json::object params) {
    boost::json::object req{{"id", id}, {"method", method}, {"params", std::move(params)}};
    engine_->write(boost::json::serialize(req) + "\n");
    return next([&](const boost::json::object& o) {
      return o.contains("id") && o.at("id") == boost::json::value(id);
    });
  }

  template <class Pred>
  boost::json::object next(Pred pred) {
    for (auto it = events_.begin(); it != events_.end(); ++it) {
      if (pred(*it)) {
        auto o = *it;
        events_.erase(it);
        return o;
      }
    }
    while (auto line = engine_->read_line(15s)) {
      auto o = boost::json::parse(*line).as_object();
      if (pred(o)) return o;
      events_.push_back(o);
    }
    ADD_FAILURE() << "no matching line from the engine";
    return {};
  }

  boost::json::object next_event(std::string_view name) {
    return next([&](const boost::json::object& o) {
      return o.contains("event") && o.at("event").as_string() == name;
    });
  }

  std::uint16_t start() {
    auto port = free_port();
    auto r = request("s", "start",
                     {{"config",
                       {{"udpPort", port},
                        {"udpBindInterface", "127.0.0.1"},
                        {"dnssecZone", "example.com"},
                        {"dnssecAlgorithm", "ECDSA"},
                        {"enableLocalhostHandling", true},
                        {"manualUdpMode", false},
                        {"manualHttpsMode", true},
                        {"httpsKey", ""},
                        {"httpsCert", ""}}}});
    EXPECT_EQ(r.at("success"), true) << boost::json::serialize(r);
    return port;
  }

  TempDir state_;
  std::optional<Process> engine_;
  std::vector<boost::json::object> events_;
};

TEST_F(EngineProtocol, SilentDriverCostsServfailAndALateAnswerFindsNothingPending) {
  auto port = start();
  // dig waits longer than the engine's 5 s deadline for the driver.
  Process query({.argv = {"dig", "@127.0.0.1", "-p", std::to_string(port), "+time=10", "+tries=1",
                          "Quiet.Example.Com", "A"}});
  auto ev = next_event("dnsQuery");
  const auto& data = ev.at("data").as_object();
  const auto& q = data.at("questions").as_array().at(0).as_object();
  EXPECT_EQ(q.at("name").as_string(), "quiet.example.com");  // lowercase, no trailing dot
  EXPECT_EQ(q.at("type").as_string(), "A");
  EXPECT_EQ(q.at("class").as_string(), "IN");
  EXPECT_EQ(data.at("dnssecRequested"), false);
  std::string id(data.at("correlationId").as_string());

  auto out = query.read_all(15s);
  EXPECT_TRUE(contains(out, "status: SERVFAIL")) << out;
  auto late = request("late", "dnsQueryResult",
                      {{"correlationId", id}, {"answers", boost::json::array()}, {"answered", false}});
  EXPECT_EQ(late.at("success"), true);
  EXPECT_EQ(late.at("result").at("resolved"), false);
}

// dnssecZone is signed: the driver's answers get RRSIGs, the DNSKEY is
// answered from the key kept in the state directory, the same after a restart.
TEST_F(EngineProtocol, DnssecZoneIsSignedWithAKeyThatSurvivesARestart) {
  auto port = start();
  auto dnskey = dig(port, {"example.com", "DNSKEY", "+short"}).out;
  EXPECT_TRUE(contains(dnskey, "257 3 13 ")) << dnskey;
  EXPECT_TRUE(std::filesystem::exists(state_.path() + "/keys"));
  Process query({.argv = {"dig", "@127.0.0.1", "-p", std::to_string(port), "+time=10", "+tries=1", "+dnssec",
                          "signed.example.com", "A"}});
  auto ev = next_event("dnsQuery");
  EXPECT_EQ(ev.at("data").at("dnssecRequested"), true);
  request("r", "dnsQueryResult",
          {{"correlationId", ev.at("data").at("correlationId")},
           {"answers",
            {{{"name", "signed.example.com"},
              {"type", "A"},
              {"class", "IN"},
              {"ttl", 60},
              {"data", "10.1.2.3"}}}},
           {"answered", true}});
  auto out = query.read_all(15s);
  EXPECT_TRUE(contains(out, "RRSIG\tA 13 3 60 ")) << out;
  EXPECT_EQ(request("x", "stop", {}).at("success"), true);
  next_event("stopped");
  port = start();
  EXPECT_EQ(dig(port, {"example.com", "DNSKEY", "+short"}).out, dnskey);
}

TEST_F(EngineProtocol, AnswersAreMatchedByCorrelationIdAndBadOnesChangeNothing) {
  auto port = start();
  Process query({.argv = {"dig", "@127.0.0.1", "-p", std::to_string(port), "+time=10", "+tries=1",
                          "A.Example.Com", "A", "+short"}});
  auto ev = next_event("dnsQuery");
  std::string id(ev.at("data").at("correlationId").as_string());
  // A malformed result is refused and the question stays pending ...
  auto bad =
      request("b", "dnsQueryResult", {{"correlationId", id}, {"answers", "10.1.2.3"}, {"answered", true}});
  EXPECT_EQ(bad.at("success"), false);
  EXPECT_TRUE(contains(std::string(bad.at("error").as_string()), "answers")) << boost::json::serialize(bad);
  // ... so the good one still answers it.
  auto good = request(
      "g", "dnsQueryResult",
      {{"correlationId", id},
       {"answers",
        {{{"name", "a.example.com"}, {"type", "A"}, {"class", "IN"}, {"ttl", 60}, {"data", "10.1.2.3"}}}},
       {"answered", true}});
  EXPECT_EQ(good.at("result").at("resolved"), true);
  EXPECT_EQ(query.read_all(15s), "10.1.2.3\n");

  // A second start is refused; a config error names the key.
  auto again = request("s2", "start", {{"config", {{"udpPort", 1}, {"manualHttpsMode", true}}}});
  EXPECT_EQ(again.at("success"), false);
  auto stop = request("x", "stop", {});
  EXPECT_EQ(stop.at("success"), true);
  next_event("stopped");
  auto bad_config = request(
      "s3", "start", {{"config", {{"udpPort", 1}, {"manualHttpsMode", true}, {"dnssecAlgorithm", "DSA"}}}});
  EXPECT_EQ(bad_config.at("success"), false);
  EXPECT_TRUE(contains(std::string(bad_config.at("error").as_string()), "config.dnssecAlgorithm"))
      << boost::json::serialize(bad_config);
  auto ping = request("p", "ping", {});
  EXPECT_EQ(ping.at("result").at("pong"), true);
}

// The next package version may send a start option this engine does not
// know: it must still start, with one warning naming what it ignored.
TEST_F(EngineProtocol, UnknownStartSettingsAreIgnoredWithOneWarning) {
  auto port = free_port();
  auto r = request("s", "start",
                   {{"config",
                     {{"udpPort", port},
                      {"udpBindInterface", "127.0.0.1"},
                      {"manualHttpsMode", true},
                      {"dnssecZone", "example.com"},
                      {"futureOption", true},
                      {"anotherOne", 5}}}});
  EXPECT_EQ(r.at("success"), true) << boost::json::serialize(r);
  EXPECT_TRUE(contains(dig(port, {"example.com", "SOA", "+short"}).out, "ns1.example.com.")) << port;
  // A known key with a bad value is still an error.
  request("x", "stop", {});
  auto bad = request("s2", "start", {{"config", {{"udpPort", "x"}, {"futureOption", true}}}});
  EXPECT_EQ(bad.at("success"), false);

  auto log = finish();
  std::size_t warnings = 0;
  for (std::size_t at = 0; (at = log.find("config.futureOption", at)) != std::string::npos; ++at) ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_TRUE(contains(log, "config.futureOption, config.anotherOne")) << log;
}

// One record the server cannot use (an A record whose data is no address)
// must not cost the valid records of the same result: it is left out, logged
// once however often it comes, and counted.
TEST_F(EngineProtocol, AnInvalidRecordIsLeftOutLoggedOnceAndCounted) {
  auto port = start();
  for (int round = 0; round < 2; ++round) {
    Process query({.argv = {"dig", "@127.0.0.1", "-p", std::to_string(port), "+time=10", "+tries=1",
                            "mixed.example.com", "A", "+short"}});
    auto ev = next_event("dnsQuery");
    auto r = request(
        "r" + std::to_string(round), "dnsQueryResult",
        {{"correlationId", ev.at("data").at("correlationId")},
         {"answers",
          {{{"name", "mixed.example.com"}, {"type", "A"}, {"class", "IN"}, {"ttl", 60}, {"data", "10.1.2.3"}},
           {{"name", "mixed.example.com"},
            {"type", "A"},
            {"class", "IN"},
            {"ttl", 60},
            {"data", "not-an-ip"}}}},
         {"answered", true}});
    EXPECT_EQ(r.at("success"), true) << boost::json::serialize(r);
    EXPECT_EQ(query.read_all(15s), "10.1.2.3\n");
  }
  auto metrics = request("m", "getMetrics", {});
  EXPECT_EQ(metrics.at("result").at("invalidHandlerRecords"), 2) << boost::json::serialize(metrics);

  auto log = finish();
  std::size_t warnings = 0;
  for (std::size_t at = 0; (at = log.find("not-an-ip", at)) != std::string::npos; ++at) ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_TRUE(contains(log, "mixed.example.com A from the smartdns handlers")) << log;
}

// The client commands share the process with the server engine: a client
// setting the server does not use must not keep it from starting.
class EngineWithBadClientSetting : public EngineProtocol {
 protected:
  std::vector<std::string> environment() const override {
    return {"BASALT_DNS_UDP_UPSTREAM=not an endpoint"};
  }
};

TEST_F(EngineWithBadClientSetting, OnlyTheClientCommandsThatUseItFail) {
  auto port = start();  // the server engine runs
  EXPECT_TRUE(contains(dig(port, {"example.com", "SOA", "+short"}).out, "ns1.example.com.")) << port;

  auto bad = request("r1", "resolve", {{"name", "example.com"}, {"recordType", "SOA"}, {"protocol", "udp"}});
  EXPECT_EQ(bad.at("success"), false);
  EXPECT_TRUE(
      contains(std::string(bad.at("error").as_string()), "BASALT_DNS_UDP_UPSTREAM: \"not an endpoint\""))
      << boost::json::serialize(bad);
  // A resolve that names its server does not use the setting.
  auto good = request("r2", "resolve",
                      {{"name", "example.com"},
                       {"recordType", "SOA"},
                       {"protocol", "udp"},
                       {"serverAddr", "127.0.0.1:" + std::to_string(port)}});
  EXPECT_EQ(good.at("success"), true) << boost::json::serialize(good);

  auto log = finish();
  EXPECT_TRUE(contains(log, "BASALT_DNS_UDP_UPSTREAM: \"not an endpoint\"")) << log;
}

}  // namespace
}  // namespace basalt::testing
