// For the acme unit tests: checks a raw r||s ES256 signature (RFC 7518
// §3.4) with OpenSSL, independently of the code under test, by converting it
// back to DER.
#pragma once

#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace basalt::acme::testing {

inline bool verify_es256_raw(EVP_PKEY* key, std::string_view data, std::span<const std::uint8_t> raw) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

}  // namespace basalt::acme::testing
