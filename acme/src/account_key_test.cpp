#include "basalt/acme/account_key.hpp"
#include "es256_test_verify.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "basalt/core/encoding.hpp"
#include "basalt/core/file.hpp"

namespace basalt::acme {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string pem_of(EVP_PKEY* key, bool traditional = false) {
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), &BIO_free_all);
  const int ok =
      traditional
          ? PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
          : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<std::uint8_t> coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::vector<std::uint8_t> out(32);
  BN_bn2binpad(bn, out.data(), 32);
  BN_free(bn);
  return out;
}

// The RFC 7638 input computed here from OpenSSL's view of the key, not by the code under test.
std::string expected_jwk(EVP_PKEY* key) {
  std::string out = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"";
  out.append(core::base64url_encode(coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X)));
  out.append("\",\"y\":\"");
  out.append(core::base64url_encode(coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y)));
  out.append("\"}");
  return out;
}

std::string sha256_b64u(std::string_view text) {
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return core::base64url_encode(digest);
}

bool verify_raw(EVP_PKEY* key, std::string_view data, const std::vector<std::uint8_t>& raw) {
  return testing::verify_es256_raw(key, data, raw);
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "<no exception>";
}

class AccountKeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-account-key-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  fs::path dir_;
};

TEST(AccountKey, JwkIsTheRfc7638FormOfThePublicKey) {
  const auto key = AccountKey::generate();
  const std::string jwk = key.jwk_json();
  EXPECT_EQ(jwk, expected_jwk(key.native_handle()));
  // Members in lexicographic order, nothing else (RFC 7638 §3.2).
  const auto parsed = json::parse(jwk).as_object();
  std::vector<std::string> members;
  for (const auto& m : parsed) members.emplace_back(m.key());
  EXPECT_EQ(members, (std::vector<std::string>{"crv", "kty", "x", "y"}));
  EXPECT_EQ(jwk.find(' '), std::string::npos);
  EXPECT_EQ(core::base64url_decode(parsed.at("x").as_string())->size(), 32u);
  EXPECT_EQ(core::base64url_decode(parsed.at("y").as_string())->size(), 32u);
}

TEST(AccountKey, ThumbprintIsSha256OfTheJwk) {
  const auto key = AccountKey::generate();
  EXPECT_EQ(key.thumbprint(), sha256_b64u(expected_jwk(key.native_handle())));
  EXPECT_EQ(key.thumbprint().size(), 43u);  // 32 octets, unpadded base64url
  EXPECT_NE(key.thumbprint(), AccountKey::generate().thumbprint());
}

TEST(AccountKey, CoordinatesWithALeadingZeroOctetKeep32Octets) {
  // About one key in 128 has an x or y below 2^248; find one.
  bool found = false;
  for (int i = 0; i < 5000 && !found; ++i) {
    const auto key = AccountKey::generate();
    const auto x = coordinate(key.native_handle(), OSSL_PKEY_PARAM_EC_PUB_X);
    const auto y = coordinate(key.native_handle(), OSSL_PKEY_PARAM_EC_PUB_Y);
    if (x[0] != 0 && y[0] != 0) continue;
    found = true;
    const auto parsed = json::parse(key.jwk_json()).as_object();
    EXPECT_EQ(*core::base64url_decode(parsed.at("x").as_string()), x);
    EXPECT_EQ(*core::base64url_decode(parsed.at("y").as_string()), y);
    EXPECT_EQ(key.thumbprint(), sha256_b64u(expected_jwk(key.native_handle())));
  }
  EXPECT_TRUE(found) << "no key with a leading zero coordinate in 5000";
}

TEST(AccountKey, SignaturesAreRawRAndSAndVerify) {
  const auto key = AccountKey::generate();
  // About one signature in 128 has an r or s below 2^248, which DER encodes
  // in fewer octets; sign until several have been seen.
  int short_halves = 0;
  for (int i = 0; i < 6000 && short_halves < 3; ++i) {
    std::string data = "message ";
    data.append(std::to_string(i));
    const auto sig = key.sign(core::as_bytes(data));
    ASSERT_EQ(sig.size(), 64u);
    ASSERT_TRUE(verify_raw(key.native_handle(), data, sig)) << "signature " << i;
    if (sig[0] == 0 || sig[32] == 0) ++short_halves;
  }
  EXPECT_EQ(short_halves, 3);
  // A signature does not verify for other data.
  const auto sig = key.sign(core::as_bytes(std::string_view("a")));
  EXPECT_FALSE(verify_raw(key.native_handle(), "b", sig));
}

TEST(AccountKey, PemRoundTripInBothEncodings) {
  const auto key = AccountKey::generate();
  const std::string pkcs8 = key.private_key_pem();
  EXPECT_NE(pkcs8.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_EQ(AccountKey::from_pem(pkcs8).thumbprint(), key.thumbprint());

  const std::string sec1 = pem_of(key.native_handle(), true);
  ASSERT_NE(sec1.find("-----BEGIN EC PRIVATE KEY-----"), std::string::npos);
  const auto loaded = AccountKey::from_pem(sec1);
  EXPECT_EQ(loaded.thumbprint(), key.thumbprint());
  // The loaded key signs, and the original's public key verifies it.
  const auto sig = loaded.sign(core::as_bytes(std::string_view("x")));
  EXPECT_TRUE(verify_raw(key.native_handle(), "x", sig));
}

TEST(AccountKey, RejectsOtherKeysWithTheReason) {
  PkeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}), &EVP_PKEY_free);
  PkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), &EVP_PKEY_free);
  PkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
  ASSERT_TRUE(rsa1024 && p384 && ed);
  for (EVP_PKEY* k : {rsa1024.get(), p384.get(), ed.get()}) {
    const std::string why = error_of([&] { AccountKey::from_pem(pem_of(k)); });
    EXPECT_NE(why.find("is not an ECDSA P-256 or RSA (2048 bits or more) key"), std::string::npos) << why;
  }
  EXPECT_NE(error_of([&] { AccountKey::from_pem(pem_of(p384.get())); }).find("secp384r1"), std::string::npos);
  EXPECT_NE(error_of([&] { AccountKey::from_pem(pem_of(rsa1024.get())); }).find("1024 bits"),
            std::string::npos);
  EXPECT_NE(error_of([&] { AccountKey::from_pem("not a key"); }).find("contains no PEM data"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              AccountKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
            }).find("is not a valid PEM private key"),
            std::string::npos);
}

TEST(AccountKey, RsaKeysSignRs256WithTheRfc7638Jwk) {
  const auto key = AccountKey::generate(KeyType::kRsa2048);
  EXPECT_EQ(key.algorithm(), "RS256");
  EXPECT_EQ(AccountKey::generate().algorithm(), "ES256");
  // The JWK from OpenSSL's own view of the key: e and n without leading zeros.
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  ASSERT_TRUE(EVP_PKEY_get_bn_param(key.native_handle(), OSSL_PKEY_PARAM_RSA_N, &n));
  ASSERT_TRUE(EVP_PKEY_get_bn_param(key.native_handle(), OSSL_PKEY_PARAM_RSA_E, &e));
  std::vector<std::uint8_t> nb(static_cast<std::size_t>(BN_num_bytes(n))),
      eb(static_cast<std::size_t>(BN_num_bytes(e)));
  BN_bn2bin(n, nb.data());
  BN_bn2bin(e, eb.data());
  BN_free(n);
  BN_free(e);
  std::string expected = R"({"e":")";
  expected.append(core::base64url_encode(eb))
      .append(R"(","kty":"RSA","n":")")
      .append(core::base64url_encode(nb));
  expected.append("\"}");
  EXPECT_EQ(key.jwk_json(), expected);
  EXPECT_EQ(core::base64url_encode(eb), "AQAB");
  EXPECT_EQ(nb.size(), 256u);
  // RSASSA-PKCS1-v1_5 / SHA-256, verified by OpenSSL.
  const std::string data = "protected.payload";
  const auto sig = key.sign(core::as_bytes(data));
  EXPECT_EQ(sig.size(), 256u);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.native_handle()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()),
            1);
  EVP_MD_CTX_free(ctx);
  // PEM round trip keeps the account (thumbprint).
  EXPECT_EQ(AccountKey::from_pem(key.private_key_pem()).thumbprint(), key.thumbprint());
}

TEST_F(AccountKeyFiles, LoadOrCreatePersistsWithPrivateModes) {
  const fs::path path = dir_ / "state" / "acme" / "account.key";
  const auto created = AccountKey::load_or_create(path);
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(mode(path), 0600u);
  EXPECT_EQ(mode(dir_ / "state"), 0700u);
  EXPECT_EQ(mode(dir_ / "state" / "acme"), 0700u);
  const std::string written = core::read_file(path).value_or("");
  EXPECT_EQ(written, created.private_key_pem());

  const auto loaded = AccountKey::load_or_create(path);
  EXPECT_EQ(loaded.thumbprint(), created.thumbprint());
  EXPECT_EQ(core::read_file(path).value_or(""), written);  // not regenerated
  // Nothing but the key is left in the directory.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "state" / "acme")) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(AccountKeyFiles, LoadOrCreateMakesTheAskedTypeAndKeepsAnExistingKey) {
  const fs::path path = dir_ / "account.key";
  const auto created = AccountKey::load_or_create(path, KeyType::kRsa2048);
  EXPECT_EQ(created.algorithm(), "RS256");
  // An existing key is the account, whatever type a later start asks for.
  const auto loaded = AccountKey::load_or_create(path, KeyType::kEcdsaP256);
  EXPECT_EQ(loaded.algorithm(), "RS256");
  EXPECT_EQ(loaded.thumbprint(), created.thumbprint());
}

TEST_F(AccountKeyFiles, ConcurrentCreatorsAgreeOnOneKey) {
  // Two processes starting together must not end up with different keys
  // (one of them would then hold a key that is not on disk).
  const fs::path path = dir_ / "new" / "account.key";
  std::vector<std::string> thumbprints(8);
  std::vector<std::thread> threads;
  for (auto& t : thumbprints)
    threads.emplace_back([&path, &t] { t = AccountKey::load_or_create(path).thumbprint(); });
  for (auto& t : threads) t.join();
  const std::string on_disk = AccountKey::from_pem(core::read_file(path).value_or("")).thumbprint();
  for (const auto& t : thumbprints) EXPECT_EQ(t, on_disk);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "new")) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(AccountKeyFiles, LoadOrCreateNamesTheFileOfAWrongKey) {
  const fs::path path = dir_ / "account.key";
  PkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), &EVP_PKEY_free);
  const std::string pem = pem_of(p384.get());
  ASSERT_TRUE(core::write_file_atomic(path, pem));
  const std::string why = error_of([&] { AccountKey::load_or_create(path); });
  std::string expected = "account key \"";
  expected.append(path.string()).append("\" is not an ECDSA P-256 or RSA");
  EXPECT_NE(why.find(expected), std::string::npos) << why;
  // The user's file is left alone.
  EXPECT_EQ(core::read_file(path).value_or(""), pem);
}

TEST_F(AccountKeyFiles, LoadOrCreateReportsAnUnreadableFile) {
  // A directory where the key should be: it exists but cannot be read as a file.
  const fs::path path = dir_ / "account.key";
  fs::create_directory(path);
  const std::string why = error_of([&] { AccountKey::load_or_create(path); });
  EXPECT_NE(why.find(path.string()), std::string::npos) << why;
  EXPECT_TRUE(fs::is_directory(path));
}

}  // namespace
}  // namespace basalt::acme
