// What basalt-proxy's ACME tests run against: pebble (Let's Encrypt's test
// CA, validation on) and a basalt-dns authoritative for `example.test.`
// that pebble asks for every challenge lookup (A records of the test names,
// TXT records of dns-01). Both write their output to a file in the test's
// TempDir, read back to wait for a line or to count pebble's requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"

namespace basalt::proxy_test {

using testing::Process;
using testing::TempDir;

// How often `part` occurs in `text`.
std::size_t count(const std::string& text, const std::string& part);
bool contains(const std::string& text, const std::string& part);

// A child whose stdout and stderr go, merged, to `log_file` (a file, not a
// pipe: a child that logs a lot never blocks on a reader).
class LoggedProcess {
 public:
  LoggedProcess(std::vector<std::string> argv, std::string log_file, std::vector<std::string> env = {});
  ~LoggedProcess();
  LoggedProcess(const LoggedProcess&) = delete;
  LoggedProcess& operator=(const LoggedProcess&) = delete;
  std::string text() const;
  // True once `part` is in the output; false if the child exits or `timeout` passes first.
  bool wait_for(const std::string& part, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Process& process() { return *process_; }

 private:
  std::string log_file_;
  std::optional<Process> process_;
};

// basalt-dns serve on 127.0.0.1:<free port>, authoritative for
// `example.test.`, where each of `names` (relative: "a" is a.example.test)
// has A 127.0.0.1; with a management socket (dns01.managementSocket).
class TestDns {
 public:
  TestDns(const TempDir& dir, const std::string& name, const std::vector<std::string>& names);
  // True once a.example.test-style lookups answer (the first of `names`).
  bool ready() const { return ready_; }
  std::uint16_t port() const { return port_; }
  std::string management_socket() const { return socket_; }
  std::string log() const { return process_->text(); }

 private:
  std::uint16_t port_ = 0;
  std::string socket_;
  std::optional<LoggedProcess> process_;
  bool ready_ = false;
};

struct PebbleOptions {
  std::uint16_t dns_port = 0;     // pebble's -dnsserver (127.0.0.1)
  std::uint16_t http_port = 0;    // where it connects for http-01; 0: a free port nobody listens on
  std::uint16_t tls_port = 0;     // where it connects for tls-alpn-01; 0: likewise
  std::uint16_t listen_port = 0;  // its ACME (directory) port; 0: a free one
  std::vector<std::string> env;   // extra PEBBLE_* settings (PEBBLE_VA_NOSLEEP=1 is always set)
};

// pebble 2.4 with its own HTTPS certificate; ready() once the directory
// answers and the root of the chains it issues (new per run) was fetched
// from its management interface into root().
class Pebble {
 public:
  Pebble(const TempDir& dir, const std::string& name, PebbleOptions options);
  bool ready() const { return ready_; }
  // https://127.0.0.1:<port>/dir
  std::string directory() const;
  static std::string directory_at(std::uint16_t port);
  // Makes the HTTPS certificate of the pebble called `name` in `dir` ahead
  // of starting it (a proxy configured before its CA runs); its path. The
  // constructor makes one when there is none.
  static std::string write_https_certificate(const TempDir& dir, const std::string& name);
  // pebble's HTTPS certificate (PEM file): the proxy's acme.directoryCa.
  std::string https_ca() const { return https_ca_; }
  // The root its certificates chain to (PEM file): what clients trust.
  std::string root() const { return root_; }
  std::string log() const { return process_->text(); }
  // Requests pebble handled ("calling handler" lines), and orders it
  // created (not new-order requests: one refused for a bad nonce, which
  // pebble does to 5% of them, is retried and would count twice).
  std::size_t requests() const { return count(log(), "calling handler"); }
  std::size_t orders() const { return count(log(), "Added order"); }

 private:
  std::uint16_t listen_port_ = 0;
  std::string https_ca_;
  std::string root_;
  std::optional<LoggedProcess> process_;
  bool ready_ = false;
};

}  // namespace basalt::proxy_test
