#include "listener_set.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <future>

#include "basalt/core/accept_pause.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/socket.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

struct ListenerSet::Port {
  std::uint16_t number = 0;
  // acceptors[worker] = one per bind address
  std::vector<std::vector<std::shared_ptr<tcp::acceptor>>> acceptors;
};

ListenerSet::Pending::Pending() = default;
ListenerSet::Pending::~Pending() = default;

namespace {

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor, std::size_t worker,
                                  std::uint16_t port, ListenerSet::OnAccept* on_accept) {
  core::AcceptPause pause("proxy port " + std::to_string(port));
  asio::steady_timer timer(acceptor->get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (!ec) {
      // Served even when the acceptor closed meanwhile (a drain, a port
      // removed): the client's connection is established, and dropping it
      // here would reset it.
      pause.after_success();
      (*on_accept)(worker, std::move(socket), port);
    }
    if (!acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      auto delay = pause.after_error(ec);
      if (delay.count() > 0) {
        timer.expires_after(delay);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!acceptor->is_open()) co_return;
      }
    }
  }
}

// The addresses to bind: the configured ones, or every IPv4 and IPv6 address
// (IPv6 skipped quietly where the host has none).
std::vector<core::IpAddress> effective(const std::vector<core::IpAddress>& configured) {
  if (!configured.empty()) return configured;
  return {core::IpAddress::v4_any(), core::IpAddress::v6_any()};
}

}  // namespace

ListenerSet::ListenerSet(core::Runtime& runtime, std::vector<core::IpAddress> bind_addresses,
                         OnAccept on_accept)
    : runtime_(runtime), bind_addresses_(std::move(bind_addresses)), on_accept_(std::move(on_accept)) {}

ListenerSet::~ListenerSet() = default;

std::optional<ListenerSet::Inherited> ListenerSet::Inherited::inspect(core::UniqueFd fd) {
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
    return std::nullopt;
  len = sizeof listening;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
    return std::nullopt;
  sockaddr_storage local{};
  len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) return std::nullopt;
  if (local.ss_family != AF_INET && local.ss_family != AF_INET6) return std::nullopt;
  auto at = core::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&local), len);
  if (!at || at->port == 0) return std::nullopt;
  return Inherited{.fd = std::move(fd), .address = at->address, .port = at->port};
}

// Adopts every inherited socket of `number` on `address` into `port`,
// spread over the workers. A worker left without one gets a socket of its
// own in the same SO_REUSEPORT group when the kernel allows it (same user);
// else the others serve its share. False when nothing was inherited.
bool ListenerSet::adopt(Port& port, const core::IpAddress& address, std::vector<Inherited>& inherited) {
  std::vector<core::UniqueFd> mine;
  for (auto it = inherited.begin(); it != inherited.end();) {
    if (it->port == port.number && it->address == address) {
      mine.push_back(std::move(it->fd));
      it = inherited.erase(it);
    } else {
      ++it;
    }
  }
  if (mine.empty()) return false;
  tcp::endpoint at(core::to_asio(address), port.number);
  for (std::size_t i = 0; i < mine.size(); ++i) {
    std::size_t w = i % runtime_.workers();
    auto acceptor = std::make_shared<tcp::acceptor>(runtime_.worker(w));
    boost::system::error_code ec;
    acceptor->assign(at.protocol(), mine[i].get(), ec);
    if (ec)
      throw std::system_error(ec.value(), std::system_category(), "adopting " + at.address().to_string());
    mine[i].release();
    port.acceptors[w].push_back(std::move(acceptor));
  }
  for (std::size_t w = mine.size(); w < runtime_.workers(); ++w) {
    try {
      port.acceptors[w].push_back(
          std::make_shared<tcp::acceptor>(core::open_tcp(runtime_.worker(w), at, {.reuse_port = true})));
    } catch (const std::system_error& e) {
      spdlog::debug("port {}: {} inherited sockets serve {} workers ({})", port.number, mine.size(),
                    runtime_.workers(), e.what());
      break;
    }
  }
  return true;
}

std::unique_ptr<ListenerSet::Pending> ListenerSet::prepare(const std::set<std::uint16_t>& wanted,
                                                           std::vector<Inherited>* inherited) {
  auto pending = std::make_unique<Pending>();
  const bool defaults = bind_addresses_.empty();
  for (auto number : wanted) {
    if (open_.contains(number)) continue;
    auto port = std::make_unique<Port>();
    port->number = number;
    port->acceptors.resize(runtime_.workers());
    for (const auto& address : effective(bind_addresses_)) {
      if (inherited && adopt(*port, address, *inherited)) continue;
      tcp::endpoint at(core::to_asio(address), number);
      std::vector<tcp::acceptor> per_worker;
      try {
        per_worker = core::open_tcp_per_worker(runtime_, at);
      } catch (const std::system_error& e) {
        if (defaults && address.is_v6() &&
            (e.code() == std::errc::address_family_not_supported ||
             e.code() == std::errc::address_not_available))
          continue;
        throw;  // `pending` closes what it opened
      }
      for (std::size_t w = 0; w < per_worker.size(); ++w)
        port->acceptors[w].push_back(std::make_shared<tcp::acceptor>(std::move(per_worker[w])));
    }
    pending->ports.push_back(std::move(port));
  }
  return pending;
}

void ListenerSet::commit(std::unique_ptr<Pending> pending, const std::set<std::uint16_t>& wanted) {
  for (auto& port : pending->ports) {
    start(*port);
    auto number = port->number;
    open_[number] = std::move(port);
  }
  // An acceptor is closed on its own worker (Asio objects are not shared
  // between threads); the caller (control plane, never a worker) waits.
  std::vector<std::future<void>> closed;
  for (auto it = open_.begin(); it != open_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    for (std::size_t w = 0; w < it->second->acceptors.size(); ++w) {
      for (auto& acceptor : it->second->acceptors[w]) {
        auto done = std::make_shared<std::promise<void>>();
        closed.push_back(done->get_future());
        asio::post(runtime_.worker(w), [acceptor, done] {
          // release() takes the socket out of epoll before the close: a
          // successor may hold a copy of it, and then close() alone would
          // leave it registered here.
          boost::system::error_code ignored;
          if (acceptor->is_open()) {
            int fd = acceptor->release(ignored);
            if (fd >= 0) ::close(fd);
          }
          done->set_value();
        });
      }
    }
    it = open_.erase(it);
  }
  // Bounded: a stopped runtime never runs the posts.
  if (runtime_.stopped()) return;
  for (auto& f : closed) f.wait_for(std::chrono::seconds(5));
}

void ListenerSet::close_all() {
  std::unique_ptr<Pending> none = std::make_unique<Pending>();
  commit(std::move(none), {});
}

void ListenerSet::start(Port& port) {
  for (std::size_t w = 0; w < port.acceptors.size(); ++w) {
    for (auto& acceptor : port.acceptors[w]) {
      asio::co_spawn(runtime_.worker(w), accept_loop(acceptor, w, port.number, &on_accept_), asio::detached);
    }
  }
}

std::vector<core::UniqueFd> ListenerSet::duplicate() const {
  std::vector<core::UniqueFd> out;
  for (const auto& [number, port] : open_) {
    for (const auto& per_worker : port->acceptors) {
      for (const auto& acceptor : per_worker) {
        core::UniqueFd copy(::fcntl(acceptor->native_handle(), F_DUPFD_CLOEXEC, 3));
        if (!copy) throw std::system_error(errno, std::system_category(), "duplicating a listening socket");
        out.push_back(std::move(copy));
      }
    }
  }
  return out;
}

std::vector<std::uint16_t> ListenerSet::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& [number, port] : open_) out.push_back(number);
  return out;
}

}  // namespace basalt::proxy
