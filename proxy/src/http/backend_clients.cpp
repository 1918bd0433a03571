// BackendClients (backend_clients.hpp).
#include "http/backend_clients.hpp"

#include <fmt/format.h>

namespace basalt::proxy {

http::Client& BackendClients::get(const BackendProfile& p) {
  const std::string key =
      fmt::format("{}|{}|{}|{}|{}|{}", p.tls, p.trust.verify, p.trust.ca, static_cast<int>(p.protocol),
                  p.connect_timeout.count(), p.response_timeout.count());
  auto& slot = clients_[key];
  if (!slot) {
    http::ClientOptions o;
    o.tls = core::TlsClientOptions{.ca = p.trust.ca, .verify = p.trust.verify};
    o.http2 = p.protocol != BackendProtocol::kHttp1;
    o.h2c = !p.tls && p.protocol == BackendProtocol::kHttp2;
    o.connect_timeout = p.connect_timeout;
    o.request_timeout = p.response_timeout;
    o.idle_timeout = std::chrono::seconds(60);
    o.max_connections_per_origin = 1024;
    o.max_idle_per_origin = 256;
    o.max_pending_per_origin = 4096;
    slot = std::make_unique<http::Client>(io_, std::move(o));
  }
  return *slot;
}

std::uint64_t BackendClients::connections_opened() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [key, client] : clients_) n += client->connections_opened();
  return n;
}

void BackendClients::close() {
  for (auto& [key, client] : clients_) client->close();
}

}  // namespace basalt::proxy
