#include "basalt/core/management/server.hpp"

#include "basalt/core/management/message.hpp"
#include "management/line_splitter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <deque>
#include <optional>
#include <set>
#include <system_error>

namespace basalt::core::management {
namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

// One connected driver. Used on the io_context's thread only.
struct Peer {
  virtual ~Peer() = default;
  virtual void send(std::string line) = 0;
  virtual void shutdown() = 0;
  bool closed = false;
};

// stdout written with plain blocking writes: it works for pipes, files and
// terminals alike, and a driver that stops reading only stalls the control
// thread, never the data plane.
struct StdioPeer final : Peer {
  void send(std::string line) override {
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
  void shutdown() override { closed = true; }
};

struct SocketPeer final : Peer, std::enable_shared_from_this<SocketPeer> {
  SocketPeer(stream_protocol::socket s, std::size_t max_pending)
      : socket(std::move(s)), max_pending(max_pending) {}

  void send(std::string line) override {
    if (closed) return;
    pending += line.size();
    if (pending > max_pending) {
      spdlog::warn("management client is {} bytes behind; disconnecting it", pending);
      shutdown();
      return;
    }
    queue.push_back(std::move(line));
    if (!writing) write_next();
  }

  void write_next() {
    writing = true;
    asio::async_write(socket, asio::buffer(queue.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                        self->pending -= n;
                        self->queue.pop_front();
                        if (ec) {
                          self->shutdown();
                          return;
                        }
                        if (self->queue.empty() || self->closed) {
                          self->writing = false;
                        } else {
                          self->write_next();
                        }
                      });
  }

  void shutdown() override {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  stream_protocol::socket socket;
  std::size_t max_pending;
  std::deque<std::string> queue;
  std::size_t pending = 0;
  bool writing = false;
};

class CallImpl final : public Call {
 public:
  CallImpl(std::shared_ptr<Peer> peer, Request request)
      : peer_(std::move(peer)), request_(std::move(request)) {}
  const boost::json::value& id() const override { return request_.id; }
  const std::string& method() const override { return request_.method; }
  const boost::json::object& params() const override { return request_.params; }
  void stream(boost::json::value data) override { peer_->send(stream_line(request_.id, std::move(data))); }
  Peer& peer() { return *peer_; }

 private:
  std::shared_ptr<Peer> peer_;
  Request request_;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, const Registry& registry, Options options)
      : io(io), registry(registry), options(std::move(options)) {}

  void handle_line(const std::shared_ptr<Peer>& peer, std::string_view line) {
    auto parsed = parse_request(line);
    switch (parsed.kind) {
      case ParsedLine::Kind::blank:
        return;
      case ParsedLine::Kind::invalid:
        peer->send(failure_line(parsed.id, parsed.error));
        return;
      case ParsedLine::Kind::request:
        break;
    }
    const Handler* handler = registry.find(parsed.request.method);
    if (!handler) {
      peer->send(
          failure_line(parsed.request.id, fmt::format("unknown method \"{}\"", parsed.request.method)));
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
    call->peer().send(std::move(line));
  }

  void overlong(const std::shared_ptr<Peer>& peer) {
    peer->send(
        failure_line(nullptr, fmt::format("line longer than {} bytes ignored", options.max_line_bytes)));
  }

  asio::awaitable<void> read_stdin(std::shared_ptr<StdioPeer> peer, std::function<void()> on_eof) {
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
      if (ec) break;
    }
    peers.erase(peer);
    if (on_eof) on_eof();
  }

  asio::awaitable<void> read_socket(std::shared_ptr<SocketPeer> peer) {
    auto self = shared_from_this();
    LineSplitter splitter(options.max_line_bytes);
    std::array<char, 65536> buf;
    while (!peer->closed) {
      auto [ec, n] =
          co_await peer->socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (n > 0) {
        splitter.feed(
            std::string_view(buf.data(), n), [&](std::string_view line) { handle_line(peer, line); },
            [&] { overlong(peer); });
      }
      if (ec) break;
    }
    peer->shutdown();
    peers.erase(peer);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (acceptor && acceptor->is_open()) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor || !acceptor->is_open()) break;
        spdlog::warn("management socket accept: {}", ec.message());
        continue;
      }
      auto peer = std::make_shared<SocketPeer>(std::move(socket), options.max_pending_bytes);
      peers.insert(peer);
      peer->send(event_line("ready", options.ready_data));
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
    for (auto& p : peers) p->shutdown();
    peers.clear();
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
};

Server::Server(asio::io_context& io, const Registry& registry, Options options)
    : impl_(std::make_shared<Impl>(io, registry, std::move(options))) {
  // A driver that goes away must not kill us with SIGPIPE mid-write.
  std::signal(SIGPIPE, SIG_IGN);
}

Server::~Server() {
  if (!impl_->socket_path.empty()) ::unlink(impl_->socket_path.c_str());
}

void Server::serve_stdio(std::function<void()> on_eof) {
  auto peer = std::make_shared<StdioPeer>();
  impl_->stdin_desc.emplace(impl_->io);
  boost::system::error_code ec;
  impl_->stdin_desc->assign(::dup(STDIN_FILENO), ec);
  if (ec) {
    impl_->stdin_desc.reset();
    throw std::system_error(ec.value(), std::system_category(),
                            "management on stdio: stdin must be a pipe, socket or terminal");
  }
  impl_->peers.insert(peer);
  peer->send(event_line("ready", impl_->options.ready_data));
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
  stream_protocol::acceptor acceptor(impl_->io);
  boost::system::error_code ec;
  acceptor.open(stream_protocol(), ec);
  if (!ec) acceptor.bind(stream_protocol::endpoint(path), ec);
  if (ec) fail(ec.value(), "bind");
  ::chmod(path.c_str(), 0600);
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(ec.value(), "listen");
  impl_->acceptor.emplace(std::move(acceptor));
  impl_->socket_path = path;
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
}

void Server::emit(std::string_view event, boost::json::value data) {
  asio::post(impl_->io, [impl = impl_, line = event_line(event, std::move(data))] {
    for (const auto& p : impl->peers) p->send(line);
  });
}

void Server::close() {
  asio::post(impl_->io, [impl = impl_] { impl->close(); });
}

}  // namespace basalt::core::management
