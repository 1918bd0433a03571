// TLS server and client contexts on OpenSSL 3, plus certificate helpers.
//
// Use TlsServerContext for every TLS listener (DoT, DoH, the proxy): it
// loads certificates from PEM files or inline PEM, picks one per handshake by
// SNI (exact names, then `*.` wildcards from the certificates' DNS SANs, then
// the first certificate as the default), negotiates ALPN, and lets you
// replace the whole certificate set while the server runs: new handshakes see
// the new set, open connections are untouched. Use TlsClientContext for
// outgoing connections (upstreams, ACME, tests): it verifies against the
// system trust store or a given CA, checks the host name and offers ALPN.
//
// The contexts expose OpenSSL's SSL_CTX so that this header does not pull in
// Asio. An Asio user adopts it like this (Asio takes one reference):
//   SSL_CTX_up_ref(server.native_handle());
//   boost::asio::ssl::context ctx(server.native_handle());
// Contexts are cheap handles (copying shares the SSL_CTX); all member
// functions are thread-safe. Control-plane functions report failures through
// an optional `std::string* error` with the reason, e.g. `private key does not
// match the certificate (CN=example.com)`, and never throw.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"

struct ssl_ctx_st;     // SSL_CTX
struct ssl_st;         // SSL
struct x509_st;        // X509
struct evp_pkey_st;    // EVP_PKEY
struct stack_st_X509;  // STACK_OF(X509)

namespace basalt::core {

// Where a certificate and its key come from. Each field is either PEM text
// (anything containing "-----BEGIN") or the path of a PEM file. The
// certificate PEM holds the leaf first, then any intermediates.
struct TlsCertificateSource {
  std::string certificate;
  std::string private_key;
};

// A loaded certificate chain and its private key. Immutable; share it freely.
class TlsCertifiedKey {
 public:
  // Reads and checks a certificate source. Reasons on failure name the part:
  // `cannot read certificate file "/x.pem": No such file or directory`,
  // `certificate PEM is malformed (...)`, `private key PEM is malformed
  // (...)`, `private key is encrypted, which is not supported`,
  // `private key does not match the certificate (CN=...)`.
  static std::shared_ptr<const TlsCertifiedKey> load(const TlsCertificateSource& source,
                                                     std::string* error = nullptr);

  ~TlsCertifiedKey();
  TlsCertifiedKey(const TlsCertifiedKey&) = delete;
  TlsCertifiedKey& operator=(const TlsCertifiedKey&) = delete;

  // The DNS names this certificate serves, lowercase, from its subjectAltName
  // (the subject CN only when there is no DNS SAN). May contain "*.x" names.
  const std::vector<std::string>& dns_names() const noexcept { return dns_names_; }
  // The subject in one-line form, e.g. "CN=example.com".
  const std::string& subject() const noexcept { return subject_; }
  std::chrono::system_clock::time_point not_before() const noexcept { return not_before_; }
  std::chrono::system_clock::time_point not_after() const noexcept { return not_after_; }

  // OpenSSL objects, owned by this object; valid while it lives.
  x509_st* leaf() const noexcept { return leaf_; }
  evp_pkey_st* key() const noexcept { return key_; }
  stack_st_X509* chain() const noexcept { return chain_; }

 private:
  TlsCertifiedKey() = default;
  x509_st* leaf_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  stack_st_X509* chain_ = nullptr;
  std::vector<std::string> dns_names_;
  std::string subject_;
  std::chrono::system_clock::time_point not_before_{};
  std::chrono::system_clock::time_point not_after_{};
};

enum class TlsVersion : std::uint8_t { kTls12, kTls13 };

struct TlsServerOptions {
  // At least one; the first is the default for unknown or missing SNI.
  std::vector<TlsCertificateSource> certificates;
  // ALPN protocols in server preference order, e.g. {"h2", "http/1.1"}.
  // Empty: no ALPN.
  std::vector<std::string> alpn;
  // When the client offers ALPN and nothing overlaps: false continues
  // without ALPN (what most servers do), true fails the handshake with the
  // no_application_protocol alert (RFC 7301 §3.2).
  bool reject_unknown_alpn = false;
  TlsVersion min_version = TlsVersion::kTls12;
};

class TlsServerContext {
 public:
  // Builds a server SSL_CTX. Fails (nullopt + reason) when no certificate is
  // given, a certificate does not load ("certificates[1]: private key does
  // not match ...") or an ALPN name is empty or longer than 255 bytes.
  static std::optional<TlsServerContext> create(const TlsServerOptions& options,
                                                std::string* error = nullptr);

  // Replaces the certificate set atomically. Handshakes that start afterwards
  // use the new set; connections already open keep theirs. On failure
  // nothing changes. Safe to call from any thread while the server runs.
  bool set_certificates(const std::vector<TlsCertificateSource>& certificates, std::string* error = nullptr);
  // Same with already loaded certificates; returns false (and changes
  // nothing) for an empty list.
  bool set_certificates(std::vector<std::shared_ptr<const TlsCertifiedKey>> certificates);

  // The certificate a handshake with this SNI value would get now (case and
  // a trailing dot ignored; "" = no SNI). Never null.
  std::shared_ptr<const TlsCertifiedKey> select(std::string_view server_name) const;

  // The SSL_CTX, valid while any handle to this context lives. Take a
  // reference with SSL_CTX_up_ref to keep it longer. Do not replace its
  // certificate or ALPN callbacks.
  ssl_ctx_st* native_handle() const noexcept;

  TlsServerContext(const TlsServerContext&);
  TlsServerContext& operator=(const TlsServerContext&);
  TlsServerContext(TlsServerContext&&) noexcept;
  TlsServerContext& operator=(TlsServerContext&&) noexcept;
  ~TlsServerContext();

 private:
  TlsServerContext() = default;
  ssl_ctx_st* ctx_ = nullptr;
};

struct TlsClientOptions {
  // Trust anchors: PEM text or a PEM file path with one or more CA
  // certificates. Empty: the system trust store.
  std::string ca;
  // false disables certificate and host name verification. For tests and
  // explicit "insecure" settings only.
  bool verify = true;
  // ALPN protocols to offer, in preference order.
  std::vector<std::string> alpn;
  TlsVersion min_version = TlsVersion::kTls12;
};

class TlsClientContext {
 public:
  // Fails (nullopt + reason) for an unreadable or malformed CA
  // (`cannot read CA file ...`, `CA PEM is malformed (...)`) or bad ALPN.
  static std::optional<TlsClientContext> create(const TlsClientOptions& options,
                                                std::string* error = nullptr);

  // Prepares a connection made from this context to talk to `server_name`:
  // a DNS name is sent as SNI and checked against the certificate; an IP
  // address is checked against IP SANs and not sent (RFC 6066 §3). Call
  // before the handshake. Returns false with a reason for an empty name.
  bool prepare(ssl_st* ssl, std::string_view server_name, std::string* error = nullptr) const;

  ssl_ctx_st* native_handle() const noexcept;

  TlsClientContext(const TlsClientContext&);
  TlsClientContext& operator=(const TlsClientContext&);
  TlsClientContext(TlsClientContext&&) noexcept;
  TlsClientContext& operator=(TlsClientContext&&) noexcept;
  ~TlsClientContext();

 private:
  TlsClientContext() = default;
  ssl_ctx_st* ctx_ = nullptr;
};

// After a failed handshake: why the peer certificate was rejected, e.g.
// "certificate verify failed: self-signed certificate (for example.com)", or
// "" if verification was not the problem.
std::string tls_verify_error(const ssl_st* ssl);
// The negotiated ALPN protocol, "" if none.
std::string tls_alpn_protocol(const ssl_st* ssl);

struct SelfSignedOptions {
  // Put into subjectAltName; the first is also the subject CN. At least one
  // DNS name or IP address.
  std::vector<std::string> dns_names;
  // IP subjectAltNames, for servers reached by address (e.g. DoT on 127.0.0.1).
  std::vector<IpAddress> ip_addresses;
  std::chrono::seconds validity = std::chrono::hours(24 * 365);
};

struct PemCertificate {
  std::string certificate;  // "-----BEGIN CERTIFICATE-----..."
  std::string private_key;  // "-----BEGIN PRIVATE KEY-----..." (PKCS#8)
};

// Generates an ECDSA P-256 key and a self-signed certificate for the given
// names and addresses (valid from 5 minutes ago, to allow for clock skew, for `validity`),
// usable directly as a TlsCertificateSource and as its own CA on clients.
// Thread-safe. nullopt + reason when no name is given or OpenSSL fails.
std::optional<PemCertificate> generate_self_signed(const SelfSignedOptions& options,
                                                   std::string* error = nullptr);

}  // namespace basalt::core
