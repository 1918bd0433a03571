#include "basalt/proxy/proxy.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <fmt/chrono.h>
#include <fmt/ranges.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "balance/health_checker.hpp"
#include "balance/health_registry.hpp"
#include "basalt/core/config.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/snapshot.hpp"
#include "certs/auto_certificates.hpp"
#include "l4/ticket_keys.hpp"
#include "listener_set.hpp"
#include "metrics/metrics_reader.hpp"
#include "metrics/route_registry.hpp"
#include "nftables/kernel_forwarder.hpp"
#include "nftables/rule_plan.hpp"
#include "route_set.hpp"
#include "security/connection_limits.hpp"
#include "udp/udp_listener_set.hpp"
#include "udp/udp_listener_socket.hpp"
#include "udp/udp_prometheus.hpp"
#include "udp/udp_routes.hpp"
#include "udp/udp_worker.hpp"
#include "worker.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::size_t worker_count(std::uint32_t configured) {
  if (configured > 0) return configured;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 0;  // the runtime's default: every hardware thread
}

ConnectionSettings settings_of(const ProxyOptions& o) {
  return {.connect_timeout = o.connect_timeout,
          .initial_data_timeout = o.initial_data_timeout,
          .inactivity_timeout = o.inactivity_timeout,
          .max_connection_lifetime = o.max_connection_lifetime,
          .max_connections_per_ip = o.max_connections_per_ip,
          .connection_rate_limit_per_minute = o.connection_rate_limit_per_minute,
          .accept_proxy_protocol = o.accept_proxy_protocol};
}

// The certificate store: acme.certificateStore, else <stateDir>/certs.
std::unique_ptr<AutoCertificates> make_certificates(const ProxyOptions& o) {
  if (!o.acme) return nullptr;
  std::filesystem::path store = o.acme->certificate_store;
  if (store.empty())
    store = std::filesystem::path(o.state_dir.empty() ? "/var/lib/basalt-proxy" : o.state_dir) / "certs";
  return std::make_unique<AutoCertificates>(AutoCertificates::Options{.acme = *o.acme, .store = store});
}

std::filesystem::path state_dir_of(const ProxyOptions& o) {
  return o.state_dir.empty() ? "/var/lib/basalt-proxy" : o.state_dir;
}

std::shared_ptr<const RouteSet> build_set(const ProxyOptions& o, std::shared_ptr<TicketKeys> tickets,
                                          RouteStateRegistries registries, RouteRegistry& registry,
                                          UdpLimitsRegistry& udp) {
  auto set = RouteSet::build(resolve_proxy_protocol(o.routes, o), o.defaults, std::move(tickets), registries);
  set->settings = settings_of(o);
  set->udp = UdpRoutes::build(*set->table, set->settings, udp);
  set->http = o.http;
  if (auto trusted = IpPatternList::compile(o.proxy_ips)) set->proxy_ips = std::move(*trusted);
  std::vector<std::string> ids;
  for (const auto& route : set->table->routes()) ids.push_back(route.id);
  set->slots = registry.assign(ids);
  return set;
}

// The client-side HTTP limits (workers keep them until a restart).
http::Limits http_limits(const ProxyOptions& o) {
  http::Limits l;
  l.idle_timeout = o.http.idle_timeout;
  l.request_timeout = o.http.request_timeout;
  l.max_body_bytes = o.http.max_body_bytes;
  // The backend's answer bounds a request, not a handler timeout of its own.
  l.handler_timeout = o.http.backend_timeout + o.connect_timeout + std::chrono::seconds(1);
  l.body_timeout = std::chrono::milliseconds(0);
  l.stream_idle_timeout = o.inactivity_timeout;
  return l;
}

std::vector<std::shared_ptr<BackendPool>> pools_of(const RouteSet& set) {
  std::vector<std::shared_ptr<BackendPool>> pools;
  for (const auto& parts : set.route_http) {
    if (parts.pool) pools.push_back(parts.pool);
  }
  return pools;
}

RefuseReason reason_of(LimitRefusal refusal) {
  switch (refusal) {
    case LimitRefusal::kRouteMaxConnections:
      return RefuseReason::kRouteMaxConnections;
    case LimitRefusal::kIpMaxConnections:
      return RefuseReason::kIpMaxConnections;
    case LimitRefusal::kIpRateLimit:
      return RefuseReason::kIpRateLimit;
    case LimitRefusal::kIpTableFull:
      return RefuseReason::kIpTableFull;
  }
  return RefuseReason::kIpTableFull;
}

// Each worker's metrics count bytes into the second of its last tick.
asio::awaitable<void> tick_metrics(WorkerMetrics& metrics) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    metrics.tick(std::chrono::system_clock::now());
    timer.expires_after(std::chrono::milliseconds(250));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// Socket takeover: what each handed-over descriptor is (anything but a
// listening TCP socket or a bound UDP socket is closed at once). UDP
// sockets go to `udp`.
std::vector<ListenerSet::Inherited> inspect_inherited(std::vector<core::UniqueFd> fds,
                                                      std::vector<UdpListenerSet::Inherited>& udp) {
  std::vector<ListenerSet::Inherited> out;
  for (auto& fd : fds) {
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM) {
      if (auto socket = UdpListenerSet::Inherited::inspect(std::move(fd))) udp.push_back(std::move(*socket));
      continue;
    }
    if (auto socket = ListenerSet::Inherited::inspect(std::move(fd))) {
      out.push_back(std::move(*socket));
    } else {
      spdlog::warn("takeover: a handed-over descriptor is not a listening TCP socket; closed");
    }
  }
  return out;
}

// Inherited sockets the routes do not need: this process's copies close now;
// the sockets themselves close when the old process has closed its own.
void close_unneeded(std::vector<ListenerSet::Inherited> left) {
  for (const auto& socket : left) {
    spdlog::info("takeover: {} is not in this config; closing it",
                 core::Endpoint{socket.address, socket.port}.to_string());
  }
}

}  // namespace

struct Proxy::Impl final : ProxyCore {
  explicit Impl(ProxyOptions o)
      : options(std::move(o)),
        runtime({.workers = worker_count(options.workers)}),
        shutdown(runtime, options.graceful_shutdown_timeout),
        tickets(std::make_shared<TicketKeys>()),
        certificates(make_certificates(options)),
        routes(build_set(options, tickets, registries(), registry, udp_registry)),
        kernel_plan(RulePlan::build(routes.load()->table->routes())),
        kernel(state_dir_of(options)),
        listeners(runtime, options.bind_addresses,
                  [this](std::size_t w, asio::ip::tcp::socket s, std::uint16_t port) {
                    serve_connection(*workers[w], std::move(s), port);
                  }),
        udp_listeners(
            runtime, options.bind_addresses,
            {.start = [this](std::size_t w,
                             std::shared_ptr<UdpListenerSocket> s) { udp_workers[w]->start_listener(s); },
             .close = [this](std::size_t w,
                             std::shared_ptr<UdpListenerSocket> s) { udp_workers[w]->close_listener(s); },
             .stop_reading =
                 [this](std::size_t w, std::shared_ptr<UdpListenerSocket> s) {
                   udp_workers[w]->stop_reading(s);
                 }}) {
    TargetResolver::Options resolver;
    for (const auto& server : options.dns.servers) {
      auto ep = core::Endpoint::parse(server, nullptr, {.default_port = 53});
      if (ep) resolver.servers.push_back(*ep);
    }
    for (std::size_t i = 0; i < runtime.workers(); ++i)
      workers.push_back(std::make_unique<Worker>(i, runtime.worker(i), routes, *this, resolver,
                                                 WorkerMetricsOptions{.max_routes = registry.capacity()},
                                                 http_limits(options)));
    for (auto& w : workers) asio::co_spawn(w->io, tick_metrics(w->metrics), asio::detached);
    for (auto& w : workers) udp_workers.push_back(std::make_unique<UdpWorker>(*w, registry.capacity()));
    checker.update(pools_of(*routes.load()));
    if (certificates) certificates->commit(generation);
    shutdown.on_begin([this] {
      std::lock_guard lock(control);
      listeners.close_all();
      udp_listeners.stop_reading();
      kernel.remove_all();
      if (certificates) certificates->stop();
      // HTTP connections finish their requests and close (HTTP/2: GOAWAY).
      for (auto& w : workers) asio::post(w->io, [worker = w.get()] { worker->http_server.drain(); });
    });
  }

  // ---- ProxyCore ----
  core::Shutdown::Token hold() override { return shutdown.hold(); }
  bool draining() const override { return shutdown.draining(); }

  void refused(std::size_t worker, RefuseReason reason, std::string_view detail,
               const core::IpAddress& client) override {
    workers[worker]->metrics.refused(reason);
    // A flood of refusals must not cost a formatted line each unless asked for.
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("refused {}: {} {}", client.to_string(), to_string(reason), detail);
  }

  // Lives on the connection's worker thread, as its metrics handle must.
  struct Lease final : ConnectionLease {
    Lease(WorkerMetrics& metrics, ConnectionHandle handle, ConnectionTicket ticket)
        : metrics(metrics), handle(handle), ticket(std::move(ticket)) {}
    ~Lease() override { metrics.connection_closed(handle); }
    void bytes(std::uint64_t in, std::uint64_t out) noexcept override { metrics.bytes(handle, in, out); }
    WorkerMetrics& metrics;
    ConnectionHandle handle;
    ConnectionTicket ticket;
  };

  std::unique_ptr<ConnectionLease> admit(std::size_t worker, const RouteSet& set, const Route& route,
                                         const core::Endpoint& client, std::uint16_t port) override {
    const auto& security = route.security;
    Limits route_limits{.max_connections = security.max_connections,
                        .max_connections_per_ip = security.max_connections_per_ip
                                                      ? security.max_connections_per_ip
                                                      : set.settings.max_connections_per_ip,
                        .rate_per_minute = security.connection_rate_limit_per_minute
                                               ? security.connection_rate_limit_per_minute
                                               : set.settings.connection_rate_limit_per_minute};
    auto admission = limits.admit(client.address, route_limits, set.counters[route.position].get(),
                                  std::chrono::steady_clock::now());
    if (!admission) {
      refused(worker, reason_of(admission.refusal()), {}, client.address);
      return nullptr;
    }
    auto& metrics = workers[worker]->metrics;
    auto handle = metrics.connection_opened(set.slots[route.position], client.address);
    emit_event("connectionOpened", route, client, port, nullptr);
    return std::make_unique<Lease>(metrics, handle, std::move(admission.ticket()));
  }

  void closed(std::size_t, const Route& route, const core::Endpoint& client, std::uint16_t port,
              std::uint64_t from_client, std::uint64_t to_client, std::chrono::milliseconds duration,
              std::string_view reason) override {
    Closing closing{from_client, to_client, duration, reason};
    emit_event("connectionClosed", route, client, port, &closing);
  }

  struct Closing {
    std::uint64_t in, out;
    std::chrono::milliseconds duration;
    std::string_view reason;
  };
  void emit_event(std::string_view name, const Route& route, const core::Endpoint& client, std::uint16_t port,
                  const Closing* closing) {
    if (!events_on.load(std::memory_order_relaxed)) return;
    auto sink = events.load();
    if (!sink || !*sink) return;
    json::object data;
    data["route"] = route.id;
    data["clientIp"] = client.address.to_string();
    data["clientPort"] = client.port;
    data["port"] = port;
    if (closing) {
      data["bytesIn"] = closing->in;
      data["bytesOut"] = closing->out;
      data["durationMs"] = closing->duration.count();
      data["reason"] = closing->reason;
    }
    (*sink)(name, std::move(data));
  }

  // ---- control ----
  // Builds, binds, publishes; throws and changes nothing on failure. Caller holds `control`.
  RouteStateRegistries registries() {
    return {.limits = limits,
            .health = health,
            .rate_limits = rate_limits,
            .retirements = retirements,
            .certificates = certificates.get(),
            .generation = ++generation};
  }

  void apply(ProxyOptions next) {
    auto set = build_set(next, tickets, registries(), registry, udp_registry);
    auto plan = RulePlan::build(set->table->routes());
    if (started) {
      auto wanted = wanted_ports(*set);
      auto pending = listeners.prepare(wanted);
      auto udp_wanted = wanted_udp_ports(*set);
      auto udp_pending = udp_listeners.prepare(udp_wanted);
      kernel.apply(plan);  // one transaction; on failure nothing changed
      routes.publish(set);
      listeners.commit(std::move(pending), wanted);
      udp_listeners.commit(std::move(udp_pending), udp_wanted);
    } else {
      routes.publish(set);
    }
    udp_registry.retain(set->udp->route_ids());
    kernel_plan = std::move(plan);
    checker.update(pools_of(*set));
    if (certificates) certificates->commit(generation);
    retire_removed_routes(*set, next.drain_grace);
    std::set<std::string, std::less<>> keys;
    for (const auto& parts : set->route_http) {
      if (!parts.pool) continue;
      for (std::size_t i = 0; i < parts.pool->size(); ++i) keys.insert(parts.pool->backend(i).key);
    }
    health.retain(keys);
    options = std::move(next);
    spdlog::info("routes updated: {} routes, ports {}{}", set->table->routes().size(),
                 fmt::join(listeners.ports(), ","), udp_ports_text());
  }

  // Routes the new table lacks: what they carry gets drainGrace. Every
  // worker's watchdogs look at their deadlines again.
  void retire_removed_routes(const RouteSet& set, std::chrono::milliseconds grace) {
    std::set<std::string, std::less<>> live;
    for (const auto& route : set.table->routes()) live.insert(route.id);
    const auto retired = retirements.retire_missing(live, grace);
    if (retired == 0) return;
    spdlog::info("{} route(s) removed: what they carry keeps running for up to {} ms (drainGrace)", retired,
                 grace.count());
    for (auto& w : workers) asio::post(w->io, [worker = w.get()] { worker->wake_watchdogs(); });
  }

  std::set<std::uint16_t> wanted_udp_ports(const RouteSet& set) const {
    return {set.udp->ports().begin(), set.udp->ports().end()};
  }
  std::string udp_ports_text() const {
    auto ports = udp_listeners.ports();
    if (ports.empty()) return {};
    return fmt::format(", UDP ports {}", fmt::join(ports, ","));
  }

  // Every worker's UDP counters summed: getStatistics' `udp`.
  json::object udp_statistics() const {
    std::uint64_t in = 0, out = 0, bytes_in = 0, bytes_out = 0, active = 0, total = 0, expired = 0;
    std::array<std::uint64_t, kUdpDropCount> drops{};
    std::map<std::string, std::array<std::uint64_t, 4>> by_route;
    const auto& entries = registry.entries();
    for (const auto& w : udp_workers) {
      const auto& c = w->counters();
      in += c.datagrams_in.load();
      out += c.datagrams_out.load();
      bytes_in += c.bytes_in.load();
      bytes_out += c.bytes_out.load();
      active += c.sessions_active.load();
      total += c.sessions_total.load();
      expired += c.sessions_expired.load();
      for (std::size_t i = 0; i < kUdpDropCount; ++i) drops[i] += c.drops(static_cast<UdpDrop>(i));
      for (std::size_t slot = 0; slot < c.slots(); ++slot) {
        const auto& r = c.route(slot);
        if (r.in.load() == 0 && r.out.load() == 0) continue;
        const std::string id =
            slot < entries.size() ? entries[slot].id : std::string(RouteRegistry::kOverflowId);
        auto& sum = by_route[id];
        sum[0] += r.in.load();
        sum[1] += r.out.load();
        sum[2] += r.bytes_in.load();
        sum[3] += r.bytes_out.load();
      }
    }
    json::object dropped, routes_out;
    std::uint64_t dropped_total = 0;
    for (std::size_t i = 0; i < kUdpDropCount; ++i) {
      dropped_total += drops[i];
      if (drops[i]) dropped[to_string(static_cast<UdpDrop>(i))] = drops[i];
    }
    for (const auto& [id, v] : by_route) {
      routes_out[id] = {{"datagramsIn", v[0]}, {"datagramsOut", v[1]}, {"bytesIn", v[2]}, {"bytesOut", v[3]}};
    }
    json::object o;
    o["datagramsIn"] = in;
    o["datagramsOut"] = out;
    o["bytesIn"] = bytes_in;
    o["bytesOut"] = bytes_out;
    o["activeSessions"] = active;
    o["totalSessions"] = total;
    o["expiredSessions"] = expired;
    o["dropped"] = json::object{{"total", dropped_total}, {"byReason", std::move(dropped)}};
    o["byRoute"] = std::move(routes_out);
    json::array ports;
    for (auto p : udp_listeners.ports()) ports.push_back(p);
    o["listeningPorts"] = std::move(ports);
    return o;
  }

  std::set<std::uint16_t> wanted_ports(const RouteSet& set) const {
    std::set<std::uint16_t> wanted(set.table->ports().begin(), set.table->ports().end());
    wanted.insert(manual_ports.begin(), manual_ports.end());
    if (set.acme_port != 0) wanted.insert(set.acme_port);  // HTTP-01, with or without a route
    return wanted;
  }

  ProxyOptions options;
  std::mutex control;  // serialises starts, updates and port changes
  core::Runtime runtime;
  core::Shutdown shutdown;
  std::shared_ptr<TicketKeys> tickets;
  ConnectionLimits limits;
  HealthRegistry health;
  HealthChecker checker;  // runs the routes' active health checks
  RateLimiterRegistry rate_limits;
  RetirementRegistry retirements;                  // under `control`
  std::uint64_t generation = 0;                    // of the route set being built; under `control`
  std::unique_ptr<AutoCertificates> certificates;  // with an `acme` section
  RouteRegistry registry;                          // under `control`
  UdpLimitsRegistry udp_registry;                  // under `control`
  core::Snapshot<RouteSet> routes;
  RulePlan kernel_plan;    // forwardingEngine: nftables routes; under `control`
  KernelForwarder kernel;  // installs kernel_plan once started; under `control`
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::unique_ptr<UdpWorker>> udp_workers;  // by worker index
  ListenerSet listeners;
  UdpListenerSet udp_listeners;
  std::set<std::uint16_t> manual_ports;
  bool started = false;

  std::atomic<bool> events_on{false};
  core::Snapshot<EventSink> events{std::make_shared<const EventSink>()};

  // Every worker's metrics summed; caller holds `control` (the registry).
  Metrics collect(const MetricsQuery& query) const {
    std::vector<const WorkerMetrics*> recorders;
    for (const auto& w : workers) recorders.push_back(&w->metrics);
    MetricsReader reader(recorders, registry);
    auto m = reader.collect(query, std::chrono::system_clock::now());
    for (const auto& b : health.snapshot()) {
      m.backends.push_back({.route = b.route_id,
                            .backend = (b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host) +
                                       ":" + std::to_string(b.port),
                            .healthy = b.healthy,
                            .ejected = b.ejected,
                            .active = b.active,
                            .requests = b.counters.requests,
                            .failures = b.counters.failures,
                            .ejections = b.counters.ejections});
    }
    return m;
  }
};

Proxy::Proxy(ProxyOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Proxy::~Proxy() {
  if (impl_->started && !impl_->runtime.stopped()) {
    impl_->shutdown.begin("proxy destroyed", std::chrono::milliseconds(0));
    impl_->runtime.join();
  }
  {
    std::lock_guard lock(impl_->control);
    impl_->kernel.remove_all();
  }
  // Connections a drain timeout cut are still pending coroutines; they must
  // go while the workers (their metrics, pipes, sessions) still exist.
  impl_->runtime.shutdown();
}

void Proxy::start() {
  start(std::vector<core::UniqueFd>{});
}

void Proxy::start(std::vector<core::UniqueFd> inherited_fds) {
  std::lock_guard lock(impl_->control);
  if (impl_->started) return;
  auto set = impl_->routes.load();
  auto wanted = impl_->wanted_ports(*set);
  std::vector<UdpListenerSet::Inherited> udp_inherited;
  auto inherited = inspect_inherited(std::move(inherited_fds), udp_inherited);
  auto pending = impl_->listeners.prepare(wanted, &inherited);
  auto udp_wanted = impl_->wanted_udp_ports(*set);
  auto udp_pending = impl_->udp_listeners.prepare(udp_wanted, &udp_inherited);
  impl_->kernel.apply(impl_->kernel_plan);  // also removes what a crashed run left
  impl_->listeners.commit(std::move(pending), wanted);
  impl_->udp_listeners.commit(std::move(udp_pending), udp_wanted);
  close_unneeded(std::move(inherited));
  for (const auto& socket : udp_inherited) {
    spdlog::info("takeover: {}/udp is not in this config; closing it",
                 core::Endpoint{socket.address, socket.port}.to_string());
  }
  impl_->started = true;
  impl_->checker.start();
  if (impl_->certificates) impl_->certificates->start();
  // splice(2) has no MSG_NOSIGNAL: a write into a socket the peer has reset
  // raises SIGPIPE in the writing thread. The workers start with it blocked
  // (the syscall then fails with EPIPE), without touching the process's own
  // disposition, which belongs to the program using the library.
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  impl_->runtime.start();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  spdlog::info("basalt-proxy: {} routes, {} workers, ports {}{}", set->table->routes().size(),
               impl_->runtime.workers(), fmt::join(impl_->listeners.ports(), ","), impl_->udp_ports_text());
}

void Proxy::stop() {
  stop(impl_->options.graceful_shutdown_timeout);
}

std::vector<core::UniqueFd> Proxy::listening_sockets() const {
  std::lock_guard lock(impl_->control);
  if (!impl_->started || impl_->shutdown.draining()) return {};
  auto fds = impl_->listeners.duplicate();
  for (auto& fd : impl_->udp_listeners.duplicate()) fds.push_back(std::move(fd));
  return fds;
}

void Proxy::drain(std::chrono::milliseconds limit, std::string reason) {
  {
    std::lock_guard lock(impl_->control);
    if (!impl_->started) return;
    impl_->listeners.close_all();
    impl_->udp_listeners.stop_reading();
    // A connection accepted just before its acceptor closed may still wait
    // to start on its worker, and once the shutdown has begun it would be
    // refused: one round trip through every worker lets it in first.
    std::vector<std::future<void>> passed;
    for (std::size_t i = 0; i < impl_->runtime.workers() && !impl_->runtime.stopped(); ++i) {
      auto done = std::make_shared<std::promise<void>>();
      passed.push_back(done->get_future());
      asio::post(impl_->runtime.worker(i), [done] { done->set_value(); });
    }
    for (auto& f : passed) f.wait_for(std::chrono::seconds(5));
  }
  impl_->shutdown.begin(std::move(reason), limit);
}

std::size_t Proxy::open_connections() const {
  return impl_->shutdown.in_flight();
}

void Proxy::stop(std::chrono::milliseconds drain) {
  std::unique_lock lock(impl_->control);
  if (!impl_->started) return;
  lock.unlock();
  impl_->shutdown.begin("stop requested", drain);
}

void Proxy::wait() {
  impl_->runtime.join();
}

void Proxy::stop_on_signals() {
  impl_->shutdown.watch_signals();
}

bool Proxy::running() const noexcept {
  return impl_->started && !impl_->runtime.stopped();
}

void Proxy::update_routes(std::vector<RouteConfig> routes) {
  std::lock_guard lock(impl_->control);
  auto next = impl_->options;
  next.routes = std::move(routes);
  impl_->apply(std::move(next));
}

void Proxy::reload(ProxyOptions options) {
  std::lock_guard lock(impl_->control);
  const auto& now = impl_->options;
  auto keep = [](std::string_view key, auto& next, const auto& current) {
    if (next != current)
      spdlog::warn("reload: `{}` changes only with a restart; keeping the running value", key);
    next = current;
  };
  keep("workers", options.workers, now.workers);
  keep("stateDir", options.state_dir, now.state_dir);
  keep("bindAddresses", options.bind_addresses, now.bind_addresses);
  keep("user", options.user, now.user);
  keep("dns.servers", options.dns.servers, now.dns.servers);
  keep("metrics.listen", options.metrics_listen, now.metrics_listen);
  keep("acme", options.acme, now.acme);
  keep("takeoverSocket", options.takeover_socket, now.takeover_socket);
  impl_->apply(std::move(options));
}

ProxyOptions Proxy::options() const {
  std::lock_guard lock(impl_->control);
  return impl_->options;
}

std::vector<std::uint16_t> Proxy::listening_ports() const {
  std::lock_guard lock(impl_->control);
  return impl_->listeners.ports();
}

void Proxy::add_listening_port(std::uint16_t port) {
  std::lock_guard lock(impl_->control);
  if (impl_->manual_ports.contains(port)) return;
  auto wanted = impl_->wanted_ports(*impl_->routes.load());
  wanted.insert(port);
  if (impl_->started) {
    auto pending = impl_->listeners.prepare(wanted);
    impl_->listeners.commit(std::move(pending), wanted);
  }
  impl_->manual_ports.insert(port);
}

void Proxy::remove_listening_port(std::uint16_t port) {
  std::lock_guard lock(impl_->control);
  if (!impl_->manual_ports.erase(port)) return;
  if (!impl_->started) return;
  auto wanted = impl_->wanted_ports(*impl_->routes.load());
  impl_->listeners.commit(impl_->listeners.prepare(wanted), wanted);
}

json::object Proxy::metrics(const json::object& params) const {
  auto query = MetricsQuery::decode(params);
  std::lock_guard lock(impl_->control);
  auto out = impl_->collect(query).to_json();
  out["udp"] = impl_->udp_statistics();
  add_drain_state(out);
  return out;
}

void Proxy::add_drain_state(json::object& out) const {
  const bool draining = impl_->started && impl_->shutdown.draining();
  out["draining"] = draining;
  out["drainingConnections"] = draining ? open_connections() : 0;
}

json::object Proxy::statistics() const {
  std::lock_guard lock(impl_->control);
  auto m = impl_->collect(MetricsQuery{});
  json::object out;
  out["activeConnections"] = m.connections.active;
  out["totalConnections"] = m.connections.total;
  out["refusedConnections"] = m.refused_total();
  out["bytesIn"] = m.bytes_in;
  out["bytesOut"] = m.bytes_out;
  out["workers"] = impl_->runtime.workers();
  json::array ports;
  for (auto p : impl_->listeners.ports()) ports.push_back(p);
  out["listeningPorts"] = std::move(ports);
  out["routes"] = impl_->routes.load()->table->routes().size();
  out["trackedIps"] = impl_->limits.tracked_ips();
  out["udp"] = impl_->udp_statistics();
  if (impl_->kernel.active()) out["nftables"] = impl_->kernel.status();
  add_drain_state(out);
  return out;
}

std::string Proxy::prometheus() const {
  std::lock_guard lock(impl_->control);
  return impl_->collect(MetricsQuery{}).prometheus() + udp_prometheus(impl_->udp_statistics());
}

json::object Proxy::certificate_status(std::string_view route_name) const {
  if (impl_->certificates) {
    if (auto status = impl_->certificates->status(route_name)) return *status;
  }
  auto set = impl_->routes.load();
  const Route* route = set->table->find(route_name);
  if (!route) throw core::config::Error("routeName", "\"" + std::string(route_name) + "\" is not a route");
  const auto& server = set->tls[route->position].server;
  if (!server) throw core::config::Error("routeName", "route \"" + route->id + "\" does not terminate TLS");
  auto cert = server->select("");
  auto iso = [](std::chrono::system_clock::time_point t) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
  };
  json::object out;
  out["domain"] = cert->dns_names().empty() ? cert->subject() : cert->dns_names().front();
  json::array names;
  for (const auto& n : cert->dns_names()) names.push_back(json::value(n));
  out["domains"] = std::move(names);
  out["status"] = cert->not_after() > std::chrono::system_clock::now() ? "valid" : "expired";
  out["expiryDate"] = iso(cert->not_after());
  out["issueDate"] = iso(cert->not_before());
  out["source"] = "static";
  return out;
}

asio::awaitable<json::object> Proxy::provision_certificate(std::string route_name, bool force) {
  {
    auto set = impl_->routes.load();
    if (!set->table->find(route_name))
      throw core::config::Error("routeName", "\"" + route_name + "\" is not a route");
  }
  if (!impl_->certificates)
    throw core::config::Error("routeName", "route \"" + route_name + "\" has no certificate: auto");
  co_return co_await impl_->certificates->provision(std::move(route_name), force);
}

void Proxy::provide_certificate(const std::string& domain, const std::string& cert, const std::string& key,
                                bool use_acme) {
  if (!impl_->certificates || impl_->certificates->acme().cert_provision != CertProvision::kDriver) {
    throw std::invalid_argument("provideCertificate needs acme.certProvision: driver");
  }
  impl_->certificates->provide(domain, cert, key, use_acme);
}

void Proxy::set_certificate_events(EventSink sink) {
  if (impl_->certificates) impl_->certificates->set_event_sink(std::move(sink));
}

void Proxy::set_connection_events(EventSink sink) {
  bool on = static_cast<bool>(sink);
  impl_->events.publish(std::make_shared<const EventSink>(std::move(sink)));
  impl_->events_on.store(on, std::memory_order_relaxed);
}

core::Runtime& Proxy::runtime() noexcept {
  return impl_->runtime;
}

core::Shutdown& Proxy::shutdown() noexcept {
  return impl_->shutdown;
}

}  // namespace basalt::proxy
