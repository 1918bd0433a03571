#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "basalt/core/config.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::proxy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A temp dir with certs/web.pem and certs/web.key, a self-signed pair.
class OptionsDecodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-proxy-options-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto pem = core::generate_self_signed({.dns_names = {"example.test"}});
    ASSERT_TRUE(pem);
    pem_ = *pem;
    fs::create_directories(dir_ / "certs");
    std::ofstream(dir_ / "certs/web.pem") << pem->certificate;
    std::ofstream(dir_ / "certs/web.key") << pem->private_key;
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProxyOptions decode(std::string_view yaml) {
    return decode_options(core::config::parse_yaml(yaml), dir_.string());
  }
  // The error decoding `yaml` gives, or "" when it decodes.
  std::string error(std::string_view yaml) {
    try {
      decode(yaml);
    } catch (const core::config::Error& e) {
      return e.what();
    }
    return "";
  }
  // A route list with one route whose given parts replace the defaults.
  std::string one_route(std::string_view match, std::string_view action, std::string_view extra = "") {
    return "routes:\n  - {name: r, match: " + std::string(match) + ", action: " + std::string(action) +
           (extra.empty() ? "" : ", " + std::string(extra)) + "}\n";
  }

  fs::path dir_;
  core::PemCertificate pem_;
};

constexpr std::string_view kExample = R"(
stateDir: /var/lib/basalt-proxy
workers: 0
routes:
  - name: web
    priority: 10
    match: {ports: [443, {from: 8000, to: 8010}], domains: ["example.test", "*.example.test"]}
    action:
      type: forward
      targets: [{host: ["127.0.0.1", "::1"], port: 9443}]
      tls: {mode: terminate-and-reencrypt, certificate: {cert: certs/web.pem, key: certs/web.key}}
    security: {ipAllowList: ["127.0.0.0/8", "::1"], ipBlockList: ["127.0.0.66"], maxConnections: 1000}
  - name: db
    match: {ports: 5432, clientIp: ["10.0.0.0/8"]}
    action: {type: forward, targets: [{host: 127.0.0.1, port: 15432}]}
  - name: passthrough
    match: {ports: 443, domains: "pass.example.test"}
    action: {type: forward, targets: [{host: 127.0.0.1, port: 9444}], tls: {mode: passthrough}}
  - name: closed
    match: {ports: 2323}
    action: {type: socket-handler, socketHandler: {type: block}}
defaults: {security: {maxConnections: 10000}}
inactivityTimeout: 14400000
)";

TEST_F(OptionsDecodeTest, DecodesTheExample) {
  auto o = decode(kExample);
  EXPECT_EQ(o.state_dir, "/var/lib/basalt-proxy");
  EXPECT_EQ(o.workers, 0u);
  EXPECT_EQ(o.inactivity_timeout, std::chrono::hours(4));
  EXPECT_EQ(o.connect_timeout, std::chrono::seconds(30));  // the default
  ASSERT_TRUE(o.defaults.security);
  EXPECT_EQ(o.defaults.security->max_connections, 10000u);
  ASSERT_EQ(o.routes.size(), 4u);

  const auto& web = o.routes[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.priority, 10);
  EXPECT_TRUE(web.enabled);
  ASSERT_EQ(web.match.ports.ranges.size(), 2u);
  EXPECT_EQ(web.match.ports.expand().size(), 12u);
  EXPECT_TRUE(web.match.ports.contains(443));
  EXPECT_TRUE(web.match.ports.contains(8010));
  EXPECT_FALSE(web.match.ports.contains(8011));
  EXPECT_EQ(web.match.domains, (std::vector<std::string>{"example.test", "*.example.test"}));
  ASSERT_EQ(web.action.targets.size(), 1u);
  EXPECT_EQ(web.action.targets[0].host, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(web.action.targets[0].port, 9443);
  EXPECT_FALSE(web.action.targets[0].preserve_port);
  ASSERT_TRUE(web.action.tls);
  EXPECT_EQ(web.action.tls->mode, TlsMode::kTerminateAndReencrypt);
  ASSERT_TRUE(web.action.tls->certificate);
  EXPECT_EQ(web.action.tls->certificate->cert,
            (dir_ / "certs/web.pem").string());  // resolved against base_dir
  EXPECT_EQ(web.action.tls->certificate->key, (dir_ / "certs/web.key").string());
  EXPECT_TRUE(web.action.tls->backend.verify);
  ASSERT_TRUE(web.security);
  EXPECT_EQ(web.security->ip_allow_list, (std::vector<std::string>{"127.0.0.0/8", "::1"}));
  EXPECT_EQ(web.security->ip_block_list, (std::vector<std::string>{"127.0.0.66"}));
  EXPECT_EQ(web.security->max_connections, 1000u);

  const auto& db = o.routes[1];
  EXPECT_EQ(db.match.ports.expand(), (std::vector<std::uint16_t>{5432}));
  EXPECT_EQ(db.match.client_ip, (std::vector<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(db.action.targets[0].host, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_FALSE(db.action.tls);
  EXPECT_FALSE(db.security);

  EXPECT_EQ(o.routes[2].match.domains, (std::vector<std::string>{"pass.example.test"}));
  EXPECT_EQ(o.routes[2].action.tls->mode, TlsMode::kPassthrough);

  const auto& closed = o.routes[3];
  EXPECT_EQ(closed.action.type, ActionType::kSocketHandler);
  ASSERT_TRUE(closed.action.socket_handler);
  EXPECT_EQ(closed.action.socket_handler->type, SocketHandlerType::kBlock);

  EXPECT_EQ(route_id(web, 0), "web");
  RouteConfig unnamed;
  EXPECT_EQ(route_id(unnamed, 3), "#3");
}

TEST_F(OptionsDecodeTest, DecodesHostSettingsAndShapes) {
  auto o = decode(R"(
routes:
  - match: {ports: 80, domains: ["Example.TEST."]}
    action: {type: forward, targets: [{host: backend.internal, port: preserve}], tls: {mode: passthrough}}
  - match: {ports: 81, tlsVersion: [TLSv1.3], protocol: tcp, transport: tcp}
    enabled: false
    action: {type: socket-handler, socketHandler: {type: echo}, forwardingEngine: node, sendProxyProtocol: false}
connectTimeout: 5s
initialDataTimeout: 1500
maxConnectionsPerIP: 100
connectionRateLimitPerMinute: 600
bindAddresses: ["127.0.0.1", "::1"]
dns: {servers: ["127.0.0.1", "[::1]:5353"]}
metrics: {listen: "127.0.0.1:9100"}
log: {level: debug}
acceptProxyProtocol: false
proxyIPs: []
)");
  ASSERT_EQ(o.routes.size(), 2u);
  EXPECT_EQ(o.routes[0].match.domains, (std::vector<std::string>{"example.test"}));
  EXPECT_TRUE(o.routes[0].action.targets[0].preserve_port);
  EXPECT_EQ(o.routes[1].match.tls_version, (std::vector<std::string>{"TLSv1.3"}));
  EXPECT_EQ(o.routes[1].match.protocol, AppProtocol::kTcp);
  EXPECT_FALSE(o.routes[1].enabled);
  EXPECT_EQ(o.routes[1].action.socket_handler->type, SocketHandlerType::kEcho);
  EXPECT_EQ(o.connect_timeout, std::chrono::seconds(5));
  EXPECT_EQ(o.initial_data_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.max_connections_per_ip, 100u);
  EXPECT_EQ(o.connection_rate_limit_per_minute, 600u);
  ASSERT_EQ(o.bind_addresses.size(), 2u);
  EXPECT_EQ(o.bind_addresses[1], core::IpAddress::v6_loopback());
  EXPECT_EQ(o.dns.servers, (std::vector<std::string>{"127.0.0.1", "[::1]:5353"}));
  ASSERT_TRUE(o.metrics_listen);
  EXPECT_EQ(o.metrics_listen->to_string(), "127.0.0.1:9100");
  EXPECT_EQ(o.log_level, core::LogLevel::debug);
}

TEST_F(OptionsDecodeTest, TakeoverSocketAndDrainTimeout) {
  auto defaults = decode("routes: []\n");
  EXPECT_EQ(defaults.drain_timeout, std::chrono::minutes(15));
  EXPECT_EQ(defaults.takeover_socket, "") << "the daemon fills in <stateDir>/takeover.sock";
  auto o = decode("drainTimeout: 3000\ntakeoverSocket: run/takeover.sock\nroutes: []\n");
  EXPECT_EQ(o.drain_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o.takeover_socket, (dir_ / "run/takeover.sock").string()) << "relative to the file's folder";
  EXPECT_EQ(decode("drainTimeout: 2m\ntakeoverSocket: /run/b.sock\n").takeover_socket, "/run/b.sock");
  EXPECT_EQ(decode("drainTimeout: 2m\n").drain_timeout, std::chrono::minutes(2));
  EXPECT_THAT(error("drainTimeout: 0\n"), HasSubstr("drainTimeout: 0 is not a timeout"));
  EXPECT_THAT(error("drainTimeout: 31536000001\n"), HasSubstr("drainTimeout"));
  EXPECT_THAT(error("takeoverSocket: \"\"\n"), HasSubstr("takeoverSocket"));
  EXPECT_THAT(error("takeoverSocket: [a]\n"), HasSubstr("takeoverSocket"));
  EXPECT_THAT(error("takeoverSocket: /" + std::string(120, 'x') + "\n"),
              HasSubstr("longer than a Unix socket path"));
}

TEST_F(OptionsDecodeTest, InlinePemCertificates) {
  boost::json::value v = core::config::parse_yaml(R"(
routes:
  - match: {ports: 443}
    action: {type: forward, targets: [{host: 127.0.0.1, port: 8443}], tls: {mode: terminate}}
)");
  auto& tls = v.at("routes").at(0).at("action").at("tls").as_object();
  tls["certificate"] = {{"cert", pem_.certificate}, {"key", pem_.private_key}};
  auto o = decode_options(v);
  EXPECT_EQ(o.routes[0].action.tls->certificate->cert, pem_.certificate);

  tls["certificate"] = {{"cert", pem_.certificate},
                        {"key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}};
  try {
    decode_options(v);
    FAIL() << "a broken key decoded";
  } catch (const core::config::Error& e) {
    EXPECT_EQ(e.path(), "routes[0].action.tls.certificate");
    EXPECT_THAT(e.message(), HasSubstr("private key"));
  }
}

TEST_F(OptionsDecodeTest, DecodeRoutesUsesTheRootPath) {
  auto routes = decode_routes(
      core::config::parse_yaml(
          R"([{match: {ports: 22}, action: {type: socket-handler, socketHandler: {type: block}}}])"),
      "params.routes");
  EXPECT_EQ(routes.size(), 1u);
  try {
    decode_routes(core::config::parse_yaml("[{match: {ports: 0}, action: {type: forward}}]"),
                  "params.routes");
    FAIL();
  } catch (const core::config::Error& e) {
    EXPECT_STREQ(e.what(), "params.routes[0].match.ports: 0 is not a port (1-65535)");
  }
}

TEST_F(OptionsDecodeTest, PortErrors) {
  EXPECT_EQ(error(R"(
routes:
  - {match: {ports: 1}, action: {type: socket-handler, socketHandler: {type: block}}}
  - {match: {ports: 2}, action: {type: socket-handler, socketHandler: {type: block}}}
  - {match: {ports: [80, {from: 8000, to: 70000}]}, action: {type: socket-handler, socketHandler: {type: block}}}
)"),
            "routes[2].match.ports[1].to: 70000 is not a port (1-65535)");
  const std::string block = "{type: socket-handler, socketHandler: {type: block}}";
  EXPECT_EQ(error(one_route("{ports: [{from: 9000, to: 8000}]}", block)),
            "routes[0].match.ports[0]: from 9000 is greater than to 8000");
  EXPECT_EQ(error(one_route("{domains: x.test}", block)), "routes[0].match.ports: is required");
  EXPECT_EQ(error(one_route("{ports: []}", block)), "routes[0].match.ports: needs at least one port");
  EXPECT_EQ(error(one_route("{ports: \"443\"}", block)),
            "routes[0].match.ports: \"443\" is not a port (1-65535)");
  EXPECT_THAT(error(one_route("{ports: [{from: 1}]}", block)),
              HasSubstr("routes[0].match.ports[0].to: is required"));
}

TEST_F(OptionsDecodeTest, UnsupportedFieldsAreNamed) {
  const std::string fwd = "{type: forward, targets: [{host: 127.0.0.1, port: 80}]}";
  EXPECT_EQ(error(one_route("{ports: 80, transport: sctp}", fwd)),
            "routes[0].match.transport: \"sctp\" is not one of: tcp, udp, all");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {one_route("{ports: 80, protocol: quic}", fwd), "routes[0].match.protocol: "},
      {one_route("{ports: 80}",
                 "{type: forward, targets: [{host: 192.0.2.1, port: 1}], forwardingEngine: nftables, "
                 "nftables: {maxRetries: 3}}"),
       "routes[0].action.nftables.maxRetries: "},
      {one_route("{ports: 80}",
                 "{type: forward, targets: [{host: 192.0.2.1, port: 1}], forwardingEngine: nftables, "
                 "nftables: {qos: {enabled: true, maxRate: 10mbps}}}"),
       "routes[0].action.nftables.qos.enabled: "},
      {one_route("{ports: 80}",
                 "{type: forward, targets: [{host: 192.0.2.1, port: 1}], forwardingEngine: nftables, "
                 "nftables: {logFormat: json}}"),
       "routes[0].action.nftables.logFormat: "},
      {one_route("{ports: 80}",
                 "{type: forward, targets: [{host: a, port: 1}], options: {backendProtocol: http3}}"),
       "routes[0].action.options.backendProtocol: "},
      {one_route("{ports: 80}", "{type: forward, targets: [{host: a, port: 1, match: {path: /x}}]}"),
       "routes[0].action.targets[0].match: "},
      {one_route("{ports: 80}",
                 "{type: forward, targets: [{host: a, port: 1}], websocket: {maxPayloadSize: 9}}"),
       "routes[0].action.websocket.maxPayloadSize: "},
      {"defaults: {target: {host: a, port: 1}}\n", "defaults.target: "},
  };
  for (const auto& [yaml, path] : cases) {
    const std::string e = error(yaml);
    EXPECT_TRUE(e.starts_with(path)) << yaml << " -> " << e;
    EXPECT_TRUE(e.ends_with("is not supported yet")) << yaml << " -> " << e;
  }
}

TEST_F(OptionsDecodeTest, ProxyProtocolKeys) {
  auto o = decode(R"yaml(
acceptProxyProtocol: true
proxyIPs: [10.0.0.0/8, "::1"]
sendProxyProtocol: true
proxyProtocolVersion: 1
routes:
  - name: tcp
    match: {ports: 5432}
    action: {type: forward, targets: [{host: a, port: 1}]}
  - name: pass
    match: {ports: 443, domains: a.test}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}, proxyProtocolVersion: 2}
  - name: web
    match: {ports: 80, domains: a.test}
    action: {type: forward, targets: [{host: a, port: 1}], sendProxyProtocol: false}
  - name: echo
    match: {ports: 7}
    action: {type: socket-handler, socketHandler: {type: echo}}
)yaml");
  EXPECT_TRUE(o.accept_proxy_protocol);
  EXPECT_TRUE(o.send_proxy_protocol);
  EXPECT_EQ(o.proxy_protocol_version, 1);
  EXPECT_FALSE(o.routes[0].action.send_proxy_protocol);  // as written: unset
  EXPECT_EQ(o.routes[1].action.proxy_protocol_version, 2);
  // What connections use: the options fill what a route leaves out, for
  // the routes it can apply to.
  auto routes = resolve_proxy_protocol(o.routes, o);
  EXPECT_EQ(routes[0].action.send_proxy_protocol, true);
  EXPECT_EQ(routes[0].action.proxy_protocol_version, 1);
  EXPECT_EQ(routes[1].action.send_proxy_protocol, true);
  EXPECT_EQ(routes[1].action.proxy_protocol_version, 2);
  EXPECT_EQ(routes[2].action.send_proxy_protocol, false);
  EXPECT_EQ(routes[3].action.send_proxy_protocol, false);  // a socket handler has no backend

  // Defaults: off, version 2.
  auto plain = decode(one_route("{ports: 80}", "{type: forward, targets: [{host: a, port: 1}]}"));
  EXPECT_FALSE(plain.accept_proxy_protocol);
  EXPECT_FALSE(plain.send_proxy_protocol);
  EXPECT_EQ(plain.proxy_protocol_version, 2);
  EXPECT_EQ(resolve_proxy_protocol(plain.routes, plain)[0].action.proxy_protocol_version, 2);

  const std::string fwd = "{type: forward, targets: [{host: a, port: 1}]";
  EXPECT_EQ(
      error("acceptProxyProtocol: true\n"),
      "acceptProxyProtocol: needs proxyIPs: the addresses of the proxies in front, the only peers whose "
      "PROXY headers are accepted");
  EXPECT_EQ(error("acceptProxyProtocol: yes\n"),
            "acceptProxyProtocol: \"yes\" is not a boolean (true or false)");
  EXPECT_EQ(error("proxyProtocolVersion: 3\n"),
            "proxyProtocolVersion: 3 is not a PROXY protocol version (1: text, 2: binary)");
  EXPECT_EQ(
      error(one_route("{ports: 80}", fwd + ", proxyProtocolVersion: \"2\"}")),
      "routes[0].action.proxyProtocolVersion: \"2\" is not a PROXY protocol version (1: text, 2: binary)");
  EXPECT_EQ(error(one_route("{ports: 80}",
                            "{type: socket-handler, socketHandler: {type: echo}, "
                            "sendProxyProtocol: true}")),
            "routes[0].action.sendProxyProtocol: applies only to forward routes (a socket handler has no "
            "backend)");
  EXPECT_THAT(
      error(one_route("{ports: 80, path: /api/*}", fwd + ", sendProxyProtocol: true}")),
      HasSubstr("routes[0].action.sendProxyProtocol: cannot apply to an HTTP route (match.path makes it "
                "one): its requests go to the backend over pooled connections"));
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp}", fwd + ", sendProxyProtocol: true}")),
              HasSubstr("routes[0].action.sendProxyProtocol: applies only to TCP routes (match.transport is "
                        "udp)"));
  EXPECT_THAT(error(one_route("{ports: 53, transport: all}", fwd + ", sendProxyProtocol: true}")),
              HasSubstr("(match.transport is all)"));
  // The options' value meets an HTTP route that does not say false.
  EXPECT_THAT(error("sendProxyProtocol: true\n" + one_route("{ports: 80, domains: a.test}", fwd + "}")),
              HasSubstr("routes[0].action: sendProxyProtocol: true (options) cannot apply to an HTTP route "
                        "(match.domains makes it one)"));
  EXPECT_THAT(error("sendProxyProtocol: true\n" + one_route("{ports: 80, domains: a.test}", fwd + "}")),
              HasSubstr("(set action.sendProxyProtocol: false on route r)"));
}

TEST_F(OptionsDecodeTest, UdpRoutes) {
  auto o = decode(R"yaml(
routes:
  - name: dns
    match: {ports: 5353, transport: udp, clientIp: [127.0.0.0/8]}
    action:
      type: forward
      targets: [{host: 127.0.0.1, port: 53}]
      udp: {sessionTimeout: 5000, maxSessionsPerIP: 10, maxDatagramSize: 1232}
  - name: both
    match: {ports: 7000, transport: all}
    action: {type: socket-handler, socketHandler: {type: echo}}
)yaml");
  ASSERT_EQ(o.routes.size(), 2u);
  EXPECT_EQ(o.routes[0].match.transport, Transport::kUdp);
  EXPECT_EQ(o.routes[0].action.udp.session_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(o.routes[0].action.udp.max_sessions_per_ip, 10u);
  EXPECT_EQ(o.routes[0].action.udp.max_datagram_size, 1232u);
  EXPECT_EQ(o.routes[1].match.transport, Transport::kAll);
  EXPECT_EQ(o.routes[1].action.udp.session_timeout, std::chrono::milliseconds(60'000));
  EXPECT_EQ(o.routes[1].action.udp.max_sessions_per_ip, 1000u);
  EXPECT_EQ(o.routes[1].action.udp.max_datagram_size, 65535u);

  const std::string fwd = "{type: forward, targets: [{host: 127.0.0.1, port: 53}]}";
  EXPECT_EQ(error(one_route("{ports: 53, transport: udp, domains: a.test}", fwd)),
            "routes[0].match.domains: does not apply to UDP (match.transport is udp): a datagram carries no "
            "domain; match on ports and clientIp");
  EXPECT_EQ(error(one_route("{ports: 53, transport: all, path: /x}", fwd)),
            "routes[0].match.path: does not apply to UDP (match.transport is all): datagrams carry no HTTP "
            "request");
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp, tlsVersion: [TLSv1.3]}", fwd)),
              HasSubstr("routes[0].match.tlsVersion: does not apply to UDP"));
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp}",
                              "{type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}")),
              HasSubstr("routes[0].action.tls: does not apply to UDP"));
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp}",
                              "{type: socket-handler, socketHandler: {type: httpBlock}}")),
              HasSubstr("routes[0].action.socketHandler: does not apply to UDP"));
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp}",
                              "{type: forward, targets: [{host: a, port: 1}], loadBalancing: {healthCheck: "
                              "{path: /}}}")),
              HasSubstr("routes[0].action.loadBalancing.healthCheck: does not apply to UDP"));
  EXPECT_EQ(error(one_route("{ports: 53}", "{type: forward, targets: [{host: a, port: 1}], udp: {}}")),
            "routes[0].action.udp: applies only to routes with match.transport udp or all");
  EXPECT_EQ(error(one_route("{ports: 53, transport: udp}",
                            "{type: forward, targets: [{host: a, port: 1}], udp: {maxDatagramSize: 70000}}")),
            "routes[0].action.udp.maxDatagramSize: 70000 is not a datagram size in bytes (1-65535)");
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp}",
                              "{type: forward, targets: [{host: a, port: 1}], udp: {sessionTimeout: 0}}")),
              HasSubstr("routes[0].action.udp.sessionTimeout: 0 is not a timeout"));
  EXPECT_THAT(error(one_route("{ports: 53, transport: udp}",
                              "{type: forward, targets: [{host: a, port: 1}], udp: {idle: 1}}")),
              HasSubstr("routes[0].action.udp.idle: unknown key"));
}

TEST_F(OptionsDecodeTest, KernelForwardedRoutes) {
  auto o = decode(R"yaml(
routes:
  - name: kernel
    match: {ports: [8080, {from: 9000, to: 9001}]}
    action:
      type: forward
      forwardingEngine: nftables
      targets: [{host: 198.51.100.2, port: 80}]
      nftables: {protocol: all, preserveSourceIP: true, enableLogging: true, tableName: edge_1,
                 ipAllowList: [192.0.2.0/24, "2001:db8::1"], useIPSets: false, forceCleanSlate: true,
                 useAdvancedNAT: true, deleteOnExit: true, logFormat: plain, qos: {enabled: false}}
  - name: mapped
    match: {ports: {from: 7000, to: 7002}}
    action: {type: forward, forwardingEngine: nftables, nftables: {toHost: "2001:db8::2", toPort: {from: 80, to: 82}, ipv6Support: true}}
  - name: same-port
    match: {ports: 6000}
    action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.3, port: preserve}]}
)yaml");
  ASSERT_EQ(o.routes.size(), 3u);
  const auto& k = *o.routes[0].action.nftables;
  EXPECT_EQ(k.to_host, "198.51.100.2");
  ASSERT_EQ(k.to_port.size(), 1u);
  EXPECT_EQ(k.to_port[0].from, 80);
  EXPECT_EQ(k.protocol, Transport::kAll);
  EXPECT_TRUE(k.preserve_source_ip);
  EXPECT_TRUE(k.enable_logging);
  EXPECT_EQ(k.table_name, "edge_1");
  EXPECT_EQ(k.ip_allow_list->size(), 2u);
  EXPECT_FALSE(k.ip_block_list);
  EXPECT_TRUE(o.routes[0].action.targets.empty());  // moved into toHost / toPort
  const auto& m = *o.routes[1].action.nftables;
  EXPECT_EQ(m.to_host, "2001:db8::2");
  EXPECT_EQ(m.to_port[0].to, 82);
  EXPECT_EQ(m.table_name, "basalt_proxy");
  EXPECT_TRUE(o.routes[2].action.nftables->to_port.empty());  // preserve: the same port
  EXPECT_FALSE(o.routes[2].action.nftables->preserve_source_ip);

  const std::string ok =
      "{type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}]";
  const std::string why = "does not apply with forwardingEngine: nftables";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {one_route("{ports: 80}", "{type: forward, targets: [{host: 192.0.2.1, port: 1}], nftables: {}}"),
       "routes[0].action.nftables: applies only with forwardingEngine: nftables"},
      {one_route("{ports: 80}",
                 "{type: forward, forwardingEngine: nftables, targets: [{host: backend.test, port: 1}]}"),
       "routes[0].action.targets: \"backend.test\" is not an IP address (the kernel does not resolve names)"},
      {one_route(
           "{ports: 80}",
           "{type: forward, forwardingEngine: nftables, targets: [{host: [192.0.2.1, 192.0.2.2], port: 1}]}"),
       "routes[0].action.targets: a kernel-forwarded route has one destination: one target with one host (or "
       "nftables.toHost)"},
      {one_route("{ports: 80}",
                 "{type: forward, forwardingEngine: nftables, targets: [{host: 192.0.2.1, port: 1}], "
                 "nftables: {toHost: 192.0.2.2}}"),
       "routes[0].action.targets: give nftables.toHost or targets, not both"},
      {one_route("{ports: 80}", "{type: forward, forwardingEngine: nftables, nftables: {toHost: localhost}}"),
       "routes[0].action.nftables.toHost: \"localhost\" is not an IP address (the kernel does not resolve "
       "names)"},
      {one_route("{ports: 80}", ok + ", nftables: {fromPort: 80}}"),
       "routes[0].action.nftables.fromPort: 80 is not taken here: the route's match.ports are the ports it "
       "forwards"},
      {one_route("{ports: 80}", ok + ", nftables: {deleteOnExit: false}}"),
       "routes[0].action.nftables.deleteOnExit: false is not supported: basalt-proxy always removes its "
       "tables when it stops"},
      {one_route("{ports: 80}", ok + ", nftables: {tableName: \"my table\"}}"),
       "routes[0].action.nftables.tableName: \"my table\" is not a table name: a letter, then letters, "
       "digits "
       "or '_' (at most 64)"},
      {one_route("{ports: 80}", ok + ", nftables: {ipBlockList: [\"10.*\"]}}"),
       "routes[0].action.nftables.ipBlockList[0]: \"10.*\" is not an IP address or a CIDR (kernel forwarding "
       "takes no globs or ranges)"},
      {one_route("{ports: 80}", ok + ", tls: {mode: passthrough}}"), "routes[0].action.tls: " + why},
      {one_route("{ports: 80}", ok + ", loadBalancing: {algorithm: round-robin}}"),
       "routes[0].action.loadBalancing: " + why},
      {one_route("{ports: 80, domains: a.test}", ok + "}"), "routes[0].match.domains: " + why},
      {one_route("{ports: 80}",
                 "{type: socket-handler, forwardingEngine: nftables, socketHandler: {type: echo}}"),
       "routes[0].action.socketHandler: " + why},
  };
  for (const auto& [yaml, expected] : refused) {
    const std::string e = error(yaml);
    EXPECT_TRUE(e.starts_with(expected)) << yaml << " -> " << e;
  }
  EXPECT_THAT(
      error("routes:\n  - {match: {ports: 80}, action: " + ok + "}, security: {maxConnections: 5}}\n"),
      HasSubstr("routes[0].security.maxConnections: " + why));
  EXPECT_THAT(error("routes:\n  - {match: {ports: 80}, action: " + ok +
                    "}, security: {ipAllowList: [\"192.168.*\"]}}\n"),
              HasSubstr("routes[0].security.ipAllowList[0]: \"192.168.*\" is not an IP address or a CIDR"));
}

TEST_F(OptionsDecodeTest, HttpRouteFields) {
  auto o = decode(R"yaml(
proxyIPs: [10.0.0.0/8]
http: {forwarded: true, via: true, accessLog: true, backendTimeout: 5000}
routes:
  - name: api
    match: {ports: 8080, domains: api.test, path: /v1/*, headers: {x-env: /^prod/}}
    action:
      type: forward
      targets: [{host: [127.0.0.1, 127.0.0.2], port: 9000, weight: 3}]
      loadBalancing:
        algorithm: ip-hash
        healthCheck: {path: /health, interval: 2000, timeout: 500, unhealthyThreshold: 2, healthyThreshold: 1}
        passiveHealthCheck: {consecutiveFailures: 3, baseEjectionTime: 1000, maxEjectionTime: 8000}
      options: {backendProtocol: http2}
      websocket: {enabled: false}
      advanced: {urlRewrite: {pattern: "^/v1/(.*)", target: "/$1"}}
    headers: {request: {x-route: "{routeName}", cookie: null}, response: {server: null}}
    security:
      rateLimit: {maxRequests: 10, window: 60, keyBy: header, headerName: x-api-key}
      basicAuth: {users: [{username: u, password: p}], realm: api, excludePaths: [/v1/public/*]}
  - name: moved
    match: {ports: 8080}
    action: {type: socket-handler, socketHandler: {type: httpRedirect, location: "https://{domain}{path}"}}
)yaml");
  ASSERT_EQ(o.routes.size(), 2u);
  EXPECT_EQ(o.proxy_ips, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_TRUE(o.http.forwarded && o.http.via && o.http.access_log && o.http.forwarded_headers);
  EXPECT_EQ(o.http.backend_timeout, std::chrono::milliseconds(5000));
  const auto& api = o.routes[0];
  EXPECT_TRUE(is_http_route(api));
  EXPECT_EQ(api.match.path, "/v1/*");
  EXPECT_EQ(api.match.headers.at("x-env"), "/^prod/");
  EXPECT_EQ(api.action.targets[0].weight, 3u);
  ASSERT_TRUE(api.action.load_balancing);
  EXPECT_EQ(api.action.load_balancing->algorithm, BalanceAlgorithm::kIpHash);
  EXPECT_EQ(api.action.load_balancing->health_check->path, "/health");
  EXPECT_EQ(api.action.load_balancing->health_check->unhealthy_threshold, 2u);
  EXPECT_EQ(api.action.load_balancing->passive.consecutive_failures, 3u);
  EXPECT_EQ(api.action.backend_protocol, BackendProtocol::kHttp2);
  EXPECT_FALSE(api.action.websocket.enabled);
  EXPECT_EQ(api.action.url_rewrite->target, "/$1");
  ASSERT_EQ(api.request_headers.size(), 2u);
  EXPECT_EQ(api.request_headers[0].second, "{routeName}");
  EXPECT_FALSE(api.request_headers[1].second.has_value());
  EXPECT_EQ(api.security->rate_limit->key_by, RateLimitKey::kHeader);
  EXPECT_EQ(api.security->rate_limit->window, std::chrono::seconds(60));
  EXPECT_EQ(api.security->basic_auth->realm, "api");
  const auto& moved = o.routes[1];
  EXPECT_EQ(moved.action.socket_handler->type, SocketHandlerType::kHttpRedirect);
  EXPECT_EQ(moved.action.socket_handler->status, 301);
  EXPECT_TRUE(is_http_route(moved));
}

TEST_F(OptionsDecodeTest, HttpRouteErrorsNameThePath) {
  const std::string fwd = "{type: forward, targets: [{host: a, port: 1}]}";
  const std::string pass = "{type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}";
  EXPECT_EQ(
      error(one_route("{ports: 443, path: /x}", pass)),
      "routes[0].match.path: needs HTTP, which a passthrough route never sees (basalt does not end its TLS)");
  EXPECT_EQ(error(one_route("{ports: 80, protocol: tcp, path: /x}", fwd)),
            "routes[0].match.path: needs HTTP, but match.protocol is tcp");
  EXPECT_EQ(
      error(one_route("{ports: 80, path: api}", fwd)),
      "routes[0].match.path: \"api\" is not a path pattern (it starts with '/' or '*', e.g. \"/api/*\")");
  EXPECT_THAT(error(one_route("{ports: 80, headers: {x: \"/(/\"}}", fwd)),
              HasSubstr("routes[0].match.headers.x: \"/(/\" is not a regular expression"));
  EXPECT_EQ(
      error(one_route("{ports: 80, domains: a.test}", "{type: socket-handler, socketHandler: {type: echo}}")),
      "routes[0].action.socketHandler.type: is a connection handler, but match.domains makes this an HTTP "
      "route (use httpBlock, httpStatic or httpRedirect)");
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: socket-handler, socketHandler: {type: httpRedirect}}")),
            "routes[0].action.socketHandler.location: is required");
  EXPECT_EQ(error(one_route("{ports: 80}",
                            "{type: socket-handler, socketHandler: {type: httpBlock, status: 200}}")),
            "routes[0].action.socketHandler.status: 200 is not an HTTP status from 400 to 599");
  EXPECT_EQ(error(one_route("{ports: 80}", fwd,
                            "security: {rateLimit: {maxRequests: 1, window: 1, keyBy: header}}")),
            "routes[0].security.rateLimit.headerName: is required with keyBy: header");
  EXPECT_EQ(error(one_route("{ports: 80}", fwd, "security: {basicAuth: {users: []}}")),
            "routes[0].security.basicAuth.users: needs at least one user");
  EXPECT_EQ(
      error(one_route("{ports: 80}",
                      "{type: forward, targets: [{host: a, port: 1}], loadBalancing: {algorithm: random}}")),
      "routes[0].action.loadBalancing.algorithm: \"random\" is not one of: round-robin, least-connections, "
      "ip-hash");
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: forward, targets: [{host: a, port: 1, weight: 0}]}")),
            "routes[0].action.targets[0].weight: 0 is not a weight (1-1000)");
  EXPECT_EQ(
      error(one_route("{ports: 80}", fwd, "headers: {request: {\"bad name\": x}}")),
      "routes[0].headers.request.bad name: \"x\" is not a header field name (RFC 9110 token characters)");
  EXPECT_EQ(error("proxyIPs: [not-an-ip]\n").substr(0, 12), "proxyIPs[0]:");
}

TEST_F(OptionsDecodeTest, AutoCertificates) {
  auto o = decode(R"yaml(
acme:
  accountEmail: ops@example.test
  directory: https://127.0.0.1:14000/dir
  directoryCa: certs/web.pem
  port: 8080
  renewThresholdDays: 20
  autoRenew: false
  certificateStore: store
  renewCheckIntervalHours: 6
  challengeTypes: [tls-alpn-01]
  dns01: {managementSocket: dns.sock}
  certProvision: driver
routes:
  - match: {ports: 443, domains: [a.example.test, "*.b.example.test"]}
    action: {type: socket-handler, socketHandler: {type: httpStatic, body: hi}, tls: {mode: terminate, certificate: auto}}
)yaml");
  ASSERT_TRUE(o.acme);
  EXPECT_EQ(o.acme->email, "ops@example.test");
  EXPECT_EQ(o.acme->directory_url(), "https://127.0.0.1:14000/dir");
  EXPECT_EQ(o.acme->directory_ca, (dir_ / "certs/web.pem").string());
  EXPECT_EQ(o.acme->port, 8080);
  EXPECT_EQ(o.acme->renew_threshold_days, 20u);
  EXPECT_FALSE(o.acme->auto_renew);
  EXPECT_EQ(o.acme->certificate_store, (dir_ / "store").string());
  EXPECT_EQ(o.acme->renew_check_interval_hours, 6u);
  EXPECT_EQ(o.acme->challenge_types, std::vector<std::string>{"tls-alpn-01"});
  EXPECT_EQ(o.acme->dns01_management_socket, (dir_ / "dns.sock").string());
  EXPECT_EQ(o.acme->cert_provision, CertProvision::kDriver);
  EXPECT_TRUE(o.routes[0].action.tls->auto_certificate);
  EXPECT_FALSE(o.routes[0].action.tls->certificate);

  // The package's defaults: Let's Encrypt staging unless useProduction.
  EXPECT_EQ(decode("acme: {email: a@b.test}\n").acme->directory_url(),
            "https://acme-staging-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(decode("acme: {useProduction: true}\n").acme->directory_url(),
            "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(decode("acme: {}\n").acme->challenge_types, (std::vector<std::string>{"http-01", "tls-alpn-01"}));
}

TEST_F(OptionsDecodeTest, AutoCertificateErrors) {
  const std::string handler = "type: socket-handler, socketHandler: {type: httpStatic}, ";
  auto route = [&](std::string_view domains) {
    return "routes:\n  - {name: site, match: {ports: 443" + std::string(domains) + "}, action: {" + handler +
           "tls: {mode: terminate, certificate: auto}}}\n";
  };
  EXPECT_EQ(
      error(route("")),
      "routes[0].action.tls.certificate: auto needs match.domains on route \"site\": the names to order a "
      "certificate for");
  EXPECT_THAT(
      error(route(", domains: [\"a*.example.test\"]")),
      HasSubstr("routes[0].action.tls.certificate: auto cannot order a certificate for \"a*.example.test\" "
                "on route \"site\""));
  EXPECT_THAT(error(route(", domains: [\"*.*.example.test\"]")), HasSubstr("on route \"site\""));
  EXPECT_THAT(error(route(", domains: [192.0.2.1]")), HasSubstr("\"192.0.2.1\""));
  EXPECT_THAT(error(route(", domains: [localhost]")), HasSubstr("\"localhost\""));
  EXPECT_EQ(error("acme: {}\n" + route(", domains: [a.example.test]")), "");
  // Across the acme section: it must exist, wildcards need dns-01, and the
  // HTTP-01 port is read as HTTP.
  EXPECT_EQ(error(route(", domains: [a.example.test]")),
            "routes[0].action.tls.certificate: auto (route site) needs the acme section (acme: {email, ...}: "
            "the CA "
            "and its account)");
  EXPECT_THAT(error("acme: {}\n" + route(", domains: [\"*.w.example.test\"]")),
              HasSubstr("routes[0].action.tls.certificate: auto for \"*.w.example.test\" (route site): a CA "
                        "validates wildcard names only through dns-01"));
  EXPECT_EQ(error("acme: {dns01: {managementSocket: d.sock}}\n" + route(", domains: [\"*.w.example.test\"]")),
            "");
  const std::string tcp_on_80 =
      "  - {name: raw, match: {ports: 80}, action: {type: forward, targets: [{host: a, port: 1}]}}\n";
  EXPECT_EQ(error("acme: {}\n" + route(", domains: [a.example.test]") + tcp_on_80),
            "routes[1].match.ports: route raw carries TCP on port 80, which is acme.port: the HTTP-01 port "
            "must carry "
            "HTTP routes or none (set acme.port to another port)");
  EXPECT_EQ(error("acme: {port: 8080}\n" + route(", domains: [a.example.test]") + tcp_on_80), "");

  EXPECT_EQ(error("acme: {email: nobody}\n"), "acme.email: \"nobody\" is not an email address");
  EXPECT_EQ(error("acme: {directory: http://ca.test/dir}\n"),
            "acme.directory: \"http://ca.test/dir\" is not an https:// URL of an ACME directory");
  EXPECT_THAT(error("acme: {directoryCa: missing.pem}\n"), HasSubstr("acme.directoryCa: cannot read"));
  EXPECT_EQ(error("acme: {port: 0}\n"), "acme.port: 0 is not a port (1-65535)");
  EXPECT_EQ(error("acme: {renewThresholdDays: 0}\n"),
            "acme.renewThresholdDays: 0 is not a number of days (1-365)");
  EXPECT_EQ(error("acme: {challengeTypes: [dns-01]}\n"),
            "acme.challengeTypes[0]: \"dns-01\" is not one of: http-01, tls-alpn-01");
  EXPECT_EQ(error("acme: {challengeTypes: []}\n"),
            "acme.challengeTypes: needs at least one of: http-01, tls-alpn-01");
  EXPECT_EQ(error("acme: {dns01: {}}\n"), "acme.dns01.managementSocket: is required");
  EXPECT_EQ(error("acme: {certProvision: maybe}\n"),
            "acme.certProvision: \"maybe\" is not one of: acme, driver");
  EXPECT_THAT(error("acme: {mail: a@b.test}\n"), HasSubstr("acme"));
}

TEST_F(OptionsDecodeTest, CertificateErrors) {
  EXPECT_THAT(error(one_route("{ports: 443}",
                              "{type: forward, targets: [{host: a, port: 1}], tls: {mode: terminate}}")),
              HasSubstr("routes[0].action.tls.certificate: is required for mode terminate"));
  EXPECT_THAT(error(one_route(
                  "{ports: 443}",
                  "{type: forward, targets: [{host: a, port: 1}], tls: {mode: terminate-and-reencrypt}}")),
              HasSubstr("routes[0].action.tls.certificate: is required for mode terminate-and-reencrypt"));
  EXPECT_THAT(error(one_route("{ports: 443}",
                              "{type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough, "
                              "certificate: {cert: certs/web.pem, key: certs/web.key}}}")),
              HasSubstr("routes[0].action.tls.certificate: a passthrough route takes no certificate"));
  const std::string missing = error(
      one_route("{ports: 443}",
                "{type: forward, targets: [{host: a, port: 1}], tls: {mode: terminate, certificate: {cert: "
                "certs/none.pem, key: certs/web.key}}}"));
  EXPECT_THAT(missing, HasSubstr("routes[0].action.tls.certificate: "));
  EXPECT_THAT(missing, HasSubstr("none.pem"));
  // The key of another pair.
  auto other = core::generate_self_signed({.dns_names = {"other.test"}});
  std::ofstream(dir_ / "certs/other.key") << other->private_key;
  EXPECT_THAT(error(one_route("{ports: 443}",
                              "{type: forward, targets: [{host: a, port: 1}], tls: {mode: terminate, "
                              "certificate: {cert: certs/web.pem, key: certs/other.key}}}")),
              HasSubstr("routes[0].action.tls.certificate: private key does not match the certificate"));
}

TEST_F(OptionsDecodeTest, TlsPolicyErrors) {
  const std::string cert = "certificate: {cert: certs/web.pem, key: certs/web.key}";
  auto tls = [&](std::string rest) {
    return one_route("{ports: 443}", "{type: forward, targets: [{host: a, port: 1}], tls: {" + rest + "}}");
  };
  EXPECT_EQ(error(tls("mode: terminate, " + cert + ", ciphers: \"NOT-A-CIPHER\"")),
            "routes[0].action.tls.ciphers: \"NOT-A-CIPHER\" is not a cipher list OpenSSL accepts (TLS 1.2 "
            "cipher names, "
            "e.g. ECDHE+AESGCM:!aNULL)");
  EXPECT_EQ(error(tls("mode: terminate, " + cert + ", ciphers: \"ECDHE+AESGCM\"")), "");
  EXPECT_EQ(error(tls("mode: terminate, " + cert + ", versions: [TLSv1.1]")),
            "routes[0].action.tls.versions[0]: \"TLSv1.1\" is not one of: TLSv1.2, TLSv1.3");
  EXPECT_EQ(error(tls("mode: terminate, " + cert + ", versions: []")),
            "routes[0].action.tls.versions: needs at least one of: TLSv1.2, TLSv1.3");
  EXPECT_EQ(error(tls("mode: terminate, " + cert + ", backend: {verify: false}")),
            "routes[0].action.tls.backend: applies only to mode terminate-and-reencrypt");
  EXPECT_EQ(
      error(tls("mode: terminate-and-reencrypt, " + cert + ", backend: {verify: false, serverName: b.test}")),
      "");
  EXPECT_THAT(error(tls("mode: terminate-and-reencrypt, " + cert + ", backend: {ca: certs/none.pem}")),
              HasSubstr("routes[0].action.tls.backend.ca: cannot read"));
  EXPECT_EQ(error(tls("mode: sideways")),
            "routes[0].action.tls.mode: \"sideways\" is not one of: passthrough, terminate, "
            "terminate-and-reencrypt");
  EXPECT_EQ(
      error(one_route("{ports: 443, tlsVersion: [SSLv3]}", "{type: forward, targets: [{host: a, port: 1}]}")),
      "routes[0].match.tlsVersion[0]: \"SSLv3\" is not one of: TLSv1.2, TLSv1.3");
}

TEST_F(OptionsDecodeTest, ActionShapeErrors) {
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: forward}")),
            "routes[0].action.targets: a forward route needs at least one target");
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: forward, targets: []}")),
            "routes[0].action.targets: a forward route needs at least one target");
  EXPECT_THAT(error(one_route("{ports: 80}", "{type: socket-handler}")),
              HasSubstr("routes[0].action.socketHandler: is required for type socket-handler"));
  EXPECT_EQ(
      error(one_route("{ports: 80}",
                      "{type: socket-handler, socketHandler: {type: block}, targets: [{host: a, port: 1}]}")),
      "routes[0].action.targets: a socket-handler route takes no targets");
  EXPECT_EQ(error(one_route("{ports: 80}",
                            "{type: forward, targets: [{host: a, port: 1}], socketHandler: {type: block}}")),
            "routes[0].action.socketHandler: only a socket-handler route takes a socketHandler");
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: redirect}")),
            "routes[0].action.type: \"redirect\" is not one of: forward, socket-handler");
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: forward, targets: [{host: a, port: 70000}]}")),
            "routes[0].action.targets[0].port: 70000 is not a port (1-65535)");
  EXPECT_EQ(error(one_route("{ports: 80}", "{type: forward, targets: [{host: a, port: keep}]}")),
            "routes[0].action.targets[0].port: \"keep\" is not a port (1-65535) or \"preserve\"");
  EXPECT_EQ(
      error(one_route("{ports: 80}", "{type: forward, targets: [{host: [\"a\", \"bad host\"], port: 1}]}")),
      "routes[0].action.targets[0].host[1]: \"bad host\" is not an IP address or a host name");
  EXPECT_THAT(error(one_route("{ports: 80}", "{type: forward, targets: [{host: a, port: 1}], typo: 1}")),
              HasSubstr("routes[0].action.typo: unknown key (allowed: type, targets, tls, socketHandler"));
}

TEST_F(OptionsDecodeTest, AddressErrors) {
  const std::string fwd = "{type: forward, targets: [{host: a, port: 1}]}";
  EXPECT_EQ(
      error(one_route("{ports: 80, clientIp: [\"10.0.0.0/8\", \"ten\"]}", fwd)),
      "routes[0].match.clientIp[1]: \"ten\" is not an IP address, a CIDR prefix or a glob such as 192.168.*");
  EXPECT_THAT(error(one_route("{ports: 80, clientIp: []}", fwd)),
              HasSubstr("routes[0].match.clientIp: needs at least one"));
  EXPECT_EQ(error(one_route("{ports: 80}", fwd, "security: {ipAllowList: [\"10.1.0.0/8\"]}")),
            "routes[0].security.ipAllowList[0]: \"10.1.0.0/8\" has host bits set (did you mean 10.0.0.0/8?)");
  EXPECT_THAT(error(one_route("{ports: 80}", fwd, "security: {ipBlockList: [\"x\"]}")),
              HasSubstr("routes[0].security.ipBlockList[0]: \"x\""));
  EXPECT_THAT(error("defaults: {security: {ipAllowList: [nope]}}\n"),
              HasSubstr("defaults.security.ipAllowList[0]: "));
  EXPECT_THAT(error("bindAddresses: [\"127.0.0.1\", \"localhost\"]\n"),
              HasSubstr("bindAddresses[1]: \"localhost\""));
  EXPECT_EQ(error("dns: {servers: [\"127.0.0.1:70000\"]}\n"),
            "dns.servers[0]: \"127.0.0.1:70000\" has no valid port (1-65535)");
  EXPECT_THAT(error("workers: 1025\n"), HasSubstr("workers: 1025 is not a number of workers (0 to 1024"));
  EXPECT_EQ(error("workers: 1024\n"), "");
  EXPECT_THAT(error("inactivityTimeout: 0\n"), HasSubstr("inactivityTimeout: 0 is not a timeout"));
  EXPECT_THAT(error("connectTimeout: soon\n"), HasSubstr("connectTimeout: \"soon\" is not a timeout"));
  EXPECT_THAT(error("metrics: {listen: \"127.0.0.1\"}\n"), HasSubstr("metrics.listen: "));
  EXPECT_THAT(error("log: {level: loud}\n"), HasSubstr("log.level: \"loud\" is not one of"));
  EXPECT_THAT(error("maxConnectionsPerIp: 5\n"), HasSubstr("maxConnectionsPerIp: unknown key"));
  EXPECT_THAT(error(one_route("{ports: 80, domains: [\"@(a|b).test\"]}", fwd)),
              HasSubstr("routes[0].match.domains[0]: "));
}

TEST_F(OptionsDecodeTest, RouteNamesAreUnique) {
  const std::string r = "{match: {ports: 1}, action: {type: socket-handler, socketHandler: {type: block}}}";
  EXPECT_EQ(
      error(
          "routes:\n  - {name: web, match: {ports: 1}, action: {type: socket-handler, socketHandler: {type: "
          "block}}}\n  - " +
          r + "\n  - " + r +
          "\n  - {name: web, match: {ports: 2}, action: {type: "
          "socket-handler, socketHandler: {type: block}}}\n"),
      "routes[3].name: \"web\" is used by routes[0]");
  EXPECT_THAT(
      error("routes:\n  - {name: \"#1\", match: {ports: 1}, action: {type: socket-handler, socketHandler: "
            "{type: block}}}\n"),
      HasSubstr("routes[0].name: \"#1\" starts with '#'"));
}

}  // namespace
}  // namespace basalt::proxy
