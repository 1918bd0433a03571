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

}  // namespace

int main(int argc, char** argv) {
  namespace asio = boost::asio;
  namespace mgmt = basalt::core::management;
  CLI::App app("basalt-test-management");
  bool stdio = false;
  std::string socket_path;
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

  server.emplace(runtime.control(), registry, mgmt::Server::Options{.ready_data = {{"version", "test"}}});
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
