#include "basalt/testing/environment.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
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

namespace {

// Claims `port` for this process among test processes running at the same
// time: an flock on a file named after it in the temporary directory's
// basalt-test-ports (empty files, reused by later runs), held
// until the process exits (the kernel drops it then, however it ends).
bool claim(std::uint16_t port) {
  auto dir = std::filesystem::temp_directory_path() / "basalt-test-ports";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto path = dir / (std::to_string(port) + ".lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return true;  // no lock files here: the bind probe alone decides
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // the descriptor stays open: the claim lasts as long as the process
}

// True if nothing holds `port` on any address for TCP or UDP: a bind to the
// wildcard address conflicts with a bind to any one address.
bool bindable(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(port);
  bool ok = true;
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    int fd = ::socket(AF_INET, type, 0);
    ok = ok && fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
  }
  return ok;
}

}  // namespace

std::uint16_t free_port() {
  // Below the kernel's ephemeral range (32768-60999 by default): a port the
  // kernel handed out for a bind to port 0 or an outgoing connection (curl,
  // pebble, another test) would be taken again a moment later. Random, and
  // claimed against the other test processes of a parallel ctest, which
  // could otherwise pick the same port between this probe and their bind.
  static thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 32767);
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<std::uint16_t>(pick(rng));
    if (bindable(port) && claim(port)) return port;
  }
  throw std::runtime_error("no free port on 127.0.0.1");
}

}  // namespace basalt::testing
