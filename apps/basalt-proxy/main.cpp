// basalt-proxy: the route-based TCP/TLS reverse proxy. Only command-line
// parsing lives here; every subcommand is a thin layer over basalt::proxy.
//
//   basalt-proxy serve --config FILE [--workers N] [--management-socket PATH]
//                      [--state-dir DIR] [--log-level LEVEL] [--takeover]
//   basalt-proxy check --config FILE     validate a config file (exit 0, or 2 with the errors)
//   basalt-proxy --management            engine mode on stdio: idle until `start {config}`
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "basalt/core/config.hpp"
#include "basalt/core/log.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/proxy/commands.hpp"
#include "basalt/proxy/daemon.hpp"

namespace {

namespace proxy = basalt::proxy;
namespace core = basalt::core;

int run_engine() {
  boost::asio::io_context io(1);
  core::management::Registry registry;
  std::optional<core::management::Server> management;
  proxy::ProxyCommands commands({.emit = [&management](std::string_view event, boost::json::value data) {
    if (management) management->emit(event, std::move(data));
  }});
  commands.register_commands(registry);
  management.emplace(io, registry);
  auto finish = [&] {
    commands.shutdown();
    management->close();
    io.stop();
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });
  management->serve_stdio(finish);  // stdin EOF: the driver has gone
  io.run();
  commands.shutdown();
  return 0;
}

// What SIGUSR2 starts: this executable (its path now, so that an upgraded
// binary installed there runs) with the same arguments and --takeover.
std::vector<std::string> successor_command(int argc, char** argv) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::vector<std::string> command{ec ? std::string(argv[0]) : exe.string()};
  bool takeover = false;
  for (int i = 1; i < argc; ++i) {
    command.emplace_back(argv[i]);
    takeover = takeover || command.back() == "--takeover";
  }
  if (!takeover) command.emplace_back("--takeover");
  return command;
}

int check(const std::string& file) {
  auto options = proxy::load_options_file(file);
  std::cout << file << ": ok (" << options.routes.size() << " routes)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("basalt-proxy: route-based TCP/TLS reverse proxy");
  app.require_subcommand(0, 1);
  std::function<int()> action;

  proxy::Daemon::Options serve;
  std::string log_level;
  std::uint32_t workers = 0;
  auto* serve_cmd = app.add_subcommand("serve", "run the proxy from a config file");
  serve_cmd->add_option("--config", serve.config_file, "YAML or JSON config file (smartproxy options)")
      ->required();
  auto* workers_opt =
      serve_cmd->add_option("--workers", workers, "worker threads (0: one per CPU available)");
  serve_cmd->add_option("--management-socket", serve.management_socket,
                        "serve the JSON-lines management protocol on this Unix socket");
  serve_cmd->add_option("--state-dir", serve.state_dir,
                        "where state is kept (default " + std::string(proxy::kDefaultStateDir) + ")");
  serve_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  serve_cmd->add_flag("--takeover", serve.takeover,
                      "take the listening sockets of the proxy running on this config's takeoverSocket, "
                      "then let it drain (starts fresh when none runs)");
  serve.successor_command = successor_command(argc, argv);
  serve_cmd->callback([&] {
    action = [&] {
      if (*workers_opt) serve.workers = workers;
      if (!log_level.empty()) {
        auto level = core::parse_log_level(log_level);
        if (!level) {
          throw core::config::Error(
              "--log-level", "\"" + log_level + "\" is not one of: " + std::string(core::kLogLevelNames));
        }
        serve.log_level = *level;
      }
      proxy::Daemon daemon(serve);
      return daemon.run();
    };
  });

  std::string check_file;
  auto* check_cmd = app.add_subcommand("check", "validate a config file and exit (0: valid, 2: errors)");
  check_cmd->add_option("--config", check_file, "YAML or JSON config file")->required();
  check_cmd->callback([&] { action = [&] { return check(check_file); }; });

  bool management = false;
  app.add_flag("--management", management,
               "serve the engine protocol on stdio (starts idle, waits for start)");
  CLI11_PARSE(app, argc, argv);
  if (management && !action) action = run_engine;
  if (!action) {
    std::cerr << app.help();
    return 2;
  }
  core::init_logging(core::LogLevel::info);
  try {
    return action();
  } catch (const core::config::Error& e) {
    spdlog::error("configuration: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
