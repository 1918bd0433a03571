#include "basalt/acme/csr.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace basalt::acme {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using ReqPtr = std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)>;

PkeyPtr read_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                    &BIO_free_all);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
}

ReqPtr parse_der(const std::vector<std::uint8_t>& der) {
  const unsigned char* p = der.data();
  ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())), &X509_REQ_free);
  EXPECT_TRUE(req);
  EXPECT_EQ(p, der.data() + der.size()) << "trailing bytes after the CSR";
  return req;
}

std::vector<std::string> dns_sans(X509_REQ* req) {
  std::vector<std::string> out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      EXPECT_EQ(gn->type, GEN_DNS);
      if (gn->type != GEN_DNS) continue;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                       static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

std::string common_name(X509_REQ* req) {
  char buf[256] = {};
  if (X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, buf, sizeof buf) < 0)
    return "";
  return buf;
}

void expect_valid_csr(const std::string& key_pem, const std::vector<std::string>& domains,
                      int signature_nid) {
  const auto der = make_csr(key_pem, domains);
  auto req = parse_der(der);
  ASSERT_TRUE(req);
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(X509_REQ_verify(req.get(), pub), 1);
  // Signed by, and for, the given key.
  auto key = read_key(key_pem);
  ASSERT_TRUE(key);
  EXPECT_EQ(EVP_PKEY_eq(pub, key.get()), 1);
  EXPECT_EQ(X509_REQ_get_signature_nid(req.get()), signature_nid);
  EXPECT_EQ(X509_REQ_get_version(req.get()), 0);  // PKCS#10 v1
  EXPECT_EQ(dns_sans(req.get()), domains);
  EXPECT_EQ(common_name(req.get()), domains.front());
}

std::string invalid_argument_of(const std::vector<std::string>& domains) {
  static const std::string key = generate_private_key(KeyType::kEcdsaP256);
  try {
    make_csr(key, domains);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no invalid_argument>";
}

TEST(KeyType, NamesRoundTrip) {
  EXPECT_EQ(to_string(KeyType::kEcdsaP256), "ecdsa-p256");
  EXPECT_EQ(to_string(KeyType::kRsa2048), "rsa-2048");
  EXPECT_EQ(parse_key_type("ecdsa-p256"), KeyType::kEcdsaP256);
  EXPECT_EQ(parse_key_type("rsa-2048"), KeyType::kRsa2048);
  EXPECT_EQ(parse_key_type("rsa"), std::nullopt);
  EXPECT_EQ(parse_key_type(""), std::nullopt);
  EXPECT_NE(kKeyTypeHelp.find(to_string(KeyType::kEcdsaP256)), std::string_view::npos);
  EXPECT_NE(kKeyTypeHelp.find(to_string(KeyType::kRsa2048)), std::string_view::npos);
}

TEST(GeneratePrivateKey, MakesTheRequestedKeyAsPkcs8) {
  const std::string ec = generate_private_key(KeyType::kEcdsaP256);
  const std::string rsa = generate_private_key(KeyType::kRsa2048);
  for (const auto* pem : {&ec, &rsa}) EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----\n")) << *pem;
  auto ec_key = read_key(ec);
  auto rsa_key = read_key(rsa);
  ASSERT_TRUE(ec_key && rsa_key);
  EXPECT_TRUE(EVP_PKEY_is_a(ec_key.get(), "EC"));
  char group[64] = {};
  std::size_t len = 0;
  EVP_PKEY_get_utf8_string_param(ec_key.get(), "group", group, sizeof group, &len);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_TRUE(EVP_PKEY_is_a(rsa_key.get(), "RSA"));
  EXPECT_EQ(EVP_PKEY_get_bits(rsa_key.get()), 2048);
  // A new key every time.
  EXPECT_NE(generate_private_key(KeyType::kEcdsaP256), ec);
}

TEST(MakeCsr, EcdsaWithWildcard) {
  expect_valid_csr(generate_private_key(KeyType::kEcdsaP256),
                   {"example.com", "*.example.com", "www.example.org"}, NID_ecdsa_with_SHA256);
}

TEST(MakeCsr, Rsa) {
  expect_valid_csr(generate_private_key(KeyType::kRsa2048), {"a.example.net", "b.example.net"},
                   NID_sha256WithRSAEncryption);
}

TEST(MakeCsr, SingleDomain) {
  expect_valid_csr(generate_private_key(KeyType::kEcdsaP256), {"xn--bcher-kva.example"},
                   NID_ecdsa_with_SHA256);
}

TEST(MakeCsr, NamesAreLowercased) {
  auto req =
      parse_der(make_csr(generate_private_key(KeyType::kEcdsaP256), {"WWW.Example.COM", "*.Example.com"}));
  ASSERT_TRUE(req);
  EXPECT_EQ(dns_sans(req.get()), (std::vector<std::string>{"www.example.com", "*.example.com"}));
  EXPECT_EQ(common_name(req.get()), "www.example.com");
}

TEST(MakeCsr, FirstDomainLongerThanACommonNameIsOnlyASan) {
  // RFC 5280 ub-common-name is 64; a longer name still fits a SAN.
  std::string longname(60, 'a');
  longname.append(".example");  // 68 characters
  auto req = parse_der(make_csr(generate_private_key(KeyType::kEcdsaP256), {longname, "short.example"}));
  ASSERT_TRUE(req);
  EXPECT_EQ(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())), 1);
  EXPECT_EQ(dns_sans(req.get()), (std::vector<std::string>{longname, "short.example"}));
  EXPECT_EQ(common_name(req.get()), "");
}

TEST(MakeCsr, RejectsAnEmptyDomainList) {
  EXPECT_EQ(invalid_argument_of({}), "a certificate needs at least one domain");
}

TEST(MakeCsr, RejectsNamesThatCannotBeDnsSans) {
  const std::pair<std::string, std::string_view> cases[] = {
      {"", "it is empty"},
      {"example.com.", "trailing dot"},
      {"a..example.com", "empty label"},
      {".example.com", "empty label"},
      {"foo bar.example", "letters, digits"},
      {"a,DNS:evil.example", "letters, digits"},
      {"a_b.example", "letters, digits"},
      {"*.*.example.com", "whole first label"},
      {"www.*.example.com", "whole first label"},
      {"*example.com", "whole first label"},
      {"*.com", "two labels"},
      {"-a.example", "start or end"},
      {"b\xc3\xbc"
       "cher.example",
       "xn--"},
      {std::string(64, 'a').append(".example"), "63 characters"},
  };
  for (const auto& [domain, reason] : cases) {
    const std::string why = invalid_argument_of({"ok.example", domain});
    EXPECT_NE(why.find(reason), std::string::npos) << domain << ": " << why;
    std::string quoted = "\"";
    quoted.append(domain).append("\"");
    EXPECT_NE(why.find(quoted), std::string::npos) << why;
  }
  std::string too_long;
  while (too_long.size() < 254) too_long.append("abcdefghi.");
  too_long.append("example");
  EXPECT_NE(invalid_argument_of({too_long}).find("253"), std::string::npos);
}

TEST(MakeCsr, RejectsDuplicateDomains) {
  EXPECT_NE(invalid_argument_of({"a.example", "b.example", "A.example"}).find("listed twice"),
            std::string::npos);
}

TEST(MakeCsr, RejectsAMalformedKey) {
  EXPECT_THROW(make_csr("not a key", {"a.example"}), std::runtime_error);
  EXPECT_THROW(make_csr("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", {"a.example"}),
               std::runtime_error);
}

}  // namespace
}  // namespace basalt::acme
