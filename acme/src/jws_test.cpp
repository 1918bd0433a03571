#include "basalt/acme/jws.hpp"
#include "es256_test_verify.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include <boost/json.hpp>

#include "basalt/core/encoding.hpp"

namespace basalt::acme {
namespace {

namespace json = boost::json;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string decode_text(std::string_view b64u) {
  auto bytes = core::base64url_decode(b64u);
  EXPECT_TRUE(bytes) << b64u;
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

// A public key built only from a JWK's x and y, so that verifying with it
// also proves the embedded JWK belongs to the signing key.
PkeyPtr public_key_from_jwk(const json::object& jwk) {
  const auto x = core::base64url_decode(jwk.at("x").as_string());
  const auto y = core::base64url_decode(jwk.at("y").as_string());
  EXPECT_TRUE(x && y && x->size() == 32 && y->size() == 32);
  if (!x || !y || x->size() != 32 || y->size() != 32) return PkeyPtr(nullptr, &EVP_PKEY_free);
  std::vector<unsigned char> point{0x04};
  point.insert(point.end(), x->begin(), x->end());
  point.insert(point.end(), y->begin(), y->end());
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return PkeyPtr(key, &EVP_PKEY_free);
}

bool verify_es256(EVP_PKEY* key, std::string_view data, std::string_view signature_b64u) {
  const auto raw = core::base64url_decode(signature_b64u);
  return raw && testing::verify_es256_raw(key, data, *raw);
}

struct Parsed {
  json::object jws;
  json::object header;
  std::string payload;
  std::string signing_input;
};

Parsed parse_jws(const std::string& text) {
  Parsed p;
  p.jws = json::parse(text).as_object();
  EXPECT_EQ(p.jws.size(), 3u) << text;
  const std::string protected_b64(p.jws.at("protected").as_string());
  const std::string payload_b64(p.jws.at("payload").as_string());
  p.header = json::parse(decode_text(protected_b64)).as_object();
  p.payload = decode_text(payload_b64);
  p.signing_input = protected_b64;
  p.signing_input.push_back('.');
  p.signing_input.append(payload_b64);
  return p;
}

TEST(Jws, NewAccountRequestEmbedsTheJwk) {
  const auto key = AccountKey::generate();
  const std::string payload = R"({"termsOfServiceAgreed":true,"contact":["mailto:a@example.com"]})";
  const auto p =
      parse_jws(jws_sign(key, {.nonce = "n0nce-_1", .url = "https://ca.test/acme/new-account"}, payload));
  EXPECT_EQ(p.header.at("alg").as_string(), "ES256");
  EXPECT_EQ(p.header.at("nonce").as_string(), "n0nce-_1");
  EXPECT_EQ(p.header.at("url").as_string(), "https://ca.test/acme/new-account");
  EXPECT_FALSE(p.header.contains("kid"));
  ASSERT_TRUE(p.header.contains("jwk"));
  EXPECT_EQ(p.header.at("jwk"), json::parse(key.jwk_json()));
  EXPECT_EQ(p.payload, payload);

  auto pub = public_key_from_jwk(p.header.at("jwk").as_object());
  ASSERT_TRUE(pub);
  EXPECT_TRUE(verify_es256(pub.get(), p.signing_input, p.jws.at("signature").as_string()));
  // The signature covers the protected header: changing it breaks verification.
  std::string tampered = p.signing_input;
  tampered[0] = tampered[0] == 'e' ? 'f' : 'e';
  EXPECT_FALSE(verify_es256(pub.get(), tampered, p.jws.at("signature").as_string()));
}

TEST(Jws, LaterRequestsUseTheKid) {
  const auto key = AccountKey::generate();
  const std::string kid = "https://ca.test/acme/acct/17";
  const auto p = parse_jws(jws_sign(key, {.nonce = "abc", .url = "https://ca.test/acme/order/5", .kid = kid},
                                    R"({"csr":"MIIB"})"));
  EXPECT_EQ(p.header.at("alg").as_string(), "ES256");
  EXPECT_EQ(p.header.at("kid").as_string(), kid);
  EXPECT_EQ(p.header.at("nonce").as_string(), "abc");
  EXPECT_EQ(p.header.at("url").as_string(), "https://ca.test/acme/order/5");
  EXPECT_FALSE(p.header.contains("jwk"));
  EXPECT_EQ(p.payload, R"({"csr":"MIIB"})");
  auto pub = public_key_from_jwk(json::parse(key.jwk_json()).as_object());
  EXPECT_TRUE(verify_es256(pub.get(), p.signing_input, p.jws.at("signature").as_string()));
}

TEST(Jws, PostAsGetHasAnEmptyPayload) {
  const auto key = AccountKey::generate();
  const std::string text = jws_sign(key, {.nonce = "n", .url = "https://ca.test/x", .kid = "k"}, "");
  const auto p = parse_jws(text);
  EXPECT_EQ(p.jws.at("payload").as_string(), "");
  EXPECT_NE(text.find(R"("payload":"")"), std::string::npos) << text;
  EXPECT_EQ(p.signing_input.back(), '.');
  auto pub = public_key_from_jwk(json::parse(key.jwk_json()).as_object());
  EXPECT_TRUE(verify_es256(pub.get(), p.signing_input, p.jws.at("signature").as_string()));
}

TEST(Jws, HeaderValuesAreJsonEscaped) {
  const auto key = AccountKey::generate();
  const std::string url = "https://ca.test/a\"b\\c";
  const auto p = parse_jws(jws_sign(key, {.nonce = "n", .url = url, .kid = "k"}, "{}"));
  EXPECT_EQ(p.header.at("url").as_string(), url);
}

TEST(Jws, KeyChangeInnerJwsHasNoNonce) {
  // RFC 8555 §7.3.5: the inner JWS of a key change must not carry a nonce.
  const auto key = AccountKey::generate();
  const auto p = parse_jws(jws_sign(key, {.nonce = "", .url = "https://ca.test/acme/key-change"}, "{}"));
  EXPECT_FALSE(p.header.contains("nonce"));
  EXPECT_TRUE(p.header.contains("jwk"));
}

TEST(Jws, RsaAccountKeysSignRs256) {
  const auto key = AccountKey::generate(KeyType::kRsa2048);
  const auto jws =
      boost::json::parse(jws_sign(key, {"nonce-1", "https://ca.test/acme/new-account", ""}, "{}"));
  const auto header_bytes = core::base64url_decode(jws.at("protected").as_string());
  ASSERT_TRUE(header_bytes);
  const auto header = boost::json::parse(
      std::string_view(reinterpret_cast<const char*>(header_bytes->data()), header_bytes->size()));
  EXPECT_EQ(header.at("alg").as_string(), "RS256");
  EXPECT_EQ(header.at("jwk").at("kty").as_string(), "RSA");
  std::string input(jws.at("protected").as_string());
  input.append(".").append(jws.at("payload").as_string());
  const auto sig = core::base64url_decode(jws.at("signature").as_string());
  ASSERT_TRUE(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.native_handle()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, sig->data(), sig->size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
}

TEST(KeyAuthorization, IsTokenDotThumbprint) {
  const auto key = AccountKey::generate();
  const std::string token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
  std::string expected = token;
  expected.append(".").append(key.thumbprint());
  EXPECT_EQ(key_authorization(key, token), expected);
}

TEST(Dns01, TxtValueIsBase64UrlOfSha256) {
  // Computed independently:
  //   printf %s '<key authorization>' | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d =
  EXPECT_EQ(dns01_txt_value(
                "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"),
            "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM");
  // SHA-256("") (FIPS 180-2), base64url without padding.
  EXPECT_EQ(dns01_txt_value(""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

}  // namespace
}  // namespace basalt::acme
