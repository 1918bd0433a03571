// An unbound validating resolver for the DNSSEC integration tests: started in
// the foreground on a free loopback port, validating example.test with one
// DNSKEY as its trust anchor and asking the server under test for it (a stub
// zone); the root is a closed loopback port, never the real root servers.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {

class Unbound {
 public:
  // `anchor`: the DNSKEY RDATA ("257 3 13 KEY"). `aggressive_nsec`: use
  // cached NSECs to deny other names (RFC 8198).
  Unbound(const std::string& dir, std::uint16_t upstream, const std::string& anchor,
          bool aggressive_nsec = false)
      : port_(free_port()) {
    auto conf = dir + "/unbound-" + std::to_string(port_) + ".conf";
    std::ofstream(conf) << "server:\n"
                        << "  interface: 127.0.0.1\n"
                        << "  port: " << port_ << "\n"
                        << "  do-ip6: no\n"
                        << "  do-not-query-localhost: no\n"
                        << "  username: \"\"\n"
                        << "  chroot: \"\"\n"
                        << "  directory: \"" << dir << "\"\n"
                        << "  pidfile: \"\"\n"
                        << "  use-syslog: no\n"
                        << "  logfile: \"\"\n"
                        << "  verbosity: 1\n"
                        << "  val-log-level: 2\n"
                        << "  module-config: \"validator iterator\"\n"
                        << "  trust-anchor: \"example.test. DNSKEY " << anchor << "\"\n"
                        << "  trust-anchor-signaling: no\n"
                        << "  root-key-sentinel: no\n"
                        << "  target-fetch-policy: \"0 0 0 0 0\"\n"
                        << (aggressive_nsec ? "  aggressive-nsec: yes\n" : "")
                        << "  # .test is one of unbound's built-in empty zones (RFC 6761)\n"
                        << "  local-zone: \"test.\" nodefault\n"
                        << "  # otherwise unbound's defaults, QNAME minimisation included\n"
                        << "remote-control:\n"
                        << "  control-enable: no\n"
                        << "stub-zone:\n"
                        << "  name: \"example.test\"\n"
                        << "  stub-addr: 127.0.0.1@" << upstream << "\n"
                        << "stub-zone:\n"
                        << "  name: \".\"\n"
                        << "  stub-addr: 127.0.0.1@" << free_port() << "\n";
    process_.emplace(Process::Options{.argv = {"unbound", "-d", "-c", conf}});
  }
  ~Unbound() {
    process_->signal(SIGTERM);
    process_->wait(std::chrono::seconds(10));
  }

  // Waits (up to 10 s) until unbound answers `name A` with `address` (its CD
  // flag set, so this also works while validation fails).
  bool wait_ready(const std::string& name, const std::string& address) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
      if (dig(port_, {"+cd", name, "A", "+short"}).out == address + "\n") return true;
    }
    return false;
  }
  RunResult query(const std::string& name, const std::string& type) {
    return dig(port_, {"+dnssec", name, type});
  }

 private:
  std::uint16_t port_;
  std::optional<Process> process_;
};

// unbound's answer has `status` and the AD flag (it validated).
inline bool validated_by_unbound(const RunResult& r, const std::string& status) {
  auto at = r.out.find(";; flags:");
  if (at == std::string::npos) return false;
  auto flags = r.out.substr(at, r.out.find(';', at + 9) - at);
  return contains(r.out, "status: " + status + ",") && contains(flags, " ad");
}

}  // namespace basalt::testing
