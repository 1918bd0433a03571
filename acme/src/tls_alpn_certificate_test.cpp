#include "basalt/acme/tls_alpn_certificate.hpp"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace basalt::acme {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free_all)>;

constexpr std::string_view kKeyAuthorization =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

X509Ptr parse_certificate(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free_all);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
}

PkeyPtr parse_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free_all);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
}

// Every subjectAltName entry, as "DNS:name" or "type N".
std::vector<std::string> sans(X509* x) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                         static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName))));
    } else {
      out.push_back("type " + std::to_string(gn->type));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

X509_EXTENSION* find_extension(X509* x, const char* oid_text) {
  ASN1_OBJECT* oid = OBJ_txt2obj(oid_text, 1);
  const int at = X509_get_ext_by_OBJ(x, oid, -1);
  EXPECT_EQ(X509_get_ext_by_OBJ(x, oid, at), -1) << "the extension appears twice";
  ASN1_OBJECT_free(oid);
  return at < 0 ? nullptr : X509_get_ext(x, at);
}

std::vector<unsigned char> sha256(std::string_view text) {
  std::vector<unsigned char> out(32);
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(text.data(), text.size(), out.data(), &n, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(n, 32u);
  return out;
}

// Seconds from now to an ASN1_TIME (negative: in the past).
long long seconds_from_now(const ASN1_TIME* t) {
  int days = 0, seconds = 0;
  EXPECT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, t), 1);
  return static_cast<long long>(days) * 86400 + seconds;
}

TEST(TlsAlpnCertificate, HasTheOneNameAndTheCriticalAcmeIdentifierWithTheDigest) {
  std::string error;
  auto pem = make_tls_alpn_certificate("www.example.test", kKeyAuthorization, &error);
  ASSERT_TRUE(pem) << error;
  auto x = parse_certificate(pem->certificate);
  ASSERT_TRUE(x);

  EXPECT_EQ(sans(x.get()), std::vector<std::string>{"DNS:www.example.test"});

  X509_EXTENSION* ext = find_extension(x.get(), "1.3.6.1.5.5.7.1.31");
  ASSERT_NE(ext, nullptr) << "no id-pe-acmeIdentifier extension";
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  // extnValue holds the DER of `Authorization ::= OCTET STRING (SIZE (32))`.
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(value);
  const long len = ASN1_STRING_length(value);
  ASN1_OCTET_STRING* inner = d2i_ASN1_OCTET_STRING(nullptr, &p, len);
  ASSERT_NE(inner, nullptr) << "the extension's value is not a DER OCTET STRING";
  EXPECT_EQ(p, ASN1_STRING_get0_data(value) + len) << "bytes after the OCTET STRING";
  std::vector<unsigned char> digest(ASN1_STRING_get0_data(inner),
                                    ASN1_STRING_get0_data(inner) + ASN1_STRING_length(inner));
  ASN1_OCTET_STRING_free(inner);
  EXPECT_EQ(digest, sha256(kKeyAuthorization));

  // Self-signed with the returned key, ECDSA P-256.
  auto key = parse_key(pem->private_key);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(x.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(x.get(), key.get()), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x.get()), X509_get_issuer_name(x.get())), 0);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[32] = {};
  EXPECT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");

  // From an hour ago (clock skew) for 7 days; a minute of slack for a slow run.
  EXPECT_NEAR(seconds_from_now(X509_get0_notBefore(x.get())), -3600, 60);
  EXPECT_NEAR(seconds_from_now(X509_get0_notAfter(x.get())), 7 * 86400 - 3600, 60);

  // Usable as a TLS server certificate as it is.
  auto loaded = core::TlsCertifiedKey::load({pem->certificate, pem->private_key}, &error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_EQ(loaded->dns_names(), std::vector<std::string>{"www.example.test"});
}

TEST(TlsAlpnCertificate, EachCallHasItsOwnKeyAndTheDigestOfItsAuthorization) {
  auto a = make_tls_alpn_certificate("Example.TEST.", "token-a.thumb");
  auto b = make_tls_alpn_certificate("example.test", "token-b.thumb");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->private_key, b->private_key);
  auto xa = parse_certificate(a->certificate);
  ASSERT_TRUE(xa);
  EXPECT_EQ(sans(xa.get()), std::vector<std::string>{"DNS:example.test"});  // lowercased, no trailing dot
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(find_extension(xa.get(), "1.3.6.1.5.5.7.1.31"));
  std::vector<unsigned char> der(ASN1_STRING_get0_data(value),
                                 ASN1_STRING_get0_data(value) + ASN1_STRING_length(value));
  auto expected = sha256("token-a.thumb");
  expected.insert(expected.begin(), {0x04, 0x20});  // OCTET STRING, 32 octets
  EXPECT_EQ(der, expected);
}

TEST(TlsAlpnCertificate, RefusesWildcardsMalformedNamesAndAnEmptyAuthorization) {
  std::string error;
  EXPECT_FALSE(make_tls_alpn_certificate("*.example.test", kKeyAuthorization, &error));
  EXPECT_NE(error.find("\"*.example.test\" is a wildcard"), std::string::npos) << error;
  EXPECT_FALSE(make_tls_alpn_certificate("bad name.example.test", kKeyAuthorization, &error));
  EXPECT_NE(error.find("\"bad name.example.test\""), std::string::npos) << error;
  EXPECT_FALSE(make_tls_alpn_certificate("", kKeyAuthorization, &error));
  EXPECT_FALSE(make_tls_alpn_certificate("a.example.test,DNS:b.example.test", kKeyAuthorization, &error));
  EXPECT_FALSE(make_tls_alpn_certificate("www.example.test", "", &error));
  EXPECT_NE(error.find("key authorization"), std::string::npos) << error;
  EXPECT_FALSE(make_tls_alpn_certificate("*.example.test", kKeyAuthorization));  // no error pointer: no crash
}

}  // namespace
}  // namespace basalt::acme
