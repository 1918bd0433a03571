// The ACME account key: an ECDSA P-256 key pair (ES256, the default and the
// one algorithm every ACME server must support) or an RSA key (RS256) kept
// in a PEM file, its JWK (RFC 7517) and JWK thumbprint (RFC 7638), and its
// JWS signatures.
//
// An account at a CA is identified by its key, so the key is generated once
// (AccountKey::load_or_create) and kept: losing it means a new account.
//
// Thread-safety: an AccountKey is immutable after construction; sign() may be
// called from any thread. Failures throw std::runtime_error with the reason
// (`cannot read "/x/account.key": ...`, `account key "/x" is not an ECDSA
// P-256 or RSA (2048 bits or more) key`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/acme/csr.hpp"

struct evp_pkey_st;  // EVP_PKEY

namespace basalt::acme {

class AccountKey {
 public:
  // A fresh key: ECDSA P-256 (ES256) or RSA 2048 (RS256).
  static AccountKey generate(KeyType type = KeyType::kEcdsaP256);
  // Reads a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA
  // PRIVATE KEY"): ECDSA P-256, or RSA of at least 2048 bits.
  static AccountKey from_pem(std::string_view pem);
  // Loads `path` (whatever its accepted type: the key is the account), or
  // generates a key of `type` and writes it there (atomically, 0600) when the
  // file does not exist. The parent directory is created (0700).
  static AccountKey load_or_create(const std::filesystem::path& path, KeyType type = KeyType::kEcdsaP256);

  // The JWS algorithm: "ES256" or "RS256".
  std::string_view algorithm() const noexcept { return rsa_ ? "RS256" : "ES256"; }

  // PKCS#8 PEM of the private key.
  std::string private_key_pem() const;
  // The public JWK with members in lexicographic order, as RFC 7638 hashes it:
  // {"crv":"P-256","kty":"EC","x":"...","y":"..."} or {"e":"...","kty":"RSA","n":"..."}.
  std::string jwk_json() const;
  // base64url(SHA-256(jwk_json())), the thumbprint used in key authorizations.
  std::string thumbprint() const;
  // The signature over `data`: ES256 as the raw 64-octet r||s (RFC 7518
  // §3.4), RS256 as RSASSA-PKCS1-v1_5 with SHA-256 (§3.3).
  std::vector<std::uint8_t> sign(std::span<const std::uint8_t> data) const;

  evp_pkey_st* native_handle() const noexcept { return key_.get(); }

 private:
  explicit AccountKey(std::shared_ptr<evp_pkey_st> key);
  std::shared_ptr<evp_pkey_st> key_;
  bool rsa_ = false;
};

}  // namespace basalt::acme
