// Zone transfer out, proven with a real secondary: Knot DNS (knotd) replicates
// our zone over AXFR, then follows our NOTIFY to a new serial. Also the answers
// a transfer request gets when the client is not allowed (REFUSED) or the name
// is not a zone apex (NOTAUTH).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "basalt/dns/server/server.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

RunResult kdig(std::uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv = {"kdig", "@127.0.0.1", "-p", std::to_string(port), "+time=2", "+retry=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Refresh and retry of one day: within a test, only our NOTIFY can make the
// secondary look at the primary again.
std::string zone_text(std::uint32_t serial, bool with_new_record) {
  std::string z = "$ORIGIN example.test.\n$TTL 3600\n";
  z += "@      IN SOA  ns1 hostmaster " + std::to_string(serial) + " 86400 86400 1209600 300\n";
  z += R"(@      IN NS   ns1
@      IN MX   10 mail
@      IN TXT  "v=spf1 mx -all"
ns1    IN A    127.0.0.1
mail   IN A    192.0.2.25
www    IN A    192.0.2.80
www    IN AAAA 2001:db8::80
api    IN CNAME www
*.apps IN A    192.0.2.99
_sip._tcp IN SRV 10 60 5060 www
)";
  if (with_new_record) z += "fresh  IN A    192.0.2.123\n";
  return z;
}

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
  auto path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `probe` until it returns true or the deadline passes. The pause only
// spaces the attempts; the deadline is what the test waits for.
template <typename Probe>
bool eventually(std::chrono::seconds limit, Probe probe) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return probe();
}

// The records of a `kdig AXFR` answer (runs of blanks made one space),
// sorted, without the closing SOA (a transfer repeats it).
std::vector<std::string> transferred_records(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == ';') continue;
    std::string norm;
    for (char c : line) {
      bool blank = c == ' ' || c == '\t';
      if (!blank)
        norm += c;
      else if (!norm.empty() && norm.back() != ' ')
        norm += ' ';
    }
    lines.push_back(norm);
  }
  if (!lines.empty()) lines.pop_back();
  std::sort(lines.begin(), lines.end());
  return lines;
}

dns::Server make_server(std::uint16_t port, std::string zone_file, std::vector<core::Cidr> allow,
                        std::vector<core::Endpoint> notify) {
  return dns::Server({.listen = {*core::Endpoint::parse("127.0.0.1:" + std::to_string(port))},
                      .zones = {{.file = std::move(zone_file)}},
                      .transfer = {.allow = std::move(allow), .notify = std::move(notify)},
                      .workers = 1});
}

core::Cidr cidr(const std::string& text) {
  auto c = core::Cidr::parse(text);
  if (!c) throw std::invalid_argument(text);
  return *c;
}

// knotd as a secondary of our server, in the foreground, with everything it
// writes (sockets, journal, timers, log) in `dir`.
class KnotSecondary {
 public:
  KnotSecondary(const TempDir& dir, std::uint16_t port, std::uint16_t primary_port) : dir_(dir), port_(port) {
    auto conf =
        "server:\n"
        "  listen: 127.0.0.1@" +
        std::to_string(port) +
        "\n"
        "  rundir: " +
        dir.path() +
        "\n"
        // knotd drops to the configured user; as root, stay root so the temp dir stays writable.
        "  user: " +
        (::geteuid() == 0 ? "root:root" : std::to_string(::geteuid())) +
        "\n"
        "  background-workers: 1\n"
        "log:\n"
        "  - target: " +
        dir.file("knot.log") +
        "\n"
        "    any: info\n"
        "database:\n"
        "  storage: " +
        dir.path() +
        "\n"
        "remote:\n"
        "  - id: primary\n"
        "    address: 127.0.0.1@" +
        std::to_string(primary_port) +
        "\n"
        "acl:\n"
        "  - id: from_primary\n"
        "    address: 127.0.0.1\n"
        "    action: [notify, transfer]\n"
        "template:\n"
        "  - id: default\n"
        "    storage: " +
        dir.path() +
        "\n"
        "zone:\n"
        "  - domain: example.test\n"
        "    master: primary\n"
        "    acl: from_primary\n"
        "    zonefile-sync: -1\n"
        "    zonefile-load: none\n"
        "    journal-content: none\n";
    auto path = write_file(dir, "knot.conf", conf);
    process_.emplace(Process::Options{.argv = {"knotd", "-c", path}});
  }
  ~KnotSecondary() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      process_->wait(10s);
    }
  }

  std::uint16_t port() const { return port_; }
  bool running() { return process_->running(); }
  std::string log() const { return read_file(dir_.file("knot.log")); }

 private:
  const TempDir& dir_;
  std::uint16_t port_;
  std::optional<Process> process_;
};

std::string short_answer(std::uint16_t port, const std::string& name, const std::string& type) {
  return kdig(port, {name, type, "+short"}).out;
}

TEST(ZoneTransfer, KnotSecondaryReplicatesTheZoneAndFollowsNotify) {
  BASALT_REQUIRE_TOOL("knotd");
  BASALT_REQUIRE_TOOL("kdig");
  TempDir dir;
  auto our_port = free_port();
  auto knot_port = free_port();
  while (knot_port == our_port) knot_port = free_port();

  auto server =
      make_server(our_port, write_file(dir, "example.test.zone", zone_text(2026010101, false)),
                  {cidr("127.0.0.1/32")}, {*core::Endpoint::parse("127.0.0.1:" + std::to_string(knot_port))});
  server.start();
  KnotSecondary knot(dir, knot_port, our_port);

  // Knot has no copy of the zone: it transfers it from us at start.
  ASSERT_TRUE(eventually(
      30s, [&] { return contains(short_answer(knot_port, "www.example.test", "A"), "192.0.2.80"); }))
      << "knot never served the zone; running: " << knot.running() << "\n"
      << knot.log();
  EXPECT_TRUE(contains(short_answer(knot_port, "example.test", "SOA"), " 2026010101 "));
  EXPECT_TRUE(contains(short_answer(knot_port, "www.example.test", "AAAA"), "2001:db8::80"));
  EXPECT_TRUE(contains(short_answer(knot_port, "example.test", "MX"), "10 mail.example.test."));
  EXPECT_TRUE(contains(short_answer(knot_port, "x.apps.example.test", "A"), "192.0.2.99"));

  // Record for record, the secondary holds what we serve.
  auto ours = transferred_records(kdig(our_port, {"example.test", "AXFR"}).out);
  auto theirs = transferred_records(kdig(knot_port, {"example.test", "AXFR"}).out);
  EXPECT_EQ(ours.size(), 11u);
  EXPECT_EQ(ours, theirs);

  // A new serial with a new name: our NOTIFY makes knot fetch it (its own
  // refresh timer is a day away).
  EXPECT_TRUE(short_answer(knot_port, "fresh.example.test", "A").empty());
  server.put_zone(dns::load_zone_file(write_file(dir, "example.test.v2.zone", zone_text(2026010102, true)),
                                      std::nullopt, {}));
  ASSERT_TRUE(eventually(
      30s, [&] { return contains(short_answer(knot_port, "fresh.example.test", "A"), "192.0.2.123"); }))
      << "knot did not pick up the new serial after NOTIFY\n"
      << knot.log();
  EXPECT_TRUE(contains(short_answer(knot_port, "example.test", "SOA"), " 2026010102 "));
  EXPECT_TRUE(contains(knot.log(), "notify, incoming, remote 127.0.0.1@")) << knot.log();
  server.stop();
}

TEST(ZoneTransfer, RefusesClientsOutsideTheAllowList) {
  BASALT_REQUIRE_TOOL("kdig");
  TempDir dir;
  auto port = free_port();
  auto server =
      make_server(port, write_file(dir, "example.test.zone", zone_text(1, false)), {cidr("10.0.0.0/8")}, {});
  server.start();

  auto r = kdig(port, {"example.test", "AXFR"});
  EXPECT_TRUE(contains(r.out + r.err, "REFUSED")) << r.out << r.err;
  EXPECT_FALSE(contains(r.out, "192.0.2.80")) << r.out;
  // Ordinary queries from the same client are still answered.
  EXPECT_TRUE(contains(kdig(port, {"www.example.test", "A", "+short"}).out, "192.0.2.80"));
  server.stop();
}

TEST(ZoneTransfer, NameThatIsNotAZoneApexIsNotAuth) {
  // kdig, because dig reports a failed transfer without its rcode.
  BASALT_REQUIRE_TOOL("kdig");
  TempDir dir;
  auto port = free_port();
  auto server = make_server(port, write_file(dir, "example.test.zone", zone_text(1, false)),
                            {cidr("127.0.0.1/32")}, {});
  server.start();

  for (std::string name : {"www.example.test", "other.test"}) {
    auto r = kdig(port, {name, "AXFR"});
    EXPECT_TRUE(contains(r.out + r.err, "NOTAUTH")) << name << ":\n" << r.out << r.err;
    EXPECT_FALSE(contains(r.out, "192.0.2.80")) << r.out;
  }
  // The apex itself transfers.
  auto r = kdig(port, {"example.test", "AXFR"});
  EXPECT_TRUE(contains(r.out, "192.0.2.80")) << r.out;
  server.stop();
}

}  // namespace
}  // namespace basalt::testing
