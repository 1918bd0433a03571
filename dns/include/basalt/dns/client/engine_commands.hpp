// The client engine commands of the management protocol (`resolve`; `ping`
// is built into every Registry), so smartdns's `Smartdns` class can drive
// `basalt-dns --management` as its `rustdns-client` binary.
//
//   core::management::Registry registry;
//   dns::add_client_engine_commands(registry);   // defaults from the environment
//
// `resolve` takes `{name, recordType, protocol: "udp" | "doh", serverAddr?,
// dohUrl?, timeoutMs?}` and answers `{answers: [{name, type, ttl, value}],
// adFlag, rcode}` (rcode a number). Without serverAddr/dohUrl the upstreams
// come from ClientEngineDefaults: BASALT_DNS_UDP_UPSTREAM (`ADDR:PORT`),
// BASALT_DNS_DOH_URL and BASALT_DNS_CA_FILE when set, else the public defaults
// of ClientOptions. A query that gets no response fails the command
// (`success: false` with the reason), as the original engine does. A
// malformed variable fails only the commands that would use it, naming the
// variable and its value: the same process serves the server engine, which
// must start whatever the client settings are.
//
// Thread-safety: add before serving; the commands run on the management
// server's io_context and keep their Clients (and DoH connections) for reuse.
#pragma once

#include <optional>
#include <string>

#include "basalt/core/ip.hpp"
#include "basalt/core/management/registry.hpp"

namespace basalt::dns {

struct ClientEngineDefaults {
  std::optional<core::Endpoint> udp_upstream;  // none: ClientOptions' default
  std::string udp_upstream_error;              // set: `resolve` over UDP without serverAddr fails with it
  std::string doh_url;                         // "": ClientOptions' default
  std::string ca_file;                         // "": the system trust store
  // Reads BASALT_DNS_UDP_UPSTREAM, BASALT_DNS_DOH_URL, BASALT_DNS_CA_FILE.
  // Never throws: a malformed value is kept as udp_upstream_error, which
  // names the variable and the value.
  static ClientEngineDefaults from_environment();
};

void add_client_engine_commands(core::management::Registry& registry,
                                ClientEngineDefaults defaults = ClientEngineDefaults::from_environment());

}  // namespace basalt::dns
