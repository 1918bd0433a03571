#include "udp/udp_listener_set.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <future>

#include "basalt/core/ip_asio.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/socket.hpp"
#include "udp/datagram_batch.hpp"
#include "udp/udp_listener_socket.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// Bursts of datagrams queue here while the worker is busy (the kernel caps
// it at net.core.rmem_max without CAP_NET_ADMIN).
constexpr int kReceiveBuffer = 4 << 20;

std::vector<core::IpAddress> effective(const std::vector<core::IpAddress>& configured) {
  if (!configured.empty()) return configured;
  return {core::IpAddress::v4_any(), core::IpAddress::v6_any()};
}

}  // namespace

struct UdpListenerSet::Port {
  std::uint16_t number = 0;
  std::vector<std::vector<std::shared_ptr<UdpListenerSocket>>> sockets;  // [worker]
};

UdpListenerSet::Pending::Pending() = default;
UdpListenerSet::Pending::~Pending() = default;

UdpListenerSet::UdpListenerSet(core::Runtime& runtime, std::vector<core::IpAddress> bind_addresses,
                               Hooks hooks)
    : runtime_(runtime), bind_addresses_(std::move(bind_addresses)), hooks_(std::move(hooks)) {}

UdpListenerSet::~UdpListenerSet() = default;

std::optional<UdpListenerSet::Inherited> UdpListenerSet::Inherited::inspect(core::UniqueFd fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM)
    return std::nullopt;
  sockaddr_storage local{};
  len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) return std::nullopt;
  if (local.ss_family != AF_INET && local.ss_family != AF_INET6) return std::nullopt;
  auto at = core::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&local), len);
  if (!at || at->port == 0) return std::nullopt;
  return Inherited{.fd = std::move(fd), .address = at->address, .port = at->port};
}

std::shared_ptr<UdpListenerSocket> UdpListenerSet::make(std::size_t worker, int fd, std::uint16_t port,
                                                        bool v6) {
  udp::socket s(runtime_.worker(worker));
  boost::system::error_code ec;
  s.assign(v6 ? udp::v6() : udp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    throw std::system_error(ec.value(), std::system_category(), "UDP port " + std::to_string(port));
  }
  s.non_blocking(true, ec);
  enable_local_address(fd, v6 ? AF_INET6 : AF_INET);
  return std::make_shared<UdpListenerSocket>(std::move(s), next_id_++, port);
}

std::unique_ptr<UdpListenerSet::Pending> UdpListenerSet::prepare(const std::set<std::uint16_t>& wanted,
                                                                 std::vector<Inherited>* inherited) {
  auto pending = std::make_unique<Pending>();
  const bool defaults = bind_addresses_.empty();
  for (auto number : wanted) {
    if (open_.contains(number)) continue;
    auto port = std::make_unique<Port>();
    port->number = number;
    port->sockets.resize(runtime_.workers());
    for (const auto& address : effective(bind_addresses_)) {
      std::vector<core::UniqueFd> mine;
      if (inherited) {
        for (auto it = inherited->begin(); it != inherited->end();) {
          if (it->port == number && it->address == address) {
            mine.push_back(std::move(it->fd));
            it = inherited->erase(it);
          } else {
            ++it;
          }
        }
      }
      if (!mine.empty()) {
        // Every inherited socket is kept (closing one of the SO_REUSEPORT
        // group would drop what is queued on it), spread over the workers.
        for (std::size_t i = 0; i < mine.size(); ++i) {
          const std::size_t w = i % runtime_.workers();
          port->sockets[w].push_back(make(w, mine[i].release(), number, address.is_v6()));
        }
        continue;
      }
      udp::endpoint at(core::to_asio(address), number);
      std::vector<udp::socket> per_worker;
      try {
        per_worker =
            core::open_udp_per_worker(runtime_, at, {.reuse_port = true, .receive_buffer = kReceiveBuffer});
      } catch (const std::system_error& e) {
        if (defaults && address.is_v6() &&
            (e.code() == std::errc::address_family_not_supported ||
             e.code() == std::errc::address_not_available))
          continue;
        throw;
      }
      for (std::size_t w = 0; w < per_worker.size(); ++w) {
        const int fd = per_worker[w].release();
        port->sockets[w].push_back(make(w, fd, number, address.is_v6()));
      }
    }
    pending->ports.push_back(std::move(port));
  }
  return pending;
}

void UdpListenerSet::post_all(const Port& port,
                              const std::function<void(std::size_t, std::shared_ptr<UdpListenerSocket>)>& f,
                              bool wait) {
  std::vector<std::future<void>> done;
  for (std::size_t w = 0; w < port.sockets.size(); ++w) {
    for (const auto& socket : port.sockets[w]) {
      auto promise = std::make_shared<std::promise<void>>();
      done.push_back(promise->get_future());
      asio::post(runtime_.worker(w), [f, w, socket, promise] {
        f(w, socket);
        promise->set_value();
      });
    }
  }
  if (!wait || runtime_.stopped()) return;
  for (auto& d : done) d.wait_for(std::chrono::seconds(5));
}

void UdpListenerSet::commit(std::unique_ptr<Pending> pending, const std::set<std::uint16_t>& wanted) {
  for (auto& port : pending->ports) {
    if (reading_) post_all(*port, hooks_.start, false);
    auto number = port->number;
    open_[number] = std::move(port);
  }
  for (auto it = open_.begin(); it != open_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    post_all(*it->second, hooks_.close, true);
    it = open_.erase(it);
  }
}

void UdpListenerSet::stop_reading() {
  if (!reading_) return;
  reading_ = false;
  for (const auto& [number, port] : open_) post_all(*port, hooks_.stop_reading, true);
}

std::vector<std::uint16_t> UdpListenerSet::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& [number, port] : open_) out.push_back(number);
  return out;
}

std::vector<core::UniqueFd> UdpListenerSet::duplicate() const {
  std::vector<core::UniqueFd> out;
  for (const auto& [number, port] : open_) {
    for (const auto& per_worker : port->sockets) {
      for (const auto& socket : per_worker) {
        core::UniqueFd copy(::fcntl(socket->fd(), F_DUPFD_CLOEXEC, 3));
        if (!copy) throw std::system_error(errno, std::system_category(), "duplicating a UDP socket");
        out.push_back(std::move(copy));
      }
    }
  }
  return out;
}

}  // namespace basalt::proxy
