#include "basalt/core/tls.hpp"
#include "basalt/core/openssl_error.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "basalt/core/file.hpp"
#include "basalt/core/ip.hpp"
#include "basalt/core/snapshot.hpp"

namespace basalt::core {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

void set_error(std::string* error, std::string why) {
  if (error) *error = std::move(why);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

bool is_pem_text(std::string_view s) {
  return s.find("-----BEGIN") != std::string_view::npos;
}

// PEM text from an inline value or a file. `what` is "certificate",
// "private key" or "CA".
std::optional<std::string> pem_source(std::string_view value, std::string_view what, std::string* error) {
  if (is_pem_text(value)) return std::string(value);
  if (value.empty()) {
    set_error(error, std::string(what) + " is empty (expected PEM text or a file path)");
    return std::nullopt;
  }
  std::string why;
  auto text = read_file(std::string(value), &why);
  if (!text) {
    // read_file says `cannot read "path": reason`; name the part.
    set_error(error, "cannot read " + std::string(what) + " file" +
                         why.substr(std::string_view("cannot read").size()));
    return std::nullopt;
  }
  if (!is_pem_text(*text)) {
    set_error(error, std::string(what) + " file \"" + std::string(value) + "\" contains no PEM data");
    return std::nullopt;
  }
  return text;
}

// All certificates in a PEM text, in order.
std::optional<std::vector<X509Ptr>> parse_certificates(const std::string& pem, std::string_view what,
                                                       std::string* error) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) break;
    out.emplace_back(x);
  }
  const unsigned long err = ERR_peek_last_error();
  // Running out of input after at least one certificate is the normal end.
  if (!out.empty() && ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return out;
  }
  if (out.empty() && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    set_error(error, std::string(what) + " PEM is malformed (no CERTIFICATE block)");
    return std::nullopt;
  }
  if (err != 0 || out.empty()) {
    set_error(error, std::string(what) + " PEM is malformed (" + openssl_reason() + ")");
    return std::nullopt;
  }
  return out;
}

std::string one_line_subject(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<std::string> certificate_dns_names(X509* x) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_DNS) continue;
      const ASN1_STRING* s = gn->d.dNSName;
      names.push_back(lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                             static_cast<std::size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    X509_NAME* subject = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
      ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, cn);
      if (len > 0)
        names.push_back(
            lower(std::string_view(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len))));
      OPENSSL_free(utf8);
    }
  }
  return names;
}

std::optional<std::vector<unsigned char>> alpn_wire(const std::vector<std::string>& protocols,
                                                    std::string* error) {
  std::vector<unsigned char> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      set_error(error, "ALPN protocol \"" + p + "\" must be 1-255 bytes long");
      return std::nullopt;
    }
    wire.push_back(static_cast<unsigned char>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  return wire;
}

int proto_version(TlsVersion v) {
  return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// --- server state ------------------------------------------------------------

struct CertificateSet {
  std::vector<std::shared_ptr<const TlsCertifiedKey>> certificates;  // [0] = default
  std::unordered_map<std::string, std::size_t> exact;
  std::unordered_map<std::string, std::size_t> wildcard;  // "*.example.com" -> "example.com"

  explicit CertificateSet(std::vector<std::shared_ptr<const TlsCertifiedKey>> certs = {})
      : certificates(std::move(certs)) {
    for (std::size_t i = 0; i < certificates.size(); ++i) {
      for (const auto& name : certificates[i]->dns_names()) {
        if (name.starts_with("*.")) {
          wildcard.emplace(name.substr(2), i);  // first certificate listing a name wins
        } else {
          exact.emplace(name, i);
        }
      }
    }
  }

  const std::shared_ptr<const TlsCertifiedKey>& select(std::string_view server_name) const {
    if (!server_name.empty() && server_name.back() == '.') server_name.remove_suffix(1);
    if (!server_name.empty()) {
      const std::string name = lower(server_name);
      if (auto it = exact.find(name); it != exact.end()) return certificates[it->second];
      // A wildcard covers exactly one label (RFC 6125 §6.4.3).
      if (auto dot = name.find('.'); dot != std::string::npos && dot > 0) {
        if (auto it = wildcard.find(name.substr(dot + 1)); it != wildcard.end())
          return certificates[it->second];
      }
    }
    return certificates.front();
  }
};

struct ServerState {
  Snapshot<CertificateSet> certificates;
  std::vector<unsigned char> alpn;
  bool reject_unknown_alpn = false;

  explicit ServerState(std::shared_ptr<const CertificateSet> initial) : certificates(std::move(initial)) {}
};

// The ServerState lives in the SSL_CTX's ex_data and dies with it, so the
// callbacks stay valid however long OpenSSL or Asio keep the SSL_CTX alive.
void free_server_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ServerState*>(ptr);
}

int server_state_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_server_state);
  return index;
}

ServerState* server_state(SSL_CTX* ctx) {
  return static_cast<ServerState*>(SSL_CTX_get_ex_data(ctx, server_state_index()));
}

// Called for every handshake (with or without SNI) before the certificate is
// chosen: installs the certificate for this connection from the snapshot.
int select_certificate(SSL* ssl, void* arg) {
  auto* state = static_cast<ServerState*>(arg);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  auto set = state->certificates.load();
  const auto& cert = set->select(sni ? std::string_view(sni) : std::string_view());
  return SSL_use_cert_and_key(ssl, cert->leaf(), cert->key(), cert->chain(), 1) == 1 ? 1 : 0;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  auto* state = static_cast<ServerState*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, state->alpn.data(),
                            static_cast<unsigned int>(state->alpn.size()), in,
                            inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return state->reject_unknown_alpn ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

std::optional<std::vector<std::shared_ptr<const TlsCertifiedKey>>> load_all(
    const std::vector<TlsCertificateSource>& sources, std::string* error) {
  if (sources.empty()) {
    set_error(error, "needs at least one certificate");
    return std::nullopt;
  }
  std::vector<std::shared_ptr<const TlsCertifiedKey>> out;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    std::string why;
    auto c = TlsCertifiedKey::load(sources[i], &why);
    if (!c) {
      set_error(error, "certificates[" + std::to_string(i) + "]: " + why);
      return std::nullopt;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

// --- TlsCertifiedKey -----------------------------------------------------------

TlsCertifiedKey::~TlsCertifiedKey() {
  X509_free(leaf_);
  EVP_PKEY_free(key_);
  sk_X509_pop_free(chain_, X509_free);
}

std::shared_ptr<const TlsCertifiedKey> TlsCertifiedKey::load(const TlsCertificateSource& source,
                                                             std::string* error) {
  auto cert_pem = pem_source(source.certificate, "certificate", error);
  if (!cert_pem) return nullptr;
  auto key_pem = pem_source(source.private_key, "private key", error);
  if (!key_pem) return nullptr;
  auto certs = parse_certificates(*cert_pem, "certificate", error);
  if (!certs) return nullptr;

  if (key_pem->find("PRIVATE KEY-----") == std::string::npos) {
    set_error(error, "private key PEM is malformed (no PRIVATE KEY block)");
    return nullptr;
  }
  if (key_pem->find("ENCRYPTED") != std::string::npos) {
    set_error(error, "private key is encrypted, which is not supported");
    return nullptr;
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    const unsigned long err = ERR_peek_last_error();
    if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
      ERR_clear_error();
      set_error(error, "private key PEM is malformed (no PRIVATE KEY block)");
    } else {
      set_error(error, "private key PEM is malformed (" + openssl_reason() + ")");
    }
    return nullptr;
  }
  X509* leaf = (*certs)[0].get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    set_error(error, "private key does not match the certificate (" + one_line_subject(leaf) + ")");
    return nullptr;
  }

  std::shared_ptr<TlsCertifiedKey> out(new TlsCertifiedKey());
  out->dns_names_ = certificate_dns_names(leaf);
  out->subject_ = one_line_subject(leaf);
  // The clock counts nanoseconds in 64 bits (until 2262): a notAfter in
  // 9999, as some certificates have, is kept as the clock's maximum.
  auto time_of = [](const ASN1_TIME* t, std::chrono::system_clock::time_point& out) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return;
    constexpr auto kLimit =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max()).count();
    const std::time_t seconds = timegm(&tm);
    out = seconds > kLimit    ? std::chrono::system_clock::time_point::max()
          : seconds < -kLimit ? std::chrono::system_clock::time_point::min()
                              : std::chrono::system_clock::from_time_t(seconds);
  };
  time_of(X509_get0_notBefore(leaf), out->not_before_);
  time_of(X509_get0_notAfter(leaf), out->not_after_);
  out->chain_ = sk_X509_new_null();
  for (std::size_t i = 1; i < certs->size(); ++i) sk_X509_push(out->chain_, (*certs)[i].release());
  out->leaf_ = (*certs)[0].release();
  out->key_ = key.release();
  return out;
}

// --- TlsServerContext ---------------------------------------------------------

std::optional<TlsServerContext> TlsServerContext::create(const TlsServerOptions& options,
                                                         std::string* error) {
  auto certs = load_all(options.certificates, error);
  if (!certs) return std::nullopt;
  auto alpn = alpn_wire(options.alpn, error);
  if (!alpn) return std::nullopt;

  TlsServerContext out;
  out.ctx_ = SSL_CTX_new(TLS_server_method());
  if (!out.ctx_) {
    set_error(error, "cannot create TLS context (" + openssl_reason() + ")");
    return std::nullopt;
  }
  SSL_CTX_set_min_proto_version(out.ctx_, proto_version(options.min_version));
  SSL_CTX_set_options(out.ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  auto* state = new ServerState(std::make_shared<const CertificateSet>(std::move(*certs)));
  state->alpn = std::move(*alpn);
  state->reject_unknown_alpn = options.reject_unknown_alpn;
  SSL_CTX_set_ex_data(out.ctx_, server_state_index(), state);
  SSL_CTX_set_cert_cb(out.ctx_, select_certificate, state);
  if (!state->alpn.empty()) SSL_CTX_set_alpn_select_cb(out.ctx_, select_alpn, state);
  return out;
}

bool TlsServerContext::set_certificates(const std::vector<TlsCertificateSource>& certificates,
                                        std::string* error) {
  auto certs = load_all(certificates, error);
  return certs && set_certificates(std::move(*certs));
}

bool TlsServerContext::set_certificates(std::vector<std::shared_ptr<const TlsCertifiedKey>> certificates) {
  if (certificates.empty() ||
      std::find(certificates.begin(), certificates.end(), nullptr) != certificates.end()) {
    return false;
  }
  server_state(ctx_)->certificates.publish(std::make_shared<const CertificateSet>(std::move(certificates)));
  return true;
}

std::shared_ptr<const TlsCertifiedKey> TlsServerContext::select(std::string_view server_name) const {
  return server_state(ctx_)->certificates.load()->select(server_name);
}

ssl_ctx_st* TlsServerContext::native_handle() const noexcept {
  return ctx_;
}

TlsServerContext::TlsServerContext(const TlsServerContext& o) : ctx_(o.ctx_) {
  if (ctx_) SSL_CTX_up_ref(ctx_);
}
TlsServerContext& TlsServerContext::operator=(const TlsServerContext& o) {
  if (this != &o) {
    if (o.ctx_) SSL_CTX_up_ref(o.ctx_);
    SSL_CTX_free(ctx_);
    ctx_ = o.ctx_;
  }
  return *this;
}
TlsServerContext::TlsServerContext(TlsServerContext&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
TlsServerContext& TlsServerContext::operator=(TlsServerContext&& o) noexcept {
  if (this != &o) {
    SSL_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
TlsServerContext::~TlsServerContext() {
  SSL_CTX_free(ctx_);
}

// --- TlsClientContext ---------------------------------------------------------

std::optional<TlsClientContext> TlsClientContext::create(const TlsClientOptions& options,
                                                         std::string* error) {
  auto alpn = alpn_wire(options.alpn, error);
  if (!alpn) return std::nullopt;
  std::vector<X509Ptr> cas;
  if (!options.ca.empty()) {
    auto pem = pem_source(options.ca, "CA", error);
    if (!pem) return std::nullopt;
    auto parsed = parse_certificates(*pem, "CA", error);
    if (!parsed) return std::nullopt;
    cas = std::move(*parsed);
  }
  TlsClientContext out;
  out.ctx_ = SSL_CTX_new(TLS_client_method());
  if (!out.ctx_) {
    set_error(error, "cannot create TLS context (" + openssl_reason() + ")");
    return std::nullopt;
  }
  SSL_CTX_set_min_proto_version(out.ctx_, proto_version(options.min_version));
  if (options.verify) {
    SSL_CTX_set_verify(out.ctx_, SSL_VERIFY_PEER, nullptr);
    if (cas.empty()) {
      if (SSL_CTX_set_default_verify_paths(out.ctx_) != 1) {
        set_error(error, "cannot load the system trust store (" + openssl_reason() + ")");
        return std::nullopt;
      }
    } else {
      X509_STORE* store = SSL_CTX_get_cert_store(out.ctx_);
      for (auto& ca : cas) X509_STORE_add_cert(store, ca.get());
      ERR_clear_error();
    }
  } else {
    SSL_CTX_set_verify(out.ctx_, SSL_VERIFY_NONE, nullptr);
  }
  if (!alpn->empty() &&
      SSL_CTX_set_alpn_protos(out.ctx_, alpn->data(), static_cast<unsigned int>(alpn->size())) != 0) {
    set_error(error, "cannot set ALPN protocols (" + openssl_reason() + ")");
    return std::nullopt;
  }
  return out;
}

bool TlsClientContext::prepare(ssl_st* ssl, std::string_view server_name, std::string* error) const {
  if (!server_name.empty() && server_name.back() == '.') server_name.remove_suffix(1);
  if (server_name.empty()) {
    set_error(error, "needs a server name to verify");
    return false;
  }
  const std::string name(server_name);
  const bool verify = SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER;
  std::string_view bare = server_name;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
  if (auto ip = IpAddress::parse(bare)) {
    // IP literals are not sent as SNI; verify against the IP SANs.
    if (verify &&
        X509_VERIFY_PARAM_set1_ip(SSL_get0_param(ssl), ip->bytes().data(), ip->bytes().size()) != 1) {
      set_error(error, "cannot set the address to verify (" + openssl_reason() + ")");
      return false;
    }
    return true;
  }
  if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    set_error(error, "cannot set SNI \"" + name + "\" (" + openssl_reason() + ")");
    return false;
  }
  if (verify) {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, name.c_str()) != 1) {
      set_error(error, "cannot set the host name to verify (" + openssl_reason() + ")");
      return false;
    }
  }
  return true;
}

ssl_ctx_st* TlsClientContext::native_handle() const noexcept {
  return ctx_;
}

TlsClientContext::TlsClientContext(const TlsClientContext& o) : ctx_(o.ctx_) {
  if (ctx_) SSL_CTX_up_ref(ctx_);
}
TlsClientContext& TlsClientContext::operator=(const TlsClientContext& o) {
  if (this != &o) {
    if (o.ctx_) SSL_CTX_up_ref(o.ctx_);
    SSL_CTX_free(ctx_);
    ctx_ = o.ctx_;
  }
  return *this;
}
TlsClientContext::TlsClientContext(TlsClientContext&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
TlsClientContext& TlsClientContext::operator=(TlsClientContext&& o) noexcept {
  if (this != &o) {
    SSL_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
TlsClientContext::~TlsClientContext() {
  SSL_CTX_free(ctx_);
}

// --- helpers ----------------------------------------------------------------------

std::string tls_verify_error(const ssl_st* ssl) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  std::string out = std::string("certificate verify failed: ") + X509_verify_cert_error_string(result);
  const char* host = SSL_get0_peername(const_cast<ssl_st*>(ssl));
  if (!host) host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (host) out += std::string(" (for ") + host + ")";
  return out;
}

std::string tls_alpn_protocol(const ssl_st* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

std::optional<PemCertificate> generate_self_signed(const SelfSignedOptions& options, std::string* error) {
  if (options.dns_names.empty() && options.ip_addresses.empty()) {
    set_error(error, "needs at least one DNS name or IP address");
    return std::nullopt;
  }
  ERR_clear_error();
  auto fail = [&](std::string_view step) -> std::optional<PemCertificate> {
    set_error(error, "cannot generate a self-signed certificate: " + std::string(step) + " failed (" +
                         openssl_reason() + ")");
    return std::nullopt;
  };
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail("key generation");
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) return fail("certificate creation");

  // 128-bit random serial, positive.
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(BN_new());
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()))) {
    return fail("serial number");
  }
  const auto validity = std::max<long long>(options.validity.count(), 1);
  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), -300) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), static_cast<int>(validity / 86400),
                        static_cast<long>(validity % 86400), nullptr)) {
    return fail("validity");
  }
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string cn =
      options.dns_names.empty() ? options.ip_addresses.front().to_string() : options.dns_names.front();
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(x.get(), name) != 1 || X509_set_pubkey(x.get(), key.get()) != 1) {
    return fail("subject");
  }
  std::string san;
  for (const auto& n : options.dns_names) {
    if (n.empty() || n.find_first_of(",\n\r") != std::string::npos) {
      set_error(error, "has an invalid DNS name \"" + n + "\"");
      return std::nullopt;
    }
    san += (san.empty() ? "DNS:" : ",DNS:") + n;
  }
  for (const auto& ip : options.ip_addresses) {
    if (ip.scope_id() != 0) {
      set_error(error, "has an IPv6 address with a zone (" + ip.to_string() + ")");
      return std::nullopt;
    }
    san += (san.empty() ? "IP:" : ",IP:") + ip.to_string();
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, san},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return fail("extension");
    const int ok = X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) return fail("extension");
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) return fail("signing");

  auto to_pem = [](auto write) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!write(bio.get())) return std::string();
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  PemCertificate out;
  out.certificate = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, x.get()) == 1; });
  out.private_key = to_pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  if (out.certificate.empty() || out.private_key.empty()) return fail("PEM encoding");
  return out;
}

}  // namespace basalt::core
