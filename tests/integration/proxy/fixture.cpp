#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>

#include "basalt/core/ip.hpp"
#include "basalt/core/management/client.hpp"
#include "basalt/core/tls.hpp"

namespace basalt::proxy_test {

void write_certificate(const TempDir& dir, const std::string& stem, const std::vector<std::string>& names) {
  std::string error;
  auto pem = core::generate_self_signed(
      {.dns_names = names, .ip_addresses = {core::IpAddress::v4_loopback()}}, &error);
  ASSERT_TRUE(pem) << error;
  std::ofstream(dir.file(stem + ".pem")) << pem->certificate;
  std::ofstream(dir.file(stem + ".key")) << pem->private_key;
}

bool wait_listening(std::uint16_t port) {
  return eventually([port] {
    int fd = connect_to(port);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  });
}

// ---- ProxyDaemon ----------------------------------------------------------

ProxyDaemon::ProxyDaemon(const TempDir& dir, const std::string& yaml, std::uint16_t wait_port, int workers)
    : config_(dir.file("proxy.yaml")), socket_(dir.file("proxy.sock")), log_file_(dir.file("proxy.log")) {
  std::ofstream(config_) << yaml;
  process_.emplace(Process::Options{.argv = {"/bin/sh", "-c",
                                             "exec " + testing::binary("basalt-proxy") + " serve --config " +
                                                 config_ + " --workers " + std::to_string(workers) +
                                                 " --state-dir " + dir.path() + " --management-socket " +
                                                 socket_ + " --log-level debug 2>" + log_file_}});
  ready_ = wait_listening(wait_port) && eventually([this] { return ::access(socket_.c_str(), F_OK) == 0; });
}

ProxyDaemon::~ProxyDaemon() {
  if (process_ && process_->running()) stop();
}

boost::json::value ProxyDaemon::call(const std::string& method, const boost::json::object& params) {
  core::management::Client client(socket_);
  return client.call(method, params, {}, std::chrono::seconds(30));
}

std::string ProxyDaemon::call_error(const std::string& method, const boost::json::object& params) {
  try {
    call(method, params);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::optional<int> ProxyDaemon::stop() {
  process_->signal(SIGTERM);
  return process_->wait(std::chrono::seconds(20));
}

std::string ProxyDaemon::log() {
  std::ifstream f(log_file_);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// ---- ManagementConnection ------------------------------------------------

ManagementConnection::ManagementConnection(const std::string& socket_path,
                                           std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    error_ = "socket path too long: " + socket_path;
    return;
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    error_ = "cannot connect to " + socket_path + ": " + std::strerror(errno);
    return;
  }
  ready_ = wait_event("ready", {}, timeout).has_value();
  if (!ready_ && error_.empty()) error_ = "no ready event from " + socket_path;
}

ManagementConnection::~ManagementConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool ManagementConnection::read_line(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object from the daemon: " << line;
        continue;
      }
      (v.as_object().contains("event") ? events_ : answers_).push_back(std::move(v.as_object()));
      return true;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char chunk[4096];
    auto n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n == 0 ? "the daemon closed the connection" : std::string("read: ") + std::strerror(errno);
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

boost::json::object ManagementConnection::request(const std::string& method,
                                                  const boost::json::object& params,
                                                  std::chrono::milliseconds timeout) {
  std::string id = "test_" + std::to_string(next_id_++);
  boost::json::object request;
  request["id"] = id;
  request["method"] = method;
  request["params"] = params;
  if (fd_ < 0 || !send_all(fd_, boost::json::serialize(request) + "\n")) return {};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto it = answers_.begin(); it != answers_.end(); ++it) {
      if (const auto* got = it->if_contains("id"); got && *got == id.c_str()) {
        auto answer = std::move(*it);
        answers_.erase(it);
        return answer;
      }
    }
    if (!read_line(deadline)) return {};
  }
}

std::optional<boost::json::object> ManagementConnection::wait_event(
    const std::string& name, const std::function<bool(const boost::json::object&)>& match,
    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t seen = 0;;) {
    for (; seen < events_.size(); ++seen) {
      const auto& e = events_[seen];
      if (e.at("event") != name.c_str()) continue;
      boost::json::object data;
      if (const auto* d = e.if_contains("data"); d && d->is_object()) data = d->as_object();
      if (match && !match(data)) continue;
      events_.erase(events_.begin() + static_cast<std::ptrdiff_t>(seen));
      return data;
    }
    if (fd_ < 0 || !read_line(deadline)) return std::nullopt;
  }
}

std::vector<boost::json::object> ManagementConnection::events() {
  while (fd_ >= 0 && read_line(std::chrono::steady_clock::now())) {
  }
  return events_;
}

// ---- NginxBackend ---------------------------------------------------------

NginxBackend::NginxBackend(const TempDir& dir, const std::string& name, const std::string& tls_stem,
                           std::size_t big_bytes)
    : prefix_(dir.file("nginx-" + name)) {
  std::string mk = "mkdir -p " + prefix_ + "/html " + prefix_ + "/tmp";
  testing::run({"/bin/sh", "-c", mk});
  std::ofstream(prefix_ + "/html/hello.txt") << "hello from nginx " << name << "\n";
  {
    std::ofstream big(prefix_ + "/html/big.bin", std::ios::binary);
    std::string block(64 * 1024, 'b');
    for (std::size_t done = 0; done < big_bytes; done += block.size())
      big.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), big_bytes - done)));
  }
  http_port_ = testing::free_port();
  std::ofstream conf(prefix_ + "/nginx.conf");
  conf << "worker_processes 1;\nerror_log " << prefix_ << "/error.log;\npid " << prefix_ << "/nginx.pid;\n"
       << "events { worker_connections 1024; }\nhttp {\n  access_log off;\n"
       << "  client_body_temp_path " << prefix_ << "/tmp;\n"
       << "  server { listen 127.0.0.1:" << http_port_ << "; root " << prefix_ << "/html; }\n";
  if (!tls_stem.empty()) {
    https_port_ = testing::free_port();
    conf << "  server { listen 127.0.0.1:" << https_port_ << " ssl http2; root " << prefix_ << "/html;\n"
         << "    ssl_certificate " << dir.file(tls_stem + ".pem") << "; ssl_certificate_key "
         << dir.file(tls_stem + ".key") << "; }\n";
  }
  conf << "}\n";
  conf.close();
  process_.emplace(
      Process::Options{.argv = {"nginx", "-c", prefix_ + "/nginx.conf", "-p", prefix_, "-g", "daemon off;"},
                       .capture_stderr = true});
  ready_ = wait_listening(http_port_) && (https_port_ == 0 || wait_listening(https_port_));
}

NginxBackend::~NginxBackend() {
  if (!process_) return;
  process_->signal(SIGTERM);  // the master then stops its worker
  process_->wait(std::chrono::seconds(5));
}

// ---- ScriptedBackend ------------------------------------------------------

ScriptedBackend::ScriptedBackend(Mode mode, const std::string& address, std::uint16_t port) : mode_(mode) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(listen_fd_, 512);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      ++accepted_;
      std::lock_guard lock(mutex_);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

ScriptedBackend::~ScriptedBackend() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::lock_guard lock(mutex_);
  for (auto& t : threads_) t.join();
}

void ScriptedBackend::serve(int fd) {
  timeval tv{.tv_sec = 15, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[16384];
  if (mode_ == Mode::kBannerFirst) send_all(fd, "220 banner\r\n");
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
    if (mode_ == Mode::kEcho || mode_ == Mode::kBannerFirst)
      send_all(fd, std::string(buf, static_cast<std::size_t>(n)));
  }
  if (mode_ == Mode::kHalfClose) send_all(fd, "got " + std::to_string(total) + " bytes");
  ::close(fd);
}

// ---- client sockets -------------------------------------------------------

int connect_to(std::uint16_t port, const std::string& source, const std::string& to) {
  auto from = core::IpAddress::parse(source);
  auto dest = core::IpAddress::parse(to);
  if (!from || !dest) return -1;
  sockaddr_storage local{}, remote{};
  socklen_t local_len = core::Endpoint{*from, 0}.to_sockaddr(local);
  socklen_t remote_len = core::Endpoint{*dest, port}.to_sockaddr(remote);
  int fd = ::socket(remote.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), local_len) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), remote_len) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string read_some_until(int fd, std::size_t want, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (out.size() < want) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

bool closed_by_peer(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  return n <= 0;
}

testing::RunResult curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run(argv, std::chrono::seconds(40));
}

}  // namespace basalt::proxy_test
