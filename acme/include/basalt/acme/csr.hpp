// Certificate keys and certificate signing requests (PKCS#10) for ACME
// finalize (RFC 8555 §7.4): a new key per certificate (ECDSA P-256 by
// default, RSA 2048 as an option) and a CSR naming every domain in
// subjectAltName (wildcards as "*.example.com"), the first also as the CN.
//
// Thread-safe pure functions. Failures throw std::invalid_argument (no
// domains, a domain that cannot be a DNS SAN) or std::runtime_error (OpenSSL).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // EVP_PKEY

namespace basalt::acme {

enum class KeyType { kEcdsaP256, kRsa2048 };
// "ecdsa-p256" / "rsa-2048".
std::string_view to_string(KeyType type) noexcept;
std::optional<KeyType> parse_key_type(std::string_view text) noexcept;
inline constexpr std::string_view kKeyTypeHelp = "ecdsa-p256, rsa-2048";

// The type of a loaded key: nullopt for any other kind (RSA 4096, P-384, ...).
std::optional<KeyType> key_type_of(const evp_pkey_st* key) noexcept;

// A new private key, as PKCS#8 PEM.
std::string generate_private_key(KeyType type);

// The DER CSR for `domains`, signed with `private_key_pem` (SHA-256).
std::vector<std::uint8_t> make_csr(std::string_view private_key_pem, const std::vector<std::string>& domains);

}  // namespace basalt::acme
