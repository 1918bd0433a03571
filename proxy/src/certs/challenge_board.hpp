// The ACME challenges this proxy (and every proxy sharing its certificate
// store) is answering now: http-01 tokens for /.well-known/acme-challenge/
// on the ACME port, and tls-alpn-01 validation certificates (RFC 8737) for
// hellos that offer acme-tls/1. Each challenge is kept in memory and written
// to <store>/challenges/ as well, so that whichever proxy the CA's request
// reaches can answer a challenge another proxy presented.
//
// Thread-safety: add/remove on the certificate thread, lookups from any
// worker. Lookups never throw; a challenge file that does not parse is
// treated as absent.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "basalt/core/tls.hpp"

namespace basalt::proxy {

class ChallengeBoard {
 public:
  // `store`: the certificate store; "" keeps challenges in memory only.
  explicit ChallengeBoard(std::filesystem::path store);

  // http-01: `token` answers with `key_authorization` for requests whose
  // Host is `domain`. Throws std::runtime_error when the store cannot be written.
  void add_http01(const std::string& domain, const std::string& token, const std::string& key_authorization);
  void remove_http01(const std::string& token);
  // The key authorization for GET /.well-known/acme-challenge/<token> with
  // this Host (lowercase, without port), if a challenge is pending.
  std::optional<std::string> http01(std::string_view host, std::string_view token) const;

  // tls-alpn-01: a validation certificate for `domain`. Throws
  // std::runtime_error when the certificate cannot be made or stored.
  void add_tls_alpn(const std::string& domain, const std::string& key_authorization);
  void remove_tls_alpn(const std::string& domain);
  // The TLS context answering an acme-tls/1 hello for `domain` (ALPN
  // acme-tls/1 only), if a challenge is pending.
  std::optional<core::TlsServerContext> tls_alpn(std::string_view domain) const;

  // True when a token has only the characters RFC 8555 allows (base64url).
  static bool valid_token(std::string_view token);

 private:
  struct TlsAlpn {
    std::string key_authorization;
    core::TlsServerContext context;
  };
  std::optional<core::TlsServerContext> make_tls_alpn(const std::string& domain,
                                                      const std::string& key_authorization) const;
  std::filesystem::path file(std::string_view kind, std::string_view name) const;

  std::filesystem::path dir_;  // <store>/challenges, or empty
  mutable std::mutex mutex_;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> http01_;  // token -> (domain, key auth)
  // domain -> the validation context, ours or made from another proxy's file.
  mutable std::map<std::string, TlsAlpn, std::less<>> tls_alpn_;
};

}  // namespace basalt::proxy
