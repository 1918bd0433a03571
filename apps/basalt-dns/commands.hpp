// The subcommands of basalt-dns. Each adds itself to the CLI11 app and, when
// chosen, sets `action` to what main() runs. Errors are thrown
// (core::config::Error and dns::ZoneError exit 2, others 1).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace basalt::acme {}
namespace basalt::core {}
namespace basalt::dns {}

namespace basalt::apps {

namespace acme = basalt::acme;
namespace core = basalt::core;
namespace dns = basalt::dns;

struct ServeFlags {
  std::string config_file;
  std::vector<std::string> listen;
  std::vector<std::string> zone_files;
  std::string state_dir;
  std::string log_level;
  std::string management_socket;
  std::vector<std::string> doh;  // DoH listeners
  std::string tls_cert, tls_key;
  std::string dnssec_zone, key_dir, dnssec_algorithm;  // online signing
};
void add_serve_command(CLI::App& app, ServeFlags& flags, std::function<int()>& action);
int serve(const ServeFlags& flags);

// `basalt-dns --management` (no subcommand): the smartdns engine on stdio.
void add_engine_flag(CLI::App& app, bool& management, std::function<int()>& action);
int run_engine();

// `basalt-dns keygen` and `basalt-dns ds`: DNSSEC keys in a key directory.
struct KeyFlags {
  std::string zone;
  std::string algorithm = "ecdsa-p256";
  std::string key_dir;
  std::string role = "csk";  // csk (combined), ksk or zsk
};
void add_key_commands(CLI::App& app, KeyFlags& flags, std::function<int()>& action);

// `basalt-dns cert`: asks a running daemon (over its management socket) to
// obtain an ACME certificate, printing the progress.
struct CertFlags {
  std::vector<std::string> domains;
  std::string email, directory, directory_ca;
  std::string key_type;  // ecdsa-p256 or rsa-2048; default: the daemon's acme.key_type
  std::string management_socket;
  std::string timeout = "10m";
};
void add_cert_command(CLI::App& app, CertFlags& flags, std::function<int()>& action);

struct QueryFlags {
  std::vector<std::string> args;  // NAME [TYPE] [@SERVER[:PORT]]
  bool tcp = false;
  std::string doh_url;
  std::string ca_file;
  bool doh_get = false;
  bool dnssec = false;
  bool json = false;
  int timeout_ms = 5000;
};
void add_query_command(CLI::App& app, QueryFlags& flags, std::function<int()>& action);
int query(const QueryFlags& flags);

}  // namespace basalt::apps
