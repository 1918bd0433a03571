// `basalt-dns --management`: the DNS server engine of the smartdns TypeScript
// package (dns/engine/engine.hpp) on stdio. The TypeScript bridge passes no
// other flag, so the state directory comes from BASALT_DNS_STATE_DIR (else
// the default of `serve`).
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>

#include "basalt/core/log.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/dns/client/engine_commands.hpp"
#include "basalt/dns/engine/engine.hpp"
#include "basalt/dns/server/server_config.hpp"
#include "commands.hpp"

namespace basalt::apps {

int run_engine() {
  core::init_logging(core::LogLevel::info);
  std::string state_dir;
  if (const char* env = std::getenv("BASALT_DNS_STATE_DIR"); env && *env) state_dir = env;
  if (state_dir.empty()) state_dir = dns::default_state_dir();

  boost::asio::io_context io(1);
  dns::Engine engine(io, {.state_dir = state_dir});
  core::management::Registry registry;
  engine.register_commands(registry);
  // resolve: the smartdns client engine (rustdns-client). A bad client
  // setting fails only the client commands that need it, never the server.
  auto client_defaults = dns::ClientEngineDefaults::from_environment();
  if (!client_defaults.udp_upstream_error.empty()) {
    spdlog::warn("{}: resolve over UDP without serverAddr fails until it is fixed",
                 client_defaults.udp_upstream_error);
  }
  dns::add_client_engine_commands(registry, std::move(client_defaults));
  core::management::Server management(io, registry);
  engine.set_emitter([&management](std::string_view event, boost::json::value data) {
    management.emit(event, std::move(data));
  });
  engine.set_management_counters([&management] {
    auto s = management.stats();
    return dns::ManagementCounters{s.events_dropped, s.clients_disconnected};
  });
  auto finish = [&] {
    engine.stop_server();
    management.close();
    io.stop();
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });
  management.serve_stdio(finish);  // stdin EOF: the driver has gone
  io.run();
  engine.stop_server();
  return 0;
}

void add_engine_flag(CLI::App& app, bool& management, std::function<int()>& action) {
  app.add_flag("--management", management,
               "serve the DNS server engine protocol on stdio (the smartdns TypeScript package's engine)");
  app.callback([&management, &action] {
    if (management && !action) action = [] { return run_engine(); };
  });
}

}  // namespace basalt::apps
