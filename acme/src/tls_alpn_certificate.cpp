#include "basalt/acme/tls_alpn_certificate.hpp"
#include "basalt/core/openssl_error.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "basalt/acme/certificate_manager.hpp"

namespace basalt::acme {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using OctetsPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using NamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME, GENERAL_NAME_free>>;

// id-pe-acmeIdentifier (RFC 8737 §6.1); OpenSSL 3.0 has no NID for it.
constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";
constexpr long kBackdateSeconds = 3600;
constexpr int kValidityDays = 7;  // from notBefore

void set_error(std::string* error, std::string why) {
  if (error) *error = std::move(why);
}

// The extension's value: DER of `Authorization ::= OCTET STRING (SIZE (32))`
// holding SHA-256(key authorization), itself wrapped in extnValue's OCTET STRING.
ExtPtr acme_identifier_extension(std::string_view key_authorization) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(key_authorization.data(), key_authorization.size(), digest, &digest_len, EVP_sha256(),
                 nullptr) != 1) {
    return nullptr;
  }
  OctetsPtr inner(ASN1_OCTET_STRING_new());
  if (!inner || ASN1_OCTET_STRING_set(inner.get(), digest, static_cast<int>(digest_len)) != 1) return nullptr;
  unsigned char* der = nullptr;
  const int der_len = i2d_ASN1_OCTET_STRING(inner.get(), &der);
  if (der_len <= 0) return nullptr;
  OctetsPtr value(ASN1_OCTET_STRING_new());
  const bool set = value && ASN1_OCTET_STRING_set(value.get(), der, der_len) == 1;
  OPENSSL_free(der);
  if (!set) return nullptr;
  ObjectPtr oid(OBJ_txt2obj(kAcmeIdentifierOid, 1));
  if (!oid) return nullptr;
  return ExtPtr(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
}

// subjectAltName with the one dNSName.
bool add_san(X509* x, const std::string& domain) {
  NamesPtr names(GENERAL_NAMES_new());
  NamePtr name(GENERAL_NAME_new());
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (!names || !name || !ia5) {
    ASN1_IA5STRING_free(ia5);
    return false;
  }
  if (ASN1_STRING_set(ia5, domain.data(), static_cast<int>(domain.size())) != 1) {
    ASN1_IA5STRING_free(ia5);
    return false;
  }
  GENERAL_NAME_set0_value(name.get(), GEN_DNS, ia5);
  if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return false;
  name.release();
  return X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

std::string to_pem(const std::function<bool(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !write(bio.get())) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<core::PemCertificate> make_tls_alpn_certificate(std::string_view domain,
                                                              std::string_view key_authorization,
                                                              std::string* error) {
  std::string host;
  try {
    host = normalize_domains({std::string(domain)}).front();
  } catch (const std::invalid_argument& e) {
    set_error(error, e.what());
    return std::nullopt;
  }
  if (host.starts_with("*.")) {
    set_error(error, "\"" + std::string(domain) +
                         "\" is a wildcard, which TLS-ALPN-01 cannot validate (RFC 8737 §3: use dns-01)");
    return std::nullopt;
  }
  if (key_authorization.empty()) {
    set_error(error, "the key authorization for \"" + host + "\" is empty");
    return std::nullopt;
  }
  ERR_clear_error();
  auto fail = [&](std::string_view step) -> std::optional<core::PemCertificate> {
    set_error(error, "cannot make the TLS-ALPN-01 certificate for \"" + host + "\": " + std::string(step) +
                         " failed (" + core::openssl_reason() + ")");
    return std::nullopt;
  };

  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail("key generation");
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) return fail("certificate creation");
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get()))) {
    return fail("serial number");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), -kBackdateSeconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), kValidityDays, -kBackdateSeconds, nullptr)) {
    return fail("validity");
  }
  // The subject says what this is; the name validated is in the SAN only
  // (RFC 8737 §3 constrains the SAN, not the subject).
  X509_NAME* subject = X509_get_subject_name(x.get());
  static constexpr unsigned char kCommonName[] = "ACME TLS-ALPN-01 challenge";
  if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8, kCommonName, -1, -1, 0) != 1 ||
      X509_set_issuer_name(x.get(), subject) != 1 || X509_set_pubkey(x.get(), key.get()) != 1) {
    return fail("subject");
  }
  if (!add_san(x.get(), host)) return fail("subjectAltName");
  ExtPtr ext = acme_identifier_extension(key_authorization);
  if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) return fail("acmeIdentifier extension");
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) return fail("signing");

  core::PemCertificate out;
  out.certificate = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, x.get()) == 1; });
  out.private_key = to_pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  if (out.certificate.empty() || out.private_key.empty()) return fail("PEM encoding");
  return out;
}

}  // namespace basalt::acme
