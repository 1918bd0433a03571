// basalt-test-management: a small daemon that serves the management protocol
// with test commands, so the protocol layer can be driven through a real pipe
// and a real Unix socket exactly as a daemon serves it.
#include "basalt/core/config.hpp"
#include "basalt/core/log.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/describe/class.hpp>

#include <future>

namespace {

struct Listener {
  std::string address;
  std::uint16_t port = 0;
  void validate(const basalt::core::config::Node& n) const {
    if (port == 0) n.fail_at("port", "is required (1-65535)");
  }
};
BOOST_DESCRIBE_STRUCT(Listener, (), (address, port))

struct AppConfig {
  std::vector<Listener> listen;
  std::string log_level = "info";
};
BOOST_DESCRIBE_STRUCT(AppConfig, (), (listen, log_level))

// What `flood` emits: about `payload.size()` bytes, shaped like a dnsQuery.
boost::json::object flood_event(int i, const std::string& payload) {
  return boost::json::object{{"correlationId", "q" + std::to_string(i)}, {"padding", payload}};
}

// Emits `count` events on the calling thread (a worker, as the DNS query path
// does), `group` at a time with `pause` between groups: a steady stream, not
// one burst.
boost::asio::awaitable<int> emit_events(basalt::core::management::Server& server, int count, int group,
                                        std::chrono::microseconds pause, std::string payload) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (int i = 0; i < count; ++i) {
    server.emit("dnsQuery", flood_event(i, payload));
    if (group > 0 && (i + 1) % group == 0 && pause.count() > 0) {
      timer.expires_after(pause);
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
  }
  co_return count;
}

// Emits `count` events on `worker` while the calling thread (the io_context
// of the management server) waits, blocked, until all are emitted: a
// management thread too busy to hand events out.
int emit_while_blocked(boost::asio::io_context& worker, basalt::core::management::Server& server, int count,
                       const std::string& payload) {
  std::promise<int> done;
  boost::asio::post(worker, [&] {
    for (int i = 0; i < count; ++i) server.emit("dnsQuery", flood_event(i, payload));
    done.set_value(count);
  });
  return done.get_future().get();
}

boost::json::object stats_json(const basalt::core::management::Server::Stats& s) {
  return boost::json::object{{"eventsDropped", s.events_dropped},
                             {"clientsDisconnected", s.clients_disconnected}};
}

}  // namespace

int main(int argc, char** argv) {
  namespace asio = boost::asio;
  namespace mgmt = basalt::core::management;
  CLI::App app("basalt-test-management");
  bool stdio = false;
  std::string socket_path;
  mgmt::Server::Options options{.ready_data = {{"version", "test"}}};
  app.add_option("--max-queued-event-bytes", options.max_queued_event_bytes,
                 "per client: events past this much unsent output are dropped");
  app.add_option("--max-queued-bytes", options.max_queued_bytes,
                 "per client: a client with more unsent answers than this is disconnected");
  app.add_flag("--management", stdio, "serve the management protocol on stdin/stdout");
  app.add_option("--management-socket", socket_path, "serve the management protocol on a Unix socket");
  CLI11_PARSE(app, argc, argv);
  basalt::core::init_logging(basalt::core::LogLevel::info);

  basalt::core::Runtime runtime({.workers = 1});
  basalt::core::Shutdown shutdown(runtime, std::chrono::seconds(5));
  shutdown.watch_signals();

  mgmt::Registry registry;
  std::optional<mgmt::Server> server;
  AppConfig current;

  registry.add_sync("echo", [](const boost::json::object& p) { return p; });
  registry.add_sync("fail", [](const boost::json::object&) -> boost::json::value {
    throw std::runtime_error("refused: this command always fails");
  });
  registry.add("count", [](mgmt::Call& call) -> asio::awaitable<boost::json::value> {
    auto n = basalt::core::config::decode<int>(call.params().contains("n") ? call.params().at("n") : 0, "n");
    for (int i = 0; i < n; ++i) call.stream(boost::json::object{{"i", i}});
    co_return boost::json::object{{"count", n}};
  });
  registry.add("sleep", [](mgmt::Call& call) -> asio::awaitable<boost::json::value> {
    auto ms = basalt::core::config::decode<int>(call.params().at("ms"), "ms");
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    co_await timer.async_wait(asio::use_awaitable);
    co_return boost::json::object{{"slept", ms}};
  });
  registry.add_sync("emit", [&](const boost::json::object& p) {
    server->emit(std::string(p.at("event").as_string()),
                 p.contains("data") ? p.at("data") : boost::json::object());
    return boost::json::object();
  });
  // Emits `count` events of about `bytes` bytes from a worker thread (with
  // `blockControl`, while this thread is blocked until they are); logs
  // "flood of N events done" when the last one is emitted (a driver that does
  // not read stdout cannot see the answer).
  registry.add("flood", [&](mgmt::Call& call) -> asio::awaitable<boost::json::value> {
    const auto& p = call.params();
    auto count = basalt::core::config::decode<int>(p.at("count"), "count");
    auto bytes = basalt::core::config::decode<int>(p.at("bytes"), "bytes");
    auto group = basalt::core::config::decode<int>(p.contains("group") ? p.at("group") : 0, "group");
    auto pause_us = basalt::core::config::decode<int>(p.contains("pauseUs") ? p.at("pauseUs") : 0, "pauseUs");
    std::string payload(static_cast<std::size_t>(bytes), 'x');
    int emitted = 0;
    if (p.contains("blockControl") && p.at("blockControl") == true) {
      emitted = emit_while_blocked(runtime.worker(0), *server, count, payload);
    } else {
      auto task = emit_events(*server, count, group, std::chrono::microseconds(pause_us), std::move(payload));
      emitted = co_await asio::co_spawn(runtime.worker(0), std::move(task), asio::use_awaitable);
    }
    spdlog::info("flood of {} events done", emitted);
    co_return boost::json::object{{"emitted", emitted}};
  });
  registry.add_sync("managementStats",
                    [&](const boost::json::object&) { return stats_json(server->stats()); });
  // Same validation as a config file: a bad config is rejected and changes nothing.
  registry.add_sync("configure", [&](const boost::json::object& p) {
    auto next =
        basalt::core::config::decode<AppConfig>(p.contains("config") ? p.at("config") : nullptr, "config");
    current = std::move(next);
    return boost::json::object{{"listeners", current.listen.size()}};
  });
  registry.add_sync("status", [&](const boost::json::object&) {
    return boost::json::object{{"listeners", current.listen.size()}, {"log_level", current.log_level}};
  });
  registry.add_sync("stop", [&](const boost::json::object&) {
    shutdown.begin("stop command");
    return boost::json::object();
  });

  server.emplace(runtime.control(), registry, options);
  shutdown.on_begin([&] { server->close(); });
  try {
    if (stdio) server->serve_stdio([&] { shutdown.begin("stdin closed"); });
    if (!socket_path.empty()) server->listen_unix(socket_path);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  runtime.run();
  return 0;
}
