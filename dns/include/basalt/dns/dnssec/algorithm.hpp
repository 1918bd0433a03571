// The DNSSEC signing algorithms basalt signs with, and the names people use
// for them.
//
// ECDSA P-256/SHA-256 (13) is the default: small signatures, fast signing,
// what Knot and BIND recommend. Ed25519 (15) and RSA/SHA-256 (8, 2048 bits)
// are the alternatives. parse_algorithm() accepts our names (`ecdsa-p256`,
// `ed25519`, `rsa-sha256`), the DNSSEC mnemonics (`ECDSAP256SHA256`,
// `ED25519`, `RSASHA256`), the numbers (`13`, `15`, `8`) and smartdns's
// `ECDSA`, case-insensitively. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace basalt::dns {

enum class Algorithm : std::uint8_t {
  kRsaSha256 = 8,
  kEcdsaP256Sha256 = 13,
  kEd25519 = 15,
};

inline constexpr Algorithm kDefaultAlgorithm = Algorithm::kEcdsaP256Sha256;
// For error messages: what parse_algorithm() accepts.
inline constexpr std::string_view kAlgorithmHelp =
    "ecdsa-p256 (ECDSAP256SHA256, 13, ECDSA), ed25519 (ED25519, 15) or rsa-sha256 (RSASHA256, 8)";

std::optional<Algorithm> parse_algorithm(std::string_view text) noexcept;
// Our name: "ecdsa-p256", "ed25519", "rsa-sha256".
std::string_view to_string(Algorithm a) noexcept;
// The DNSSEC mnemonic (RFC 8624): "ECDSAP256SHA256", "ED25519", "RSASHA256".
std::string_view mnemonic(Algorithm a) noexcept;
// True for the algorithm numbers above.
bool is_supported_algorithm(std::uint8_t number) noexcept;

}  // namespace basalt::dns
