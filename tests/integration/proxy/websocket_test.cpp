// basalt-proxy with real Node peers (tests/integration/proxy/node/, npm ws,
// @grpc/grpc-js and Node's http2): WebSocket over HTTP/1.1, WebSocket over
// HTTP/2 (RFC 8441) carried to an HTTP/1.1 backend, a WebSocket that stays
// open across route updates, and gRPC (unary with trailers and status,
// bidirectional streaming) end to end over HTTP/2.
#include <gmock/gmock.h>

#include <filesystem>

#include "fixture.hpp"
#include "node_peers.hpp"

namespace basalt::proxy_test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

class ProxyNodePeers : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_NODE_PEERS();
    write_certificate(dir_, "front", {"web.test"});
    port_ = testing::free_port();
  }

  void start(const std::string& routes) {
    std::string yaml = "routes:\n" + routes;
    for (auto pos = yaml.find("PORT"); pos != std::string::npos; pos = yaml.find("PORT"))
      yaml.replace(pos, 4, std::to_string(port_));
    proxy_.emplace(dir_, yaml, port_);
    ASSERT_TRUE(proxy_->ready()) << proxy_->log();
  }

  std::string tls_route(const std::string& name, std::uint16_t backend, const std::string& extra = "") {
    return "  - {name: " + name +
           ", match: {ports: PORT, domains: web.test}, action: {type: forward, targets: " +
           "[{host: 127.0.0.1, port: " + std::to_string(backend) +
           "}], tls: {mode: terminate, certificate: " + "{cert: front.pem, key: front.key}}" + extra + "}}\n";
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<ProxyDaemon> proxy_;
};

TEST_F(ProxyNodePeers, WebSocketOverHttp11) {
  NodeServer ws("ws_echo_server.mjs", {"--port", "0"});
  ASSERT_NE(ws.port, 0);
  start(
      "  - {name: ws, match: {ports: PORT, path: \"/chat\"}, action: {type: forward, targets: [{host: "
      "127.0.0.1, "
      "port: " +
      std::to_string(ws.port) + "}]}}\n");
  auto r = run_client("ws_client.mjs", {"--url", "ws://127.0.0.1:" + std::to_string(port_) + "/chat",
                                        "--messages", "20", "--size", "70000"});
  EXPECT_TRUE(r["ok"].as_bool()) << boost::json::serialize(r);
  EXPECT_EQ(r["closeCode"], 1000);
}

TEST_F(ProxyNodePeers, WebSocketOverHttp2ReachesAnHttp11Backend) {
  NodeServer ws("ws_echo_server.mjs", {"--port", "0"});
  ASSERT_NE(ws.port, 0);
  start(tls_route("ws", ws.port));
  auto r =
      run_client("h2_websocket_client.mjs",
                 {"--url", "https://web.test:" + std::to_string(port_) + "/chat?room=1", "--ca",
                  dir_.file("front.pem"), "--connect", "127.0.0.1", "--messages", "10", "--size", "40000"});
  EXPECT_TRUE(r["ok"].as_bool()) << boost::json::serialize(r);
  // And over TLS with HTTP/1.1 (wss://).
  auto wss = run_client("ws_client.mjs", {"--url", "wss://web.test:" + std::to_string(port_) + "/chat",
                                          "--ca", dir_.file("front.pem"), "--connect", "127.0.0.1"});
  EXPECT_TRUE(wss["ok"].as_bool()) << boost::json::serialize(wss);
}

TEST_F(ProxyNodePeers, OpenWebSocketSurvivesRouteUpdates) {
  NodeServer ws("ws_echo_server.mjs", {"--port", "0"});
  ASSERT_NE(ws.port, 0);
  const std::string route =
      "  - {name: ws, match: {ports: PORT, protocol: http}, action: {type: forward, targets: "
      "[{host: 127.0.0.1, port: " +
      std::to_string(ws.port) + "}]}}\n";
  start(route);
  std::optional<boost::json::object> held;
  std::thread client([&] {
    held = run_client("ws_client.mjs", {"--url", "ws://127.0.0.1:" + std::to_string(port_) + "/live",
                                        "--hold-ms", "2500", "--messages", "2"});
  });
  std::this_thread::sleep_for(500ms);
  for (int i = 0; i < 3; ++i) {
    boost::json::array routes;
    routes.push_back(
        boost::json::parse("{\"name\":\"ws\",\"priority\":" + std::to_string(i) +
                           ",\"match\":{\"ports\":" + std::to_string(port_) +
                           ",\"protocol\":\"http\"},\"action\":{\"type\":\"forward\",\"targets\":[{"
                           "\"host\":\"127.0.0.1\",\"port\":" +
                           std::to_string(ws.port) + "}]}}"));
    EXPECT_EQ(proxy_->call_error("updateRoutes", {{"routes", routes}}), "");
    std::this_thread::sleep_for(300ms);
  }
  client.join();
  ASSERT_TRUE(held);
  EXPECT_TRUE((*held)["ok"].as_bool()) << boost::json::serialize(*held);
  EXPECT_GE((*held)["heldMessages"].as_int64(), 8);
}

TEST_F(ProxyNodePeers, GrpcUnaryAndBidirectionalStreaming) {
  NodeServer grpc("grpc_server.mjs", {"--port", "0"});
  ASSERT_NE(grpc.port, 0);
  start(tls_route("grpc", grpc.port, ", options: {backendProtocol: http2}"));
  auto r = run_client("grpc_client.mjs",
                      {"--target", "127.0.0.1:" + std::to_string(port_), "--tls", "--ca",
                       dir_.file("front.pem"), "--server-name", "web.test", "--messages", "20"});
  EXPECT_TRUE(r["ok"].as_bool()) << boost::json::serialize(r);
  EXPECT_EQ(r["unaryTrailer"], "done-41");
  EXPECT_EQ(r["chatTrailer"], "chat-done");
}

}  // namespace
}  // namespace basalt::proxy_test
