// Challenge records published for another process: served through the
// daemon's solver, idempotent, bounded in number and lifetime, and the
// management commands' parameters. The server is not started: queries go
// through process_packet().
#include "daemon/remote_challenges.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "basalt/core/config.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "daemon/dns01_solver.hpp"

namespace basalt::dns {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kValueA = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
constexpr std::string_view kValueB = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

ServerConfig config() {
  ServerConfig c;
  c.listen = {*core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})};
  c.zones = {{.apex = "example.test"}};
  c.workers = 1;
  return c;
}

class TestCall : public core::management::Call {
 public:
  TestCall(std::string method, json::object params)
      : method_(std::move(method)), params_(std::move(params)) {}
  const json::value& id() const override { return id_; }
  const std::string& method() const override { return method_; }
  const json::object& params() const override { return params_; }
  void stream(json::value) override {}

 private:
  json::value id_ = "req_1";
  std::string method_;
  json::object params_;
};

class RemoteChallengesTest : public ::testing::Test {
 protected:
  // The TXT strings the server answers for `name`, sorted.
  std::vector<std::string> txt(const std::string& name) {
    Message q;
    q.header.id = 7;
    q.questions.push_back({*Name::from_text(name), RRType::kTXT, RRClass::kIN});
    auto reply = server_.process_packet(q.to_wire());
    Message m;
    EXPECT_EQ(Message::parse(reply, m), WireError::kOk);
    std::vector<std::string> out;
    for (const auto& r : m.answers) {
      EXPECT_EQ(r.ttl, 60u);
      auto t = rdata::TXT::decode(r.rdata);
      if (t) out.insert(out.end(), t->strings.begin(), t->strings.end());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // {result} or {error}, as the management server would answer.
  json::object call(const std::string& method, json::object params) {
    boost::asio::io_context io;
    TestCall c(method, std::move(params));
    auto f = boost::asio::co_spawn(io, (*registry_.find(method))(c), boost::asio::use_future);
    io.run();
    try {
      return json::object{{"result", f.get()}};
    } catch (const std::exception& e) {
      return json::object{{"error", e.what()}};
    }
  }

  std::string error_of(const std::string& method, json::object params) {
    auto r = call(method, std::move(params));
    EXPECT_TRUE(r.contains("error")) << json::serialize(r);
    return r.contains("error") ? std::string(r.at("error").as_string()) : "";
  }

  // Runs the control context until `done` or 10 s pass.
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      control_.restart();
      control_.run_one_for(100ms);
    }
    return done();
  }

  Server server_{config()};
  Dns01Solver solver_{server_};
  boost::asio::io_context control_;
  core::management::Registry registry_;
};

TEST_F(RemoteChallengesTest, ANameAndItsWildcardServeBothValuesUntilRemoved) {
  RemoteChallenges remote(solver_, control_);
  auto added = remote.add("Example.TEST.", kValueA);
  EXPECT_EQ(added.name, "_acme-challenge.example.test");
  EXPECT_EQ(added.ttl, 60u);
  EXPECT_EQ(remote.add("*.example.test", kValueB).name, "_acme-challenge.example.test");
  EXPECT_EQ(txt("_acme-challenge.example.test"), (std::vector<std::string>{kValueB.data(), kValueA.data()}));

  // The same pair again: still one record each.
  remote.add("example.test", kValueA);
  EXPECT_EQ(remote.size(), 2u);
  EXPECT_EQ(txt("_acme-challenge.example.test").size(), 2u);

  EXPECT_TRUE(remote.remove("example.test", kValueA));
  EXPECT_FALSE(remote.remove("example.test", kValueA));
  EXPECT_EQ(txt("_acme-challenge.example.test"), std::vector<std::string>{kValueB.data()});
  EXPECT_TRUE(remote.remove("*.EXAMPLE.test", kValueB));
  EXPECT_TRUE(txt("_acme-challenge.example.test").empty());
  EXPECT_EQ(remote.size(), 0u);
}

TEST_F(RemoteChallengesTest, RemovingDoesNotWithdrawTheDaemonsOwnChallengeWithTheSameValue) {
  RemoteChallenges remote(solver_, control_);
  solver_.present_value("www.example.test", kValueA);  // the daemon's own order
  remote.add("www.example.test", kValueA);
  EXPECT_EQ(txt("_acme-challenge.www.example.test"), std::vector<std::string>{kValueA.data()});
  EXPECT_TRUE(remote.remove("www.example.test", kValueA));
  EXPECT_EQ(txt("_acme-challenge.www.example.test"), std::vector<std::string>{kValueA.data()});
  // And a client cannot remove what only the daemon presented.
  EXPECT_FALSE(remote.remove("www.example.test", kValueA));
  EXPECT_TRUE(solver_.remove_value("www.example.test", kValueA));
  EXPECT_TRUE(txt("_acme-challenge.www.example.test").empty());
}

TEST_F(RemoteChallengesTest, RefusesNamesOutsideTheZonesAndMalformedInputChangingNothing) {
  RemoteChallenges remote(solver_, control_);
  auto refused = [&](std::string_view domain, std::string_view value, std::string_view part) {
    try {
      remote.add(domain, value);
      ADD_FAILURE() << domain << " " << value << " was accepted";
    } catch (const core::config::Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  refused("other.test", kValueA,
          "domain: \"other.test\" is not in a zone this server is authoritative for (zones: example.test.)");
  refused("bad_name.example.test", kValueA, "domain: \"bad_name.example.test\"");
  refused("*.*.example.test", kValueA, "domain:");
  refused("", kValueA, "domain:");
  refused("www.example.test", "", "value: \"\" is not a dns-01 TXT value");
  refused("www.example.test", "has space", "value: \"has space\"");
  refused("www.example.test", "a=", "value:");
  refused("www.example.test", std::string(256, 'a'), "value:");
  EXPECT_EQ(remote.size(), 0u);
  EXPECT_NO_THROW(remote.add("www.example.test", std::string(255, 'a')));  // a TXT string's limit
}

TEST_F(RemoteChallengesTest, AtTheLimitANewRecordIsRefusedButAKnownOneIsNot) {
  RemoteChallenges remote(solver_, control_, {.max_records = 2});
  remote.add("a.example.test", kValueA);
  remote.add("b.example.test", kValueA);
  try {
    remote.add("c.example.test", kValueA);
    ADD_FAILURE() << "a third record was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("2 challenge records"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(txt("_acme-challenge.c.example.test").empty());
  EXPECT_NO_THROW(remote.add("a.example.test", kValueA));
  EXPECT_EQ(remote.size(), 2u);
  remote.remove("a.example.test", kValueA);
  EXPECT_NO_THROW(remote.add("c.example.test", kValueA));
  EXPECT_EQ(txt("_acme-challenge.c.example.test"), std::vector<std::string>{kValueA.data()});
}

TEST_F(RemoteChallengesTest, ARecordNobodyRemovesIsWithdrawnAfterItsLifetime) {
  RemoteChallenges remote(solver_, control_, {.lifetime = 50ms});
  remote.add("www.example.test", kValueA);
  solver_.present_value("www.example.test", kValueB);  // the daemon's own: never expires here
  ASSERT_EQ(txt("_acme-challenge.www.example.test").size(), 2u);
  ASSERT_TRUE(run_until([&] { return remote.size() == 0; }));
  EXPECT_EQ(txt("_acme-challenge.www.example.test"), std::vector<std::string>{kValueB.data()});
  // Removing it afterwards is a no-op, and a new one is timed again.
  EXPECT_FALSE(remote.remove("www.example.test", kValueA));
  remote.add("*.www.example.test", kValueA);
  ASSERT_TRUE(run_until([&] { return remote.size() == 0; }));
  EXPECT_EQ(txt("_acme-challenge.www.example.test"), std::vector<std::string>{kValueB.data()});
}

TEST_F(RemoteChallengesTest, CommandsTakeExactlyDomainAndValue) {
  RemoteChallenges remote(solver_, control_);
  remote.register_commands(registry_);
  auto added = call("addAcmeChallenge", {{"domain", "*.Example.test"}, {"value", kValueA}});
  ASSERT_TRUE(added.contains("result")) << json::serialize(added);
  EXPECT_EQ(added.at("result"), (json::object{{"name", "_acme-challenge.example.test"}, {"ttl", 60}}));
  EXPECT_EQ(txt("_acme-challenge.example.test"), std::vector<std::string>{kValueA.data()});

  EXPECT_EQ(error_of("addAcmeChallenge", {{"domain", "example.test"}}),
            "value: missing (the dns-01 TXT value, base64url)");
  EXPECT_NE(error_of("addAcmeChallenge", {{"value", kValueB}}).find("domain: missing"), std::string::npos);
  EXPECT_EQ(error_of("addAcmeChallenge", {{"domain", "example.test"}, {"value", kValueB}, {"ttl", 5}}),
            "ttl: is not a parameter of addAcmeChallenge (domain, value)");
  EXPECT_NE(error_of("addAcmeChallenge", {{"domain", 5}, {"value", kValueB}}).find("domain:"),
            std::string::npos);
  EXPECT_EQ(error_of("removeAcmeChallenge", {{"domain", "example.test"}, {"value", kValueA}, {"x", 1}}),
            "x: is not a parameter of removeAcmeChallenge (domain, value)");
  EXPECT_EQ(remote.size(), 1u);

  EXPECT_EQ(call("removeAcmeChallenge", {{"domain", "*.example.test"}, {"value", kValueA}}),
            (json::object{{"result", json::object{{"removed", true}}}}));
  EXPECT_EQ(call("removeAcmeChallenge", {{"domain", "*.example.test"}, {"value", kValueA}}),
            (json::object{{"result", json::object{{"removed", false}}}}));
  EXPECT_TRUE(txt("_acme-challenge.example.test").empty());
}

}  // namespace
}  // namespace basalt::dns
