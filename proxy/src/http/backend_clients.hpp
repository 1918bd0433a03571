// A worker's HTTP clients towards backends, one per way of talking to them
// (plain or TLS with its trust settings, and the protocol: auto / http1 /
// http2). Each is an http::Client with its own per-origin connection pools,
// so upstream keep-alive connections are shared by every client connection
// of the worker and survive route updates that keep the same settings.
//
// Pool settings follow Envoy's defaults for an upstream cluster: kept-alive
// connections are reused until the backend closes them or they idle out;
// no age cap (a pooled connection is never cut while a request or a
// WebSocket runs on it, and none is retired by age at all).
//
// Thread-safety: one per worker, used on that worker's thread only.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "basalt/http/client.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

struct BackendProfile {
  bool tls = false;
  BackendTls trust;  // tls only
  BackendProtocol protocol = BackendProtocol::kAuto;
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds response_timeout{60'000};
};

class BackendClients {
 public:
  explicit BackendClients(boost::asio::io_context& io) : io_(io) {}

  // The client for `profile`, created on first use. Throws
  // std::invalid_argument when the trust settings cannot be loaded (a CA
  // file that went away since the config was checked).
  http::Client& get(const BackendProfile& profile);

  void close();
  // Connections every client opened so far.
  std::uint64_t connections_opened() const noexcept;

 private:
  boost::asio::io_context& io_;
  std::map<std::string, std::unique_ptr<http::Client>> clients_;
};

}  // namespace basalt::proxy
