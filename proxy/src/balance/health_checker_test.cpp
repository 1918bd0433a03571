#include "balance/health_checker.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "balance/backend_pool.hpp"
#include "balance/health_registry.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/http/server.hpp"

namespace basalt::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A backend on loopback that answers every request with `status`.
class Backend {
 public:
  Backend() : runtime_(core::Runtime::Options{.workers = 1}) {
    server_ = std::make_unique<http::Server>(
        runtime_, http::Handler([this](http::Request request) { return answer(std::move(request)); }));
    port_ = server_->listen({});
    runtime_.start();
  }
  ~Backend() {
    server_->stop();
    runtime_.stop();
    runtime_.join();
  }

  std::uint16_t port() const { return port_; }
  void set_status(int status) { status_ = status; }
  // Requests answered with `status` so far.
  int answered(int status) const { return status == 200 ? ok_.load() : failed_.load(); }
  std::string last_path() const {
    std::lock_guard lock(mutex_);
    return path_;
  }

 private:
  asio::awaitable<http::Response> answer(http::Request request) {
    const int status = status_.load();
    {
      std::lock_guard lock(mutex_);
      path_ = request.path;
    }
    (status == 200 ? ok_ : failed_)++;
    co_return http::Response(status);
  }

  core::Runtime runtime_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  mutable std::mutex mutex_;
  std::string path_;
};

// Captures log lines for the life of the object.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)),
        previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  int count(std::string_view text) const {
    int n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(text) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

RouteAction checked_action(std::vector<Target> targets, std::uint32_t unhealthy, std::uint32_t healthy) {
  RouteAction a;
  a.targets = std::move(targets);
  LoadBalancing b;
  b.health_check = HealthCheck{.path = "/health",
                               .interval = 50ms,
                               .timeout = 2000ms,
                               .unhealthy_threshold = unhealthy,
                               .healthy_threshold = healthy};
  a.load_balancing = b;
  return a;
}

TEST(HealthChecker, ABackendGoesDownAfterFailedChecksAndComesBackAfterGoodOnes) {
  LogCapture logs;
  Backend backend;
  HealthRegistry registry;
  auto pool = BackendPool::build(
      "web", checked_action({Target{.host = {"127.0.0.1"}, .port = backend.port()}}, 3, 2), registry);
  HealthChecker checker;
  checker.update({pool});
  checker.start();

  ASSERT_TRUE(wait_for([&] { return backend.answered(200) >= 2; }));
  EXPECT_TRUE(pool->available(0));
  EXPECT_EQ(backend.last_path(), "/health");

  backend.set_status(503);
  ASSERT_TRUE(wait_for([&] { return !pool->backend(0).state().up(); }));
  EXPECT_GE(backend.answered(503), 3);                       // not before unhealthyThreshold failures
  EXPECT_FALSE(pool->pick(core::IpAddress::v4_loopback()));  // the route now answers 503

  const int ok_before = backend.answered(200);
  backend.set_status(200);
  ASSERT_TRUE(wait_for([&] { return pool->backend(0).state().up(); }));
  EXPECT_GE(backend.answered(200) - ok_before, 2);  // not before healthyThreshold successes
  EXPECT_TRUE(pool->pick(core::IpAddress::v4_loopback()));
  checker.stop();

  EXPECT_EQ(logs.count("route web: backend 127.0.0.1:" + std::to_string(backend.port()) +
                       " is down: 3 failed health checks in a row (last: status 503)"),
            1);
  EXPECT_EQ(logs.count("is up again: 2 successful health checks in a row (status 200)"), 1);
}

TEST(HealthChecker, ABackendThatRefusesConnectionsGoesDown) {
  LogCapture logs;
  std::uint16_t closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
    closed_port = acceptor.local_endpoint().port();
  }
  HealthRegistry registry;
  auto pool = BackendPool::build(
      "api", checked_action({Target{.host = {"127.0.0.1"}, .port = closed_port}}, 1, 1), registry);
  HealthChecker checker;
  checker.start();
  checker.update({pool});
  ASSERT_TRUE(wait_for([&] { return !pool->backend(0).state().up(); }));
  checker.stop();
  EXPECT_EQ(logs.count("route api: backend 127.0.0.1:" + std::to_string(closed_port) +
                       " is down: 1 failed health check in a row (last: connect failed"),
            1);
}

TEST(HealthChecker, UpdatesAddAndRemoveChecksAndSkipPreservedPorts) {
  LogCapture logs;
  Backend backend;
  HealthRegistry registry;
  auto pool = BackendPool::build("web",
                                 checked_action({Target{.host = {"127.0.0.1"}, .port = backend.port()},
                                                 Target{.host = {"10.9.9.9"}, .preserve_port = true}},
                                                1, 1),
                                 registry);
  HealthChecker checker;
  checker.start();
  checker.update({pool});
  ASSERT_TRUE(wait_for([&] { return checker.checked_backends() == 1; }));
  ASSERT_TRUE(wait_for([&] { return backend.answered(200) >= 1; }));
  checker.update({pool});  // the same again: nothing new is logged
  checker.update({});
  ASSERT_TRUE(wait_for([&] { return checker.checked_backends() == 0; }));
  const int answered = backend.answered(200);
  checker.stop();
  EXPECT_LE(backend.answered(200), answered + 1);  // at most the check that was in flight
  EXPECT_EQ(logs.count("route web: backend 10.9.9.9 (port: preserve) is not health-checked"), 1);
}

}  // namespace
}  // namespace basalt::proxy
