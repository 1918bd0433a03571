#include "route_set.hpp"

#include <openssl/ssl.h>

#include <limits>
#include <string>

#include "basalt/core/config.hpp"
#include "certs/auto_certificates.hpp"
#include "l4/ticket_keys.hpp"
#include "security/connection_limits.hpp"

namespace basalt::proxy {

namespace {

// ALPN towards the client of a re-encrypting route: what the backend chose,
// stored on the SSL object by the connection before the client handshake.
int select_backend_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                        const unsigned char* in, unsigned int in_length, void*) {
  auto* chosen = static_cast<const std::string*>(SSL_get_app_data(ssl));
  if (!chosen || chosen->empty()) return SSL_TLSEXT_ERR_NOACK;
  for (unsigned int i = 0; i < in_length;) {
    unsigned int n = in[i];
    if (i + 1 + n > in_length) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), n) == *chosen) {
      *out = in + i + 1;
      *out_length = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void apply_versions(SSL_CTX* ctx, const std::vector<TlsProtocolVersion>& versions) {
  if (versions.empty()) return;
  bool v12 = false, v13 = false;
  for (auto v : versions) (v == TlsProtocolVersion::kTls12 ? v12 : v13) = true;
  SSL_CTX_set_min_proto_version(ctx, v12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
}

// certificate: auto routes answer ACME challenges: the HTTP-01 port and the
// board. (check_acme_use() has checked them against the acme section.)
void attach_challenges(RouteSet& set, AutoCertificates* certificates) {
  if (!certificates) return;
  for (const auto& route : set.table->routes()) {
    const auto& tls = route.config.action.tls;
    if (!tls || !tls->auto_certificate) continue;
    set.acme_port = certificates->acme().port;
    set.challenges = &certificates->board();
    return;
  }
}

}  // namespace

std::shared_ptr<RouteSet> RouteSet::build(std::vector<RouteConfig> routes, const DefaultsConfig& defaults,
                                          std::shared_ptr<TicketKeys> tickets,
                                          RouteStateRegistries registries) {
  {
    std::optional<AcmeOptions> acme;
    if (registries.certificates) acme = registries.certificates->acme();
    check_acme_use(routes, acme);
  }
  auto set = std::make_shared<RouteSet>();
  set->table = RouteTable::build(std::move(routes), defaults);
  set->tls.resize(set->table->routes().size());
  for (const auto& route : set->table->routes()) {
    set->counters.push_back(registries.limits.counter_for(route.id));
    set->retirements.push_back(registries.retirements.for_route(route.id));
  }
  for (const auto& route : set->table->routes()) {
    RouteHttp parts;
    const auto& action = route.config.action;
    if (action.type == ActionType::kForward) {
      if (route.http) {
        parts.pool = BackendPool::build(route.id, action, registries.health);
      } else {
        // A TCP route's connections are counted (least-connections) but
        // not capped: maxPendingRequests is about HTTP requests.
        RouteAction tcp = action;
        if (!tcp.load_balancing) tcp.load_balancing.emplace();
        tcp.load_balancing->max_pending_requests = std::numeric_limits<std::uint32_t>::max();
        parts.pool = BackendPool::build(route.id, tcp, registries.health);
      }
    }
    if (route.security.rate_limit) {
      parts.rate_limiter = registries.rate_limits.limiter_for(route.id, *route.security.rate_limit);
    }
    if (route.security.basic_auth) parts.basic_auth.emplace(*route.security.basic_auth);
    if (action.url_rewrite) {
      parts.rewrite = std::make_shared<const std::regex>(action.url_rewrite->pattern, std::regex::ECMAScript);
    }
    set->route_http.push_back(std::move(parts));
  }
  attach_challenges(*set, registries.certificates);
  for (const auto& route : set->table->routes()) {
    const auto& tls = route.config.action.tls;
    if (!tls || tls->mode == TlsMode::kPassthrough) continue;
    std::string path = "routes[" + std::to_string(route.position) + "].action.tls";
    auto& out = set->tls[route.position];
    std::string error;
    core::TlsServerOptions server_options;
    // An auto route's context starts with a placeholder that is never
    // served: its handshakes wait for auto_certificate to be ready.
    server_options.certificates.push_back(tls->auto_certificate ? registries.certificates->placeholder()
                                                                : tls->certificate->source());
    // Terminating routes offer HTTP (h2 first); a re-encrypting route that
    // is not an HTTP route answers with what its backend chose instead.
    // A terminating route that sends a PROXY header is a byte relay: no ALPN.
    const bool relays_with_header = route.config.action.send_proxy_protocol.value_or(false) && !route.http;
    const bool http_alpn = (tls->mode == TlsMode::kTerminate && !relays_with_header) || route.http;
    if (http_alpn) server_options.alpn = {"h2", "http/1.1"};
    auto server = core::TlsServerContext::create(server_options, &error);
    if (!server) throw core::config::Error(path + ".certificate", error);
    SSL_CTX* ctx = server->native_handle();
    apply_versions(ctx, tls->versions);
    if (!tls->ciphers.empty() && SSL_CTX_set_cipher_list(ctx, tls->ciphers.c_str()) != 1)
      throw core::config::Error(path + ".ciphers", "\"" + tls->ciphers + "\" has no cipher OpenSSL knows");
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    // One recv per burst of records instead of two per record (header, body).
    SSL_CTX_set_read_ahead(ctx, 1);
    if (tickets) tickets->install(ctx);
    if (tls->mode == TlsMode::kTerminateAndReencrypt) {
      if (!http_alpn) SSL_CTX_set_alpn_select_cb(ctx, select_backend_alpn, nullptr);
      core::TlsClientOptions client_options{.ca = tls->backend.ca, .verify = tls->backend.verify};
      auto client = core::TlsClientContext::create(client_options, &error);
      if (!client) throw core::config::Error(path + ".backend.ca", error);
      SSL_CTX_set_options(client->native_handle(), SSL_OP_IGNORE_UNEXPECTED_EOF);
      SSL_CTX_set_read_ahead(client->native_handle(), 1);
      out.backend = std::move(*client);
    }
    if (tls->auto_certificate) {
      out.auto_certificate =
          registries.certificates->bind(route.config.match.domains, route.id, registries.generation, *server);
    }
    out.server = std::move(*server);
  }
  return set;
}

}  // namespace basalt::proxy
