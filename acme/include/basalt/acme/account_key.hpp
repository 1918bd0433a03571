// The ACME account key: an ECDSA P-256 key pair kept in a PEM file, its JWK
// (RFC 7517) and JWK thumbprint (RFC 7638), and ES256 signatures.
//
// An account at a CA is identified by its key, so the key is generated once
// (AccountKey::load_or_create) and kept: losing it means a new account.
//
// Thread-safety: an AccountKey is immutable after construction; sign() may be
// called from any thread. Failures throw std::runtime_error with the reason
// (`cannot read "/x/account.key": ...`, `account key "/x" is not an ECDSA P-256 key`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // EVP_PKEY

namespace basalt::acme {

class AccountKey {
 public:
  // A fresh P-256 key.
  static AccountKey generate();
  // Reads a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY"); only P-256 keys are accepted.
  static AccountKey from_pem(std::string_view pem);
  // Loads `path`, or generates a key and writes it there (atomically, 0600)
  // when the file does not exist. The parent directory is created (0700).
  static AccountKey load_or_create(const std::filesystem::path& path);

  // PKCS#8 PEM of the private key.
  std::string private_key_pem() const;
  // The public JWK with members in lexicographic order, as RFC 7638 hashes it:
  // {"crv":"P-256","kty":"EC","x":"...","y":"..."}.
  std::string jwk_json() const;
  // base64url(SHA-256(jwk_json())), the thumbprint used in key authorizations.
  std::string thumbprint() const;
  // ES256: the raw 64-octet r||s signature (RFC 7518 §3.4) over `data`.
  std::vector<std::uint8_t> sign(std::span<const std::uint8_t> data) const;

  evp_pkey_st* native_handle() const noexcept { return key_.get(); }

 private:
  explicit AccountKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

}  // namespace basalt::acme
