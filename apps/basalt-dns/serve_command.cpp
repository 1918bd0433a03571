// `basalt-dns serve`: flags and config file onto dns::ServerConfig, then run.
#include "commands.hpp"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>

#include "basalt/core/config.hpp"
#include "basalt/core/log.hpp"
#include "basalt/core/management/registry.hpp"
#include "basalt/core/management/server.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/dns/server/server.hpp"

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
  if (!f.tls_cert.empty()) config.tls = dns::TlsConfig{.cert = f.tls_cert, .key = f.tls_key};
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

boost::json::object query_event(const dns::QueryEvent& e) {
  boost::json::object o{{"name", e.question.name.to_string()},
                        {"type", dns::to_string(e.question.type)},
                        {"transport", std::string(dns::to_string(e.transport))},
                        {"rcode", dns::to_string(e.rcode)},
                        {"answered", e.answered},
                        {"fromHandlers", e.from_handlers},
                        {"durationUs", e.duration.count()}};
  if (e.client) o["client"] = e.client->to_string();
  return o;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

// retrieveCertificate {domains, email?, directory?, directoryCa?, keyType?}: unset
// fields come from the config's `acme` section.
std::pair<std::vector<std::string>, dns::CertificateOptions> certificate_request(
    const boost::json::object& params) {
  static constexpr std::string_view kAllowed[] = {"domains", "email", "directory", "directoryCa", "keyType"};
  for (const auto& kv : params) {
    if (std::find(std::begin(kAllowed), std::end(kAllowed), kv.key()) == std::end(kAllowed)) {
      throw core::config::Error(
          std::string(kv.key()),
          "is not a parameter of retrieveCertificate (domains, email, directory, directoryCa, keyType)");
    }
  }
  const auto* d = params.if_contains("domains");
  if (!d) throw core::config::Error("domains", "missing (the names to certify)");
  std::vector<std::string> domains;
  if (d->is_string()) {
    domains.emplace_back(d->get_string());
  } else {
    domains = core::config::decode<std::vector<std::string>>(*d, "domains");
  }
  dns::CertificateOptions o;
  auto text = [&](std::string_view key, std::string& out) {
    if (const auto* v = params.if_contains(key))
      out = core::config::decode<std::string>(*v, std::string(key));
  };
  text("email", o.email);
  text("directory", o.directory);
  text("directoryCa", o.directory_ca);
  std::string key_type;
  text("keyType", key_type);
  if (!key_type.empty()) {
    o.key_type = acme::parse_key_type(key_type);
    if (!o.key_type) {
      throw core::config::Error("keyType",
                                "\"" + key_type + "\" is not one of: " + std::string(acme::kKeyTypeHelp));
    }
  }
  return {std::move(domains), std::move(o)};
}

boost::json::object certificate_result(const dns::RetrievedCertificate& r) {
  boost::json::array names;
  for (const auto& n : r.certificate.domains) names.emplace_back(n);
  return {{"domains", std::move(names)},
          {"issued", r.issued},
          {"notBefore", iso_time(r.certificate.not_before)},
          {"notAfter", iso_time(r.certificate.not_after)},
          {"certificatePath", r.certificate.certificate_path.string()},
          {"keyPath", r.certificate.key_path.string()},
          {"certificate", r.certificate.certificate_pem}};
}

boost::json::object progress_chunk(const acme::Progress& p) {
  return {{"step", p.step}, {"message", p.message}};
}

void add_management_commands(core::management::Registry& registry, dns::Server& server,
                             std::optional<core::management::Server>& management) {
  registry.add_sync("getMetrics",
                    [&server](const boost::json::object&) { return server.metrics().to_json(); });
  registry.add_sync("listZones", [&server](const boost::json::object&) {
    boost::json::array zones;
    for (const auto& apex : server.zone_apexes()) zones.push_back(boost::json::string(apex.to_string()));
    return boost::json::object{{"zones", zones}};
  });
  registry.add_sync("updateCerts", [&server](const boost::json::object& params) {
    auto field = [&](std::string_view key) {
      auto it = params.find(key);
      if (it == params.end() || !it->value().is_string()) {
        throw core::config::Error(std::string(key), "missing (PEM text or a PEM file path)");
      }
      return std::string(it->value().get_string());
    };
    server.update_certs({field("httpsCert"), field("httpsKey")});
    return boost::json::object();
  });
  // Obtains (or finds in the store) an ACME certificate; each step is a stream chunk.
  registry.add("retrieveCertificate",
               [&server](core::management::Call& call) -> boost::asio::awaitable<boost::json::value> {
                 auto [domains, options] = certificate_request(call.params());
                 options.progress = [&call](const acme::Progress& p) { call.stream(progress_chunk(p)); };
                 auto result =
                     co_await server.async_retrieve_certificate(std::move(domains), std::move(options));
                 co_return certificate_result(result);
               });
  registry.add_sync("stop", [&server](const boost::json::object&) {
    server.stop();
    return boost::json::object();
  });
  // A `query` event per answered query to every management client, while enabled.
  registry.add_sync("setQueryEvents", [&server, &management](const boost::json::object& params) {
    const auto* enabled = params.if_contains("enabled");
    bool on = core::config::decode<bool>(enabled ? *enabled : boost::json::value(), "enabled");
    if (on) {
      server.set_query_observer(
          [&management](const dns::QueryEvent& e) { management->emit("query", query_event(e)); });
    } else {
      server.set_query_observer({});
    }
    return boost::json::object{{"enabled", on}};
  });
}

}  // namespace

int serve(const ServeFlags& flags) {
  auto config = make_config(flags);
  core::init_logging(config.log.level);
  dns::Server server(config);
  server.stop_on_signals();
  core::management::Registry registry;
  std::optional<core::management::Server> management;
  add_management_commands(registry, server, management);
  if (!flags.management_socket.empty()) {
    management.emplace(server.runtime().control(), registry);
    management->listen_unix(flags.management_socket);
  }
  server.start();
  server.wait();
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
