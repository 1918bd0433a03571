// The client engine's `resolve` command, called through a Registry as the
// management server would: answers in the smartdns shape, validation errors
// before any query, and a failed lookup as a failed command.
#include "basalt/dns/client/engine_commands.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "basalt/dns/server/server.hpp"

namespace basalt::dns {
namespace {

namespace json = boost::json;

class TestCall : public core::management::Call {
 public:
  explicit TestCall(json::object params) : params_(std::move(params)) {}
  const json::value& id() const override { return id_; }
  const std::string& method() const override { return method_; }
  const json::object& params() const override { return params_; }
  void stream(json::value) override {}

 private:
  json::value id_ = "req_1";
  std::string method_ = "resolve";
  json::object params_;
};

// {result} or {error}
json::object call(const core::management::Registry& registry, json::object params) {
  boost::asio::io_context io;
  TestCall c(std::move(params));
  auto f = boost::asio::co_spawn(io, (*registry.find("resolve"))(c), boost::asio::use_future);
  io.run();
  try {
    return json::object{{"result", f.get()}};
  } catch (const std::exception& e) {
    return json::object{{"error", e.what()}};
  }
}

TEST(ClientEngine, ResolveAnswersInTheSmartdnsShape) {
  ServerConfig c;
  c.listen = {*core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})};
  c.zones = {{.apex = "dyn.test"}};
  c.workers = 1;
  Server server(c);
  server.handle("www.dyn.test", {RRType::kA}, [](const Query& q) {
    return std::vector<Record>{{q.question.name, RRType::kA, RRClass::kIN, 42, {192, 0, 2, 7}}};
  });
  server.start();
  core::management::Registry registry;
  ClientEngineDefaults d;
  d.udp_upstream = server.udp_endpoints().at(0);
  add_client_engine_commands(registry, d);

  auto r = call(registry,
                {{"name", "www.dyn.test"}, {"recordType", "A"}, {"protocol", "udp"}, {"timeoutMs", 2000}});
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  auto& res = r.at("result").as_object();
  EXPECT_EQ(res.at("rcode").to_number<std::int64_t>(), 0);
  EXPECT_EQ(res.at("adFlag").as_bool(), false);
  auto& a = res.at("answers").as_array().at(0).as_object();
  EXPECT_EQ(a.at("name").as_string(), "www.dyn.test");
  EXPECT_EQ(a.at("type").as_string(), "A");
  EXPECT_EQ(a.at("ttl").to_number<std::int64_t>(), 42);
  EXPECT_EQ(a.at("value").as_string(), "192.0.2.7");

  // An explicit serverAddr wins over the default.
  auto nx = call(registry, {{"name", "nope.dyn.test"},
                            {"recordType", "A"},
                            {"protocol", "udp"},
                            {"serverAddr", server.udp_endpoints().at(0).to_string()}});
  EXPECT_EQ(nx.at("result").at("rcode").to_number<std::int64_t>(), 3);

  EXPECT_TRUE(
      call(registry, {{"name", "x.test"}, {"recordType", "NOPE"}, {"protocol", "udp"}}).contains("error"));
  EXPECT_TRUE(
      call(registry, {{"name", "x.test"}, {"recordType", "A"}, {"protocol", "tcp"}}).contains("error"));
  EXPECT_TRUE(call(registry, {{"recordType", "A"}, {"protocol", "udp"}}).contains("error"));
  EXPECT_TRUE(
      call(registry, {{"name", "x.test"}, {"recordType", "A"}, {"protocol", "udp"}, {"timeoutMs", -5}})
          .contains("error"));
  server.stop();
}

}  // namespace
}  // namespace basalt::dns
