#include "basalt/core/management/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace basalt::core::management {

Client::Client(const std::string& socket_path, std::chrono::milliseconds timeout) : path_(socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    throw std::runtime_error("management socket path \"" + socket_path + "\" is too long");
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("cannot create a Unix socket: ") + std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot connect to \"" + socket_path + "\": " + std::strerror(e) +
                             " (is the daemon running with --management-socket " + socket_path + "?)");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto v = boost::json::parse(read_line(deadline));
    if (const auto* o = v.if_object(); o && o->contains("event") && o->at("event") == "ready") break;
  }
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Client::read_line(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no answer from the daemon at \"" + path_ + "\" in time");
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (r <= 0) continue;
    char chunk[4096];
    auto n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw std::runtime_error(std::string("reading the management socket: ") + std::strerror(errno));
    if (n == 0) throw std::runtime_error("the daemon closed the connection");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

boost::json::value Client::call(const std::string& method, const boost::json::object& params,
                                const std::function<void(const boost::json::value&)>& on_chunk,
                                std::chrono::milliseconds timeout) {
  std::string id = "cli_" + std::to_string(next_id_++);
  std::string line =
      boost::json::serialize(boost::json::object{{"id", id}, {"method", method}, {"params", params}});
  line += '\n';
  for (std::size_t sent = 0; sent < line.size();) {
    auto n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw std::runtime_error(std::string("writing the management socket: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    boost::system::error_code ec;
    auto v = boost::json::parse(read_line(deadline), ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (!o) continue;
    const auto* rid = o->if_contains("id");
    if (!rid || !rid->is_string() || rid->get_string() != id) continue;  // an event, or someone else's
    if (const auto* s = o->if_contains("stream"); s && s->is_bool() && s->get_bool()) {
      if (on_chunk) on_chunk(o->contains("data") ? o->at("data") : boost::json::value());
      continue;
    }
    const auto* ok = o->if_contains("success");
    if (ok && ok->is_bool() && ok->get_bool())
      return o->contains("result") ? o->at("result") : boost::json::value();
    const auto* error = o->if_contains("error");
    throw std::runtime_error(error && error->is_string() ? std::string(error->get_string())
                                                         : "the daemon reported a failure without a reason");
  }
}

}  // namespace basalt::core::management
