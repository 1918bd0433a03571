#include "basalt/proxy/commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <mutex>
#include <stdexcept>

#include "basalt/core/config.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/proxy/proxy.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
namespace json = boost::json;

struct ProxyCommands::State {
  Options options;
  std::mutex mutex;
  Proxy* proxy = nullptr;        // what commands act on
  std::unique_ptr<Proxy> owned;  // engine mode: started by `start`
  bool events = false;

  Proxy& running() {
    std::lock_guard lock(mutex);
    if (!proxy) throw std::runtime_error("the proxy is not started (send start first)");
    return *proxy;
  }
};

namespace {

const json::value& param(const json::object& params, std::string_view key) {
  static const json::value null;
  const auto* v = params.if_contains(key);
  return v ? *v : null;
}

std::uint16_t port_param(const json::object& params) {
  const auto& v = param(params, "port");
  if (v.is_null()) throw core::config::Error("port", "is required");
  std::uint32_t port = core::config::decode<std::uint32_t>(v, "port");
  if (port < 1 || port > 65535)
    throw core::config::Error("port", std::to_string(port) + " is not a port (1-65535)");
  return static_cast<std::uint16_t>(port);
}

json::object ports_json(const std::vector<std::uint16_t>& ports) {
  json::array list;
  for (auto p : ports) list.push_back(p);
  json::object out;
  out["ports"] = std::move(list);
  return out;
}

json::object enabled_json(bool on) {
  json::object out;
  out["enabled"] = on;
  return out;
}

// Certificate events go to the driver always (certificateRequest waits for its answer).
void apply_certificate_events(const std::shared_ptr<ProxyCommands::State>& state, Proxy& proxy) {
  auto emit = state->options.emit;
  proxy.set_certificate_events([emit](std::string_view event, json::value data) {
    if (emit) emit(event, std::move(data));
  });
}

std::string route_name_param(const json::object& params) {
  const auto& name = param(params, "routeName");
  if (name.is_null()) throw core::config::Error("routeName", "is required");
  return core::config::decode<std::string>(name, "routeName");
}

void apply_events(const std::shared_ptr<ProxyCommands::State>& state, Proxy& proxy) {
  if (!state->events) {
    proxy.set_connection_events({});
    return;
  }
  auto emit = state->options.emit;
  proxy.set_connection_events([emit](std::string_view event, json::value data) {
    if (emit) emit(event, std::move(data));
  });
}

// drain {graceMs?}: graceMs a timeout (1 ms to 365 days); absent: drainTimeout.
std::optional<std::chrono::milliseconds> grace_param(const json::object& params) {
  for (const auto& kv : params) {
    if (kv.key() != "graceMs")
      throw core::config::Error(std::string(kv.key()), "is not a parameter of drain (graceMs)");
  }
  const auto& v = param(params, "graceMs");
  if (v.is_null()) return std::nullopt;
  constexpr std::uint64_t kMaxMs = std::uint64_t{365} * 24 * 3600 * 1000;
  std::uint64_t ms = 0;
  if (v.is_uint64()) ms = v.get_uint64();
  if (v.is_int64() && v.get_int64() > 0) ms = static_cast<std::uint64_t>(v.get_int64());
  if (ms == 0 || ms > kMaxMs) {
    throw core::config::Error("graceMs", json::serialize(v) + " is not a time in milliseconds (1 to " +
                                             std::to_string(kMaxMs) + ")");
  }
  return std::chrono::milliseconds(ms);
}

json::object draining_json(std::optional<std::chrono::milliseconds> grace,
                           std::chrono::milliseconds fallback) {
  json::object out;
  out["draining"] = true;
  out["graceMs"] = grace.value_or(fallback).count();
  return out;
}

// Daemon: stop accepting, drain, exit when done (answers at once). Engine:
// like stop, with the grace given (answers once stopped, event stopped).
void register_drain(core::management::Registry& registry, const std::shared_ptr<ProxyCommands::State>& state,
                    bool engine) {
  registry.add("drain", [state, engine](core::management::Call& call) -> asio::awaitable<json::value> {
    auto grace = grace_param(call.params());
    if (!engine) {
      auto& proxy = state->running();
      auto fallback = proxy.options().drain_timeout;
      if (!state->options.drain_daemon) throw std::runtime_error("drain is not available here");
      state->options.drain_daemon(grace);
      co_return json::value(draining_json(grace, fallback));
    }
    std::unique_ptr<Proxy> owned;
    {
      std::lock_guard lock(state->mutex);
      owned = std::move(state->owned);
      state->proxy = nullptr;
    }
    if (!owned) throw std::runtime_error("the proxy is not started (send start first)");
    auto limit = grace.value_or(owned->options().drain_timeout);
    owned->drain(limit);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (owned->running()) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    owned->wait();
    owned.reset();
    if (state->options.emit) state->options.emit("stopped", json::object{});
    co_return json::value(draining_json(grace, limit));
  });
}

}  // namespace

ProxyCommands::ProxyCommands(Options options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
}

ProxyCommands::~ProxyCommands() {
  shutdown();
}

void ProxyCommands::attach(Proxy* proxy) {
  std::lock_guard lock(state_->mutex);
  state_->proxy = proxy;
  if (proxy) apply_certificate_events(state_, *proxy);
}

void ProxyCommands::shutdown() {
  std::unique_ptr<Proxy> owned;
  {
    std::lock_guard lock(state_->mutex);
    owned = std::move(state_->owned);
    if (owned) state_->proxy = nullptr;
  }
  if (owned) {
    owned->stop(std::chrono::milliseconds(0));
    owned->wait();
  }
}

void ProxyCommands::register_commands(core::management::Registry& registry) {
  auto state = state_;
  const bool engine = !state->options.stop_daemon;

  registry.add_sync("start", [state, engine](const json::object& params) -> json::value {
    if (!engine) throw std::runtime_error("the daemon is already running its config file's proxy");
    const auto& config = param(params, "config");
    if (config.is_null()) throw core::config::Error("config", "is required");
    auto options = decode_options(config, state->options.base_dir);
    {
      std::lock_guard lock(state->mutex);
      if (state->proxy) throw std::runtime_error("the proxy is already started (send stop first)");
    }
    auto proxy = std::make_unique<Proxy>(std::move(options));
    apply_certificate_events(state, *proxy);
    proxy->start();
    apply_events(state, *proxy);
    {
      std::lock_guard lock(state->mutex);
      state->proxy = proxy.get();
      state->owned = std::move(proxy);
    }
    if (state->options.emit) state->options.emit("started", json::object{});
    return json::object{};
  });

  registry.add("stop", [state, engine](core::management::Call&) -> asio::awaitable<json::value> {
    if (!engine) {
      state->options.stop_daemon();
      co_return json::object{};
    }
    std::unique_ptr<Proxy> owned;
    {
      std::lock_guard lock(state->mutex);
      owned = std::move(state->owned);
      state->proxy = nullptr;
    }
    if (owned) {
      owned->stop();
      asio::steady_timer timer(co_await asio::this_coro::executor);
      while (owned->running()) {
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      owned->wait();
      owned.reset();
      if (state->options.emit) state->options.emit("stopped", json::object{});
    }
    co_return json::object{};
  });

  registry.add_sync("updateRoutes", [state](const json::object& params) -> json::value {
    const auto& routes = param(params, "routes");
    if (routes.is_null()) throw core::config::Error("routes", "is required");
    auto decoded = decode_routes(routes, "routes", state->options.base_dir);
    state->running().update_routes(std::move(decoded));
    return json::object{};
  });

  registry.add_sync("getListeningPorts", [state](const json::object&) -> json::value {
    return ports_json(state->running().listening_ports());
  });
  registry.add_sync("addListeningPort", [state](const json::object& params) -> json::value {
    auto port = port_param(params);
    auto& proxy = state->running();
    proxy.add_listening_port(port);
    return ports_json(proxy.listening_ports());
  });
  registry.add_sync("removeListeningPort", [state](const json::object& params) -> json::value {
    auto port = port_param(params);
    auto& proxy = state->running();
    proxy.remove_listening_port(port);
    return ports_json(proxy.listening_ports());
  });
  registry.add_sync("getMetrics", [state](const json::object& params) -> json::value {
    return state->running().metrics(params);
  });
  registry.add_sync("getStatistics", [state](const json::object&) -> json::value {
    auto out = state->running().statistics();
    if (state->options.add_statistics) state->options.add_statistics(out);
    return out;
  });
  register_drain(registry, state, engine);
  registry.add_sync("getCertificateStatus", [state](const json::object& params) -> json::value {
    return state->running().certificate_status(route_name_param(params));
  });
  for (const auto& [method, force] : {std::pair<const char*, bool>{"provisionCertificate", false},
                                      std::pair<const char*, bool>{"renewCertificate", true}}) {
    registry.add(method,
                 [state, force = force](core::management::Call& call) -> asio::awaitable<json::value> {
                   std::string route = route_name_param(call.params());
                   auto& proxy = state->running();
                   auto status = co_await proxy.provision_certificate(std::move(route), force);
                   co_return json::value(std::move(status));
                 });
  }
  registry.add_sync("provideCertificate", [state](const json::object& params) -> json::value {
    for (const auto& kv : params) {
      if (kv.key() != "domain" && kv.key() != "cert" && kv.key() != "key" && kv.key() != "acme")
        throw core::config::Error(std::string(kv.key()),
                                  "is not a parameter of provideCertificate (domain, cert, key, acme)");
    }
    const auto& domain = param(params, "domain");
    if (domain.is_null()) throw core::config::Error("domain", "is required");
    const bool use_acme =
        !param(params, "acme").is_null() && core::config::decode<bool>(param(params, "acme"), "acme");
    std::string cert, key;
    if (!use_acme) {
      if (param(params, "cert").is_null()) throw core::config::Error("cert", "is required (or acme: true)");
      if (param(params, "key").is_null()) throw core::config::Error("key", "is required (or acme: true)");
      cert = core::config::decode<std::string>(param(params, "cert"), "cert");
      key = core::config::decode<std::string>(param(params, "key"), "key");
    }
    state->running().provide_certificate(core::config::decode<std::string>(domain, "domain"), cert, key,
                                         use_acme);
    return json::object{};
  });
  registry.add_sync("setConnectionEvents", [state](const json::object& params) -> json::value {
    bool on = core::config::decode<bool>(param(params, "enabled"), "enabled");
    std::lock_guard lock(state->mutex);
    state->events = on;
    if (state->proxy) apply_events(state, *state->proxy);
    return enabled_json(on);
  });
}

}  // namespace basalt::proxy
