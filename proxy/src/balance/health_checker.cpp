#include "balance/health_checker.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "balance/backend_pool.hpp"
#include "balance/backend_state.hpp"
#include "basalt/core/ip.hpp"
#include "basalt/http/client.hpp"

namespace basalt::proxy {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr milliseconds kMaxFirstDelay{1000};

// One backend to check, as the latest update() describes it.
struct CheckedBackend {
  std::string route_id;
  std::string name;  // "host:port", for logs
  std::string host;
  std::uint16_t port = 0;
  HealthCheck config;
  std::shared_ptr<BackendState> state;
};

struct Check {
  explicit Check(asio::io_context& io, CheckedBackend t) : target(std::move(t)), timer(io) {}
  CheckedBackend target;
  asio::steady_timer timer;
  bool stopped = false;
};

struct Outcome {
  bool success = false;
  std::string reason;  // "status 503", "no answer within 2000 ms", "connect failed: ..."
};

http::ClientRequest make_request(const CheckedBackend& t) {
  http::ClientRequest request;
  request.method = "GET";
  const bool v6 = t.host.find(':') != std::string::npos;
  const std::string path = t.config.path.starts_with('/') ? t.config.path : "/" + t.config.path;
  request.url = fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", t.host, v6 ? "]" : "", t.port, path);
  if (auto address = core::IpAddress::parse(t.host)) request.connect_to = core::Endpoint{*address, t.port};
  request.headers.add("user-agent", "basalt-proxy-health-check");
  request.timeout = t.config.timeout;
  return request;
}

std::string failure_reason(const http::ClientStream& s, milliseconds timeout) {
  if (s.error == http::ClientError::kTimeout) return fmt::format("no answer within {} ms", timeout.count());
  std::string reason = s.error == http::ClientError::kConnectFailed ? "connect failed" : s.error.message();
  if (!s.detail.empty()) reason += ": " + s.detail;
  return reason;
}

}  // namespace

struct HealthChecker::Impl {
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  http::Client client;  // used on the thread only
  std::thread thread;
  std::mutex start_mutex;
  std::atomic<std::size_t> checked{0};
  // The members below belong to the thread.
  std::map<std::string, std::shared_ptr<Check>> checks;
  std::set<std::string> noted;  // unchecked backends and routes already logged
  std::minstd_rand random{std::random_device{}()};
  bool stopping = false;

  Impl() : work(asio::make_work_guard(io)), client(io, client_options()) {}

  static http::ClientOptions client_options() {
    http::ClientOptions options;
    options.http2 = false;
    options.max_requests_per_connection = 1;  // a new connection per check
    options.max_connections_per_origin = 2;   // one check in flight, one closing
    return options;
  }

  void note_once(std::set<std::string>& noted_now, const std::string& what, auto log) {
    if (!noted.contains(what)) log();
    noted_now.insert(what);
  }

  void apply(const std::vector<std::shared_ptr<BackendPool>>& pools) {
    if (stopping) return;
    std::map<std::string, CheckedBackend> wanted;
    std::set<std::string> noted_now;
    for (const auto& pool : pools) {
      if (!pool || !pool->health_check()) continue;
      const std::string& route = pool->route_id();
      if (pool->backend_tls()) {
        note_once(noted_now, "tls|" + route, [&] {
          spdlog::warn(
              "route {}: healthCheck ignored: its backends speak TLS, and health checks are plain HTTP",
              route);
        });
        continue;
      }
      for (std::size_t i = 0; i < pool->size(); ++i) {
        const auto& b = pool->backend(i);
        if (!b.checked) {
          note_once(noted_now, b.key, [&] {
            spdlog::info("route {}: backend {} (port: preserve) is not health-checked", route, b.host);
          });
          continue;
        }
        wanted.insert_or_assign(b.key, CheckedBackend{route, b.key.substr(route.size() + 1), b.host, b.port,
                                                      *pool->health_check(), pool->shared_state(i)});
      }
    }
    noted = std::move(noted_now);

    for (auto it = checks.begin(); it != checks.end();) {
      if (wanted.contains(it->first)) {
        ++it;
        continue;
      }
      it->second->stopped = true;
      it->second->timer.cancel();
      it = checks.erase(it);
    }
    for (auto& [key, target] : wanted) {
      if (auto it = checks.find(key); it != checks.end()) {
        it->second->target = std::move(target);
        continue;
      }
      auto check = std::make_shared<Check>(io, std::move(target));
      checks.emplace(key, check);
      asio::co_spawn(io, run(check), asio::detached);
    }
    checked.store(checks.size(), std::memory_order_relaxed);
  }

  // False when the check was stopped.
  asio::awaitable<bool> wait(Check& check, milliseconds time) {
    if (check.stopped || stopping) co_return false;
    check.timer.expires_after(time);
    boost::system::error_code ec;
    co_await check.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return !check.stopped && !stopping;
  }

  asio::awaitable<void> run(std::shared_ptr<Check> check) {
    try {
      const auto spread = std::min(check->target.config.interval, kMaxFirstDelay).count();
      const milliseconds first{spread > 0 ? static_cast<milliseconds::rep>(random() % spread) : 0};
      if (!co_await wait(*check, first)) co_return;
      for (;;) {
        const CheckedBackend target = check->target;  // update() may change it meanwhile
        const Outcome outcome = co_await probe(target);
        if (check->stopped || stopping) co_return;
        record(target, outcome);
        if (!co_await wait(*check, target.config.interval)) co_return;
      }
    } catch (const std::exception& e) {
      spdlog::error("route {}: health check of {} stopped: {}", check->target.route_id, check->target.name,
                    e.what());
    }
  }

  asio::awaitable<Outcome> probe(const CheckedBackend& target) {
    const http::ClientRequest request = make_request(target);
    http::ClientStream stream = co_await client.open(request);
    if (!stream) co_return Outcome{false, failure_reason(stream, target.config.timeout)};
    stream.body->abort();  // only the status counts
    const int status = stream.head.status;
    co_return Outcome{status >= 200 && status < 400, fmt::format("status {}", status)};
  }

  static void record(const CheckedBackend& target, const Outcome& outcome) {
    const auto& c = target.config;
    const std::uint32_t down_after = std::max(c.unhealthy_threshold, 1u);
    const std::uint32_t up_after = std::max(c.healthy_threshold, 1u);
    switch (target.state->record_check(outcome.success, c.healthy_threshold, c.unhealthy_threshold)) {
      case BackendState::Change::kWentDown:
        spdlog::warn("route {}: backend {} is down: {} failed health check{} in a row (last: {})",
                     target.route_id, target.name, down_after, down_after == 1 ? "" : "s", outcome.reason);
        break;
      case BackendState::Change::kCameUp:
        spdlog::info("route {}: backend {} is up again: {} successful health check{} in a row ({})",
                     target.route_id, target.name, up_after, up_after == 1 ? "" : "s", outcome.reason);
        break;
      case BackendState::Change::kNone:
        break;
    }
  }

  void shut_down() {
    stopping = true;
    for (auto& [key, check] : checks) {
      check->stopped = true;
      check->timer.cancel();
    }
    checks.clear();
    checked.store(0, std::memory_order_relaxed);
    client.close();
  }
};

HealthChecker::HealthChecker() : impl_(std::make_unique<Impl>()) {}

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::start() {
  std::lock_guard lock(impl_->start_mutex);
  if (impl_->thread.joinable() || !impl_->work) return;
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void HealthChecker::stop() {
  std::lock_guard lock(impl_->start_mutex);
  if (!impl_->work) return;
  Impl* impl = impl_.get();
  impl->work.reset();
  if (!impl->thread.joinable()) return;  // never started: nothing runs; queued updates are dropped
  asio::post(impl->io, [impl] { impl->shut_down(); });
  impl->thread.join();  // returns once the checks in flight ended
}

void HealthChecker::update(std::vector<std::shared_ptr<BackendPool>> pools) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, pools = std::move(pools)] { impl->apply(pools); });
}

std::size_t HealthChecker::checked_backends() const noexcept {
  return impl_->checked.load(std::memory_order_relaxed);
}

}  // namespace basalt::proxy
