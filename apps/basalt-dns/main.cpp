// basalt-dns: the DNS daemon and tools. Only command-line parsing lives in
// apps/basalt-dns/; every subcommand is a thin layer over basalt::dns.
//
//   basalt-dns serve [--config FILE] [--listen ADDR:PORT]... [--zone-file FILE]...
//                    [--state-dir DIR] [--log-level LEVEL] [--management-socket PATH]
//   basalt-dns keygen --zone Z [--algorithm A] --key-dir D    a DNSSEC key; prints its DNSKEY
//   basalt-dns ds --zone Z --key-dir D                        the DS of the zone's KSK
//   basalt-dns cert --domain D... [--email E] [--directory URL] [--directory-ca FILE]
//                   --management-socket PATH       an ACME certificate, via the running daemon
//   basalt-dns --management      the smartdns engine protocol on stdio
#include <spdlog/spdlog.h>

#include "basalt/core/config.hpp"
#include "basalt/core/log.hpp"
#include "basalt/dns/zone/zone_error.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  namespace apps = basalt::apps;
  CLI::App app("basalt-dns: authoritative DNS server and DNS tools");
  app.require_subcommand(0, 1);
  std::function<int()> action;
  apps::ServeFlags serve_flags;
  apps::add_serve_command(app, serve_flags, action);
  apps::KeyFlags key_flags;
  apps::add_key_commands(app, key_flags, action);
  apps::CertFlags cert_flags;
  apps::add_cert_command(app, cert_flags, action);
  apps::QueryFlags query_flags;
  apps::add_query_command(app, query_flags, action);
  bool management = false;
  apps::add_engine_flag(app, management, action);
  CLI11_PARSE(app, argc, argv);
  if (!action) {
    std::cerr << app.help();
    return 2;
  }

  basalt::core::init_logging(basalt::core::LogLevel::info);
  try {
    return action ? action() : 0;
  } catch (const basalt::core::config::Error& e) {
    spdlog::error("configuration: {}", e.what());
    return 2;
  } catch (const basalt::dns::ZoneError& e) {
    spdlog::error("zone: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
