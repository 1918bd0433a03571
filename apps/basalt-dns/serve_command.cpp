// `basalt-dns serve`: flags and config file onto dns::ServerConfig, then run.
#include "commands.hpp"

#include <spdlog/spdlog.h>

#include "basalt/core/config.hpp"
#include "basalt/core/log.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/dns/daemon/daemon.hpp"

namespace basalt::apps {
namespace {

// Config file first, then flags on top (flags win; --zone-file adds zones).
dns::ServerConfig make_config(const ServeFlags& f) {
  dns::ServerConfig config;
  if (!f.config_file.empty()) {
    try {
      config = core::config::decode<dns::ServerConfig>(core::config::load_file(f.config_file));
    } catch (const core::config::Error& e) {
      // Decoding errors name a key path; say which file it is in.
      if (e.path().starts_with(f.config_file)) throw;
      throw core::config::Error(f.config_file + ": " + e.path(), e.message());
    }
  }
  if (!f.listen.empty()) {
    config.listen.clear();
    for (const auto& text : f.listen) {
      std::string error;
      auto ep = core::Endpoint::parse(text, &error);
      if (!ep) throw core::config::Error("--listen", "\"" + text + "\" " + error);
      config.listen.push_back(*ep);
    }
  }
  if (!f.doh.empty()) {
    config.doh.clear();
    for (const auto& text : f.doh) {
      std::string error;
      auto ep = core::Endpoint::parse(text, &error);
      if (!ep) throw core::config::Error("--doh", "\"" + text + "\" " + error);
      config.doh.push_back({.listen = *ep});
    }
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    throw core::config::Error(f.tls_cert.empty() ? "--tls-cert" : "--tls-key",
                              "give both --tls-cert and --tls-key");
  }
  if (!f.tls_cert.empty()) config.tls = service::TlsConfig{.cert = f.tls_cert, .key = f.tls_key};
  for (const auto& file : f.zone_files) config.zones.push_back({.file = file});
  if (!f.state_dir.empty()) config.state_dir = f.state_dir;
  if (config.state_dir.empty()) config.state_dir = dns::default_state_dir();
  if (!f.log_level.empty()) {
    auto level = core::parse_log_level(f.log_level);
    if (!level) {
      throw core::config::Error(
          "--log-level", "\"" + f.log_level + "\" is not one of: " + std::string(core::kLogLevelNames));
    }
    config.log.level = *level;
  }
  if (!f.dnssec_zone.empty()) {
    if (!config.dnssec) config.dnssec.emplace();
    config.dnssec->zone = f.dnssec_zone;
  }
  if ((!f.key_dir.empty() || !f.dnssec_algorithm.empty()) && !config.dnssec) {
    throw core::config::Error(f.key_dir.empty() ? "--dnssec-algorithm" : "--key-dir",
                              "needs --dnssec-zone (or `dnssec` in the config file)");
  }
  if (!f.key_dir.empty()) config.dnssec->key_dir = f.key_dir;
  if (!f.dnssec_algorithm.empty()) config.dnssec->algorithm = f.dnssec_algorithm;
  if (config.listen.empty())
    throw core::config::Error("listen", "no address to listen on (use --listen ADDR:PORT)");
  return config;
}

}  // namespace

int serve(const ServeFlags& flags) {
  auto config = make_config(flags);
  core::init_logging(config.log.level);
  dns::Daemon daemon(config);
  daemon.stop_on_signals();
  core::management::Registry registry;
  std::optional<core::management::Server> management;
  daemon.register_commands(
      registry,
      [&management](std::string_view event, boost::json::value data) {
        if (management) management->emit(event, std::move(data));
      },
      [&management] {
        if (!management) return dns::ManagementCounters{};
        auto s = management->stats();
        return dns::ManagementCounters{s.events_dropped, s.clients_disconnected};
      });
  if (!flags.management_socket.empty()) {
    management.emplace(daemon.server().runtime().control(), registry);
    management->listen_unix(flags.management_socket);
  }
  daemon.start();
  daemon.wait();
  spdlog::info("stopped");
  return 0;
}

void add_serve_command(CLI::App& app, ServeFlags& flags, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("serve", "run the authoritative server");
  cmd->add_option("--config", flags.config_file, "YAML or JSON config file");
  cmd->add_option("--listen", flags.listen,
                  "ADDR:PORT to serve on, UDP and TCP (repeatable; IPv6 as [::1]:5353)");
  cmd->add_option("--zone-file", flags.zone_files, "zone file to serve (repeatable)");
  cmd->add_option("--doh", flags.doh, "ADDR:PORT to serve DNS over HTTPS on, path /dns-query (repeatable)");
  cmd->add_option("--tls-cert", flags.tls_cert,
                  "DoH certificate chain, PEM (default: self-signed, in the state dir)");
  cmd->add_option("--tls-key", flags.tls_key, "DoH private key, PEM");
  cmd->add_option("--state-dir", flags.state_dir, "where keys and certificates are kept");
  cmd->add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");
  cmd->add_option("--dnssec-zone", flags.dnssec_zone, "sign this served zone online (DNSSEC)");
  cmd->add_option("--key-dir", flags.key_dir, "DNSSEC key directory (default: <state-dir>/keys)");
  cmd->add_option("--dnssec-algorithm", flags.dnssec_algorithm,
                  "ecdsa-p256 (default), ed25519 or rsa-sha256, for keys made on first start");
  cmd->add_option("--management-socket", flags.management_socket,
                  "serve the JSON-lines management protocol on this Unix socket");
  cmd->callback([&flags, &action] { action = [&flags] { return serve(flags); }; });
}

}  // namespace basalt::apps
