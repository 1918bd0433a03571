// dns-01 records published for another process: basalt-dns's
// addAcmeChallenge / removeAcmeChallenge management commands, called over
// its socket by core::management::Client and by the proxy's
// RemoteDns01Solver, and the records checked with dig. Covered: a name and
// its wildcard (two values at one name), removal, idempotent adds, names the
// server cannot answer for (outside the zones, delegated, hidden by zone
// data) and bad parameters refused without changing anything, and the
// solver's errors. The hour after which a forgotten record is withdrawn is
// covered by the unit test (dns/src/daemon/remote_challenges_test.cpp).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <fstream>
#include <optional>

#include "basalt/acme/solver.hpp"
#include "basalt/core/management/client.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "certs/dns01_remote_solver.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 300
@        IN SOA  ns1 hostmaster 2026120301 7200 3600 1209600 60
@        IN NS   ns1
ns1      IN A    127.0.0.1
www      IN A    192.0.2.80
sub      IN NS   ns.elsewhere.invalid.
_acme-challenge.static IN TXT "a static record"
)";

constexpr std::string_view kValueA = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
constexpr std::string_view kValueB = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

// The values as `dig +short` prints TXT strings, sorted.
std::vector<std::string> quoted(std::initializer_list<std::string_view> values) {
  std::vector<std::string> out;
  for (auto v : values) out.push_back("\"" + std::string(v) + "\"");
  std::sort(out.begin(), out.end());
  return out;
}

// Runs one awaitable of the solver to completion, as the proxy's certificate thread would.
void run(asio::awaitable<void> op) {
  asio::io_context io;
  auto done = asio::co_spawn(io, std::move(op), asio::use_future);
  io.run();
  done.get();
}

class AcmeChallengesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    std::ofstream(dir_.file("example.test.zone")) << kZone;
    port_ = free_port();
    server_.emplace(Process::Options{
        .argv = {binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(port_),
                 "--zone-file", dir_.file("example.test.zone"), "--state-dir", dir_.file("state"),
                 "--management-socket", socket(), "--log-level", "warn"}});
    ASSERT_TRUE(wait_for_answer(port_, "www.example.test", "A", "192.0.2.80", *server_))
        << "basalt-dns did not start";
  }

  void TearDown() override {
    if (server_ && server_->running()) {
      server_->signal(SIGTERM);
      EXPECT_EQ(server_->wait(10s), 0);
    }
  }

  std::string socket() const { return dir_.file("mgmt.sock"); }

  json::value call(const std::string& method, const json::object& params) {
    core::management::Client client(socket());
    return client.call(method, params, {}, 10s);
  }

  std::string call_error(const std::string& method, const json::object& params) {
    try {
      call(method, params);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::vector<std::string> txt(const std::string& name) {
    auto r = dig(port_, {name, "TXT", "+short"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto lines = record_lines(r.out);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<Process> server_;
};

TEST_F(AcmeChallengesTest, ANameAndItsWildcardAreServedUntilRemoved) {
  auto added = call("addAcmeChallenge", {{"domain", "Example.TEST"}, {"value", kValueA}});
  EXPECT_EQ(added, (json::object{{"name", "_acme-challenge.example.test"}, {"ttl", 60}}));
  added = call("addAcmeChallenge", {{"domain", "*.example.test"}, {"value", kValueB}});
  EXPECT_EQ(added, (json::object{{"name", "_acme-challenge.example.test"}, {"ttl", 60}}));
  EXPECT_EQ(txt("_acme-challenge.example.test"), quoted({kValueA, kValueB}));
  auto full = dig(port_, {"_acme-challenge.example.test", "TXT", "+noall", "+answer", "+norec"});
  for (const auto& line : record_lines(full.out))
    EXPECT_TRUE(line.starts_with("_acme-challenge.example.test. 60 IN TXT ")) << line;

  // Adding the same pair again is idempotent: still two records.
  call("addAcmeChallenge", {{"domain", "example.test"}, {"value", kValueA}});
  EXPECT_EQ(txt("_acme-challenge.example.test"), quoted({kValueA, kValueB}));

  EXPECT_EQ(call("removeAcmeChallenge", {{"domain", "example.test"}, {"value", kValueA}}),
            (json::object{{"removed", true}}));
  EXPECT_EQ(txt("_acme-challenge.example.test"), quoted({kValueB}));
  EXPECT_EQ(call("removeAcmeChallenge", {{"domain", "*.example.test"}, {"value", kValueB}}),
            (json::object{{"removed", true}}));
  EXPECT_TRUE(txt("_acme-challenge.example.test").empty());
  EXPECT_EQ(call("removeAcmeChallenge", {{"domain", "*.example.test"}, {"value", kValueB}}),
            (json::object{{"removed", false}}));
}

TEST_F(AcmeChallengesTest, NamesTheServerCannotAnswerForAndBadParametersAreRefused) {
  EXPECT_EQ(
      call_error("addAcmeChallenge", {{"domain", "other.test"}, {"value", kValueA}}),
      "domain: \"other.test\" is not in a zone this server is authoritative for (zones: example.test.)");
  auto delegated = call_error("addAcmeChallenge", {{"domain", "*.sub.example.test"}, {"value", kValueA}});
  EXPECT_TRUE(contains(delegated, "\"*.sub.example.test\" is delegated away at sub.example.test"))
      << delegated;
  auto hidden = call_error("addAcmeChallenge", {{"domain", "static.example.test"}, {"value", kValueA}});
  EXPECT_TRUE(contains(hidden, "answers _acme-challenge.static.example.test itself")) << hidden;

  EXPECT_EQ(call_error("addAcmeChallenge", {{"domain", "www.example.test"}}),
            "value: missing (the dns-01 TXT value, base64url)");
  EXPECT_TRUE(contains(call_error("addAcmeChallenge", {{"value", kValueA}}), "domain: missing"));
  EXPECT_EQ(
      call_error("addAcmeChallenge", {{"domain", "www.example.test"}, {"value", kValueA}, {"ttl", 3600}}),
      "ttl: is not a parameter of addAcmeChallenge (domain, value)");
  auto bad_value = call_error("addAcmeChallenge", {{"domain", "www.example.test"}, {"value", "x\" y"}});
  EXPECT_TRUE(contains(bad_value, "value: \"x\\\" y\" is not a dns-01 TXT value")) << bad_value;
  auto bad_name = call_error("addAcmeChallenge", {{"domain", "www..example.test"}, {"value", kValueA}});
  EXPECT_TRUE(contains(bad_name, "domain: \"www..example.test\"")) << bad_name;
  EXPECT_EQ(call_error("removeAcmeChallenge", {{"domain", "www.example.test"}}),
            "value: missing (the dns-01 TXT value, base64url)");

  // Nothing was published by any of them; the static record is untouched.
  EXPECT_TRUE(txt("_acme-challenge.www.example.test").empty());
  EXPECT_TRUE(txt("_acme-challenge.other.test").empty());
  EXPECT_EQ(txt("_acme-challenge.static.example.test"), (std::vector<std::string>{"\"a static record\""}));
}

TEST_F(AcmeChallengesTest, TheProxysRemoteSolverPresentsAndCleansUp) {
  proxy::RemoteDns01Solver solver(socket());
  EXPECT_EQ(solver.type(), "dns-01");
  acme::ChallengeTask wildcard{.type = "dns-01",
                               .domain = "www.example.test",
                               .wildcard = true,
                               .token = "tok1",
                               .key_authorization = "tok1.thumbprint"};
  acme::ChallengeTask plain = wildcard;
  plain.wildcard = false;
  plain.token = "tok2";
  plain.key_authorization = "tok2.thumbprint";

  run(solver.present(wildcard));
  run(solver.present(plain));
  EXPECT_EQ(txt("_acme-challenge.www.example.test"),
            quoted({wildcard.dns_record_value(), plain.dns_record_value()}));
  run(solver.cleanup(wildcard));
  EXPECT_EQ(txt("_acme-challenge.www.example.test"), quoted({plain.dns_record_value()}));
  run(solver.cleanup(plain));
  EXPECT_TRUE(txt("_acme-challenge.www.example.test").empty());
  EXPECT_NO_THROW(run(solver.cleanup(plain)));  // already gone: logged, not thrown

  // basalt-dns's refusal, prefixed with where it came from.
  acme::ChallengeTask outside = wildcard;
  outside.domain = "other.test";
  try {
    run(solver.present(outside));
    ADD_FAILURE() << "present() for a name outside the zones succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "basalt-dns at " + socket() +
                                         ": domain: \"*.other.test\" is not in a zone this server is "
                                         "authoritative for (zones: example.test.)");
  }

  // No daemon at the socket: present() says so, cleanup() does not throw.
  proxy::RemoteDns01Solver nowhere(dir_.file("absent.sock"));
  try {
    run(nowhere.present(plain));
    ADD_FAILURE() << "present() without a daemon succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "basalt-dns at " + dir_.file("absent.sock") + ": cannot connect"))
        << e.what();
  }
  EXPECT_NO_THROW(run(nowhere.cleanup(plain)));
}

}  // namespace
}  // namespace basalt::testing
