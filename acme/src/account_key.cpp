#include "basalt/acme/account_key.hpp"
#include "basalt/core/openssl_error.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "basalt/core/encoding.hpp"
#include "basalt/core/file.hpp"

namespace basalt::acme {
namespace {

using core::openssl_error;

namespace fs = std::filesystem;

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free_all)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

// Never prompt on a terminal for a passphrase (OpenSSL's default callback does).
int no_passphrase(char*, int, int, void*) {
  return 0;
}

// `account key` or `account key "/x/account.key"`, for messages.
std::string key_name(const fs::path* path) {
  std::string out = "account key";
  if (path) out.append(" \"").append(path->string()).append("\"");
  return out;
}

std::string describe_key(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[80] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len))
      return std::string("an EC ") + group + " key";
    return "an EC key on an unnamed curve";
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  std::string out = "a ";
  out.append(type ? type : "unknown").append(" key");
  if (int bits = EVP_PKEY_get_bits(key); bits > 0)
    out.append(" of ").append(std::to_string(bits)).append(" bits");
  return out;
}

bool is_p256(EVP_PKEY* key) {
  if (!EVP_PKEY_is_a(key, "EC")) return false;
  char group[80] = {};
  std::size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len))
    return false;
  return OBJ_txt2nid(group) == NID_X9_62_prime256v1 || EC_curve_nist2nid(group) == NID_X9_62_prime256v1;
}

std::shared_ptr<evp_pkey_st> parse_pem(std::string_view pem, const fs::path* path) {
  if (pem.find("-----BEGIN") == std::string_view::npos)
    throw std::runtime_error(key_name(path) + " contains no PEM data");
  if (pem.find("ENCRYPTED") != std::string_view::npos)
    throw std::runtime_error(key_name(path) + " is encrypted, which is not supported");
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free_all);
  if (!bio) throw openssl_error("cannot read " + key_name(path));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (!key) throw openssl_error(key_name(path) + " is not a valid PEM private key");
  std::shared_ptr<evp_pkey_st> owned(key, &EVP_PKEY_free);
  const bool rsa = EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048;
  if (!is_p256(key) && !rsa) {
    throw std::runtime_error(key_name(path) +
                             " is not an ECDSA P-256 or RSA (2048 bits or more) key (it is " +
                             describe_key(key) + ")");
  }
  return owned;
}

// A coordinate of the public point, 32 octets left-padded (RFC 7518 §6.2.1.2).
std::vector<std::uint8_t> coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn)) throw openssl_error("cannot read the account public key");
  BnPtr owned(bn, &BN_free);
  std::vector<std::uint8_t> out(32);
  if (BN_bn2binpad(bn, out.data(), 32) != 32) throw openssl_error("cannot encode the account public key");
  return out;
}

// An RSA public parameter as unsigned big-endian octets without leading zeros (RFC 7518 §6.3.1).
std::vector<std::uint8_t> rsa_parameter(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn)) throw openssl_error("cannot read the account public key");
  BnPtr owned(bn, &BN_free);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  return out;
}

// Creates the missing directories of `dir`, each 0700.
void create_private_directories(const fs::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) create_private_directories(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST && fs::is_directory(dir, ec)) return;  // another process was first
    throw std::runtime_error("cannot create directory \"" + dir.string() + "\": " + std::strerror(errno));
  }
  // mkdir applies the umask, which can only remove bits; make it exactly 0700.
  ::chmod(dir.c_str(), 0700);
}

}  // namespace

AccountKey::AccountKey(std::shared_ptr<evp_pkey_st> key)
    : key_(std::move(key)), rsa_(EVP_PKEY_is_a(key_.get(), "RSA")) {}

AccountKey AccountKey::generate(KeyType type) {
  EVP_PKEY* key = type == KeyType::kRsa2048 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                                            : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!key)
    throw openssl_error(std::string("cannot generate an ").append(to_string(type)).append(" account key"));
  return AccountKey(std::shared_ptr<evp_pkey_st>(key, &EVP_PKEY_free));
}

AccountKey AccountKey::from_pem(std::string_view pem) {
  return AccountKey(parse_pem(pem, nullptr));
}

AccountKey AccountKey::load_or_create(const fs::path& path, KeyType type) {
  std::string error;
  if (auto text = core::read_file(path, &error)) return AccountKey(parse_pem(*text, &path));
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() != fs::file_type::not_found) {
    // Another process may have created it since the read: use that one.
    if (auto text = core::read_file(path, &error)) return AccountKey(parse_pem(*text, &path));
    throw std::runtime_error(error);
  }

  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  create_private_directories(path.parent_path());
  AccountKey key = generate(type);
  const std::string pem = key.private_key_pem();

  // Write the complete file under a unique name, then link it into place
  // without replacing anything: when two processes create the key at the
  // same time, both end up using the one that won, not two different keys.
  std::string tmpl = (dir / ("." + path.filename().string() + ".new.XXXXXX")).string();
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot write \"" + path.string() + "\": " + std::strerror(errno));
  ::close(fd);
  const fs::path staged = tmpl;
  if (!core::write_file_atomic(staged, pem, fs::perms::owner_read | fs::perms::owner_write, &error)) {
    ::unlink(staged.c_str());
    throw std::runtime_error("cannot write \"" + path.string() +
                             "\": " + error.substr(error.rfind(": ") + 2));
  }
  const int linked = ::link(staged.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(staged.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) {
      auto text = core::read_file(path, &error);
      if (!text) throw std::runtime_error(error);
      return AccountKey(parse_pem(*text, &path));
    }
    throw std::runtime_error("cannot write \"" + path.string() + "\": " + std::strerror(link_errno));
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return key;
}

std::string AccountKey::private_key_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free_all);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw openssl_error("cannot encode the account key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string AccountKey::jwk_json() const {
  if (rsa_) {
    const auto e = rsa_parameter(key_.get(), OSSL_PKEY_PARAM_RSA_E);
    const auto n = rsa_parameter(key_.get(), OSSL_PKEY_PARAM_RSA_N);
    std::string out = R"({"e":")";
    out.append(core::base64url_encode(e))
        .append(R"(","kty":"RSA","n":")")
        .append(core::base64url_encode(n))
        .append("\"}");
    return out;
  }
  const auto x = coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  const auto y = coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  // Written by hand: RFC 7638 hashes exactly this text (required members
  // only, lexicographic order, no whitespace); base64url needs no escaping.
  std::string out = R"({"crv":"P-256","kty":"EC","x":")";
  out.append(core::base64url_encode(x)).append(R"(","y":")").append(core::base64url_encode(y)).append("\"}");
  return out;
}

std::string AccountKey::thumbprint() const {
  const std::string jwk = jwk_json();
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(jwk.data()), jwk.size(), digest);
  return core::base64url_encode(digest);
}

std::vector<std::uint8_t> AccountKey::sign(std::span<const std::uint8_t> data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) <= 0)
    throw openssl_error("cannot start an account key signature");
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) <= 0)
    throw openssl_error("cannot sign with the account key");
  std::vector<std::uint8_t> der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, data.data(), data.size()) <= 0)
    throw openssl_error("cannot sign with the account key");
  if (rsa_) {  // RSASSA-PKCS1-v1_5, OpenSSL's default padding for RSA keys
    der.resize(len);
    return der;
  }
  // DER ECDSA-Sig-Value -> r || s, 32 octets each, left-padded (RFC 7518 §3.4).
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)), &ECDSA_SIG_free);
  if (!sig) throw openssl_error("cannot decode an ECDSA signature");
  std::vector<std::uint8_t> out(64);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32) != 32) {
    throw openssl_error("cannot encode an ECDSA signature");
  }
  return out;
}

}  // namespace basalt::acme
