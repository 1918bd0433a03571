#include "daemon/takeover_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "basalt/core/fd_passing.hpp"

namespace basalt::proxy {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 8> kOps{"hello",    "sockets", "ready", "drain",
                                               "draining", "status",  "close", "error"};
// Descriptors may run ahead of the line announcing them by one send at most.
constexpr std::size_t kMaxQueuedFds = 2 * core::kMaxFdsPerSend;

}  // namespace

std::uint64_t TakeoverMessage::number(std::string_view key) const {
  const auto* v = body.if_contains(key);
  if (v && v->is_uint64()) return v->get_uint64();
  if (v && v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  throw TakeoverError(fmt::format("{}: \"{}\" must be a non-negative integer", op, key));
}

std::string TakeoverMessage::text(std::string_view key) const {
  const auto* v = body.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

TakeoverMessage parse_takeover_line(std::string_view line) {
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec || !value.is_object()) throw TakeoverError("not a JSON object line");
  auto& object = value.as_object();
  const auto* v = object.if_contains("v");
  if (!v || !v->is_int64()) throw TakeoverError("no protocol version (\"v\")");
  if (v->get_int64() != kTakeoverVersion) {
    throw TakeoverError(fmt::format("protocol version {} is not spoken here (this process speaks {})",
                                    v->get_int64(), kTakeoverVersion));
  }
  const auto* op = object.if_contains("op");
  if (!op || !op->is_string()) throw TakeoverError("no \"op\"");
  std::string_view name = op->get_string();
  if (std::find(kOps.begin(), kOps.end(), name) == kOps.end()) {
    throw TakeoverError(fmt::format("unknown op \"{}\"", name.substr(0, 64)));
  }
  return TakeoverMessage{.op = std::string(name), .body = std::move(object)};
}

TakeoverChannel::TakeoverChannel(core::UniqueFd socket) : fd_(std::move(socket)) {
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void TakeoverChannel::send(std::string_view op, const json::object& fields, std::span<const int> fds) {
  json::object message;
  message["v"] = kTakeoverVersion;
  message["op"] = op;
  for (const auto& field : fields) message[field.key()] = field.value();
  std::string line = json::serialize(message);
  line += '\n';
  try {
    core::send_with_fds(fd_.get(), line, fds);
  } catch (const std::system_error& e) {
    throw TakeoverError(fmt::format("sending {}: {}", op, e.code().message()));
  }
}

bool TakeoverChannel::read_available() {
  if (closed_) return false;
  std::array<char, 16 * 1024> chunk;
  std::size_t n = 0;
  try {
    n = core::receive_with_fds(fd_.get(), chunk, fds_);
  } catch (const std::system_error& e) {
    if (e.code().value() == EAGAIN || e.code().value() == EWOULDBLOCK) return true;
    if (e.code().value() != ECONNRESET) throw TakeoverError(std::string(e.what()));
    n = 0;  // the peer went away: the same as a close
  }
  if (n == 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(chunk.data(), n);
  if (fds_.size() > kMaxQueuedFds) throw TakeoverError("descriptors sent without a line announcing them");
  if (buffer_.size() > kMaxTakeoverLine && buffer_.find('\n') == std::string::npos) {
    throw TakeoverError(fmt::format("a line longer than {} bytes", kMaxTakeoverLine));
  }
  return true;
}

std::optional<TakeoverMessage> TakeoverChannel::next() {
  auto end = buffer_.find('\n');
  if (end == std::string::npos) return std::nullopt;
  if (end > kMaxTakeoverLine)
    throw TakeoverError(fmt::format("a line longer than {} bytes", kMaxTakeoverLine));
  auto message = parse_takeover_line(std::string_view(buffer_).substr(0, end));
  buffer_.erase(0, end + 1);
  return message;
}

std::optional<TakeoverMessage> TakeoverChannel::receive(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (auto message = next()) return message;
    if (closed_) return std::nullopt;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw TakeoverError("no answer in time");
    pollfd p{fd_.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw TakeoverError(std::string("poll: ") + std::strerror(errno));
    if (ready > 0 && !read_available()) {
      if (!buffer_.empty() && buffer_.find('\n') == std::string::npos) {
        throw TakeoverError("the connection closed in the middle of a line");
      }
    }
  }
}

std::vector<core::UniqueFd> TakeoverChannel::take_fds(std::size_t count) {
  if (count > fds_.size()) {
    throw TakeoverError(fmt::format("{} sockets announced, {} received", count, fds_.size()));
  }
  std::vector<core::UniqueFd> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(std::move(fds_[i]));
  fds_.erase(fds_.begin(), fds_.begin() + static_cast<std::ptrdiff_t>(count));
  return out;
}

}  // namespace basalt::proxy
