#include "basalt/core/management/server.hpp"

#include "basalt/core/accept_pause.hpp"
#include "basalt/core/management/message.hpp"
#include "management/line_splitter.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <csignal>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <type_traits>
#include <vector>

namespace basalt::core::management {
namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

// Answers (and stream chunks, `ready`, error replies) are never dropped;
// events are, for a client that is behind.
enum class LineKind { answer, event };

// Shared by the server and its peers (a peer may outlive the server's Impl
// while a write is in flight).
struct Counters {
  std::atomic<std::uint64_t> events_dropped{0};
  std::atomic<std::uint64_t> clients_disconnected{0};
};

// A queued peer's bounds (Server::Options).
struct Limits {
  std::size_t event_bytes;
  std::size_t max_bytes;
};

// One connected driver. Used on the io_context's thread only.
struct Peer {
  virtual ~Peer() = default;
  virtual void send(std::string line, LineKind kind) = 0;
  // Closes once what is queued has been written.
  virtual void close_after_flush() = 0;
  // Closes now; what is queued is lost.
  virtual void shutdown() = 0;
  bool closed = false;
};

// stdout that is a terminal or a file: plain blocking writes. Neither stalls
// for long, and a terminal's file status flags are shared with the shell, so
// they are left alone.
struct BlockingPeer final : Peer {
  void send(std::string line, LineKind) override {
    std::string_view rest = line;
    while (!closed && !rest.empty()) {
      auto n = ::write(STDOUT_FILENO, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        closed = true;  // EPIPE: the driver is gone; stdin EOF will follow
        return;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void close_after_flush() override { closed = true; }
  void shutdown() override { closed = true; }
};

// A peer whose lines wait in a queue bounded in bytes and are written
// asynchronously, so a driver that does not read never blocks the
// io_context: a blocked io_context would answer no command, handle no
// signal, and let the events posted to it pile up without bound. `Stream` is
// a Unix socket, or a pipe or socket on stdout.
template <class Stream>
class QueuedPeer final : public Peer, public std::enable_shared_from_this<QueuedPeer<Stream>> {
 public:
  // `on_close` runs once when the stream is closed (or the peer destroyed);
  // `on_lost` when the peer closes itself, on a write error or for unread
  // answers, rather than by close_after_flush() or shutdown().
  QueuedPeer(Stream stream, std::string name, Limits limits, std::shared_ptr<Counters> counters,
             std::function<void()> on_close = {}, std::function<void()> on_lost = {})
      : stream_(std::move(stream)),
        flush_timer_(stream_.get_executor()),
        name_(std::move(name)),
        limits_(limits),
        counters_(std::move(counters)),
        on_close_(std::move(on_close)),
        on_lost_(std::move(on_lost)) {}

  ~QueuedPeer() override {
    if (on_close_) on_close_();
  }

  Stream& stream() { return stream_; }

  void send(std::string line, LineKind kind) override {
    if (closed) return;
    if (kind == LineKind::event) {
      if (closing_) return;
      if (queued_ + line.size() > limits_.event_bytes) {
        drop_event();
        return;
      }
    } else if (!queue_.empty() && queued_ + line.size() > limits_.max_bytes) {
      // Dropping an answer would leave the client waiting for it forever:
      // close instead, as a proxy closes a consumer that does not read.
      counters_->clients_disconnected.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn(
          "{} has {} bytes of output unread and more answers to receive (limit {}); disconnecting it", name_,
          queued_, limits_.max_bytes);
      lost();
      return;
    }
    queued_ += line.size();
    queue_.push_back(std::move(line));
    if (!writing_) write_front();
  }

  void close_after_flush() override {
    if (closed || closing_) return;
    closing_ = true;
    if (!writing_) {
      shutdown();
      return;
    }
    // A client that does not read must not keep the connection (and the
    // io_context's work) alive after close.
    flush_timer_.expires_after(std::chrono::seconds(2));
    flush_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->shutdown();
    });
  }

  void shutdown() override {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    if constexpr (std::is_same_v<Stream, stream_protocol::socket>) {
      stream_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    }
    stream_.close(ignored);
    flush_timer_.cancel();
    if (on_close_) std::exchange(on_close_, {})();
    if (!writing_) clear();  // else the write in flight still uses the front line
  }

 private:
  void drop_event() {
    counters_->events_dropped.fetch_add(1, std::memory_order_relaxed);
    if (dropped_++ == 0) {
      spdlog::warn(
          "{} is not reading fast enough: dropping events for it until it catches up ({} bytes unsent, "
          "limit {})",
          name_, queued_, limits_.event_bytes);
    }
  }

  void write_front() {
    writing_ = true;
    asio::async_write(
        stream_, asio::buffer(queue_.front()),
        [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) { self->written(ec); });
  }

  void written(boost::system::error_code ec) {
    writing_ = false;
    if (closed) {
      clear();
      return;
    }
    queued_ -= queue_.front().size();
    queue_.pop_front();
    if (ec) {
      lost();
      return;
    }
    // Hysteresis: an episode ends (and the next one warns again) only once
    // the client has read down to half the bound.
    if (dropped_ > 0 && queued_ <= limits_.event_bytes / 2) {
      spdlog::info("{} caught up; {} events were dropped for it", name_, dropped_);
      dropped_ = 0;
    }
    if (!queue_.empty()) {
      write_front();
    } else if (closing_) {
      shutdown();
    }
  }

  void clear() {
    queue_.clear();
    queued_ = 0;
  }

  void lost() {
    shutdown();
    if (on_lost_) std::exchange(on_lost_, {})();
  }

  Stream stream_;
  asio::steady_timer flush_timer_;  // close_after_flush()'s deadline
  std::string name_;
  Limits limits_;
  std::shared_ptr<Counters> counters_;
  std::function<void()> on_close_;
  std::function<void()> on_lost_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;     // bytes of the lines in queue_
  std::uint64_t dropped_ = 0;  // events dropped in the current episode
  bool writing_ = false;
  bool closing_ = false;
};

using SocketPeer = QueuedPeer<stream_protocol::socket>;
using PipePeer = QueuedPeer<asio::posix::stream_descriptor>;

// The driver on stdout. A pipe or a socket (what a parent process that spawned
// us reads) is written asynchronously through a queue, so a parent that stops
// reading costs dropped events, not a stuck io_context; the O_NONBLOCK that
// sets on the shared file description is undone on close. `on_lost` runs
// (on the io_context) if the peer closes itself.
std::shared_ptr<Peer> stdout_peer(asio::io_context& io, Limits limits, std::shared_ptr<Counters> counters,
                                  std::function<void()> on_lost) {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    return std::make_shared<BlockingPeer>();
  }
  int flags = ::fcntl(STDOUT_FILENO, F_GETFL);
  int fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || flags < 0) return std::make_shared<BlockingPeer>();
  asio::posix::stream_descriptor out(io, fd);
  return std::make_shared<PipePeer>(
      std::move(out), "management driver on stdout", limits, std::move(counters),
      [flags] { ::fcntl(STDOUT_FILENO, F_SETFL, flags); }, std::move(on_lost));
}

// Who is on the other end of a management socket, for log lines.
std::string client_name(stream_protocol::socket& socket, std::uint64_t number) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
    return fmt::format("management client {} (pid {})", number, cred.pid);
  }
  return fmt::format("management client {}", number);
}

class CallImpl final : public Call {
 public:
  CallImpl(std::shared_ptr<Peer> peer, Request request)
      : peer_(std::move(peer)), request_(std::move(request)) {}
  const boost::json::value& id() const override { return request_.id; }
  const std::string& method() const override { return request_.method; }
  const boost::json::object& params() const override { return request_.params; }
  void stream(boost::json::value data) override {
    peer_->send(stream_line(request_.id, std::move(data)), LineKind::answer);
  }
  Peer& peer() { return *peer_; }

 private:
  std::shared_ptr<Peer> peer_;
  Request request_;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, const Registry& registry, Options options)
      : io(io), registry(registry), options(std::move(options)) {}

  Limits limits() const {
    return {.event_bytes = options.max_queued_event_bytes, .max_bytes = options.max_queued_bytes};
  }

  void add_peer(std::shared_ptr<Peer> peer) {
    peers.insert(std::move(peer));
    peer_count.store(peers.size(), std::memory_order_relaxed);
  }

  void remove_peer(const std::shared_ptr<Peer>& peer) {
    peers.erase(peer);
    peer_count.store(peers.size(), std::memory_order_relaxed);
  }

  // Any thread; never blocks beyond a short lock, never logs. Events wait
  // here, bounded, until the io_context hands them to the peers: one post per
  // batch, not per event.
  void post_event(std::string line) {
    bool schedule = false;
    {
      std::lock_guard lock(emit_mutex);
      if (emit_bytes + line.size() > options.max_queued_event_bytes) {
        counters->events_dropped.fetch_add(peer_count.load(std::memory_order_relaxed),
                                           std::memory_order_relaxed);
        ++emit_dropped;  // reported by the next delivery
        return;
      }
      schedule = emit_batch.empty();
      emit_bytes += line.size();
      emit_batch.push_back(std::move(line));
    }
    if (schedule) asio::post(io, [self = shared_from_this()] { self->deliver_events(); });
  }

  void deliver_events() {
    std::vector<std::string> batch;
    bool warn = false;
    std::uint64_t ended = 0;  // events dropped in an episode that ends now
    {
      std::lock_guard lock(emit_mutex);
      if (emit_dropped > 0 && !emit_warned) warn = emit_warned = true;
      // The episode ends once a batch is at most half full: the emitters no
      // longer outrun this thread.
      if (emit_dropped > 0 && emit_bytes <= options.max_queued_event_bytes / 2) {
        ended = std::exchange(emit_dropped, 0);
        emit_warned = false;
      }
      batch.swap(emit_batch);
      emit_bytes = 0;
    }
    if (warn) {
      spdlog::warn(
          "management events come faster than this thread hands them out (over {} bytes waiting): dropping "
          "them until it catches up",
          options.max_queued_event_bytes);
    }
    if (ended > 0) spdlog::info("management events are handed out again; {} were dropped", ended);
    for (auto& line : batch) {
      for (const auto& p : peers) p->send(line, LineKind::event);
    }
  }

  void handle_line(const std::shared_ptr<Peer>& peer, std::string_view line) {
    auto parsed = parse_request(line);
    switch (parsed.kind) {
      case ParsedLine::Kind::blank:
        return;
      case ParsedLine::Kind::invalid:
        peer->send(failure_line(parsed.id, parsed.error), LineKind::answer);
        return;
      case ParsedLine::Kind::request:
        break;
    }
    const Handler* handler = registry.find(parsed.request.method);
    if (!handler) {
      peer->send(failure_line(parsed.request.id, fmt::format("unknown method \"{}\"", parsed.request.method)),
                 LineKind::answer);
      return;
    }
    asio::co_spawn(io, run_call(*handler, std::make_shared<CallImpl>(peer, std::move(parsed.request))),
                   asio::detached);
  }

  static asio::awaitable<void> run_call(const Handler& handler, std::shared_ptr<CallImpl> call) {
    std::string line;
    try {
      auto result = co_await handler(*call);
      if (result.is_null()) result = boost::json::object();
      line = success_line(call->id(), std::move(result));
    } catch (const std::exception& e) {
      line = failure_line(call->id(), e.what());
    } catch (...) {
      line = failure_line(call->id(), "internal error");
    }
    call->peer().send(std::move(line), LineKind::answer);
  }

  void overlong(const std::shared_ptr<Peer>& peer) {
    peer->send(
        failure_line(nullptr, fmt::format("line longer than {} bytes ignored", options.max_line_bytes)),
        LineKind::answer);
  }

  asio::awaitable<void> read_stdin(std::shared_ptr<Peer> peer, std::function<void()> on_eof) {
    auto self = shared_from_this();
    LineSplitter splitter(options.max_line_bytes);
    std::array<char, 65536> buf;
    for (;;) {
      auto [ec, n] =
          co_await stdin_desc->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (n > 0) {
        splitter.feed(
            std::string_view(buf.data(), n), [&](std::string_view line) { handle_line(peer, line); },
            [&] { overlong(peer); });
      }
      if (ec || stdout_lost) break;
    }
    remove_peer(peer);  // no more events; answers still being made are written
    if (on_eof) on_eof();
  }

  asio::awaitable<void> read_socket(std::shared_ptr<SocketPeer> peer) {
    auto self = shared_from_this();
    LineSplitter splitter(options.max_line_bytes);
    std::array<char, 65536> buf;
    while (!peer->closed) {
      auto [ec, n] =
          co_await peer->stream().async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (n > 0) {
        splitter.feed(
            std::string_view(buf.data(), n), [&](std::string_view line) { handle_line(peer, line); },
            [&] { overlong(peer); });
      }
      if (ec) break;
    }
    peer->shutdown();
    remove_peer(peer);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    core::AcceptPause pause("management socket");
    asio::steady_timer backoff(io);
    while (acceptor && acceptor->is_open()) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor || !acceptor->is_open()) break;
        if (auto wait = pause.after_error(ec); wait.count() > 0) {
          backoff.expires_after(wait);
          co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        } else {
          spdlog::warn("management socket accept: {}", ec.message());
        }
        continue;
      }
      pause.after_success();
      auto name = client_name(socket, ++clients);
      auto peer = std::make_shared<SocketPeer>(std::move(socket), std::move(name), limits(), counters);
      add_peer(peer);
      peer->send(event_line("ready", options.ready_data), LineKind::answer);
      asio::co_spawn(io, read_socket(peer), asio::detached);
    }
  }

  void close() {
    if (acceptor) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
      acceptor.reset();
    }
    if (!socket_path.empty()) {
      ::unlink(socket_path.c_str());
      socket_path.clear();
    }
    // What is queued (the answer to a `stop`, say) is still written.
    for (auto& p : peers) p->close_after_flush();
    peers.clear();
    peer_count.store(0, std::memory_order_relaxed);
    if (stdio_peer) stdio_peer->close_after_flush();
    if (stdin_desc) {
      boost::system::error_code ignored;
      stdin_desc->close(ignored);  // our dup of fd 0; fd 0 itself stays open
      stdin_desc.reset();
    }
  }

  asio::io_context& io;
  const Registry& registry;
  Options options;
  std::optional<stream_protocol::acceptor> acceptor;
  std::string socket_path;
  std::optional<asio::posix::stream_descriptor> stdin_desc;
  std::set<std::shared_ptr<Peer>> peers;
  std::shared_ptr<Peer> stdio_peer;
  bool stdout_lost = false;   // the stdio driver was disconnected: stop reading stdin
  std::uint64_t clients = 0;  // socket clients accepted, to name them in logs
  std::shared_ptr<Counters> counters = std::make_shared<Counters>();
  std::atomic<std::size_t> peer_count{0};  // peers.size(), for emit() on other threads

  std::mutex emit_mutex;  // emit_*
  std::vector<std::string> emit_batch;
  std::size_t emit_bytes = 0;
  std::uint64_t emit_dropped = 0;  // in the current episode
  bool emit_warned = false;        // for the current episode
};

Server::Server(asio::io_context& io, const Registry& registry, Options options)
    : impl_(std::make_shared<Impl>(io, registry, std::move(options))) {
  if (impl_->options.max_queued_bytes < impl_->options.max_queued_event_bytes) {
    throw std::invalid_argument(
        fmt::format("management server: max_queued_bytes ({}) is less than max_queued_event_bytes ({})",
                    impl_->options.max_queued_bytes, impl_->options.max_queued_event_bytes));
  }
  // A driver that goes away must not kill us with SIGPIPE mid-write.
  std::signal(SIGPIPE, SIG_IGN);
}

Server::~Server() {
  if (!impl_->socket_path.empty()) ::unlink(impl_->socket_path.c_str());
}

void Server::serve_stdio(std::function<void()> on_eof) {
  impl_->stdin_desc.emplace(impl_->io);
  boost::system::error_code ec;
  impl_->stdin_desc->assign(::dup(STDIN_FILENO), ec);
  if (ec) {
    impl_->stdin_desc.reset();
    throw std::system_error(ec.value(), std::system_category(),
                            "management on stdio: stdin must be a pipe, socket or terminal");
  }
  // Without stdout the driver cannot be served: end as on stdin EOF.
  auto end_stdin = [weak = std::weak_ptr<Impl>(impl_)] {
    if (auto impl = weak.lock(); impl && impl->stdin_desc) {
      impl->stdout_lost = true;  // a read that already completed must not start another
      boost::system::error_code ignored;
      impl->stdin_desc->cancel(ignored);
    }
  };
  auto peer = stdout_peer(impl_->io, impl_->limits(), impl_->counters, std::move(end_stdin));
  impl_->stdio_peer = peer;
  impl_->add_peer(peer);
  peer->send(event_line("ready", impl_->options.ready_data), LineKind::answer);
  asio::co_spawn(impl_->io, impl_->read_stdin(peer, std::move(on_eof)), asio::detached);
}

void Server::listen_unix(const std::string& path) {
  auto fail = [&](int err, std::string_view what) {
    throw std::system_error(err, std::system_category(), fmt::format("management socket {}: {}", path, what));
  };
  if (path.size() >= sizeof(sockaddr_un::sun_path)) fail(ENAMETOOLONG, "path too long");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(EEXIST, "exists and is not a socket");
    stream_protocol::socket probe(impl_->io);
    boost::system::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) fail(EADDRINUSE, "another process is listening on it");
    ::unlink(path.c_str());  // stale socket from a process that died
  }
  // Bound and listening under a temporary name, then renamed into place:
  // whoever sees the path (a script waiting for it) can connect at once,
  // and it never exists with looser permissions than 0600.
  const std::string staging = fmt::format("{}.{}.tmp", path, ::getpid());
  if (staging.size() >= sizeof(sockaddr_un::sun_path)) fail(ENAMETOOLONG, "path too long");
  ::unlink(staging.c_str());
  stream_protocol::acceptor acceptor(impl_->io);
  boost::system::error_code ec;
  acceptor.open(stream_protocol(), ec);
  if (!ec) acceptor.bind(stream_protocol::endpoint(staging), ec);
  if (ec) fail(ec.value(), "bind");
  ::chmod(staging.c_str(), 0600);
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec && ::rename(staging.c_str(), path.c_str()) != 0) ec.assign(errno, boost::system::system_category());
  if (ec) {
    ::unlink(staging.c_str());
    fail(ec.value(), "listen");
  }
  impl_->acceptor.emplace(std::move(acceptor));
  impl_->socket_path = path;
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
}

void Server::emit(std::string_view event, boost::json::value data) {
  impl_->post_event(event_line(event, std::move(data)));
}

Server::Stats Server::stats() const {
  return {.events_dropped = impl_->counters->events_dropped.load(std::memory_order_relaxed),
          .clients_disconnected = impl_->counters->clients_disconnected.load(std::memory_order_relaxed)};
}

void Server::close() {
  asio::post(impl_->io, [impl = impl_] { impl->close(); });
}

void Server::stop_listening() {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  asio::post(impl_->io, [impl = impl_, done] {
    if (impl->acceptor) {
      boost::system::error_code ignored;
      impl->acceptor->close(ignored);
      impl->acceptor.reset();
    }
    if (!impl->socket_path.empty()) {
      ::unlink(impl->socket_path.c_str());
      impl->socket_path.clear();
    }
    done->set_value();
  });
  finished.wait_for(std::chrono::seconds(5));
}

}  // namespace basalt::core::management
