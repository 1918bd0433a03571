#include "basalt/acme/csr.hpp"
#include "basalt/core/openssl_error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <set>
#include <stdexcept>

namespace basalt::acme {
namespace {

using core::openssl_error;

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

void free_extensions(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<STACK_OF(X509_EXTENSION), free_extensions>>;

int no_passphrase(char*, int, int, void*) {
  return 0;
}

// RFC 5280 ub-common-name: a longer first domain is named in the SAN only.
constexpr std::size_t kMaxCommonName = 64;

std::invalid_argument bad_domain(std::string_view domain, std::string_view why) {
  std::string msg = "domain \"";
  msg.append(domain).append("\" cannot be a certificate name: ").append(why);
  return std::invalid_argument(msg);
}

// The domain as it goes into the CSR (lowercase), or invalid_argument. Host
// names as public CAs accept them: LDH labels (RFC 1123), IDNs in their
// xn-- form, an optional leading "*." label (RFC 8555 §7.1.3).
std::string checked_domain(std::string_view domain) {
  if (domain.empty()) throw bad_domain(domain, "it is empty");
  if (domain.back() == '.') throw bad_domain(domain, "write it without the trailing dot");
  if (domain.size() > 253) throw bad_domain(domain, "it is longer than 253 characters");
  std::string out(domain);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  std::string_view rest = out;
  if (rest.starts_with("*.")) {
    rest.remove_prefix(2);
    if (rest.find('.') == std::string_view::npos)
      throw bad_domain(domain, "a wildcard needs at least two labels after \"*.\"");
  }
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty()) throw bad_domain(domain, "it has an empty label");
    if (label.size() > 63) throw bad_domain(domain, "a label is longer than 63 characters");
    for (char c : label) {
      if (c == '*') throw bad_domain(domain, "\"*\" is allowed only as the whole first label (\"*.\")");
      if (static_cast<unsigned char>(c) >= 0x80)
        throw bad_domain(domain, "write internationalized names in their ASCII (xn--) form");
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        throw bad_domain(domain, "labels may contain only letters, digits and \"-\"");
    }
    if (label.front() == '-' || label.back() == '-')
      throw bad_domain(domain, "a label cannot start or end with \"-\"");
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return out;
}

PkeyPtr read_private_key(std::string_view pem) {
  if (pem.find("PRIVATE KEY-----") == std::string_view::npos)
    throw std::runtime_error("certificate private key PEM is malformed (no PRIVATE KEY block)");
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) throw openssl_error("certificate private key PEM is malformed");
  return key;
}

}  // namespace

std::string_view to_string(KeyType type) noexcept {
  switch (type) {
    case KeyType::kEcdsaP256:
      return "ecdsa-p256";
    case KeyType::kRsa2048:
      return "rsa-2048";
  }
  return "unknown";
}

std::optional<KeyType> parse_key_type(std::string_view text) noexcept {
  for (KeyType type : {KeyType::kEcdsaP256, KeyType::kRsa2048})
    if (text == to_string(type)) return type;
  return std::nullopt;
}

std::optional<KeyType> key_type_of(const EVP_PKEY* key) noexcept {
  if (!key) return std::nullopt;
  if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == 2048) return KeyType::kRsa2048;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len) == 1 &&
        std::string_view(group, len) == "prime256v1") {
      return KeyType::kEcdsaP256;
    }
  }
  return std::nullopt;
}

std::string generate_private_key(KeyType type) {
  PkeyPtr key(type == KeyType::kRsa2048 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw openssl_error(std::string("cannot generate a ").append(to_string(type)).append(" key"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw openssl_error("cannot encode the certificate key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<std::uint8_t> make_csr(std::string_view private_key_pem,
                                   const std::vector<std::string>& domains) {
  if (domains.empty()) throw std::invalid_argument("a certificate needs at least one domain");
  std::vector<std::string> names;
  std::set<std::string, std::less<>> seen;
  for (const auto& d : domains) {
    names.push_back(checked_domain(d));
    if (!seen.insert(names.back()).second) {
      std::string msg = "domain \"";
      msg.append(d).append("\" is listed twice");
      throw std::invalid_argument(msg);
    }
  }
  PkeyPtr key = read_private_key(private_key_pem);

  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1)
    throw openssl_error("cannot create a CSR");
  if (names.front().size() <= kMaxCommonName) {
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                                   0) != 1) {
      throw openssl_error("cannot set the CSR subject");
    }
  }
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) throw openssl_error("cannot set the CSR public key");

  // Built from GENERAL_NAMEs rather than a "DNS:a,DNS:b" config string, so
  // that no name is ever parsed as configuration syntax.
  NamesPtr sans(GENERAL_NAMES_new());
  if (!sans) throw openssl_error("cannot build the subjectAltName");
  for (const auto& name : names) {
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (!ia5 || !gn || ASN1_STRING_set(ia5, name.data(), static_cast<int>(name.size())) != 1) {
      ASN1_IA5STRING_free(ia5);
      GENERAL_NAME_free(gn);
      throw openssl_error("cannot build the subjectAltName");
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    if (sk_GENERAL_NAME_push(sans.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      throw openssl_error("cannot build the subjectAltName");
    }
  }
  ExtsPtr extensions(sk_X509_EXTENSION_new_null());
  ExtPtr san(X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get()));
  if (!extensions || !san || sk_X509_EXTENSION_push(extensions.get(), san.get()) == 0)
    throw openssl_error("cannot build the subjectAltName");
  san.release();  // owned by `extensions`
  if (X509_REQ_add_extensions(req.get(), extensions.get()) != 1)
    throw openssl_error("cannot add the subjectAltName to the CSR");
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) throw openssl_error("cannot sign the CSR");

  const int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) throw openssl_error("cannot encode the CSR");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509_REQ(req.get(), &p) != len) throw openssl_error("cannot encode the CSR");
  return der;
}

}  // namespace basalt::acme
