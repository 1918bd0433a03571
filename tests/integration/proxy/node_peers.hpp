// The Node peers of the proxy tests (tests/integration/proxy/node/: npm ws,
// @grpc/grpc-js, Node's http2), installed once per test binary with npm into
// a temp dir, the way the smartdns test installs its package; a server
// started from one of them, and a client run to its JSON report line.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"

// In a test's SetUp: node and npm present and the peers installed; skips
// only when the npm registry cannot be reached, and not even then under CI.
#define BASALT_REQUIRE_NODE_PEERS()                                    \
  do {                                                                 \
    BASALT_REQUIRE_TOOL("node");                                       \
    BASALT_REQUIRE_TOOL("npm");                                        \
    auto& peers_ = ::basalt::proxy_test::NodePeers::get();             \
    if (peers_.skip_reason()) {                                        \
      if (::basalt::testing::in_ci()) FAIL() << *peers_.skip_reason(); \
      GTEST_SKIP() << *peers_.skip_reason();                           \
    }                                                                  \
    ASSERT_EQ(peers_.error(), "");                                     \
  } while (false)

namespace basalt::proxy_test {

class NodePeers {
 public:
  static NodePeers& get();
  // Set when the npm registry cannot be reached (the only allowed skip).
  const std::optional<std::string>& skip_reason() const { return skip_; }
  const std::string& error() const { return error_; }
  std::string script(const std::string& name) const { return dir_.file(name); }

 private:
  NodePeers();
  testing::TempDir dir_;
  std::optional<std::string> skip_;
  std::string error_;
};

// A Node server from `script`, with the port it printed ("listening <port>").
struct NodeServer {
  NodeServer(const std::string& script, std::vector<std::string> args);
  std::optional<testing::Process> process;
  std::uint16_t port = 0;
};

// Runs a Node client to its end (at most `timeout`) and returns its JSON
// line, or {ok: false, error} when it printed none.
boost::json::object run_client(const std::string& script, std::vector<std::string> args,
                               std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace basalt::proxy_test
