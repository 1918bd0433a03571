#include "basalt/testing/environment.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace basalt::testing {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

std::optional<std::string> missing_tool(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    auto dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && ::access((dir + "/" + tool).c_str(), X_OK) == 0) return std::nullopt;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "required tool '" + tool + "' is not installed";
}

std::string binary(const std::string& name) {
  const char* dir = std::getenv("BASALT_BIN_DIR");
  if (!dir) throw std::runtime_error("BASALT_BIN_DIR is not set: run the test through ctest");
  auto path = std::string(dir) + "/" + name;
  if (::access(path.c_str(), X_OK) != 0) throw std::runtime_error(path + " is not built");
  return path;
}

std::string source_dir() {
  const char* v = std::getenv("BASALT_SOURCE_DIR");
  return v ? v : std::filesystem::current_path().string();
}

TempDir::TempDir() {
  auto base = std::filesystem::temp_directory_path();
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("basalt-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate.string();
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::uint16_t free_port() {
  // Below the kernel's ephemeral range (32768-60999 by default): a port the
  // kernel handed out for a bind to port 0 or an outgoing connection (curl,
  // pebble, another test) would be taken again a moment later. Random, so
  // that tests running in parallel rarely pick the same one.
  static thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 32767);
  for (int attempt = 0; attempt < 200; ++attempt) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(pick(rng)));
    int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    bool ok = ::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    ok = ok && ::bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(udp);
    ::close(tcp);
    if (ok) return ntohs(a.sin_port);
  }
  throw std::runtime_error("no free port on 127.0.0.1");
}

}  // namespace basalt::testing
