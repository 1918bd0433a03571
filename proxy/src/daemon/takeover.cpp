#include "daemon/takeover.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <span>
#include <system_error>

#include "basalt/core/fd_passing.hpp"

namespace basalt::proxy {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kHelloTimeout = std::chrono::seconds(5);
constexpr auto kOfferTimeout = std::chrono::seconds(60);  // from `ready` to `drain`
constexpr auto kStatusInterval = std::chrono::seconds(1);
constexpr auto kAnswerTimeout = std::chrono::seconds(10);
constexpr auto kDrainAnswerTimeout = std::chrono::seconds(30);

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    throw std::system_error(ENAMETOOLONG, std::system_category(), "takeover socket " + path);
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

void signal_eventfd(int fd) {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}

json::object error_fields(std::string_view text) {
  json::object fields;
  fields["error"] = text;
  return fields;
}

json::object connections_fields(std::size_t n) {
  json::object fields;
  fields["connections"] = n;
  return fields;
}

}  // namespace

// ---- TakeoverServer ----------------------------------------------------------

struct TakeoverServer::Session {
  enum class Phase { kHello, kOffered, kSuccessor };
  std::unique_ptr<TakeoverChannel> channel;
  Phase phase = Phase::kHello;
  pid_t peer = 0;
  Clock::time_point deadline;     // kHello, kOffered
  Clock::time_point next_status;  // kSuccessor
  bool done = false;

  // Answers `error`, best effort, and ends the session.
  void fail(std::string_view text) {
    spdlog::warn("takeover{}: {}", peer ? fmt::format(" by pid {}", peer) : std::string(), text);
    try {
      channel->send("error", error_fields(text));
    } catch (const TakeoverError&) {
    }
    done = true;
  }
};

TakeoverServer::TakeoverServer(std::string path, Hooks hooks)
    : path_(std::move(path)), hooks_(std::move(hooks)) {
  auto fail = [&](int err, std::string_view what) {
    throw std::system_error(err, std::system_category(), fmt::format("takeover socket {}: {}", path_, what));
  };
  auto address = unix_address(path_);
  auto folder = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!folder.empty() && !std::filesystem::exists(folder, ec)) {
    std::filesystem::create_directories(folder, ec);
    if (!ec) std::filesystem::permissions(folder, std::filesystem::perms::owner_all, ec);
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(EEXIST, "exists and is not a socket");
    core::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      fail(EADDRINUSE, "another basalt-proxy listens on it (start with --takeover to replace it)");
    }
    ::unlink(path_.c_str());  // stale: its process is gone
  }
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) fail(errno, "socket");
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    fail(errno, "bind");
  ::chmod(path_.c_str(), 0600);
  if (::listen(listener_.get(), 4) != 0) {
    int err = errno;
    ::unlink(path_.c_str());
    fail(err, "listen");
  }
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) {
    int err = errno;
    ::unlink(path_.c_str());
    fail(err, "eventfd");
  }
  thread_ = std::thread([this] { run(); });
}

TakeoverServer::~TakeoverServer() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  if (listening_) ::unlink(path_.c_str());
}

void TakeoverServer::wake() {
  signal_eventfd(wake_.get());
}

void TakeoverServer::stop_listening() {
  std::unique_lock lock(mutex_);
  if (!listening_) return;
  stop_listening_ = true;
  lock.unlock();
  wake();
  lock.lock();
  changed_.wait_for(lock, std::chrono::seconds(2), [this] { return !listening_; });
}

// Gives up the path: after a handover it belongs to the successor.
void TakeoverServer::close_listener() {
  std::lock_guard lock(mutex_);
  if (listening_) ::unlink(path_.c_str());
  listener_.reset();
  listening_ = false;
  changed_.notify_all();
}

void TakeoverServer::run() {
  while (!stopping_) {
    {
      std::unique_lock lock(mutex_);
      if (stop_listening_ && listening_) {
        lock.unlock();
        close_listener();
      }
    }
    std::vector<pollfd> fds{{wake_.get(), POLLIN, 0}};
    const std::size_t listener_at = listener_ ? fds.size() : 0;
    if (listener_) fds.push_back({listener_.get(), POLLIN, 0});
    const std::size_t session_at = session_ ? fds.size() : 0;
    int timeout = -1;
    if (session_) {
      fds.push_back({session_->channel->fd(), POLLIN, 0});
      auto at = session_->phase == Session::Phase::kSuccessor ? session_->next_status : session_->deadline;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      spdlog::error("takeover socket: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents) {
      std::uint64_t ignored;
      [[maybe_unused]] auto n = ::read(wake_.get(), &ignored, sizeof ignored);
    }
    if (stopping_) return;
    if (listener_at && (fds[listener_at].revents & POLLIN)) accept_client();
    if (session_at && session_) {
      if (fds[session_at].revents) {
        try {
          bool open = session_->channel->read_available();
          while (!session_->done) {
            auto message = session_->channel->next();
            if (!message) break;
            handle(*session_, *message);
          }
          if (!open && !session_->done) {
            if (session_->phase == Session::Phase::kOffered) {
              spdlog::info("takeover by pid {} abandoned before it took over; still serving", session_->peer);
            } else if (session_->phase == Session::Phase::kSuccessor) {
              spdlog::info("successor pid {} has gone; the drain goes on", session_->peer);
            }
            session_->done = true;
          }
        } catch (const std::exception& e) {
          session_->fail(e.what());
        }
      }
      if (!session_->done) serve(*session_);
      if (session_->done) session_.reset();
    }
  }
}

void TakeoverServer::accept_client() {
  core::UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return;
  auto channel = std::make_unique<TakeoverChannel>(std::move(fd));
  if (session_) {
    try {
      channel->send("error", error_fields("another takeover is in progress"));
    } catch (const TakeoverError&) {
    }
    return;
  }
  session_ = std::make_unique<Session>();
  session_->channel = std::move(channel);
  session_->deadline = Clock::now() + kHelloTimeout;
}

// Timers: the hello and the drain must come in time; a successor hears how
// many connections are left every second.
void TakeoverServer::serve(Session& session) {
  auto now = Clock::now();
  if (session.phase == Session::Phase::kSuccessor) {
    if (now < session.next_status) return;
    session.next_status = now + kStatusInterval;
    try {
      session.channel->send("status", connections_fields(hooks_.open_connections()));
    } catch (const TakeoverError&) {
      session.done = true;  // the successor stopped reading; the drain goes on
    }
    return;
  }
  if (now >= session.deadline) {
    session.fail(session.phase == Session::Phase::kHello ? "no hello within 5 s"
                                                         : "no drain within 60 s of ready; still serving");
  }
}

void TakeoverServer::handle(Session& session, const TakeoverMessage& message) {
  using Phase = Session::Phase;
  if (message.op == "error") {
    session.fail("the successor reports: " + message.text("error"));
    return;
  }
  switch (session.phase) {
    case Phase::kHello: {
      if (message.op != "hello") return session.fail("expected hello, got " + message.op);
      auto pid = message.number("pid");
      if (pid == 0 || pid > static_cast<std::uint64_t>(INT_MAX)) return session.fail("hello: bad pid");
      if (session.channel->pending_fds() > 0) return session.fail("a successor sends no descriptors");
      session.peer = static_cast<pid_t>(pid);
      auto sockets = hooks_.sockets();
      if (sockets.empty()) return session.fail("this process is draining: nothing to hand over");
      std::vector<int> raw;
      for (const auto& s : sockets) raw.push_back(s.get());
      for (std::size_t at = 0; at < raw.size(); at += core::kMaxFdsPerSend) {
        auto count = std::min(core::kMaxFdsPerSend, raw.size() - at);
        json::object fields;
        fields["count"] = count;
        session.channel->send("sockets", fields, std::span<const int>(raw).subspan(at, count));
      }
      json::object ready;
      ready["pid"] = ::getpid();
      ready["sockets"] = raw.size();
      session.channel->send("ready", ready);
      session.phase = Phase::kOffered;
      session.deadline = Clock::now() + kOfferTimeout;
      spdlog::info("takeover: handed {} listening sockets to pid {}", raw.size(), session.peer);
      return;
    }
    case Phase::kOffered: {
      if (message.op != "drain") return session.fail("expected drain, got " + message.op);
      close_listener();
      hooks_.handover(session.peer);
      session.channel->send("draining", connections_fields(hooks_.open_connections()));
      session.phase = Phase::kSuccessor;
      session.next_status = Clock::now() + kStatusInterval;
      spdlog::info("takeover: pid {} accepts on every socket; this process has stopped accepting and drains",
                   session.peer);
      return;
    }
    case Phase::kSuccessor: {
      if (message.op != "close") return session.fail("expected close, got " + message.op);
      spdlog::warn("takeover: pid {} was taken over in turn; closing every connection now", session.peer);
      hooks_.close_now();
      return;
    }
  }
}

// ---- Predecessor -------------------------------------------------------------

std::unique_ptr<Predecessor> Predecessor::connect(const std::string& path) {
  auto address = unix_address(path);
  core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::system_category(), "takeover socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      spdlog::info("takeover: nothing listens on {}; starting on fresh sockets", path);
      return nullptr;
    }
    throw std::system_error(errno, std::system_category(), "takeover socket " + path);
  }
  auto channel = std::make_unique<TakeoverChannel>(std::move(fd));
  json::object hello;
  hello["pid"] = ::getpid();
  channel->send("hello", hello);
  std::vector<core::UniqueFd> sockets;
  auto deadline = Clock::now() + kAnswerTimeout;
  for (;;) {
    auto message = channel->receive(deadline);
    if (!message) throw TakeoverError("the running proxy closed the connection");
    if (message->op == "error") throw TakeoverError("the running proxy refused: " + message->text("error"));
    if (message->op == "sockets") {
      auto count = message->number("count");
      if (count == 0 || count > core::kMaxFdsPerSend) throw TakeoverError("sockets: bad count");
      for (auto& s : channel->take_fds(count)) sockets.push_back(std::move(s));
      continue;
    }
    if (message->op != "ready") throw TakeoverError("expected sockets or ready, got " + message->op);
    if (message->number("sockets") != sockets.size() || channel->pending_fds() != 0) {
      throw TakeoverError(fmt::format("ready: {} sockets announced, {} received", message->number("sockets"),
                                      sockets.size() + channel->pending_fds()));
    }
    auto pid = message->number("pid");
    if (pid == 0 || pid > static_cast<std::uint64_t>(INT_MAX)) throw TakeoverError("ready: bad pid");
    spdlog::info("takeover: received {} listening sockets from pid {}", sockets.size(), pid);
    return std::unique_ptr<Predecessor>(
        new Predecessor(std::move(channel), static_cast<pid_t>(pid), std::move(sockets)));
  }
}

Predecessor::Predecessor(std::unique_ptr<TakeoverChannel> channel, pid_t pid,
                         std::vector<core::UniqueFd> sockets)
    : channel_(std::move(channel)),
      pid_(pid),
      sockets_(std::move(sockets)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_) throw std::system_error(errno, std::system_category(), "eventfd");
}

Predecessor::~Predecessor() {
  signal_eventfd(wake_.get());
  if (thread_.joinable()) thread_.join();
}

std::size_t Predecessor::drain() {
  channel_->send("drain");
  auto message = channel_->receive(Clock::now() + kDrainAnswerTimeout);
  if (!message) throw TakeoverError("the running proxy closed the connection before it drained");
  if (message->op == "error") throw TakeoverError("the running proxy refused: " + message->text("error"));
  if (message->op != "draining") throw TakeoverError("expected draining, got " + message->op);
  connections_ = message->number("connections");
  thread_ = std::thread([this] { follow(); });
  return connections_;
}

void Predecessor::follow() {
  for (;;) {
    pollfd fds[2] = {{channel_->fd(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) return;  // destroyed
    try {
      bool open = channel_->read_available();
      while (auto message = channel_->next()) {
        if (message->op == "status") connections_ = message->number("connections");
      }
      if (!open) {
        spdlog::info("takeover: the previous generation (pid {}) has exited", pid_);
        break;
      }
    } catch (const TakeoverError& e) {
      spdlog::warn("takeover: following pid {}: {}", pid_, e.what());
      break;
    }
  }
  std::lock_guard lock(mutex_);
  gone_ = true;
  gone_changed_.notify_all();
}

bool Predecessor::close_now(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (gone_ || !thread_.joinable()) return gone_;
  lock.unlock();
  spdlog::info("takeover: telling the previous generation (pid {}) to close now", pid_);
  try {
    channel_->send("close");
  } catch (const TakeoverError&) {
  }
  lock.lock();
  return gone_changed_.wait_for(lock, timeout, [this] { return gone_; });
}

std::optional<std::size_t> Predecessor::draining_connections() const {
  std::lock_guard lock(mutex_);
  if (gone_) return std::nullopt;
  return connections_.load();
}

}  // namespace basalt::proxy
