#include "basalt/dns/daemon/daemon.hpp"

#include <fmt/chrono.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <future>
#include <mutex>

#include "basalt/acme/problem.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/service/certificate_set.hpp"
#include "basalt/service/commands.hpp"
#include "basalt/service/metrics_listener.hpp"
#include "daemon/dns01_solver.hpp"
#include "daemon/remote_challenges.hpp"

namespace basalt::dns {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object query_event(const QueryEvent& e) {
  json::object o{{"name", e.question.name.to_string()},
                 {"type", to_string(e.question.type)},
                 {"transport", std::string(to_string(e.transport))},
                 {"rcode", to_string(e.rcode)},
                 {"answered", e.answered},
                 {"fromHandlers", e.from_handlers},
                 {"durationUs", e.duration.count()}};
  if (e.client) o["client"] = e.client->to_string();
  return o;
}

}  // namespace

struct Daemon::Impl {
  // Without DoH the set holds ACME certificates for the store only.
  explicit Impl(ServerConfig c)
      : server(std::move(c)),
        certificates(server.certificates()
                         ? server.certificates()
                         : std::make_shared<service::CertificateSet>(service::CertificateSetOptions{})),
        solver(server),
        remote_challenges(solver, server.runtime().control()) {
    if (const auto& ac = server.config().acme) {
      for (std::size_t i = 0; i < ac->domains.size(); ++i) {
        auto why = solver.obstacle(acme::normalize_domains({ac->domains[i]}).front());
        if (!why.empty()) throw core::config::Error(fmt::format("acme.domains[{}]", i), why);
      }
    }
  }

  bool started() const {
    std::lock_guard lock(mutex);
    return is_started;
  }

  // The server's counters and the management server's.
  Metrics all_metrics() const {
    auto m = server.metrics();
    if (management_counters) m.management = management_counters();
    return m;
  }

  Server server;
  std::shared_ptr<service::CertificateSet> certificates;
  Dns01Solver solver;
  RemoteChallenges remote_challenges;                 // other processes' dns-01 records (addAcmeChallenge)
  std::unique_ptr<service::MetricsListener> metrics;  // config `metrics`, once started
  mutable std::mutex mutex;                           // is_started, metrics
  bool is_started = false;
  std::function<ManagementCounters()> management_counters;  // set before start()
  std::optional<asio::signal_set> hangup;                   // SIGHUP, once stop_on_signals() ran

  void watch_hangup() {
    hangup->async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: re-reading the zone files");
      try {
        server.reload_zones();
      } catch (const std::exception& e) {
        spdlog::error("zone reload failed, nothing changed: {}", e.what());
      }
      watch_hangup();
    });
  }
};

Daemon::Daemon(ServerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Daemon::~Daemon() {
  // The metrics listener and the renewal run on the server's threads: end
  // them before the members go.
  impl_->certificates->stop();
  impl_->server.stop(std::chrono::milliseconds(0));
  impl_->server.runtime().stop();
  impl_->server.runtime().join();
}

void Daemon::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->is_started) return;
  const auto& config = impl_->server.config();
  if (config.metrics.listen) {
    impl_->metrics = std::make_unique<service::MetricsListener>(
        impl_->server.runtime(), impl_->server.shutdown(), *config.metrics.listen,
        [this] { return impl_->all_metrics().prometheus(); });
  }
  if (const auto& ac = config.acme) {
    // The stored certificate is installed before DoH listens; the CA is
    // asked (on the control thread) only when none is held or renewal is due.
    auto order = service::make_order({.domains = ac->domains}, &*ac, config.state_dir);
    if (auto held =
            impl_->certificates->manage(impl_->server.runtime().control(), std::move(order), impl_->solver)) {
      spdlog::info("ACME: serving the stored certificate for {} (valid until {:%Y-%m-%d %H:%M:%S} UTC)",
                   fmt::join(held->domains, ", "),
                   fmt::gmtime(std::chrono::system_clock::to_time_t(held->not_after)));
    }
  }
  impl_->server.start();
  impl_->is_started = true;
}

void Daemon::stop(std::chrono::milliseconds drain) {
  impl_->certificates->stop();
  impl_->server.stop(drain);
}

void Daemon::wait() {
  impl_->server.wait();
}

void Daemon::stop_on_signals() {
  impl_->server.stop_on_signals();
  if (impl_->hangup) return;
  impl_->hangup.emplace(impl_->server.runtime().control(), SIGHUP);
  impl_->watch_hangup();
  impl_->server.shutdown().on_begin([this] { impl_->hangup->cancel(); });
}

Server& Daemon::server() noexcept {
  return impl_->server;
}

std::optional<core::Endpoint> Daemon::metrics_endpoint() const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->metrics) return std::nullopt;
  return impl_->metrics->endpoint();
}

asio::awaitable<acme::Obtained> Daemon::async_retrieve_certificate(service::CertificateRequest request,
                                                                   acme::ProgressFn progress) {
  std::vector<std::string> names;
  try {
    names = acme::normalize_domains(request.domains);
  } catch (const std::invalid_argument& e) {
    throw acme::Error("domains", e.what());
  }
  for (const auto& n : names) {
    auto why = impl_->solver.obstacle(n);
    if (!why.empty()) throw acme::Error("authority check", why);
  }
  if (!impl_->started())
    throw acme::Error("start", "the server is not running, so the CA could not reach it");
  const auto& config = impl_->server.config();
  auto order = service::make_order(request, config.acme ? &*config.acme : nullptr, config.state_dir);
  co_return co_await impl_->certificates->obtain(std::move(order), impl_->solver, std::move(progress));
}

acme::Obtained Daemon::retrieve_certificate(service::CertificateRequest request, acme::ProgressFn progress) {
  // Before start() the control thread does not run: nothing would answer.
  if (!impl_->started())
    throw acme::Error("start", "the server is not running, so the CA could not reach it");
  std::promise<acme::Obtained> promise;
  auto future = promise.get_future();
  asio::co_spawn(impl_->server.runtime().control(),
                 async_retrieve_certificate(std::move(request), std::move(progress)),
                 [&promise](std::exception_ptr e, acme::Obtained r) {
                   if (e) {
                     promise.set_exception(e);
                   } else {
                     promise.set_value(std::move(r));
                   }
                 });
  return future.get();
}

void Daemon::register_commands(core::management::Registry& registry, Emit emit,
                               std::function<ManagementCounters()> management) {
  Server& server = impl_->server;
  impl_->management_counters = std::move(management);
  service::add_service_commands(
      registry, {.stop = [this] { stop(); },
                 .metrics = [this] { return impl_->all_metrics().to_json(); },
                 .certificates = server.config().doh.empty() ? nullptr : impl_->certificates.get(),
                 .retrieve =
                     [this](service::CertificateRequest r, acme::ProgressFn p) {
                       return async_retrieve_certificate(std::move(r), std::move(p));
                     }});
  registry.add_sync("listZones", [&server](const json::object&) {
    json::array zones;
    for (const auto& apex : server.zone_apexes()) zones.push_back(json::string(apex.to_string()));
    return json::object{{"zones", zones}};
  });
  // A `query` event per answered query to every management client, while enabled.
  registry.add_sync("setQueryEvents", [&server, emit](const json::object& params) {
    const auto* enabled = params.if_contains("enabled");
    bool on = core::config::decode<bool>(enabled ? *enabled : json::value(), "enabled");
    if (on) {
      server.set_query_observer([emit](const QueryEvent& e) { emit("query", query_event(e)); });
    } else {
      server.set_query_observer({});
    }
    return json::object{{"enabled", on}};
  });
  impl_->remote_challenges.register_commands(registry);
}

}  // namespace basalt::dns
