#include "pebble.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include "basalt/core/ip.hpp"
#include "basalt/core/tls.hpp"

namespace basalt::proxy_test {

using namespace std::chrono_literals;

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- LoggedProcess --------------------------------------------------------

LoggedProcess::LoggedProcess(std::vector<std::string> argv, std::string log_file,
                             std::vector<std::string> env)
    : log_file_(std::move(log_file)) {
  std::vector<std::string> full = {"/bin/sh", "-c", "f=$1; shift; exec \"$@\" >\"$f\" 2>&1", "sh", log_file_};
  full.insert(full.end(), argv.begin(), argv.end());
  process_.emplace(Process::Options{.argv = std::move(full), .env = std::move(env)});
}

LoggedProcess::~LoggedProcess() {
  if (process_ && process_->running()) {
    process_->signal(SIGTERM);
    process_->wait(10s);
  }
}

std::string LoggedProcess::text() const {
  std::ifstream f(log_file_);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool LoggedProcess::wait_for(const std::string& part, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!contains(text(), part)) {
    if (std::chrono::steady_clock::now() > deadline || !process_->running()) return contains(text(), part);
    std::this_thread::sleep_for(20ms);  // polling a file another process writes
  }
  return true;
}

// ---- TestDns --------------------------------------------------------------

TestDns::TestDns(const TempDir& dir, const std::string& name, const std::vector<std::string>& names)
    : port_(testing::free_port()), socket_(dir.file(name + ".sock")) {
  std::string zone_file = dir.file(name + ".zone");
  {
    std::ofstream zone(zone_file);
    zone << "$ORIGIN example.test.\n$TTL 60\n"
         << "@ IN SOA ns1 hostmaster 2026120101 7200 3600 1209600 60\n"
         << "@ IN NS ns1\nns1 IN A 127.0.0.1\n";
    for (const auto& n : names) zone << n << " IN A 127.0.0.1\n";
  }
  process_.emplace(
      std::vector<std::string>{testing::binary("basalt-dns"), "serve", "--listen",
                               "127.0.0.1:" + std::to_string(port_), "--zone-file", zone_file, "--state-dir",
                               dir.file(name + "-state"), "--management-socket", socket_},
      dir.file(name + ".log"));
  const std::string probe = (names.empty() ? "ns1" : names.front()) + ".example.test";
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline && process_->process().running()) {
    auto r = testing::run(
        {"dig", "@127.0.0.1", "-p", std::to_string(port_), "+time=1", "+tries=1", "+short", probe, "A"});
    if (r.out == "127.0.0.1\n") {
      ready_ = true;
      break;
    }
  }
  // The management socket (for dns01) is the other thing the tests need.
  while (ready_ && ::access(socket_.c_str(), F_OK) != 0) {
    if (std::chrono::steady_clock::now() > deadline || !process_->process().running()) ready_ = false;
    std::this_thread::sleep_for(20ms);  // polling for a file another process creates
  }
}

// ---- Pebble ---------------------------------------------------------------

Pebble::Pebble(const TempDir& dir, const std::string& name, PebbleOptions options)
    : listen_port_(options.listen_port != 0 ? options.listen_port : testing::free_port()),
      https_ca_(dir.file(name + "-https.pem")),
      root_(dir.file(name + "-root.pem")) {
  if (::access(https_ca_.c_str(), F_OK) != 0 && write_https_certificate(dir, name).empty()) return;
  auto management = testing::free_port();
  auto http = options.http_port != 0 ? options.http_port : testing::free_port();
  auto tls = options.tls_port != 0 ? options.tls_port : testing::free_port();
  std::ofstream(dir.file(name + ".json"))
      << R"({"pebble": {"listenAddress": "127.0.0.1:)" << listen_port_
      << R"(", "managementListenAddress": "127.0.0.1:)" << management << R"(", "certificate": ")" << https_ca_
      << R"(", "privateKey": ")" << dir.file(name + "-https.key") << R"(", "httpPort": )" << http
      << R"(, "tlsPort": )" << tls
      << R"(, "ocspResponderURL": "", "externalAccountBindingRequired": false}})";
  auto env = options.env;
  env.emplace_back("PEBBLE_VA_NOSLEEP=1");
  std::string resolver = "127.0.0.1:";
  resolver.append(std::to_string(options.dns_port));  // append: g++ 12's false -Warray-bounds on `+`
  std::vector<std::string> argv{"pebble", "-config", dir.file(name + ".json"), "-dnsserver", resolver};
  process_.emplace(std::move(argv), dir.file(name + ".log"), env);
  if (!process_->wait_for("ACME directory available")) return;
  // pebble logs "directory available" before its management listener is up:
  // curl retries a refused connection.
  auto root =
      testing::run({"curl", "-sS", "--retry", "20", "--retry-connrefused", "--retry-max-time", "30",
                    "--cacert", https_ca_, "https://127.0.0.1:" + std::to_string(management) + "/roots/0"},
                   40s);
  if (root.exit_code != 0 || !contains(root.out, "BEGIN CERTIFICATE")) {
    ADD_FAILURE() << "pebble's root: " << root.err;
    return;
  }
  std::ofstream(root_) << root.out;
  ready_ = true;
}

std::string Pebble::write_https_certificate(const TempDir& dir, const std::string& name) {
  std::string error;
  auto pem = core::generate_self_signed(
      {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}}, &error);
  if (!pem) {
    ADD_FAILURE() << error;
    return "";
  }
  std::ofstream(dir.file(name + "-https.pem")) << pem->certificate;
  std::ofstream(dir.file(name + "-https.key")) << pem->private_key;
  return dir.file(name + "-https.pem");
}

std::string Pebble::directory() const {
  return directory_at(listen_port_);
}

std::string Pebble::directory_at(std::uint16_t port) {
  return "https://127.0.0.1:" + std::to_string(port) + "/dir";
}

}  // namespace basalt::proxy_test
