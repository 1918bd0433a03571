#include "basalt/dns/server/server_config.hpp"

#include <gtest/gtest.h>

namespace basalt::dns {
namespace {

// What decoding `yaml` as a basalt-dns config says, or "accepted".
std::string error_of(const std::string& yaml) {
  try {
    core::config::decode<ServerConfig>(core::config::parse_yaml(yaml, "c.yaml"));
  } catch (const core::config::Error& e) {
    return e.what();
  }
  return "accepted";
}

// Every number in the config has a range checked when the file is loaded, so
// a value the server cannot run with fails at once, naming the key, the value
// and what is allowed — not seconds later with an error from deep inside.
TEST(ServerConfig, WorkersAreAtMost255LikeKnots) {
  EXPECT_EQ(error_of("workers: 100000\n"), "workers: 100000 is not between 0 and 255 (0: one per core)");
  EXPECT_EQ(error_of("workers: 256\n"), "workers: 256 is not between 0 and 255 (0: one per core)");
  EXPECT_EQ(error_of("workers: 255\n"), "accepted");
  EXPECT_EQ(error_of("workers: 0\n"), "accepted");
  EXPECT_EQ(error_of("workers: -1\n"), "workers: -1 is not an integer between 0 and 18446744073709551615");
}

TEST(ServerConfig, TimeoutsHaveARange) {
  EXPECT_EQ(error_of("handler_timeout: 0s\n"), "handler_timeout: \"0s\" is not between 1ms and 1m");
  EXPECT_EQ(error_of("handler_timeout: 2m\n"), "handler_timeout: \"2m\" is not between 1ms and 1m");
  EXPECT_EQ(error_of("handler_timeout: 1m\n"), "accepted");
  EXPECT_EQ(error_of("tcp: {idle_timeout: 0s}\n"), "tcp.idle_timeout: \"0s\" is not between 1ms and 1h");
  // Far beyond what a timer can add to the clock without overflowing.
  EXPECT_EQ(error_of("tcp: {idle_timeout: 1000000000w}\n"),
            "tcp.idle_timeout: \"1000000000w\" is not between 1ms and 1h");
  EXPECT_EQ(error_of("tcp: {idle_timeout: 1h}\n"), "accepted");
}

TEST(ServerConfig, TcpLimitsHaveARange) {
  EXPECT_EQ(error_of("tcp: {max_connections: 0}\n"), "tcp.max_connections: 0 is not between 1 and 1048576");
  EXPECT_EQ(error_of("tcp: {max_connections: 2000000}\n"),
            "tcp.max_connections: 2000000 is not between 1 and 1048576");
  EXPECT_EQ(error_of("tcp: {max_connections: 1048576}\n"), "accepted");
  EXPECT_EQ(error_of("tcp: {max_pipelined: 0}\n"), "tcp.max_pipelined: 0 is not between 1 and 65535");
  EXPECT_EQ(error_of("tcp: {max_pipelined: 65536}\n"), "tcp.max_pipelined: 65536 is not between 1 and 65535");
  EXPECT_EQ(error_of("max_udp_payload: 511\n"), "max_udp_payload: 511 is not between 512 and 4096");
  EXPECT_EQ(error_of("udp: {steering: source_network}\n"), "accepted");
  EXPECT_EQ(error_of("udp: {steering: random}\n"),
            "udp.steering: \"random\" is not one of: flow, source_network");
}

TEST(ServerConfig, DnssecTimesHaveARange) {
  EXPECT_EQ(error_of("dnssec: {zone: example.test, signature_validity: 30m}\n"),
            "dnssec.signature_validity: \"30m\" is not between 1h and 3660d");
  // RRSIG times are 32-bit serial numbers (RFC 4034 §3.1.5): 68 years at most.
  EXPECT_EQ(error_of("dnssec: {zone: example.test, signature_validity: 30000d}\n"),
            "dnssec.signature_validity: \"30000d\" is not between 1h and 3660d");
  EXPECT_EQ(error_of("dnssec: {zone: example.test, signature_validity: 3660d}\n"), "accepted");
}

TEST(ServerConfig, DenialIsNsecOrNsec3WithRfc9276Parameters) {
  EXPECT_EQ(error_of("dnssec: {zone: example.test, denial: nsec}\n"), "accepted");
  EXPECT_EQ(error_of("dnssec: {zone: example.test, denial: nsec3}\n"), "accepted");
  EXPECT_EQ(error_of("dnssec: {zone: example.test, denial: nsec5}\n"),
            "dnssec.denial: \"nsec5\" is not one of: nsec, nsec3");
  EXPECT_EQ(
      error_of("dnssec: {zone: example.test, denial: nsec3, nsec3_iterations: 10, nsec3_salt: aabbccdd}\n"),
      "accepted");
  EXPECT_EQ(error_of("dnssec: {zone: example.test, denial: nsec3, nsec3_salt: \"-\"}\n"), "accepted");
  EXPECT_EQ(error_of("dnssec: {zone: example.test, denial: nsec3, nsec3_iterations: 51}\n"),
            "dnssec.nsec3_iterations: 51 is not between 0 and 50");
  EXPECT_EQ(error_of("dnssec: {zone: example.test, denial: nsec3, nsec3_salt: xyz}\n"),
            "dnssec.nsec3_salt: \"xyz\" is not a salt: up to 255 octets in hex, or \"-\" for none");
}

TEST(ServerConfig, ThePrimaryNameserverMustBeADomainName) {
  EXPECT_EQ(error_of("primary_nameserver: \"a..b\"\n"),
            "primary_nameserver: \"a..b\" is not a domain name: empty label");
  EXPECT_EQ(error_of("primary_nameserver: ns1.example.test\n"), "accepted");
}

TEST(ServerConfig, RateLimitingIsOffUnlessItsSectionIsThere) {
  auto off = core::config::decode<ServerConfig>(core::config::parse_yaml("workers: 1\n", "c.yaml"));
  EXPECT_FALSE(off.rrl);
  auto on = core::config::decode<ServerConfig>(core::config::parse_yaml("rrl: {}\n", "c.yaml"));
  ASSERT_TRUE(on.rrl);
  EXPECT_EQ(on.rrl->rate, 20u);
  EXPECT_EQ(on.rrl->slip, 2u);
  EXPECT_EQ(on.rrl->ipv4_prefix, 24u);
  EXPECT_EQ(on.rrl->ipv6_prefix, 56u);
  EXPECT_FALSE(on.rrl->nxdomain_rate);
}

TEST(ServerConfig, RateLimitingValuesHaveARange) {
  EXPECT_EQ(error_of("rrl: {rate: 5, slip: 2, exempt: [127.0.3.0/24], nxdomain_rate: 0}\n"), "accepted");
  EXPECT_EQ(error_of("rrl: {slip: 11}\n"),
            "rrl.slip: 11 is not between 0 and 10 (0: drop every limited answer)");
  EXPECT_EQ(error_of("rrl: {rate: 2000000}\n"),
            "rrl.rate: 2000000 is not between 0 and 1000000 (0: not limited)");
  EXPECT_EQ(error_of("rrl: {ipv4_prefix: 33}\n"), "rrl.ipv4_prefix: 33 is not between 8 and 32");
  EXPECT_EQ(error_of("rrl: {ipv6_prefix: 129}\n"), "rrl.ipv6_prefix: 129 is not between 16 and 128");
  EXPECT_EQ(error_of("rrl: {table_size: 0}\n"), "rrl.table_size: 0 is not between 4 and 67108864");
  EXPECT_EQ(error_of("rrl: {burst: 100ms}\n"), "rrl.burst: \"100ms\" is not between 1s and 1h");
  EXPECT_EQ(error_of("rrl: {exempt: [127.0.3.1/24]}\n"),
            "rrl.exempt[0]: \"127.0.3.1/24\" has host bits set (did you mean 127.0.3.0/24?)");
  EXPECT_EQ(error_of("rrl: {rates: 5}\n").substr(0, 10), "rrl.rates:");
}

}  // namespace
}  // namespace basalt::dns

namespace basalt::dns {
namespace {

TEST(ServerConfig, CookiesAreOnByDefaultAndTheirKeysAreChecked) {
  auto config = core::config::decode<ServerConfig>(core::config::parse_yaml("{}\n", "c.yaml"));
  EXPECT_TRUE(config.cookies.enabled);
  EXPECT_FALSE(config.cookies.require);
  EXPECT_FALSE(config.cookies.secret);
  EXPECT_EQ(error_of("cookies: {secret: e5e973e5a6b2a43f48e7dc849e37bfcf, rotate: 36d, require: true}\n"),
            "accepted");
  EXPECT_EQ(error_of("cookies: {secret: e5e973e5a6b2a43f}\n"),
            "cookies.secret: \"e5e973e5a6b2a43f\" is not 32 hex digits (a 16-octet secret)");
  EXPECT_EQ(error_of("cookies: {secret: x5e973e5a6b2a43f48e7dc849e37bfcf}\n"),
            "cookies.secret: \"x5e973e5a6b2a43f48e7dc849e37bfcf\" is not 32 hex digits (a 16-octet secret)");
  EXPECT_EQ(error_of("cookies: {rotate: 30m}\n"), "cookies.rotate: \"30m\" is not between 1h and 36d");
  EXPECT_EQ(error_of("cookies: {rotate: 37d}\n"), "cookies.rotate: \"37d\" is not between 1h and 36d");
  ASSERT_TRUE(cookie_secret("E5E973E5A6B2A43F48E7DC849E37BFCF"));
  EXPECT_EQ((*cookie_secret("e5e973e5a6b2a43f48e7dc849e37bfcf"))[15], 0xcf);
}

}  // namespace
}  // namespace basalt::dns
